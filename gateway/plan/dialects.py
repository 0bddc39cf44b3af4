"""What differs between the databases, as data: one small declarative entry per dialect.

Code asks `dialect_traits(name)` for a fact or a SQL builder and never tests a dialect name itself.
`functions` maps an operation to the SQL that computes it on that database; entries not given
fall back to `_STANDARD`, which most databases understand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BigInteger, Date, Float, Integer, Time, cast, extract, func
from sqlalchemy.sql.elements import ColumnElement

SqlBuilder = Callable[..., ColumnElement[Any]]


def _substring(text: Any, start: Any, length: Any = None) -> ColumnElement[Any]:
    # OData counts from 0, SQL from 1.
    return func.substr(text, start + 1) if length is None else func.substr(text, start + 1, length)


def _nonzero(value: Any) -> ColumnElement[Any]:
    # x / 0 is an error on some databases and null on others: null everywhere.
    return func.nullif(value, 0)


_STANDARD: dict[str, SqlBuilder] = {
    "length": func.length,
    "indexof": lambda text, part: func.instr(text, part) - 1,
    "substring": _substring,
    "date": lambda value: cast(value, Date()),
    "time": lambda value: cast(value, Time()),
    "fractionalseconds": lambda value: extract("second", value) - func.floor(extract("second", value)),
    # SQLAlchemy's '/' is true division; '//' on integers is the database's own truncating division.
    "integer_div": lambda a, b: a // func.nullif(b, 0, type_=Integer()),
    "decimal_div": lambda a, b: a / _nonzero(b),
    "mod": lambda a, b: a % _nonzero(b),
    "round": func.round,
    "floor": func.floor,
    "ceiling": func.ceiling,
    "truncate_to_int": lambda value: cast(func.trunc(value), BigInteger()),
}


@dataclass(frozen=True)
class DialectTraits:
    name: str
    # Whether NULL sorts before every value in ascending order without being told (OData wants it so).
    nulls_sort_first_by_default: bool
    # Whether the driver takes Decimal parameters natively (SQLite's gets floats, exact enough there).
    native_decimal: bool
    # How many parameters one statement may carry (bounds the IN lists of $expand batches).
    max_parameters: int
    functions: dict[str, SqlBuilder] = field(default_factory=dict)
    # Whether `(a, b) > (x, y)` is a range over an index on (a, b): the keyset form of deep pages.
    row_value_keyset: bool = False
    # Whether a deep page must keep the planner off the company filter's index (SQLite would take
    # `DATAAREAID IN (...)` over the keyset range and scan every row before the page).
    keyset_unindexes_company: bool = False
    # How a transaction bounds its waits for row locks ({seconds}); empty: the driver's own timeout
    # (SQLite's busy timeout). Dual-write holds locks in two databases at once: without a bound, two
    # writers syncing one record from opposite sides would wait for each other forever.
    lock_timeout: str = ""
    # Taken before appending to dual-write's change log, held to commit: log order is commit order
    # (SQLite needs none: it has one writer at a time).
    change_log_lock: str = ""

    def sql(self, operation: str) -> SqlBuilder:
        return self.functions.get(operation) or _STANDARD[operation]


_SQLITE_FUNCTIONS: dict[str, SqlBuilder] = {
    # SQLite keeps datetimes as text 'YYYY-MM-DD HH:MM:SS.ffffff', the format SQLAlchemy binds with.
    "date": lambda value: func.substr(value, 1, 10),
    "time": lambda value: func.substr(value, 12),
    "fractionalseconds": lambda value: cast(func.substr(value, 20), Float()) / 1000000,
    # NUMERIC values without a fraction are stored as integers: divide as reals, not integers.
    "decimal_div": lambda a, b: cast(a, Float()) / _nonzero(b),
    "truncate_to_int": lambda value: cast(value, Integer()),
}
_MYSQL_FUNCTIONS: dict[str, SqlBuilder] = {
    "length": func.char_length,  # LENGTH counts bytes there
    "integer_div": lambda a, b: a.op("DIV")(_nonzero(b)),  # '/' gives a decimal there
    "fractionalseconds": lambda value: func.microsecond(value) / 1000000,
    "truncate_to_int": lambda value: cast(func.truncate(value, 0), BigInteger()),
}

_TRAITS = {
    "sqlite": DialectTraits("sqlite", True, False, 30000, _SQLITE_FUNCTIONS, True, True),
    "postgresql": DialectTraits(
        "postgresql", False, True, 30000, {"indexof": lambda text, part: func.strpos(text, part) - 1}, True,
        lock_timeout="SET LOCAL lock_timeout = '{seconds}s'",
        change_log_lock="SELECT pg_advisory_xact_lock(746230117)",
    ),
    "mysql": DialectTraits("mysql", True, True, 30000, _MYSQL_FUNCTIONS,
                           lock_timeout="SET SESSION innodb_lock_wait_timeout = {seconds}"),
    "mariadb": DialectTraits("mariadb", True, True, 30000, _MYSQL_FUNCTIONS,
                             lock_timeout="SET SESSION innodb_lock_wait_timeout = {seconds}"),
    "mssql": DialectTraits(
        "mssql",
        True,
        True,
        2000,
        {
            "length": func.len,
            "indexof": lambda text, part: func.charindex(part, text) - 1,
            "substring": lambda text, start, length=None: func.substring(
                text, start + 1, func.len(text) if length is None else length
            ),
            "truncate_to_int": lambda value: cast(func.round(value, 0, 1), BigInteger()),
        },
    ),
}


def dialect_traits(name: str) -> DialectTraits:
    return _TRAITS.get(name, _TRAITS["postgresql"])
