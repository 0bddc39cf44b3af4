"""A real gateway process (uvicorn) killed with SIGKILL between the two commits of a live sync.

The F&O side's COMMIT is held open by a deferred constraint trigger that waits for an advisory lock
the test holds: by then the Dataverse side has committed. The test kills the server, the database
drops the orphaned transaction (as it does for any client that vanished), and recovery must put the
Dataverse side back. PostgreSQL only: SQLite has no way to hold a COMMIT open from the outside (the
same database state is built in-process for SQLite in test_recovery.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from decimal import Decimal

import httpx2
import pytest

from tests.conftest import bearer, server_arguments, free_port, wait_until_serving
from tests.dualwrite.conftest import Sides
from tests.dualwrite.test_live import account_row, customer_row, organization

HOLD = 424_242


@pytest.mark.e2e
def test_sigkill_between_the_two_commits(sides: Sides) -> None:
    if sides.name != "postgresql":
        pytest.skip("holding a COMMIT open needs PostgreSQL's deferred triggers (SQLite: see test_recovery.py)")
    customer = organization(sides, 0)
    before_fo = customer_row(sides, customer["account"]).credit
    before_dv = account_row(sides, customer["account"]).creditlimit
    sides.fo_exec(f"""CREATE OR REPLACE FUNCTION dw_test_hold() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_advisory_xact_lock({HOLD}); RETURN NULL; END $$""")
    sides.fo_exec('CREATE CONSTRAINT TRIGGER dw_test_hold AFTER UPDATE ON "CUSTTABLE" DEFERRABLE INITIALLY DEFERRED '
                  "FOR EACH ROW EXECUTE FUNCTION dw_test_hold()")
    holder = sides.fo.connect()
    holder.exec_driver_sql(f"SELECT pg_advisory_lock({HOLD})")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "serve", "--db", sides.fo_url, "--dataverse-db", sides.dv_url,
         "--port", str(port), *server_arguments()], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_until_serving(port)
        thread = threading.Thread(target=_patch, args=(port, customer["account"]), daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while Decimal(str(account_row(sides, customer["account"]).creditlimit)) != 9191:
            assert time.monotonic() < deadline, "the Dataverse side never committed"
            time.sleep(0.05)
        # Dataverse committed; F&O's COMMIT waits in the deferred trigger. Kill the process now.
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
        # The database ends the dead client's transaction (it would on its own once it noticed).
        sides.fo_exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                      "AND pid <> pg_backend_pid() AND datname = current_database()")
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
        holder.exec_driver_sql(f"SELECT pg_advisory_unlock({HOLD})")
        holder.close()
        sides.fo_exec('DROP TRIGGER IF EXISTS dw_test_hold ON "CUSTTABLE"')
    assert customer_row(sides, customer["account"]).credit == before_fo  # F&O never committed
    assert Decimal(str(account_row(sides, customer["account"]).creditlimit)) == 9191  # Dataverse did
    assert sides.dual.recover(older_than=0) == 1
    assert account_row(sides, customer["account"]).creditlimit == before_dv  # put back
    intents = 'SELECT count(*) FROM "DUALWRITEINTENT"'
    assert (sides.fo_sql(intents)[0][0], sides.dv_sql(intents)[0][0]) == (0, 0)
    # Afterwards the pair works as before, and nothing was left in the change logs.
    response = sides.client.patch(f"/data/CustomersV3(dataAreaId='usmf',CustomerAccount='{customer['account']}')",
                                  json={"CreditLimit": 9292})
    assert response.status_code == 204
    assert Decimal(str(account_row(sides, customer["account"]).creditlimit)) == 9292
    assert sides.fo_sql('SELECT count(*) FROM "DUALWRITECHANGES"')[0][0] == 0


def _patch(port: int, account: str) -> None:
    try:
        httpx2.patch(f"http://127.0.0.1:{port}/data/CustomersV3(dataAreaId='usmf',CustomerAccount='{account}')",
                     json={"CreditLimit": 9191}, headers=bearer(), timeout=30)
    except httpx2.HTTPError:
        pass  # the server dies under this request


@pytest.mark.e2e
def test_served_worker_applies_sql_changes_within_seconds(sides: Sides) -> None:
    """`serve --dualwrite-worker`: a change another application makes with SQL reaches the other side
    within seconds, with no request to the gateway at all."""
    customer = organization(sides, 1)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "serve", "--db", sides.fo_url, "--dataverse-db", sides.dv_url,
         "--port", str(port), "--dualwrite-worker", *server_arguments()], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    try:
        wait_until_serving(port)
        started = time.monotonic()
        sides.dv_exec("UPDATE account SET address1_city = 'Spokane' WHERE accountid = :id", id=customer["accountid"])
        while customer_row(sides, customer["account"]).city != "Spokane":
            assert time.monotonic() - started < 10, "the served worker did not apply the change within 10 s"
            time.sleep(0.1)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
    with sides.fo.connect() as connection:  # the stopped worker gave its lease back
        holders = connection.exec_driver_sql('SELECT count(*) FROM "DUALWRITELEASE"').scalar_one()
    assert holders == 0
