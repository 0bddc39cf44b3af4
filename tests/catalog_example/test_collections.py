"""Collection-valued properties stored as JSON arrays (issue 14): the example catalog's Products.Tags
(Collection(Edm.String)), Products.Scores (Collection(Edm.Int32)) and Products.Packages (a collection
of the complex type Dimensions), on every backend.

Reads and `$filter` with `any`/`all`/`$count` (Part 2 §5.1.1.10-§5.1.1.13) are compared with the JSON
columns read by hand-written SQL and decoded and evaluated here in plain Python. The property paths
(/Tags, /Tags/$count, /Tags/0, /Tags/-1) and the writes of Part 1 §11.4.9.4 (PUT replaces, POST adds,
DELETE empties) and §11.4.10-§11.4.11 (items by ordinal, positional inserts with `$index`) are checked
by reading the column back. Also: $metadata's Collection types (Core.Ordered, Core.PositionalInsert),
JSON nulls left by another writer, and bad input answering 400 (or 405 / 404 where the spec says).
"""

from __future__ import annotations

import json
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from tests.catalog_example.conftest import sql_rows
from tests.clients.test_csdl_conformance import _json_errors, _xml_errors
from tests.conftest import Backend, every_page

EDM = "{http://docs.oasis-open.org/odata/ns/edm}"
Row = dict[str, Any]


def _execute(backend: Backend, statement: str, **parameters: object) -> None:
    with backend.engine.begin() as connection:
        connection.execute(text(statement), parameters)


def _array(value: Any) -> list[Any]:
    """A JSON column's value as the driver gives it (text, or a list from jsonb): its array, [] for NULL."""
    if isinstance(value, (str, bytes)):
        value = json.loads(value)
    return value if isinstance(value, list) else []


def _rows(backend: Backend, where: str = "", **parameters: object) -> dict[str, Row]:
    statement = "SELECT product_id, name, tags, scores, packages FROM product" + (f" WHERE {where}" if where else "")
    return {str(key): {"name": name, "Tags": _array(tags), "Scores": _array(scores), "Packages": _array(packages)}
            for key, name, tags, scores, packages in sql_rows(backend, statement, **parameters)}


def _row(backend: Backend, key: str) -> Row:
    return _rows(backend, "product_id = :key", key=key)[key]


def _dimensions(items: list[dict[str, Any]]) -> list[dict[str, Decimal]]:
    return [{name: Decimal(str(value)).quantize(Decimal("0.01")) for name, value in item.items()} for item in items]


def _all(client: TestClient, url: str, **params: str) -> list[dict[str, Any]]:
    return every_page(client, url, params)


@pytest.fixture
def product(catalog_client: TestClient) -> Iterator[str]:
    body = {"Name": f"Collections {uuid.uuid4().hex[:8]}", "Price": 3, "Tags": ["eco", "new"], "Scores": [5, 7],
            "Packages": [{"Height": 1.5, "Width": 2, "Depth": 3}, {"Height": 4, "Width": 5.25, "Depth": 6}]}
    created = catalog_client.post("/data/Products", json=body)
    assert created.status_code == 201, created.text
    key = created.json()["ID"]
    yield key
    catalog_client.delete(f"/data/Products({key})")


# ---------------------------------------------------------------------------------------------- reads
def test_every_product_reads_its_arrays(catalog_client: TestClient, catalog_backend: Backend) -> None:
    rows = _rows(catalog_backend)
    served = _all(catalog_client, "/data/Products", **{"$select": "ID,Tags,Scores,Packages"})
    assert len(served) == len(rows)
    for entity in served:
        row = rows[entity["ID"]]
        assert entity["Tags"] == row["Tags"] and entity["Scores"] == row["Scores"]
        assert _dimensions(entity["Packages"]) == _dimensions(row["Packages"])
    assert any(not row["Tags"] for row in rows.values()) and any(len(row["Packages"]) > 1 for row in rows.values())


CONDITIONS: list[tuple[str, Callable[[Row], bool]]] = [
    ("Tags/any(t: t eq 'eco')", lambda row: "eco" in row["Tags"]),
    ("Tags/all(t: t ne 'sale')", lambda row: "sale" not in row["Tags"]),
    ("Tags/any()", lambda row: bool(row["Tags"])),
    ("not Tags/any()", lambda row: not row["Tags"]),
    ("Tags/$count gt 2", lambda row: len(row["Tags"]) > 2),
    ("Tags/any(t: startswith(t, 'p') or t eq 'kids') and Tags/$count le 3",
     lambda row: any(t.startswith("p") or t == "kids" for t in row["Tags"]) and len(row["Tags"]) <= 3),
    ("Scores/all(s: s ge 50)", lambda row: all(s >= 50 for s in row["Scores"])),
    ("Scores/any(s: s add 10 gt 105)", lambda row: any(s + 10 > 105 for s in row["Scores"])),
    ("Scores/$count eq 0", lambda row: not row["Scores"]),
    ("Packages/any(d: d/Height gt 190)", lambda row: any(d["Height"] > 190 for d in row["Packages"])),
    ("Packages/all(d: d/Height lt 100 and d/Depth lt 100)",
     lambda row: all(d["Height"] < 100 and d["Depth"] < 100 for d in row["Packages"])),
    ("Packages/any(d: d/Width mul d/Depth gt 30000)", lambda row: any(d["Width"] * d["Depth"] > 30000
                                                                      for d in row["Packages"])),
    # The lambda sees the entity ($it) and other collections of it.
    ("Tags/any(t: contains($it/Name, 'Eco') and t eq 'eco')",
     lambda row: "Eco" in row["name"] and "eco" in row["Tags"]),
    ("Packages/any(d: d/Height gt 150 and Tags/any(t: t eq 'new'))",
     lambda row: any(d["Height"] > 150 for d in row["Packages"]) and "new" in row["Tags"]),
]


@pytest.mark.parametrize(("condition", "expected"), CONDITIONS, ids=[condition for condition, _ in CONDITIONS])
def test_lambdas_and_counts(catalog_client: TestClient, catalog_backend: Backend, condition: str,
                            expected: Callable[[Row], bool]) -> None:
    rows = _rows(catalog_backend)
    wanted = {key for key, row in rows.items() if expected(row)}
    served = _all(catalog_client, "/data/Products", **{"$filter": condition, "$select": "ID"})
    assert {entity["ID"] for entity in served} == wanted
    assert 0 < len(wanted) < len(rows)  # each condition splits the data
    count = catalog_client.get("/data/Products/$count", params={"$filter": condition})
    assert count.text == str(len(wanted))


def test_lambda_over_a_navigation_reaches_the_collection(catalog_client: TestClient, catalog_backend: Backend) -> None:
    categories: dict[str, set[str]] = {str(key): set() for (key,) in sql_rows(catalog_backend,
                                                                            "SELECT category_id FROM category")}
    for key, category in sql_rows(catalog_backend, "SELECT product_id, category_id FROM product"):
        if category is not None and "gift" in _row(catalog_backend, str(key))["Tags"]:
            categories[str(category)].add(str(key))
    served = _all(catalog_client, "/data/Categories", **{"$filter": "Products/any(p: p/Tags/any(t: t eq 'gift'))",
                                                         "$select": "ID"})
    assert {entity["ID"] for entity in served} == {key for key, products in categories.items() if products}


def test_orderby_count(catalog_client: TestClient, catalog_backend: Backend) -> None:
    rows = _rows(catalog_backend)
    served = _all(catalog_client, "/data/Products", **{"$orderby": "Tags/$count desc", "$select": "ID"})
    counts = [len(rows[entity["ID"]]["Tags"]) for entity in served]
    assert counts == sorted(counts, reverse=True)


def test_property_paths(catalog_client: TestClient, catalog_backend: Backend) -> None:
    rows = _rows(catalog_backend)
    key = next(key for key, row in sorted(rows.items()) if len(row["Tags"]) >= 3 and len(row["Packages"]) >= 2)
    row = rows[key]
    tags = catalog_client.get(f"/data/Products({key})/Tags")
    assert tags.status_code == 200, tags.text
    assert tags.json() == {"@odata.context": f"http://testserver/data/$metadata#Products({key})/Tags",
                           "value": row["Tags"]}
    assert "ETag" in tags.headers
    count = catalog_client.get(f"/data/Products({key})/Tags/$count")
    assert count.status_code == 200 and count.text == str(len(row["Tags"]))
    assert catalog_client.get(f"/data/Products({key})/Tags/0").json()["value"] == row["Tags"][0]
    last = catalog_client.get(f"/data/Products({key})/Tags/-1").json()
    assert last == {"@odata.context": "http://testserver/data/$metadata#Edm.String", "value": row["Tags"][-1]}
    package = catalog_client.get(f"/data/Products({key})/Packages/1").json()
    assert package.pop("@odata.context").endswith("$metadata#Example.Catalog.Dimensions")
    assert _dimensions([package]) == _dimensions([row["Packages"][1]])
    packages = catalog_client.get(f"/data/Products({key})/Packages").json()["value"]
    assert _dimensions(packages) == _dimensions(row["Packages"])
    beyond = catalog_client.get(f"/data/Products({key})/Tags/{len(row['Tags'])}")
    assert beyond.status_code == 404
    assert catalog_client.get(f"/data/Products({key})/Tags/-{len(row['Tags']) + 1}").status_code == 404


# ---------------------------------------------------------------------------------------------- writes
def test_create_and_patch_replace_whole_collections(catalog_client: TestClient, catalog_backend: Backend,
                                                    product: str) -> None:
    row = _row(catalog_backend, product)
    assert row["Tags"] == ["eco", "new"] and row["Scores"] == [5, 7]
    assert _dimensions(row["Packages"]) == _dimensions([{"Height": 1.5, "Width": 2, "Depth": 3},
                                                        {"Height": 4, "Width": 5.25, "Depth": 6}])
    patched = catalog_client.patch(f"/data/Products({product})", json={"Tags": ["x"], "Packages": [{"Height": 9}]})
    assert patched.status_code == 204, patched.text
    row = _row(catalog_backend, product)
    assert row["Tags"] == ["x"] and row["Scores"] == [5, 7]  # (left out: unchanged)
    assert _dimensions(row["Packages"]) == _dimensions([{"Height": 9, "Width": 0, "Depth": 0}])
    plain = catalog_client.post("/data/Products", json={"Name": "No collections", "Price": 1})
    assert plain.status_code == 201, plain.text
    try:
        assert (plain.json()["Tags"], plain.json()["Scores"], plain.json()["Packages"]) == ([], [], [])
        assert _row(catalog_backend, plain.json()["ID"])["Tags"] == []
    finally:
        catalog_client.delete(f"/data/Products({plain.json()['ID']})")


def test_put_post_and_delete_at_the_collection(catalog_client: TestClient, catalog_backend: Backend,
                                               product: str) -> None:
    url = f"/data/Products({product})/Tags"
    assert catalog_client.put(url, json={"value": ["a", "b", "c"]}).status_code == 204
    assert _row(catalog_backend, product)["Tags"] == ["a", "b", "c"]
    steps: list[tuple[dict[str, str], str, list[str]]] = [
        ({}, "appended", ["a", "b", "c", "appended"]),
        ({"$index": "0"}, "first", ["first", "a", "b", "c", "appended"]),
        ({"$index": "2"}, "third", ["first", "a", "third", "b", "c", "appended"]),
        ({"$index": "-1"}, "last", ["first", "a", "third", "b", "c", "appended", "last"]),
        ({"$index": "-2"}, "before last", ["first", "a", "third", "b", "c", "appended", "before last", "last"]),
    ]
    for params, value, expected in steps:
        response = catalog_client.post(url, params=params, json={"value": value})
        assert response.status_code == 204, response.text
        assert _row(catalog_backend, product)["Tags"] == expected
    shown = catalog_client.post(url, json={"value": "shown"}, headers={"Prefer": "return=representation"})
    assert shown.status_code == 200 and shown.json()["value"][-1] == "shown"
    assert shown.json()["@odata.context"].endswith(f"$metadata#Products({product})/Tags")
    assert catalog_client.delete(url).status_code == 204
    assert _row(catalog_backend, product)["Tags"] == []
    assert catalog_client.post(url, params={"$index": "0"}, json={"value": "only"}).status_code == 204
    assert _row(catalog_backend, product)["Tags"] == ["only"]


def test_items_by_position(catalog_client: TestClient, catalog_backend: Backend, product: str) -> None:
    assert catalog_client.put(f"/data/Products({product})/Scores", json={"value": [1, 2, 3, 4]}).status_code == 204
    assert catalog_client.put(f"/data/Products({product})/Scores/1", json={"value": 20}).status_code == 204
    assert catalog_client.delete(f"/data/Products({product})/Scores/-1").status_code == 204
    assert catalog_client.delete(f"/data/Products({product})/Scores/0").status_code == 204
    assert _row(catalog_backend, product)["Scores"] == [20, 3]
    packages = f"/data/Products({product})/Packages"
    assert catalog_client.patch(f"{packages}/1", json={"Width": 7.75}).status_code == 204
    assert catalog_client.put(f"{packages}/0", json={"Height": 11}).status_code == 204  # PUT: the others default
    assert catalog_client.post(packages, params={"$index": "1"}, json={"Height": 2, "Width": 3, "Depth": 4}
                               ).status_code == 204
    assert _dimensions(_row(catalog_backend, product)["Packages"]) == _dimensions([
        {"Height": 11, "Width": 0, "Depth": 0}, {"Height": 2, "Width": 3, "Depth": 4},
        {"Height": 4, "Width": 7.75, "Depth": 6}])


def test_writes_check_the_etag(catalog_client: TestClient, catalog_backend: Backend, product: str) -> None:
    tag = catalog_client.get(f"/data/Products({product})").headers["ETag"]
    assert catalog_client.post(f"/data/Products({product})/Tags", json={"value": "v"}).status_code == 204
    stale = catalog_client.put(f"/data/Products({product})/Tags", json={"value": []}, headers={"If-Match": tag})
    assert stale.status_code == 412
    assert _row(catalog_backend, product)["Tags"] == ["eco", "new", "v"]
    fresh = catalog_client.get(f"/data/Products({product})/Tags").headers["ETag"]
    assert catalog_client.put(f"/data/Products({product})/Tags", json={"value": []},
                              headers={"If-Match": fresh}).status_code == 204


@pytest.mark.parametrize(("method", "path", "params", "body", "status"), [
    ("PATCH", "", {}, {"Tags": None}, 400),  # a collection is never null
    ("PATCH", "", {}, {"Tags": "eco"}, 400),
    ("PATCH", "", {}, {"Tags": [1]}, 400),
    ("PATCH", "", {}, {"Tags": [None]}, 400),  # its items are not nullable
    ("PATCH", "", {}, {"Tags": ["x" * 31]}, 400),  # MaxLength 30
    ("PATCH", "", {}, {"Scores": [1.5]}, 400),
    ("PATCH", "", {}, {"Packages": [{"Height": "tall"}]}, 400),
    ("PATCH", "", {}, {"Packages": [{"Colour": "red"}]}, 400),
    ("PATCH", "", {}, {"Packages": [5]}, 400),
    ("PATCH", "/Tags", {}, {"value": ["a"]}, 405),  # Part 1 §11.4.9.4: no PATCH of a collection
    ("POST", "/Tags", {"$index": "9"}, {"value": "a"}, 400),
    ("POST", "/Tags", {"$index": "x"}, {"value": "a"}, 400),
    ("POST", "/Tags", {}, "a", 400),
    ("POST", "/Tags/0", {}, {"value": "a"}, 405),
    ("PATCH", "/Tags/0", {}, {"value": "a"}, 405),
    ("PUT", "/Tags/5", {}, {"value": "a"}, 404),
    ("DELETE", "/Tags/-3", {}, None, 404),
    ("PUT", "/Tags/$count", {}, {"value": 1}, 405),
    ("PUT", "/Tags", {"$index": "0"}, {"value": []}, 400),  # $index belongs to a POST
])
def test_bad_writes(catalog_client: TestClient, catalog_backend: Backend, product: str, method: str, path: str,
                    params: dict[str, str], body: object, status: int) -> None:
    before = _row(catalog_backend, product)
    response = catalog_client.request(method, f"/data/Products({product}){path}", params=params, json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["message"]
    assert _row(catalog_backend, product) == before


@pytest.mark.parametrize(("params", "fragment"), [
    ({"$filter": "Tags eq 'eco'"}, "collection"),
    ({"$filter": "Tags/any(t: t/Length eq 1)"}, "no members"),
    ({"$filter": "Packages/any(d: d eq 1)"}, "compare one of their members"),
    ({"$filter": "Packages/any(d: d/Colour eq 'red')"}, "no member Colour"),
    ({"$filter": "Tags/any(t: t eq 1)"}, "cannot compare"),
    ({"$orderby": "Tags"}, "collection"),
    ({"$select": "Tags/Length"}, "select it whole"),
    ({"$index": "1"}, "POST"),
])
def test_bad_queries(catalog_client: TestClient, params: dict[str, str], fragment: str) -> None:
    response = catalog_client.get("/data/Products", params=params)
    assert response.status_code == 400, response.text
    assert fragment in response.json()["error"]["message"]


def test_json_null_left_by_another_writer(catalog_client: TestClient, catalog_backend: Backend, product: str) -> None:
    """A JSON `null` (not SQL NULL) in the column: the empty collection, for reads, lambdas and counts."""
    null = "CAST('null' AS jsonb)" if catalog_backend.name == "postgresql" else "'null'"
    _execute(catalog_backend, f"UPDATE product SET tags = {null}, scores = NULL WHERE product_id = :key", key=product)
    entity = catalog_client.get(f"/data/Products({product})", params={"$select": "Tags,Scores"}).json()
    assert entity["Tags"] == [] and entity["Scores"] == []
    for condition, matches in (("Tags/any()", False), ("Tags/$count eq 0", True), ("Tags/all(t: t eq 'x')", True),
                               ("Tags/any(t: t eq null)", False), ("Scores/$count eq 0", True)):
        found = catalog_client.get("/data/Products", params={"$filter": f"ID eq {product} and {condition}"})
        assert found.status_code == 200, found.text
        assert len(found.json()["value"]) == int(matches), condition
    assert catalog_client.post(f"/data/Products({product})/Tags", json={"value": "again"}).status_code == 204
    assert _row(catalog_backend, product)["Tags"] == ["again"]


# ---------------------------------------------------------------------------------------------- $metadata
def test_metadata_declares_ordered_collections(catalog_client: TestClient) -> None:
    document = catalog_client.get("/data/$metadata").content
    assert _xml_errors(document) == []
    product = next(element for element in ET.fromstring(document).iter(f"{EDM}EntityType")
                   if element.get("Name") == "Product")
    properties = {p.get("Name"): p for p in product.findall(f"{EDM}Property")}
    assert properties["Tags"].get("Type") == "Collection(Edm.String)" and properties["Tags"].get("MaxLength") == "30"
    assert properties["Packages"].get("Type") == "Collection(Example.Catalog.Dimensions)"
    assert properties["Scores"].get("Nullable") == "false"  # (of a collection: its items)
    terms = {a.get("Term") for a in properties["Tags"].findall(f"{EDM}Annotation")}
    assert terms == {"Org.OData.Core.V1.Ordered", "Org.OData.Core.V1.PositionalInsert"}
    json_document = catalog_client.get("/data/$metadata", headers={"Accept": "application/json"}).json()
    assert _json_errors(json_document) == []
    assert json_document["Example.Catalog"]["Product"]["Scores"] == {
        "$Collection": True, "$Type": "Edm.Int32", "@Org.OData.Core.V1.Ordered": True,
        "@Org.OData.Core.V1.PositionalInsert": True}
