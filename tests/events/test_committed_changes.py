"""Every committed change gives one event (after de-duplication by ControlNumber), a rolled-back one
none, in per-record order; each event is compared with an independent reading of the physical tables
(hand-written SQL), on SQLite and PostgreSQL. Changes come from plain SQL (another application) and
from the gateway's /data write path, called with a bearer token as users do."""

from __future__ import annotations

import threading
import time
import uuid
from decimal import Decimal
from typing import Any

import pytest

from gateway.events.service import ACTIVATIONS, ENDPOINTS, endpoint_body
from tests.conftest import Backend, bearer, make_client
from tests.events.conftest import EventsDb, Receiver, dedupe, token_object_id

ON_HOLD = {0: "No", 1: "Invoice", 2: "All", 3: "Payment", 4: "Requisition", 5: "Never"}  # CustVendorBlocked
SALES_STATUS = {0: "None", 1: "Backorder", 2: "Delivered", 3: "Invoiced", 4: "Canceled"}
CUSTOMER_SQL = ('SELECT c."DATAAREAID", c."ACCOUNTNUM", p."NAME", c."CREDITMAX", c."BLOCKED", c."CUSTGROUP" '
                'FROM "CUSTTABLE" c JOIN "DIRPARTYTABLE" p ON p."RECID" = c."PARTY" '
                'WHERE c."DATAAREAID" = :company AND c."ACCOUNTNUM" = :account')


def customer(db: EventsDb, company: str, account: str) -> dict[str, Any] | None:
    """The customer as the tables hold it now, read by hand."""
    rows = db.sql(CUSTOMER_SQL, company=company, account=account)
    if not rows:
        return None
    company_, account_, name, credit, blocked, group = rows[0]
    return {"dataAreaId": company_, "CustomerAccount": account_, "OrganizationName": name,
            "CreditLimit": Decimal(str(credit)).normalize(), "OnHoldStatus": ON_HOLD[int(blocked)],
            "CustomerGroupId": group}


def comparable(record: dict[str, Any]) -> dict[str, Any]:
    """The fields of a payload record that `customer` reads, in the same types."""
    return {"dataAreaId": record["dataAreaId"], "CustomerAccount": record["CustomerAccount"],
            "OrganizationName": record["OrganizationName"],
            "CreditLimit": Decimal(str(record["CreditLimit"])).normalize(),
            "OnHoldStatus": record["OnHoldStatus"], "CustomerGroupId": record["CustomerGroupId"]}


def subject(company: str, account: str) -> str:
    return f"CustomersV3(dataAreaId='{company}',CustomerAccount='{account}')"


def test_each_committed_change_is_one_event_as_committed(events_db: EventsDb, receiver: Receiver) -> None:
    db = events_db
    db.events.create(ENDPOINTS, endpoint_body("hook", receiver.url))
    for event_id in ("CustomersV3_Created", "CustomersV3_Updated", "CustomersV3_Deleted",
                     "CustomerCreditLimitChangedBusinessEvent"):
        db.events.create(ACTIVATIONS, {"BusinessEventId": event_id, "EndpointId": "hook"})
    db.events.create(ACTIVATIONS, {"BusinessEventId": "SalesOrderHeadersV2_Updated", "EndpointId": "hook",
                                   "LegalEntity": "usmf"})
    accounts = [tuple(row) for row in db.sql(
        'SELECT "DATAAREAID", "ACCOUNTNUM" FROM "CUSTTABLE" WHERE "DATAAREAID" = \'usmf\' ORDER BY "ACCOUNTNUM"')]
    assert len(accounts) >= 5
    # What each record's events must say, in order: (event type, record before, record after).
    expected: dict[str, list[tuple[str, Any, Any, str | None]]] = {}  # ... and who made the change
    credit_changes: list[tuple[str, Decimal, Decimal]] = []
    me = token_object_id(bearer("test-admin"))  # the token's oid claim

    def changed(company: str, account: str, kind: str, before: Any, by: str | None = None) -> None:
        after = customer(db, company, account)
        expected.setdefault(subject(company, account), []).append((kind, before, after, by))
        if before is not None and after is not None and before["CreditLimit"] != after["CreditLimit"]:
            credit_changes.append((subject(company, account), before["CreditLimit"], after["CreditLimit"]))

    # 1. Another application's SQL: three credit limits in one transaction.
    before = {account: customer(db, *account) for account in accounts[:3]}
    with db.engine.begin() as connection:
        for index, (company, account) in enumerate(accounts[:3]):
            connection.exec_driver_sql(
                f'UPDATE "CUSTTABLE" SET "CREDITMAX" = {7000 + index} '
                f"WHERE \"DATAAREAID\" = '{company}' AND \"ACCOUNTNUM\" = '{account}'")
    for account in accounts[:3]:
        changed(*account, "Updated", before[account])
    # 2. A transaction that rolls back raises nothing.
    with db.engine.connect() as connection:
        transaction = connection.begin()
        connection.exec_driver_sql(f"UPDATE \"CUSTTABLE\" SET \"CREDITMAX\" = 1 WHERE \"ACCOUNTNUM\" = '{accounts[3][1]}'")
        transaction.rollback()
    # 3. The same record again, then its party's name (another table of the entity), by SQL.
    company, account = accounts[0]
    snapshot = customer(db, company, account)
    db.run('UPDATE "CUSTTABLE" SET "BLOCKED" = 2 WHERE "DATAAREAID" = :c AND "ACCOUNTNUM" = :a', c=company, a=account)
    changed(company, account, "Updated", snapshot)
    snapshot = customer(db, company, account)
    db.run('UPDATE "DIRPARTYTABLE" SET "NAME" = \'Renamed by SQL\' WHERE "RECID" = (SELECT "PARTY" FROM "CUSTTABLE" '
           'WHERE "DATAAREAID" = :c AND "ACCOUNTNUM" = :a)', c=company, a=account)
    changed(company, account, "Updated", snapshot)
    # 4. Through /data: one PATCH of two tables is one change; a dry run is none; create and delete.
    backend = Backend(db.name, db.url, db.engine)
    with make_client(backend, headers=bearer("test-admin")) as client:
        company, account = accounts[1]
        snapshot = customer(db, company, account)
        path = f"/data/CustomersV3(dataAreaId='{company}',CustomerAccount='{account}')"
        response = client.patch(path, json={"CreditLimit": 5000, "OrganizationName": "Patched through /data"})
        assert response.status_code == 204, response.text
        changed(company, account, "Updated", snapshot, me)
        response = client.patch(path, json={"CreditLimit": 1}, headers={"Prefer": "tx=rollback"})
        assert response.status_code == 204, response.text
        response = client.post("/data/CustomersV3", json={
            "CustomerAccount": "EV-NEW-1", "OrganizationName": "Created for events", "CustomerGroupId": "10",
            "CreditLimit": 250})
        assert response.status_code == 201, response.text
        changed("usmf", "EV-NEW-1", "Created", None, me)
        snapshot = customer(db, "usmf", "EV-NEW-1")
        response = client.delete("/data/CustomersV3(dataAreaId='usmf',CustomerAccount='EV-NEW-1')")
        assert response.status_code == 204, response.text
        expected[subject("usmf", "EV-NEW-1")].append(("Deleted", snapshot, None, me))
        client.app.state.engine.dispose()  # type: ignore[attr-defined]
    # 5. A sales order status in usmf and in another company: the activation is for usmf only.
    orders = db.sql('SELECT "DATAAREAID", "SALESID", "SALESSTATUS" FROM "SALESTABLE" WHERE "DATAAREAID" IN '
                    '(\'usmf\', \'demf\') ORDER BY "DATAAREAID" DESC, "SALESID"')
    usmf_order = next(row for row in orders if row[0] == "usmf")
    other_order = next(row for row in orders if row[0] == "demf")
    for order in (usmf_order, other_order):
        db.run('UPDATE "SALESTABLE" SET "SALESSTATUS" = 4 WHERE "DATAAREAID" = :c AND "SALESID" = :s',
               c=order[0], s=order[1])

    db.drain()
    received = dedupe(receiver.events())
    assert [event["ControlNumber"] for event in received] == list(range(1, len(received) + 1))  # no gaps
    data_events = [event for event in received if event["BusinessEventId"].startswith("CustomersV3_")]
    by_record: dict[str, list[dict[str, Any]]] = {}
    for event in data_events:
        by_record.setdefault(event["ContextRecordSubject"], []).append(event)
    assert set(by_record) == set(expected)
    for record, wanted in expected.items():
        got = by_record[record]
        assert [event["EventType"] for event in got] == [kind for kind, _, _, _ in wanted], record
        for event, (kind, before_record, after_record, by) in zip(got, wanted):
            assert event["BusinessEventId"] == f"CustomersV3_{kind}"
            assert event["BusinessEventLegalEntity"] == record.split("'")[1]
            assert ("Target" in event) == (after_record is not None)
            assert ("PreImage" in event) == (before_record is not None)
            if after_record is not None:
                assert comparable(event["Target"]) == after_record
            if before_record is not None:
                assert comparable(event["PreImage"]) == before_record
            assert event["InitiatingUserAADObjectId"] == by
            assert uuid.UUID(event["EventId"])
            assert event["EventTime"].endswith("Z")
            assert "RECID" not in str(event)
    credit = [event for event in received if event["BusinessEventId"] == "CustomerCreditLimitChangedBusinessEvent"]
    assert [(event["ContextRecordSubject"], Decimal(str(event["OldCreditLimit"])).normalize(),
             Decimal(str(event["NewCreditLimit"])).normalize()) for event in credit] == credit_changes
    orders_events = [event for event in received if event["BusinessEventId"] == "SalesOrderHeadersV2_Updated"]
    assert [(event["Target"]["dataAreaId"], event["Target"]["SalesOrderNumber"], event["Target"]["SalesOrderStatus"],
             event["PreImage"]["SalesOrderStatus"]) for event in orders_events] == [
        ("usmf", usmf_order[1], "Canceled", SALES_STATUS[int(usmf_order[2])])]
    assert db.sql('SELECT count(*) FROM "EVENTOUTBOX" WHERE "STATUS" <> \'Delivered\'')[0][0] == 0


def test_concurrent_writers_of_one_record_are_captured_in_commit_order(events_db: EventsDb, receiver: Receiver) -> None:
    """Two transactions change one customer, one its credit limit (CUSTTABLE), the other its name (its
    party, DIRPARTYTABLE): no row lock orders them, yet the second record must include the first
    change and come after it. The first holds its transaction open while the second tries."""
    db = events_db
    if db.name == "mariadb":
        pytest.skip("MariaDB has no transaction-scoped advisory lock a trigger can take: see the README")
    db.events.create(ENDPOINTS, endpoint_body("hook", receiver.url))
    db.events.create(ACTIVATIONS, {"BusinessEventId": "CustomersV3_Updated", "EndpointId": "hook"})
    company, account = "usmf", db.sql('SELECT min("ACCOUNTNUM") FROM "CUSTTABLE" WHERE "DATAAREAID" = \'usmf\'')[0][0]
    first_done = threading.Event()

    def first() -> None:
        with db.engine.begin() as connection:
            connection.exec_driver_sql(f"UPDATE \"CUSTTABLE\" SET \"CREDITMAX\" = 4242 WHERE \"DATAAREAID\" = "
                                       f"'{company}' AND \"ACCOUNTNUM\" = '{account}'")
            first_done.set()
            time.sleep(1.0)  # the other writer starts now, while this one has not committed

    writer = threading.Thread(target=first)
    writer.start()
    first_done.wait(10)
    try:
        db.run('UPDATE "DIRPARTYTABLE" SET "NAME" = \'Second writer\' WHERE "RECID" = (SELECT "PARTY" FROM "CUSTTABLE" '
               'WHERE "DATAAREAID" = :c AND "ACCOUNTNUM" = :a)', c=company, a=account)
    except Exception:  # noqa: BLE001 - SQLite's one writer: the second waits or is busy; either way it is after
        writer.join()
        db.run('UPDATE "DIRPARTYTABLE" SET "NAME" = \'Second writer\' WHERE "RECID" = (SELECT "PARTY" FROM "CUSTTABLE" '
               'WHERE "DATAAREAID" = :c AND "ACCOUNTNUM" = :a)', c=company, a=account)
    writer.join()
    db.drain()
    events = dedupe(receiver.events())
    assert [(Decimal(str(e["Target"]["CreditLimit"])), e["Target"]["OrganizationName"]) for e in events] == [
        (Decimal(4242), events[0]["PreImage"]["OrganizationName"]), (Decimal(4242), "Second writer")]
    assert events[1]["PreImage"] == events[0]["Target"]


def test_writers_of_other_records_do_not_wait(events_db: EventsDb) -> None:
    """PostgreSQL: the capture lock is per record; a transaction holding customer A open does not hold
    up a change of customer B (SQLite has one writer, MariaDB takes no such lock)."""
    db = events_db
    if db.name != "postgresql":
        pytest.skip("only PostgreSQL's capture takes a lock of its own")
    db.events.create(ENDPOINTS, endpoint_body("hook", "http://127.0.0.1:9/events"))
    db.events.create(ACTIVATIONS, {"BusinessEventId": "CustomersV3_Updated", "EndpointId": "hook"})
    first, second = (row[0] for row in db.sql('SELECT "RECID" FROM "CUSTTABLE" ORDER BY "RECID" LIMIT 2'))
    holding = threading.Event()

    def hold_first() -> None:
        with db.engine.begin() as connection:
            connection.exec_driver_sql(f'UPDATE "CUSTTABLE" SET "CREDITMAX" = 1 WHERE "RECID" = {first}')
            holding.set()
            time.sleep(1.5)

    holder = threading.Thread(target=hold_first)
    holder.start()
    holding.wait(10)
    started = time.monotonic()
    db.run('UPDATE "CUSTTABLE" SET "CREDITMAX" = 2 WHERE "RECID" = :r', r=second)
    waited = time.monotonic() - started
    holder.join()
    assert waited < 0.75, f"a change of another customer waited {waited:.2f} s"
    assert db.sql('SELECT count(*) FROM "EVENTCHANGES"')[0][0] == 2
