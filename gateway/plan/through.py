"""Many-to-many navigation through a join table (Products/RelatedProducts over related_product).

A navigation with `through` pairs this entity's rows with the target's by the rows of a join
table: `through.link` names the join table's columns that hold this row's properties,
`through.target_link` those that hold the target's. Every use of it is one condition on the join
table, so the entities themselves are still joined straight from their physical tables:

- a lambda, `$count` inside an expression, a path `Products(x)/RelatedProducts`: the target rows for
  which a join row EXISTS (`through_exists`);
- `$expand`: the target joined with the join table, whose link columns say which parent each child
  row belongs to (`join_through`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, column, exists, literal, select, table
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import TableClause

from gateway.catalog.model import Catalog, Navigation, Through

if TYPE_CHECKING:
    from gateway.plan.scope import EntityScope

# The name of a `Fixed` pair that restricts a path's target to the rows a parent links to through a
# join table (`Products(x)/RelatedProducts`); never a property name (those cannot start with '$').
RELATED = "$related"


@dataclass(frozen=True)
class Related:
    """The target rows of `navigation` of the `entity_set` row whose link properties hold `values`
    (in `Navigation.link_properties` order). Hashable, with a stable repr: it is part of plan keys."""

    entity_set: str
    navigation: str
    values: tuple[object, ...]

    def nav(self, catalog: Catalog) -> Navigation:
        return catalog.entities[self.entity_set].navigation[self.navigation]


def join_table(through: Through, alias: str | None = None) -> TableClause:
    """The join table with the columns a navigation uses (untyped: values bind as they are given,
    which is how the parents' link values were read); aliased for a query, bare for a write."""
    names = dict.fromkeys([*through.link.values(), *through.target_link.values(), *through.where])
    joined = table(through.table, *(column(name) for name in names))
    return joined if alias is None else joined.alias(alias)  # type: ignore[return-value]


def restrictions(through: Through, joined: TableClause) -> list[ColumnElement[bool]]:
    return [joined.c[name] == value for name, value in through.where.items()]


def through_exists(
    nav: Navigation, parent: Mapping[str, Any], target: EntityScope, alias: str
) -> ColumnElement[bool]:
    """EXISTS a join row that pairs the parent (`parent`: its link properties as columns of an outer
    query, or as values) with the target row of `target`."""
    assert nav.through is not None
    joined = join_table(nav.through, alias)
    conditions = [joined.c[name] == parent[prop] for prop, name in nav.through.link.items()]
    conditions += [joined.c[name] == target.column(prop) for prop, name in nav.through.target_link.items()]
    # Correlated explicitly: inside a lambda the parent's table is two SELECTs up, where automatic
    # correlation (to the immediately enclosing SELECT only) would not find it.
    inner = select(literal(1)).select_from(joined).where(*conditions, *restrictions(nav.through, joined))
    return exists(inner.correlate_except(joined))


def related_condition(scope: EntityScope, related: Related) -> ColumnElement[bool]:
    """The rows of `scope` (the navigation's target) that the parent of `related` links to."""
    nav = related.nav(scope.context.catalog)
    parent = dict(zip(nav.link_properties, related.values))
    return through_exists(nav, parent, scope, scope.context.unique("through"))


def join_through(scope: EntityScope, nav: Navigation) -> list[ColumnElement[Any]]:
    """Join the join table into `scope` (the target of an $expand) and return its columns that hold
    the parents' link properties: a child row appears once per parent it is linked to."""
    assert nav.through is not None
    joined = join_table(nav.through, scope.context.unique("through"))
    on = [joined.c[name] == scope.column(prop) for prop, name in nav.through.target_link.items()]
    scope.join_inner(joined, and_(*on, *restrictions(nav.through, joined)))
    return [joined.c[name] for name in nav.through.link.values()]
