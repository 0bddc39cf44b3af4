"""A FROM subquery seen as an entity scope, so that the one ExpressionCompiler binds names against it.

$apply (gateway/plan/apply.py) turns each closed stage into a subquery; the expressions of the next
steps name its columns as properties, grouping paths through navigation as nested properties
(`SalesOrderHeader/OrderingCustomerAccountNumber`), and rows that are still entity instances keep
their real navigation, joined on the subquery's link columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy import and_, true
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause

from gateway.catalog.model import Entity, Navigation, Property, Source
from gateway.plan.scope import EntityScope, PlanContext


class RelationColumn(Protocol):
    """What a scope needs to know of a subquery column."""

    @property
    def path(self) -> tuple[str, ...]: ...
    @property
    def type(self) -> str: ...
    @property
    def nullable(self) -> bool: ...
    @property
    def scale(self) -> int | None: ...
    @property
    def sql(self) -> ColumnElement[Any]: ...


class RelationScope(EntityScope):
    """The FROM subquery of a stage, seen by the ExpressionCompiler as an entity: its columns are the
    properties, grouping paths through navigation are nested scopes, and rows that are still entity
    instances keep their real navigation (joined on the subquery's link columns)."""

    def __init__(
        self,
        context: PlanContext,
        from_: FromClause,
        entity: Entity,
        columns: dict[str, ColumnElement[Any]],
        children: dict[str, RelationScope],
    ) -> None:
        # Not EntityScope.__init__: there are no physical tables, only the subquery's columns.
        self.entity = entity
        self.context = context
        self.tables = {}
        self.conditions = []
        self._from = from_
        self._columns = columns
        self._children = children
        self._joins: dict[str, tuple[EntityScope, ColumnElement[bool]]] = {}

    def column(self, property_name: str) -> ColumnElement[object]:
        return self._columns[property_name]

    def company_condition(self) -> ColumnElement[bool]:
        return true()  # applied when the rows were read from the entity's tables

    def where(self, fixed: tuple[tuple[str, object], ...] = ()) -> ColumnElement[bool]:
        return and_(true(), *(self.column(name) == value for name, value in fixed))

    def from_clause(self) -> FromClause:
        result = self._from
        for target, onclause in self._joins.values():
            result = result.join(target.from_clause(), onclause, isouter=True)
        return result

    def navigate(self, nav: Navigation) -> EntityScope:
        if nav.name in self._children:
            return self._children[nav.name]
        if nav.name not in self._joins:
            target = EntityScope(self.context.catalog.entities[nav.target], self.context)
            self._joins[nav.name] = (target, and_(self.link_condition(nav, target), *target.conditions))
        return self._joins[nav.name][0]

    def etag_columns(self) -> list[ColumnElement[object]]:
        return []

    def leaves(self) -> list[tuple[str, ...]]:
        """The paths of every column below this scope."""
        nested = [(name, *rest) for name, child in self._children.items() for rest in child.leaves()]
        return [(name,) for name in self._columns] + nested


def relation_scope(
    context: PlanContext,
    subquery: FromClause,
    outputs: Sequence[RelationColumn],
    entity: Entity | None,
    prefix: tuple[str, ...] = (),
) -> RelationScope:
    """The scope of `outputs` (those under `prefix`); `entity` when the rows are its instances."""
    depth = len(prefix)
    mine = [output for output in outputs if output.path[:depth] == prefix and len(output.path) > depth]
    properties: dict[str, Property] = {}
    columns: dict[str, ColumnElement[Any]] = {}
    children: dict[str, RelationScope] = {}
    for output in mine:
        name = output.path[depth]
        if len(output.path) == depth + 1:
            properties[name] = Property(
                name=name, column=f"apply.{name}", type=output.type, nullable=output.nullable, scale=output.scale
            )
            columns[name] = output.sql
        elif name not in children:
            children[name] = relation_scope(context, subquery, outputs, None, (*prefix, name))
    navigation = {name: Navigation(name=name, target="", link={}) for name in children}
    if entity is not None:
        navigation = {**entity.navigation, **navigation}
        entity_type = entity.entity_type
    elif prefix:
        entity_type = f"{'/'.join(prefix)} in the $apply result"
    else:
        shown = ", ".join([*properties, *children])
        entity_type = f"the $apply result ({shown})" if len(properties) + len(children) <= 12 else "the $apply result"
    synthetic = Entity(
        entity_set=entity.entity_set if entity is not None else "$apply",
        entity_type=entity_type,
        sources=[Source(alias="apply", table="(subquery)")],
        key=list(entity.key) if entity is not None else [next(iter([*properties, *children]), "$apply")],
        properties=properties,
        navigation=navigation,
    )
    return RelationScope(context, subquery, synthetic, columns, children)
