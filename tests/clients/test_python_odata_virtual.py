"""python-odata reads the Dataverse endpoint's virtual tables as any OData v4 service: reflected from
$metadata, queried through its query builder; expectations from hand-written SQL (tests/oracle.py)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from tests import oracle
from tests.clients.conftest import Served, python_odata
from tests.virtual.conftest import expected_guid


@pytest.fixture(scope="module")
def service(served: Served) -> Iterator[Any]:
    with python_odata(served.dataverse, served.token) as reflected:
        yield reflected


def test_reflects_virtual_tables_with_their_guid_keys(service: Any) -> None:
    customers = service.entities["mserp_custcustomerv3entities"]
    keys = {prop["name"] for prop in customers.__odata_schema__["properties"] if prop["is_primary_key"]}
    assert keys == {"mserp_custcustomerv3entityid"}
    assert {"accounts", "mserp_salesorderlineentities", "mserp_financeandoperationsentities"} <= set(service.entities)


def test_query_builder_on_a_virtual_table(service: Any, served: Served) -> None:
    Customer = service.entities["mserp_custcustomerv3entities"]
    query = service.query(Customer).filter(Customer.mserp_creditlimit > 10000)
    query = query.order_by(Customer.mserp_customeraccount.asc()).limit(500)
    got = [(c.mserp_dataareaid, c.mserp_customeraccount, Decimal(str(c.mserp_creditlimit)), c.mserp_custcustomerv3entityid)
           for c in query]
    with served.engine.connect() as connection:
        companies = [row[0] for row in connection.exec_driver_sql("SELECT ID FROM DATAAREA")]
        recids = {(area, account): recid for area, account, recid in connection.exec_driver_sql(
            "SELECT DATAAREAID, ACCOUNTNUM, RECID FROM CUSTTABLE")}
    expected = sorted((row["dataAreaId"], row["CustomerAccount"], Decimal(str(row["CreditLimit"])))
                      for row in oracle.customers(served.engine, companies) if row["CreditLimit"] > 10000)
    assert sorted((area, account, limit) for area, account, limit, _ in got) == expected
    for area, account, _, guid in got:
        assert str(guid) == expected_guid("CustCustomerV3Entity", recids[(area, account)])
