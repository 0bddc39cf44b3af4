"""Server-driven paging: walking @odata.nextLink yields every row exactly once, even under concurrent change."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, insert, select
from starlette.testclient import TestClient

from gateway.demo import schema
from tests import oracle
from tests.conftest import Backend, make_client


def _walk(client: TestClient, url: str, params: dict[str, str], page_size: int) -> list[list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = []
    response = client.get(url, params=params, headers={"Prefer": f"odata.maxpagesize={page_size}"})
    while True:
        assert response.status_code == 200, response.text
        assert response.headers["preference-applied"] == f"odata.maxpagesize={page_size}"
        body = response.json()
        pages.append(body["value"])
        next_link = body.get("@odata.nextLink")
        if next_link is None:
            return pages
        assert len(pages) < 1000, "runaway paging"
        response = client.get(next_link, headers={"Prefer": f"odata.maxpagesize={page_size}"})


@pytest.mark.parametrize(
    "orderby", [None, "LineAmount desc", "ItemNumber,LineNumber desc"], ids=["key", "amount-desc", "item-line"]
)
def test_next_links_yield_every_row_once(client: TestClient, backend: Backend, orderby: str | None) -> None:
    params = {"$select": "InventoryLotId,LineAmount", "cross-company": "true"}
    if orderby:
        params["$orderby"] = orderby
    pages = _walk(client, "/data/SalesOrderLines", params, 997)
    served = [(row["InventoryLotId"]) for page in pages for row in page]
    expected = oracle.sales_lines(backend.engine, ["demf", "usmf", "usrt"])
    assert len(pages) == -(-len(expected) // 997)
    assert all(len(page) == 997 for page in pages[:-1])
    assert len(served) == len(expected)
    assert sorted(served) == sorted(row["InventoryLotId"] for row in expected)  # lots repeat across companies
    if orderby == "LineAmount desc":
        amounts = [row["LineAmount"] for page in pages for row in page]
        assert amounts == sorted(amounts, reverse=True)


def test_paging_with_nullable_sort_key(client: TestClient, backend: Backend) -> None:
    """AddressCity is null for customers without an address: nulls must not be lost or repeated."""
    for orderby in ("AddressCity", "AddressCity desc"):
        pages = _walk(client, "/data/CustomersV3", {"$orderby": orderby, "$select": "CustomerAccount,AddressCity"}, 7)
        served = [row["CustomerAccount"] for page in pages for row in page]
        expected = oracle.customers(backend.engine, ["usmf"])
        assert sorted(served) == sorted(row["CustomerAccount"] for row in expected)
        assert len(served) == len(set(served))
        cities = [row["AddressCity"] for page in pages for row in page]
        nulls_at = [index for index, city in enumerate(cities) if city is None]
        assert nulls_at, "the demo data has customers without an address"
        if orderby == "AddressCity":
            assert nulls_at == list(range(len(nulls_at)))
        else:
            assert nulls_at == list(range(len(cities) - len(nulls_at), len(cities)))


def test_top_spanning_pages(client: TestClient, backend: Backend) -> None:
    pages = _walk(client, "/data/SalesOrderLines", {"$top": "1200", "$select": "InventoryLotId"}, 500)
    assert [len(page) for page in pages] == [500, 500, 200]
    expected = sorted(row["InventoryLotId"] for row in oracle.sales_lines(backend.engine, ["usmf"]))[:1200]
    assert [row["InventoryLotId"] for page in pages for row in page] == expected


def test_server_page_limit_applies_without_prefer(backend: Backend) -> None:
    with make_client(backend, max_page_size=250) as small:
        response = small.get("/data/SalesOrderLines", params={"$select": "InventoryLotId"})
        body = response.json()
        assert len(body["value"]) == 250
        assert "@odata.nextLink" in body
        assert "preference-applied" not in response.headers
        small.app.state.engine.dispose()  # type: ignore[attr-defined]


def test_keyset_survives_inserts_and_deletes_between_pages(client: TestClient, backend: Backend) -> None:
    """Rows already served stay served; rows deleted ahead disappear; rows inserted ahead appear; none twice."""
    lines = schema.SALESLINE
    with backend.engine.begin() as connection:
        template = dict(connection.execute(select(lines).where(lines.c.DATAAREAID == "usmf").limit(1)).one()._mapping)
    params = {"$select": "InventoryLotId", "$orderby": "InventoryLotId"}
    first = client.get("/data/SalesOrderLines", params=params, headers={"Prefer": "odata.maxpagesize=100"}).json()
    served = [row["InventoryLotId"] for row in first["value"]]
    all_lots = sorted(row["InventoryLotId"] for row in oracle.sales_lines(backend.engine, ["usmf"]))
    deleted_ahead, deleted_behind = all_lots[150], all_lots[10]
    inserted_ahead, inserted_behind = "LOT-9999999", "LOT-0000000"
    with backend.engine.begin() as connection:
        saved = [
            dict(row._mapping)
            for row in connection.execute(
                select(lines).where(lines.c.DATAAREAID == "usmf", lines.c.INVENTTRANSID.in_([deleted_ahead, deleted_behind]))
            )
        ]
        connection.execute(delete(lines).where(lines.c.DATAAREAID == "usmf", lines.c.INVENTTRANSID.in_([deleted_ahead, deleted_behind])))
        for recid, lot in ((999999000001, inserted_ahead), (999999000002, inserted_behind)):
            connection.execute(insert(lines).values({**template, "RECID": recid, "INVENTTRANSID": lot}))
    try:
        next_link = first["@odata.nextLink"]
        while next_link:
            body = client.get(next_link, headers={"Prefer": "odata.maxpagesize=100"}).json()
            served.extend(row["InventoryLotId"] for row in body["value"])
            next_link = body.get("@odata.nextLink")
    finally:
        with backend.engine.begin() as connection:
            connection.execute(delete(lines).where(lines.c.RECID.in_([999999000001, 999999000002])))
            connection.execute(insert(lines), saved)
    expected = [lot for lot in all_lots if lot != deleted_ahead] + [inserted_ahead]
    assert served == expected
    assert inserted_behind not in served


def test_skiptoken_is_bound_to_its_query(client: TestClient) -> None:
    body = client.get("/data/SalesOrderLines", headers={"Prefer": "odata.maxpagesize=10"}).json()
    token = body["@odata.nextLink"].split("$skiptoken=")[1]
    response = client.get("/data/SalesOrderLines", params={"$skiptoken": token, "$orderby": "LineAmount"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "InvalidSkipToken"
