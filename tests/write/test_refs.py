"""`$ref` on the F&O catalog's navigation (composite keys with dataAreaId), on every backend,
checked in SALESTABLE and CUSTTABLE: a reference write is an update of the entity that holds the
link, with its company scoping, privileges and audit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select, update
from starlette.testclient import TestClient

from gateway.audit.store import audit_log
from gateway.demo import schema as s
from tests.conftest import Backend, bearer

BASE = "http://testserver/data/"


def _order_url(company: str, order: str) -> str:
    return f"/data/SalesOrderHeadersV2(dataAreaId='{company}',SalesOrderNumber='{order}')"


def _customer_id(company: str, account: str) -> str:
    return f"CustomersV3(dataAreaId='{company}',CustomerAccount='{account}')"


def _order_customer(backend: Backend, company: str, order: str) -> str:
    h = s.SALESTABLE
    with backend.engine.connect() as connection:
        return str(connection.execute(select(h.c.CUSTACCOUNT).where(h.c.DATAAREAID == company, h.c.SALESID == order))
                   .scalar_one())


def _customers(backend: Backend, company: str) -> list[tuple[str, str]]:
    c = s.CUSTTABLE
    with backend.engine.connect() as connection:
        rows = connection.execute(select(c.c.ACCOUNTNUM, c.c.CUSTGROUP).where(c.c.DATAAREAID == company)
                                  .order_by(c.c.ACCOUNTNUM)).all()
    return [(str(account), str(group)) for account, group in rows]


def _first_order(backend: Backend, company: str) -> str:
    h = s.SALESTABLE
    with backend.engine.connect() as connection:
        return str(connection.execute(select(h.c.SALESID).where(h.c.DATAAREAID == company).order_by(h.c.SALESID)
                                      .limit(1)).scalar_one())


@pytest.fixture
def restored(backend: Backend) -> Iterator[None]:
    """The links these tests change, put back afterwards (the demo data is shared)."""
    h, c = s.SALESTABLE, s.CUSTTABLE
    with backend.engine.connect() as connection:
        orders = connection.execute(select(h.c.RECID, h.c.CUSTACCOUNT)).all()
        customers = connection.execute(select(c.c.RECID, c.c.CUSTGROUP)).all()
    yield
    with backend.engine.begin() as connection:
        for recid, account in orders:
            connection.execute(update(h).where(h.c.RECID == recid, h.c.CUSTACCOUNT != account).values(CUSTACCOUNT=account))
        for recid, group in customers:
            connection.execute(update(c).where(c.c.RECID == recid, c.c.CUSTGROUP != group).values(CUSTGROUP=group))


def test_read_the_reference_of_an_order(client: TestClient, backend: Backend) -> None:
    order = _first_order(backend, "usmf")
    response = client.get(_order_url("usmf", order) + "/Customer/$ref")
    assert response.status_code == 200, response.text
    expected = _customer_id("usmf", _order_customer(backend, "usmf", order))
    assert response.json() == {"@odata.context": BASE + "$metadata#$ref", "@odata.id": BASE + expected}


def test_replace_the_customer_of_an_order(client: TestClient, backend: Backend, restored: None) -> None:
    order = _first_order(backend, "usmf")
    current = _order_customer(backend, "usmf", order)
    other = next(account for account, _ in _customers(backend, "usmf") if account != current)
    response = client.put(_order_url("usmf", order) + "/Customer/$ref", json={"@odata.id": _customer_id("usmf", other)})
    assert response.status_code == 204, response.text
    assert _order_customer(backend, "usmf", order) == other
    log = audit_log
    with backend.engine.connect() as connection:
        audited = connection.execute(select(log.c.ENTITYSET, log.c.OP, log.c.COMPANY, log.c.FIELDS).where(
            log.c.REQUESTID == response.headers["x-ms-service-request-id"])).all()
    assert [tuple(row) for row in audited] == [("SalesOrderHeadersV2", "update", "usmf", "OrderingCustomerAccountNumber")]
    # A customer of another company: not visible in the request's company; across companies, the link
    # holds dataAreaId, which is part of the order's key and cannot change.
    foreign = {"@odata.id": _customer_id("usrt", _customers(backend, "usrt")[0][0])}
    unseen = client.put(_order_url("usmf", order) + "/Customer/$ref", json=foreign)
    assert unseen.status_code == 404, unseen.text
    across = client.put(_order_url("usmf", order) + "/Customer/$ref?cross-company=true", json=foreign)
    assert across.status_code == 400 and across.json()["error"]["target"] == "dataAreaId", across.text
    # OrderingCustomerAccountNumber is required: the reference cannot be removed, only replaced.
    removed = client.delete(_order_url("usmf", order) + "/Customer/$ref")
    assert removed.status_code == 400, removed.text
    assert _order_customer(backend, "usmf", order) == other


def test_add_a_customer_to_a_group(client: TestClient, backend: Backend, restored: None) -> None:
    customers = _customers(backend, "usmf")
    account, group = customers[0]
    other_group = next(g for _, g in customers if g != group)
    response = client.post(f"/data/CustomerGroups(dataAreaId='usmf',CustomerGroupId='{other_group}')/Customers/$ref",
                           json={"@odata.id": BASE + _customer_id("usmf", account)})
    assert response.status_code == 204, response.text
    assert dict(_customers(backend, "usmf"))[account] == other_group
    listed = client.get(f"/data/CustomerGroups(dataAreaId='usmf',CustomerGroupId='{other_group}')/Customers/$ref",
                        params={"$filter": f"CustomerAccount eq '{account}'"})
    assert [item["@odata.id"] for item in listed.json()["value"]] == [BASE + _customer_id("usmf", account)]


def test_company_scope_and_privileges_hold(client: TestClient, backend: Backend, restored: None) -> None:
    order = _first_order(backend, "usrt")
    current = _order_customer(backend, "usrt", order)
    other = next(account for account, _ in _customers(backend, "usrt") if account != current)
    body = {"@odata.id": _customer_id("usrt", other)}
    alice = bearer("alice@contoso.com", ())  # a SalesClerk in usmf only (entities/security/users.yaml)
    refused = client.put(_order_url("usrt", order) + "/Customer/$ref", json=body, headers=alice)
    assert refused.status_code in (403, 404), refused.text
    reader = client.put(_order_url("usrt", order) + "/Customer/$ref?company=usrt", json=body,
                        headers=bearer("reader", ("DataReader",)))
    assert reader.status_code == 403, reader.text
    assert _order_customer(backend, "usrt", order) == current
    admin = client.put(_order_url("usrt", order) + "/Customer/$ref?company=usrt", json=body)
    assert admin.status_code == 204, admin.text
    assert _order_customer(backend, "usrt", order) == other
