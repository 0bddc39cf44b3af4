"""Complex and collection-valued properties addressed by URL (OData 4.01 Part 1 §11.2.4, §11.4.9-§11.4.10):

    GET    Products(x)/Manufacturer             the complex value ({"@odata.context": ..., "Name": ...})
    GET    Products(x)/Manufacturer/Address/City   one member ({"value": ...}), /$value its raw text
    PATCH  Products(x)/Manufacturer             the members the body gives (PUT: all of them)
    DELETE Products(x)/Manufacturer             null (a nullable complex value or member)
    GET    Products(x)/Tags                     {"value": [...]}; /Tags/$count its length
    PUT    Products(x)/Tags                     the whole collection; DELETE empties it
    POST   Products(x)/Tags?$index=1            one item, inserted there (-1: last; no $index: appended)
    GET/PUT/PATCH/DELETE Products(x)/Tags/1     one item by its zero-based position (-1: the last)

A collection keeps its order (Core.Ordered, Core.PositionalInsert in $metadata), so positions address
items. Every write goes through the entity's writer: privileges, If-Match, row versions, audit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select
from starlette.responses import Response

from gateway.catalog.model import Entity
from gateway.conditional import not_modified
from gateway.errors import BadRequest, InvalidQueryOption, MethodNotAllowed, NotFound, UnknownProperty
from gateway.negotiate import content_type
from gateway.plan.query import read_column
from gateway.plan.scope import EntityScope, PlanContext
from gateway.plan.structured import complex_paths, member_paths
from gateway.serialize.json import dumps
from gateway.serialize.structured import field_converter
from gateway.serialize.values import JsonFormat, etag
from grammar import ast

if TYPE_CHECKING:
    from gateway.resource import Target
    from gateway.write.entity import EntityWriter

_ORDINAL = re.compile(r"-?[0-9]{1,9}")
# Query options a property's URL takes: none shape a single value; a collection is read whole.
_TAKEN = ("format",)


# ---------------------------------------------------------------------- resolution
def property_path(entity: Entity, segment: ast.NamedSegment, rest: list[ast.Segment]) -> tuple[str, str, int | None]:
    """(kind, path, index) of a path that starts at a complex or collection-valued property: kind is
    'property', 'value' (a member's /$value) or 'count' (a collection's /$count); index an item's position."""
    name = segment.name
    prop = entity.structured[name]
    if segment.key is not None:
        raise BadRequest(f"{name} is a {'collection' if prop.collection else 'complex'} property and takes no key"
                         + (f"; address an item by its position: {name}/0" if prop.collection else ""))
    if prop.collection:
        if not rest:
            return "property", name, None
        last = rest[0]
        if len(rest) == 1 and isinstance(last, ast.SpecialSegment) and last.kind == "$count":
            return "count", name, None
        if len(rest) == 1 and isinstance(last, ast.NamedSegment) and last.key is None and _ORDINAL.fullmatch(last.name):
            return "property", name, int(last.name)
        raise BadRequest(f"{name} is a collection: only an item's position ({name}/0, {name}/-1) or /$count may "
                         "follow it")
    path = name
    while rest and isinstance(rest[0], ast.NamedSegment):
        step = rest.pop(0)
        assert isinstance(step, ast.NamedSegment)
        if step.key is not None:
            raise BadRequest(f"{path}/{step.name}: a member takes no key")
        if not member_paths(entity, f"{path}/{step.name}"):
            raise UnknownProperty(f"{path} has no member {step.name}", target=f"{path}/{step.name}")
        path = f"{path}/{step.name}"
        if path in entity.members:
            break
    if not rest:
        return "property", path, None
    if path in entity.members and len(rest) == 1 and isinstance(rest[0], ast.SpecialSegment) \
            and rest[0].kind == "$value":
        return "value", path, None
    raise BadRequest(f"only /$value may follow the member {path}" if path in entity.members
                     else f"{path} is a complex value: only its members may follow it")


def is_structured(target: Target) -> bool:
    """Whether a target is a complex or collection-valued property's value, member or item."""
    return target.property is not None and target.property not in target.entity.properties


# ---------------------------------------------------------------------- reads
def read_value(connection: Connection, context: PlanContext, target: Target,
               json_format: JsonFormat) -> tuple[bool, Any, str | None]:
    """(found, value, ETag) of the addressed value on the entity's row: the JSON value (a complex value
    as an object, a collection as a list); found is False when the row does not exist."""
    entity, path = target.entity, target.property
    assert path is not None
    catalog = context.catalog
    scope = EntityScope(entity, context)
    names = [path] if path in entity.members or path in entity.structured and entity.structured[path].collection \
        else member_paths(entity, path)
    versions = scope.etag_columns()
    statement = select(*(read_column(scope, name) for name in names), *versions).select_from(scope.from_clause())
    row = connection.execute(statement.where(scope.where(target.fixed)).limit(1)).first()
    if row is None:
        return False, None, None
    tag = etag(tuple(row[len(names):])) if versions else None
    values = {name: field_converter(entity, name, catalog, json_format)(value) for name, value in zip(names, row)}
    if len(names) == 1 and names[0] == path:
        return True, values[path], tag
    return True, _nested(entity, context, path, values, row), tag


def _nested(entity: Entity, context: PlanContext, path: str, values: dict[str, Any], row: Any) -> Any:
    """The complex value at `path` from its members' values (null where a nullable value holds none)."""
    nullable = complex_paths(entity, context.catalog)
    if nullable.get(path) and all(value is None for value in row[: len(values)]):
        return None
    result: dict[str, Any] = {}
    for name, value in values.items():
        parts = name[len(path) + 1:].split("/")
        target = result
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    for inner, may_be_null in nullable.items():  # (outer values first)
        if not may_be_null or not inner.startswith(path + "/"):
            continue
        if all(values[name] is None for name in member_paths(entity, inner)):
            parent: Any = result
            parts = inner[len(path) + 1:].split("/")
            for part in parts[:-1]:
                parent = parent.get(part) if isinstance(parent, dict) else None
            if isinstance(parent, dict):
                parent[parts[-1]] = None
    return result


def _item(items: list[Any], index: int, path: str) -> int:
    """The position in `items` of ordinal `index` (negative: from the end), or 404."""
    position = index + len(items) if index < 0 else index
    if not 0 <= position < len(items):
        raise NotFound(f"{path} has {len(items)} item(s): there is none at position {index}")
    return position


def respond_read(engine: Any, context: PlanContext, target: Target, options: Any, json_format: JsonFormat,
                 base: str, request_headers: Any) -> Response:
    """GET of a complex or collection-valued property, a member, an item or a count."""
    refused = [name for name in _options_given(options) if name not in _TAKEN]
    if refused:
        raise InvalidQueryOption(f"${refused[0]} does not apply to {target.property}: a property's value is read "
                                 "whole", target=f"${refused[0]}")
    path = target.property
    assert path is not None
    raw_format = JsonFormat(ieee754_compatible=True) if target.kind == "value" else json_format
    with engine.connect() as connection:
        found, value, tag = read_value(connection, context, target, raw_format)
    if not found:
        raise NotFound(f"no {target.entity.entity_type} with key {target.key_text}")
    headers = {"OData-Version": "4.0"}
    if tag is not None:
        headers["ETag"] = tag
    if not_modified(request_headers, tag):
        return Response(status_code=304, headers={"ETag": tag or "", "OData-Version": "4.0"})
    if target.kind == "count":
        return Response(str(len(value)), media_type="text/plain", headers=headers)
    context_url = f"{base}$metadata#{target.entity.entity_set}{target.key_text}/{path}"
    if target.index is not None:
        prop = target.entity.structured[path]
        value = value[_item(value, target.index, path)]
        context_url = f"{base}$metadata#{item_context(context.catalog, prop.type)}"
    if target.kind == "value":
        if value is None:
            return Response(status_code=204, headers=headers)
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        return Response(text, media_type="text/plain", headers=headers)
    if value is None:
        return Response(status_code=204, headers=headers)
    headers["Content-Type"] = content_type(json_format)
    return Response(property_document(value, json_format, context_url), headers=headers, media_type=None)


def property_document(value: Any, json_format: JsonFormat, context_url: str) -> bytes:
    """A complex value is the object itself, with its context; anything else goes in "value"."""
    head = {"@odata.context": context_url} if json_format.annotations else {}
    if isinstance(value, dict):
        return dumps({**head, **value})
    return dumps({**head, "value": value})


def _options_given(options: Any) -> list[str]:
    names = ("filter", "select", "expand", "orderby", "top", "skip", "count", "search", "compute", "apply")
    return [name for name in names if getattr(options, name, None) not in (None, False, ())]


# ---------------------------------------------------------------------- writes
def write_path(method: str, writer: EntityWriter, target: Target, body: Callable[[], Any],
               if_match: list[str] | None, index: int | None) -> None:
    """PUT, PATCH, POST or DELETE at a complex or collection-valued property, a member or an item."""
    from gateway.write.structured import (  # (the writer's module imports the planner, which imports this)
        collection_value,
        complex_at,
        complex_values,
        item_value,
        member_at,
    )
    from gateway.write.values import parse_value

    entity, catalog, path = target.entity, writer.catalog, target.property
    assert path is not None
    top = path.split("/", 1)[0]
    prop = entity.structured[top]
    collection_insert = method == "POST" and prop.collection and target.index is None and target.kind == "property"
    if index is not None and not collection_insert:
        raise InvalidQueryOption("$index belongs to a POST that inserts into a collection-valued property, e.g. "
                                 f"POST {entity.entity_set}(key)/{top}?$index=0", target="$index")
    if target.kind in ("value", "count"):
        raise MethodNotAllowed(f"write {path} itself, not its {'raw value' if target.kind == 'value' else 'count'}",
                               headers={"Allow": "GET"})
    if prop.read_only:
        raise MethodNotAllowed(f"{top} is read-only", headers={"Allow": "GET"})
    values: dict[str, object]
    if prop.collection:
        if target.index is None and method in ("PUT", "DELETE"):
            raw = [] if method == "DELETE" else _collection_body(body())
            writer.update(target.fixed, {top: collection_value(catalog, prop, raw)}, if_match, replace=False)
            return
        if target.index is None and method != "POST":
            raise MethodNotAllowed(f"{top} is a collection: PUT replaces it, POST adds an item, DELETE empties it "
                                   "(its items have no identity to PATCH)", headers={"Allow": "GET, PUT, POST, DELETE"})
        if target.index is not None and method == "POST":
            raise MethodNotAllowed(f"POST adds an item to {top} itself (with $index for its position)",
                                   headers={"Allow": "GET, PUT, PATCH, DELETE"})
        writer.lock(target.fixed)  # read, change and write the array with no other writer between
        items = _stored_items(writer.unit.connection, writer.context, target, top)
        if method == "POST":
            item = item_value(catalog, prop, _item_body(body(), prop.type in catalog.service.complex_types),
                              f"{top}/{len(items)}")
            items.insert(_insert_position(items, index, top), item)
        else:
            position = _item(items, target.index or 0, top)
            if method == "DELETE":
                del items[position]
            elif method == "PATCH" and prop.type not in catalog.service.complex_types:
                raise MethodNotAllowed(f"an item of {top} is a {prop.type} value: PUT it", headers={
                    "Allow": "GET, PUT, DELETE"})
            else:
                base = items[position] if method == "PATCH" and isinstance(items[position], dict) else None
                raw_item = _item_body(body(), prop.type in catalog.service.complex_types)
                items[position] = item_value(catalog, prop, raw_item, f"{top}/{position}", base)
        writer.update(target.fixed, {top: items}, if_match, replace=False)
        return
    if method == "POST":
        raise MethodNotAllowed(f"{path} is a single value: PUT or PATCH it", headers={"Allow": "GET, PUT, PATCH, DELETE"})
    found_complex = complex_at(catalog, entity, path)
    if found_complex is None:  # a primitive member
        member = member_at(catalog, entity, path)
        if method == "PATCH":
            raise MethodNotAllowed(f"{path} is a primitive member: PUT its new value", headers={
                "Allow": "GET, PUT, DELETE"})
        if method == "DELETE" and not member.nullable:
            raise BadRequest(f"{path} cannot be null", target=path)
        raw = None if method == "DELETE" else _value_body(body(), path)
        written = entity.members[path].model_copy(update={"nullable": member.nullable})
        values = {path: parse_value(catalog, written, raw)}
    else:
        type_name, nullable = found_complex
        raw = None if method == "DELETE" else body()
        if isinstance(raw, dict) and "value" in raw and set(raw) - {"value"} <= {"@odata.context", "@context"} \
                and raw["value"] is None:
            raw = None
        if raw is None:
            if not nullable:
                raise BadRequest(f"{path} cannot be null", target=path)
            values = dict.fromkeys(member_paths(entity, path))
        else:
            values = complex_values(catalog, entity, path, type_name, _without_context(raw), full=method == "PUT")
    writer.update(target.fixed, values, if_match, replace=False)


def _stored_items(connection: Connection, context: PlanContext, target: Target, name: str) -> list[Any]:
    """A collection's items as its column holds them (enum members as integers), on the write's connection."""
    scope = EntityScope(target.entity, context)
    statement = select(scope.column(name)).select_from(scope.from_clause()).where(scope.where(target.fixed))
    row = connection.execute(statement.limit(1)).first()
    if row is None:
        raise NotFound(f"no {target.entity.entity_type} with key {target.key_text}")
    return list(row[0]) if isinstance(row[0], list) else []


def _insert_position(items: list[Any], index: int | None, name: str) -> int:
    """Where $index inserts: 0..len; -1 is after the last item, -2 before it, ..."""
    if index is None:
        return len(items)
    position = index if index >= 0 else len(items) + 1 + index
    if not 0 <= position <= len(items):
        raise InvalidQueryOption(f"$index={index}: {name} has {len(items)} item(s), so an item goes at 0 to "
                                 f"{len(items)} (or -1 to -{len(items) + 1} from the end)", target="$index")
    return position


def _without_context(raw: Any) -> Any:
    if isinstance(raw, dict):
        return {key: value for key, value in raw.items() if key not in ("@odata.context", "@context")}
    return raw


def _collection_body(raw: Any) -> Any:
    """A collection in a body: {"value": [...]} (OData JSON), or the bare array."""
    if isinstance(raw, dict) and "value" in raw:
        return raw["value"]
    return raw


def _item_body(raw: Any, complex_item: bool) -> Any:
    """One item in a body: a primitive as {"value": x}, a complex one as the object of its members."""
    if complex_item:
        return _without_context(raw)
    if isinstance(raw, dict) and "value" in raw:
        return raw["value"]
    raise BadRequest('send an item of a collection of primitive values as {"value": ...}')


def _value_body(raw: Any, path: str) -> Any:
    if isinstance(raw, dict) and "value" in raw:
        return raw["value"]
    raise BadRequest(f'send the new value of {path} as {{"value": ...}}', target=path)


def item_context(catalog: Any, type_name: str) -> str:
    """The context URL fragment of one item: its type (Edm.String, Example.Catalog.Dimensions)."""
    return type_name if type_name.startswith("Edm.") else catalog.qualified(type_name)
