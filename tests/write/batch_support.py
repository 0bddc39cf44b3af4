"""What the batch and conditional-request tests share: tagged test rows, read and removed by hand-written SQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from sqlalchemy import delete, func, select

from gateway.demo import schema
from tests.conftest import Backend

CUST, PARTY, ORDERS, GROUPS = schema.CUSTTABLE, schema.DIRPARTYTABLE, schema.SALESTABLE, schema.CUSTGROUP


def new_tag(letter: str = "H") -> str:
    return letter + uuid.uuid4().hex[:7].upper()


def customer(account: str, **extra: object) -> dict[str, object]:
    return {"CustomerAccount": account, "OrganizationName": f"Batch {account}", "CustomerGroupId": "10", **extra}


def accounts(backend: Backend, prefix: str) -> list[str]:
    with backend.engine.connect() as connection:
        rows = connection.execute(select(CUST.c.ACCOUNTNUM).where(CUST.c.ACCOUNTNUM.startswith(prefix)))
        return sorted(row[0] for row in rows)


def orders(backend: Backend, prefix: str) -> list[tuple[str, str, str]]:
    """(SALESID, CUSTACCOUNT, DATAAREAID) of the orders whose number starts with `prefix`."""
    with backend.engine.connect() as connection:
        rows = connection.execute(select(ORDERS.c.SALESID, ORDERS.c.CUSTACCOUNT, ORDERS.c.DATAAREAID)
                                  .where(ORDERS.c.SALESID.startswith(prefix)))
        return sorted((str(row[0]), str(row[1]), str(row[2])) for row in rows)


def customer_row(backend: Backend, account: str) -> dict[str, Any] | None:
    with backend.engine.connect() as connection:
        row = connection.execute(select(CUST.c.CREDITMAX, CUST.c.CUSTGROUP, PARTY.c.NAME)
                                 .select_from(CUST.join(PARTY, PARTY.c.RECID == CUST.c.PARTY))
                                 .where(CUST.c.ACCOUNTNUM == account, CUST.c.DATAAREAID == "usmf")).first()
    return None if row is None else dict(row._mapping)


def group_count(backend: Backend, prefix: str) -> int:
    with backend.engine.connect() as connection:
        return int(connection.execute(select(func.count()).where(GROUPS.c.CUSTGROUP.startswith(prefix))).scalar_one())


def removing(backend: Backend) -> Iterator[list[str]]:
    """For a fixture: the prefixes of the accounts, orders and customer groups a test creates, removed after it."""
    prefixes: list[str] = []
    yield prefixes
    with backend.engine.begin() as connection:
        for prefix in prefixes:
            parties = select(CUST.c.PARTY).where(CUST.c.ACCOUNTNUM.startswith(prefix)).scalar_subquery()
            connection.execute(delete(PARTY).where(PARTY.c.RECID.in_(parties)))
            connection.execute(delete(CUST).where(CUST.c.ACCOUNTNUM.startswith(prefix)))
            connection.execute(delete(ORDERS).where(ORDERS.c.SALESID.startswith(prefix)))
            connection.execute(delete(GROUPS).where(GROUPS.c.CUSTGROUP.startswith(prefix)))


def statuses(response: Any) -> dict[str, int]:
    assert response.status_code == 200, response.text
    return {item["id"]: item["status"] for item in response.json()["responses"]}


def error_message(response: Any, status: int = 400) -> str:
    """The message of a whole-request error in the OData error shape."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert isinstance(error["code"], str) and isinstance(error["message"], str), error
    return str(error["message"])
