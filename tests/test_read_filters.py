"""$filter, $orderby, $top/$skip, $count and $select on every backend, against the physical-table oracle."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests import oracle
from tests.conftest import Backend

NS = "Microsoft.Dynamics.DataEntities"
Row = dict[str, Any]


def _orders_by_customer(backend: Backend, predicate: Callable[[Row], bool]) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for order in oracle.sales_orders(backend.engine, ["usmf"]):
        if predicate(order):
            key = (order["dataAreaId"], order["OrderingCustomerAccountNumber"])
            counts[key] = counts.get(key, 0) + 1
    return counts


# (id, $filter, predicate over an oracle customer row; `extra` gives data beyond the row)
CUSTOMER_FILTERS: list[tuple[str, str, Callable[[Row, Any], bool]]] = [
    ("decimal-gt", "CreditLimit gt 100000", lambda r, x: r["CreditLimit"] > 100000),
    ("decimal-eq", "CreditLimit eq 2000", lambda r, x: r["CreditLimit"] == 2000),
    ("decimal-literal", "CreditLimit le 2500.50", lambda r, x: r["CreditLimit"] <= Decimal("2500.50")),
    ("enum-qualified", f"OnHoldStatus eq {NS}.CustVendorBlocked'No'", lambda r, x: r["OnHoldStatus"] == "No"),
    ("enum-ne", f"OnHoldStatus ne {NS}.CustVendorBlocked'No'", lambda r, x: r["OnHoldStatus"] != "No"),
    ("enum-member-string", "OnHoldStatus eq 'Invoice'", lambda r, x: r["OnHoldStatus"] == "Invoice"),
    ("enum-has", f"PartyType has {NS}.DirPartyType'Person'", lambda r, x: r["PartyType"] == "Person"),
    ("contains-percent", "contains(OrganizationName,'50%')", lambda r, x: "50%" in r["OrganizationName"]),
    ("contains-underscore", "contains(OrganizationName,'_')", lambda r, x: "_" in r["OrganizationName"]),
    ("contains-bracket", "contains(OrganizationName,'[')", lambda r, x: "[" in r["OrganizationName"]),
    ("startswith", "startswith(OrganizationName,'Contoso')", lambda r, x: r["OrganizationName"].startswith("Contoso")),
    ("endswith", "endswith(OrganizationName,'Inc.')", lambda r, x: r["OrganizationName"].endswith("Inc.")),
    ("contains-case-sensitive", "contains(OrganizationName,'contoso')", lambda r, x: "contoso" in r["OrganizationName"]),
    ("tolower", "contains(tolower(OrganizationName),'contoso')", lambda r, x: "contoso" in r["OrganizationName"].lower()),
    ("toupper-eq", "toupper(AddressState) eq 'WA'", lambda r, x: (r["AddressState"] or "").upper() == "WA"),
    ("fno-wildcard", "OrganizationName eq '*Outlet*'", lambda r, x: "Outlet" in r["OrganizationName"]),
    ("fno-wildcard-prefix", "OrganizationName eq 'Contoso*'", lambda r, x: r["OrganizationName"].startswith("Contoso")),
    ("fno-wildcard-ne", "OrganizationName ne '*a*'", lambda r, x: "a" not in r["OrganizationName"]),
    ("quote-escape", "OrganizationName eq 'O''Brien & Sons'", lambda r, x: r["OrganizationName"] == "O'Brien & Sons"),
    ("umlaut", "startswith(OrganizationName,'Müller')", lambda r, x: r["OrganizationName"].startswith("Müller")),
    ("in-list", "CustomerGroupId in ('10','20')", lambda r, x: r["CustomerGroupId"] in ("10", "20")),
    ("in-single", "CustomerGroupId in ('30')", lambda r, x: r["CustomerGroupId"] == "30"),
    ("eq-null", "AddressCity eq null", lambda r, x: r["AddressCity"] is None),
    ("ne-null", "AddressCity ne null", lambda r, x: r["AddressCity"] is not None),
    ("ne-keeps-null", "AddressCity ne 'Seattle'", lambda r, x: r["AddressCity"] != "Seattle"),
    ("gt-drops-null", "AddressCity gt 'M'", lambda r, x: r["AddressCity"] is not None and r["AddressCity"] > "M"),
    (
        "and-or-parens",
        f"(CreditLimit ge 1000 and CreditLimit le 5000) or OnHoldStatus eq {NS}.CustVendorBlocked'All'",
        lambda r, x: 1000 <= r["CreditLimit"] <= 5000 or r["OnHoldStatus"] == "All",
    ),
    ("not", "not (CustomerGroupId eq '10')", lambda r, x: r["CustomerGroupId"] != "10"),
    ("not-contains", "not contains(OrganizationName,'e')", lambda r, x: "e" not in r["OrganizationName"]),
    (
        "datetimeoffset",
        "CreatedDateTime lt 2020-01-01T00:00:00Z",
        lambda r, x: r["CreatedDateTime"] < dt.datetime(2020, 1, 1),
    ),
    (
        "datetimeoffset-with-offset",
        "CreatedDateTime ge 2021-06-01T02:00:00+02:00",
        lambda r, x: r["CreatedDateTime"] >= dt.datetime(2021, 6, 1),
    ),
    ("year", "year(CreatedDateTime) eq 2019", lambda r, x: r["CreatedDateTime"].year == 2019),
    ("nav-single", "CustomerGroup/Description eq 'Wholesale customers'", lambda r, x: r["GroupDescription"] == "Wholesale customers"),
    ("nav-any", f"SalesOrders/any(o:o/SalesOrderStatus eq {NS}.SalesStatus'Invoiced')", lambda r, x: x["invoiced"].get((r["dataAreaId"], r["CustomerAccount"]), 0) > 0),
    ("nav-all", f"SalesOrders/all(o:o/SalesOrderStatus eq {NS}.SalesStatus'Invoiced')", lambda r, x: x["all"].get((r["dataAreaId"], r["CustomerAccount"]), 0) == x["invoiced"].get((r["dataAreaId"], r["CustomerAccount"]), 0)),
    ("nav-count", "SalesOrders/$count gt 1", lambda r, x: x["all"].get((r["dataAreaId"], r["CustomerAccount"]), 0) > 1),
    ("arithmetic", "CreditLimit mul 2 gt 300000", lambda r, x: r["CreditLimit"] * 2 > 300000),
    ("length", "length(CustomerAccount) eq 6", lambda r, x: len(r["CustomerAccount"]) == 6),
    ("length-counts-characters", "length(OrganizationName) eq 11", lambda r, x: len(r["OrganizationName"]) == 11),
    ("indexof-found", "indexof(OrganizationName,'Outlet') ge 0", lambda r, x: "Outlet" in r["OrganizationName"]),
    ("indexof-position", "indexof(OrganizationName,'o') eq 1", lambda r, x: r["OrganizationName"].find("o") == 1),
    ("substring-from", "substring(CustomerAccount,3) eq '002'", lambda r, x: r["CustomerAccount"][3:] == "002"),
    ("substring-length", "substring(OrganizationName,1,3) eq 'ont'", lambda r, x: r["OrganizationName"][1:4] == "ont"),
    ("matches-pattern", "matchesPattern(OrganizationName,'^C.*s$')", lambda r, x: re.search("^C.*s$", r["OrganizationName"]) is not None),
    (
        "concat-nested",
        "concat(concat(CustomerAccount,'/'),CustomerGroupId) eq 'US-001/30'",
        lambda r, x: f"{r['CustomerAccount']}/{r['CustomerGroupId']}" == "US-001/30",
    ),
    ("trim", "trim(OrganizationName) eq OrganizationName", lambda r, x: r["OrganizationName"].strip() == r["OrganizationName"]),
    ("date", "date(CreatedDateTime) lt 2020-01-01", lambda r, x: r["CreatedDateTime"].date() < dt.date(2020, 1, 1)),
    ("time", "time(CreatedDateTime) lt 12:00:00", lambda r, x: r["CreatedDateTime"].time() < dt.time(12)),
    ("hour-second", "hour(CreatedDateTime) ge 12 and second(CreatedDateTime) lt 30", lambda r, x: r["CreatedDateTime"].hour >= 12 and r["CreatedDateTime"].second < 30),
    ("fractionalseconds", "fractionalseconds(CreatedDateTime) eq 0", lambda r, x: r["CreatedDateTime"].microsecond == 0),
    ("totaloffsetminutes", "totaloffsetminutes(CreatedDateTime) eq 0", lambda r, x: True),
    ("now", "CreatedDateTime lt now() and CreatedDateTime gt mindatetime()", lambda r, x: True),
    ("floor", "floor(CreditLimit) eq CreditLimit", lambda r, x: r["CreditLimit"] == int(r["CreditLimit"])),
    ("ceiling", "ceiling(CreditLimit) gt CreditLimit", lambda r, x: r["CreditLimit"] != int(r["CreditLimit"])),
    ("round", "round(CreditLimit) ge 100000", lambda r, x: r["CreditLimit"].quantize(Decimal(1), "ROUND_HALF_UP") >= 100000),
    ("decimal-div", "CreditLimit div 3 gt 50000", lambda r, x: r["CreditLimit"] / 3 > 50000),
    ("integer-div", "length(OrganizationName) div 4 eq 3", lambda r, x: len(r["OrganizationName"]) // 4 == 3),
    ("integer-mod", "length(OrganizationName) mod 2 eq 0", lambda r, x: len(r["OrganizationName"]) % 2 == 0),
    ("cast-truncates", "cast(CreditLimit,Edm.Int32) eq 2000", lambda r, x: int(r["CreditLimit"]) == 2000),
    ("isof", "isof(OrganizationName,Edm.String) and not isof(CreditLimit,Edm.String)", lambda r, x: True),
    ("root", "CreditLimit lt $root/CustomersV3(dataAreaId='usmf',CustomerAccount='US-001')/CreditLimit", lambda r, x: r["CreditLimit"] < Decimal(2000)),
    ("enum-in", "OnHoldStatus in ('Invoice','All')", lambda r, x: r["OnHoldStatus"] in ("Invoice", "All")),
    ("lambda-it", "SalesOrders/any(o:o/OrderingCustomerAccountNumber eq $it/CustomerAccount)", lambda r, x: x["all"].get((r["dataAreaId"], r["CustomerAccount"]), 0) > 0),
]


@pytest.fixture(scope="module")
def extra(backend: Backend) -> dict[str, Any]:
    return {
        "invoiced": _orders_by_customer(backend, lambda o: o["SalesOrderStatus"] == "Invoiced"),
        "all": _orders_by_customer(backend, lambda o: True),
    }


def _keys(rows: list[Row]) -> list[tuple[str, str]]:
    return [(row["dataAreaId"], row["CustomerAccount"]) for row in rows]


@pytest.mark.parametrize(("filter_text", "predicate"), [c[1:] for c in CUSTOMER_FILTERS], ids=[c[0] for c in CUSTOMER_FILTERS])
def test_customer_filter_matches_oracle(
    client: TestClient, backend: Backend, extra: dict[str, Any], filter_text: str, predicate: Callable[[Row, Any], bool]
) -> None:
    response = client.get(
        "/data/CustomersV3",
        params={"$filter": filter_text, "$select": "dataAreaId,CustomerAccount", "$count": "true"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    expected = sorted(_keys([row for row in oracle.customers(backend.engine, ["usmf"]) if predicate(row, extra)]))
    assert sorted(_keys(body["value"])) == expected
    assert body["@odata.count"] == len(expected)


def test_filters_are_not_vacuous(backend: Backend, extra: dict[str, Any]) -> None:
    """Most filters select some but not all rows of the demo data, so the comparisons above mean something."""
    rows = oracle.customers(backend.engine, ["usmf"])
    informative = 0
    for _, _, predicate in CUSTOMER_FILTERS:
        hits = sum(1 for row in rows if predicate(row, extra))
        informative += 0 < hits < len(rows)
    assert informative >= len(CUSTOMER_FILTERS) - 12


def test_parameter_alias(client: TestClient, backend: Backend) -> None:
    response = client.get(
        "/data/CustomersV3", params={"$filter": "CreditLimit gt @limit", "@limit": "250000", "$select": "CustomerAccount"}
    )
    assert response.status_code == 200, response.text
    expected = sorted(r["CustomerAccount"] for r in oracle.customers(backend.engine, ["usmf"]) if r["CreditLimit"] > 250000)
    assert sorted(row["CustomerAccount"] for row in response.json()["value"]) == expected


ORDERINGS = [
    ("city-desc-credit", "AddressCity desc,CreditLimit", lambda r: r),
    ("credit-desc", "CreditLimit desc", lambda r: r),
    ("name", "OrganizationName", lambda r: r),
]


def _sort_oracle(rows: list[Row], orderby: str) -> list[Row]:
    """Plain-Python OData ordering: nulls first ascending, last descending; the key breaks ties."""
    ordered = sorted(rows, key=lambda r: (r["dataAreaId"], r["CustomerAccount"]))
    for item in reversed(orderby.split(",")):
        name, _, direction = item.partition(" ")
        descending = direction == "desc"
        ordered.sort(key=lambda r: oracle.sort_key_nulls_first(r[name]), reverse=descending)
    return ordered


@pytest.mark.parametrize("orderby", ["AddressCity desc,CreditLimit", "CreditLimit desc", "OrganizationName", "AddressCity"])
def test_orderby_matches_plain_python_sort(client: TestClient, backend: Backend, orderby: str) -> None:
    response = client.get("/data/CustomersV3", params={"$orderby": orderby, "$select": "CustomerAccount"})
    assert response.status_code == 200, response.text
    expected = _sort_oracle(oracle.customers(backend.engine, ["usmf"]), orderby)
    assert [row["CustomerAccount"] for row in response.json()["value"]] == [r["CustomerAccount"] for r in expected]


def test_orderby_through_navigation(client: TestClient, backend: Backend) -> None:
    response = client.get(
        "/data/CustomersV3", params={"$orderby": "CustomerGroup/Description desc", "$select": "CustomerAccount"}
    )
    assert response.status_code == 200, response.text
    rows = sorted(oracle.customers(backend.engine, ["usmf"]), key=lambda r: r["CustomerAccount"])
    rows.sort(key=lambda r: r["GroupDescription"], reverse=True)
    assert [row["CustomerAccount"] for row in response.json()["value"]] == [r["CustomerAccount"] for r in rows]


@pytest.mark.parametrize(("skip", "top"), [(0, 5), (10, 7), (3, 0), (1000, 5)])
def test_top_and_skip(client: TestClient, backend: Backend, skip: int, top: int) -> None:
    response = client.get(
        "/data/CustomersV3", params={"$skip": str(skip), "$top": str(top), "$select": "CustomerAccount", "$count": "true"}
    )
    assert response.status_code == 200, response.text
    accounts = sorted(r["CustomerAccount"] for r in oracle.customers(backend.engine, ["usmf"]))
    body = response.json()
    assert [row["CustomerAccount"] for row in body["value"]] == accounts[skip : skip + top]
    assert body["@odata.count"] == len(accounts)
    assert "@odata.nextLink" not in body


def test_count_segment(client: TestClient, backend: Backend) -> None:
    response = client.get("/data/SalesOrderLines/$count", params={"$filter": "LineAmount gt 1000"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    expected = sum(1 for r in oracle.sales_lines(backend.engine, ["usmf"]) if r["LineAmount"] > 1000)
    assert int(response.text) == expected


def test_select_returns_exactly_the_selected_properties(client: TestClient) -> None:
    response = client.get("/data/CustomersV3", params={"$select": "CreditLimit,CustomerAccount", "$top": "3"})
    assert response.status_code == 200
    for row in response.json()["value"]:
        assert set(row) == {"@odata.etag", "CustomerAccount", "CreditLimit"}
    assert response.json()["@odata.context"].endswith("$metadata#CustomersV3(CustomerAccount,CreditLimit)")


def test_values_are_serialized_per_type(client: TestClient, backend: Backend) -> None:
    response = client.get("/data/CustomersV3(dataAreaId='usmf',CustomerAccount='US-001')")
    assert response.status_code == 200, response.text
    body = response.json()
    (expected,) = [r for r in oracle.customers(backend.engine, ["usmf"]) if r["CustomerAccount"] == "US-001"]
    assert body["CreatedDateTime"] == oracle.as_utc_text(expected["CreatedDateTime"])
    assert Decimal(str(body["CreditLimit"])) == expected["CreditLimit"]
    assert body["OnHoldStatus"] == expected["OnHoldStatus"]
    assert body["PartyType"] == expected["PartyType"]
    orders = client.get("/data/SalesOrderHeadersV2", params={"$top": "1", "$select": "SalesOrderNumber,RequestedShippingDate"})
    first = orders.json()["value"][0]
    (order,) = [o for o in oracle.sales_orders(backend.engine, ["usmf"]) if o["SalesOrderNumber"] == first["SalesOrderNumber"]]
    assert first["RequestedShippingDate"] == order["RequestedShippingDate"].isoformat()


def test_compute_can_be_selected_filtered_and_sorted(client: TestClient, backend: Backend) -> None:
    response = client.get(
        "/data/CustomersV3",
        params={
            "$compute": "CreditLimit mul 2 as DoubleLimit,length(OrganizationName) as NameLength",
            "$select": "CustomerAccount,DoubleLimit,NameLength",
            "$filter": "DoubleLimit gt 200000",
            "$orderby": "NameLength desc,CustomerAccount",
        },
    )
    assert response.status_code == 200, response.text
    rows = [r for r in oracle.customers(backend.engine, ["usmf"]) if r["CreditLimit"] * 2 > 200000]
    rows.sort(key=lambda r: r["CustomerAccount"])
    rows.sort(key=lambda r: len(r["OrganizationName"]), reverse=True)
    body = response.json()["value"]
    assert [row["CustomerAccount"] for row in body] == [r["CustomerAccount"] for r in rows]
    assert [Decimal(str(row["DoubleLimit"])) for row in body] == [r["CreditLimit"] * 2 for r in rows]
    assert [row["NameLength"] for row in body] == [len(r["OrganizationName"]) for r in rows]
    assert response.json()["@odata.context"].endswith("#CustomersV3(CustomerAccount,DoubleLimit,NameLength)")
