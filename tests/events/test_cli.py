"""`fno-gateway events ...` as users type it: endpoints and activations written through the /data write
path (its checks included), the test event, one worker pass, the state table; read back with SQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cli import main
from tests.contract import FNO_ENTITY_SETS
from tests.events.conftest import EventsDb, Receiver, open_events_db


@pytest.fixture
def db(tmp_path: Path) -> EventsDb:
    return open_events_db("sqlite", tmp_path)


def run(db: EventsDb, capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    code = main(["events", *arguments, "--db", db.url])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_configure_test_and_inspect_from_the_command_line(db: EventsDb, receiver: Receiver,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(db, capsys, "catalog")
    assert code == 0 and "CustomerCreditLimitChangedBusinessEvent" in out and "CustomersV3_Updated" not in out
    business = len([line for line in out.splitlines()[1:] if line.strip()])
    code, out, _ = run(db, capsys, "catalog", "--data")
    # Created, Updated and Deleted of every F&O entity with data events (business events' own sets have none)
    entities = len(FNO_ENTITY_SETS) - 3
    assert len([line for line in out.splitlines()[1:] if line.strip()]) == business + 3 * entities
    assert run(db, capsys, "add-endpoint", "hook", receiver.url, "--header", "X-Team=finance")[0] == 0
    assert db.sql('SELECT "URL", "HEADERS", "ENDPOINTTYPE" FROM "BUSINESSEVENTENDPOINT"') == [
        (receiver.url, '{"X-Team": "finance"}', 0)]
    code, _, err = run(db, capsys, "activate", "NoSuchEvent", "hook")
    assert code == 1 and "NoSuchEvent" in err  # the write path's reference check, as a 400 would say
    code, out, _ = run(db, capsys, "activate", "CustomerOnHoldBusinessEvent", "hook", "--legal-entity", "USMF")
    assert code == 0 and out.startswith("ACT-000001: CustomerOnHoldBusinessEvent -> hook (usmf)")
    assert db.sql('SELECT "ACTIVATIONID", "LEGALENTITY" FROM "BUSINESSEVENTACTIVATION"') == [("ACT-000001", "usmf")]
    code, out, _ = run(db, capsys, "test", "hook")
    assert code == 0 and "ControlNumber 1" in out
    db.run('UPDATE "CUSTTABLE" SET "BLOCKED" = 2 WHERE "RECID" = (SELECT min("RECID") FROM "CUSTTABLE" '
           'WHERE "DATAAREAID" = \'usmf\' AND "BLOCKED" <> 2)')
    assert run(db, capsys, "worker", "--once")[0] == 0
    received = [event["Body"] for event in receiver.events()]
    assert [(event["ControlNumber"], event["BusinessEventId"]) for event in received] == [
        (1, "BusinessEventsTestEndpointContract"), (2, "CustomerOnHoldBusinessEvent")]
    assert received[1]["OnHoldStatus"] == "All"
    assert all(event["Headers"]["x-team"] == "finance" for event in receiver.events())
    code, out, _ = run(db, capsys, "endpoints")
    row = next(line for line in out.splitlines() if line.startswith("hook"))
    assert row.split()[3:7] == ["3", "0", "0", "2"]  # next control, backlog, failed, delivered
    assert "data-event budget: 0 of 5,000" in out
    assert run(db, capsys, "deactivate", "ACT-000001")[0] == 0
    assert run(db, capsys, "remove-endpoint", "hook")[0] == 0
    assert db.sql('SELECT count(*) FROM "BUSINESSEVENTENDPOINT"') == [(0,)]
    assert db.sql('SELECT count(*) FROM sqlite_master WHERE type = \'trigger\' AND name LIKE \'fnoev%\'') == [(0,)]
