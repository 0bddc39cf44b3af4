"""Many-to-many navigation through a join table (issue 14): Products/RelatedProducts over
related_product, on every backend, compared with hand-written SQL joins over the two tables:
the path, `$count`, a key below it, `$expand` (windowed and counted), lambdas, `$count` in
expressions, `$metadata`, and the loader's checks of `through`."""

from __future__ import annotations

import shutil
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from gateway.catalog.check import check_catalog
from gateway.catalog.load import CatalogError, load_catalog
from tests.catalog_example.conftest import CATALOG_FOLDER, sql_rows
from tests.conftest import Backend

EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


def _related(backend: Backend) -> dict[str, set[str]]:
    """{product: its related products}, every product present (most relate to none or a few)."""
    related: dict[str, set[str]] = {str(row[0]): set() for row in sql_rows(backend, "SELECT product_id FROM product")}
    for product, other in sql_rows(backend, "SELECT product_id, related_product_id FROM related_product"):
        related[str(product)].add(str(other))
    return related


def _prices(backend: Backend) -> dict[str, Decimal]:
    return {str(product): Decimal(str(price)) for product, price in sql_rows(backend, "SELECT product_id, price FROM product")}


def _with_related(backend: Backend, at_least: int) -> str:
    return next(product for product, others in sorted(_related(backend).items()) if len(others) >= at_least)


# ---------------------------------------------------------------------------------------------- paths
def test_path_and_count_matchsql_rows(catalog_client: TestClient, catalog_backend: Backend) -> None:
    related = _related(catalog_backend)
    several = _with_related(catalog_backend, 2)
    alone = next(product for product, others in sorted(related.items()) if not others)
    for product in (several, alone):
        response = catalog_client.get(f"/data/Products({product})/RelatedProducts", params={"$select": "ID,Name"})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["@odata.context"].endswith("$metadata#Products(ID,Name)")
        assert {row["ID"] for row in body["value"]} == related[product]
        count = catalog_client.get(f"/data/Products({product})/RelatedProducts/$count")
        assert count.status_code == 200 and count.text == str(len(related[product]))
    names = dict(sql_rows(catalog_backend, "SELECT product_id, name FROM product"))
    filtered = catalog_client.get(f"/data/Products({several})/RelatedProducts", params={
        "$orderby": "Name desc", "$top": "1", "$count": "true", "$select": "Name"})
    assert filtered.json()["@odata.count"] == len(related[several])
    assert [row["Name"] for row in filtered.json()["value"]] == [max(names[p] for p in related[several])]


def test_key_below_the_navigation(catalog_client: TestClient, catalog_backend: Backend) -> None:
    related = _related(catalog_backend)
    product = _with_related(catalog_backend, 1)
    other = sorted(related[product])[0]
    one = catalog_client.get(f"/data/Products({product})/RelatedProducts({other})", params={"$select": "ID"})
    assert one.status_code == 200, one.text
    assert one.json()["ID"] == other and one.json()["@odata.context"].endswith("$metadata#Products(ID)/$entity")
    unrelated = next(p for p in sorted(related) if p not in related[product] and p != product)
    missing = catalog_client.get(f"/data/Products({product})/RelatedProducts({unrelated})")
    assert missing.status_code == 404, missing.text
    deeper = catalog_client.get(f"/data/Products({product})/RelatedProducts({other})/RelatedProducts/$count")
    assert deeper.status_code == 200 and deeper.text == str(len(related[other]))


# ---------------------------------------------------------------------------------------------- $expand
def test_expand_matchessql_rows(catalog_client: TestClient, catalog_backend: Backend) -> None:
    related = _related(catalog_backend)
    response = catalog_client.get("/data/Products", params={
        "$select": "ID", "$orderby": "ID", "$expand": "RelatedProducts($select=ID,Name;$count=true)"})
    assert response.status_code == 200, response.text
    names = dict(sql_rows(catalog_backend, "SELECT product_id, name FROM product"))
    rows = response.json()["value"]
    assert len(rows) == len(related)
    for row in rows:
        assert {(other["ID"], other["Name"]) for other in row["RelatedProducts"]} == {
            (other, names[other]) for other in related[row["ID"]]}
        assert row["RelatedProducts@odata.count"] == len(related[row["ID"]])


def test_expand_windows_and_counts_per_parent(catalog_client: TestClient, catalog_backend: Backend) -> None:
    related, prices = _related(catalog_backend), _prices(catalog_backend)
    response = catalog_client.get("/data/Products", params={
        "$select": "ID", "$expand": "RelatedProducts($select=ID;$orderby=Price desc,ID;$top=1;$filter=Price gt 100)"})
    assert response.status_code == 200, response.text
    for row in response.json()["value"]:
        candidates = sorted((-prices[p], p) for p in related[row["ID"]] if prices[p] > 100)
        assert [other["ID"] for other in row["RelatedProducts"]] == [p for _, p in candidates[:1]]
    counted = catalog_client.get("/data/Products", params={"$select": "ID", "$expand": "RelatedProducts/$count"})
    assert counted.status_code == 200, counted.text
    assert {row["ID"]: row["RelatedProducts@odata.count"] for row in counted.json()["value"]} == {
        product: len(others) for product, others in related.items()}


def test_nested_expand_two_levels(catalog_client: TestClient, catalog_backend: Backend) -> None:
    related = _related(catalog_backend)
    product = _with_related(catalog_backend, 2)
    response = catalog_client.get(f"/data/Products({product})", params={
        "$select": "ID", "$expand": "RelatedProducts($select=ID;$expand=RelatedProducts($select=ID))"})
    assert response.status_code == 200, response.text
    got = {child["ID"]: {grandchild["ID"] for grandchild in child["RelatedProducts"]}
           for child in response.json()["RelatedProducts"]}
    assert got == {child: related[child] for child in related[product]}


# ---------------------------------------------------------------------------------------------- expressions
def test_any_all_and_count_in_filter(catalog_client: TestClient, catalog_backend: Backend) -> None:
    related, prices = _related(catalog_backend), _prices(catalog_backend)

    def ids(filter_text: str) -> set[str]:
        response = catalog_client.get("/data/Products", params={"$filter": filter_text, "$select": "ID"})
        assert response.status_code == 200, response.text
        return {row["ID"] for row in response.json()["value"]}

    expected_any = sql_rows(catalog_backend, """
        SELECT DISTINCT r.product_id FROM related_product r
        JOIN product o ON o.product_id = r.related_product_id WHERE o.price > 500""")
    assert ids("RelatedProducts/any(r: r/Price gt 500)") == {str(row[0]) for row in expected_any} != set()
    # all(): true for a product with no related product at all (nothing fails the condition)
    expected_all = {p for p, others in related.items() if all(prices[o] > 100 for o in others)}
    assert ids("RelatedProducts/all(r: r/Price gt 100)") == expected_all
    assert any(not related[p] for p in expected_all) and any(related[p] for p in expected_all)
    assert ids("RelatedProducts/any()") == {p for p, others in related.items() if others}
    expected_count = sql_rows(catalog_backend, "SELECT product_id FROM related_product GROUP BY product_id "
                                           "HAVING count(*) >= 2")
    assert ids("RelatedProducts/$count ge 2") == {str(row[0]) for row in expected_count} != set()
    # The lambda variable and $it: related products dearer than the product itself.
    dearer = {p for p, others in related.items() if any(prices[o] > prices[p] for o in others)}
    assert ids("RelatedProducts/any(r: r/Price gt $it/Price)") == dearer


def test_orderby_navigation_count(catalog_client: TestClient, catalog_backend: Backend) -> None:
    related = _related(catalog_backend)
    response = catalog_client.get("/data/Products", params={
        "$orderby": "RelatedProducts/$count desc,ID", "$top": "10", "$select": "ID"})
    assert response.status_code == 200, response.text
    expected = sorted(related, key=lambda product: (-len(related[product]), product))[:10]
    assert [row["ID"] for row in response.json()["value"]] == expected


# ---------------------------------------------------------------------------------------------- writes
@pytest.fixture
def created_products(catalog_backend: Backend) -> Iterator[list[str]]:
    """Products a test creates, deleted afterwards with their relation rows (the database is shared)."""
    created: list[str] = []
    yield created
    with catalog_backend.engine.begin() as connection:
        for product in created:
            connection.execute(text("DELETE FROM related_product WHERE product_id = :p OR related_product_id = :p"),
                               {"p": product})
            connection.execute(text("DELETE FROM product WHERE product_id = :p"), {"p": product})


def test_post_to_the_navigation_creates_and_links(catalog_client: TestClient, catalog_backend: Backend,
                                                  created_products: list[str]) -> None:
    parent = _with_related(catalog_backend, 1)
    new_id = str(uuid.uuid4())
    created_products.append(new_id)
    before = _related(catalog_backend)[parent]
    response = catalog_client.post(f"/data/Products({parent})/RelatedProducts",
                                   json={"ID": new_id, "Name": "Linked Lamp", "Price": 12.5})
    assert response.status_code == 201, response.text
    assert response.headers["Location"].endswith(f"/data/Products({new_id})")
    assert sql_rows(catalog_backend, "SELECT name FROM product WHERE product_id = :p", p=new_id) == [("Linked Lamp",)]
    assert _related(catalog_backend)[parent] == before | {new_id}


# ---------------------------------------------------------------------------------------------- $metadata
def test_metadata_declares_a_collection_without_constraint(catalog_client: TestClient) -> None:
    document = ET.fromstring(catalog_client.get("/data/$metadata").content)
    product = next(element for element in document.iter(f"{EDM}EntityType") if element.get("Name") == "Product")
    navigation = {element.get("Name"): element for element in product.iter(f"{EDM}NavigationProperty")}
    related = navigation["RelatedProducts"]
    assert related.get("Type") == "Collection(Example.Catalog.Product)"
    assert related.find(f"{EDM}ReferentialConstraint") is None
    assert navigation["Descriptions"].get("Type") == "Collection(Example.Catalog.ProductDescription)"
    as_json = catalog_client.get("/data/$metadata", headers={"Accept": "application/json"}).json()
    member = as_json["Example.Catalog"]["Product"]["RelatedProducts"]
    assert member == {"$Kind": "NavigationProperty", "$Type": "Example.Catalog.Product", "$Collection": True}
    bindings = as_json["Example.Catalog"]["Catalog"]["Products"]["$NavigationPropertyBinding"]
    assert bindings["RelatedProducts"] == "Products"


# ---------------------------------------------------------------------------------------------- the loader
def _products_yaml_with(tmp_path: Path, navigation: str) -> Path:
    folder = tmp_path / "catalog"
    shutil.copytree(CATALOG_FOLDER, folder, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    path = folder / "entities" / "Products.yaml"
    source = path.read_text(encoding="utf-8")
    start = source.index("  RelatedProducts:")
    end = source.index("searchable:")
    path.write_text(source[:start] + navigation + source[end:], encoding="utf-8")
    return folder


def _line_of(folder: Path, needle: str) -> int:
    lines = (folder / "entities" / "Products.yaml").read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if needle in line)


@pytest.mark.parametrize(("navigation", "needle", "message"), [
    ("  RelatedProducts:\n    target: Products\n"
     "    through: {table: related_product, link: {ID: product_id}, target_link: {ID: related_product_id}}\n",
     "    target: Products", "RelatedProducts: a navigation through a join table needs 'collection: true'"),
    ("  RelatedProducts:\n    target: Products\n    collection: true\n"
     "    through: {table: related_product, link: {Nope: product_id}, target_link: {ID: related_product_id}}\n",
     "through:", "RelatedProducts: Nope is not a property of Products"),
    ("  RelatedProducts:\n    target: Products\n    collection: true\n    link: {ID: ID}\n"
     "    through: {table: related_product, link: {ID: product_id}, target_link: {ID: related_product_id}}\n",
     "link: {ID: ID}", "RelatedProducts: give either 'link' or 'through', not both"),
    ("  RelatedProducts: {target: Products, collection: true}\n",
     "RelatedProducts:", "RelatedProducts: give 'link' (or 'through' for many-to-many)"),
    ("  RelatedProducts:\n    target: Products\n    collection: true\n"
     "    through: {table: related_product, link: {ID: product_id}}\n",
     "through:", "target_link: Field required"),
])
def test_loader_checks_through(tmp_path: Path, navigation: str, needle: str, message: str) -> None:
    folder = _products_yaml_with(tmp_path, navigation)
    with pytest.raises(CatalogError) as caught:
        load_catalog(folder)
    expected = f"Products.yaml:{_line_of(folder, needle)}: "
    problems = [str(problem) for problem in caught.value.problems]
    assert any(expected in problem and message in problem for problem in problems), (expected, message, problems)


def test_checker_finds_the_join_table(tmp_path: Path, catalog_backend: Backend) -> None:
    assert [problem for problem in check_catalog(load_catalog(CATALOG_FOLDER), catalog_backend.engine)
            if "RelatedProducts" in problem] == []
    folder = _products_yaml_with(tmp_path, "  RelatedProducts:\n    target: Products\n    collection: true\n"
                                           "    through: {table: related_products, link: {ID: product_id}, "
                                           "target_link: {ID: related_id}}\n")
    wrong_table = check_catalog(load_catalog(folder), catalog_backend.engine)
    assert "Products.RelatedProducts: join table related_products does not exist" in wrong_table
    folder = _products_yaml_with(tmp_path / "2", "  RelatedProducts:\n    target: Products\n    collection: true\n"
                                                 "    through: {table: related_product, link: {ID: product_id}, "
                                                 "target_link: {ID: related_id}}\n")
    wrong_column = check_catalog(load_catalog(folder), catalog_backend.engine)
    assert "Products.RelatedProducts: column related_product.related_id does not exist" in wrong_column
