"""A real gateway process (uvicorn) killed with SIGKILL between the two commits of a live sync.

The origin's COMMIT is held open from outside while the other side has already committed:
- SQLite: the test holds a read transaction on the origin's file; a COMMIT needs every reader gone,
  so it waits (up to the busy timeout) while the other side's change is committed and visible.
- PostgreSQL: a deferred constraint trigger on the origin's table waits for an advisory lock the
  test holds.
The test then kills the server; the database drops the orphaned transaction as it does for any
client that vanished. A new gateway process (without the dual-write worker: start-up alone must do
it) is started, and before it answers its first request the other side holds the origin's state
again, no intent record is left, and the error log says what happened (OriginLost, Resolved).
Both directions: a PATCH through /data (Dataverse commits first) and one through /api/data (F&O first).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx2
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import bearer
from tests.dualwrite.conftest import Gateway, Sides
from tests.dualwrite.test_live import account_row, customer_row, organization

HOLD = 424_242
INTENTS = 'SELECT count(*) FROM "DUALWRITEINTENT"'


@contextlib.contextmanager
def _commit_held(sides: Sides, origin: str) -> Iterator[None]:
    """While inside, a COMMIT on the origin database cannot finish."""
    url = sides.fo_url if origin == "fo" else sides.dv_url
    if sides.name == "sqlite":
        reader = sqlite3.connect(str(make_url(url).database), isolation_level=None)
        reader.execute("BEGIN")
        reader.execute('SELECT count(*) FROM "DUALWRITEINTENT"').fetchall()  # a SHARED lock until ROLLBACK
        try:
            yield
        finally:
            reader.execute("ROLLBACK")
            reader.close()
        return
    table, run = ('"CUSTTABLE"', sides.fo_exec) if origin == "fo" else ("account", sides.dv_exec)
    run(f"""CREATE OR REPLACE FUNCTION dw_test_hold() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_advisory_xact_lock({HOLD}); RETURN NULL; END $$""")
    run(f"CREATE CONSTRAINT TRIGGER dw_test_hold AFTER UPDATE ON {table} DEFERRABLE INITIALLY DEFERRED "
        "FOR EACH ROW EXECUTE FUNCTION dw_test_hold()")
    engine = sides.fo if origin == "fo" else sides.dv
    holder = engine.connect()
    holder.exec_driver_sql(f"SELECT pg_advisory_lock({HOLD})")
    try:
        yield
        # The server is dead: the database ends its orphaned transaction (it would once it noticed).
        run("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND pid <> pg_backend_pid() AND datname = current_database()")
    finally:
        holder.exec_driver_sql(f"SELECT pg_advisory_unlock({HOLD})")
        holder.close()
        run(f"DROP TRIGGER IF EXISTS dw_test_hold ON {table}")


def _patch(url: str, body: dict[str, object]) -> None:
    try:
        httpx2.patch(url, json=body, headers=bearer(), timeout=30)
    except httpx2.HTTPError:
        pass  # the server dies under this request


@pytest.mark.e2e
@pytest.mark.parametrize("origin", ["fo", "dv"])
def test_sigkill_between_the_two_commits(sides: Sides, origin: str, tmp_path: Path) -> None:
    customer = organization(sides, 0 if origin == "fo" else 1)
    account = customer["account"]
    before_fo = Decimal(str(customer_row(sides, account).credit))
    before_dv = Decimal(str(account_row(sides, account).creditlimit))
    assert before_fo == before_dv
    gateway = Gateway(sides, tmp_path / "gateway.log", worker=False)
    gateway.start()
    if origin == "fo":
        path = f"/data/CustomersV3(dataAreaId='usmf',CustomerAccount='{account}')"
        body: dict[str, object] = {"CreditLimit": 9191}
    else:
        path = f"/api/data/v9.2/accounts({customer['accountid']})"
        body = {"creditlimit": 9191}

    def other_side() -> Decimal:
        row = account_row(sides, account) if origin == "fo" else customer_row(sides, account)
        return Decimal(str(row.creditlimit if origin == "fo" else row.credit))

    try:
        with _commit_held(sides, origin):
            threading.Thread(target=_patch, args=(gateway.url + path, body), daemon=True).start()
            deadline = time.monotonic() + 4  # within SQLite's busy timeout (5 s)
            while other_side() != 9191:
                assert time.monotonic() < deadline, "the other side never committed"
                time.sleep(0.01)
            gateway.kill()  # the other side committed; the origin's COMMIT waits: kill the process now
    finally:
        gateway.stop()
    origin_value = customer_row(sides, account).credit if origin == "fo" else account_row(sides, account).creditlimit
    assert Decimal(str(origin_value)) == before_fo  # the origin never committed ...
    assert other_side() == 9191  # ... the other side did
    left = (sides.fo_sql(INTENTS)[0][0], sides.dv_sql(INTENTS)[0][0])
    assert left == ((0, 1) if origin == "fo" else (1, 0))  # the intent, on the side that committed

    restarted = Gateway(sides, tmp_path / "restarted.log", worker=False)
    try:
        restarted.start()  # serving means start-up recovery is over
        assert other_side() == before_fo  # the other side holds the origin's state again
        assert (sides.fo_sql(INTENTS)[0][0], sides.dv_sql(INTENTS)[0][0]) == (0, 0)
        logged = sides.fo_sql('SELECT "CODE", "STATUS", "KIND" FROM "DUALWRITEERROR" WHERE "CODE" = \'OriginLost\'')
        assert [tuple(row) for row in logged][-1:] == [("OriginLost", "Resolved", "compensation")]
        # Afterwards the pair works as before, and nothing was left in the change logs.
        response = httpx2.patch(restarted.url + path, json={next(iter(body)): 9292}, headers=bearer(), timeout=30)
        assert response.status_code == 204, response.text
        assert Decimal(str(customer_row(sides, account).credit)) == 9292
        assert Decimal(str(account_row(sides, account).creditlimit)) == 9292
    finally:
        restarted.stop()
    assert (sides.fo_sql('SELECT count(*) FROM "DUALWRITECHANGES"')[0][0],
            sides.dv_sql('SELECT count(*) FROM "DUALWRITECHANGES"')[0][0]) == (0, 0)


@pytest.mark.e2e
def test_served_worker_applies_sql_changes_within_seconds(sides: Sides, tmp_path: Path) -> None:
    """`serve --dualwrite-worker`: a change another application makes with SQL reaches the other side
    within seconds, with no request to the gateway at all."""
    customer = organization(sides, 2)
    gateway = Gateway(sides, tmp_path / "gateway.log")
    try:
        gateway.start()
        started = time.monotonic()
        sides.dv_exec("UPDATE account SET address1_city = 'Spokane' WHERE accountid = :id", id=customer["accountid"])
        while customer_row(sides, customer["account"]).city != "Spokane":
            assert time.monotonic() - started < 10, "the served worker did not apply the change within 10 s"
            time.sleep(0.1)
    finally:
        gateway.stop()
    with sides.fo.connect() as connection:  # the stopped worker gave its lease back
        holders = connection.exec_driver_sql('SELECT count(*) FROM "DUALWRITELEASE"').scalar_one()
    assert holders == 0
