"""The rows a function call returns, as a restriction of its entity set's read plan.

A function that returns entities is composable (`/GetTopProducts(count=3)?$filter=...&$expand=...`):
the call names the returned rows by their keys, and the entity set's own plan (company scope,
privileges, every query option) reads them, restricted to those keys. Hashable: it is part of the
plan's cache key, as the path's parameters are not in the query string.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnClause, ColumnElement, column, false, tuple_

from gateway.operations.sql import bound_sql
from gateway.plan.scope import EntityScope


@dataclass(frozen=True)
class Within:
    # Either a SELECT of the key columns (in key order) with its named parameters (name, value, Edm type)...
    sql: str | None = None
    parameters: tuple[tuple[str, Any, str], ...] = ()
    # ...or the keys themselves, each a tuple of values in key order (a Python implementation's answer).
    keys: tuple[tuple[Any, ...], ...] = ()

    def condition(self, scope: EntityScope) -> ColumnElement[bool]:
        key_columns = [scope.column(name) for name in scope.entity.key]
        target = key_columns[0] if len(key_columns) == 1 else tuple_(*key_columns)
        if self.sql is not None:
            # SELECT * of a derived table: MariaDB refuses LIMIT directly inside IN (...), and the key
            # columns are matched by position whatever the SQL names them.
            returned = bound_sql(scope.context.catalog, f"SELECT * FROM ({self.sql}) fn_result", self.parameters)
            width: list[ColumnClause[Any]] = [column(f"k{index}") for index in range(len(key_columns))]
            return target.in_(returned.columns(*width))
        if not self.keys:
            return false()
        if len(key_columns) == 1:
            return target.in_([key[0] for key in self.keys])
        return target.in_(list(self.keys))
