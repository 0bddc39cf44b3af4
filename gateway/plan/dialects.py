"""What differs between the databases, as data: one small declarative entry per dialect.

Code asks `dialect_traits(name)` for a fact and never tests a dialect name itself.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DialectTraits:
    # Whether NULL sorts before every value in ascending order without being told (OData wants it so).
    nulls_sort_first_by_default: bool
    # Whether the driver takes Decimal parameters natively (SQLite's gets floats, exact enough there).
    native_decimal: bool
    # How many parameters one statement may carry (bounds the IN lists of $expand batches).
    max_parameters: int


_TRAITS = {
    "sqlite": DialectTraits(nulls_sort_first_by_default=True, native_decimal=False, max_parameters=30000),
    "postgresql": DialectTraits(nulls_sort_first_by_default=False, native_decimal=True, max_parameters=30000),
    "mysql": DialectTraits(nulls_sort_first_by_default=True, native_decimal=True, max_parameters=30000),
    "mariadb": DialectTraits(nulls_sort_first_by_default=True, native_decimal=True, max_parameters=30000),
    "mssql": DialectTraits(nulls_sort_first_by_default=True, native_decimal=True, max_parameters=2000),
}


def dialect_traits(name: str) -> DialectTraits:
    return _TRAITS.get(name, _TRAITS["postgresql"])
