"""One side of dual-write: its catalog, its database and the reads every sync needs.

Rows are read as stored values (enum integers, Guid text, Decimals) through the same planner as any
OData request, so a map's filter is an ordinary $filter and company scoping works as everywhere.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine

from gateway.catalog.companies import database_companies
from gateway.identity.access import SYSTEM
from gateway.catalog.model import Catalog, Entity
from gateway.dualwrite.maps import Side, filter_plan
from gateway.plan.dialects import dialect_traits
from gateway.plan.keys import Fixed
from gateway.plan.query import OptionTexts, plan_read
from gateway.plan.scope import PlanContext
from grammar import ast

Values = dict[str, Any]


COMPANIES_FRESH_SECONDS = 5.0


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
                  limit: int | None = None) -> list[Values]:
        entity = self.entity(entity_set)
        options = ast.QueryOptions(filter=self.filter_expression(entity, filter_text)) if filter_text else ast.QueryOptions()
        plan = plan_read(self.context(), entity, options, OptionTexts(filter=filter_text or ""), fixed)
        statement = plan.statement if limit is None else plan.statement.limit(limit)
        names = plan.layout.read
        return [
            {name: row[index] for index, name in enumerate(names) if name in entity.properties}
            for row in connection.execute(statement)
        ]

    def filter_expression(self, entity: Entity, text: str) -> ast.Expr:
        key = (entity.entity_set, text)
        if key not in self._filters:
            self._filters[key] = filter_plan(self.catalog, entity, text)
        return self._filters[key]
