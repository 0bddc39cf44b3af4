"""`fno-gateway dualwrite initial-sync all` follows the documented execution order (legal entities and
currencies, units, groups, then masters, then documents; prerequisites first), prints its plan before
running, and `--plan` only prints it. The expected order is worked out here from the map files
themselves (YAML read directly), and what ran is read back from the output and the databases."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.cli import main
from gateway.demo.generate import build_demo_database
from gateway.settings import DEFAULT_MAPS

DOCUMENTED = ("reference", "units", "groups", "masters", "documents")


def map_files() -> dict[str, dict[str, Any]]:
    return {data["name"]: data for data in (yaml.safe_load(path.read_text(encoding="utf-8"))
                                            for path in sorted(Path(DEFAULT_MAPS).glob("*.yaml")))}


def plan_rows(output: str) -> list[tuple[int, str, str]]:
    """(step, stage, map) of each row of the printed plan (columns are separated by two spaces or more)."""
    rows = []
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.split("  ") if cell.strip()]
        if cells and cells[0].isdigit() and len(cells) >= 3 and cells[1] in DOCUMENTED:
            rows.append((int(cells[0]), cells[1], cells[2]))
    return rows


@pytest.fixture(scope="module")
def fo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("plan") / "fo.db"
    build_demo_database(f"sqlite:///{path}", scale=0.02, seed=3, progress=False)
    return path


def test_the_plan_is_the_documented_order(fo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dv = tmp_path / "dv.db"
    assert main(["dualwrite", "initial-sync", "all", "--plan", "--db", f"sqlite:///{fo_db}",
                 "--dataverse-db", f"sqlite:///{dv}"]) == 0
    rows = plan_rows(capsys.readouterr().out)
    files = map_files()
    assert [step for step, _, _ in rows] == list(range(1, len(files) + 1))
    names = [name for _, _, name in rows]
    assert sorted(names) == sorted(files)  # every map, once
    assert all(stage == files[name]["stage"] for _, stage, name in rows)
    stages = [DOCUMENTED.index(stage) for _, stage, _ in rows]
    assert stages == sorted(stages)  # stage by stage
    for name in names:  # prerequisites first
        assert all(names.index(required) < names.index(name) for required in files[name].get("requires", []))
    assert names[:2] == ["Legal entities", "Currencies"]  # "legal entities and currencies" open the plan
    assert names[-2:] == ["Sales order headers", "Sales order lines"]
    # --plan runs nothing: no Dataverse-side database, no dual-write tables on the F&O side
    assert not dv.exists()
    with sqlite3.connect(fo_db) as connection:
        assert not connection.execute("SELECT name FROM sqlite_master WHERE name LIKE 'DUALWRITE%'").fetchall()


def test_initial_sync_runs_the_plan_it_printed(fo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dv = tmp_path / "dv.db"
    arguments = ["--db", f"sqlite:///{fo_db}", "--dataverse-db", f"sqlite:///{dv}"]
    assert main(["dualwrite", "initial-sync", "Vendors V2", "Customers V3", "Legal entities", "Currencies",
                 "Customer groups", "Vendor groups", *arguments]) == 0
    output = capsys.readouterr().out
    planned = [name for _, _, name in plan_rows(output)]
    assert planned == ["Legal entities", "Currencies", "Customer groups", "Vendor groups", "Customers V3", "Vendors V2"]
    ran = [line.split(":", 1)[0] for line in output.splitlines() if line.endswith(" failed")]
    assert ran == planned  # printed first, then run in that order
    with sqlite3.connect(dv) as connection, sqlite3.connect(fo_db) as fo:
        accounts = connection.execute("SELECT count(*) FROM account").fetchone()[0]
        organizations = fo.execute("SELECT count(*) FROM CUSTTABLE c JOIN DIRPARTYTABLE p ON p.RECID = c.PARTY "
                                   "WHERE p.PARTYTYPE = 2").fetchone()[0]
        assert accounts == organizations > 0
        assert connection.execute("SELECT count(*) FROM salesorder").fetchone()[0] == 0  # only what was named


def test_a_map_cannot_require_a_later_stage(tmp_path: Path) -> None:
    from gateway.catalog.load import CatalogError, load_catalog
    from gateway.dualwrite.maps import load_maps
    from gateway.settings import DEFAULT_DATAVERSE_CATALOG
    from tests.conftest import repository_root

    for name in ("legal-entities.yaml", "customers.yaml", "customer-groups.yaml", "currencies.yaml"):
        (tmp_path / name).write_text((Path(DEFAULT_MAPS) / name).read_text(encoding="utf-8"), encoding="utf-8")
    groups = tmp_path / "customer-groups.yaml"
    groups.write_text(groups.read_text(encoding="utf-8").replace("requires: [Legal entities]",
                                                                 "requires: [Legal entities, Customers V3]"))
    with pytest.raises(CatalogError) as raised:
        load_maps(tmp_path, load_catalog(repository_root() / "entities" / "fno"), load_catalog(DEFAULT_DATAVERSE_CATALOG))
    (problem,) = [str(p) for p in raised.value.problems]
    assert "customer-groups.yaml" in problem and "requires 'Customers V3' of the later stage 'masters'" in problem
