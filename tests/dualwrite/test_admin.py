"""Administration: `fno-gateway dualwrite ...` and the read-only admin OData endpoint (/admin/data),
both checked against dual-write's tables read with plain SQL."""

from __future__ import annotations

import subprocess
import sys

import pytest

from gateway.cli import main
from gateway.dualwrite.store import PAUSED, RUNNING
from tests.dualwrite.conftest import Sides
from tests.dualwrite.test_live import organization

CUSTOMERS = "Customers V3"


def cli(sides: Sides, capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str]:
    code = main(["dualwrite", *arguments, "--db", sides.fo_url, "--dataverse-db", sides.dv_url])
    return code, capsys.readouterr().out


def test_list_and_status(sides: Sides, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = cli(sides, capsys, "list")
    assert code == 0 and "Customers V3" in out and "accounts" in out and "↔" in out
    code, out = cli(sides, capsys, "status")
    lines = {line.split("  ")[0]: line for line in out.splitlines()[1:]}
    assert set(lines) == set(sides.dual.maps.maps)
    assert all(" Running " in line for line in lines.values())


def test_pause_resume_through_the_cli(sides: Sides, capsys: pytest.CaptureFixture[str]) -> None:
    account = organization(sides, 0)["account"]
    assert cli(sides, capsys, "pause", CUSTOMERS)[0] == 0
    assert sides.fo_sql('SELECT "STATE" FROM "DUALWRITEMAP" WHERE "MAPNAME" = :m', m=CUSTOMERS)[0][0] == PAUSED
    sides.fo_exec('UPDATE "CUSTTABLE" SET "CREDITMAX" = 555 WHERE "DATAAREAID" = \'usmf\' AND "ACCOUNTNUM" = :a',
                  a=account)
    code, out = cli(sides, capsys, "run", "--once")
    assert code == 0 and "handled" in out
    queued = sides.fo_sql('SELECT count(*) FROM "DUALWRITEQUEUE" WHERE "MAPNAME" = :m', m=CUSTOMERS)[0][0]
    assert queued == 1
    body = sides.client.get("/admin/data/DualWriteMaps('Customers V3')?$expand=Queue/$count").json()
    assert (body["State"], body["Queue@odata.count"]) == (PAUSED, 1)
    code, out = cli(sides, capsys, "resume", CUSTOMERS)
    assert code == 0 and "1 queued change(s) replay in order" in out
    cli(sides, capsys, "run", "--once")
    assert sides.dv_sql("SELECT creditlimit FROM account WHERE accountnumber = :a", a=account)[0][0] == 555
    assert cli(sides, capsys, "resume", CUSTOMERS)[0] == 1  # not paused any more: a clear refusal


def test_errors_and_retry(sides: Sides, capsys: pytest.CaptureFixture[str]) -> None:
    customer = organization(sides, 1)
    group = sides.fo_sql('SELECT "CUSTGROUP" FROM "CUSTGROUP" WHERE "DATAAREAID" = \'usmf\' AND "CUSTGROUP" <> ('
                         'SELECT "CUSTGROUP" FROM "CUSTTABLE" WHERE "DATAAREAID" = \'usmf\' AND "ACCOUNTNUM" = :a) '
                         'ORDER BY 1', a=customer["account"])[0][0]
    saved = sides.dv_sql("SELECT * FROM msdyn_customergroup WHERE msdyn_groupid = :g", g=group)
    sides.dv_exec("DELETE FROM msdyn_customergroup WHERE msdyn_groupid = :g", g=group)
    sides.fo_exec('UPDATE "CUSTTABLE" SET "CUSTGROUP" = :g WHERE "DATAAREAID" = \'usmf\' AND "ACCOUNTNUM" = :a',
                  g=group, a=customer["account"])
    sides.drain()
    code, out = cli(sides, capsys, "errors", "--map", CUSTOMERS)
    assert "async" in out and "msdyn_customergroup" in out
    admin = sides.client.get("/admin/data/DualWriteErrors?$filter=Status eq 'Open' and Kind eq 'async'").json()
    assert len(admin["value"]) >= 1 and admin["value"][0]["MapName"] == CUSTOMERS
    code, out = cli(sides, capsys, "retry", "--map", CUSTOMERS)
    assert code == 1 and "still failing" in out  # the group is still missing
    for row in saved:  # the group comes back (as an administrator would fix it)
        sides.dv_exec("INSERT INTO msdyn_customergroup (msdyn_customergroupid, msdyn_groupid, msdyn_description, "
                      "msdyn_paymenttermid, msdyn_company, createdon, modifiedon, versionnumber) VALUES "
                      "(:a, :b, :c, :d, :e, :f, :g, :h)", a=row[0], b=row[1], c=row[2], d=row[3], e=row[4], f=row[5],
                      g=row[6], h=row[7])
    code, out = cli(sides, capsys, "retry", "--map", CUSTOMERS)
    assert code == 0 and "0 still failing" in out
    linked = sides.dv_sql("SELECT g.msdyn_groupid FROM account a JOIN msdyn_customergroup g "
                          "ON g.msdyn_customergroupid = a.msdyn_customergroupid WHERE a.accountid = :id",
                          id=customer["accountid"])
    assert linked[0][0] == group


def test_retry_never_replays_a_refused_live_change_over_a_newer_one(sides: Sides,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """A live change the client was refused kept nothing anywhere: the error log says so (Refused), and
    `retry` leaves it alone. Replaying it pushed the account's old row over a newer, acknowledged F&O
    change that waited on the retry list, and both sides ended with the old value."""
    customer = organization(sides, 2)
    refused = sides.client.patch(f"/api/data/v9.2/accounts({customer['accountid']})", json={"accountnumber": "US-XYZ"})
    assert refused.status_code == 400, refused.text  # the integration key cannot change
    logged = sides.fo_sql('SELECT "KIND", "STATUS" FROM "DUALWRITEERROR" ORDER BY "SEQ" DESC')[0]
    assert tuple(logged) == ("live", "Refused")
    assert cli(sides, capsys, "pause", CUSTOMERS)[0] == 0
    try:
        written = sides.client.patch(f"/data/CustomersV3(dataAreaId='usmf',CustomerAccount='{customer['account']}')",
                                     json={"CreditLimit": 4444})
        assert written.status_code == 204, written.text
        sides.drain()  # the worker queues it behind the pause
    finally:
        assert cli(sides, capsys, "resume", CUSTOMERS, "--retry-list")[0] == 0
    code, out = cli(sides, capsys, "retry", "--map", CUSTOMERS)
    assert code == 0 and out.startswith("1 applied, 0 still failing"), out  # the queued change only
    credit = sides.fo_sql('SELECT "CREDITMAX" FROM "CUSTTABLE" WHERE "DATAAREAID" = \'usmf\' AND "ACCOUNTNUM" = :a',
                          a=customer["account"])[0][0]
    account = sides.dv_sql("SELECT creditlimit FROM account WHERE accountid = :id", id=customer["accountid"])[0][0]
    assert (float(credit), float(account)) == (4444, 4444)


def test_admin_endpoint_is_read_only(sides: Sides) -> None:
    response = sides.client.patch("/admin/data/DualWriteMaps('Customers V3')", json={"State": "Stopped"})
    assert response.status_code == 405
    assert sides.dual.states()[CUSTOMERS] == RUNNING


def test_console_script(sides: Sides) -> None:
    result = subprocess.run([sys.executable, "-m", "gateway.cli", "dualwrite", "jobs", "--db", sides.fo_url,
                             "--dataverse-db", sides.dv_url], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].split() == ["job", "status", "rows", "applied", "failed", "updated"]


def test_shipped_catalogs_match_the_databases(sides: Sides, capsys: pytest.CaptureFixture[str]) -> None:
    from gateway.settings import DEFAULT_DATAVERSE_CATALOG

    admin = DEFAULT_DATAVERSE_CATALOG.parent / "admin"
    assert main(["check", "--db", sides.dv_url, "--entities", str(DEFAULT_DATAVERSE_CATALOG)]) == 0
    assert main(["check", "--db", sides.fo_url, "--entities", str(admin)]) == 0
    shipped = len(list((DEFAULT_DATAVERSE_CATALOG / "entities").glob("*.yaml")))  # one table per file
    assert f"{shipped} entity sets checked" in capsys.readouterr().out
