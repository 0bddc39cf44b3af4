"""Keys, properties, navigation, $expand, company scoping and JSON formats, against the physical tables."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event, select, update
from starlette.testclient import TestClient

from gateway.demo import schema
from tests import oracle
from tests.conftest import Backend

US001 = "/data/CustomersV3(dataAreaId='usmf',CustomerAccount='US-001')"


@pytest.mark.parametrize(
    "path",
    [
        US001,
        "/data/CustomersV3(CustomerAccount='US-001',dataAreaId='usmf')",
        "/data/CustomersV3(dataAreaId=@a,CustomerAccount=@c)?@a='usmf'&@c='US-001'",
    ],
    ids=["in-order", "any-order", "aliases"],
)
def test_key_lookup(client: TestClient, backend: Backend, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200, response.text
    body = response.json()
    (expected,) = [r for r in oracle.customers(backend.engine, ["usmf"]) if r["CustomerAccount"] == "US-001"]
    assert body["OrganizationName"] == expected["OrganizationName"]
    assert body["@odata.context"].endswith("$metadata#CustomersV3/$entity")
    assert response.headers["etag"] == body["@odata.etag"]


def test_single_key_short_form(client: TestClient) -> None:
    response = client.get("/data/LegalEntities('demf')")
    assert response.status_code == 200, response.text
    assert response.json()["Name"] == "Contoso Germany"


def test_missing_key_is_404(client: TestClient) -> None:
    response = client.get("/data/CustomersV3(dataAreaId='usmf',CustomerAccount='NOPE')")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NotFound"


def test_property_and_value(client: TestClient, backend: Backend) -> None:
    (expected,) = [r for r in oracle.customers(backend.engine, ["usmf"]) if r["CustomerAccount"] == "US-001"]
    response = client.get(US001 + "/OrganizationName")
    assert response.status_code == 200
    assert response.json()["value"] == expected["OrganizationName"]
    raw = client.get(US001 + "/CreditLimit/$value")
    assert raw.headers["content-type"].startswith("text/plain")
    assert Decimal(raw.text) == expected["CreditLimit"]
    enum = client.get(US001 + "/OnHoldStatus/$value")
    assert enum.text == expected["OnHoldStatus"]


def test_collection_navigation_takes_query_options(client: TestClient, backend: Backend) -> None:
    response = client.get(US001 + "/SalesOrders", params={"$select": "SalesOrderNumber", "$orderby": "SalesOrderNumber desc"})
    assert response.status_code == 200, response.text
    expected = sorted(
        (o["SalesOrderNumber"] for o in oracle.sales_orders(backend.engine, ["usmf"]) if o["OrderingCustomerAccountNumber"] == "US-001"),
        reverse=True,
    )
    assert expected, "US-001 has orders in the demo data"
    assert [row["SalesOrderNumber"] for row in response.json()["value"]] == expected
    assert response.json()["@odata.context"].endswith("$metadata#SalesOrderHeadersV2(SalesOrderNumber)")


def test_single_navigation(client: TestClient, backend: Backend) -> None:
    order = oracle.sales_orders(backend.engine, ["usmf"])[0]
    path = f"/data/SalesOrderHeadersV2(dataAreaId='usmf',SalesOrderNumber='{order['SalesOrderNumber']}')/Customer"
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert response.json()["CustomerAccount"] == order["OrderingCustomerAccountNumber"]


def test_expand_is_batched_and_correct(client: TestClient, backend: Backend) -> None:
    statements: list[str] = []
    engine = client.app.state.engine  # type: ignore[attr-defined]

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        response = client.get(
            "/data/SalesOrderHeadersV2",
            params={
                "$top": "40",
                "$select": "SalesOrderNumber",
                "$expand": "SalesOrderLines($filter=LineAmount gt 100;$orderby=LineAmount desc;$top=3;"
                "$select=InventoryLotId,LineAmount;$count=true),Customer($select=CustomerAccount)",
            },
        )
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert response.status_code == 200, response.text
    assert len(statements) <= 4, statements  # page, lines, line counts, customers: never one per order
    lines = [line for line in oracle.sales_lines(backend.engine, ["usmf"]) if line["LineAmount"] > 100]
    orders = {o["SalesOrderNumber"]: o for o in oracle.sales_orders(backend.engine, ["usmf"])}
    rows = response.json()["value"]
    assert len(rows) == min(40, len(orders)) > 10
    for row in rows:
        own = [line for line in lines if line["SalesOrderNumber"] == row["SalesOrderNumber"]]
        own.sort(key=lambda line: line["InventoryLotId"])
        own.sort(key=lambda line: line["LineAmount"], reverse=True)
        assert [line["InventoryLotId"] for line in row["SalesOrderLines"]] == [line["InventoryLotId"] for line in own[:3]]
        assert row["SalesOrderLines@odata.count"] == len(own)
        assert row["Customer"]["CustomerAccount"] == orders[row["SalesOrderNumber"]]["OrderingCustomerAccountNumber"]


def test_nested_expand(client: TestClient, backend: Backend) -> None:
    response = client.get(
        US001,
        params={"$select": "CustomerAccount", "$expand": "SalesOrders($select=SalesOrderNumber;$expand=SalesOrderLines($select=InventoryLotId))"},
    )
    assert response.status_code == 200, response.text
    lines = oracle.sales_lines(backend.engine, ["usmf"])
    orders = response.json()["SalesOrders"]
    assert orders
    for order in orders:
        expected = sorted(line["InventoryLotId"] for line in lines if line["SalesOrderNumber"] == order["SalesOrderNumber"])
        assert [line["InventoryLotId"] for line in order["SalesOrderLines"]] == expected


# ---------------------------------------------------------------------- company scoping
@pytest.mark.parametrize(
    ("params", "companies"),
    [
        ({}, ["usmf"]),
        ({"cross-company": "true"}, ["demf", "usmf", "usrt"]),
        ({"company": "demf"}, ["demf"]),
        ({"cross-company": "true", "$filter": "dataAreaId eq 'usrt'"}, ["usrt"]),
        ({"$filter": "dataAreaId eq 'usrt'"}, []),
    ],
    ids=["default", "cross-company", "chosen", "cross-company-filtered", "filter-cannot-escape"],
)
def test_company_scoping(client: TestClient, backend: Backend, params: dict[str, str], companies: list[str]) -> None:
    response = client.get("/data/CustomersV3", params={**params, "$select": "dataAreaId,CustomerAccount", "$count": "true"})
    assert response.status_code == 200, response.text
    served = sorted((row["dataAreaId"], row["CustomerAccount"]) for row in response.json()["value"])
    expected = sorted((r["dataAreaId"], r["CustomerAccount"]) for r in oracle.customers(backend.engine, companies))
    assert served == expected


def test_key_lookup_outside_the_current_company(client: TestClient) -> None:
    path = "/data/CustomersV3(dataAreaId='demf',CustomerAccount='DE-001')"
    assert client.get(path).status_code == 404
    assert client.get(path, params={"cross-company": "true"}).status_code == 200


def test_navigation_stays_in_company(client: TestClient, backend: Backend) -> None:
    response = client.get("/data/SalesOrderLines", params={"$filter": "SalesOrderHeader/dataAreaId ne 'usmf'", "cross-company": "true", "$top": "5"})
    assert response.status_code == 200
    assert all(row["dataAreaId"] != "usmf" for row in response.json()["value"])


# ---------------------------------------------------------------------- formats
def test_metadata_none_and_full(client: TestClient) -> None:
    none = client.get("/data/CustomersV3", params={"$top": "1"}, headers={"Accept": "application/json;odata.metadata=none"})
    assert none.status_code == 200
    assert "@odata.context" not in none.json()
    assert "@odata.etag" not in none.json()["value"][0]
    assert "odata.metadata=none" in none.headers["content-type"]
    full = client.get("/data/CustomersV3", params={"$top": "1", "$format": "application/json;odata.metadata=full"})
    assert full.status_code == 200
    assert "odata.metadata=full" in full.headers["content-type"]
    row = full.json()["value"][0]
    assert row["@odata.type"] == "#Microsoft.Dynamics.DataEntities.CustomerV3"
    key = f"(dataAreaId='{row['dataAreaId']}',CustomerAccount='{row['CustomerAccount']}')"
    assert row["@odata.id"] == f"http://testserver/data/CustomersV3{key}"
    assert client.get(row["@odata.id"]).json()["CustomerAccount"] == row["CustomerAccount"]


def test_ieee754_compatible_writes_decimals_as_strings(client: TestClient, backend: Backend) -> None:
    response = client.get(US001, headers={"Accept": "application/json;IEEE754Compatible=true"})
    value = response.json()["CreditLimit"]
    assert isinstance(value, str)
    (expected,) = [r for r in oracle.customers(backend.engine, ["usmf"]) if r["CustomerAccount"] == "US-001"]
    assert Decimal(value) == expected["CreditLimit"]


def test_exactly_one_odata_version_header(client: TestClient) -> None:
    for path in ("/data/", "/data/$metadata", "/data/CustomersV3?$top=1", US001, "/data/Nope"):
        response = client.get(path)
        assert response.headers.get_list("odata-version") == ["4.0"], path


def test_etag_changes_when_any_source_row_changes(client: TestClient, backend: Backend) -> None:
    before = client.get(US001).json()["@odata.etag"]
    party, cust = schema.DIRPARTYTABLE, schema.CUSTTABLE
    with backend.engine.begin() as connection:
        party_recid = connection.execute(
            select(cust.c.PARTY).where(cust.c.DATAAREAID == "usmf", cust.c.ACCOUNTNUM == "US-001")
        ).scalar_one()
        connection.execute(update(party).where(party.c.RECID == party_recid).values(RECVERSION=party.c.RECVERSION + 1))
    try:
        after = client.get(US001).json()["@odata.etag"]
        assert after != before
    finally:
        with backend.engine.begin() as connection:
            connection.execute(update(party).where(party.c.RECID == party_recid).values(RECVERSION=party.c.RECVERSION - 1))
    assert client.get(US001).json()["@odata.etag"] == before


def test_expand_star_expands_every_navigation_property(client: TestClient, backend: Backend) -> None:
    response = client.get(US001, params={"$expand": "*", "$select": "CustomerAccount"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["CustomerGroup"]["CustomerGroupId"] == next(
        r["CustomerGroupId"] for r in oracle.customers(backend.engine, ["usmf"]) if r["CustomerAccount"] == "US-001"
    )
    expected = sorted(o["SalesOrderNumber"] for o in oracle.sales_orders(backend.engine, ["usmf"]) if o["OrderingCustomerAccountNumber"] == "US-001")
    assert sorted(order["SalesOrderNumber"] for order in body["SalesOrders"]) == expected


def test_expand_count_and_ref(client: TestClient, backend: Backend) -> None:
    response = client.get(
        "/data/CustomersV3",
        params={"$select": "CustomerAccount", "$expand": "SalesOrders/$count,SalesOrders/$ref", "$top": "15"},
    )
    assert response.status_code == 200, response.text
    orders = oracle.sales_orders(backend.engine, ["usmf"])
    for row in response.json()["value"]:
        own = sorted(o["SalesOrderNumber"] for o in orders if o["OrderingCustomerAccountNumber"] == row["CustomerAccount"])
        assert row["SalesOrders@odata.count"] == len(own)
        ids = [ref["@odata.id"] for ref in row["SalesOrders"]]
        assert ids == [f"http://testserver/data/SalesOrderHeadersV2(dataAreaId='usmf',SalesOrderNumber='{n}')" for n in own]
    first_ref = next(row["SalesOrders"][0]["@odata.id"] for row in response.json()["value"] if row["SalesOrders"])
    assert client.get(first_ref).status_code == 200


def test_levels_on_a_non_recursive_navigation_is_one_level(client: TestClient) -> None:
    one = client.get(US001, params={"$expand": "SalesOrders($select=SalesOrderNumber)", "$select": "CustomerAccount"})
    two = client.get(US001, params={"$expand": "SalesOrders($levels=2;$select=SalesOrderNumber)", "$select": "CustomerAccount"})
    assert one.status_code == two.status_code == 200
    assert one.json()["SalesOrders"] == two.json()["SalesOrders"]
