"""Plan $apply (OData Data Aggregation): its transformations → one SELECT, with a subquery per stage.

The transformations run left to right over a *stage*: a SELECT under construction (FROM, WHERE,
ORDER BY, LIMIT/OFFSET) whose output columns are named by OData paths. The first stage reads the
entity's tables (EntityScope: company scope and joins as for any read).

- filter adds to WHERE, orderby to ORDER BY, top/skip to LIMIT/OFFSET of the current stage;
- groupby/aggregate close the stage: ``SELECT groups, aggregates FROM <stage> WHERE ... GROUP BY groups``
  becomes the FROM subquery (``apply_N``) of the next stage, whose columns the ExpressionCompiler sees
  as properties (grouping paths through navigation as nested names, ``SalesOrderHeader/...``);
- compute adds its columns and closes the stage the same way, so that later steps can name them;
- a stage that already has LIMIT/OFFSET is closed before anything that must come after it;
- topcount/topsum/toppercent and bottom... number and sum rows with window functions
  (apply_windows.py); concat and rollup are a UNION ALL whose rows keep their own structure
  (apply_union.py); join/outerjoin join the related rows to the numbered input rows (apply_join.py);
- groupby((G),T) with any T runs T with the grouping values as hidden *partition* columns: each
  transformation of T then works per group (aggregate groups by them, top/skip and the rankings
  number rows per partition); join(...,T) runs T per input row the same way (apply_stage.py).

`$filter`, `$orderby`, `$skip` and `$top` then apply to the result, as if appended as
filter/orderby/skip/top; `$count` counts the rows before `$skip`/`$top`. Aggregated rows have no key,
so pages are cut by position: the order is made total with the grouping properties (the key of a
grouped result) and the next page is `$skip` further on.

Values are exact: sums of decimals stay decimals; on a database without a decimal type (SQLite) a
decimal property of known scale is summed as an integer count of its smallest unit.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import (
    BigInteger,
    Double,
    Float,
    cast,
    distinct,
    func,
    literal,
    select,
    type_coerce,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause

from gateway.catalog.model import Entity
from gateway.errors import (
    BadRequest,
    InvalidQueryOption,
    InvalidSkipToken,
    NotImplemented_,
    TypeMismatch,
    UnknownProperty,
    did_you_mean,
)
from gateway.plan import apply_join, apply_union, apply_windows, paging
from gateway.plan.apply_stage import NULL_MARK, VARIANT, Domain, Output, Stage, Units, check_alias, names
from gateway.plan.apply_stage import at as _at
from gateway.plan.apply_stage import pos as _pos
from gateway.plan.expressions import ExpressionCompiler
from gateway.plan.paging import SortKey
from gateway.plan.query import AnySelect, OptionTexts
from gateway.plan.relation import RelationScope, relation_scope
from gateway.plan.scope import EntityScope, PlanContext
from gateway.plan.typed import Typed
from gateway.plan.types import is_numeric, sql_type
from gateway.plan.within import Within
from grammar import ast

COUNT_TYPE = "Edm.Int64"


@dataclass(frozen=True)
class ResultColumn:
    """One column of an $apply result: where it goes in the JSON object and how to write it."""

    path: tuple[str, ...]  # ('Total',), or ('SalesOrderHeader', 'OrderingCustomerAccountNumber')
    type: str  # an Edm type or an enum name


@dataclass(frozen=True)
class RowShape:
    """Which columns a row has, where rows differ (concat, rollup, outerjoin): read from extra
    columns the statement has after the ResultColumns."""

    # After concat: the column holding each row's variant, and the ResultColumns (by index) present
    # in each variant. Absent properties are left out of the row's JSON object.
    variant_column: int | None = None
    variants: tuple[frozenset[int], ...] = ()
    # After outerjoin: (alias path, column) pairs; where the column is null, the alias is null.
    null_groups: tuple[tuple[tuple[str, ...], int], ...] = ()


@dataclass(frozen=True)
class ApplyPlan:
    statement: AnySelect  # one column per ResultColumn, in order (then the columns of `shape`)
    count_statement: AnySelect | None
    columns: tuple[ResultColumn, ...]
    projection: str  # for the context URL: "(ItemNumber,Total)", "" for plain entity rows
    page_size: int | None  # rows per page when a next page may follow; None when this page is all
    next_skip: int  # $skip of the next page
    remaining_top: int | None  # what is left of $top after this page, for the nextLink
    # The statements as the driver runs them, recorded on first use (gateway/direct.py).
    prepared: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    shape: RowShape = RowShape()


def plan_apply(
    context: PlanContext,
    entity: Entity,
    options: ast.QueryOptions,
    texts: OptionTexts,
    apply_text: str,
    fixed: tuple[tuple[str, object], ...] = (),
    page_size: int | None = None,
    skiptoken: str | None = None,
    within: Within | None = None,
) -> ApplyPlan:
    """The statements for one page of `entity` (restricted to a function's rows, `within`) transformed by
    `options.apply`, then the other options."""
    _reject_unsupported(options, skiptoken)
    planner = _Planner(context)
    stage = planner.base(entity, fixed, within)
    stage = planner.run(stage, options.apply or (), apply_text)
    expanded = _expanded(stage, options.expand)
    if options.compute:
        stage = planner.step(stage, ast.ApplyCompute(options.compute), texts.compute)
    if options.filter is not None:
        stage = planner.step(stage, ast.ApplyFilter(options.filter), texts.filter)
    if options.orderby:
        stage = planner.step(stage, ast.ApplyOrderBy(options.orderby), texts.orderby)
    count_statement = None
    if options.count:
        counted = planner.select(stage).subquery(context.unique("counted"))
        count_statement = select(func.count()).select_from(counted)
    if options.skip:
        stage = planner.step(stage, ast.ApplySkip(options.skip), "")
    if options.top is not None:
        stage = planner.step(stage, ast.ApplyTop(options.top), "")
    top = stage.limit
    paged = page_size is not None and (top is None or top > page_size)
    if paged:
        assert page_size is not None
        stage = replace(stage, limit=page_size + 1)  # one row more shows whether a next page exists
    visible = _visible(stage, options.select, texts.select, expanded)
    shape, extra = _row_shape(stage, visible)
    statement = planner.select(stage, (*visible, *extra), ordered=True)
    columns = tuple(ResultColumn(output.path, output.type) for output in visible)
    plain = stage.entity_rows and [column.path for column in columns] == [(name,) for name in entity.properties]
    whole = {alias for alias, chosen in expanded.items() if chosen is None}
    projection = "" if plain else _projection([column.path for column in columns], whole)
    remaining = None if options.top is None or not paged else options.top - page_size  # type: ignore[operator]
    return ApplyPlan(
        statement,
        count_statement,
        columns,
        projection,
        page_size if paged else None,
        (options.skip or 0) + (page_size or 0),
        remaining,
        shape=shape,
    )


def _reject_unsupported(options: ast.QueryOptions, skiptoken: str | None) -> None:
    if skiptoken is not None:
        raise InvalidSkipToken("results of $apply are paged with $skip, not $skiptoken; follow @odata.nextLink as given")
    if options.search is not None:
        raise NotImplemented_("$search together with $apply is not supported yet; use the transformations of $apply")
    if options.levels is not None:
        raise InvalidQueryOption("$levels belongs inside $expand, e.g. $expand=Nav($levels=2)")


def _expanded(stage: Stage, items: tuple[ast.ExpandItem, ...] | None) -> dict[str, frozenset[str] | None]:
    """The join aliases $expand names (a join's alias is a navigation property, shown only when
    expanded), each with the properties its nested $select keeps (None: all of them)."""
    expanded: dict[str, frozenset[str] | None] = {}
    for item in items or ():
        name = item.path[0] if len(item.path) == 1 and not item.star else None
        if name is None or name not in stage.dynamic:
            raise NotImplemented_(
                "$expand together with $apply is supported for the aliases of join(...) and outerjoin(...) "
                "only; use the transformations of $apply"
                + (f" (this result's aliases: {', '.join(sorted(stage.dynamic))})" if stage.dynamic else "")
            )
        options = item.options or ast.QueryOptions()
        if item.ref or item.count or item.levels is not None or replace(options, select=None) != ast.QueryOptions():
            raise NotImplemented_(f"$expand={name}: only $select is supported inside the expansion of a join alias")
        chosen = None
        if options.select and not any(select_item.star for select_item in options.select):
            chosen = frozenset(select_item.path[0] for select_item in options.select)
        expanded[name] = chosen
    return expanded


def _row_shape(stage: Stage, visible: tuple[Output, ...]) -> tuple[RowShape, tuple[Output, ...]]:
    """How rows differ in structure, and the hidden columns the statement reads for it."""
    extra: list[Output] = []
    variant_column = None
    variants: tuple[frozenset[int], ...] = ()
    if stage.variants is not None:
        variant_column = len(visible) + len(extra)
        extra.append(stage.output(VARIANT))
        variants = tuple(
            frozenset(index for index, output in enumerate(visible) if output.path in variant)
            for variant in stage.variants
        )
    shown = {output.path[: len(output.path) - 1] for output in visible}
    null_groups = []
    for output in stage.outputs:
        prefix = output.path[1:]
        if output.hidden and output.path[0] == NULL_MARK and any(path[: len(prefix)] == prefix for path in shown):
            null_groups.append((prefix, len(visible) + len(extra)))
            extra.append(output)
    return RowShape(variant_column, variants, tuple(null_groups)), tuple(extra)


class _Planner:
    def __init__(self, context: PlanContext) -> None:
        self.context = context
        self.sequences = 0  # sequences concat and rollup planned (apply_union.MAX_SEQUENCES)

    # ------------------------------------------------------------------ building SELECTs
    def base(self, entity: Entity, fixed: tuple[tuple[str, object], ...], within: Within | None = None) -> Stage:
        scope = EntityScope(entity, self.context)
        outputs = tuple(
            Output((name,), prop.type, prop.nullable, scope.column(name), scope.column(name), name in entity.key, prop.scale)
            for name, prop in entity.properties.items()
        )
        where = (scope.where(fixed),) if within is None else (scope.where(fixed), within.condition(scope))
        return Stage(scope, outputs, where, entity_rows=True)

    def select(self, stage: Stage, outputs: tuple[Output, ...] | None = None, ordered: bool = False) -> AnySelect:
        chosen = stage.outputs if outputs is None else outputs
        columns = [output.read.label(f"c{index}") for index, output in enumerate(chosen)]
        statement = select(*columns).select_from(stage.scope.from_clause()).where(*stage.where)
        if stage.group_by:
            statement = statement.group_by(*stage.group_by)
        if ordered or stage.limited:
            statement = statement.order_by(*self.order_by(stage))
        if stage.offset:
            statement = statement.offset(stage.offset)
        if stage.limit is not None:
            statement = statement.limit(stage.limit)
        return statement

    def total_order(self, stage: Stage) -> list[SortKey]:
        """The stage's ORDER BY, then what tells rows apart: the same rows come in the same order."""
        keys = list(stage.order)
        keys += [SortKey(output.sql, False, output.nullable) for output in stage.outputs if output.identity]
        return keys

    def order_by(self, stage: Stage, first: tuple[SortKey, ...] = ()) -> list[ColumnElement[Any]]:
        """ORDER BY clauses of `first`, then the stage's total order (also for window functions)."""
        return paging.order_by([*first, *self.total_order(stage)], self.context.dialect)

    def closing(self, stage: Stage) -> AnySelect:
        """The SELECT that closes `stage` (its ORDER BY kept as hidden columns o0, o1, ...)."""
        hidden = [key.sql.label(f"o{index}") for index, key in enumerate(stage.order)]
        return self.select(stage).add_columns(*hidden)

    def close(self, stage: Stage) -> Stage:
        """The stage as the FROM subquery of a new stage."""
        return self.reopen(stage, self.closing(stage).subquery(self.context.unique("apply")))

    def reopen(self, stage: Stage, from_: FromClause) -> Stage:
        """A new stage reading `from_`, a subquery (or CTE) of `closing(stage)`."""
        outputs = []
        for index, output in enumerate(stage.outputs):
            column = from_.c[f"c{index}"]
            value: ColumnElement[Any] = column
            if output.units:
                assert output.scale is not None
                value = cast(type_coerce(column, BigInteger()), Double()) / literal(float(10**output.scale), Double())
            outputs.append(replace(output, sql=value, read=column))
        order = tuple(
            SortKey(from_.c[f"o{index}"], key.descending, key.nullable) for index, key in enumerate(stage.order)
        )
        return Stage(
            self.scope(from_, outputs, stage),
            tuple(outputs),
            order=order,
            entity_rows=stage.entity_rows,
            partition=stage.partition,
            variants=stage.variants,
            dynamic=stage.dynamic,
            domain=stage.domain,
        )

    def scope(self, from_: FromClause, outputs: Sequence[Output], stage: Stage) -> RelationScope:
        """What expressions see of `from_`: the visible outputs, and the entity's navigation while the
        rows are its instances."""
        entity = stage.scope.entity if stage.entity_rows else None
        return relation_scope(self.context, from_, [output for output in outputs if not output.hidden], entity)

    def scale(self, scope: EntityScope, node: ast.Expr | None) -> int | None:
        """The scale of the decimal property a path names (None for other expressions)."""
        return _scale(scope, node)

    # ------------------------------------------------------------------ transformations
    def run(self, stage: Stage, steps: tuple[ast.ApplyStep, ...], text: str) -> Stage:
        for step in steps:
            stage = self.step(stage, step, text)
        return stage

    def step(self, stage: Stage, step: ast.ApplyStep, text: str) -> Stage:
        if isinstance(step, ast.ApplyIdentity):
            return stage
        if isinstance(step, (ast.ApplyTop, ast.ApplySkip)) and stage.partition:
            return apply_windows.top_or_skip(self, stage, step)  # per group: numbered rows, not LIMIT
        if isinstance(step, ast.ApplyTop):
            return replace(stage, limit=step.count if stage.limit is None else min(stage.limit, step.count))
        if isinstance(step, ast.ApplySkip):
            remaining = None if stage.limit is None else max(stage.limit - step.count, 0)
            return replace(stage, offset=stage.offset + step.count, limit=remaining)
        if stage.limited:
            stage = self.close(stage)  # what follows top/skip works on the rows they kept
        compiler = ExpressionCompiler(self.context, stage.scope, text)
        if isinstance(step, ast.ApplyFilter):
            return replace(stage, where=(*stage.where, compiler.predicate(step.condition)))
        if isinstance(step, ast.ApplyOrderBy):
            keys = []
            for item in step.items:
                typed = compiler.compile(item.expr)
                keys.append(SortKey(typed.sql, item.descending, typed.nullable))
            return replace(stage, order=(*keys, *stage.order))
        if isinstance(step, ast.ApplyCompute):
            computed = self._computed(compiler, stage, step)
            stage = stage.with_visible([output.path for output in computed])
            return self.close(replace(stage, outputs=(*stage.outputs, *computed)))
        if isinstance(step, ast.ApplyAggregate):
            return self._aggregate(compiler, stage, (), step, text)
        if isinstance(step, ast.ApplyGroupBy):
            return self._groupby(compiler, stage, step, text)
        if isinstance(step, ast.ApplyRanked):
            return apply_windows.ranked(self, compiler, stage, step, text)
        if isinstance(step, ast.ApplyConcat):
            return apply_union.concat(self, stage, step, text)
        if isinstance(step, ast.ApplyJoin):
            return apply_join.join(self, stage, step, text)
        raise NotImplemented_(_at(text, step.pos, "the transformation search(...) is not supported yet; use filter(...)"))

    def _computed(self, compiler: ExpressionCompiler, stage: Stage, step: ast.ApplyCompute) -> list[Output]:
        taken = names(stage)
        outputs = []
        for item in step.items:
            typed = compiler.compile(item.expr)
            check_alias(item.name, taken, compiler.text, _pos(item.expr))
            if typed.type == "null" or typed.type_name is not None:
                raise TypeMismatch(_at(compiler.text, _pos(item.expr), f"{item.name} has no type (null or a type name)"))
            taken.add(item.name)
            outputs.append(Output((item.name,), typed.type, typed.nullable, typed.sql, typed.sql))
        return outputs

    def _groupby(self, compiler: ExpressionCompiler, stage: Stage, step: ast.ApplyGroupBy, text: str) -> Stage:
        if any(isinstance(item, ast.Rollup) for item in step.properties):
            return apply_union.rollup(self, stage, step, text)  # a concat of groupbys, one per level
        groups: dict[tuple[str, ...], Output] = {}
        for path in step.properties:
            assert isinstance(path, ast.MemberPath)
            for expanded in _grouping_paths(stage.scope, path, text):
                typed = compiler.compile(expanded)
                names_ = tuple(s.name for s in expanded.steps if isinstance(s, ast.PropertyStep))
                scale = _scale(stage.scope, expanded)
                groups.setdefault(names_, Output(names_, typed.type, typed.nullable, typed.sql, typed.sql, True, scale))
        then = step.then or ()
        aggregate = then[0] if then and isinstance(then[0], ast.ApplyAggregate) else None
        rest = then[1:] if aggregate is not None else then
        if not then or (aggregate is not None and all(
            isinstance(s, (ast.ApplyFilter, ast.ApplyCompute, ast.ApplyIdentity)) for s in rest
        )):
            # One GROUP BY: what most requests ask for (and all that groupby did before partitions).
            result = self._aggregate(compiler, stage, tuple(groups.values()), aggregate, text)
            return self.run(result, rest, text)
        return self._grouped(stage, tuple(groups.values()), then, text)

    def _grouped(self, stage: Stage, groups: tuple[Output, ...], then: tuple[ast.ApplyStep, ...], text: str) -> Stage:
        """groupby((G),T) for any T: T runs on the rows with the grouping values as hidden partition
        columns (each transformation of T works per group), then the values come back under their
        paths (the spec's Pi_G: every row of a group's result gets its grouping properties)."""
        hidden = [replace(group, path=(self.context.unique("$g"),), hidden=True, identity=False) for group in groups]
        grouped_input = replace(stage, outputs=(*stage.outputs, *hidden))
        rows = self.closing(grouped_input).cte(self.context.unique("grouped"))
        inner = self.reopen(grouped_input, rows)
        partition = (*stage.partition, *(output.path for output in hidden))
        # Every group once: an aggregate directly in T yields a row for each (see apply_join.aggregate_every_row).
        keys = [inner.output(path) for path in partition]
        groups_of = select(*(key.sql.label(f"g{index}") for index, key in enumerate(keys))).select_from(rows).distinct()
        every = groups_of.subquery(self.context.unique("groups"))
        domain = Domain(every, tuple((key.path, every.c[f"g{index}"], key.nullable) for index, key in enumerate(keys)))
        inner = replace(inner, partition=partition, domain=domain)
        result = self.close(self.run(inner, then, text))
        values = {group.path: result.output(secret.path) for group, secret in zip(groups, hidden)}
        kept = {output.path for output in result.outputs if not output.hidden}
        # Rows that are still entities have the property already; a row of another structure (after
        # concat) may not: either way the group's value is the one to show.
        shown = [replace(value, path=path, hidden=False, identity=True) for path, value in values.items() if path not in kept]
        secrets = {secret.path for secret in hidden}
        outputs = (*shown, *(
            replace(values[output.path], path=output.path, hidden=False, identity=True) if output.path in values else output
            for output in result.outputs if output.path not in secrets
        ))
        by_path = {output.path: output for output in outputs if not output.hidden}
        order = tuple(SortKey(by_path[group.path].sql, False, group.nullable) for group in groups)  # group by group
        grouped = replace(
            result, outputs=outputs, order=(*order, *result.order), partition=stage.partition, domain=stage.domain
        ).with_visible(list(values))
        return replace(grouped, scope=self.scope(result.scope.from_clause(), outputs, grouped))

    def _aggregate(
        self,
        compiler: ExpressionCompiler,
        stage: Stage,
        groups: tuple[Output, ...],
        step: ast.ApplyAggregate | None,
        text: str,
    ) -> Stage:
        taken = {output.path[0] for output in groups}
        partition = [replace(stage.output(path), identity=True) for path in stage.partition]
        outputs = [*partition, *groups]
        for item in step.items if step is not None else ():
            check_alias(item.alias, taken, text, item.pos)
            taken.add(item.alias)
            outputs.append(self._aggregated(compiler, stage, item, text))
        group_by = tuple(output.sql for output in (*partition, *groups))
        closing = replace(
            stage, outputs=tuple(outputs), order=(), group_by=group_by, entity_rows=False, variants=None,
            dynamic=frozenset(),
        )
        if stage.domain is not None and not groups:
            return apply_join.aggregate_every_row(self, closing, stage.domain)
        return self.close(closing)

    def _aggregated(self, compiler: ExpressionCompiler, stage: Stage, item: ast.AggregateItem, text: str) -> Output:
        path = (item.alias,)
        if item.from_:
            raise NotImplemented_(_at(text, item.pos, "aggregate(... from ...) is not supported yet"))
        if item.expr is None:  # $count
            count = func.count()
            return Output(path, COUNT_TYPE, False, count, count)
        collection = _collection_step(stage.scope, item.expr)
        if item.method is None:  # Path/$count: the related entities of every row, summed per group
            typed = compiler.compile(item.expr)
            total = func.coalesce(func.sum(typed.sql), 0)
            return Output(path, COUNT_TYPE, False, total, total)
        if collection is not None:
            raise NotImplemented_(
                _at(text, collection.pos, f"aggregating values through the collection {collection.name} is not "
                    f"supported yet; aggregate {collection.name}/$count, or apply $apply to {collection.name} itself")
            )
        if "." in item.method:
            raise BadRequest(
                _at(text, item.pos, f"unknown aggregation method {item.method}: this service defines no custom "
                    "aggregation methods (use sum, min, max, average or countdistinct)")
            )
        if _navigation_end(stage.scope, item.expr) is not None:
            raise NotImplemented_(
                _at(text, _pos(item.expr), f"aggregating entities ({item.method} of a navigation property) is not "
                    "supported yet; aggregate one of its key properties, e.g. Nav/KeyProperty")
            )
        typed = compiler.compile(item.expr)
        if typed.type == "null" or typed.type_name is not None:
            raise TypeMismatch(_at(text, _pos(item.expr), f"{item.method} needs a property or an expression with a type"))
        return _METHODS[item.method](self, typed, item, _scale(stage.scope, item.expr), text)

    # ------------------------------------------------------------------ aggregation methods
    def _sum(self, typed: Typed, item: ast.AggregateItem, scale: int | None, text: str) -> Output:
        _numeric(typed, item, text)
        path = (item.alias,)
        if typed.type == "Edm.Decimal" and scale is not None and not self.context.dialect.native_decimal:
            # No decimal type in the database: sum whole units of the last decimal place, exactly.
            units = func.sum(cast(func.round(typed.sql * literal(10**scale)), BigInteger()))
            read = type_coerce(units, Units(scale))
            return Output(path, "Edm.Decimal", True, read, read, scale=scale, units=True)
        whole = ("Edm.SByte", "Edm.Byte", "Edm.Int16", "Edm.Int32", "Edm.Int64")
        result = "Edm.Int64" if typed.type in whole else typed.type
        total = func.sum(typed.sql, type_=self._number_type(result))
        return Output(path, result, True, total, total, scale=scale)

    def _number_type(self, edm_type: str) -> Any:
        """How a computed number is read: a database without a decimal type hands back its own float
        (the JSON writer gives it 15 significant digits), not a copy rounded to 10 decimal places."""
        if edm_type == "Edm.Decimal" and not self.context.dialect.native_decimal:
            return Float()
        return sql_type(edm_type, self.context.catalog)

    def _average(self, typed: Typed, item: ast.AggregateItem, scale: int | None, text: str) -> Output:
        _numeric(typed, item, text)
        # Averaged as doubles (DOUBLE: MariaDB's FLOAT is single precision) on every database: no
        # integer division, no DECIMAL rounded to 4 more places (MariaDB), the same digits everywhere.
        # Decimals stay Edm.Decimal (written with 15 significant digits).
        average: ColumnElement[Any] = func.avg(cast(typed.sql, Double()), type_=Double())
        result = "Edm.Decimal" if typed.type == "Edm.Decimal" else "Edm.Double"
        return Output((item.alias,), result, True, average, average)

    def _extreme(self, typed: Typed, item: ast.AggregateItem, scale: int | None, text: str) -> Output:
        if typed.type == "Edm.Boolean":
            raise TypeMismatch(
                _at(text, _pos(item.expr), f"{item.method} needs values that can be ordered, not {typed.type}")
            )
        extreme = (func.min if item.method == "min" else func.max)(typed.sql)
        return Output((item.alias,), typed.type, True, extreme, extreme, scale=scale)

    def _countdistinct(self, typed: Typed, item: ast.AggregateItem, scale: int | None, text: str) -> Output:
        count = func.count(distinct(typed.sql))
        return Output((item.alias,), COUNT_TYPE, False, count, count)


_METHODS = {
    "sum": _Planner._sum,
    "average": _Planner._average,
    "min": _Planner._extreme,
    "max": _Planner._extreme,
    "countdistinct": _Planner._countdistinct,
}


# ---------------------------------------------------------------------- helpers


def _grouping_paths(scope: EntityScope, path: ast.MemberPath, text: str) -> list[ast.MemberPath]:
    """The property paths a grouping path stands for: itself, or the key of the entity it navigates to."""
    collection = _collection_step(scope, path)
    if collection is not None:
        raise BadRequest(
            _at(text, collection.pos, f"groupby paths must be single-valued, and {collection.name} is a collection; "
                f"apply $apply to {collection.name} itself")
        )
    target = _navigation_end(scope, path)
    if target is None:
        return [path]  # a property path: the compiler checks it (and names what is wrong)
    # An entity of the catalog is grouped by its key; a nested group of an $apply result by all of it.
    names = target.leaves() if isinstance(target, RelationScope) else [(name,) for name in target.entity.key]
    position = path.steps[-1].pos
    return [
        ast.MemberPath((*path.steps, *(ast.PropertyStep(name, position) for name in rest)), path.pos) for rest in names
    ]


def _navigation_end(scope: EntityScope, node: ast.Expr | None) -> EntityScope | None:
    """The scope of the entity a path of single-valued navigation properties ends at, if it does."""
    if not isinstance(node, ast.MemberPath):
        return None
    current = scope
    for step in node.steps:
        if not isinstance(step, ast.PropertyStep) or step.name in current.entity.properties:
            return None
        nav = current.entity.navigation.get(step.name)
        if nav is None or nav.collection:
            return None
        current = current.navigate(nav)
    return current


def _collection_step(scope: EntityScope, node: ast.Expr) -> ast.PropertyStep | None:
    """The first collection-valued navigation step of a path, if any."""
    if not isinstance(node, ast.MemberPath):
        return None
    entity = scope.entity
    for step in node.steps:
        if not isinstance(step, ast.PropertyStep):
            return None
        nav = entity.navigation.get(step.name)
        if nav is None:
            return None
        if nav.collection:
            return step
        if nav.target not in scope.context.catalog.entities:
            return None  # a nested group of an $apply result
        entity = scope.context.catalog.entities[nav.target]
    return None


def _scale(scope: EntityScope, node: ast.Expr | None) -> int | None:
    """The scale of the decimal property a path names (None for other expressions)."""
    if not isinstance(node, ast.MemberPath) or not all(isinstance(s, ast.PropertyStep) for s in node.steps):
        return None
    current = scope
    names = [step.name for step in node.steps if isinstance(step, ast.PropertyStep)]
    for name in names[:-1]:
        nav = current.entity.navigation.get(name)
        if nav is None or nav.collection:
            return None
        current = current.navigate(nav)  # already joined by the compiler: no new join
    prop = current.entity.properties.get(names[-1])
    return prop.scale if prop is not None and prop.type == "Edm.Decimal" else None


def _numeric(typed: Typed, item: ast.AggregateItem, text: str) -> None:
    if not is_numeric(typed.type):
        raise TypeMismatch(_at(text, _pos(item.expr), f"{item.method} needs numbers, not {typed.type}"))


def _visible(
    stage: Stage,
    select: tuple[ast.SelectItem, ...] | None,
    text: str,
    expanded: dict[str, frozenset[str] | None],
) -> tuple[Output, ...]:
    """The outputs $select asks for (every one without $select), and the expanded join aliases."""
    shown = [output for output in stage.visible() if output.path[0] not in stage.dynamic]
    if select and not any(item.star and not item.path for item in select):
        chosen: set[str] = set()
        names_ = list(dict.fromkeys(output.path[0] for output in shown))
        for item in select:
            if item.star:
                continue
            if item.options is not None or len(item.path) > 1:
                raise NotImplemented_("$select with $apply takes top-level names of the result only")
            if item.path[0] in expanded and len(item.path) == 1:
                continue  # selecting an expanded navigation property keeps the expansion
            if item.path[0] not in names_:
                raise UnknownProperty(
                    f"$select: the $apply result has no property {item.path[0]}." + did_you_mean(item.path[0], names_),
                    target=item.path[0],
                )
            chosen.add(item.path[0])
        shown = [output for output in shown if output.path[0] in chosen]
    for alias, properties in expanded.items():
        columns = [output for output in stage.visible() if output.path[0] == alias]
        if properties is not None:
            known = {output.path[1] for output in columns if len(output.path) > 1}
            for name in sorted(properties - known):
                raise UnknownProperty(
                    f"$expand={alias}($select=...): {alias} has no property {name}." + did_you_mean(name, sorted(known)),
                    target=name,
                )
            columns = [output for output in columns if len(output.path) > 1 and output.path[1] in properties]
        shown += columns
    return tuple(shown)


def _projection(paths: list[tuple[str, ...]], whole: Collection[str] = ()) -> str:
    """The select list of a context URL: (ItemNumber,Total), (SalesOrderHeader(OrderingCustomerAccountNumber),N);
    an expanded navigation property shown whole is Name() (OData 4.01 JSON Format, 10.9)."""
    grouped: dict[str, list[tuple[str, ...]]] = {}
    for path in paths:
        grouped.setdefault(path[0], [])
        if len(path) > 1:
            grouped[path[0]].append(path[1:])
    parts = [name + ("()" if name in whole else _projection(rest) if rest else "") for name, rest in grouped.items()]
    return "(" + ",".join(parts) + ")"
