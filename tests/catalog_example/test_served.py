"""The example catalog is served like the F&O one: reads match SQL over its tables, writes land in them."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import text
from starlette.testclient import TestClient

from gateway.catalog.check import check_catalog
from gateway.catalog.load import load_catalog
from tests.catalog_example.conftest import CATALOG_FOLDER
from tests.conftest import Backend


def test_products_page_matches_sql(catalog_client: TestClient, catalog_backend: Backend) -> None:
    response = catalog_client.get("/data/Products", params={"$filter": "Price gt 500", "$orderby": "Name,ID",
                                                           "$select": "ID,Name,Price"})
    assert response.status_code == 200, response.text
    with catalog_backend.engine.connect() as connection:
        expected = connection.execute(text(
            "SELECT product_id, name, price FROM product WHERE price > 500 ORDER BY name, product_id"
        )).all()
    got = [(row["ID"], row["Name"], Decimal(str(row["Price"])).quantize(Decimal("0.01"))) for row in response.json()["value"]]
    assert got == [(row[0], row[1], Decimal(str(row[2])).quantize(Decimal("0.01"))) for row in expected]
    assert got, "the generator makes products above 500"


def test_expand_category_matches_sql(catalog_client: TestClient, catalog_backend: Backend) -> None:
    response = catalog_client.get("/data/Categories", params={"$expand": "Products($select=ID)", "$select": "Name"})
    assert response.status_code == 200, response.text
    with catalog_backend.engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT c.name, p.product_id FROM category c LEFT JOIN product p ON p.category_id = c.category_id"
        )).all()
    expected: dict[str, set[str]] = {}
    for name, product in rows:
        expected.setdefault(name, set()).update({product} if product else set())
    got = {row["Name"]: {product["ID"] for product in row["Products"]} for row in response.json()["value"]}
    assert got == expected


def test_create_update_delete_land_in_the_table(catalog_client: TestClient, catalog_backend: Backend) -> None:
    created = catalog_client.post("/data/Categories", json={"Name": "Stationery"})
    assert created.status_code == 201, created.text
    identifier = created.json()["ID"]
    assert uuid.UUID(identifier)
    version_query = text("SELECT name, row_version FROM category WHERE category_id = :id")
    with catalog_backend.engine.connect() as connection:
        assert connection.execute(version_query, {"id": identifier}).one()[0] == "Stationery"
        first_version = connection.execute(version_query, {"id": identifier}).one()[1]
    patched = catalog_client.patch(f"/data/Categories({identifier})", json={"Name": "Paper"},
                                   headers={"If-Match": created.headers["ETag"]})
    assert patched.status_code == 204, patched.text
    with catalog_backend.engine.connect() as connection:
        name, version = connection.execute(version_query, {"id": identifier}).one()
    assert name == "Paper" and version != first_version
    assert catalog_client.delete(f"/data/Categories({identifier})").status_code == 204
    with catalog_backend.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM category WHERE category_id = :id"),
                                  {"id": identifier}).scalar() == 0


def test_no_fno_companions_with_another_catalog(catalog_client: TestClient) -> None:
    """Neither the Dataverse side nor the F&O event definitions come along with a user's catalog."""
    assert catalog_client.get("/api/data/v9.2/").status_code == 404
    names = {item["name"] for item in catalog_client.get("/data/").json()["value"]}
    assert names == {"Categories", "Products"} or {"Categories", "Products"} <= names


def test_the_checker_finds_the_catalog_matches_its_tables(catalog_backend: Backend) -> None:
    """`fno-gateway check` against the generated tables: every table, column and type the catalog maps."""
    assert check_catalog(load_catalog(CATALOG_FOLDER), catalog_backend.engine) == []
