"""Functions and actions of the example catalog (examples/product_catalog/operations/), compared with
SQL over its tables; singletons (Company)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from starlette.testclient import TestClient

from tests.catalog_example.conftest import catalog_app_client, sql_rows
from tests.conftest import Backend, bearer

NS = "Example.Catalog"


def _money(value: object) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def _top_products(backend: Backend, count: int) -> list[tuple[str, Decimal]]:
    rows = sql_rows(backend, "SELECT product_id, price FROM product ORDER BY price DESC, product_id")
    return [(str(row[0]), _money(row[1])) for row in rows[:count]]


def test_unbound_function_returns_entities(catalog_client: TestClient, catalog_backend: Backend) -> None:
    response = catalog_client.get("/data/GetTopProducts(count=3)", params={"$select": "ID,Price"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["@odata.context"].endswith("$metadata#Products(ID,Price)")
    assert sorted((row["ID"], _money(row["Price"])) for row in body["value"]) == sorted(_top_products(catalog_backend, 3))


def test_function_result_is_composable(catalog_client: TestClient, catalog_backend: Backend) -> None:
    top = _top_products(catalog_backend, 20)
    cheapest_of_top = min(price for _, price in top)
    limit = sorted(price for _, price in top)[10]  # keeps the 10 cheapest of the 20
    response = catalog_client.get("/data/GetTopProducts(count=20)", params={
        "$filter": f"Price lt {limit}", "$orderby": "Price,ID", "$count": "true", "$select": "ID,Price",
        "$expand": "Category($select=Name)"})
    assert response.status_code == 200, response.text
    body = response.json()
    expected = sorted((price, product) for product, price in top if price < limit)
    assert [(_money(row["Price"]), row["ID"]) for row in body["value"]] == expected
    assert body["@odata.count"] == len(expected) == 10
    assert _money(body["value"][0]["Price"]) == cheapest_of_top
    names = dict(sql_rows(catalog_backend, "SELECT p.product_id, c.name FROM product p "
                                       "LEFT JOIN category c ON c.category_id = p.category_id"))
    assert {row["ID"]: (row["Category"] or {}).get("Name") for row in body["value"]} == {
        product: names[product] for _, product in expected}
    count = catalog_client.get("/data/GetTopProducts(count=7)/$count")
    assert count.status_code == 200 and count.text == "7"


def test_apply_on_a_function_result(catalog_client: TestClient, catalog_backend: Backend) -> None:
    response = catalog_client.get("/data/GetTopProducts(count=10)",
                                  params={"$apply": "aggregate(Price with sum as Total,$count as N)"})
    assert response.status_code == 200, response.text
    (row,) = response.json()["value"]
    assert (_money(row["Total"]), row["N"]) == (sum(price for _, price in _top_products(catalog_backend, 10)), 10)


def test_parameters_as_aliases_and_implicit_aliases(catalog_client: TestClient, catalog_backend: Backend) -> None:
    expected = sorted(product for product, _ in _top_products(catalog_backend, 2))
    response = catalog_client.get("/data/GetTopProducts(count=@c)?@c=2&$select=ID")
    assert response.status_code == 200, response.text
    assert sorted(row["ID"] for row in response.json()["value"]) == expected
    # 4.01: a parameter left out of the parentheses may be given as a query option of its name
    product, price = sql_rows(catalog_backend, "SELECT product_id, price FROM product ORDER BY product_id")[0]
    implicit = catalog_client.get(f"/data/Products({product})/{NS}.PriceWithTax()?rate=0.5")
    assert implicit.status_code == 200, implicit.text
    assert _money(implicit.json()["value"]) == (_money(price) * Decimal("1.5")).quantize(Decimal("0.01"), ROUND_HALF_UP)


def test_collection_of_primitives(catalog_client: TestClient, catalog_backend: Backend) -> None:
    response = catalog_client.get("/data/CategoryNames()")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["@odata.context"].endswith("$metadata#Collection(Edm.String)")
    assert body["value"] == [row[0] for row in sql_rows(catalog_backend, "SELECT name FROM category ORDER BY name")]


def test_bound_function_with_decimal_parameter(catalog_client: TestClient, catalog_backend: Backend) -> None:
    product, price = sql_rows(catalog_backend, "SELECT product_id, price FROM product ORDER BY product_id")[0]
    response = catalog_client.get(f"/data/Products({product})/{NS}.PriceWithTax(rate=0.2)")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["@odata.context"].endswith("$metadata#Edm.Decimal")
    expected = (_money(price) * Decimal("1.2")).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert _money(body["value"]) == expected
    unqualified = catalog_client.get(f"/data/Products({product})/PriceWithTax(rate=0.2)")  # 4.01 default namespace
    assert unqualified.status_code == 200 and _money(unqualified.json()["value"]) == expected


def test_collection_bound_python_function(catalog_client: TestClient, catalog_backend: Backend) -> None:
    response = catalog_client.get(f"/data/Products/{NS}.MostExpensive()", params={"$select": "ID,Price"})
    assert response.status_code == 200, response.text
    assert (response.json()["ID"], _money(response.json()["Price"])) == _top_products(catalog_backend, 1)[0]
    assert response.json()["@odata.context"].endswith("$metadata#Products(ID,Price)/$entity")


@pytest.mark.parametrize(("method", "url", "status", "words"), [
    ("GET", "/data/GetTopProducts(count='x')", 400, "count needs a value of type Edm.Int32"),
    ("GET", "/data/GetTopProducts()", 400, "needs the parameter count"),
    ("GET", "/data/GetTopProducts(count=1,size=2)", 400, "has no parameter size"),
    ("GET", "/data/GetTopProducts(3)", 400, "name each parameter"),
    ("GET", "/data/GetTopProducts(count=99999999999)", 400, "count"),
    ("POST", "/data/GetTopProducts(count=3)", 405, "call it with GET"),
    ("GET", f"/data/Products/{NS}.Discount", 405, "invoke it with POST"),
    ("GET", "/data/GetTopProducts(count=3)/Name", 400, "only /$count"),
    ("GET", f"/data/Categories/{NS}.MostExpensive()", 400, "bound to the collection of Products"),
    ("GET", "/data/MostExpensive()", 400, "bound to Products"),
    ("DELETE", "/data/Company", 405, "cannot be deleted"),
    ("GET", "/data/Company(00000000-0000-0000-0000-000000000001)", 400, "singleton"),
])
def test_refusals(catalog_client: TestClient, method: str, url: str, status: int, words: str) -> None:
    response = catalog_client.request(method, url)
    assert response.status_code == status, response.text
    assert words in response.json()["error"]["message"], response.text


def test_bound_action_writes_through_the_entity(catalog_client: TestClient, catalog_backend: Backend) -> None:
    product, price = sql_rows(catalog_backend, "SELECT product_id, price FROM product ORDER BY product_id")[1]
    etag = catalog_client.get(f"/data/Products({product})").headers["ETag"]
    stale = catalog_client.post(f"/data/Products({product})/{NS}.Discount", json={"percent": 10},
                                headers={"If-Match": 'W/"stale"'})
    assert stale.status_code == 412, stale.text
    bad = catalog_client.post(f"/data/Products({product})/{NS}.Discount", json={"percent": 95})
    assert bad.status_code == 400 and "percent" in bad.text
    response = catalog_client.post(f"/data/Products({product})/{NS}.Discount", json={"percent": 10},
                                   headers={"If-Match": etag})
    assert response.status_code == 200, response.text
    expected = (_money(price) * Decimal("0.9")).quantize(Decimal("0.01"), ROUND_HALF_UP)
    stored = sql_rows(catalog_backend, "SELECT price FROM product WHERE product_id = :id", id=product)[0][0]
    assert _money(stored) == expected == _money(response.json()["Price"])
    assert response.headers["ETag"] != etag
    assert response.json()["@odata.context"].endswith("$metadata#Products/$entity")


def test_action_parameters_are_checked(catalog_client: TestClient, catalog_backend: Backend) -> None:
    product = sql_rows(catalog_backend, "SELECT product_id FROM product ORDER BY product_id")[2][0]
    before = sql_rows(catalog_backend, "SELECT price, row_version FROM product WHERE product_id = :id", id=product)
    for body, words in (({"percent": "ten"}, "percent must be"), ({}, "needs the parameter percent"),
                        ({"percent": 5, "extra": 1}, "has no parameter extra"), ([5], "JSON object")):
        response = catalog_client.post(f"/data/Products({product})/{NS}.Discount", json=body)
        assert response.status_code == 400 and words in response.text, response.text
    assert sql_rows(catalog_backend, "SELECT price, row_version FROM product WHERE product_id = :id", id=product) == before


def test_singleton_reads_and_patches(catalog_client: TestClient, catalog_backend: Backend) -> None:
    response = catalog_client.get("/data/Company")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["@odata.context"].endswith("$metadata#Company")
    row = sql_rows(catalog_backend, "SELECT company_id, name, currency_code FROM company_profile")[0]
    assert (body["ID"], body["Name"], body["CurrencyCode"]) == row
    assert catalog_client.get("/data/Company/Name").json()["value"] == row[1]
    patched = catalog_client.patch("/data/Company", json={"Name": "Contoso Trading"}, headers={"If-Match": response.headers["ETag"]})
    assert patched.status_code == 204, patched.text
    assert sql_rows(catalog_backend, "SELECT name FROM company_profile")[0][0] == "Contoso Trading"
    catalog_client.patch("/data/Company", json={"Name": row[1]})
    document = catalog_client.get("/data/").json()["value"]
    assert {"name": "Company", "kind": "Singleton", "url": "Company"} in document


def test_privileges_decide_who_calls_what(catalog_backend: Backend) -> None:
    with catalog_app_client(catalog_backend) as client:
        reader = bearer("reader", ("DataReader",))
        assert client.get("/data/GetTopProducts(count=1)", headers=reader).status_code == 200
        product = sql_rows(catalog_backend, "SELECT product_id FROM product ORDER BY product_id")[3][0]
        refused = client.post(f"/data/Products({product})/{NS}.Discount", json={"percent": 5}, headers=reader)
        assert refused.status_code == 403 and "update privilege on the action Discount" in refused.text
        metadata = client.get("/data/$metadata", headers=reader).text
        assert 'Function Name="GetTopProducts"' in metadata and 'Action Name="Discount"' not in metadata
        client.app.state.engine.dispose()  # type: ignore[attr-defined]
