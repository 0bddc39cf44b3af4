"""Complex and collection-valued properties in OData JSON: member columns nested into objects, JSON
arrays read into arrays of converted values (OData JSON Format 4.01 §7.3-§7.4).

A row shaper writes a complex property's member columns flat, by path ("Address/City"); `nested`
wraps it so that they become {"Address": {"City": ...}}, and a nullable complex value whose columns
are all null becomes null (a non-nullable one stays an object with null members).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from gateway.catalog.model import Catalog, Entity, StructuredProperty
from gateway.plan.structured import complex_paths, member_paths
from gateway.serialize.values import Converter, JsonFormat, converter

if TYPE_CHECKING:
    from gateway.plan.query import Layout

Shape = Callable[[Sequence[Any]], dict[str, Any]]


def field_converter(entity: Entity, name: str, catalog: Catalog, json_format: JsonFormat) -> Converter:
    """The converter of one layout name: a property, a complex member (Address/City) or a collection."""
    prop = entity.leaf(name)
    if prop is not None:
        return converter(prop.type, catalog, json_format)
    return collection_converter(entity.structured[name], catalog, json_format)


def collection_converter(prop: StructuredProperty, catalog: Catalog, json_format: JsonFormat) -> Converter:
    """A JSON array column's value (a list, or JSON text) as the array of its items' OData JSON values."""
    convert_item = item_converter(prop.type, catalog, json_format)

    def convert(value: Any) -> Any:
        if value is None:
            return []  # a collection is never null: a NULL column holds none
        if isinstance(value, (str, bytes)):
            value = json.loads(value)
        return [convert_item(item) for item in value]

    return convert


def item_converter(type_name: str, catalog: Catalog, json_format: JsonFormat) -> Converter:
    """One stored item (a JSON value) as its OData JSON value; a complex item member by member."""
    service = catalog.service
    definition = service.type_definitions.get(type_name)
    if definition is not None:
        type_name = definition.underlying
    complex_type = service.complex_types.get(type_name)
    if complex_type is None:
        return converter(type_name, catalog, json_format)
    members = [(name, item_converter(member.type, catalog, json_format))
               for name, member in complex_type.properties.items()]

    def convert(value: Any) -> Any:
        if not isinstance(value, dict):
            return None
        return {name: convert_member(value.get(name)) for name, convert_member in members}

    return convert


def nests(names: Sequence[str]) -> bool:
    """Whether a layout shows complex members (whose flat paths need nesting)."""
    return any("/" in name for name in names)


def nested(shape: Shape, entity: Entity, layout: Layout, catalog: Catalog) -> Shape:
    """`shape` with its complex members nested into objects, and a nullable complex value that holds
    no value at all null (the layout reads every column of such a value: null_test_names)."""
    visible = [name for name in layout.visible if name in entity.members]
    groups = []
    for path, nullable in complex_paths(entity, catalog).items():  # outer values before inner ones
        if nullable and any(name.startswith(path + "/") for name in visible):
            positions = [layout.read.index(name) for name in member_paths(entity, path)]
            groups.append((tuple(path.split("/")), positions))

    def shape_nested(row: Sequence[Any]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in shape(row).items():
            if "/" not in key or "@" in key:
                result[key] = value
                continue
            steps = key.split("/")
            target = result
            for step in steps[:-1]:
                target = target.setdefault(step, {})
            target[steps[-1]] = value
        for parts, positions in groups:
            if any(row[position] is not None for position in positions):
                continue
            parent: Any = result
            for part in parts[:-1]:
                parent = parent.get(part)
                if not isinstance(parent, dict):
                    break
            else:
                if parts[-1] in parent:
                    parent[parts[-1]] = None
        return result

    return shape_nested
