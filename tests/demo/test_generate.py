"""The demo database generator (gateway/demo/generate.py), checked with hand-written SQL on SQLite.

One module-scoped build at scale 0.05 serves the read-only checks; the determinism tests build again.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from gateway.demo import schema
from gateway.demo.generate import DemoSummary, build_demo_database

SCALE = 0.05
SEED = 42
FIRST_RECID = 5637144576
COMPANY_TABLES = (
    "CUSTGROUP", "CUSTTABLE", "VENDGROUP", "VENDTABLE", "INVENTTABLE", "SALESTABLE", "SALESLINE"
)  # fmt: skip
# Tables of business data (every one has RECID); SYSTEMSEQUENCES is checked on its own.
ALL_TABLES = sorted(name for name, table in schema.metadata.tables.items() if "RECID" in table.c)


def _build(path: Path, seed: int = SEED, progress: bool = False) -> DemoSummary:
    return build_demo_database(f"sqlite:///{path}", scale=SCALE, seed=seed, progress=progress)


def _all_rows(path: Path, tables: tuple[str, ...] | list[str]) -> dict[str, list[tuple[object, ...]]]:
    with closing(sqlite3.connect(path)) as conn:
        return {table: conn.execute(f'SELECT * FROM "{table}" ORDER BY RECID').fetchall() for table in tables}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoSummary]:
    path = tmp_path_factory.mktemp("demo") / "fno.db"
    return path, _build(path)


@pytest.fixture
def db(built: tuple[Path, DemoSummary]) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(built[0])) as conn:
        yield conn


def _scalar(db: sqlite3.Connection, sql: str) -> Any:
    return db.execute(sql).fetchone()[0]


def _count(db: sqlite3.Connection, source: str) -> int:
    """COUNT(*) of `source`: a table name with optional joins and WHERE clause."""
    count: int = _scalar(db, f"SELECT COUNT(*) FROM {source}")
    return count


# ------------------------------------------------------------------------------------------------
# Summary and determinism
# ------------------------------------------------------------------------------------------------


def test_summary_counts_every_table(built: tuple[Path, DemoSummary], db: sqlite3.Connection) -> None:
    summary = built[1]
    assert sorted(summary.rows) == sorted(schema.metadata.tables)
    for table in ALL_TABLES:
        assert summary.rows[table] == _scalar(db, f'SELECT COUNT(*) FROM "{table}"') > 0, table
    assert summary.seconds > 0


def test_same_seed_gives_identical_rows_even_when_rebuilding_in_place(
    built: tuple[Path, DemoSummary], tmp_path: Path
) -> None:
    path = tmp_path / "again.db"
    _build(path)
    _build(path)  # drops and re-creates the tables: no leftovers, no duplicates
    assert _all_rows(path, ALL_TABLES) == _all_rows(built[0], ALL_TABLES)


def test_other_seed_gives_other_rows(
    built: tuple[Path, DemoSummary], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "other.db"
    _build(path, seed=7, progress=True)
    assert "rows" in capsys.readouterr().err  # the tqdm bar goes to stderr
    tables = ("DIRPARTYTABLE", "CUSTTABLE", "ECORESPRODUCT", "SALESLINE")
    mine, theirs = _all_rows(path, tables), _all_rows(built[0], tables)
    for table in tables:
        assert mine[table] != theirs[table], table


def test_rejects_non_positive_scale(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="scale"):
        build_demo_database(f"sqlite:///{tmp_path / 'x.db'}", scale=0, progress=False)


# ------------------------------------------------------------------------------------------------
# References: every FK-like column resolves (0 orphans)
# ------------------------------------------------------------------------------------------------

ORPHAN_QUERIES = {
    "customer party": """
        SELECT COUNT(*) FROM CUSTTABLE c LEFT JOIN DIRPARTYTABLE p ON p.RECID = c.PARTY
        WHERE p.RECID IS NULL""",
    "vendor party": """
        SELECT COUNT(*) FROM VENDTABLE v LEFT JOIN DIRPARTYTABLE p ON p.RECID = v.PARTY
        WHERE p.RECID IS NULL""",
    "primary address": """
        SELECT COUNT(*) FROM DIRPARTYTABLE p LEFT JOIN LOGISTICSPOSTALADDRESS a ON a.RECID = p.PRIMARYADDRESS
        WHERE p.PRIMARYADDRESS IS NOT NULL AND a.RECID IS NULL""",
    "customer group": """
        SELECT COUNT(*) FROM CUSTTABLE c
        LEFT JOIN CUSTGROUP g ON g.DATAAREAID = c.DATAAREAID AND g.CUSTGROUP = c.CUSTGROUP
        WHERE g.RECID IS NULL""",
    "vendor group": """
        SELECT COUNT(*) FROM VENDTABLE v
        LEFT JOIN VENDGROUP g ON g.DATAAREAID = v.DATAAREAID AND g.VENDGROUP = v.VENDGROUP
        WHERE g.RECID IS NULL""",
    "released product": """
        SELECT COUNT(*) FROM INVENTTABLE i LEFT JOIN ECORESPRODUCT p ON p.RECID = i.PRODUCT
        WHERE p.RECID IS NULL OR p.DISPLAYPRODUCTNUMBER <> i.ITEMID OR p.PRODUCTSUBTYPE = 3""",
    "primary vendor": """
        SELECT COUNT(*) FROM INVENTTABLE i
        LEFT JOIN VENDTABLE v ON v.DATAAREAID = i.DATAAREAID AND v.ACCOUNTNUM = i.PRIMARYVENDORID
        WHERE i.PRIMARYVENDORID <> '' AND v.RECID IS NULL""",
    "item sales unit": """
        SELECT COUNT(*) FROM INVENTTABLE i LEFT JOIN UNITOFMEASURE u ON u.SYMBOL = i.SALESUNIT
        WHERE u.RECID IS NULL""",
    "product master": """
        SELECT COUNT(*) FROM ECORESPRODUCT v LEFT JOIN ECORESPRODUCT m
          ON m.RECID = v.PRODUCTMASTER AND m.PRODUCTSUBTYPE = 2
        WHERE (v.PRODUCTSUBTYPE = 3) <> (m.RECID IS NOT NULL)""",
    "variant dimensions": """
        SELECT COUNT(*) FROM ECORESPRODUCT v
        LEFT JOIN ECORESCOLOR c ON c.NAME = v.COLOR
        LEFT JOIN ECORESSIZE s ON s.NAME = v.SIZE_
        LEFT JOIN ECORESSTYLE y ON y.NAME = v.STYLE
        LEFT JOIN ECORESCONFIGURATION f ON f.NAME = v.CONFIG
        WHERE (v.COLOR <> '' AND c.RECID IS NULL) OR (v.SIZE_ <> '' AND s.RECID IS NULL)
           OR (v.STYLE <> '' AND y.RECID IS NULL) OR (v.CONFIG <> '' AND f.RECID IS NULL)
           OR (v.PRODUCTSUBTYPE = 3 AND v.COLOR || v.SIZE_ || v.STYLE || v.CONFIG = '')
           OR (v.PRODUCTSUBTYPE <> 3 AND v.COLOR || v.SIZE_ || v.STYLE || v.CONFIG <> '')""",
    "order customer": """
        SELECT COUNT(*) FROM SALESTABLE s
        LEFT JOIN CUSTTABLE c ON c.DATAAREAID = s.DATAAREAID AND c.ACCOUNTNUM = s.CUSTACCOUNT
        WHERE c.RECID IS NULL OR c.CURRENCY <> s.CURRENCYCODE""",
    "line order": """
        SELECT COUNT(*) FROM SALESLINE l
        LEFT JOIN SALESTABLE s ON s.DATAAREAID = l.DATAAREAID AND s.SALESID = l.SALESID
        WHERE s.RECID IS NULL OR l.SALESSTATUS > s.SALESSTATUS""",
    "line item": """
        SELECT COUNT(*) FROM SALESLINE l
        LEFT JOIN INVENTTABLE i ON i.DATAAREAID = l.DATAAREAID AND i.ITEMID = l.ITEMID
        WHERE i.RECID IS NULL OR i.SALESUNIT <> l.SALESUNIT""",
    "line variant": """
        SELECT COUNT(*) FROM SALESLINE l
        JOIN INVENTTABLE i ON i.DATAAREAID = l.DATAAREAID AND i.ITEMID = l.ITEMID
        JOIN ECORESPRODUCT p ON p.RECID = i.PRODUCT
        LEFT JOIN ECORESPRODUCT v ON v.PRODUCTMASTER = p.RECID
          AND v.COLOR = l.INVENTCOLORID AND v.SIZE_ = l.INVENTSIZEID
        WHERE (p.PRODUCTSUBTYPE = 2 AND v.RECID IS NULL)
           OR (p.PRODUCTSUBTYPE <> 2 AND l.INVENTCOLORID || l.INVENTSIZEID <> '')""",
    "company": " UNION ALL ".join(
        f'SELECT COUNT(*) FROM "{table}" t LEFT JOIN DATAAREA d ON d.ID = t.DATAAREAID WHERE d.RECID IS NULL'
        for table in COMPANY_TABLES
    ).join(("SELECT SUM(n) FROM (SELECT 0 AS n UNION ALL ", ")")),
}


@pytest.mark.parametrize("query", ORPHAN_QUERIES.values(), ids=ORPHAN_QUERIES.keys())
def test_references_resolve(db: sqlite3.Connection, query: str) -> None:
    assert _scalar(db, query) == 0


def test_every_customer_and_vendor_has_its_own_party(db: sqlite3.Connection) -> None:
    sql = """SELECT COUNT(*), COUNT(DISTINCT PARTY)
             FROM (SELECT PARTY FROM CUSTTABLE UNION ALL SELECT PARTY FROM VENDTABLE)"""
    total, distinct = db.execute(sql).fetchone()
    assert total == distinct == _count(db, "DIRPARTYTABLE")


# ------------------------------------------------------------------------------------------------
# System columns
# ------------------------------------------------------------------------------------------------


def test_recids_are_unique_across_tables_and_start_at_the_fo_base(db: sqlite3.Connection) -> None:
    union = " UNION ALL ".join(f'SELECT RECID, RECVERSION FROM "{table}"' for table in ALL_TABLES)
    total, distinct, low, versions, min_version = db.execute(
        f"SELECT COUNT(*), COUNT(DISTINCT RECID), MIN(RECID), COUNT(DISTINCT RECVERSION), MIN(RECVERSION)"
        f" FROM ({union})"
    ).fetchone()
    assert total == distinct
    assert low == FIRST_RECID
    assert min_version > 0
    assert versions > total * 0.9  # random, like F&O, not a constant 1


# ------------------------------------------------------------------------------------------------
# Companies, customers, vendors
# ------------------------------------------------------------------------------------------------


def test_companies(db: sqlite3.Connection) -> None:
    assert db.execute("SELECT ID, NAME FROM DATAAREA ORDER BY ID").fetchall() == [
        ("demf", "Contoso Germany"),
        ("usmf", "Contoso USA"),
        ("usrt", "Contoso Retail USA"),
    ]


def test_customer_counts_per_company(db: sqlite3.Connection) -> None:
    counts = dict(db.execute("SELECT DATAAREAID, COUNT(*) FROM CUSTTABLE GROUP BY DATAAREAID").fetchall())
    assert set(counts) == {"usmf", "usrt", "demf"}
    assert all(count >= 10 for count in counts.values())
    assert 40 <= sum(counts.values()) <= 70  # ≈ 1000 × 0.05, topped up to the per-company minimum
    assert counts["usmf"] > counts["usrt"]


def test_vendor_counts_per_company(db: sqlite3.Connection) -> None:
    counts = dict(db.execute("SELECT DATAAREAID, COUNT(*) FROM VENDTABLE GROUP BY DATAAREAID").fetchall())
    assert set(counts) == {"usmf", "usrt", "demf"}
    assert all(5 <= count <= 10 for count in counts.values())
    assert _count(db, "VENDTABLE WHERE ACCOUNTNUM NOT GLOB 'V-[0-9][0-9][0-9]*'") == 0


def test_account_numbers(db: sqlite3.Connection) -> None:
    assert _count(db, "CUSTTABLE WHERE DATAAREAID = 'usmf' AND ACCOUNTNUM = 'US-001'") == 1
    patterns = {"usmf": "US-[0-9][0-9][0-9]", "usrt": "USR-[0-9][0-9][0-9]", "demf": "DE-[0-9][0-9][0-9]"}
    for company, pattern in patterns.items():
        source = f"CUSTTABLE WHERE DATAAREAID = '{company}' AND ACCOUNTNUM NOT GLOB '{pattern}'"
        assert _count(db, source) == 0, company


def test_us001_is_a_stable_organization(db: sqlite3.Connection) -> None:
    row = db.execute(
        """SELECT p.NAME, p.PARTYTYPE, a.CITY, c.CREDITMAX, c.BLOCKED, c.CURRENCY FROM CUSTTABLE c
           JOIN DIRPARTYTABLE p ON p.RECID = c.PARTY
           JOIN LOGISTICSPOSTALADDRESS a ON a.RECID = p.PRIMARYADDRESS
           WHERE c.DATAAREAID = 'usmf' AND c.ACCOUNTNUM = 'US-001'"""
    ).fetchone()
    assert row == ("Contoso Retail San Diego", 2, "San Diego", 2000, 0, "USD")


@pytest.mark.parametrize(
    "name", ["50% Off Outlet", "O'Brien & Sons", "Under_score Supplies", "Fabrikam [West]", "Müller GmbH"]
)
def test_names_that_need_escaping_exist(db: sqlite3.Connection, name: str) -> None:
    sql = """SELECT COUNT(*) FROM CUSTTABLE c JOIN DIRPARTYTABLE p ON p.RECID = c.PARTY
             WHERE p.NAME = ? AND p.PARTYTYPE = 2"""
    assert db.execute(sql, (name,)).fetchone()[0] == 1


def test_parties(db: sqlite3.Connection) -> None:
    total, persons, no_address, numbers, german = db.execute(
        """SELECT COUNT(*), SUM(p.PARTYTYPE = 1), SUM(p.PRIMARYADDRESS IS NULL),
                  COUNT(DISTINCT p.PARTYNUMBER), SUM(p.LANGUAGEID = 'de')
           FROM CUSTTABLE c JOIN DIRPARTYTABLE p ON p.RECID = c.PARTY"""
    ).fetchone()
    assert numbers == total
    assert persons <= total * 0.3
    assert no_address <= total * 0.25
    assert german == _count(db, "CUSTTABLE WHERE DATAAREAID = 'demf'")
    assert _count(db, "DIRPARTYTABLE WHERE PARTYNUMBER NOT GLOB '[0-9][0-9][0-9][0-9][0-9][0-9]'") == 0
    assert _scalar(db, "SELECT MIN(PARTYNUMBER) FROM DIRPARTYTABLE") == "000001"
    assert _count(db, "DIRPARTYTABLE WHERE PARTYTYPE NOT IN (1, 2)") == 0
    # Person vendors (sole proprietors): one per ten organization vendors, at least one per company, each
    # numbered after its company's organizations.
    per_company = db.execute(
        """SELECT v.DATAAREAID, SUM(p.PARTYTYPE = 1), SUM(p.PARTYTYPE = 2),
                  MIN(CASE WHEN p.PARTYTYPE = 1 THEN v.ACCOUNTNUM END), MAX(CASE WHEN p.PARTYTYPE = 2 THEN v.ACCOUNTNUM END)
           FROM VENDTABLE v JOIN DIRPARTYTABLE p ON p.RECID = v.PARTY GROUP BY v.DATAAREAID"""
    ).fetchall()
    assert len(per_company) == _count(db, "DATAAREA")
    for _, persons, organizations, first_person, last_organization in per_company:
        assert persons == max(1, organizations // 10) and first_person > last_organization


def test_addresses_match_the_company_country(db: sqlite3.Connection) -> None:
    sql = """SELECT c.DATAAREAID, a.COUNTRYREGIONID, MIN(a.STREET <> '' AND a.CITY <> '' AND a.ZIPCODE <> '')
             FROM CUSTTABLE c JOIN DIRPARTYTABLE p ON p.RECID = c.PARTY
             JOIN LOGISTICSPOSTALADDRESS a ON a.RECID = p.PRIMARYADDRESS GROUP BY 1, 2 ORDER BY 1"""
    assert db.execute(sql).fetchall() == [("demf", "DEU", 1), ("usmf", "USA", 1), ("usrt", "USA", 1)]


def test_customer_values(db: sqlite3.Connection) -> None:
    groups = db.execute("SELECT DISTINCT CUSTGROUP FROM CUSTGROUP ORDER BY 1").fetchall()
    assert [group for (group,) in groups] == ["10", "20", "30", "40", "80"]
    assert _count(db, "CUSTGROUP WHERE PAYMTERMID = ''") == 0
    checks = {
        "currency": "DATAAREAID <> 'demf' AND CURRENCY <> 'USD' OR CURRENCY NOT IN ('USD', 'EUR')",
        "credit": "CREDITMAX < 0 OR CREDITMAX > 500000 OR ROUND(CREDITMAX, 2) <> CREDITMAX",
        "blocked": "BLOCKED NOT BETWEEN 0 AND 5",
        "whole seconds": "substr(CREATEDDATETIME, 20) NOT IN ('', '.000000')"
        " OR substr(MODIFIEDDATETIME, 20) NOT IN ('', '.000000')",
        # full literals: a bare '2018' would be compared as a number (the column has NUMERIC affinity)
        "dates": "MODIFIEDDATETIME < CREATEDDATETIME OR CREATEDDATETIME < '2018-01-01 00:00:00'"
        " OR MODIFIEDDATETIME >= '2026-01-01 00:00:00'",
    }
    for check, condition in checks.items():
        assert _count(db, f"CUSTTABLE WHERE {condition}") == 0, check
    assert _count(db, "CUSTTABLE WHERE CREDITMAX = 2000") >= 2
    assert _scalar(db, "SELECT COUNT(DISTINCT RECVERSION) FROM CUSTTABLE") > 1
    assert _scalar(db, "SELECT SUM(CURRENCY = 'EUR') FROM CUSTTABLE WHERE DATAAREAID = 'demf'") > 0


# ------------------------------------------------------------------------------------------------
# Products and released products
# ------------------------------------------------------------------------------------------------


def test_global_reference_tables(db: sqlite3.Connection) -> None:
    units = dict(db.execute("SELECT SYMBOL, UNITOFMEASURECLASS FROM UNITOFMEASURE").fetchall())
    assert units.keys() == {"ea", "pcs", "kg", "lb", "m", "cm", "l", "h", "box", "dz"}
    assert units["kg"] == 2 and units["m"] == 3 and units["l"] == 4 and units["h"] == 5 and units["ea"] == 1
    for table in ("ECORESCOLOR", "ECORESSIZE", "ECORESSTYLE", "ECORESCONFIGURATION"):
        assert _count(db, f"{table} WHERE length(NAME) > 10 OR DESCRIPTION = ''") == 0
    assert _count(db, "ECORESCOLOR WHERE NAME IN ('Black', 'White', 'Red')") == 3
    assert _count(db, "ECORESSIZE WHERE NAME IN ('XS', 'M', 'XXL')") == 3


def test_product_mix(db: sqlite3.Connection) -> None:
    kinds = dict(
        db.execute(
            "SELECT substr(DISPLAYPRODUCTNUMBER, 1, 1) || PRODUCTTYPE || PRODUCTSUBTYPE, COUNT(*)"
            " FROM ECORESPRODUCT WHERE PRODUCTSUBTYPE <> 3 GROUP BY 1"
        ).fetchall()
    )
    assert kinds.keys() == {"D11", "M12", "S21"}  # distinct items, masters, services
    assert sum(kinds.values()) >= 30
    assert kinds["D11"] > kinds["M12"] > 0 and kinds["S21"] > 0
    assert _count(db, "ECORESPRODUCT WHERE SEARCHNAME = '' OR length(SEARCHNAME) > 60") == 0


def test_masters_have_2_to_12_variants(db: sqlite3.Connection) -> None:
    low, high = db.execute(
        """SELECT MIN(n), MAX(n) FROM (SELECT m.RECID, COUNT(v.RECID) AS n FROM ECORESPRODUCT m
           LEFT JOIN ECORESPRODUCT v ON v.PRODUCTMASTER = m.RECID
           WHERE m.PRODUCTSUBTYPE = 2 GROUP BY m.RECID)"""
    ).fetchone()
    assert 2 <= low <= high <= 12
    sql = """SELECT COUNT(*) FROM ECORESPRODUCT v JOIN ECORESPRODUCT m ON m.RECID = v.PRODUCTMASTER
             WHERE v.DISPLAYPRODUCTNUMBER NOT LIKE m.DISPLAYPRODUCTNUMBER || '-%'"""
    assert _scalar(db, sql) == 0


def test_released_products(db: sqlite3.Connection) -> None:
    releasable = _count(db, "ECORESPRODUCT WHERE PRODUCTSUBTYPE <> 3")
    counts = dict(db.execute("SELECT DATAAREAID, COUNT(*) FROM INVENTTABLE GROUP BY DATAAREAID").fetchall())
    assert set(counts) == {"usmf", "usrt", "demf"}
    assert all(releasable * 0.5 < count < releasable for count in counts.values())  # most, not all
    checks = {
        "alias": "NAMEALIAS = '' OR length(NAMEALIAS) > 20",
        "price": "SALESPRICE <= 0 OR ROUND(SALESPRICE, 2) <> SALESPRICE",
        "weight": "NETWEIGHT < 0 OR ROUND(NETWEIGHT, 2) <> NETWEIGHT",
        "created": "CREATEDDATETIME < '2018-01-01 00:00:00' OR CREATEDDATETIME >= '2026-01-01 00:00:00'",
    }
    for check, condition in checks.items():
        assert _count(db, f"INVENTTABLE WHERE {condition}") == 0, check
    assert _count(db, "INVENTTABLE WHERE PRIMARYVENDORID = ''") > 0


# ------------------------------------------------------------------------------------------------
# Sales orders
# ------------------------------------------------------------------------------------------------

LINES_PER_ORDER = """SELECT s.DATAAREAID, s.SALESID, COUNT(l.RECID) AS n, MIN(l.LINENUM) AS low,
                            MAX(l.LINENUM) AS high, COUNT(DISTINCT l.LINENUM) AS distinct_numbers
                     FROM SALESTABLE s
                     LEFT JOIN SALESLINE l ON l.DATAAREAID = s.DATAAREAID AND l.SALESID = s.SALESID
                     GROUP BY s.DATAAREAID, s.SALESID"""


def test_exactly_two_big_orders_per_company(db: sqlite3.Connection) -> None:
    sql = f"""SELECT DATAAREAID, COUNT(*), MIN(n), MAX(n) FROM ({LINES_PER_ORDER})
              WHERE n > 1000 GROUP BY 1 ORDER BY 1"""
    rows = db.execute(sql).fetchall()
    assert [(company, count) for company, count, _, _ in rows] == [("demf", 2), ("usmf", 2), ("usrt", 2)]
    assert all(1001 <= low and high <= 1500 for _, _, low, high in rows)


def test_ordinary_orders_have_1_to_40_numbered_lines(db: sqlite3.Connection) -> None:
    sql = f"SELECT COUNT(*), MIN(n), MAX(n) FROM ({LINES_PER_ORDER}) WHERE n <= 1000"
    orders, low, high = db.execute(sql).fetchone()
    assert orders >= 3 * 5
    assert 1 <= low and high <= 40
    sql = f"SELECT COUNT(*) FROM ({LINES_PER_ORDER}) WHERE low <> 1 OR high <> n OR distinct_numbers <> n"
    assert _scalar(db, sql) == 0


def test_order_and_lot_numbers(db: sqlite3.Connection) -> None:
    sql = """SELECT DATAAREAID, COUNT(DISTINCT length(SALESID)), MIN(SALESID) FROM SALESTABLE
             WHERE SALESID GLOB 'SO-[0-9][0-9][0-9][0-9][0-9][0-9]*' GROUP BY 1 ORDER BY 1"""
    assert db.execute(sql).fetchall() == [
        ("demf", 1, "SO-000001"),
        ("usmf", 1, "SO-000001"),
        ("usrt", 1, "SO-000001"),
    ]
    sql = """SELECT DATAAREAID, COUNT(DISTINCT length(INVENTTRANSID)), MIN(INVENTTRANSID) FROM SALESLINE
             WHERE INVENTTRANSID GLOB 'LOT-[0-9][0-9][0-9][0-9][0-9][0-9][0-9]*' GROUP BY 1 ORDER BY 1"""
    assert db.execute(sql).fetchall() == [
        ("demf", 1, "LOT-0000001"),
        ("usmf", 1, "LOT-0000001"),
        ("usrt", 1, "LOT-0000001"),
    ]
    assert _count(db, "SALESLINE") == _scalar(
        db, "SELECT COUNT(*) FROM SALESLINE WHERE INVENTTRANSID GLOB 'LOT-*'"
    )


def test_order_header_values(db: sqlite3.Connection) -> None:
    statuses = dict(db.execute("SELECT SALESSTATUS, COUNT(*) FROM SALESTABLE GROUP BY 1").fetchall())
    assert set(statuses) <= {0, 1, 2, 3, 4}
    assert statuses.get(1, 0) + statuses.get(3, 0) > sum(statuses.values()) / 2  # mostly Backorder / Invoiced
    checks = {
        "shipping": "SHIPPINGDATEREQUESTED < '2018-01-01' OR SHIPPINGDATEREQUESTED > '2026-12-31'"
        " OR SHIPPINGDATEREQUESTED < substr(CREATEDDATETIME, 1, 10)",
        "created": "CREATEDDATETIME < '2018-01-01 00:00:00' OR CREATEDDATETIME >= '2026-01-01 00:00:00'"
        " OR substr(CREATEDDATETIME, 20) NOT IN ('', '.000000')",
        "reference": "CUSTOMERREF <> '' AND CUSTOMERREF NOT GLOB 'PO-[0-9][0-9][0-9][0-9][0-9]'",
    }
    for check, condition in checks.items():
        assert _count(db, f"SALESTABLE WHERE {condition}") == 0, check
    sql = """SELECT COUNT(*) FROM SALESTABLE s JOIN CUSTTABLE c ON c.DATAAREAID = s.DATAAREAID
             AND c.ACCOUNTNUM = s.CUSTACCOUNT WHERE s.CREATEDDATETIME < c.CREATEDDATETIME"""
    assert _scalar(db, sql) == 0


def test_line_amounts(db: sqlite3.Connection) -> None:
    checks = {
        "quantity": "SALESQTY < 1 OR SALESQTY > 100 OR ROUND(SALESQTY, 2) <> SALESQTY",
        "price": "SALESPRICE <= 0 OR ROUND(SALESPRICE, 2) <> SALESPRICE",
        "amount": "ABS(LINEAMOUNT - ROUND(SALESQTY * SALESPRICE, 2)) > 0.0051",
    }
    for check, condition in checks.items():
        assert _count(db, f"SALESLINE WHERE {condition}") == 0, check
    assert _count(db, "SALESLINE WHERE SALESQTY <> ROUND(SALESQTY)") > 0
    sql = """SELECT SUM(l.SALESPRICE < i.SALESPRICE), SUM(l.SALESPRICE = i.SALESPRICE),
                    SUM(l.SALESPRICE > i.SALESPRICE)
             FROM SALESLINE l JOIN INVENTTABLE i ON i.DATAAREAID = l.DATAAREAID AND i.ITEMID = l.ITEMID"""
    discounted, list_price, above = db.execute(sql).fetchone()
    assert above == 0 and discounted > 0 and list_price > discounted
    assert _count(db, "SALESLINE WHERE INVENTCOLORID <> ''") > 0


def test_sequences_continue_after_the_generated_rows(db: sqlite3.Connection) -> None:
    union = " UNION ALL ".join(f'SELECT RECID FROM "{table}"' for table in ALL_TABLES)
    (highest_recid,) = db.execute(f"SELECT MAX(RECID) FROM ({union})").fetchone()
    (highest_party,) = db.execute('SELECT MAX(CAST(PARTYNUMBER AS INTEGER)) FROM "DIRPARTYTABLE"').fetchone()
    sequences = dict(db.execute('SELECT NAME, NEXTVAL FROM "SYSTEMSEQUENCES"').fetchall())
    # Activations (issue 11) are numbered from 1: a new demo has none.
    assert sequences == {"RECID": highest_recid + 1, "PARTYNUMBER": highest_party + 1, "BUSINESSEVENTACTIVATION": 1}
