"""python-odata (PyPI `python-odata`, import name `odata`) against a served gateway, used as its README shows.

The service is reflected from our $metadata (`ODataService(url, session=..., reflect_entities=True)`);
queries go through its query builder, navigation through its lazy navigation properties, the update
through `service.save`. Every expectation is hand-written SQL over the physical tables (tests/oracle.py).

Known python-odata limitations this file works around (its bugs, not ours; 0.8.1):
- `EnumTypeProperty.escape_value` writes every enum literal as `Microsoft.Dynamics.DataEntities.<Enum>'<member>'`
  whatever the schema's namespace (right for /data, whose namespace that is; /api/data/v9.2 has no enum
  types), and it
  takes only enum members: `Customer.OnHoldStatus == 'No'` raises AttributeError, so the tests compare
  with `OnHoldStatus.enum_class['No']`.
- Properties of types it does not map (Edm.Date, Edm.Int64 ...) come back as plain strings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, update

from gateway.demo import schema
from tests import oracle
from tests.clients.conftest import Served, python_odata
from tests.contract import FNO_ENTITY_SETS

ENTITY_SETS = set(FNO_ENTITY_SETS)
COMPANY = "usmf"  # the gateway's default company: what a caller sees without cross-company=true


@pytest.fixture(scope="module")
def service(served: Served) -> Iterator[Any]:
    with python_odata(served.data, served.token) as reflected:
        yield reflected


def _customers(served: Served) -> list[dict[str, Any]]:
    return oracle.customers(served.engine, [COMPANY])


def _keys(entity_class: Any) -> set[str]:
    return {prop["name"] for prop in entity_class.__odata_schema__["properties"] if prop["is_primary_key"]}


def test_reflects_every_entity_set_with_its_keys(service: Any) -> None:
    assert set(service.entities) == ENTITY_SETS
    customer = service.entities["CustomersV3"]
    assert _keys(customer) == {"dataAreaId", "CustomerAccount"}
    assert _keys(service.entities["SalesOrderLines"]) == {"dataAreaId", "InventoryLotId"}
    assert customer.OnHoldStatus.enum_class.__members__.keys() == set(oracle.CUST_VENDOR_BLOCKED.values())


def test_filter_order_top(service: Any, served: Served) -> None:
    Customer = service.entities["CustomersV3"]
    rows = _customers(served)
    threshold = sorted(row["CreditLimit"] for row in rows)[len(rows) // 3]  # a third of them at or below
    query = (
        service.query(Customer)
        .filter(Customer.CreditLimit > threshold)
        .order_by(Customer.CreditLimit.desc(), Customer.CustomerAccount.asc())
        .limit(7)
    )
    got = [(c.CustomerAccount, c.CreditLimit, c.OnHoldStatus.name, c.CreatedDateTime) for c in query]
    expected_rows = sorted(
        (row for row in rows if row["CreditLimit"] > threshold),
        key=lambda r: (-r["CreditLimit"], r["CustomerAccount"]),
    )[:7]
    expected = [
        (
            r["CustomerAccount"],
            r["CreditLimit"],
            r["OnHoldStatus"],
            r["CreatedDateTime"].replace(tzinfo=dt.UTC),
        )
        for r in expected_rows
    ]
    assert len(expected) == 7
    assert got == expected
    assert all(isinstance(c[1], Decimal) for c in got)


def test_string_function_and_enum_filter(service: Any, served: Served) -> None:
    Customer = service.entities["CustomersV3"]
    no = Customer.OnHoldStatus.enum_class["No"]
    query = (
        service.query(Customer)
        .filter(Customer.OrganizationName.startswith("C") | (Customer.OnHoldStatus != no))
        .order_by(Customer.CustomerAccount.asc())
    )
    got = [c.CustomerAccount for c in query]
    expected = sorted(
        row["CustomerAccount"] for row in _customers(served)
        if row["OrganizationName"].startswith("C") or row["OnHoldStatus"] != "No"
    )  # fmt: skip
    assert expected and got == expected


def test_navigation_both_ways(service: Any, served: Served) -> None:
    orders = oracle.sales_orders(served.engine, [COMPANY])
    per_customer: dict[str, list[str]] = {}
    for order in orders:
        per_customer.setdefault(order["OrderingCustomerAccountNumber"], []).append(order["SalesOrderNumber"])
    account = max(sorted(per_customer), key=lambda name: len(per_customer[name]))
    assert len(per_customer[account]) >= 2

    Customer = service.entities["CustomersV3"]
    customer = service.query(Customer).filter(Customer.CustomerAccount == account).first()
    assert sorted(o.SalesOrderNumber for o in customer.SalesOrders) == sorted(per_customer[account])
    statuses = {o.SalesOrderNumber: o.SalesOrderStatus.name for o in customer.SalesOrders}
    assert statuses == {o["SalesOrderNumber"]: o["SalesOrderStatus"] for o in orders
                        if o["OrderingCustomerAccountNumber"] == account}  # fmt: skip

    Order = service.entities["SalesOrderHeadersV2"]
    number = per_customer[account][0]
    order = service.query(Order).filter(Order.SalesOrderNumber == number).first()
    assert order.Customer.CustomerAccount == account


def test_update_through_save(service: Any, served: Served) -> None:
    Customer = service.entities["CustomersV3"]
    account = max(row["CustomerAccount"] for row in _customers(served))
    with served.engine.connect() as connection:
        before = connection.execute(
            select(schema.CUSTTABLE.c.CREDITMAX).where(
                (schema.CUSTTABLE.c.DATAAREAID == COMPANY) & (schema.CUSTTABLE.c.ACCOUNTNUM == account)
            )
        ).scalar_one()
    new_limit = Decimal(str(before)) + Decimal("1234.56")
    customer = service.query(Customer).filter(Customer.CustomerAccount == account).first()
    customer.CreditLimit = new_limit
    service.save(customer)
    try:
        with served.engine.connect() as connection:
            after = connection.execute(
                select(schema.CUSTTABLE.c.CREDITMAX).where(
                    (schema.CUSTTABLE.c.DATAAREAID == COMPANY) & (schema.CUSTTABLE.c.ACCOUNTNUM == account)
                )
            ).scalar_one()
        assert Decimal(str(after)) == new_limit
        assert customer.CreditLimit == new_limit  # save() read the entity back
    finally:  # leave the row as the other client tests expect to find it
        with served.engine.begin() as connection:
            connection.execute(
                update(schema.CUSTTABLE)
                .where(
                    (schema.CUSTTABLE.c.DATAAREAID == COMPANY) & (schema.CUSTTABLE.c.ACCOUNTNUM == account)
                )
                .values(CREDITMAX=before)
            )
