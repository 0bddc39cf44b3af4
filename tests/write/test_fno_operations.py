"""The F&O catalog's actions and functions (entities/fno/operations/) against SQL over SALESTABLE and
SALESLINE, called with tokens of the roles that may and may not call them."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import exists, func, select, update
from starlette.testclient import TestClient

from gateway.demo import schema as s
from tests.conftest import Backend, bearer

NS = "Microsoft.Dynamics.DataEntities"
NONE, BACKORDER, INVOICED, CANCELED = 0, 1, 3, 4


def _orders(backend: Backend, status: int) -> list[tuple[str, str]]:
    """Orders of usmf (the caller's default company) in `status` that have lines."""
    h, line = s.SALESTABLE, s.SALESLINE
    has_lines = exists().where(line.c.DATAAREAID == h.c.DATAAREAID, line.c.SALESID == h.c.SALESID)
    statement = select(h.c.DATAAREAID, h.c.SALESID).where(h.c.SALESSTATUS == status, h.c.DATAAREAID == "usmf",
                                                          has_lines).order_by(h.c.SALESID)
    with backend.engine.connect() as connection:
        return [(row[0], row[1]) for row in connection.execute(statement)]


def _statuses(backend: Backend, company: str, order: str) -> tuple[int, list[int]]:
    h, line = s.SALESTABLE, s.SALESLINE
    with backend.engine.connect() as connection:
        header = connection.execute(select(h.c.SALESSTATUS).where(h.c.DATAAREAID == company, h.c.SALESID == order)
                                    ).scalar_one()
        lines = connection.execute(select(line.c.SALESSTATUS).where(line.c.DATAAREAID == company,
                                                                   line.c.SALESID == order)
                                   .order_by(line.c.INVENTTRANSID)).scalars().all()
    return int(header), [int(status) for status in lines]


def _set_status(backend: Backend, company: str, order: str, status: int) -> None:
    with backend.engine.begin() as connection:
        for table in (s.SALESTABLE, s.SALESLINE):
            connection.execute(update(table).where(table.c.DATAAREAID == company, table.c.SALESID == order)
                               .values(SALESSTATUS=status))


@pytest.fixture
def restored(backend: Backend) -> Iterator[list[tuple[str, str, int]]]:
    """Orders a test changes, put back to their status afterwards (the demo data is shared)."""
    changed: list[tuple[str, str, int]] = []
    yield changed
    for company, order, status in changed:
        _set_status(backend, company, order, status)


def _url(company: str, order: str, operation: str) -> str:
    return f"/data/SalesOrderHeadersV2(dataAreaId='{company}',SalesOrderNumber='{order}')/{NS}.{operation}"


def test_confirm_moves_a_new_order_and_its_lines_to_open(client: TestClient, backend: Backend,
                                                         restored: list[tuple[str, str, int]]) -> None:
    company, order = _orders(backend, BACKORDER)[-1]
    restored.append((company, order, BACKORDER))
    _set_status(backend, company, order, NONE)  # a new order: the demo has few at small scales
    clerk = bearer("clerk", ("SalesClerk",))
    response = client.post(_url(company, order, "ConfirmSalesOrder"), headers=clerk)
    assert response.status_code == 200, response.text
    assert response.json()["SalesOrderStatus"] == "Backorder"
    header, lines = _statuses(backend, company, order)
    assert header == BACKORDER and lines and set(lines) == {BACKORDER}
    again = client.post(_url(company, order, "ConfirmSalesOrder"), headers=clerk)
    assert again.status_code == 409 and "is Backorder" in again.json()["error"]["message"]


def test_cancel_refuses_an_invoiced_order_and_changes_nothing(client: TestClient, backend: Backend) -> None:
    company, order = _orders(backend, INVOICED)[0]
    before = _statuses(backend, company, order)
    response = client.post(_url(company, order, "CancelSalesOrder"))
    assert response.status_code == 409, response.text
    assert _statuses(backend, company, order) == before


def test_cancel_with_tx_rollback_keeps_nothing(client: TestClient, backend: Backend) -> None:
    company, order = _orders(backend, BACKORDER)[0]
    before = _statuses(backend, company, order)
    response = client.post(_url(company, order, "CancelSalesOrder"), headers={"Prefer": "tx=rollback"})
    assert response.status_code == 200 and response.json()["SalesOrderStatus"] == "Canceled", response.text
    assert _statuses(backend, company, order) == before


def test_roles_decide_who_may_call(client: TestClient, backend: Backend) -> None:
    company, order = _orders(backend, BACKORDER)[0]
    before = _statuses(backend, company, order)
    for roles in (("DataReader",), ("ProductManager",)):
        refused = client.post(_url(company, order, "CancelSalesOrder"), headers=bearer("someone", roles))
        assert refused.status_code == 403, refused.text
    assert _statuses(backend, company, order) == before
    metadata = client.get("/data/$metadata", headers=bearer("reader", ("DataReader",))).text
    assert 'Function Name="GetOrderTotal" IsBound="true"' in metadata
    assert 'Action Name="CancelSalesOrder"' not in metadata


def test_order_total_function_matches_sql(client: TestClient, backend: Backend) -> None:
    company, order = _orders(backend, INVOICED)[1]
    line = s.SALESLINE
    with backend.engine.connect() as connection:
        total = connection.execute(select(func.sum(line.c.LINEAMOUNT)).where(
            line.c.DATAAREAID == company, line.c.SALESID == order)).scalar_one()
    response = client.get(_url(company, order, "GetOrderTotal()"), headers=bearer("reader", ("DataReader",)))
    assert response.status_code == 200, response.text
    assert response.json()["@odata.context"].endswith("$metadata#Edm.Decimal")
    cents = Decimal("0.01")  # (SQLite sums REAL values: equal to the cent)
    assert Decimal(str(response.json()["value"])).quantize(cents) == Decimal(str(total)).quantize(cents)
    missing = client.get(_url(company, "NO-SUCH-ORDER", "GetOrderTotal()"))
    assert missing.status_code == 404, missing.text
