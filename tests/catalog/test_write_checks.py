"""A catalog the runtime cannot write through is refused when it loads (and by `fno-gateway check`),
with file:line problems: an empty row_version or row_id, no sequence table, a default that is no value
of its property, a column name left empty, an enum without members. Before, such a catalog loaded,
read fine, and every write answered 500 (an INSERT naming a column "")."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, delete

from gateway.catalog.check import check_catalog
from gateway.catalog.load import DEFAULT_CATALOG, CatalogError, CatalogProblem, load_catalog
from gateway.cli import main
from gateway.demo import schema
from gateway.demo.generate import build_demo_database

ROOT = Path(__file__).resolve().parents[2]


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "catalog"
    shutil.copytree(DEFAULT_CATALOG, folder)
    return folder


def _edit(path: Path, old: str, new: str) -> int:
    """Replace `old` (once) by `new` in the file; the line number where `new` starts."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} must occur once in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return text[: text.index(old)].count("\n") + 1


def _problems(folder: Path) -> list[CatalogProblem]:
    with pytest.raises(CatalogError) as refused:
        load_catalog(folder)
    return refused.value.problems


def _at(problems: list[CatalogProblem], path: Path, line: int) -> list[str]:
    return [problem.message for problem in problems if Path(problem.file) == path and problem.line == line]


@pytest.mark.parametrize("value", ['""', '"  "'], ids=["empty", "blank"])
def test_an_empty_row_version_with_writable_entities_is_refused(tmp_path: Path, value: str) -> None:
    folder = _copy(tmp_path)
    service = folder / "service.yaml"
    line = _edit(service, "sequences: {table:", f"row_version: {value}\nsequences: {{table:")
    messages = _at(_problems(folder), service, line)
    assert any(message.startswith("row_version is empty, and writes need it") for message in messages), messages
    # It names each writable entity by the line that makes it writable.
    assert any(f"CustomersV3 ({folder / 'entities' / 'CustomersV3.yaml'}:9)" in message for message in messages)


def test_fno_gateway_check_reports_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _copy(tmp_path)
    service = folder / "service.yaml"
    line = _edit(service, "sequences: {table:", 'row_version: ""\nsequences: {table:')
    assert main(["check", "--db", f"sqlite:///{tmp_path / 'unused.db'}", "--entities", str(folder)]) == 1
    output = capsys.readouterr()
    assert f"{service}:{line}: row_version is empty" in output.err + output.out


def test_an_empty_row_version_is_fine_for_a_read_only_catalog(tmp_path: Path) -> None:
    """The admin catalog has none (its tables carry no row versions): reads need none, only writes."""
    folder = _copy(tmp_path)
    _edit(folder / "service.yaml", "sequences: {table:", 'row_version: ""\nsequences: {table:')
    for path in (folder / "entities").glob("*.yaml"):
        path.write_text(path.read_text(encoding="utf-8").replace("writable: true", "writable: false"), encoding="utf-8")
    assert load_catalog(folder).service.row_version == ""


def test_an_empty_row_id_is_refused(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    service = folder / "service.yaml"
    line = _edit(service, "sequences: {table:", 'row_id: ""\nsequences: {table:')
    assert any(message.startswith("row_id is empty") for message in _at(_problems(folder), service, line))


def test_writable_entities_need_the_sequence_table(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    _edit(folder / "service.yaml", "sequences: {table: SYSTEMSEQUENCES, name_column: NAME, value_column: NEXTVAL}\n", "")
    messages = _at(_problems(folder), folder / "entities" / "CustomersV3.yaml", 9)
    assert any("which service.yaml does not name" in message and "CUSTTABLE" in message for message in messages)


def test_a_default_that_is_no_value_of_its_property_is_refused(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    entity = folder / "entities" / "CustomersV3.yaml"
    line = _edit(entity, "type: DirPartyType, default: Organization}", "type: DirPartyType, default: Company}")
    messages = _at(_problems(folder), entity, line)
    assert any("default 'Company' is not a value of DirPartyType" in message for message in messages), messages


def test_an_empty_column_name_is_refused(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    entity = folder / "entities" / "CustomerGroups.yaml"
    line = _edit(entity, "column: grp.NAME,", "column: 'grp.',")
    assert any("names no column after the alias" in message for message in _at(_problems(folder), entity, line))


def test_an_enum_without_members_is_refused(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    service = folder / "service.yaml"
    line = _edit(service, "  NoYes: {0:", "  Nothing: {}\n  NoYes: {0:")
    assert any("enum Nothing has no members" in message for message in _at(_problems(folder), service, line))


@pytest.mark.parametrize("folder", ["entities/fno", "entities/dataverse", "entities/admin", "examples/product_catalog"])
def test_the_shipped_catalogs_pass(folder: str) -> None:
    assert load_catalog(ROOT / folder).entities


def test_check_names_a_sequence_without_its_row(tmp_path: Path) -> None:
    """The database side (`fno-gateway check --db`): creates number from SYSTEMSEQUENCES' RECID row."""
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    build_demo_database(url, scale=0.02, seed=1, progress=False)
    engine = create_engine(url)
    try:
        assert check_catalog(load_catalog(), engine) == []
        with engine.begin() as connection:
            connection.execute(delete(schema.SYSTEMSEQUENCES).where(schema.SYSTEMSEQUENCES.c.NAME == "RECID"))
        problems = check_catalog(load_catalog(), engine)
    finally:
        engine.dispose()
    assert any("has no row 'RECID'" in problem for problem in problems), problems
