"""Demo currencies and exchange rates, checked with SQL at a tiny and a larger scale: every currency a
customer, vendor or order uses exists, and each currency pair's rates cover the demo's years without a
gap or an overlap (date-effective rows, as F&O keeps them)."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest


@pytest.fixture
def db(scaled_demo: sqlite3.Connection) -> sqlite3.Connection:
    return scaled_demo  # tests/demo/conftest.py: at the smallest scale and a bigger one


def test_every_used_currency_exists(db: sqlite3.Connection) -> None:
    used = {row[0] for row in db.execute(
        "SELECT CURRENCY FROM CUSTTABLE UNION SELECT CURRENCY FROM VENDTABLE UNION SELECT CURRENCYCODE FROM SALESTABLE "
        "UNION SELECT FROMCURRENCYCODE FROM EXCHANGERATECURRENCYPAIR UNION SELECT TOCURRENCYCODE FROM EXCHANGERATECURRENCYPAIR")}
    known = {row[0] for row in db.execute("SELECT CURRENCYCODE FROM CURRENCY")}
    assert {"USD", "EUR"} <= used <= known


def test_rates_cover_the_demo_years_without_gaps_or_overlaps(db: sqlite3.Connection) -> None:
    pairs = db.execute("SELECT RECID FROM EXCHANGERATECURRENCYPAIR").fetchall()
    assert len(pairs) >= 5
    for (pair,) in pairs:
        periods = [(dt.date.fromisoformat(start), dt.date.fromisoformat(end)) for start, end in db.execute(
            "SELECT VALIDFROM, VALIDTO FROM EXCHANGERATE WHERE EXCHANGERATECURRENCYPAIR = ? ORDER BY VALIDFROM", (pair,))]
        assert periods[0][0] == dt.date(2018, 1, 1) and periods[-1][1] == dt.date(2025, 12, 31)
        for (_, end), (start, _) in zip(periods, periods[1:]):
            assert start == end + dt.timedelta(days=1)
        assert all(start <= end for start, end in periods)


def test_rates_are_positive_and_move_a_little_each_period(db: sqlite3.Connection) -> None:
    for pair, low, high in db.execute(
            "SELECT EXCHANGERATECURRENCYPAIR, MIN(EXCHANGERATE), MAX(EXCHANGERATE) FROM EXCHANGERATE GROUP BY 1"):
        assert 0 < low < high, pair
