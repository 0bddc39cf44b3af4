"""The product master's breadth (issue 13): category hierarchies, roles, categories and assignments,
the three dimension groups, unit conversions (general and product-specific), default order settings
and barcodes, each read whole through /data and compared with hand-written joins over the physical
tables, on every backend."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, Select, and_, select
from starlette.testclient import TestClient

from gateway.demo import schema as s
from tests.conftest import Backend, bearer

NO_YES = {0: "No", 1: "Yes"}
ROLES = {1: "Procurement", 2: "RetailChannelNavigation", 3: "RetailProductHierarchy", 7: "SalesReporting"}
ROUNDING = {0: "Nearest", 1: "Up", 2: "Down"}


def _hierarchies() -> Select[Any]:
    h = s.ECORESCATEGORYHIERARCHY
    return select(h.c.NAME.label("HierarchyName"), h.c.DESCRIPTION.label("HierarchyDescription"))


def _roles() -> Select[Any]:
    r, h = s.ECORESCATEGORYHIERARCHYROLE, s.ECORESCATEGORYHIERARCHY
    return select(h.c.NAME.label("ProductCategoryHierarchyName"), r.c.NAMEDCATEGORYHIERARCHYROLE.label("HierarchyRole")
                  ).select_from(r.join(h, h.c.RECID == r.c.CATEGORYHIERARCHY))


def _categories() -> Select[Any]:
    c, h = s.ECORESCATEGORY, s.ECORESCATEGORYHIERARCHY
    parent = s.ECORESCATEGORY.alias("parent")
    return select(h.c.NAME.label("ProductCategoryHierarchyName"), c.c.NAME.label("CategoryName"),
                  c.c.CODE.label("CategoryCode"), c.c.DESCRIPTION.label("CategoryDescription"),
                  c.c.LEVEL_.label("CategoryLevel"), parent.c.NAME.label("ParentProductCategoryName")
                  ).select_from(c.join(h, h.c.RECID == c.c.CATEGORYHIERARCHY)
                                .outerjoin(parent, parent.c.RECID == c.c.PARENTCATEGORY))


def _assignments() -> Select[Any]:
    a, p, h, c = s.ECORESPRODUCTCATEGORY, s.ECORESPRODUCT, s.ECORESCATEGORYHIERARCHY, s.ECORESCATEGORY
    return select(p.c.DISPLAYPRODUCTNUMBER.label("ProductNumber"), h.c.NAME.label("ProductCategoryHierarchyName"),
                  c.c.NAME.label("ProductCategoryName")
                  ).select_from(a.join(p, p.c.RECID == a.c.PRODUCT).join(h, h.c.RECID == a.c.CATEGORYHIERARCHY)
                                .join(c, c.c.RECID == a.c.CATEGORY))


def _product_dimension_groups() -> Select[Any]:
    g = s.ECORESPRODUCTDIMENSIONGROUP
    return select(g.c.NAME.label("ProductDimensionGroupName"), g.c.DESCRIPTION.label("Description"),
                  g.c.ISCOLORACTIVE.label("IsProductColorActive"), g.c.ISSIZEACTIVE.label("IsProductSizeActive"),
                  g.c.ISSTYLEACTIVE.label("IsProductStyleActive"),
                  g.c.ISCONFIGURATIONACTIVE.label("IsProductConfigurationActive"))


def _storage_dimension_groups() -> Select[Any]:
    g = s.ECORESSTORAGEDIMENSIONGROUP
    return select(g.c.NAME.label("StorageDimensionGroupName"), g.c.DESCRIPTION.label("Description"),
                  g.c.ISWAREHOUSEMANDATORY.label("IsWarehouseMandatory"), g.c.ISLOCATIONACTIVE.label("IsLocationActive"),
                  g.c.ISWAREHOUSEWHSENABLED.label("AreAdvancedWarehouseManagementProcessesEnabled"))


def _tracking_dimension_groups() -> Select[Any]:
    g = s.ECORESTRACKINGDIMENSIONGROUP
    return select(g.c.NAME.label("TrackingDimensionGroupName"), g.c.DESCRIPTION.label("Description"),
                  g.c.ISBATCHACTIVE.label("IsBatchNumberActive"), g.c.ISSERIALACTIVE.label("IsSerialNumberActive"))


def _conversions(specific: bool) -> Select[Any]:
    c, p = s.UNITOFMEASURECONVERSION, s.ECORESPRODUCT
    source, target = s.UNITOFMEASURE.alias("source"), s.UNITOFMEASURE.alias("target")
    columns = [source.c.SYMBOL.label("FromUnitSymbol"), target.c.SYMBOL.label("ToUnitSymbol"),
               c.c.FACTOR.label("Factor"), c.c.NUMERATOR.label("Numerator"), c.c.DENOMINATOR.label("Denominator"),
               c.c.INNEROFFSET.label("InnerOffset"), c.c.OUTEROFFSET.label("OuterOffset"),
               c.c.ROUNDING.label("Rounding")]
    joined = c.join(source, source.c.RECID == c.c.FROMUNITOFMEASURE).join(target, target.c.RECID == c.c.TOUNITOFMEASURE)
    if specific:
        return select(p.c.DISPLAYPRODUCTNUMBER.label("ProductNumber"), *columns).select_from(
            joined.join(p, p.c.RECID == c.c.PRODUCT))
    return select(*columns).select_from(joined).where(c.c.PRODUCT == 0)


def _order_settings() -> Select[Any]:
    i = s.INVENTTABLE
    kinds = (("Sales", s.INVENTITEMSALESSETUP), ("Procurement", s.INVENTITEMPURCHSETUP),
             ("Inventory", s.INVENTITEMINVENTSETUP))
    columns: list[Any] = [i.c.DATAAREAID.label("dataAreaId"), i.c.ITEMID.label("ItemNumber")]
    joined: Any = i
    for kind, table in kinds:
        columns += [table.c.LOWESTQTY.label(f"Minimum{kind}OrderQuantity"),
                    table.c.HIGHESTQTY.label(f"Maximum{kind}OrderQuantity"),
                    table.c.STANDARDQTY.label(f"Standard{kind}OrderQuantity"),
                    table.c.MULTIPLEQTY.label(f"{kind}QuantityMultiples"), table.c.LEADTIME.label(f"{kind}LeadTimeDays"),
                    table.c.STOPPED.label(f"Is{kind}ProcessingStopped")]
        joined = joined.join(table, and_(table.c.DATAAREAID == i.c.DATAAREAID, table.c.ITEMID == i.c.ITEMID,
                                         table.c.INVENTDIMID == "AllBlank"))
    return select(*columns).select_from(joined)


def _barcodes() -> Select[Any]:
    b, i, p = s.INVENTITEMBARCODE, s.INVENTTABLE, s.ECORESPRODUCT
    return select(b.c.DATAAREAID.label("dataAreaId"), b.c.ITEMBARCODE.label("Barcode"),
                  p.c.DISPLAYPRODUCTNUMBER.label("ProductNumber"), b.c.ITEMID.label("ItemNumber"),
                  b.c.BARCODESETUPID.label("BarcodeSetupId"), b.c.QTY.label("ProductQuantity"),
                  b.c.UNITID.label("ProductQuantityUnitSymbol"), b.c.DESCRIPTION.label("ProductDescription"),
                  b.c.USEFORINPUT.label("IsDefaultScannedBarcode"), b.c.USEFORPRINTING.label("IsDefaultPrintedBarcode")
                  ).select_from(b.join(i, and_(i.c.DATAAREAID == b.c.DATAAREAID, i.c.ITEMID == b.c.ITEMID))
                                .join(p, p.c.RECID == i.c.PRODUCT))


# entity set, key properties, the oracle query, enum columns (member names by stored value)
ENTITIES: list[tuple[str, tuple[str, ...], Callable[[], Select[Any]], dict[str, dict[int, str]]]] = [
    ("ProductCategoryHierarchies", ("HierarchyName",), _hierarchies, {}),
    ("ProductCategoryHierarchyRoles", ("ProductCategoryHierarchyName", "HierarchyRole"), _roles,
     {"HierarchyRole": ROLES}),
    ("ProductCategories", ("ProductCategoryHierarchyName", "CategoryName"), _categories, {}),
    ("ProductCategoryAssignments", ("ProductNumber", "ProductCategoryHierarchyName"), _assignments, {}),
    ("ProductDimensionGroups", ("ProductDimensionGroupName",), _product_dimension_groups,
     dict.fromkeys(("IsProductColorActive", "IsProductSizeActive", "IsProductStyleActive",
                    "IsProductConfigurationActive"), NO_YES)),
    ("StorageDimensionGroups", ("StorageDimensionGroupName",), _storage_dimension_groups,
     dict.fromkeys(("IsWarehouseMandatory", "IsLocationActive", "AreAdvancedWarehouseManagementProcessesEnabled"),
                   NO_YES)),
    ("TrackingDimensionGroups", ("TrackingDimensionGroupName",), _tracking_dimension_groups,
     dict.fromkeys(("IsBatchNumberActive", "IsSerialNumberActive"), NO_YES)),
    ("UnitOfMeasureConversions", ("FromUnitSymbol", "ToUnitSymbol"), lambda: _conversions(False),
     {"Rounding": ROUNDING}),
    ("ProductSpecificUnitOfMeasureConversions", ("ProductNumber", "FromUnitSymbol", "ToUnitSymbol"),
     lambda: _conversions(True), {"Rounding": ROUNDING}),
    ("ProductDefaultOrderSettings", ("dataAreaId", "ItemNumber"), _order_settings,
     dict.fromkeys(("IsSalesProcessingStopped", "IsProcurementProcessingStopped", "IsInventoryProcessingStopped"),
                   NO_YES)),
    ("ProductNumberIdentifiedBarcodes", ("dataAreaId", "Barcode"), _barcodes,
     dict.fromkeys(("IsDefaultScannedBarcode", "IsDefaultPrintedBarcode"), NO_YES)),
]


def _plain(value: Any) -> Any:
    """Numbers as normalized Decimals (JSON gives 12, the database 12.000000)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float, Decimal)):
        return Decimal(str(value)).normalize()
    return value


def expected_rows(engine: Engine, query: Callable[[], Select[Any]], keys: tuple[str, ...],
                  enums: dict[str, dict[int, str]]) -> dict[tuple[Any, ...], dict[str, Any]]:
    with engine.connect() as connection:
        rows = [dict(row._mapping) for row in connection.execute(query())]
    result = {}
    for row in rows:
        for name, members in enums.items():
            row[name] = members[row[name]]
        result[tuple(row[name] for name in keys)] = {name: _plain(value) for name, value in row.items()}
    assert len(result) == len(rows), "the oracle's key is not unique"
    return result


def served_rows(client: TestClient, entity_set: str, keys: tuple[str, ...]) -> dict[tuple[Any, ...], dict[str, Any]]:
    response = client.get(f"/data/{entity_set}", params={"cross-company": "true"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "@odata.nextLink" not in body
    rows = [{name: _plain(value) for name, value in row.items() if not name.startswith("@")} for row in body["value"]]
    return {tuple(row[name] for name in keys): row for row in rows}


@pytest.mark.parametrize(("entity_set", "keys", "query", "enums"), ENTITIES, ids=[entry[0] for entry in ENTITIES])
def test_every_row_matches_the_physical_tables(client: TestClient, backend: Backend, entity_set: str,
                                               keys: tuple[str, ...], query: Callable[[], Select[Any]],
                                               enums: dict[str, dict[int, str]]) -> None:
    expected = expected_rows(backend.engine, query, keys, enums)
    assert expected, f"the demo data has no {entity_set}"
    assert served_rows(client, entity_set, keys) == expected


def test_category_key_navigation_and_filter(client: TestClient, backend: Backend) -> None:
    categories = expected_rows(backend.engine, _categories, ("ProductCategoryHierarchyName", "CategoryName"), {})
    child = next(row for row in categories.values() if row["ParentProductCategoryName"] is not None)
    path = (f"/data/ProductCategories(ProductCategoryHierarchyName='{child['ProductCategoryHierarchyName']}',"
            f"CategoryName='{child['CategoryName']}')")
    parent = client.get(path + "/ParentCategory")
    assert parent.status_code == 200, parent.text
    assert parent.json()["CategoryName"] == child["ParentProductCategoryName"]
    roots = client.get("/data/ProductCategories", params={"$filter": "ParentProductCategoryName eq null",
                                                          "$select": "CategoryName", "$orderby": "CategoryName"})
    assert [row["CategoryName"] for row in roots.json()["value"]] == sorted(
        row["CategoryName"] for row in categories.values() if row["ParentProductCategoryName"] is None)
    procurement = client.get("/data/ProductCategoryHierarchyRoles", params={
        "$filter": "HierarchyRole eq Microsoft.Dynamics.DataEntities.EcoResCategoryNamedHierarchyRole'Procurement'"})
    assert [row["ProductCategoryHierarchyName"] for row in procurement.json()["value"]] == ["Procurement"]


def test_company_scoping_of_order_settings_and_barcodes(client: TestClient, backend: Backend) -> None:
    for entity_set, query, keys in (("ProductDefaultOrderSettings", _order_settings, ("dataAreaId", "ItemNumber")),
                                    ("ProductNumberIdentifiedBarcodes", _barcodes, ("dataAreaId", "Barcode"))):
        expected = {key for key in expected_rows(backend.engine, query, keys, {}) if key[0] == "demf"}
        response = client.get(f"/data/{entity_set}", params={"cross-company": "true",
                                                             "$filter": "dataAreaId eq 'demf'", "$select": keys[1]})
        assert {("demf", row[keys[1]]) for row in response.json()["value"]} == expected
        assert expected


@pytest.mark.parametrize("entity_set", [entry[0] for entry in ENTITIES])
def test_a_product_manager_reads_the_product_master(client: TestClient, entity_set: str) -> None:
    manager = client.get(f"/data/{entity_set}", params={"$top": "1"}, headers=bearer("pm", ("ProductManager",)))
    assert manager.status_code == 200, manager.text
    refused = client.get(f"/data/{entity_set}", params={"$top": "1"}, headers=bearer("vr", ("VendorReader",)))
    assert refused.status_code == 403, refused.text
