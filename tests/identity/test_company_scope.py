"""Company scoping on every read path, on every database: a principal's answers hold exactly the rows of
the companies it may see, compared with hand-written SQL over the physical tables (tests/oracle.py)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from gateway.demo import schema
from tests import oracle
from tests.conftest import Backend, bearer, make_client
from tests.identity.policy import Policy, write_security

ROLES: dict[str, Any] = {
    "CsCustomers": {"privileges": {"fno:CustomersV3": ["read"], "fno:CustomerGroups": ["read"]}},
    "CsOrders": {"privileges": {"fno:SalesOrderHeadersV2": ["read"], "fno:SalesOrderLines": ["read"]}},
}
USERS: list[dict[str, Any]] = [
    {"id": "usmf-only", "roles": ["CsCustomers", "CsOrders"], "companies": ["usmf"]},
    {"id": "pair", "roles": [{"role": "CsCustomers", "companies": ["usmf", "usrt"]},
                             {"role": "CsOrders", "companies": ["usmf"]}]},
    {"id": "split", "roles": [{"role": "CsCustomers", "companies": ["usmf"]},
                              {"role": "CsOrders", "companies": ["usrt"]}]},
]
MODES: list[tuple[str | None, bool]] = [("usmf", False), ("usrt", False), (None, True)]


def _mode_id(mode: tuple[str | None, bool]) -> str:
    return "cross-company" if mode[1] else f"company-{mode[0]}"


CASES = [pytest.param(user, mode, id=f"{user['id']}-{_mode_id(mode)}") for user in USERS for mode in MODES]


@pytest.fixture(scope="module")
def scoped(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Policy]]:
    folder = write_security(tmp_path_factory.mktemp(f"scope-security-{backend.name}"), ROLES, USERS)
    with backend.engine.connect() as connection:
        companies = tuple(sorted(row[0] for row in connection.execute(select(schema.DATAAREA.c.ID))))
    with make_client(backend, headers={}, security=str(folder)) as client:
        yield client, Policy(ROLES, companies)
        client.app.state.engine.dispose()  # type: ignore[attr-defined]


def _query(mode: tuple[str | None, bool], *options: str) -> str:
    company, cross = mode
    parts = ([f"company={company}"] if company else []) + (["cross-company=true"] if cross else []) + list(options)
    return "?" + "&".join(parts)


def _all_rows(client: TestClient, url: str, headers: dict[str, str]) -> tuple[int, list[dict[str, Any]]]:
    response = client.get(url, headers=headers)
    if response.status_code != 200:
        return response.status_code, []
    body = response.json()
    rows = list(body["value"])
    while "@odata.nextLink" in body:
        body = client.get(body["@odata.nextLink"], headers=headers).json()
        rows += body["value"]
    return 200, rows


@pytest.mark.parametrize(("user", "mode"), CASES)
def test_collections_counts_and_filters(scoped: tuple[TestClient, Policy], backend: Backend,
                                        user: dict[str, Any], mode: tuple[str | None, bool]) -> None:
    client, policy = scoped
    headers = bearer(user["id"], roles=())
    sources = {"CustomersV3": (oracle.customers, "CustomerAccount"),
               "SalesOrderHeadersV2": (oracle.sales_orders, "SalesOrderNumber"),
               "SalesOrderLines": (oracle.sales_lines, "InventoryLotId")}
    for entity_set, (rows_of, key) in sources.items():
        readable = policy.readable(user, entity_set, *mode)
        expected = Counter(row["dataAreaId"] for row in rows_of(backend.engine, readable or ()))
        count = client.get(f"/data/{entity_set}/$count" + _query(mode), headers=headers)
        grouped = client.get(f"/data/{entity_set}" + _query(mode, "$apply=groupby((dataAreaId),aggregate($count as n))"),
                             headers=headers)
        if readable is None:
            assert (count.status_code, grouped.status_code) == (403, 403), (entity_set, count.text)
            continue
        assert int(count.text) == sum(expected.values()), entity_set
        assert {row["dataAreaId"]: row["n"] for row in grouped.json()["value"]} == dict(expected), entity_set
        for hidden in sorted(set(policy.every_company) - set(readable)):
            filtered = client.get(f"/data/{entity_set}/$count" + _query(mode, f"$filter=dataAreaId eq '{hidden}'"),
                                  headers=headers)
            assert filtered.text == "0", (entity_set, hidden)
        if entity_set == "CustomersV3":
            status, rows = _all_rows(client, f"/data/{entity_set}" + _query(mode, f"$select=dataAreaId,{key}"), headers)
            wanted = {(row["dataAreaId"], row[key]) for row in rows_of(backend.engine, readable)}
            assert status == 200 and {(row["dataAreaId"], row[key]) for row in rows} == wanted


@pytest.mark.parametrize(("user", "mode"), CASES)
def test_expand_navigation_and_groupby_through_navigation(scoped: tuple[TestClient, Policy], backend: Backend,
                                                          user: dict[str, Any], mode: tuple[str | None, bool]) -> None:
    client, policy = scoped
    headers = bearer(user["id"], roles=())
    customers_in = policy.readable(user, "CustomersV3", *mode)
    orders_in = policy.readable(user, "SalesOrderHeadersV2", *mode)
    lines_in = policy.readable(user, "SalesOrderLines", *mode)
    orders = oracle.sales_orders(backend.engine, orders_in or ())
    by_customer: dict[tuple[str, str], set[str]] = {}
    for order in orders:
        by_customer.setdefault((order["dataAreaId"], order["OrderingCustomerAccountNumber"]), set()).add(
            order["SalesOrderNumber"])

    # $expand: the orders of each visible customer, only in companies whose orders are visible
    expand = "$select=dataAreaId,CustomerAccount&$expand=SalesOrders($select=dataAreaId,SalesOrderNumber)"
    status, rows = _all_rows(client, "/data/CustomersV3" + _query(mode, expand), headers)
    if customers_in is None or orders_in is None:
        assert status == 403
    else:
        assert status == 200 and {row["dataAreaId"] for row in rows} <= set(customers_in)
        for row in rows:
            got = {order["SalesOrderNumber"] for order in row["SalesOrders"]}
            assert {order["dataAreaId"] for order in row["SalesOrders"]} <= set(orders_in)
            assert got == by_customer.get((row["dataAreaId"], row["CustomerAccount"]), set()), row["CustomerAccount"]

    # navigation segments: /CustomersV3(key)/SalesOrders for a customer with orders in each company
    for company in policy.every_company:
        owners = sorted(owner for owner in by_customer if owner[0] == company) or sorted(
            (row["dataAreaId"], row["CustomerAccount"]) for row in oracle.customers(backend.engine, (company,)))[:1]
        if not owners:
            continue
        area, account = owners[0]
        response = client.get(f"/data/CustomersV3(dataAreaId='{area}',CustomerAccount='{account}')/SalesOrders"
                              + _query(mode, "$select=dataAreaId,SalesOrderNumber"), headers=headers)
        if customers_in is None:
            assert response.status_code == 403
        elif area not in customers_in:
            assert response.status_code == 404  # the parent is outside the caller's companies
        elif orders_in is None:
            assert response.status_code == 403
        else:
            assert response.status_code == 200
            assert {row["SalesOrderNumber"] for row in response.json()["value"]} == by_customer.get((area, account), set())

    # $apply groupby through navigation: lines by their header's customer (null where the header is hidden)
    apply = "$apply=groupby((dataAreaId,SalesOrderHeader/OrderingCustomerAccountNumber),aggregate($count as n))"
    response = client.get("/data/SalesOrderLines" + _query(mode, apply), headers=headers)
    if lines_in is None or orders_in is None:
        assert response.status_code == 403
        return
    header_of = {(order["dataAreaId"], order["SalesOrderNumber"]): order["OrderingCustomerAccountNumber"]
                 for order in orders}
    expected = Counter((line["dataAreaId"], header_of.get((line["dataAreaId"], line["SalesOrderNumber"])))
                       for line in oracle.sales_lines(backend.engine, lines_in))
    got = {(row["dataAreaId"], row["SalesOrderHeader"]["OrderingCustomerAccountNumber"]): row["n"]
           for row in response.json()["value"]}
    assert got == dict(expected)


@pytest.mark.parametrize(("user", "mode"), CASES)
def test_batch_gets_are_scoped_alike(scoped: tuple[TestClient, Policy], backend: Backend,
                                     user: dict[str, Any], mode: tuple[str | None, bool]) -> None:
    client, policy = scoped
    headers = bearer(user["id"], roles=())
    urls = {name: name + _query(mode, "$apply=groupby((dataAreaId),aggregate($count as n))")
            for name in ("CustomersV3", "SalesOrderHeadersV2", "SalesOrderLines")}
    batch = {"requests": [{"id": name, "method": "GET", "url": url} for name, url in urls.items()]}
    response = client.post("/data/$batch", json=batch, headers={**headers, "Prefer": "odata.continue-on-error"})
    assert response.status_code == 200, response.text
    answers = {item["id"]: item for item in response.json()["responses"]}
    rows_of = {"CustomersV3": oracle.customers, "SalesOrderHeadersV2": oracle.sales_orders,
               "SalesOrderLines": oracle.sales_lines}
    for name in urls:
        readable = policy.readable(user, name, *mode)
        if readable is None:
            assert answers[name]["status"] == 403, name
            continue
        expected = Counter(row["dataAreaId"] for row in rows_of[name](backend.engine, readable))
        assert answers[name]["status"] == 200
        assert {row["dataAreaId"]: row["n"] for row in answers[name]["body"]["value"]} == dict(expected), name


@pytest.mark.parametrize(("user", "mode"), CASES)
def test_root_reaches_no_row_of_a_hidden_company(scoped: tuple[TestClient, Policy], backend: Backend,
                                                 user: dict[str, Any], mode: tuple[str | None, bool]) -> None:
    """$root/CustomersV3(key)/... names a customer of each company: a value only where the caller sees it."""
    client, policy = scoped
    headers = bearer(user["id"], roles=())
    readable = policy.readable(user, "CustomersV3", *mode)
    for company in policy.every_company:
        account = min(row["CustomerAccount"] for row in oracle.customers(backend.engine, (company,)))
        root = f"$root/CustomersV3(dataAreaId='{company}',CustomerAccount='{account}')/CustomerAccount"
        response = client.get("/data/CustomersV3/$count" + _query(mode, f"$filter=CustomerAccount eq {root}"),
                              headers=headers)
        if readable is None:
            assert response.status_code == 403
        else:
            assert response.text == ("1" if company in readable else "0"), (company, response.text)
