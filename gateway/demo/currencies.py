"""Demo rows of the currencies and their exchange rates (F&O's CurrencyExchangeRates reference data).

Reference data, the same at every scale: every currency the demo's companies, customers and vendors
use plus a few more, two rate types, and monthly date-effective rates from the demo's first day to
its last (each month's rate a small random walk from the one before). generate.py calls
`write_currencies` after the older demo tables, so their rows stay as they were.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Table

from gateway.demo import schema

Insert = Callable[..., int]  # _Context.insert: a row of a table, returning its RECID

# (code, name, symbol, rounding precision)
CURRENCIES: tuple[tuple[str, str, str, Decimal], ...] = (
    ("USD", "US Dollar", "$", Decimal("0.01")),
    ("EUR", "Euro", "€", Decimal("0.01")),
    ("GBP", "Pound Sterling", "£", Decimal("0.01")),
    ("CAD", "Canadian Dollar", "$", Decimal("0.01")),
    ("CHF", "Swiss Franc", "CHF", Decimal("0.05")),
    ("JPY", "Yen", "¥", Decimal("1")),
    ("DKK", "Danish Krone", "kr", Decimal("0.01")),
)
# ExchangeRateDisplayFactor (stored values): the rate is per 1, 10, 100, ... units of the from-currency.
ONE, HUNDRED = 0, 2
# (rate type, description, months per rate, pairs as (from, to, display factor, first rate))
RATE_TYPES: tuple[tuple[str, str, int, tuple[tuple[str, str, int, str], ...]], ...] = (
    ("Default", "Daily business: invoices, payments, orders", 1, (
        ("EUR", "USD", ONE, "1.2005"), ("USD", "EUR", ONE, "0.8330"), ("GBP", "USD", ONE, "1.3510"),
        ("CAD", "USD", ONE, "0.7960"), ("CHF", "EUR", ONE, "0.8550"), ("JPY", "USD", HUNDRED, "0.8870"),
        ("DKK", "EUR", ONE, "0.1343"),
    )),
    ("Budget", "Budget planning: one rate per quarter", 3, (
        ("EUR", "USD", ONE, "1.1800"), ("GBP", "USD", ONE, "1.3300"),
    )),
)
FIRST_DAY, LAST_DAY = date(2018, 1, 1), date(2025, 12, 31)


def _months(step: int) -> list[tuple[date, date]]:
    """Consecutive periods of `step` months covering FIRST_DAY..LAST_DAY: (valid from, valid to)."""
    starts = [date(FIRST_DAY.year + (m // 12), m % 12 + 1, 1)
              for m in range(0, (LAST_DAY.year - FIRST_DAY.year + 1) * 12, step)]
    ends = [start - timedelta(days=1) for start in starts[1:]] + [LAST_DAY]
    return list(zip(starts, ends, strict=True))


def _walk(rng: random.Random, rate: Decimal, first: Decimal) -> Decimal:
    """Next period's rate: within ±2 % of this one, pulled a tenth of the way back to the first rate
    (so eight years of months stay near real levels), four decimals."""
    moved = rate * Decimal(1 + rng.uniform(-0.02, 0.02)) + (first - rate) / 10
    return moved.quantize(Decimal("0.0001"))


def write_currencies(insert: Insert, rng: random.Random) -> None:
    for code, name, symbol, precision in CURRENCIES:
        insert(schema.CURRENCY, CURRENCYCODE=code, TXT=name, SYMBOL=symbol, ROUNDINGPRECISION=precision)
    table: Table = schema.EXCHANGERATE
    for type_name, description, step, pairs in RATE_TYPES:
        rate_type = insert(schema.EXCHANGERATETYPE, NAME=type_name, DESCRIPTION=description)
        for source, target, factor, first in pairs:
            pair = insert(schema.EXCHANGERATECURRENCYPAIR, EXCHANGERATETYPE=rate_type, FROMCURRENCYCODE=source,
                          TOCURRENCYCODE=target, EXCHANGERATEDISPLAYFACTOR=factor)
            rate = start = Decimal(first)
            for valid_from, valid_to in _months(step):
                insert(table, EXCHANGERATECURRENCYPAIR=pair, VALIDFROM=valid_from, VALIDTO=valid_to, EXCHANGERATE=rate)
                rate = _walk(rng, rate, start)
