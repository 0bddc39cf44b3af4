"""A real gateway process (uvicorn) killed with SIGKILL between the two commits of a live sync.

The served process is told to wait between the two commits (gateway/faults.py: the other side has
committed, the origin has not), and the test kills it there; the database drops the orphaned
transaction as it does for any client that vanished. A new gateway process (without the dual-write
worker: start-up alone must do it) is started, and before it answers its first request the other side
holds the origin's state again, no intent record is left, and the error log says what happened
(OriginLost, Resolved). Both directions: a PATCH through /data (Dataverse commits first) and one through
/api/data (F&O first).
"""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from pathlib import Path

import httpx2
import pytest

from tests.conftest import bearer
from tests.dualwrite.conftest import Gateway, Sides
from tests.dualwrite.test_live import account_row, customer_row, organization

INTENTS = 'SELECT count(*) FROM "DUALWRITEINTENT"'


def _patch(url: str, body: dict[str, object]) -> None:
    try:
        httpx2.patch(url, json=body, headers=bearer(), timeout=60)
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
    gateway = Gateway(sides, tmp_path / "gateway.log", worker=False, faults="before-origin-commit=30")
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
        threading.Thread(target=_patch, args=(gateway.url + path, body), daemon=True).start()
        deadline = time.monotonic() + 20
        while other_side() != 9191:
            assert time.monotonic() < deadline, "the other side never committed"
            time.sleep(0.02)
        gateway.kill()  # the other side committed; the origin waits before its commit: kill the process now
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
