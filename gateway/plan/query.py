"""Plan a read: query options over an entity → one SQLAlchemy statement per page (plus count/expands).

The statement's columns are laid out as: the properties to read (visible ones first), then the
RECID/RECVERSION pairs of every source table (for @odata.etag), then the sort keys (for the
$skiptoken of the next page). `ReadPlan.layout` records where each part sits.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, replace
from typing import Any, Unpack

from sqlalchemy import (
    Float,
    Select,
    and_,
    bindparam,
    case,
    false,
    func,
    not_,
    null,
    or_,
    select,
    tuple_,
    type_coerce,
)
from sqlalchemy.sql.elements import ColumnElement

from gateway.catalog.model import Entity, Navigation, Property
from gateway.errors import BadRequest, InvalidQueryOption, NotImplemented_, UnknownProperty, did_you_mean
from gateway.plan import paging
from gateway.plan.derived import derived_property, derived_type, discriminators, require_cast
from gateway.plan.expressions import ExpressionCompiler
from gateway.plan.paging import SkipToken, SortKey
from gateway.plan.scope import Elsewhere, EntityScope, PlanContext
from gateway.plan.structured import default_names, null_test_names, selected_names
from gateway.plan.through import join_through
from gateway.plan.typed import Typed
from gateway.plan.within import Within
from grammar import ast

# A SELECT of any columns (SQLAlchemy 2.1 types a Select by the tuple of its column types).
AnySelect = Select[Unpack[tuple[Any, ...]]]


@dataclass(frozen=True)
class OptionTexts:
    """The raw text of each option, so that errors can point into it."""

    filter: str = ""
    orderby: str = ""
    select: str = ""
    expand: str = ""
    search: str = ""
    compute: str = ""


@dataclass(frozen=True)
class Layout:
    visible: tuple[str, ...]  # properties written to the response, in order
    read: tuple[str, ...]  # every property read (visible first, then keys/links needed internally)
    etag_width: int
    sort_width: int
    computed_types: dict[str, str] = field(default_factory=dict)  # $compute aliases among `read`
    # Navigation properties the selection holds (all of them without $select): odata.metadata=full
    # writes their navigation links. Reading them costs nothing: a link is made from the key.
    links: tuple[str, ...] = ()

    @property
    def etag_start(self) -> int:
        return len(self.read)

    @property
    def sort_start(self) -> int:
        return len(self.read) + self.etag_width


@dataclass
class ExpandPlan:
    nav: Navigation
    target: Entity
    options: ast.QueryOptions
    texts: OptionTexts
    layout: Layout
    children: list[ExpandPlan] = field(default_factory=list)
    mode: str = "entities"  # 'entities', 'ref' (Nav/$ref: entity ids) or 'count' (Nav/$count: the count only)
    # A navigation to another database (PlanContext.elsewhere): its context and engine; else None.
    elsewhere: Elsewhere | None = None
    # Its statements with the parents' link values as parameters, by kind and by which link parts
    # every parent shares, and its row shapers by output format: built once per cached plan.
    templates: dict[Hashable, AnySelect] = field(default_factory=dict, compare=False, repr=False)
    shapers: dict[Hashable, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass
class ReadPlan:
    entity: Entity
    statement: AnySelect
    count_statement: AnySelect | None
    layout: Layout
    expands: list[ExpandPlan]
    page_size: int | None  # rows per page when a next page may follow; None when this page is all
    remaining_top: int | None  # what is left of $top after this page, for the nextLink
    shape: str
    max_rows: int | None = None  # most rows the statement returns (its LIMIT), None: unbounded
    # The statements as the driver runs them, recorded on first use (gateway/direct.py), and the row
    # shapers made for them, by output format: a cached plan does neither again.
    prepared: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    shapers: dict[Hashable, Any] = field(default_factory=dict, compare=False, repr=False)


def plan_read(
    context: PlanContext,
    entity: Entity,
    options: ast.QueryOptions,
    texts: OptionTexts,
    fixed: tuple[tuple[str, object], ...] = (),
    page_size: int | None = None,
    skiptoken: str | None = None,
    within: Within | None = None,
) -> ReadPlan:
    """The statement for one page of `entity` under `options`, restricted by `fixed` equalities (and to
    the rows a function call returned, `within`)."""
    _reject_unsupported(options)
    scope = EntityScope(entity, context, keyset=skiptoken is not None)
    computed = _computed(context, scope, options, texts)
    conditions = [scope.where(fixed)]
    if within is not None:
        conditions.append(within.condition(scope))
    conditions.extend(_filters(context, scope, options, texts, computed))
    sort_keys = _sort_keys(context, scope, options, texts, computed)
    expands = plan_expands(context, entity, options.expand, texts.expand)
    layout = _layout(entity, options, texts, sort_keys, expands, scope, computed)

    shape = paging.shape_of(
        entity.entity_set,
        texts.filter,
        texts.orderby,
        texts.search,
        texts.compute,
        ",".join(context.companies),
        repr(fixed),
        *([repr(within)] if within is not None else []),
    )
    top = options.top
    if skiptoken is not None:
        token = paging.decode(skiptoken, context.signing_key, shape, sort_keys)
        conditions.append(paging.after(sort_keys, token.values, context.dialect))
        top = token.remaining_top
    count_statement = None
    if options.count:
        count_statement = select(func.count()).select_from(scope.from_clause()).where(*conditions)

    columns = [
        (_as_read(context, computed[name]) if name in computed else read_column(scope, name)).label(f"p{index}")
        for index, name in enumerate(layout.read)
    ]
    columns += [col.label(f"e{index}") for index, col in enumerate(scope.etag_columns())]
    columns += [key.sql.label(f"k{index}") for index, key in enumerate(sort_keys)]
    statement = select(*columns).select_from(scope.from_clause()).where(*conditions)
    statement = statement.order_by(*paging.order_by(sort_keys, context.dialect))

    if skiptoken is None and options.skip:
        statement = statement.offset(options.skip)
    paged = page_size is not None and (top is None or top > page_size)
    max_rows = None
    if paged:
        # One row more than the page shows whether a next page exists.
        max_rows = page_size + 1  # type: ignore[operator]
        statement = statement.limit(max_rows)
    elif top is not None:
        max_rows = top
        statement = statement.limit(top)
    elif set(entity.key) <= {name for name, _ in fixed}:
        max_rows = 1  # the whole key is fixed (a single entity): one row or none
    remaining = None if top is None or not paged else top - page_size  # type: ignore[operator]
    return ReadPlan(entity, statement, count_statement, layout, expands, page_size if paged else None, remaining, shape,
                    max_rows)


def next_token(plan: ReadPlan, last_row: Any, key: bytes) -> str:
    """The $skiptoken that resumes after `last_row`, signed with the service's `key`."""
    start = plan.layout.sort_start
    values = tuple(last_row[start : start + plan.layout.sort_width])
    remaining = plan.remaining_top
    return paging.encode(SkipToken(values, remaining, plan.shape), key)


def _computed(
    context: PlanContext, scope: EntityScope, options: ast.QueryOptions, texts: OptionTexts
) -> dict[str, Typed]:
    """$compute: each alias's typed SQL; later aliases may use earlier ones."""
    computed: dict[str, Typed] = {}
    for item in options.compute or ():
        if (item.name in scope.entity.properties or item.name in scope.entity.navigation or item.name in computed
                or item.name in scope.entity.structured):
            raise InvalidQueryOption(f"$compute: {item.name} is already a property name", target=item.name)
        compiler = ExpressionCompiler(context, scope, texts.compute, computed=computed)
        typed = compiler.compile(item.expr)
        if typed.type == "null" or typed.type_name is not None:
            raise InvalidQueryOption(f"$compute: {item.name} has no type (null or a type name)", target=item.name)
        computed[item.name] = typed
    return computed


def read_column(scope: EntityScope, name: str) -> ColumnElement[Any]:
    """A property as the page reads it: on a database without a decimal type, a decimal column is
    read as the float it stores (the JSON writer formats it), skipping a costly Decimal per value."""
    column = scope.column(name)
    prop = scope.entity.leaf(name)  # (None: a collection's JSON column)
    if prop is not None and prop.type == "Edm.Decimal" and not scope.context.dialect.native_decimal:
        return type_coerce(column, Float())
    return column


def _as_read(context: PlanContext, typed: Typed) -> ColumnElement[Any]:
    """A computed number read as the database's own value: on a database without a decimal type,
    the float itself (a $skiptoken keeps it exactly; JSON writes it to 15 digits), not a rounded copy."""
    if typed.type in ("Edm.Decimal", "Edm.Double") and not context.dialect.native_decimal:
        return type_coerce(typed.sql, Float())
    return typed.sql


def _reject_unsupported(options: ast.QueryOptions, nested: bool = False) -> None:
    if not nested and options.levels is not None:
        raise InvalidQueryOption("$levels belongs inside $expand, e.g. $expand=Nav($levels=2)")


def _filters(
    context: PlanContext,
    scope: EntityScope,
    options: ast.QueryOptions,
    texts: OptionTexts,
    computed: dict[str, Typed] | None = None,
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if options.filter is not None:
        compiler = ExpressionCompiler(context, scope, texts.filter, computed=computed)
        conditions.append(compiler.predicate(options.filter))
    if options.search is not None:
        conditions.append(_search(scope, options.search))
    return conditions


def _search(scope: EntityScope, search: ast.Search) -> ColumnElement[bool]:
    """$search: every word or phrase must occur in one of the entity's searchable properties."""
    searchable = scope.entity.searchable
    if not searchable:
        raise InvalidQueryOption(f"{scope.entity.entity_set} declares no searchable properties; use $filter")
    if search.kind in ("word", "phrase"):
        return or_(*(scope.column(name).contains(search.text, autoescape=True) for name in searchable))
    parts = [_search(scope, child) for child in search.children]
    if search.kind == "not":
        return not_(parts[0])
    return and_(*parts) if search.kind == "and" else or_(*parts)


def _sort_keys(
    context: PlanContext,
    scope: EntityScope,
    options: ast.QueryOptions,
    texts: OptionTexts,
    computed: dict[str, Typed] | None = None,
) -> list[SortKey]:
    """The $orderby items, then every key property not already sorted on: a total order."""
    keys: list[SortKey] = []
    sorted_properties: set[str] = set()
    compiler = ExpressionCompiler(context, scope, texts.orderby, computed=computed)
    for item in options.orderby or ():
        typed = compiler.compile(item.expr)
        sql = typed.sql
        if typed.type == "Edm.Boolean":
            # Sort (and resume) on 0/1: databases differ in comparing boolean expressions with '>'.
            sql = case((sql, 1), (not_(sql), 0), else_=null())
        else:
            sql = _as_read(context, typed)
        keys.append(SortKey(sql, item.descending, typed.nullable or typed.type == "Edm.Boolean", typed.type))
        if isinstance(item.expr, ast.MemberPath) and len(item.expr.steps) == 1:
            step = item.expr.steps[0]
            if isinstance(step, ast.PropertyStep):
                sorted_properties.add(step.name)
    for name in scope.entity.sort_key or scope.entity.key:
        if name not in sorted_properties:
            keys.append(SortKey(scope.column(name), False, False, scope.entity.properties[name].type))
    return keys


def _layout(
    entity: Entity,
    options: ast.QueryOptions,
    texts: OptionTexts,
    sort_keys: list[SortKey],
    expands: list[ExpandPlan],
    scope: EntityScope,
    computed: dict[str, Typed] | None = None,
) -> Layout:
    computed = computed or {}
    visible = select_properties(entity, options.select, texts.select, tuple(computed))
    read = list(visible)
    needed = list(entity.key) + discriminators(entity) + [name for plan in expands for name in plan.nav.link_properties]
    read += [name for name in dict.fromkeys(needed) if name not in read]
    read += [name for name in null_test_names(entity, scope.context.catalog, visible) if name not in read]
    types = {name: typed.type for name, typed in computed.items() if name in read}
    links = selected_navigation(entity, options.select)
    return Layout(tuple(visible), tuple(read), len(scope.etag_columns()), len(sort_keys), types, links)


def select_properties(
    entity: Entity, select_items: tuple[ast.SelectItem, ...] | None, text: str, computed: tuple[str, ...] = ()
) -> list[str]:
    """The properties $select asks for, in declaration order, then $compute aliases (without $select
    the default set: every property but lookup values, which cost a subquery each and come when
    named or with `*`; OData 4.01 Part 1 §11.2.5.1 lets a service choose its default set)."""
    if not select_items:
        return [*(name for name, prop in entity.properties.items() if prop.lookup is None and not _stream(prop)),
                *default_names(entity), *computed]  # (members and collections: gateway/plan/structured.py)
    chosen: set[str] = set()
    for item in select_items:
        if item.star:
            if item.path:
                continue  # Namespace.* selects operations; the catalog has none
            chosen.update(entity.properties)
            chosen.update(default_names(entity))
            continue
        if (names := selected_names(entity, item.path, item.options)) is not None:  # Address, Address/City, Tags
            chosen.update(names)
            continue
        if item.options is not None:
            raise NotImplemented_("nested options in $select are not supported yet")
        name = item.path[0]
        if name in computed and len(item.path) == 1:
            chosen.add(name)
            continue
        if name in entity.navigation and len(item.path) == 1:
            continue  # a navigation property selects its link (selected_navigation), not a column
        if len(item.path) == 2 and (type_name := derived_type(entity, name)) is not None:
            chosen.add(derived_property(entity, type_name, item.path[1]))  # NS.DigitalProduct/DownloadUrl
            continue
        if len(item.path) > 1:
            raise BadRequest(f"{name} has no properties to select from"
                             + (f"; use $expand={name}($select=...)" if name in entity.navigation else ""))
        if name not in entity.properties:
            raise UnknownProperty(
                f"$select: {entity.entity_type} has no property {name}."
                + did_you_mean(name, [*entity.properties, *entity.navigation]),
                target=name,
            )
        require_cast(entity, name)
        chosen.add(name)
    # Stream properties are read at their own URL, never inside the entity (with minimal metadata and
    # canonical URLs, OData JSON Format §11 needs no annotation for them either).
    return [name for name in (*entity.properties, *default_names(entity), *computed)
            if name in chosen and not (name in entity.properties and _stream(entity.properties[name]))]


def _stream(prop: Property) -> bool:
    return prop.type == "Edm.Stream"


def selected_navigation(entity: Entity, select_items: tuple[ast.SelectItem, ...] | None) -> tuple[str, ...]:
    """The navigation properties a $select holds (OData 4.01 5.1.3: selecting one selects its link;
    beside $expand of the same property it only keeps the expansion), in declaration order; without
    $select, or with '*', every one."""
    if not select_items or any(item.star and not item.path for item in select_items):
        return tuple(entity.navigation)
    named = {item.path[0] for item in select_items if len(item.path) == 1}
    return tuple(name for name in entity.navigation if name in named)


# ---------------------------------------------------------------------- $expand
# $levels=max stops here: deep enough for any hierarchy a page can show, bounded against cycles.
MAX_LEVELS = 8


def plan_expands(
    context: PlanContext, entity: Entity, items: tuple[ast.ExpandItem, ...] | None, text: str
) -> list[ExpandPlan]:
    """One plan per expanded navigation property; '*' stands for every navigation property."""
    plans: list[ExpandPlan] = []
    for item in items or ():
        if item.star and item.path:
            if item.path[0] in entity.structured and not entity.structured[item.path[0]].collection:
                continue  # Address/*: every navigation property of a complex value, and complex types have none
            raise BadRequest(f"$expand={'/'.join(item.path)}/*: {item.path[0]} is not a complex property")
        named = [replace(item, path=(name,), star=False) for name in entity.navigation] if item.star else [item]
        plans.extend(plan_expand(context, entity, one, text) for one in named)
    return plans


def plan_expand(context: PlanContext, entity: Entity, item: ast.ExpandItem, text: str) -> ExpandPlan:
    if len(item.path) != 1:
        raise NotImplemented_("$expand paths through several segments are not supported yet")
    name = item.path[0]
    nav = entity.navigation.get(name)
    elsewhere = None
    if nav is None and context.elsewhere is not None and (foreign := context.elsewhere.find(entity, name)):
        # Planned in the other service's context, run on its database (execute._expand).
        nav, elsewhere, context = foreign, context.elsewhere, context.elsewhere.context
    if nav is None:
        raise UnknownProperty(
            f"$expand: {entity.entity_type} has no navigation property {name}."
            + did_you_mean(name, [*entity.navigation, *entity.properties]),
            target=name,
        )
    # (inline, not a helper: every level of a deep $expand costs stack frames, see test_hostile_input)
    target = context.catalog.entities[nav.target]
    options = item.options or ast.QueryOptions()
    for label, value in (("$top", options.top), ("$skip", options.skip)):
        if value is not None and value > 999999999999999999:
            raise InvalidQueryOption(f"$expand={name}: {label} must be at most 999999999999999999")
    _reject_unsupported(options, nested=True)
    if not nav.collection and (options.top is not None or options.skip is not None or options.orderby):
        raise InvalidQueryOption(f"$expand={name}: $top, $skip and $orderby apply to collections only")
    texts = OptionTexts(filter=text, orderby=text, select=text, expand=text, search=text, compute=text)
    children = plan_expands(context, target, _with_next_level(item, nav, target, options), text)
    scope = EntityScope(target, context)
    # $compute inside $expand (4.01): its aliases are properties of the expanded entities, usable in
    # the nested $select, $filter and $orderby (compiled again per statement, on its own scope).
    computed = _computed(context, scope, options, texts)
    sort_keys = _sort_keys(context, scope, options, texts, computed)
    mode = "ref" if item.ref else "count" if item.count else "entities"
    layout = _layout(target, options, texts, sort_keys, children, scope, computed)
    plan = ExpandPlan(nav, target, options, texts, layout, children, mode, elsewhere)
    child_statement(context, plan, [])  # compile once now so that mistakes surface before any row is read
    return plan


def _with_next_level(
    item: ast.ExpandItem, nav: Navigation, target: Entity, options: ast.QueryOptions
) -> tuple[ast.ExpandItem, ...]:
    """Nested expands, plus the same navigation one level deeper when $levels asks for a hierarchy.

    $levels only means something for a navigation property that leads to an entity with the same
    navigation property (a recursive hierarchy); elsewhere one level is all there is.
    """
    levels = item.levels if item.levels is not None else options.levels
    nested = options.expand or ()
    recursive = target.navigation.get(nav.name)
    if levels is None or levels in (0, 1) or recursive is None or recursive.target != nav.target:
        return nested
    remaining = MAX_LEVELS - 1 if levels == -1 else min(levels, MAX_LEVELS) - 1
    deeper = replace(item, levels=remaining, options=replace(options, levels=None))
    return (*nested, deeper)


def child_statement(
    context: PlanContext, plan: ExpandPlan, parent_links: list[tuple[object, ...]]
) -> tuple[AnySelect, dict[str, Any]]:
    """The expanded rows of every parent in `parent_links`, in one statement (never one per parent),
    and its parameters: the parents' link values.

    Columns: the layout's properties, etag pairs, then the link values (to match rows to parents).
    With $top/$skip, ROW_NUMBER() per parent keeps each parent's own window.
    """
    return _with_links(context, plan, parent_links, "rows", _child_rows)


def child_count_statement(
    context: PlanContext, plan: ExpandPlan, parent_links: list[tuple[object, ...]]
) -> tuple[AnySelect, dict[str, Any]]:
    """Nav@odata.count per parent: how many expanded rows match before $top/$skip (and its parameters)."""
    return _with_links(context, plan, parent_links, "count", _child_count)


ChildBuilder = Callable[[PlanContext, ExpandPlan, EntityScope, list[ColumnElement[Any]], ColumnElement[bool]], AnySelect]


def _with_links(
    context: PlanContext, plan: ExpandPlan, parent_links: list[tuple[object, ...]], kind: str, build: ChildBuilder,
) -> tuple[AnySelect, dict[str, Any]]:
    """A child statement with the link values as parameters. Which link parts every parent shares
    (the company, mostly) decides its shape: `DATAAREAID = :link0 AND SALESID IN (:links)` uses the
    index where a tuple IN would scan the company. A shape with at most one varying part is built
    once per plan; several varying parts (a tuple IN, rare) are built per batch."""
    width = len(plan.nav.link_properties)
    shared = tuple(i for i in range(width) if parent_links and len({v[i] for v in parent_links}) == 1)
    varying = [i for i in range(width) if i not in shared]
    parameters: dict[str, Any] = {f"link{i}": parent_links[0][i] for i in shared}
    if len(varying) == 1:
        parameters["links"] = list(dict.fromkeys(v[varying[0]] for v in parent_links))
    reusable = len(varying) <= 1 and bool(parent_links)
    statement = plan.templates.get((kind, shared)) if reusable else None
    if statement is None:
        scope = EntityScope(plan.target, context)
        if plan.nav.through is not None:  # many-to-many: the join table's columns say which parent
            links = join_through(scope, plan.nav)
        else:
            links = [scope.link_column(theirs) for theirs in plan.nav.link.values()]
        conditions: list[ColumnElement[bool]] = [
            links[i] == bindparam(f"link{i}", type_=links[i].type) for i in shared]
        if not parent_links:
            conditions.append(false())
        elif len(varying) == 1:
            conditions.append(links[varying[0]].in_(bindparam("links", expanding=True, type_=links[varying[0]].type)))
        elif varying:
            conditions.append(tuple_(*(links[i] for i in varying)).in_(
                [tuple(v[i] for i in varying) for v in parent_links]))
        statement = build(context, plan, scope, links, and_(*conditions))
        if reusable:
            plan.templates[(kind, shared)] = statement
    return statement, parameters


def _child_rows(context: PlanContext, plan: ExpandPlan, scope: EntityScope, links: list[ColumnElement[Any]],
                link_match: ColumnElement[bool]) -> AnySelect:
    options = plan.options
    computed = _computed(context, scope, options, plan.texts)
    conditions = [scope.where(), link_match, *_filters(context, scope, options, plan.texts, computed)]
    sort_keys = _sort_keys(context, scope, options, plan.texts, computed)
    ordering = paging.order_by(sort_keys, context.dialect)
    columns = [
        (_as_read(context, computed[name]) if name in computed else read_column(scope, name)).label(f"p{index}")
        for index, name in enumerate(plan.layout.read)
    ]
    columns += [col.label(f"e{index}") for index, col in enumerate(scope.etag_columns())]
    columns += [col.label(f"l{index}") for index, col in enumerate(links)]
    windowed = options.top is not None or bool(options.skip)
    if not windowed:
        statement = select(*columns).select_from(scope.from_clause()).where(*conditions)
        return statement.order_by(*links, *ordering)
    row_number = func.row_number().over(partition_by=links, order_by=ordering).label("rn")
    inner = select(*columns, row_number).select_from(scope.from_clause()).where(*conditions).subquery("w")
    skip = options.skip or 0
    window = [inner.c.rn > skip]
    if options.top is not None:
        window.append(inner.c.rn <= skip + options.top)
    outer_columns = [column for column in inner.c if column.key != "rn"]
    link_columns = [inner.c[f"l{index}"] for index in range(len(links))]
    return select(*outer_columns).where(*window).order_by(*link_columns, inner.c.rn)


def _child_count(context: PlanContext, plan: ExpandPlan, scope: EntityScope, links: list[ColumnElement[Any]],
                 link_match: ColumnElement[bool]) -> AnySelect:
    computed = _computed(context, scope, plan.options, plan.texts)
    conditions = [scope.where(), link_match, *_filters(context, scope, plan.options, plan.texts, computed)]
    return select(*links, func.count()).select_from(scope.from_clause()).where(*conditions).group_by(*links)
