"""join(Nav as Alias[,T]) and outerjoin(...): a row per input row and related instance.

OData Data Aggregation 4.0, 3.5.1: for each input row u (in order), the instances A of the
collection-valued navigation property Nav, transformed by T if given; for each v in A a copy of u
with the dynamic navigation property Alias = v. outerjoin keeps u (with Alias null) where A is
empty. Alias is a navigation property: it is shown when $expand names it (the spec's example 39)
and is usable in later transformations (groupby((Alias/Prop)), filter(Alias/Amount gt 5), ...).

In SQL the input rows are numbered (ROW_NUMBER() in their total order) in a CTE; the related rows
are joined to it and transformed by T with that number as the partition (T works per input row:
top(2) keeps two related rows of each); the result is joined back on the number (LEFT OUTER for
outerjoin). An aggregate directly in T also yields a row for an input row without related rows,
as it does for an empty set ($count 0, sums null): its groups are completed from the CTE
(aggregate_every_row, which groupby((G),T) uses as well, with the distinct grouping values).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause

from gateway.catalog.model import Entity
from gateway.errors import BadRequest, NotImplemented_, UnknownProperty, did_you_mean
from gateway.plan.apply_stage import NULL_MARK, Domain, Output, Stage, at, check_alias, names
from gateway.plan.derived import cast_entity
from gateway.plan.paging import SortKey
from gateway.plan.scope import EntityScope, PlanContext
from gateway.plan.through import join_table, restrictions
from grammar import ast

if TYPE_CHECKING:
    from gateway.plan.apply import _Planner


class JoinedScope(EntityScope):
    """The related entity's tables joined to the numbered input rows: FROM input JOIN related ON link."""

    def __init__(self, entity: Entity, context: PlanContext, input_rows: FromClause,
                 link: Callable[[EntityScope], ColumnElement[bool]]) -> None:
        super().__init__(entity, context)
        self._input = input_rows
        self._link = link(self)

    def from_clause(self) -> FromClause:
        return self._input.join(super().from_clause(), self._link)


def join(planner: _Planner, stage: Stage, step: ast.ApplyJoin, text: str) -> Stage:
    context = planner.context
    entity = stage.scope.entity
    name = step.path[0]
    nav = entity.navigation.get(name)
    structured = entity.structured.get(name)
    if nav is None and structured is not None and structured.collection:
        raise NotImplemented_(at(text, step.pos, f"join and outerjoin over the collection-valued property {name} "
                                                 "are not supported yet; join a collection-valued navigation property"))
    if nav is None or nav.target not in context.catalog.entities:
        if name in entity.properties or name in entity.structured or nav is not None:
            raise BadRequest(at(text, step.pos, f"join and outerjoin take a collection-valued navigation property, "
                                                f"and {name} is not one"), target=name)
        raise UnknownProperty(at(text, step.pos, f"{entity.entity_type} has no navigation property {name}."
                                                 + did_you_mean(name, list(entity.navigation))), target=name)
    if not nav.collection:
        raise BadRequest(at(text, step.pos, f"{name} is single-valued: join and outerjoin take a collection-valued "
                                            f"navigation property (use {name}/Property in the other transformations)"),
                         target=name)
    target = context.catalog.entities[nav.target]
    if len(step.path) > 1:  # Nav/Type: the related entities of that derived type only
        cast = step.path[1] if "." in step.path[1] else context.catalog.qualified(step.path[1])
        try:
            target = cast_entity(context.catalog, target, cast)
        except BadRequest as error:
            raise BadRequest(at(text, step.pos, error.message), target=step.path[1]) from None
    check_alias(step.alias, names(stage), text, step.pos)

    # The input rows, numbered in their total order.
    row_path = (context.unique("$row"),)
    number = func.row_number().over(order_by=planner.order_by(stage) or None)
    numbered = replace(stage, outputs=(*stage.outputs, Output(row_path, "Edm.Int64", False, number, number, hidden=True)))
    rows_cte = planner.closing(numbered).cte(context.unique("joined"))
    parent = planner.reopen(numbered, rows_cte)
    parent_row = parent.output(row_path).sql

    # The related rows of each input row, transformed per input row.
    input_rows: FromClause = rows_cte
    link: Callable[[EntityScope], ColumnElement[bool]] = lambda related: parent.scope.link_condition(nav, related)
    if nav.through is not None:  # many-to-many: input row JOIN join table JOIN related row
        through = nav.through
        pairs = join_table(through, context.unique("through"))
        mine = [pairs.c[name] == parent.scope.column(prop) for prop, name in through.link.items()]
        input_rows = rows_cte.join(pairs, and_(*mine, *restrictions(through, pairs)))
        link = lambda related: and_(*(pairs.c[name] == related.column(prop)  # noqa: E731
                                      for prop, name in through.target_link.items()))
    scope = JoinedScope(target, context, input_rows, link)
    related = tuple(
        Output((prop_name,), prop.type, prop.nullable, scope.column(prop_name), scope.column(prop_name),
               prop_name in target.key, prop.scale)
        for prop_name, prop in target.properties.items()
    )
    child = Stage(
        scope,
        (*related, Output(row_path, "Edm.Int64", False, parent_row, parent_row, hidden=True)),
        (scope.where(),),
        entity_rows=True,
        partition=(row_path,),
        domain=Domain(rows_cte, ((row_path, parent_row, False),)),
    )
    transformed = planner.run(child, step.then or (), text)
    subquery = planner.closing(transformed).subquery(context.unique("joined"))
    result = planner.reopen(transformed, subquery)
    their_row = result.output(row_path).sql

    # Each input row with its related rows: their properties under the alias.
    joined = rows_cte.join(subquery, parent_row == their_row, isouter=step.outer)
    outputs = [output for output in parent.outputs if output.path != row_path]
    for output in result.outputs:
        if output.path == row_path:
            continue
        if output.path[0] == NULL_MARK:  # an outerjoin inside T: its alias is below this one
            outputs.append(replace(output, path=(NULL_MARK, step.alias, *output.path[1:])))
        elif output.hidden:
            outputs.append(replace(output, path=(context.unique("$joined"),)))  # e.g. what orders the rows
        else:
            # Absent (outerjoin without related rows) means null.
            outputs.append(replace(output, path=(step.alias, *output.path), nullable=output.nullable or step.outer))
    if step.outer:
        outputs.append(Output((NULL_MARK, step.alias), "Edm.Int64", True, their_row, their_row, hidden=True))
    shown = [output.path for output in outputs if output.path[0] == step.alias]
    stage_out = replace(
        parent,
        outputs=tuple(outputs),
        # The input rows' order (their numbers), then each one's related rows in T's order.
        order=(SortKey(parent_row, False, False), *result.order),
        dynamic=parent.dynamic | {step.alias},
        domain=stage.domain,
    ).with_visible(shown)
    return replace(stage_out, scope=planner.scope(joined, outputs, stage_out))


def aggregate_every_row(planner: _Planner, closing: Stage, domain: Domain) -> Stage:
    """An aggregate directly inside groupby((G),T) or join(...,T): one row per group or input row,
    also where T's filters left it no rows: counts 0, other aggregates null."""
    subquery = planner.closing(closing).subquery(planner.context.unique("apply"))
    result = planner.reopen(closing, subquery)
    matches = [
        value.is_not_distinct_from(result.output(path).sql) if nullable else value == result.output(path).sql
        for path, value, nullable in domain.columns
    ]
    every = domain.from_.outerjoin(subquery, and_(*matches))
    values = {path: value for path, value, _ in domain.columns}
    outputs = []
    for output in result.outputs:
        if output.path in values:
            outputs.append(replace(output, sql=values[output.path], read=values[output.path]))
        elif not output.nullable:  # the counts: 0 where nothing was counted
            value: ColumnElement[Any] = func.coalesce(output.read, 0)
            outputs.append(replace(output, sql=value, read=value))
        else:
            outputs.append(output)
    filled = replace(result, outputs=tuple(outputs))
    return replace(filled, scope=planner.scope(every, outputs, filled))
