"""The `fno-gateway` console script (demo-db, check) run as a real process, and the catalog loader.

Expected table names, entity sets and the lines of catalog mistakes are written by hand (DOMAIN.md)
or found by searching the text this test wrote, never taken from the gateway.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect

from gateway.catalog.load import load_catalog
from tests.conftest import repository_root
from tests.contract import FNO_ENTITY_SETS

SHIPPED_CATALOG = repository_root() / "entities" / "fno"

# DOMAIN.md §1.
PHYSICAL_TABLES = sorted([
    "DATAAREA", "DIRPARTYTABLE", "LOGISTICSPOSTALADDRESS", "CUSTGROUP", "CUSTTABLE", "VENDGROUP", "VENDTABLE",
    "ECORESPRODUCT", "ECORESCOLOR", "ECORESSIZE", "ECORESSTYLE", "ECORESCONFIGURATION", "UNITOFMEASURE",
    "INVENTTABLE", "SALESTABLE", "SALESLINE",
    "SYSTEMSEQUENCES",  # where writers continue RECIDs and party numbers
    # Business events (issue 11): configuration, the capture log, the caller's stamp, the outbox, leases.
    "BUSINESSEVENTCATALOG", "BUSINESSEVENTENDPOINT", "BUSINESSEVENTACTIVATION", "EVENTCHANGES", "EVENTCONTEXT",
    "EVENTOUTBOX", "EVENTLEASE",
    # Issue 13: currencies and exchange rates, the organization hierarchy, the product master's breadth.
    "CURRENCY", "EXCHANGERATETYPE", "EXCHANGERATECURRENCYPAIR", "EXCHANGERATE",
    "OMOPERATINGUNIT", "OMHIERARCHYTYPE", "OMHIERARCHYPURPOSE", "OMHIERARCHYRELATIONSHIP",
    "ECORESCATEGORYHIERARCHY", "ECORESCATEGORYHIERARCHYROLE", "ECORESCATEGORY", "ECORESPRODUCTCATEGORY",
    "ECORESPRODUCTDIMENSIONGROUP", "ECORESPRODUCTDIMENSIONGROUPPRODUCT", "ECORESSTORAGEDIMENSIONGROUP",
    "ECORESTRACKINGDIMENSIONGROUP", "INVENTITEMSALESSETUP", "INVENTITEMPURCHSETUP", "INVENTITEMINVENTSETUP",
    "UNITOFMEASURECONVERSION", "INVENTITEMBARCODE",
])  # fmt: skip
# DOMAIN.md §2.
ENTITY_SETS = sorted(FNO_ENTITY_SETS)


def _command() -> list[str]:
    """The installed console script of this interpreter, or the module when it is not installed."""
    script = Path(sys.executable).parent / "fno-gateway"
    if script.is_file():
        return [str(script)]
    found = shutil.which("fno-gateway")
    return [found] if found else [sys.executable, "-m", "gateway.cli"]


def fno_gateway(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*_command(), *arguments], capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "x.db"
    result = fno_gateway("demo-db", "--url", f"sqlite:///{path}", "--scale", "0.02")
    assert result.returncode == 0, result.stderr
    return path


@pytest.fixture
def demo_copy(demo_db: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy.db"
    shutil.copyfile(demo_db, copy)
    return copy


# ------------------------------------------------------------------------------------------------ demo-db
def test_demo_db_creates_the_physical_tables(demo_db: Path) -> None:
    engine = create_engine(f"sqlite:///{demo_db}")
    try:
        inspector = inspect(engine)
        assert sorted(name.upper() for name in inspector.get_table_names()) == PHYSICAL_TABLES
        custtable = {column["name"].upper() for column in inspector.get_columns("CUSTTABLE")}
        assert {
            "RECID",
            "RECVERSION",
            "DATAAREAID",
            "ACCOUNTNUM",
            "PARTY",
            "CREDITMAX",
            "BLOCKED",
        } <= custtable
    finally:
        engine.dispose()
    with closing(sqlite3.connect(demo_db)) as connection:
        companies = sorted(row[0] for row in connection.execute("SELECT ID FROM DATAAREA"))
        customers = connection.execute("SELECT COUNT(*) FROM CUSTTABLE").fetchone()[0]
    assert companies == ["demf", "usmf", "usrt"]
    assert customers > 0


def test_demo_db_rejects_a_non_positive_scale(tmp_path: Path) -> None:
    result = fno_gateway("demo-db", "--url", f"sqlite:///{tmp_path / 'y.db'}", "--scale", "0")
    assert result.returncode != 0


# ------------------------------------------------------------------------------------------------ check: database
def test_check_passes_on_the_demo_database(demo_db: Path) -> None:
    result = fno_gateway("check", "--db", f"sqlite:///{demo_db}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "matches" in result.stdout
    assert f"{len(ENTITY_SETS)} entity sets" in result.stdout


def test_check_names_a_dropped_column(demo_copy: Path) -> None:
    with closing(sqlite3.connect(demo_copy)) as connection:
        connection.execute("ALTER TABLE CUSTTABLE DROP COLUMN CREDITMAX")
        connection.commit()
    result = fno_gateway("check", "--db", f"sqlite:///{demo_copy}")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "CUSTTABLE.CREDITMAX" in output
    problem_lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert problem_lines and all("CREDITMAX" in line for line in problem_lines), result.stdout


def test_check_names_a_renamed_table(demo_copy: Path) -> None:
    with closing(sqlite3.connect(demo_copy)) as connection:
        connection.execute("ALTER TABLE SALESLINE RENAME TO SALESLINE_OLD")
        connection.commit()
    result = fno_gateway("check", "--db", f"sqlite:///{demo_copy}")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "SALESLINE" in output
    assert "SalesOrderLines" in output
    assert "CustomersV3" not in result.stdout, "only the entity over SALESLINE is affected"


def test_check_reports_an_unreachable_database_without_a_traceback(tmp_path: Path) -> None:
    result = fno_gateway("check", "--db", f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'x.db'}")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr


# ------------------------------------------------------------------------------------------------ check: catalog
@dataclass(frozen=True)
class Mistake:
    file: str  # under entities/
    old: str  # text replaced once in the file
    new: str
    line_of: str  # the expected line is the first line of the broken file that contains this text
    mentions: str  # the message must mention this
    lines_after: int = (
        0  # the report may point this many lines after `line_of` (parsers see some mistakes late)
    )


def mistake(id: str, file: str, old: str, new: str, line_of: str, mentions: str, lines_after: int = 0,
            bug: str | None = None) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
    return pytest.param(Mistake(file, old, new, line_of, mentions, lines_after), id=id, marks=marks)


YAML_SYNTAX = ("a YAML syntax error escapes load_catalog as yaml.ParserError: `check` dies with a traceback "
               "naming '<unicode string>' instead of printing file:line:")
# fmt: off
MISTAKES = [
    mistake("unknown-type", "CustomersV3.yaml", "type: Edm.Decimal, precision: 32", "type: Edm.Money, precision: 32",
            "CreditLimit: {", "Edm.Money"),
    mistake("navigation-to-missing-entity-set", "CustomerGroups.yaml", "{target: CustomersV3,",
            "{target: CustomersV9,", "Customers: {target: CustomersV9", "CustomersV9"),
    mistake("key-property-missing", "CustomersV3.yaml", "key: [dataAreaId, CustomerAccount]",
            "key: [dataAreaId, CustomerAcct]", "key: [", "CustomerAcct"),
    mistake("navigation-link-to-missing-property", "SalesOrderLines.yaml",
            "link: {dataAreaId: dataAreaId, ItemNumber: ItemNumber}", "link: {dataAreaId: dataAreaId, ItemNumber: ItemNo}",
            "ReleasedProduct: {", "ItemNo"),
    mistake("column-of-unknown-source", "VendorsV2.yaml", "column: vend.CURRENCY", "column: vnd.CURRENCY",
            "CurrencyCode: {", "vnd.CURRENCY"),
    mistake("yaml-misspelled-field", "CustomersV3.yaml", "OrganizationName: {column:", "OrganizationName: {colum:",
            "OrganizationName: {", "colum"),
    # A parser may only notice an unclosed bracket on a following line: `lines_after` allows for it.
    mistake("yaml-syntax-error", "CustomersV3.yaml", "max_length: 100, required: true}",
            "max_length: 100, required: true", "OrganizationName: {", "CustomersV3.yaml", 1),
    mistake("yaml-unclosed-list", "ProductColors.yaml", "key: [ProductColorId]", "key: [ProductColorId\n",
            "key: [", "ProductColors.yaml", 2),
]
# fmt: on


def _break_catalog(tmp_path: Path, mistake: Mistake) -> tuple[Path, Path, int]:
    """A copy of the shipped catalog with one mistake; returns (folder, broken file, expected line)."""
    folder = tmp_path / "catalog"
    shutil.copytree(SHIPPED_CATALOG, folder)
    broken = folder / "entities" / mistake.file
    text = broken.read_text(encoding="utf-8")
    assert text.count(mistake.old) == 1, f"the mistake must apply exactly once in {mistake.file}"
    text = text.replace(mistake.old, mistake.new)
    broken.write_text(text, encoding="utf-8")
    lines = text.splitlines()
    line = next(number for number, content in enumerate(lines, start=1) if mistake.line_of in content)
    return folder, broken, line


@pytest.mark.parametrize("mistake", MISTAKES)
def test_check_points_at_the_line_of_a_catalog_mistake(
    demo_db: Path, tmp_path: Path, mistake: Mistake
) -> None:
    folder, broken, line = _break_catalog(tmp_path, mistake)
    result = fno_gateway("check", "--db", f"sqlite:///{demo_db}", "--entities", str(folder))
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output, output
    allowed = {f"{broken}:{number}:" for number in range(line, line + mistake.lines_after + 1)}
    located = [text for text in output.splitlines() if any(prefix in text for prefix in allowed)]
    assert located, f"no line starting with one of {sorted(allowed)} in:\n{output}"
    assert any(mistake.mentions in text for text in located), output


def test_a_mistake_is_reported_only_where_it_is(demo_db: Path, tmp_path: Path) -> None:
    mistake = Mistake(
        "CustomersV3.yaml",
        "OrganizationName: {column:",
        "OrganizationName: {colum:",
        "OrganizationName: {",
        "colum",
    )
    folder, broken, _ = _break_catalog(tmp_path, mistake)
    result = fno_gateway("check", "--db", f"sqlite:///{demo_db}", "--entities", str(folder))
    located = [line.strip() for line in (result.stdout + result.stderr).splitlines() if ".yaml:" in line]
    assert located
    assert all(line.startswith(f"{broken}:") for line in located), located


def test_load_catalog_reports_every_mistake_at_once(tmp_path: Path) -> None:
    folder = tmp_path / "catalog"
    shutil.copytree(SHIPPED_CATALOG, folder)
    first = folder / "entities" / "UnitsOfMeasure.yaml"
    first.write_text(first.read_text().replace("type: Edm.Int32", "type: Edm.Int128"))
    second = folder / "entities" / "LegalEntities.yaml"
    second.write_text(second.read_text().replace("key: [LegalEntityId]", "key: [LegalEntityCode]"))
    from gateway.catalog.load import CatalogError

    with pytest.raises(CatalogError) as raised:
        load_catalog(folder)
    text = str(raised.value)
    assert "Edm.Int128" in text and "LegalEntityCode" in text
    assert str(first) in text and str(second) in text


# ------------------------------------------------------------------------------------------------ load_catalog
def test_shipped_catalog_has_the_entity_sets_of_the_domain() -> None:
    catalog = load_catalog(SHIPPED_CATALOG)
    assert len(catalog.entities) == len(ENTITY_SETS)
    assert sorted(catalog.entities) == ENTITY_SETS
    assert catalog.service.namespace == "Microsoft.Dynamics.DataEntities"
    assert catalog.service.container == "Resources"


def test_default_catalog_is_the_shipped_one() -> None:
    assert sorted(load_catalog().entities) == ENTITY_SETS
