"""`fno-gateway link` and `unlink`: provisioning an empty Dataverse-side database, the link's record
(DUALWRITEENVIRONMENTLINK, DUALWRITELINKSTEP), resuming after a failure, refusing a second Dataverse
side, removing the store without touching F&O data, and the record at /admin/data/EnvironmentLinks.

Every check reads the physical tables with hand-written SQL; the maps expected are those of the maps
folder at run time (their YAML `name:`), never a list written here.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, create_engine, text

from gateway.app import create_app
from gateway.cli import _start_demo_dualwrite, main
from gateway.demo.generate import build_demo_database
from gateway.dualwrite.linkrecord import masked
from gateway.faults import FAIL_ENVIRONMENT
from gateway.settings import DEFAULT_MAPS, Settings
from tests.conftest import TEST_DEV_KEY, bearer, client_for, create_server_database, repository_root
from tests.dualwrite.conftest import DUALWRITE_BACKENDS, SCALE, fresh_database

STEPS = ["reach", "versions", "identities", "dataverse-tables", "control-tables", "maps", "initial-sync", "start"]
FAILING_MAP = "Customers V3"  # DOMAIN.md §4: it has prerequisites, so some maps are done before it fails


def map_names() -> set[str]:
    return {yaml.safe_load(path.read_text())["name"] for path in Path(DEFAULT_MAPS).glob("*.yaml")}


@dataclass
class Pair:
    backend: str
    fo_url: str
    dv_url: str
    fo: Engine
    dv: Engine

    def fo_sql(self, statement: str, **parameters: Any) -> list[Any]:
        with self.fo.connect() as connection:
            return list(connection.execute(text(statement), parameters))

    def dv_sql(self, statement: str, **parameters: Any) -> list[Any]:
        with self.dv.connect() as connection:
            return list(connection.execute(text(statement), parameters))

    def arguments(self, dv_url: str | None = None) -> list[str]:
        return ["--db", self.fo_url, "--dataverse-db", dv_url or self.dv_url, "--dev-key", str(TEST_DEV_KEY)]

    def link(self, capsys: pytest.CaptureFixture[str], *extra: str, command: str = "link") -> tuple[int, str, str]:
        code = main([command, *self.arguments(), *extra])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    def tables(self, engine: Engine) -> set[str]:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                rows = connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))
            else:
                rows = connection.execute(text("SELECT table_name FROM information_schema.tables "
                                               "WHERE table_schema = 'public'"))
            return {row[0] for row in rows}

    def capture_triggers(self, engine: Engine) -> set[str]:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                rows = connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                               "AND name LIKE 'dw_capture_%'"))
            else:
                rows = connection.execute(text("SELECT tgname FROM pg_trigger WHERE tgname LIKE 'dw_capture_%'"))
            return {row[0] for row in rows}

    def link_rows(self) -> list[Any]:
        return self.fo_sql('SELECT "SEQ", "STATE", "FOURL", "DVURL", "STEP", "FAILEDSTEP", "REASON", "UPDATEDAT", '
                           '"LINKEDAT", "UNLINKEDAT" FROM "DUALWRITEENVIRONMENTLINK" ORDER BY "SEQ"')

    def steps(self, link_id: int) -> dict[str, Any]:
        rows = self.fo_sql('SELECT "STEP", "STATUS", "ATTEMPTS", "STARTEDAT", "FINISHEDAT", "DETAIL" '
                           'FROM "DUALWRITELINKSTEP" WHERE "LINKID" = :i ORDER BY "POSITION"', i=link_id)
        return {row.STEP: row for row in rows}

    def map_states(self) -> dict[str, Any]:
        return {row.MAPNAME: row for row in self.fo_sql(
            'SELECT "MAPNAME", "STATE", "INITIALSYNC", "INITIALCOUNTS" FROM "DUALWRITEMAP"')}

    def fo_checksums(self) -> dict[str, tuple[int, str]]:
        """Every F&O table but dual-write's own: its row count and a digest of its rows, in key order."""
        sums = {}
        for table in sorted(self.tables(self.fo)):
            if table.upper().startswith("DUALWRITE"):
                continue
            rows = sorted(repr(tuple(row)) for row in self.fo_sql(f'SELECT * FROM "{table}"'))
            sums[table] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
        return sums


@pytest.fixture(params=DUALWRITE_BACKENDS)
def pair(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Pair]:
    """A demo F&O database and an EMPTY Dataverse-side database (no table at all)."""
    name = request.node.name.split("[")[0].removeprefix("test_")[:20]
    try:
        fo_url = fresh_database(request.param, f"lk_fo_{name}", tmp_path)
        dv_url = fresh_database(request.param, f"lk_dv_{name}", tmp_path)
    except Exception as error:
        pytest.skip(f"{request.param} server not reachable ({type(error).__name__}: {str(error).splitlines()[0]})")
    build_demo_database(fo_url, scale=SCALE, seed=7, progress=False)
    opened = Pair(request.param, fo_url, dv_url, create_engine(fo_url), create_engine(dv_url))
    yield opened
    opened.fo.dispose()
    opened.dv.dispose()


def test_link_provisions_an_empty_store_and_a_second_run_changes_nothing(
        pair: Pair, capsys: pytest.CaptureFixture[str]) -> None:
    assert pair.tables(pair.dv) == set()
    code, out, err = pair.link(capsys)
    assert code == 0, out + err
    assert out.splitlines()[-1] == "linked (EnvironmentLinks(1) at /admin/data)"
    (row,) = pair.link_rows()
    assert (row.STATE, row.STEP, row.FAILEDSTEP, row.REASON) == ("Linked", "start", None, None)
    assert (row.FOURL, row.DVURL) == (masked(pair.fo_url), masked(pair.dv_url))
    steps = pair.steps(row.SEQ)
    assert list(steps) == STEPS
    assert all(step.STATUS == "Done" and step.ATTEMPTS == 1 and step.FINISHEDAT >= step.STARTEDAT
               for step in steps.values())
    # Every map of the folder Running after its initial sync, and the rows copied (checked for two maps).
    states = pair.map_states()
    assert set(states) == map_names()
    assert all((state.STATE, state.INITIALSYNC) == ("Running", "Done") for state in states.values())
    assert pair.dv_sql("SELECT count(*) FROM uom")[0][0] == pair.fo_sql('SELECT count(*) FROM "UNITOFMEASURE"')[0][0]
    assert (pair.dv_sql("SELECT count(*) FROM account")[0][0]
            == pair.fo_sql('SELECT count(*) FROM "CUSTTABLE" c JOIN "DIRPARTYTABLE" p ON p."RECID" = c."PARTY" '
                           'WHERE p."PARTYTYPE" = 2')[0][0])  # DirPartyType 2: Organization

    # A second run, as a real process: "already linked", exit 0, and not one row of the record changes.
    before = (pair.link_rows(), pair.steps(row.SEQ), pair.map_states(), pair.dv_sql("SELECT count(*) FROM account"))
    second = subprocess.run([sys.executable, "-m", "gateway.cli", "link", *pair.arguments()], capture_output=True,
                            text=True, cwd=repository_root(), timeout=120)
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith(f"{masked(pair.fo_url)} is already linked to {masked(pair.dv_url)} (since ")
    assert second.stdout.rstrip().endswith("nothing to do")
    assert (pair.link_rows(), pair.steps(row.SEQ), pair.map_states(),
            pair.dv_sql("SELECT count(*) FROM account")) == before

    # Another Dataverse-side URL while linked: refused, saying how, and nothing recorded.
    other = pair.dv_url.replace("lk_dv_", "lk_other_") if pair.backend != "sqlite" else pair.dv_url + "x"
    code = main(["link", *pair.arguments(other)])
    captured = capsys.readouterr()
    assert code == 1
    assert f"is linked to {masked(pair.dv_url)} (Linked), not {masked(other)}" in captured.err
    assert "fno-gateway unlink" in captured.err
    assert pair.link_rows() == before[0]

    # A map the link does not know yet (a newer gateway ships it: here its state row and copy are
    # removed by hand) joins the linked pair on the next run: copied, then Running; the others untouched.
    rates = 'SELECT count(*) FROM "EXCHANGERATE"'
    with pair.fo.begin() as connection:
        connection.execute(text('DELETE FROM "DUALWRITEMAP" WHERE "MAPNAME" = \'Currency exchange rates\''))
    with pair.dv.begin() as connection:
        connection.execute(text("DELETE FROM msdyn_currencyexchangerate"))
    others = {name: state for name, state in pair.map_states().items()}
    code, out, err = pair.link(capsys)
    assert code == 0, out + err
    assert "1 map(s) added since the link: Currency exchange rates" in out
    states = pair.map_states()
    assert (states["Currency exchange rates"].STATE, states["Currency exchange rates"].INITIALSYNC) == ("Running", "Done")
    assert {name: state for name, state in states.items() if name in others} == others
    assert pair.dv_sql("SELECT count(*) FROM msdyn_currencyexchangerate")[0][0] == pair.fo_sql(rates)[0][0] > 0


def test_a_failed_link_resumes_at_the_step_that_failed(pair: Pair, capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FAIL_ENVIRONMENT, f"link:initial-sync:{FAILING_MAP}")
    code, out, _ = pair.link(capsys)
    assert code == 1
    assert f"FAILED: injected failure at link:initial-sync:{FAILING_MAP}" in out
    assert "run `fno-gateway link` again" in out
    (row,) = pair.link_rows()
    assert (row.STATE, row.STEP, row.FAILEDSTEP) == ("Failed", "maps", "initial-sync")
    assert f"link:initial-sync:{FAILING_MAP}" in row.REASON
    first = pair.steps(row.SEQ)
    assert [name for name, step in first.items() if step.STATUS == "Done"] == STEPS[:6]
    assert (first["initial-sync"].STATUS, first["start"].STATUS) == ("Failed", "Pending")
    states = pair.map_states()
    synced = {name for name, state in states.items() if state.INITIALSYNC == "Done"}
    assert "Legal entities" in synced and FAILING_MAP not in synced  # its prerequisites were copied first
    assert all(states[name].STATE == "Paused" for name in synced)  # their changes queue meanwhile
    companies = pair.dv_sql("SELECT cdm_companyid, versionnumber FROM cdm_company ORDER BY 1")

    monkeypatch.delenv(FAIL_ENVIRONMENT)
    code, out, _ = pair.link(capsys)
    assert code == 0, out
    assert out.splitlines()[0] == (f"resuming the link of {masked(pair.fo_url)} to {masked(pair.dv_url)} "
                                   "at step initial-sync (6 step(s) done before)")
    assert f"initial-sync      {len(map_names()) - len(synced)} map(s) copied, {len(synced)} done before" in out
    (row,) = pair.link_rows()
    assert (row.STATE, row.STEP, row.FAILEDSTEP, row.REASON) == ("Linked", "start", None, None)
    second = pair.steps(row.SEQ)
    for name in STEPS[:6]:  # the steps done before were not run again
        assert (second[name].ATTEMPTS, second[name].STARTEDAT, second[name].FINISHEDAT) == (
            1, first[name].STARTEDAT, first[name].FINISHEDAT), name
    assert (second["initial-sync"].STATUS, second["initial-sync"].ATTEMPTS) == ("Done", 2)
    assert second["start"].ATTEMPTS == 1
    after = pair.map_states()
    for name in synced:  # nor were the maps copied before: same counts, same Dataverse row versions
        assert after[name].INITIALCOUNTS == states[name].INITIALCOUNTS
    assert pair.dv_sql("SELECT cdm_companyid, versionnumber FROM cdm_company ORDER BY 1") == companies
    assert all((state.STATE, state.INITIALSYNC) == ("Running", "Done") for state in after.values())
    assert set(after) == map_names()


def test_unlink_removes_the_store_and_never_touches_fo_data(pair: Pair, capsys: pytest.CaptureFixture[str]) -> None:
    assert pair.link(capsys)[0] == 0
    fo_tables = pair.tables(pair.fo)
    assert pair.capture_triggers(pair.fo) and pair.capture_triggers(pair.dv)
    assert pair.fo_sql('SELECT count(*) FROM "DUALWRITEMAP"')[0][0] == len(map_names())
    checksums = pair.fo_checksums()

    code, out, _ = pair.link(capsys, command="unlink")
    assert code == 0
    assert out.startswith(f"unlinked {masked(pair.fo_url)} from {masked(pair.dv_url)}: ")
    assert out.rstrip().endswith("F&O data untouched")
    assert pair.tables(pair.dv) == set()  # the whole store and dual-write's change log there
    assert pair.capture_triggers(pair.fo) == set() and pair.capture_triggers(pair.dv) == set()
    assert pair.tables(pair.fo) == fo_tables  # nothing dropped on the F&O side
    assert pair.fo_checksums() == checksums  # F&O business data untouched, to the byte
    for table in ("DUALWRITEMAP", "DUALWRITEQUEUE", "DUALWRITEERROR", "DUALWRITECHANGES"):
        assert pair.fo_sql(f'SELECT count(*) FROM "{table}"')[0][0] == 0, table
    (row,) = pair.link_rows()
    assert row.STATE == "Unlinked" and row.UNLINKEDAT is not None and row.LINKEDAT is not None
    # Nothing captures F&O changes any more.
    with pair.fo.begin() as connection:
        connection.execute(text('UPDATE "CUSTTABLE" SET "CREDITMAX" = 4321 WHERE "DATAAREAID" = \'usmf\''))
    assert pair.fo_sql('SELECT count(*) FROM "DUALWRITECHANGES"')[0][0] == 0
    # A second unlink has nothing to do; a new link provisions again, as link 2 (link 1 stays, Unlinked).
    code, out, _ = pair.link(capsys, command="unlink")
    assert code == 0 and out.rstrip().endswith("is not linked: nothing to do")
    assert pair.link(capsys)[0] == 0
    assert [(row.SEQ, row.STATE) for row in pair.link_rows()] == [(1, "Unlinked"), (2, "Linked")]
    assert pair.dv_sql("SELECT count(*) FROM account WHERE creditlimit = 4321")[0][0] > 0


def test_environment_links_at_the_admin_service(pair: Pair, capsys: pytest.CaptureFixture[str]) -> None:
    fo_url = pair.fo_url
    if pair.backend == "postgresql":  # the server trusts local connections: a password it ignores
        fo_url = fo_url.replace("postgres@", "postgres:s3cret@")
    assert main(["link", "--db", fo_url, "--dataverse-db", pair.dv_url, "--dev-key", str(TEST_DEV_KEY)]) == 0
    capsys.readouterr()
    app = create_app(Settings(db=pair.fo_url, dataverse_db=pair.dv_url, dev_key=str(TEST_DEV_KEY)))
    with client_for(app) as client:
        answer = client.get("/admin/data/EnvironmentLinks(1)?$expand=Steps($orderby=Position;$select=Step,Status,"
                            "Attempts,StartedAt,FinishedAt)")
        assert answer.status_code == 200, answer.text
        body = answer.json()
        (row,) = pair.link_rows()
        assert (body["State"], body["DataverseUrl"], body["FinanceAndOperationsUrl"]) == (
            "Linked", row.DVURL, row.FOURL)
        assert "s3cret" not in answer.text
        if pair.backend == "postgresql":
            assert "postgres:***@" in body["FinanceAndOperationsUrl"]
        version = pair.fo_sql('SELECT "FOVERSION", "DVVERSION" FROM "DUALWRITEENVIRONMENTLINK"')[0]
        assert (body["FinanceAndOperationsVersion"], body["DataverseVersion"]) == tuple(version)
        assert body["FinanceAndOperationsVersion"].startswith(pair.backend)
        assert [step["Step"] for step in body["Steps"]] == STEPS
        # The link's identity, stamped on the Dataverse side too.
        guid = pair.fo_sql('SELECT "LINKGUID" FROM "DUALWRITEENVIRONMENTLINK"')[0][0]
        assert body["EnvironmentLinkGuid"] == guid == pair.dv_sql('SELECT "LINKGUID" FROM "DUALWRITELINKIDENTITY"')[0][0]
        assert all(step["Status"] == "Done" and step["Attempts"] == 1 and step["FinishedAt"] for step in body["Steps"])
        reader = client.get("/admin/data/EnvironmentLinks", headers=bearer("reader", roles=("DataReader",)))
        assert reader.status_code == 403, reader.text
        steps = client.get("/admin/data/EnvironmentLinkSteps?$filter=Step eq 'initial-sync'&$select=Detail").json()
        assert steps["value"][0]["Detail"].startswith(f"{len(map_names())} map(s) copied")
    app.state.engine.dispose()
    app.state.dualwrite.dv.engine.dispose()


def test_masked_urls_hide_the_password_and_name_sqlite_files_absolutely(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    assert masked("postgresql://u:secret@db.example.com:5432/fo") == "postgresql+psycopg://u:***@db.example.com:5432/fo"
    monkeypatch.chdir(tmp_path)
    assert masked("sqlite:///dv.db") == masked(f"sqlite:///{tmp_path / 'dv.db'}") == f"sqlite:///{tmp_path / 'dv.db'}"


def test_a_side_that_cannot_capture_changes_fails_the_versions_step(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A real failure (not an injected one): a MariaDB Dataverse side is reachable but has no change capture."""
    try:
        dv_url = create_server_database("mariadb", "lk_dv_mariadb")
    except Exception as error:
        pytest.skip(f"mariadb server not reachable ({type(error).__name__})")
    fo_url = f"sqlite:///{tmp_path / 'fo.db'}"
    build_demo_database(fo_url, scale=SCALE, seed=7, progress=False)
    assert main(["link", "--db", fo_url, "--dataverse-db", dv_url]) == 1
    out = capsys.readouterr().out
    assert re.search(r"versions +FAILED: dual-write captures changes on sqlite and postgresql; "
                     "the Dataverse-side database is mysql", out), out
    engine = create_engine(fo_url)
    with engine.connect() as connection:
        row = connection.execute(text('SELECT "STATE", "STEP", "FAILEDSTEP", "REASON" FROM "DUALWRITEENVIRONMENTLINK"')).one()
        statuses: dict[str, str] = dict(connection.execute(text('SELECT "STEP", "STATUS" FROM "DUALWRITELINKSTEP"')).all())
    engine.dispose()
    assert (row.STATE, row.STEP, row.FAILEDSTEP) == ("Failed", "reach", "versions")
    assert "the Dataverse-side database is mysql" in row.REASON
    assert statuses == {"reach": "Done", "versions": "Failed", **{name: "Pending" for name in STEPS[2:]}}


def test_a_dataverse_side_belongs_to_one_link(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first, second, dv = (f"sqlite:///{tmp_path / name}" for name in ("fo1.db", "fo2.db", "dv.db"))
    for url in (first, second):
        build_demo_database(url, scale=SCALE, seed=7, progress=False)
    assert main(["link", "--db", first, "--dataverse-db", dv]) == 0
    capsys.readouterr()
    # Another F&O database onto the same Dataverse side: refused by the identities step, nothing written there.
    engine = create_engine(dv)
    with engine.connect() as connection:
        accounts = connection.execute(text("SELECT count(*) FROM account")).scalar_one()
    assert main(["link", "--db", second, "--dataverse-db", dv]) == 1
    out = capsys.readouterr().out
    assert re.search(r"identities +FAILED: the Dataverse-side database belongs to another link \(of "
                     + re.escape(masked(first)) + r"\)", out), out
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM account")).scalar_one() == accounts
        assert connection.execute(text('SELECT "FOURL" FROM "DUALWRITELINKIDENTITY"')).scalar_one() == masked(first)
    engine.dispose()
    # The first link's Dataverse side deleted: "already linked" would be a lie, so link says what happened.
    (tmp_path / "dv.db").unlink()
    assert main(["link", "--db", first, "--dataverse-db", dv]) == 1
    err = capsys.readouterr().err
    assert f"is linked to {masked(dv)}, but that database is gone: run `fno-gateway unlink`" in err
    assert not (tmp_path / "dv.db").exists()


def test_the_demo_starts_linked_through_link(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fo_url = f"sqlite:///{tmp_path / 'fno-demo.db'}"
    build_demo_database(fo_url, scale=SCALE, seed=7, progress=False)
    settings = Settings(db=fo_url, dev_key=str(TEST_DEV_KEY))  # the Dataverse side: fno-demo-dataverse.db beside
    _start_demo_dualwrite(settings)
    assert "linked (EnvironmentLinks(1) at /admin/data)" in capsys.readouterr().err
    engine = create_engine(fo_url)
    with engine.connect() as connection:
        assert connection.execute(text('SELECT "STATE" FROM "DUALWRITEENVIRONMENTLINK"')).scalar_one() == "Linked"
        states: dict[str, str] = dict(connection.execute(text('SELECT "MAPNAME", "STATE" FROM "DUALWRITEMAP"')).all())
    engine.dispose()
    assert states == {name: "Running" for name in map_names()}
    assert (tmp_path / "fno-demo-dataverse.db").exists()
    _start_demo_dualwrite(settings)  # the next start: one line, nothing done
    assert "is already linked to" in capsys.readouterr().err
    (tmp_path / "fno-demo-dataverse.db").unlink()  # a user resetting the demo's Dataverse side
    _start_demo_dualwrite(settings)
    assert "but that database is gone" in capsys.readouterr().err
    engine = create_engine(fo_url)
    with engine.connect() as connection:
        links = connection.execute(text('SELECT "SEQ", "STATE" FROM "DUALWRITEENVIRONMENTLINK" ORDER BY 1')).all()
        running = connection.execute(text('SELECT count(*) FROM "DUALWRITEMAP" WHERE "STATE" = \'Running\'')).scalar()
    engine.dispose()
    assert [tuple(row) for row in links] == [(1, "Unlinked"), (2, "Linked")] and running == len(map_names())
    dv = create_engine(f"sqlite:///{tmp_path / 'fno-demo-dataverse.db'}")
    with dv.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM cdm_company")).scalar_one() > 0
    dv.dispose()


def test_a_missing_fo_database_is_refused_not_created(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "typo.db"
    assert main(["link", "--db", f"sqlite:///{missing}", "--dataverse-db", f"sqlite:///{tmp_path / 'dv.db'}"]) == 1
    assert f"there is no F&O database at sqlite:///{missing}" in capsys.readouterr().err
    assert not missing.exists() and not (tmp_path / "dv.db").exists()


def test_one_link_at_a_time(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fo_url, dv_url = f"sqlite:///{tmp_path / 'fo.db'}", f"sqlite:///{tmp_path / 'dv.db'}"
    build_demo_database(fo_url, scale=SCALE, seed=7, progress=False)
    assert main(["unlink", "--db", fo_url, "--dataverse-db", dv_url]) == 0  # (makes the control tables)
    engine = create_engine(fo_url)
    with engine.begin() as connection:  # a `link` running on another machine holds the lease
        connection.execute(text('INSERT INTO "DUALWRITELEASE" ("NAME", "HOLDER", "EXPIRES") VALUES '
                                "('environment-link', 'elsewhere:4242:0badcafe', '2999-01-01 00:00:00')"))
    capsys.readouterr()
    assert main(["link", "--db", fo_url, "--dataverse-db", dv_url]) == 1
    assert ("another `fno-gateway link` or `unlink` of this F&O database is running (elsewhere:4242:0badcafe)"
            in capsys.readouterr().err)
    with engine.connect() as connection:
        assert connection.execute(text('SELECT count(*) FROM "DUALWRITEENVIRONMENTLINK"')).scalar_one() == 0
    with engine.begin() as connection:
        connection.execute(text('DELETE FROM "DUALWRITELEASE"'))
    engine.dispose()
    assert main(["link", "--db", fo_url, "--dataverse-db", dv_url]) == 0
