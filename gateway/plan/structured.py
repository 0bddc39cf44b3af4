"""Complex and collection-valued properties in statements (gateway/catalog/structured.py says how they
are stored): their columns, what $select picks, and their paths and lambdas in expressions.

A complex property is a group of columns: `Address/City` is the column of that member, and compares,
sorts and reads like any property. A collection is a JSON array in one column: `Tags/any(t: t eq 'x')`
is an EXISTS over the array's items, which each database lists with its own JSON function (SQLite
json_each, PostgreSQL jsonb_array_elements, MariaDB JSON_TABLE), and `Tags/$count` its length.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    Numeric,
    case,
    exists,
    false,
    func,
    literal,
    literal_column,
    not_,
    select,
    type_coerce,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause
from sqlalchemy.types import JSON, TypeDecorator, TypeEngine

from gateway.catalog.model import Catalog, ComplexMember, Entity, StructuredProperty
from gateway.catalog.structured import leaf_members, resolved_member
from gateway.errors import BadRequest, InvalidQueryOption, NotImplemented_, UnknownProperty
from gateway.plan.typed import BOOLEAN, Typed
from gateway.plan.types import sql_type
from grammar import ast

if TYPE_CHECKING:
    from gateway.plan.expressions import ExpressionCompiler
    from gateway.plan.scope import EntityScope


class JsonList(TypeDecorator[Any]):
    """A collection's JSON column: a Python list bound and read (jsonb on PostgreSQL, JSON text on the
    others; NULL reads as the empty collection)."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(JSONB() if dialect.name == "postgresql" else JSON())

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, (str, bytes)):  # (a driver that hands over the text)
            value = json.loads(value)
        return [] if value is None else value


# ---------------------------------------------------------------------- columns and $select
def structured_columns(entity: Entity, catalog: Catalog) -> list[tuple[str, str, TypeEngine[Any]]]:
    """(alias, column, type) of every member column and every collection's JSON column."""
    columns = [(prop.alias, prop.column_name, sql_type(prop.type, catalog)) for prop in entity.members.values()]
    for prop in entity.structured.values():
        if prop.collection and prop.column is not None:
            alias, name = prop.column.split(".", 1)
            columns.append((alias, name, JsonList()))
    return columns


def default_names(entity: Entity) -> list[str]:
    """What the layout reads of the complex and collection-valued properties without $select (all of
    them): each member column by its path, each collection by its name, in declaration order."""
    names: list[str] = []
    for name, prop in entity.structured.items():
        names.extend([name] if prop.collection else member_paths(entity, name))
    return names


def member_paths(entity: Entity, path: str) -> list[str]:
    """The member columns at or under a path of a complex property (Address, Address/City)."""
    return [name for name in entity.members if name == path or name.startswith(path + "/")]


def selected_names(entity: Entity, path: tuple[str, ...], options: ast.QueryOptions | None = None) -> list[str] | None:
    """The layout names a $select item picks (Address, Address/City, Manufacturer($select=Name), Tags), or
    None when its first segment is not a complex or collection-valued property."""
    prop = entity.structured.get(path[0]) if path else None
    if prop is None:
        return None
    if prop.collection:
        if len(path) > 1:
            raise BadRequest(f"$select: {path[0]} is a collection of {prop.type}: select it whole ($select={path[0]})")
        if options is not None:
            raise NotImplemented_(f"$select={path[0]}(...): options of a selected collection are not supported; "
                                  "it is read whole")
        return [prop.name]
    joined = "/".join(path)
    names = member_paths(entity, joined)
    if not names:
        raise UnknownProperty(f"$select: {joined} is not a member of the complex property {path[0]} (members: "
                              f"{', '.join(name.split('/', 1)[1] for name in member_paths(entity, path[0]))})",
                              target=joined)
    if options is not None and options != ast.QueryOptions(select=options.select):
        raise InvalidQueryOption(f"$select={joined}(...): only $select applies inside a complex property")
    if options is None or not options.select:
        return names
    nested: list[str] = []
    for item in options.select:  # Manufacturer($select=Name,Address/City): paths below Manufacturer
        if item.star:
            nested.extend(names)
            continue
        found = selected_names(entity, (*path, *item.path), item.options)
        nested.extend(found or [])
    return nested


def projected(visible: tuple[str, ...], select_items: tuple[ast.SelectItem, ...]) -> list[str]:
    """The select list of a context URL: complex members as the $select items that chose them
    (Manufacturer, Manufacturer/Address/City), or (chosen by `*`) as their complex property."""
    chosen = ["/".join(item.path) for item in select_items if item.path and not item.star]
    parts: list[str] = []
    for name in visible:
        if "/" in name:
            name = next((path for path in chosen if name == path or name.startswith(path + "/")),
                        name.split("/", 1)[0])
        if name not in parts:
            parts.append(name)
    return parts


def complex_paths(entity: Entity, catalog: Catalog) -> dict[str, bool]:
    """Every complex value's path in an entity (Manufacturer, Manufacturer/Address) and whether it may
    be null (then it reads as null when every column under it is null)."""
    paths: dict[str, bool] = {}

    def walk(path: str, type_name: str, nullable: bool) -> None:
        paths[path] = nullable
        for name, member in catalog.service.complex_types[type_name].properties.items():
            if member.type in catalog.service.complex_types:
                walk(f"{path}/{name}", member.type, member.nullable)

    for name, prop in entity.structured.items():
        if not prop.collection:
            walk(name, prop.type, prop.nullable)
    return paths


def null_test_names(entity: Entity, catalog: Catalog, visible: tuple[str, ...] | list[str]) -> list[str]:
    """The member columns a row must hold to tell whether a nullable complex value it shows is null:
    every column under it (`$select=Manufacturer/Name` reads Manufacturer's other columns too)."""
    shown = [name for name in visible if name in entity.members]
    needed: list[str] = []
    for path, nullable in complex_paths(entity, catalog).items():
        if nullable and any(name.startswith(path + "/") for name in shown):
            needed.extend(member_paths(entity, path))
    return list(dict.fromkeys(needed))


# ---------------------------------------------------------------------- expressions
def structured_path(compiler: ExpressionCompiler, scope: EntityScope, steps: tuple[ast.Step, ...],
                    nullable: bool) -> Typed:
    """A path that starts with a complex or collection-valued property: a member's column, or (of a
    collection) any()/all()/$count. `nullable`: the scope itself may be missing (a navigation's)."""
    first = steps[0]
    assert isinstance(first, ast.PropertyStep)
    entity = scope.entity
    prop = entity.structured[first.name]
    if prop.collection:
        return _collection(compiler, scope, prop, first, steps[1:])
    path = prop.name
    for index, step in enumerate(steps[1:], 1):
        if not isinstance(step, ast.PropertyStep):
            raise compiler.invalid(step, f"{path} is a complex property of type {prop.type}: follow it with one of "
                                         f"its members ({_example(entity, path)})")
        path = f"{path}/{step.name}"
        member = entity.members.get(path)
        if member is not None:
            if index < len(steps) - 1:
                raise compiler.invalid(steps[index + 1], f"{path} is a primitive property")
            digits = None if member.precision is None else member.precision - (member.scale or 0)
            return Typed(scope.column(path), member.type, member.nullable or nullable, digits=digits)
        if not member_paths(entity, path):
            parent = path.rsplit("/", 1)[0]
            raise UnknownProperty(compiler.invalid(step, f"{parent} has no member {step.name} (members: "
                                                         f"{_member_names(entity, parent)})").message, target=path)
    raise compiler.invalid(steps[-1], f"{path} is a complex value: compare one of its members, like "
                                      f"{_example(entity, path)}")


def _member_names(entity: Entity, path: str) -> str:
    depth = path.count("/") + 1
    return ", ".join(dict.fromkeys(name.split("/")[depth] for name in member_paths(entity, path)))


def _example(entity: Entity, path: str) -> str:
    names = member_paths(entity, path)
    return names[0] if names else path


def _collection(compiler: ExpressionCompiler, scope: EntityScope, prop: StructuredProperty, first: ast.Step,
                steps: tuple[ast.Step, ...]) -> Typed:
    """`Tags/$count`, `Tags/any()`, `Tags/any(t: ...)`, `Tags/all(t: ...)` over a JSON array column."""
    name = prop.name
    if not steps:
        raise compiler.invalid(first, f"{name} is a collection: use {name}/any(...), {name}/all(...) or "
                                      f"{name}/$count")
    step, rest = steps[0], steps[1:]
    if rest:
        raise compiler.invalid(rest[0], "nothing may follow any(), all() or $count here")
    builder = _builder(compiler, step)
    column = builder.array(scope.column(name))
    if isinstance(step, ast.CountStep):
        return Typed(func.coalesce(builder.length(column), 0), "Edm.Int64", False)
    if not isinstance(step, ast.LambdaStep):
        raise compiler.invalid(step, f"{name} is a collection: use {name}/any(...), {name}/all(...) or "
                                     f"{name}/$count")
    if step.predicate is None:  # any(): the collection is not empty
        return Typed(func.coalesce(builder.length(column), 0) > 0, BOOLEAN, False)
    assert step.variable is not None
    catalog = compiler.catalog
    leaves = item_leaves(prop, catalog)
    source, columns = builder.items(column, leaves, compiler.context.unique("item"))
    values = {path: Typed(type_coerce(columns[path], sql_type(member.type, catalog)), member.type,
                          member.nullable or prop.nullable) for path, member in leaves}
    item = CollectionItem(name, prop.type, values, prop.type in catalog.service.complex_types)
    from gateway.plan.expressions import ExpressionCompiler  # (the compiler imports this module)

    variables = {"$it": compiler.variables.get("$it", compiler.scope), **compiler.variables}
    inner = ExpressionCompiler(compiler.context, compiler.scope, compiler.text, variables,
                               items={**compiler.items, step.variable: item})
    condition = inner.predicate(step.predicate)
    if step.kind == "any":
        return Typed(exists(select(literal(1)).select_from(source).where(condition)), BOOLEAN, False)
    failing = not_(func.coalesce(condition, false()))
    return Typed(~exists(select(literal(1)).select_from(source).where(failing)), BOOLEAN, False)


def item_leaves(prop: StructuredProperty, catalog: Catalog) -> list[tuple[tuple[str, ...], ComplexMember]]:
    """The primitive values inside one item of a collection, by path (() for a primitive item)."""
    item = resolved_member(catalog.service, prop)
    if item.type in catalog.service.complex_types:
        return leaf_members(catalog.service, item.type)
    return [((), item)]


@dataclass(frozen=True)
class CollectionItem:
    """A lambda variable bound to the items of a collection-valued property: `t` in Tags/any(t: t eq 'x'),
    `d` in Packages/any(d: d/Height gt 10)."""

    owner: str  # the collection's name (for messages)
    type_name: str
    values: dict[tuple[str, ...], Typed]  # each primitive value inside an item, by path
    complex: bool

    def path(self, compiler: ExpressionCompiler, variable: ast.Step, steps: tuple[ast.Step, ...]) -> Typed:
        names: tuple[str, ...] = ()
        if steps and not self.complex:
            raise compiler.invalid(steps[0], f"the items of {self.owner} are {self.type_name} values, which have "
                                             "no members")
        for index, step in enumerate(steps):
            if not isinstance(step, ast.PropertyStep):
                raise compiler.invalid(step, "only member names may follow a lambda variable here")
            names = (*names, step.name)
            typed = self.values.get(names)
            if typed is not None:
                if index < len(steps) - 1:
                    raise compiler.invalid(steps[index + 1], f"{'/'.join(names)} is a primitive value")
                return typed
            if not any(path[: len(names)] == names for path in self.values):
                known = ", ".join(dict.fromkeys(path[len(names) - 1] for path in self.values
                                                if path[: len(names) - 1] == names[:-1]))
                raise UnknownProperty(compiler.invalid(step, f"{self.type_name} has no member {step.name} "
                                                             f"(members: {known})").message, target=step.name)
        if not names and () in self.values:
            return self.values[()]
        raise compiler.invalid(variable, f"the items of {self.owner} are {self.type_name} values: compare one of "
                                         f"their members, like {_first_member(self.values, names, variable)}")


def _first_member(values: dict[tuple[str, ...], Typed], prefix: tuple[str, ...], variable: ast.Step) -> str:
    name = variable.name if isinstance(variable, ast.PropertyStep) else "x"
    for path in values:
        if path[: len(prefix)] == prefix:
            return f"{name}/" + "/".join(path)
    return f"{name}/Member"


# ---------------------------------------------------------------------- each database's JSON functions
ItemColumns = dict[tuple[str, ...], ColumnElement[Any]]


@dataclass(frozen=True)
class JsonFunctions:
    """How one database lists a JSON array's items as rows and counts them."""

    array: Callable[[ColumnElement[Any]], ColumnElement[Any]]
    length: Callable[[ColumnElement[Any]], ColumnElement[Any]]
    items: Callable[[ColumnElement[Any], list[tuple[tuple[str, ...], ComplexMember]], str],
                    tuple[FromClause, ItemColumns]]


def _json_path(path: tuple[str, ...]) -> str:
    """A JSON path into an item ($, $."Address"."City"); names are identifiers (checked by the loader)."""
    return "$" + "".join(f'."{name}"' for name in path)


def _sqlite_items(column: ColumnElement[Any], leaves: list[tuple[tuple[str, ...], ComplexMember]],
                  alias: str) -> tuple[FromClause, ItemColumns]:
    each = func.json_each(column).table_valued("value").alias(alias)
    return each, {path: each.c.value if not path else func.json_extract(each.c.value, _json_path(path))
                  for path, _ in leaves}


def _postgresql_items(column: ColumnElement[Any], leaves: list[tuple[tuple[str, ...], ComplexMember]],
                      alias: str) -> tuple[FromClause, ItemColumns]:
    each = func.jsonb_array_elements(column).table_valued("value").render_derived().alias(alias)
    columns: ItemColumns = {}
    for path, member in leaves:
        text = each.c.value.op("#>>")(literal_column("'{" + ",".join(path) + "}'"))  # (identifiers: no quoting)
        kind = member.type
        columns[path] = text if kind in ("Edm.String", "Edm.Guid") else sql_cast(text, _cast_type(kind))
    return each, columns


def _cast_type(edm_type: str) -> TypeEngine[Any]:
    types: dict[str, TypeEngine[Any]] = {"Edm.Boolean": Boolean(), "Edm.Date": Date(), "Edm.Decimal": Numeric(),
                                         "Edm.Double": Float(), "Edm.Single": Float()}
    return types.get(edm_type, BigInteger())  # integers and enums


def _mysql_items(column: ColumnElement[Any], leaves: list[tuple[tuple[str, ...], ComplexMember]],
                 alias: str) -> tuple[FromClause, ItemColumns]:
    names = [f"v{index}" for index in range(len(leaves))]
    definitions = ", ".join(f"{name} {_mysql_type(member)} PATH '{_json_path(path)}'"
                            for name, (path, member) in zip(names, leaves))
    table = func.json_table(column, literal_column(f"'$[*]' COLUMNS ({definitions})")).table_valued(*names)
    aliased = table.alias(alias)
    return aliased, {path: aliased.c[name] for name, (path, _) in zip(names, leaves)}


def _mysql_type(member: ComplexMember) -> str:
    kind = member.type
    if kind in ("Edm.String", "Edm.Guid"):  # compared byte by byte, as the tables' columns are
        return f"VARCHAR({member.max_length or 4000}) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin"
    if kind == "Edm.Decimal":
        precision = member.precision or 38
        scale = member.scale if member.scale is not None else min(10, precision)
        return f"DECIMAL({precision},{scale})"
    return {"Edm.Boolean": "BOOLEAN", "Edm.Date": "DATE", "Edm.Double": "DOUBLE",
            "Edm.Single": "DOUBLE"}.get(kind, "BIGINT")  # integers and enums


def _sqlite_array(column: ColumnElement[Any]) -> ColumnElement[Any]:
    return case((func.json_type(column) == "array", column))


def _postgresql_array(column: ColumnElement[Any]) -> ColumnElement[Any]:
    document = sql_cast(column, JSONB())
    return case((func.jsonb_typeof(document) == "array", document))


def _mysql_array(column: ColumnElement[Any]) -> ColumnElement[Any]:
    return case((func.json_type(column) == "ARRAY", column))


# (`array`: the column where it holds an array, else NULL: a JSON null or scalar left by another writer
# lists no items and counts 0, where the databases would list the scalar itself or refuse it.)
_JSON_FUNCTIONS = {
    "sqlite": JsonFunctions(_sqlite_array, func.json_array_length, _sqlite_items),
    "postgresql": JsonFunctions(_postgresql_array, func.jsonb_array_length, _postgresql_items),
    "mysql": JsonFunctions(_mysql_array, func.json_length, _mysql_items),
    "mariadb": JsonFunctions(_mysql_array, func.json_length, _mysql_items),
}


def _builder(compiler: ExpressionCompiler, step: ast.Step) -> JsonFunctions:
    found = _JSON_FUNCTIONS.get(compiler.context.dialect.name)
    if found is None:
        raise NotImplemented_(compiler.invalid(step, "collection-valued properties are not supported on "
                                                     f"{compiler.context.dialect.name}").message)
    return found
