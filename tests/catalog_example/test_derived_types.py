"""A derived entity type stored in its base type's table (Products' DigitalProduct, kind 2), against
SQL over the product table."""

from __future__ import annotations

from decimal import Decimal

from starlette.testclient import TestClient

from tests.catalog_example.conftest import sql_rows
from tests.conftest import Backend

DIGITAL = "Example.Catalog.DigitalProduct"


def _size(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


def test_the_base_set_types_each_row(catalog_client: TestClient, catalog_backend: Backend) -> None:
    response = catalog_client.get("/data/Products", params={"$orderby": "ID"})
    assert response.status_code == 200, response.text
    expected = {str(row[0]): (row[1], row[2], _size(row[3]))
                for row in sql_rows(catalog_backend, "SELECT product_id, kind, download_url, file_size_mb FROM product")}
    got = response.json()["value"]
    assert len(got) == len(expected)
    for row in got:
        kind, url, size = expected[row["ID"]]
        if kind == 2:
            assert row["@odata.type"] == f"#{DIGITAL}" and list(row)[0] == "@odata.type"
            assert (row["DownloadUrl"], _size(row["FileSizeMB"])) == (url, size)
        else:
            assert "@odata.type" not in row and "DownloadUrl" not in row and "FileSizeMB" not in row
    assert sum(1 for row in got if "@odata.type" in row) == sum(1 for kind, _, _ in expected.values() if kind == 2) > 0


def test_the_cast_addresses_the_derived_entities(catalog_client: TestClient, catalog_backend: Backend) -> None:
    response = catalog_client.get(f"/data/Products/{DIGITAL}", params={
        "$filter": "FileSizeMB gt 50", "$orderby": "FileSizeMB desc,ID", "$select": "ID,FileSizeMB", "$count": "true"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["@odata.context"].endswith(f"$metadata#Products/{DIGITAL}(ID,FileSizeMB)")
    expected = sql_rows(catalog_backend, "SELECT product_id, file_size_mb FROM product WHERE kind = 2 AND file_size_mb > 50 "
                                      "ORDER BY file_size_mb DESC, product_id")
    assert [(row["ID"], _size(row["FileSizeMB"])) for row in body["value"]] == [(r[0], _size(r[1])) for r in expected]
    assert body["@odata.count"] == len(expected) > 0
    count = catalog_client.get(f"/data/Products/{DIGITAL}/$count")
    assert count.text == str(sql_rows(catalog_backend, "SELECT count(*) FROM product WHERE kind = 2")[0][0])


def test_isof_and_cast_paths_in_filters(catalog_client: TestClient, catalog_backend: Backend) -> None:
    digital = {row[0] for row in sql_rows(catalog_backend, "SELECT product_id FROM product WHERE kind = 2")}
    response = catalog_client.get("/data/Products", params={"$filter": f"isof({DIGITAL})", "$select": "ID"})
    assert {row["ID"] for row in response.json()["value"]} == digital
    cast = catalog_client.get("/data/Products", params={"$filter": f"cast({DIGITAL}) ne null", "$select": "ID"})
    assert {row["ID"] for row in cast.json()["value"]} == digital
    physical = catalog_client.get("/data/Products", params={"$filter": f"not isof({DIGITAL})", "$select": "ID"})
    assert not {row["ID"] for row in physical.json()["value"]} & digital
    large = catalog_client.get("/data/Products", params={"$filter": f"{DIGITAL}/FileSizeMB ge 100", "$select": "ID"})
    assert large.status_code == 200, large.text
    assert {row["ID"] for row in large.json()["value"]} == {
        row[0] for row in sql_rows(catalog_backend, "SELECT product_id FROM product WHERE kind = 2 AND file_size_mb >= 100")}


def test_single_entity_through_the_cast(catalog_client: TestClient, catalog_backend: Backend) -> None:
    digital = sql_rows(catalog_backend, "SELECT product_id, download_url FROM product WHERE kind = 2 ORDER BY product_id")[0]
    physical = sql_rows(catalog_backend, "SELECT product_id FROM product WHERE kind = 1 ORDER BY product_id")[0][0]
    response = catalog_client.get(f"/data/Products({digital[0]})/{DIGITAL}")
    assert response.status_code == 200, response.text
    assert response.json()["DownloadUrl"] == digital[1]
    assert response.json()["@odata.context"].endswith(f"$metadata#Products/{DIGITAL}/$entity")
    assert catalog_client.get(f"/data/Products({physical})/{DIGITAL}").status_code == 404


def test_refusals(catalog_client: TestClient, catalog_backend: Backend) -> None:
    product = sql_rows(catalog_backend, "SELECT product_id FROM product WHERE kind = 1 ORDER BY product_id")[0][0]
    for params, words in (({"$filter": "FileSizeMB gt 1"}, "cast first"),
                          ({"$select": "DownloadUrl"}, "cast first"),
                          ({"$filter": "Example.Catalog.Nothing/FileSizeMB gt 1"}, "not a type derived")):
        response = catalog_client.get("/data/Products", params=params)
        assert response.status_code == 400 and words in response.text, (params, response.text)
    assert catalog_client.get("/data/Products/Example.Catalog.Category").status_code == 400
    patched = catalog_client.patch(f"/data/Products({product})", json={"DownloadUrl": "x"})
    assert patched.status_code == 400 and DIGITAL.split(".")[-1] in patched.text


def test_create_and_update_derived_entities(catalog_client: TestClient, catalog_backend: Backend) -> None:
    created = catalog_client.post("/data/Products", json={
        "@odata.type": f"#{DIGITAL}", "Name": "Field Guide (PDF)", "Price": 9.5, "Sku": "SKU-PDF-1",
        "DownloadUrl": "https://downloads.example.com/guide.pdf", "FileSizeMB": 12.25})
    assert created.status_code == 201, created.text
    assert created.json()["@odata.type"] == f"#{DIGITAL}"
    identifier = created.json()["ID"]
    assert sql_rows(catalog_backend, "SELECT kind, download_url FROM product WHERE product_id = :id", id=identifier) == [
        (2, "https://downloads.example.com/guide.pdf")]
    via_cast = catalog_client.post(f"/data/Products/{DIGITAL}", json={"Name": "Audio Book", "Price": 3, "Sku": "SKU-MP3-1"})
    assert via_cast.status_code == 201, via_cast.text
    assert sql_rows(catalog_backend, "SELECT kind FROM product WHERE product_id = :id", id=via_cast.json()["ID"]) == [(2,)]
    patched = catalog_client.patch(f"/data/Products({identifier})/{DIGITAL}", json={"FileSizeMB": 13})
    assert patched.status_code == 204, patched.text
    assert _size(sql_rows(catalog_backend, "SELECT file_size_mb FROM product WHERE product_id = :id",
                       id=identifier)[0][0]) == Decimal("13.00")
    kind_change = catalog_client.patch(f"/data/Products({identifier})/{DIGITAL}", json={"Kind": "Physical"})
    assert kind_change.status_code == 400, kind_change.text
    for new in (identifier, via_cast.json()["ID"]):
        assert catalog_client.delete(f"/data/Products({new})").status_code == 204


def test_expanded_rows_are_typed_too(catalog_client: TestClient, catalog_backend: Backend) -> None:
    response = catalog_client.get("/data/Categories", params={"$expand": "Products($select=ID)", "$select": "ID"})
    assert response.status_code == 200, response.text
    digital = {row[0] for row in sql_rows(catalog_backend, "SELECT product_id FROM product WHERE kind = 2")}
    expanded = [product for category in response.json()["value"] for product in category["Products"]]
    assert expanded and all(("@odata.type" in product) == (product["ID"] in digital) for product in expanded)
