"""Entity references (`$ref`, OData 4.01 Part 1 §11.2.8 and §11.4.6, Part 2 §4.4) and entity ids
(`$id`, `/$entity`, Part 2 §4.13) on the example catalog, on every backend: reads compared with SQL
over the tables, writes checked in the tables (the foreign key, the join table, the audit log),
with the privileges, ETags and answers of ordinary writes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select, text
from starlette.testclient import TestClient

from gateway.audit.store import audit_log
from tests.catalog_example.conftest import sql_rows
from tests.conftest import Backend, bearer

BASE = "http://testserver/data/"


def _category_of(backend: Backend, product: str) -> str | None:
    value = sql_rows(backend, "SELECT category_id FROM product WHERE product_id = :p", p=product)[0][0]
    return None if value is None else str(value)


def _related(backend: Backend, product: str) -> set[str]:
    rows = sql_rows(backend, "SELECT related_product_id FROM related_product WHERE product_id = :p", p=product)
    return {str(row[0]) for row in rows}


def _audit(backend: Backend, request_id: str) -> list[tuple[object, ...]]:
    log = audit_log
    statement = select(log.c.ENTITYSET, log.c.OP, log.c.KEYDATA, log.c.FIELDS).where(log.c.REQUESTID == request_id)
    with backend.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(statement)]


def _ids(response_json: dict[str, object]) -> list[str]:
    return [str(item["@odata.id"]) for item in response_json["value"]]  # type: ignore[attr-defined]


@pytest.fixture
def products(catalog_backend: Backend) -> Iterator[list[str]]:
    """Products whose category and related products a test changes: put back afterwards."""
    changed: list[str] = []
    rows = sql_rows(catalog_backend, "SELECT product_id, category_id FROM product")
    links = sql_rows(catalog_backend, "SELECT product_id, related_product_id FROM related_product")
    yield changed
    categories = {str(product): category for product, category in rows}
    with catalog_backend.engine.begin() as connection:
        for product in changed:
            connection.execute(text("UPDATE product SET category_id = :c WHERE product_id = :p"),
                               {"c": categories[product], "p": product})
            connection.execute(text("DELETE FROM related_product WHERE product_id = :p"), {"p": product})
            for owner, other in links:
                if str(owner) == product:
                    connection.execute(text("INSERT INTO related_product (product_id, related_product_id) "
                                            "VALUES (:p, :o)"), {"p": product, "o": other})


def _pick(backend: Backend, sql: str) -> str:
    return str(sql_rows(backend, sql)[0][0])


def _with_category(backend: Backend) -> tuple[str, str]:
    product, category = sql_rows(backend, "SELECT product_id, category_id FROM product WHERE category_id IS NOT NULL "
                                      "ORDER BY product_id")[0]
    return str(product), str(category)


# ---------------------------------------------------------------------------------------------- reads
def test_single_valued_reference(catalog_client: TestClient, catalog_backend: Backend) -> None:
    product, category = _with_category(catalog_backend)
    response = catalog_client.get(f"/data/Products({product})/Category/$ref")
    assert response.status_code == 200, response.text
    assert response.json() == {"@odata.context": BASE + "$metadata#$ref", "@odata.id": f"{BASE}Categories({category})"}
    empty = _pick(catalog_backend, "SELECT product_id FROM product WHERE category_id IS NULL ORDER BY product_id")
    assert catalog_client.get(f"/data/Products({empty})/Category/$ref").status_code == 404
    itself = catalog_client.get(f"/data/Products({product})/$ref")
    assert itself.json()["@odata.id"] == f"{BASE}Products({product})"


def test_collection_of_references(catalog_client: TestClient, catalog_backend: Backend) -> None:
    category = _pick(catalog_backend, "SELECT category_id FROM product WHERE category_id IS NOT NULL GROUP BY category_id "
                                      "HAVING count(*) > 3 ORDER BY category_id")
    response = catalog_client.get(f"/data/Categories({category})/Products/$ref",
                                  params={"$filter": "Price gt 100", "$orderby": "Price desc,ID", "$count": "true"})
    assert response.status_code == 200, response.text
    expected = sql_rows(catalog_backend, "SELECT product_id FROM product WHERE category_id = :c AND price > 100 "
                                     "ORDER BY price DESC, product_id", c=category)
    body = response.json()
    assert body["@odata.context"] == BASE + "$metadata#Collection($ref)"
    assert _ids(body) == [f"{BASE}Products({row[0]})" for row in expected] and body["@odata.count"] == len(expected)
    assert all(set(item) == {"@odata.id"} for item in body["value"])
    paged = catalog_client.get(f"/data/Categories({category})/Products/$ref", params={"$top": "2", "$orderby": "ID"},
                               headers={"Prefer": "odata.maxpagesize=1"})
    first = sorted(str(row[0]) for row in sql_rows(catalog_backend, "SELECT product_id FROM product WHERE category_id = :c",
                                               c=category))[:1]
    assert _ids(paged.json()) == [f"{BASE}Products({first[0]})"] and "@odata.nextLink" in paged.json()
    refused = catalog_client.get(f"/data/Categories({category})/Products/$ref", params={"$select": "Name"})
    assert refused.status_code == 400 and refused.json()["error"]["target"] == "$select"


def test_many_to_many_references_and_expand(catalog_client: TestClient, catalog_backend: Backend) -> None:
    product = _pick(catalog_backend, "SELECT product_id FROM related_product GROUP BY product_id "
                                     "HAVING count(*) >= 2 ORDER BY product_id")
    response = catalog_client.get(f"/data/Products({product})/RelatedProducts/$ref")
    assert response.status_code == 200, response.text
    assert set(_ids(response.json())) == {f"{BASE}Products({other})" for other in _related(catalog_backend, product)}
    expanded = catalog_client.get("/data/Categories", params={"$expand": "Products/$ref", "$select": "ID"})
    assert expanded.status_code == 200, expanded.text
    rows = sql_rows(catalog_backend, "SELECT category_id, product_id FROM product WHERE category_id IS NOT NULL")
    expected: dict[str, set[str]] = {}
    for category, member in rows:
        expected.setdefault(str(category), set()).add(f"{BASE}Products({member})")
    got = {row["ID"]: {item["@odata.id"] for item in row["Products"]} for row in expanded.json()["value"]}
    assert {key: value for key, value in got.items() if value} == expected


def test_entity_by_id(catalog_client: TestClient, catalog_backend: Backend) -> None:
    product, _ = _with_category(catalog_backend)
    for entity_id in (f"Products({product})", f"{BASE}Products({product})"):
        response = catalog_client.get("/data/$entity", params={"$id": entity_id, "$select": "ID,Name",
                                                               "$expand": "Category($select=Name)"})
        assert response.status_code == 200, response.text
        direct = catalog_client.get(f"/data/Products({product})", params={"$select": "ID,Name",
                                                                          "$expand": "Category($select=Name)"})
        assert response.json() == direct.json()
    name = sql_rows(catalog_backend, "SELECT name FROM product WHERE product_id = :p", p=product)[0][0]
    assert response.json()["Name"] == name
    assert catalog_client.get("/data/$entity").status_code == 400
    assert catalog_client.get("/data/$entity", params={"$id": "Products"}).status_code == 400
    assert catalog_client.get("/data/Products", params={"$id": f"Products({product})"}).status_code == 400


# ---------------------------------------------------------------------------------------------- writes
def test_add_and_remove_a_reference_sets_the_foreign_key(catalog_client: TestClient, catalog_backend: Backend,
                                                         products: list[str]) -> None:
    product = _pick(catalog_backend, "SELECT product_id FROM product WHERE category_id IS NULL ORDER BY product_id")
    category = _pick(catalog_backend, "SELECT category_id FROM category ORDER BY category_id")
    products.append(product)
    added = catalog_client.post(f"/data/Categories({category})/Products/$ref",
                                json={"@odata.id": f"{BASE}Products({product})"})
    assert added.status_code == 204, added.text
    assert _category_of(catalog_backend, product) == category
    audit = _audit(catalog_backend, added.headers["x-ms-service-request-id"])
    assert [(row[0], row[1], row[3]) for row in audit] == [("Products", "update", "CategoryID")]
    removed = catalog_client.delete(f"/data/Categories({category})/Products/$ref",
                                    params={"$id": f"Products({product})"})
    assert removed.status_code == 204, removed.text
    assert _category_of(catalog_backend, product) is None
    again = catalog_client.delete(f"/data/Categories({category})/Products/$ref", params={"$id": f"Products({product})"})
    assert again.status_code == 404
    catalog_client.post(f"/data/Categories({category})/Products/$ref", json={"@odata.id": f"Products({product})"})
    by_path = catalog_client.delete(f"/data/Categories({category})/Products({product})/$ref")
    assert by_path.status_code == 204 and _category_of(catalog_backend, product) is None
    no_id = catalog_client.delete(f"/data/Categories({category})/Products/$ref")
    assert no_id.status_code == 400


def test_replace_and_clear_a_single_reference(catalog_client: TestClient, catalog_backend: Backend,
                                              products: list[str]) -> None:
    product, category = _with_category(catalog_backend)
    other = _pick(catalog_backend, f"SELECT category_id FROM category WHERE category_id <> '{category}' "
                                   "ORDER BY category_id")
    products.append(product)
    etag = catalog_client.get(f"/data/Products({product})").headers["ETag"]
    replaced = catalog_client.put(f"/data/Products({product})/Category/$ref",
                                  json={"@odata.id": f"Categories({other})"}, headers={"If-Match": etag})
    assert replaced.status_code == 204, replaced.text
    assert _category_of(catalog_backend, product) == other
    stale = catalog_client.put(f"/data/Products({product})/Category/$ref",
                               json={"@odata.id": f"Categories({category})"}, headers={"If-Match": etag})
    assert stale.status_code == 412 and _category_of(catalog_backend, product) == other
    cleared = catalog_client.delete(f"/data/Products({product})/Category/$ref")
    assert cleared.status_code == 204, cleared.text
    assert _category_of(catalog_backend, product) is None
    assert catalog_client.get(f"/data/Products({product})/Category/$ref").status_code == 404


def test_many_to_many_add_and_remove(catalog_client: TestClient, catalog_backend: Backend,
                                     products: list[str]) -> None:
    product = _pick(catalog_backend, "SELECT product_id FROM product ORDER BY product_id")
    products.append(product)
    before = _related(catalog_backend, product)
    other = next(str(row[0]) for row in sql_rows(catalog_backend, "SELECT product_id FROM product ORDER BY product_id DESC")
                 if str(row[0]) not in before and str(row[0]) != product)
    url = f"/data/Products({product})/RelatedProducts/$ref"
    reverse = _related(catalog_backend, other)
    added = catalog_client.post(url, json={"@odata.id": f"Products({other})"})
    assert added.status_code == 204, added.text
    assert _related(catalog_backend, product) == before | {other}
    assert _related(catalog_backend, other) == reverse  # the relation has a direction
    audit = _audit(catalog_backend, added.headers["x-ms-service-request-id"])
    assert [(row[0], row[1], row[3]) for row in audit] == [("Products", "update", "RelatedProducts")]
    twice = catalog_client.post(url, json={"@odata.id": f"Products({other})"})
    assert twice.status_code == 204 and _related(catalog_backend, product) == before | {other}
    removed = catalog_client.delete(url, params={"$id": f"Products({other})"})
    assert removed.status_code == 204, removed.text
    assert _related(catalog_backend, product) == before
    assert catalog_client.delete(f"/data/Products({product})/RelatedProducts({other})/$ref").status_code == 404
    dry = catalog_client.post(url, json={"@odata.id": f"Products({other})"}, headers={"Prefer": "tx=rollback"})
    assert dry.status_code == 204 and dry.headers["Preference-Applied"] == "tx=rollback"
    assert _related(catalog_backend, product) == before


def test_reference_write_mistakes(catalog_client: TestClient, catalog_backend: Backend,
                                  products: list[str]) -> None:
    product, category = _with_category(catalog_backend)
    products.append(product)
    description = sql_rows(catalog_backend, "SELECT product_id, language_code FROM product_description "
                                        "ORDER BY product_id, language_code")[0]
    url = f"/data/Products({product})/RelatedProducts/$ref"
    cases = [
        ("POST", url, {"@odata.id": f"Categories({category})"}, 400),  # another entity set
        ("POST", url, {"@odata.id": "Products(00000000-0000-0000-0000-000000000000)"}, 404),
        ("POST", url, {"Name": "x"}, 400),  # not a reference
        ("POST", url, {"@odata.id": 42}, 400),
        ("POST", url, {"@odata.id": "Products("}, 400),
        ("PATCH", url, {"@odata.id": f"Products({product})"}, 405),
        ("PUT", url, {"@odata.id": f"Products({product})"}, 405),
        ("POST", f"/data/Products({product})/Category/$ref", {"@odata.id": f"Categories({category})"}, 405),
        # the navigation is part of the description's key: it cannot be removed
        ("DELETE", f"/data/ProductDescriptions(ProductID={description[0]},LanguageCode='{description[1]}')"
                   "/Product/$ref", None, 400),
        ("DELETE", f"/data/Products({product})/$ref", None, 400),  # no navigation to change
    ]
    for method, target, body, status in cases:
        response = catalog_client.request(method, target, json=body)
        assert response.status_code == status, (method, target, body, response.text)
        assert "error" in response.json()
    assert _category_of(catalog_backend, product) == category


def test_reference_writes_need_the_privilege(catalog_client: TestClient, catalog_backend: Backend,
                                             products: list[str]) -> None:
    product = _pick(catalog_backend, "SELECT product_id FROM product ORDER BY product_id")
    other = _pick(catalog_backend, "SELECT product_id FROM product ORDER BY product_id DESC")
    products.append(product)
    before = _related(catalog_backend, product)
    url = f"/data/Products({product})/RelatedProducts/$ref"
    reader = catalog_client.post(url, json={"@odata.id": f"Products({other})"}, headers=bearer("r", ("DataReader",)))
    assert reader.status_code == 403, reader.text
    assert _related(catalog_backend, product) == before
    assert catalog_client.get(url, headers=bearer("r", ("DataReader",))).status_code == 200
    manager = catalog_client.post(url, json={"@odata.id": f"Products({other})"},
                                  headers=bearer("m", ("ProductManager",)))
    assert manager.status_code == 204, manager.text
    assert other in _related(catalog_backend, product)
    # Linking a product to a category reads the category: ProductManager may not read Categories.
    category = _pick(catalog_backend, "SELECT category_id FROM category ORDER BY category_id")
    refused = catalog_client.put(f"/data/Products({product})/Category/$ref", json={"@odata.id": f"Categories({category})"},
                                 headers=bearer("m", ("ProductManager",)))
    assert refused.status_code == 403, refused.text


def test_references_to_a_new_entity_inside_a_batch(catalog_client: TestClient, catalog_backend: Backend) -> None:
    """`$p/RelatedProducts/$ref`: a reference written to the entity an earlier request of the group created."""
    target = _pick(catalog_backend, "SELECT product_id FROM product ORDER BY product_id")
    batch = {"requests": [
        {"id": "p", "method": "POST", "url": "Products", "atomicityGroup": "g",
         "body": {"Name": "Batch Kettle", "Price": 5, "Sku": "SKU-BATCH-1"}},
        {"id": "r", "method": "POST", "url": "$p/RelatedProducts/$ref", "atomicityGroup": "g", "dependsOn": ["p"],
         "body": {"@odata.id": f"Products({target})"}},
        {"id": "q", "method": "GET", "url": "$p/RelatedProducts/$ref", "dependsOn": ["g"]},
    ]}
    response = catalog_client.post("/data/$batch", json=batch)
    assert response.status_code == 200, response.text
    answers = {answer["id"]: answer for answer in response.json()["responses"]}
    assert [answers[name]["status"] for name in ("p", "r", "q")] == [201, 204, 200], response.text
    created = answers["p"]["body"]["ID"]
    assert _related(catalog_backend, created) == {target}
    assert [ref["@odata.id"].rsplit("/", 1)[1] for ref in answers["q"]["body"]["value"]] == [f"Products({target})"]
    assert catalog_client.delete(f"/data/Products({created})/RelatedProducts({target})/$ref").status_code == 204
    assert _related(catalog_backend, created) == set()
    assert catalog_client.delete(f"/data/Products({created})").status_code == 204
