"""Changes made directly in either database (plain SQL, as another application would) are captured by
triggers and applied to the other side by the worker: in order, idempotently, without echoes.
Also the map lifecycle: pause with thousands of queued changes, resume (replay, retry list, discard),
alert rules, stop."""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from decimal import Decimal
from typing import Any

import pytest

from gateway.dualwrite import lifecycle
from gateway.dualwrite.maps import AlertRule
from gateway.dualwrite.store import PAUSED, RUNNING
from gateway.dualwrite.worker import WorkItem, apply_item
from tests.dualwrite.conftest import Sides
from tests.dualwrite.test_live import account_row, change_logs, customer_row, organization

CUSTOMERS = "Customers V3"


def credit(sides: Sides, account: str) -> tuple[Decimal, Decimal]:
    """(F&O CREDITMAX, Dataverse creditlimit) of one usmf customer, read from the tables."""
    return (Decimal(str(customer_row(sides, account).credit)), Decimal(str(account_row(sides, account).creditlimit)))


def set_fo_credit(sides: Sides, account: str, value: int) -> None:
    sides.fo_exec('UPDATE "CUSTTABLE" SET "CREDITMAX" = :v WHERE "DATAAREAID" = \'usmf\' AND "ACCOUNTNUM" = :a',
                  v=value, a=account)


def test_fo_sql_change_reaches_dataverse(sides: Sides) -> None:
    customer = organization(sides, 0)
    set_fo_credit(sides, customer["account"], 1111)
    assert change_logs(sides)[0] == 1  # captured in the writer's transaction
    assert sides.drain() >= 1
    assert credit(sides, customer["account"]) == (1111, 1111)
    assert change_logs(sides) == (0, 0)  # applied, and the worker's own write was not captured back


def test_dataverse_sql_change_reaches_fo(sides: Sides) -> None:
    customer = organization(sides, 1)
    sides.dv_exec("UPDATE account SET address1_city = 'Bellevue', versionnumber = versionnumber + 1 "
                  "WHERE accountid = :id", id=customer["accountid"])
    sides.drain()
    assert customer_row(sides, customer["account"]).city == "Bellevue"
    assert change_logs(sides) == (0, 0)


def test_joined_table_change_reaches_dataverse(sides: Sides) -> None:
    customer = organization(sides, 2)
    sides.fo_exec('UPDATE "LOGISTICSPOSTALADDRESS" SET "CITY" = \'Tacoma\' WHERE "RECID" = ('
                  'SELECT p."PRIMARYADDRESS" FROM "CUSTTABLE" c JOIN "DIRPARTYTABLE" p ON p."RECID" = c."PARTY" '
                  'WHERE c."DATAAREAID" = \'usmf\' AND c."ACCOUNTNUM" = :a)', a=customer["account"])
    sides.drain()
    assert account_row(sides, customer["account"]).address1_city == "Tacoma"


def test_rolled_back_changes_are_not_captured(sides: Sides) -> None:
    customer = organization(sides, 3)
    with sides.fo.connect() as connection:
        transaction = connection.begin()
        connection.exec_driver_sql('UPDATE "CUSTTABLE" SET "CREDITMAX" = 77 WHERE "ACCOUNTNUM" = %s'
                                   if sides.name == "postgresql" else
                                   'UPDATE "CUSTTABLE" SET "CREDITMAX" = 77 WHERE "ACCOUNTNUM" = ?',
                                   (customer["account"],))
        transaction.rollback()
    assert change_logs(sides) == (0, 0)


def test_concurrent_changes_to_different_fields_both_survive(sides: Sides) -> None:
    customer = organization(sides, 4)
    set_fo_credit(sides, customer["account"], 4321)
    sides.dv_exec("UPDATE account SET address1_line1 = 'Both Sides 1' WHERE accountid = :id", id=customer["accountid"])
    sides.drain()
    assert credit(sides, customer["account"]) == (4321, 4321)
    assert customer_row(sides, customer["account"]).street == "Both Sides 1"
    assert account_row(sides, customer["account"]).address1_line1 == "Both Sides 1"


def test_per_record_order_holds_and_delivery_is_idempotent(sides: Sides) -> None:
    customer = organization(sides, 5)
    for value in (10, 20, 30, 40):
        set_fo_credit(sides, customer["account"], value)
    assert change_logs(sides)[0] == 4
    sides.drain()
    assert credit(sides, customer["account"]) == (40, 40)
    version = account_row(sides, customer["account"]).versionnumber
    # Delivered again (at-least-once): nothing changes, not even the row version.
    item = WorkItem(sides.dual.maps.maps[CUSTOMERS], "fo", "U", {"dataAreaId": "usmf",
                                                                  "CustomerAccount": customer["account"]})
    assert apply_item(sides.dual, item) == "none"
    assert apply_item(sides.dual, item) == "none"
    assert account_row(sides, customer["account"]).versionnumber == version


def test_sql_inserts_and_deletes_flow_both_ways(sides: Sides) -> None:
    company = sides.dv_sql("SELECT cdm_companyid FROM cdm_company WHERE cdm_companycode = 'usmf'")[0][0]
    number = "SQL-" + uuid.uuid4().hex[:5].upper()
    sides.dv_exec("INSERT INTO account (accountid, accountnumber, name, msdyn_company, customertypecode, statecode, "
                  "creditlimit, versionnumber) VALUES (:id, :n, 'Inserted by SQL', :c, 3, 0, 12, 1)",
                  id=str(uuid.uuid4()), n=number, c=company)
    sides.drain()
    row = customer_row(sides, number)
    assert (row.name, Decimal(str(row.credit))) == ("Inserted by SQL", 12)
    sides.dv_exec("DELETE FROM account WHERE accountnumber = :n", n=number)
    sides.drain()
    assert customer_row(sides, number) is None
    assert change_logs(sides) == (0, 0)


def test_pause_queues_thousands_and_resume_replays_in_order(sides: Sides) -> None:
    customers = [organization(sides, index)["account"] for index in range(6, 9)]
    lifecycle.pause(sides.dual, CUSTOMERS)
    statements = []
    for step in range(1, 701):  # 2,100 changes, interleaved over three customers
        for account in customers:
            statements.append((account, step))
    with sides.fo.begin() as connection:
        for account, step in statements:
            connection.exec_driver_sql(
                'UPDATE "CUSTTABLE" SET "CREDITMAX" = %s WHERE "DATAAREAID" = \'usmf\' AND "ACCOUNTNUM" = %s'
                if sides.name == "postgresql" else
                'UPDATE "CUSTTABLE" SET "CREDITMAX" = ? WHERE "DATAAREAID" = \'usmf\' AND "ACCOUNTNUM" = ?',
                (step * 10, account))
    # A live write to a paused map queues too (in the writer's transaction).
    response = sides.client.patch(f"/data/CustomersV3(dataAreaId='usmf',CustomerAccount='{customers[0]}')",
                                  json={"OrganizationName": "Queued Live"})
    assert response.status_code == 204
    sides.drain(passes=20)
    assert sides.dual.queue_length(CUSTOMERS) == 2101
    assert all(account_row(sides, account).creditlimit != 7000 for account in customers)  # nothing applied yet
    lifecycle.resume(sides.dual, CUSTOMERS)
    sides.drain(passes=20)
    assert sides.dual.queue_length(CUSTOMERS) == 0
    for account in customers:
        assert credit(sides, account) == (7000, 7000)
    assert account_row(sides, customers[0]).name == "Queued Live"


def test_resume_to_retry_list_or_discard(sides: Sides) -> None:
    account = organization(sides, 9)["account"]
    lifecycle.pause(sides.dual, CUSTOMERS)
    set_fo_credit(sides, account, 919)
    sides.drain()
    assert lifecycle.resume(sides.dual, CUSTOMERS, "retry") == 1
    assert credit(sides, account)[1] != 919  # moved to the retry list, not applied
    retry_rows = [row for row in lifecycle.error_list(sides.dual, CUSTOMERS) if row.KIND == "queue"]
    assert len(retry_rows) == 1
    assert lifecycle.retry(sides.dual, [retry_rows[0].SEQ]) == (1, 0)
    assert credit(sides, account) == (919, 919)
    lifecycle.pause(sides.dual, CUSTOMERS)
    set_fo_credit(sides, account, 929)
    sides.drain()
    assert lifecycle.resume(sides.dual, CUSTOMERS, "discard") == 1
    sides.drain()
    assert credit(sides, account) == (929, 919)  # discarded: Dataverse kept the older value


def test_alert_rule_pauses_the_map(sides: Sides) -> None:
    shipped = sides.dual.maps.maps[CUSTOMERS]
    rule = AlertRule(errors=3, within=60.0, action=PAUSED, code="DualWriteFailed")
    sides.dual.maps.maps[CUSTOMERS] = shipped.model_copy(update={"alerts": [rule]})
    try:
        group = "ZZ" + uuid.uuid4().hex[:3]
        sides.fo_exec('INSERT INTO "CUSTGROUP" ("RECID", "RECVERSION", "DATAAREAID", "CUSTGROUP", "NAME", '
                      '"PAYMTERMID") VALUES (:r, 1, \'usmf\', :g, \'Alert group\', \'\')',
                      r=9_000_000_000 + int(uuid.uuid4().int % 1_000_000), g=group)
        sides.drain()  # the group reaches Dataverse ...
        sides.dv_exec("DELETE FROM msdyn_customergroup WHERE msdyn_groupid = :g", g=group)  # ... and is lost there
        for index in range(10, 13):
            account = organization(sides, index)["account"]
            sides.fo_exec('UPDATE "CUSTTABLE" SET "CUSTGROUP" = :g WHERE "DATAAREAID" = \'usmf\' AND "ACCOUNTNUM" = :a',
                          g=group, a=account)
        sides.drain()
        assert sides.dual.states()[CUSTOMERS] == PAUSED
        assert len([row for row in lifecycle.error_list(sides.dual, CUSTOMERS) if row.KIND == "async"]) >= 3
    finally:
        sides.dual.maps.maps[CUSTOMERS] = shipped
        if sides.dual.states()[CUSTOMERS] == PAUSED:
            lifecycle.resume(sides.dual, CUSTOMERS, "discard")


def test_stop_drops_and_stops_syncing(sides: Sides) -> None:
    account = organization(sides, 13)["account"]
    lifecycle.stop(sides.dual, CUSTOMERS)
    try:
        set_fo_credit(sides, account, 1313)
        sides.drain()
        assert credit(sides, account)[1] != 1313
        assert change_logs(sides) == (0, 0)  # consumed and dropped, not kept forever
    finally:
        lifecycle.start(sides.dual, [CUSTOMERS])  # initial sync brings it back in line
    assert credit(sides, account) == (1313, 1313)
    assert sides.dual.states()[CUSTOMERS] == RUNNING


def test_concurrent_updates_of_one_record_from_both_sides_converge(sides: Sides) -> None:
    customer = organization(sides, 14)
    fo_url = f"/data/CustomersV3(dataAreaId='usmf',CustomerAccount='{customer['account']}')"
    dv_url = f"/api/data/v9.2/accounts({customer['accountid']})"
    results: dict[str, list[int]] = {"fo": [], "dv": []}

    def write(side: str) -> None:
        for step in range(8):
            if side == "fo":
                response = sides.client.patch(fo_url, json={"CreditLimit": 1000 + step})
            else:
                response = sides.client.patch(dv_url, json={"creditlimit": 2000 + step})
            results[side].append(response.status_code)

    # Refusals are this test's expected outcome, logged as errors: earlier tests' errors must not add up
    # with them to the map's alert rule (20 within ten minutes pause Customers V3), nor these with later ones.
    sides.fo_exec('DELETE FROM "DUALWRITEERROR"')
    sides.dual.limits.lock_wait_seconds = 1  # each cross-database lock wait ends after a second
    threads = [threading.Thread(target=write, args=(side,)) for side in ("fo", "dv")]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        sides.dual.limits.lock_wait_seconds = 5
        sides.fo_exec('DELETE FROM "DUALWRITEERROR"')
    sides.drain()
    statuses = results["fo"] + results["dv"]
    # A cross-database lock wait may time out (503) or a row change between read and write (412):
    # either way the request is refused whole.
    assert set(statuses) <= {204, 409, 412, 503}, statuses
    assert 204 in statuses
    fo_value, dv_value = credit(sides, customer["account"])
    assert fo_value == dv_value  # whatever won, both sides hold it
    assert change_logs(sides) == (0, 0)
    intents = 'SELECT count(*) FROM "DUALWRITEINTENT"'
    assert (sides.fo_sql(intents)[0][0], sides.dv_sql(intents)[0][0]) == (0, 0)


def test_change_log_rows_name_changed_columns(sides: Sides) -> None:
    customer = organization(sides, 15)
    lifecycle.pause(sides.dual, CUSTOMERS)
    try:
        set_fo_credit(sides, customer["account"], 1515)
        row = sides.fo_sql('SELECT "TABLENAME", "OP", "KEYDATA", "CHANGED" FROM "DUALWRITECHANGES"')[0]
        assert (row.TABLENAME, row.OP) == ("CUSTTABLE", "U")
        assert json.loads(row.KEYDATA) == {"ACCOUNTNUM": customer["account"], "DATAAREAID": "usmf"}
        assert [name for name in json.loads(row.CHANGED) if name] == ["CREDITMAX"]
    finally:
        lifecycle.resume(sides.dual, CUSTOMERS)
        sides.drain()
    assert credit(sides, customer["account"]) == (1515, 1515)


@pytest.fixture(autouse=True)
def _running(sides: Sides) -> Any:
    yield
    assert sides.dual.states()[CUSTOMERS] == RUNNING, "a test left Customers V3 not running"


def test_other_database_down_keeps_the_change_until_it_is_back(sides: Sides) -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.exc import OperationalError

    customer = organization(sides, 16)
    set_fo_credit(sides, customer["account"], 1616)
    endpoint = sides.dual.dv
    working = endpoint.engine
    endpoint.engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 1})
    try:
        for _ in range(2):  # each pass stops at the unreachable database ...
            with pytest.raises(OperationalError):
                sides.worker.run_once()
    finally:
        endpoint.engine.dispose()
        endpoint.engine = working
    assert change_logs(sides)[0] == 1  # kept, not lost, not logged as an error
    sides.drain()
    assert credit(sides, customer["account"]) == (1616, 1616)
    assert change_logs(sides) == (0, 0)


def test_a_lease_of_a_killed_process_is_taken_over_at_once(sides: Sides) -> None:
    """A worker killed with its lease: the next one on this machine need not wait 30 s for it, but a
    holder whose process still runs keeps it."""
    import socket
    import subprocess
    import sys

    from gateway.dualwrite.worker import Worker

    sides.worker.release()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = socket.gethostname()[:18]
    worker = Worker(sides.dual)
    try:
        for holder, taken in ((f"{host}:{alive.pid}:0000beef", False), (f"{host}:{dead.pid}:0000dead", True),
                              (f"elsewhere:{dead.pid}:0000dead", False)):
            worker = Worker(sides.dual)  # a worker that has not held the lease yet (it remembers renewals)
            sides.fo_exec('DELETE FROM "DUALWRITELEASE"')
            sides.fo_exec('INSERT INTO "DUALWRITELEASE" ("NAME", "HOLDER", "EXPIRES") VALUES (\'worker\', :holder, :expires)',
                          holder=holder, expires=dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(seconds=30))
            assert worker._lease() is taken, holder
            held = sides.fo_sql('SELECT "HOLDER" FROM "DUALWRITELEASE"')[0][0]
            assert held == (worker.identity if taken else holder)
    finally:
        alive.kill()
        alive.wait()
        worker.release()
        sides.fo_exec('DELETE FROM "DUALWRITELEASE"')


def test_an_idle_worker_renews_its_lease_every_ten_seconds_not_every_pass(sides: Sides) -> None:
    from gateway.dualwrite.worker import LEASE_SECONDS, Worker

    sides.worker.release()
    worker = Worker(sides.dual)
    try:
        assert worker._lease() is True
        written = sides.fo_sql('SELECT "HOLDER", "EXPIRES" FROM "DUALWRITELEASE"')
        for _ in range(5):
            assert worker.run_once() == 0
        assert sides.fo_sql('SELECT "HOLDER", "EXPIRES" FROM "DUALWRITELEASE"') == written  # nothing written
        worker.lease._renewed -= LEASE_SECONDS / 3  # a third of the lease later
        assert worker._lease() is True
        assert sides.fo_sql('SELECT "EXPIRES" FROM "DUALWRITELEASE"')[0][0] > written[0][1]  # renewed
    finally:
        worker.release()


def test_one_worker_at_a_time(sides: Sides) -> None:
    from gateway.dualwrite.worker import Worker

    first, second = Worker(sides.dual), Worker(sides.dual)
    sides.worker.release()
    try:
        first.run_once()
        assert second._lease() is False  # the first holds the lease
        first.release()
        assert second._lease() is True  # given back: the next one takes over at once
    finally:
        first.release()
        second.release()


def test_relinking_a_joined_row_reaches_dataverse(sides: Sides) -> None:
    customer, other_customer = organization(sides, 2), organization(sides, 3)
    other_city = customer_row(sides, other_customer["account"]).city
    sides.fo_exec('UPDATE "DIRPARTYTABLE" SET "PRIMARYADDRESS" = (SELECT p2."PRIMARYADDRESS" FROM "CUSTTABLE" c2 '
                  'JOIN "DIRPARTYTABLE" p2 ON p2."RECID" = c2."PARTY" WHERE c2."DATAAREAID" = \'usmf\' AND '
                  'c2."ACCOUNTNUM" = :other) WHERE "RECID" = (SELECT c."PARTY" FROM "CUSTTABLE" c WHERE '
                  'c."DATAAREAID" = \'usmf\' AND c."ACCOUNTNUM" = :a)', other=other_customer["account"],
                  a=customer["account"])
    sides.drain()
    assert customer_row(sides, customer["account"]).city == other_city
    assert account_row(sides, customer["account"]).address1_city == other_city


def test_every_company_syncs_whatever_the_callers_company(sides: Sides) -> None:
    rows = sides.fo_sql('SELECT c."DATAAREAID", c."ACCOUNTNUM" FROM "CUSTTABLE" c JOIN "DIRPARTYTABLE" p '
                        'ON p."RECID" = c."PARTY" WHERE c."DATAAREAID" <> \'usmf\' AND p."PARTYTYPE" = 2 ORDER BY 1, 2')
    company, account = rows[0]
    sides.fo_exec('UPDATE "CUSTTABLE" SET "CREDITMAX" = 4711 WHERE "DATAAREAID" = :c AND "ACCOUNTNUM" = :a',
                  c=company, a=account)
    sides.drain()
    assert Decimal(str(account_row(sides, account, company).creditlimit)) == 4711


def test_discard_also_takes_what_the_worker_has_not_moved_yet(sides: Sides) -> None:
    customer = organization(sides, 8)
    before = credit(sides, customer["account"])
    lifecycle.pause(sides.dual, CUSTOMERS)
    response = sides.client.patch(f"/data/CustomersV3(dataAreaId='usmf',CustomerAccount='{customer['account']}')",
                                  json={"CreditLimit": 8080})
    assert response.status_code == 204
    assert lifecycle.resume(sides.dual, CUSTOMERS, "discard") == 1  # no worker ran: still in the change log
    sides.drain()
    assert credit(sides, customer["account"]) == (8080, before[1])
