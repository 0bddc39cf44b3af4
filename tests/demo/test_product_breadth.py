"""Demo data of the product master's breadth (issue 13), checked with SQL at a tiny and a larger scale:
every table has rows, every reference resolves, and the volumes follow the products and items."""

from __future__ import annotations

import sqlite3

import pytest

from gateway.demo.product_breadth import HIERARCHIES

TABLES = ("ECORESCATEGORYHIERARCHY", "ECORESCATEGORYHIERARCHYROLE", "ECORESCATEGORY", "ECORESPRODUCTCATEGORY",
          "ECORESPRODUCTDIMENSIONGROUP", "ECORESPRODUCTDIMENSIONGROUPPRODUCT", "ECORESSTORAGEDIMENSIONGROUP",
          "ECORESTRACKINGDIMENSIONGROUP", "INVENTITEMSALESSETUP", "INVENTITEMPURCHSETUP", "INVENTITEMINVENTSETUP",
          "UNITOFMEASURECONVERSION", "INVENTITEMBARCODE")


@pytest.fixture
def db(scaled_demo: sqlite3.Connection) -> sqlite3.Connection:
    return scaled_demo  # tests/demo/conftest.py: at the smallest scale and a bigger one


def one(db: sqlite3.Connection, query: str) -> int:
    return int(db.execute(query).fetchone()[0])


@pytest.mark.parametrize("table", TABLES)
def test_every_table_has_rows(db: sqlite3.Connection, table: str) -> None:
    assert one(db, f'SELECT count(*) FROM "{table}"') > 0


@pytest.mark.parametrize("query", [
    # a parent is 0 (root) or a category of the same hierarchy, one level up
    'SELECT count(*) FROM "ECORESCATEGORY" c LEFT JOIN "ECORESCATEGORY" p ON p."RECID" = c."PARENTCATEGORY" '
    'WHERE c."PARENTCATEGORY" <> 0 AND (p."RECID" IS NULL OR p."CATEGORYHIERARCHY" <> c."CATEGORYHIERARCHY" '
    'OR p."LEVEL_" <> c."LEVEL_" - 1)',
    'SELECT count(*) FROM "ECORESCATEGORYHIERARCHYROLE" r LEFT JOIN "ECORESCATEGORYHIERARCHY" h '
    'ON h."RECID" = r."CATEGORYHIERARCHY" WHERE h."RECID" IS NULL',
    # an assignment names an existing product and a category of the hierarchy it names
    'SELECT count(*) FROM "ECORESPRODUCTCATEGORY" a LEFT JOIN "ECORESPRODUCT" p ON p."RECID" = a."PRODUCT" '
    'LEFT JOIN "ECORESCATEGORY" c ON c."RECID" = a."CATEGORY" '
    'WHERE p."RECID" IS NULL OR c."RECID" IS NULL OR c."CATEGORYHIERARCHY" <> a."CATEGORYHIERARCHY"',
    'SELECT count(*) FROM "ECORESPRODUCTDIMENSIONGROUPPRODUCT" a LEFT JOIN "ECORESPRODUCT" p ON p."RECID" = a."PRODUCT" '
    'LEFT JOIN "ECORESPRODUCTDIMENSIONGROUP" g ON g."RECID" = a."PRODUCTDIMENSIONGROUP" '
    'WHERE p."PRODUCTSUBTYPE" IS NOT 2 OR g."RECID" IS NULL',
    # conversions: both units exist and share a class; the product is 0 or an existing product
    'SELECT count(*) FROM "UNITOFMEASURECONVERSION" c LEFT JOIN "UNITOFMEASURE" f ON f."RECID" = c."FROMUNITOFMEASURE" '
    'LEFT JOIN "UNITOFMEASURE" t ON t."RECID" = c."TOUNITOFMEASURE" LEFT JOIN "ECORESPRODUCT" p ON p."RECID" = c."PRODUCT" '
    'WHERE f."RECID" IS NULL OR t."RECID" IS NULL OR (c."PRODUCT" <> 0 AND p."RECID" IS NULL) '
    'OR (c."PRODUCT" = 0 AND f."UNITOFMEASURECLASS" <> t."UNITOFMEASURECLASS") OR c."FACTOR" <= 0',
    # barcodes and order settings belong to released items of their company
    'SELECT count(*) FROM "INVENTITEMBARCODE" b LEFT JOIN "INVENTTABLE" i ON i."DATAAREAID" = b."DATAAREAID" '
    'AND i."ITEMID" = b."ITEMID" WHERE i."RECID" IS NULL',
    *(f'SELECT count(*) FROM "{table}" s LEFT JOIN "INVENTTABLE" i ON i."DATAAREAID" = s."DATAAREAID" '
      f'AND i."ITEMID" = s."ITEMID" WHERE i."RECID" IS NULL OR s."LOWESTQTY" > s."STANDARDQTY"'
      for table in ("INVENTITEMSALESSETUP", "INVENTITEMPURCHSETUP", "INVENTITEMINVENTSETUP")),
], ids=["category-parents", "roles", "assignments", "dimension-group-products", "conversions", "barcodes",
        "sales-setup", "purch-setup", "invent-setup"])
def test_references_resolve(db: sqlite3.Connection, query: str) -> None:
    assert one(db, query) == 0


def test_volumes_follow_products_and_items(db: sqlite3.Connection) -> None:
    items = one(db, 'SELECT count(*) FROM "INVENTTABLE"')
    for table in ("INVENTITEMSALESSETUP", "INVENTITEMPURCHSETUP", "INVENTITEMINVENTSETUP"):
        assert one(db, f'SELECT count(*) FROM "{table}" WHERE "INVENTDIMID" = \'AllBlank\'') == items
    goods = one(db, 'SELECT count(*) FROM "INVENTTABLE" i JOIN "ECORESPRODUCT" p ON p."RECID" = i."PRODUCT" '
                    'WHERE p."PRODUCTTYPE" = 1')
    assert one(db, 'SELECT count(DISTINCT "DATAAREAID" || "ITEMID") FROM "INVENTITEMBARCODE"') == goods
    releasable = one(db, 'SELECT count(*) FROM "ECORESPRODUCT" WHERE "PRODUCTSUBTYPE" <> 3')
    assert one(db, 'SELECT count(DISTINCT "PRODUCT") FROM "ECORESPRODUCTCATEGORY"') == releasable
    assert one(db, 'SELECT count(*) FROM "ECORESPRODUCTDIMENSIONGROUPPRODUCT"') == one(
        db, 'SELECT count(*) FROM "ECORESPRODUCT" WHERE "PRODUCTSUBTYPE" = 2')
    assert 0 < one(db, 'SELECT count(*) FROM "UNITOFMEASURECONVERSION" WHERE "PRODUCT" <> 0') < releasable


def test_barcodes_are_valid_ean13(db: sqlite3.Connection) -> None:
    for (barcode,) in db.execute('SELECT "ITEMBARCODE" FROM "INVENTITEMBARCODE"'):
        digits = [int(char) for char in barcode]
        assert len(digits) == 13
        assert sum(digit * (3 if position % 2 else 1) for position, digit in enumerate(digits)) % 10 == 0


def test_category_names_are_unique_and_parents_sort_first() -> None:
    """Dataverse finds a parent (or an assigned category) by name alone."""
    names = [name for _, _, _, categories in HIERARCHIES for name, _, _ in categories]
    assert len(names) == len(set(names))
    for _, _, _, categories in HIERARCHIES:
        for name, _, parent in categories:
            assert not parent or parent < name
