"""One side of dual-write: its catalog, its database and the reads every sync needs.

Rows are read as stored values (enum integers, Guid text, Decimals) through the same planner as any
OData request, so a map's filter is an ordinary $filter and company scoping works as everywhere.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Connection, Engine, Row

from gateway.catalog.companies import database_companies
from gateway.catalog.model import Catalog, Entity, Property
from gateway.dualwrite.maps import Side, filter_plan
from gateway.edm import flags_text
from gateway.identity.access import SYSTEM
from gateway.plan.dialects import dialect_traits
from gateway.plan.keys import Fixed
from gateway.plan.query import OptionTexts, next_token, plan_read
from gateway.plan.scope import PlanContext
from grammar import ast

Values = dict[str, Any]


COMPANIES_FRESH_SECONDS = 5.0
KEYS_PER_QUERY = 500
# Signs the position after a batch (a $skiptoken: it never leaves the server). Initial sync keeps its
# positions in the database and signs them with its own fixed key.
_BATCH_KEY = b"fno-gateway dual-write batches"


@dataclass(frozen=True)
class Batch:
    """Rows of one side in key order, read in `connection` (still open while the batch is handled:
    lookups read there), and the position after them (None: nothing read yet)."""

    connection: Connection
    rows: list[Values]
    position: str | None


@dataclass
class Endpoint:
    side: Side
    catalog: Catalog
    engine: Engine
    _filters: dict[tuple[str, str], ast.Expr] = field(default_factory=dict)
    _companies: tuple[str, ...] = ()
    _companies_read: float = -COMPANIES_FRESH_SECONDS

    @property
    def companies(self) -> tuple[str, ...]:
        """Every company of the database, read again every few seconds: sync is never scoped to a
        caller's companies (a row outside them is not a deleted row), and a new company syncs at once."""
        if time.monotonic() - self._companies_read >= COMPANIES_FRESH_SECONDS:
            self._companies = database_companies(self.catalog, self.engine) or ()
            self._companies_read = time.monotonic()
        return self._companies

    @property
    def label(self) -> str:
        return "F&O" if self.side == "fo" else "Dataverse"

    def context(self) -> PlanContext:
        traits = dialect_traits(self.engine.dialect.name)
        companies = self.companies
        return PlanContext(self.catalog, companies, traits, current_company=companies[0] if companies else "",
                           writable_companies=companies, access=SYSTEM)

    def entity(self, entity_set: str) -> Entity:
        return self.catalog.entities[entity_set]

    def read(self, connection: Connection, entity_set: str, fixed: Fixed, filter_text: str | None = None) -> Values | None:
        """The stored values of the one row of `entity_set` matching `fixed` (and the filter), or None."""
        rows = self.read_many(connection, entity_set, fixed, filter_text, limit=1)
        return rows[0] if rows else None

    def read_many(self, connection: Connection, entity_set: str, fixed: Fixed = (), filter_text: str | None = None,
                  limit: int | None = None, condition: ast.Expr | None = None) -> list[Values]:
        """The rows matching `fixed`, the filter and `condition` (a bound $filter expression)."""
        entity = self.entity(entity_set)
        expression = self.filter_expression(entity, filter_text) if filter_text else None
        if condition is not None:
            expression = condition if expression is None else ast.BinaryOp("and", expression, condition)
        plan = plan_read(self.context(), entity, ast.QueryOptions(filter=expression),
                         OptionTexts(filter=filter_text or ""), fixed)
        statement = plan.statement if limit is None else plan.statement.limit(limit)
        return [_values(entity, plan.layout.read, row) for row in connection.execute(statement)]

    def read_keys(self, connection: Connection, entity_set: str, keys: Sequence[Fixed],
                  filter_text: str | None = None) -> dict[tuple[Any, ...], Values]:
        """The rows (within the filter) whose keys are among `keys`, by `identity` of their key values.
        Every key names the same properties in the same order: a query per KEYS_PER_QUERY keys that
        share all but the last part (`company = ? AND number IN (...)`), never one per key."""
        if not keys:
            return {}
        names = [name for name, _ in keys[0]]
        last = self.entity(entity_set).properties[names[-1]]
        path = ast.MemberPath((ast.PropertyStep(last.name),))
        found: dict[tuple[Any, ...], Values] = {}
        for prefix, lasts in key_groups(tuple(value for _, value in key) for key in keys):
            listed = ast.In(path, ast.ListExpr(tuple(self._key_literal(last, value) for value in lasts)))
            for row in self.read_many(connection, entity_set, tuple(zip(names, prefix)), filter_text,
                                      condition=listed):
                found[identity(row[name] for name in names)] = row
        return found

    def _key_literal(self, prop: Property, value: object) -> ast.Literal:
        """A stored key value as a literal; an enum's number as its member's name (the planner reads
        enum literals by name), so an enum may be part of an integration key."""
        members = self.catalog.service.enums.get(prop.type)
        if members is None or value is None:
            return ast.Literal(value, prop.type)
        return ast.Literal(flags_text(int(value), members), "Edm.String")  # type: ignore[call-overload]

    def batches(self, entity_set: str, filter_text: str | None, batch_rows: int, position: str | None = None,
                signing_key: bytes = _BATCH_KEY) -> Iterator[Batch]:
        """Every row of `entity_set` within the filter, in key order, `batch_rows` at a time (at least one
        batch, maybe empty), from `position` (a batch's position: resume after it) on."""
        entity = self.entity(entity_set)
        options = ast.QueryOptions(filter=self.filter_expression(entity, filter_text)) if filter_text else ast.QueryOptions()
        texts = OptionTexts(filter=filter_text or "")
        while True:
            plan = plan_read(replace(self.context(), signing_key=signing_key), entity, options, texts, (), batch_rows,
                             position)
            with self.engine.connect() as connection:
                rows = connection.execute(plan.statement).all()
                page = rows[:batch_rows]
                if page:
                    position = next_token(plan, page[-1], signing_key)
                yield Batch(connection, [_values(entity, plan.layout.read, row) for row in page], position)
            if len(rows) <= batch_rows:
                return

    def filter_expression(self, entity: Entity, text: str) -> ast.Expr:
        key = (entity.entity_set, text)
        if key not in self._filters:
            self._filters[key] = filter_plan(self.catalog, entity, text)
        return self._filters[key]


def _values(entity: Entity, names: Sequence[str], row: Row[Any]) -> Values:
    return {name: row[index] for index, name in enumerate(names) if name in entity.properties}


def identity(values: Iterable[object]) -> tuple[Any, ...]:
    """Key values as one side's read and the other side's conversion both give them (text)."""
    return tuple(None if value is None else str(value) for value in values)


def key_groups(keys: Iterable[tuple[Any, ...]], size: int = KEYS_PER_QUERY) -> Iterator[tuple[tuple[Any, ...], list[Any]]]:
    """Integration keys grouped by every part but the last (usually the company), at most `size` a
    group, so each query is `company = ? AND number IN (...)`: an index range on every database (a
    row-value IN list is not, on SQLite, and would scan the table once per batch)."""
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for key in keys:
        groups.setdefault(key[:-1], []).append(key[-1])
    for prefix, lasts in groups.items():
        for start in range(0, len(lasts), size):
            yield prefix, lasts[start:start + size]
