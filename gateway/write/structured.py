"""Writing complex and collection-valued properties: request values → their columns' values.

A complex value is written member by member into its columns ({"Manufacturer": {"Name": "Acme"}} sets
mfr_name only: PATCH semantics apply to complex values recursively, OData 4.01 Part 1 §11.4.3); a
create or a PUT gives the members it leaves out their defaults (`fill_missing`). A collection is
written whole, as a JSON array of its items' values (numbers, strings, booleans, dates as ISO text,
enum members as their integers; a complex item as an object of its members).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy.types import TypeEngine

from gateway.catalog.model import Catalog, ComplexMember, Entity, Property, StructuredProperty
from gateway.catalog.structured import resolved_member
from gateway.errors import BadRequest, InvalidValue, UnknownProperty, did_you_mean
from gateway.plan.structured import JsonList, member_paths
from gateway.plan.types import sql_type
from gateway.write.values import empty_value, parse_value

JsonValue = Any


# ---------------------------------------------------------------------- where values go
def column_of(entity: Entity, name: str) -> str:
    """The "alias.COLUMN" a written name goes to: a property, a complex member (Address/City) or a
    collection's JSON column."""
    prop = entity.leaf(name)
    if prop is not None:
        return prop.column
    return entity.structured[name].column or ""


def column_types(entity: Entity, catalog: Catalog, alias: str) -> dict[str, TypeEngine[Any]]:
    """The types of a table's member and JSON columns (a NULL binds as its column's type; a list as JSON)."""
    types: dict[str, TypeEngine[Any]] = {prop.column_name: sql_type(prop.type, catalog)
                                         for prop in entity.members.values() if prop.alias == alias}
    for prop in entity.structured.values():
        if prop.collection and prop.column is not None and prop.column.split(".", 1)[0] == alias:
            types[prop.column.split(".", 1)[1]] = JsonList()
    return types


# ---------------------------------------------------------------------- values of a body
def structured_values(catalog: Catalog, entity: Entity, name: str, raw: object) -> dict[str, object]:
    """One complex or collection-valued property of a request body as {column name: value} pairs."""
    prop = entity.structured[name]
    if prop.read_only:
        raise BadRequest(f"{name} is read-only", target=name)
    if prop.collection:
        return {name: collection_value(catalog, prop, raw)}
    if raw is None:
        if not prop.nullable:
            raise InvalidValue(f"{name} cannot be null", target=name)
        return dict.fromkeys(member_paths(entity, name))
    return complex_values(catalog, entity, name, prop.type, raw, full=False)


def complex_values(catalog: Catalog, entity: Entity, path: str, type_name: str, raw: object,
                   full: bool) -> dict[str, object]:
    """A complex value given as a JSON object, as {member path: value}: the members it gives, and with
    `full` (a create, a PUT) every other member too, at its default."""
    if not isinstance(raw, dict):
        raise InvalidValue(f"{path} must be a JSON object of the members of {type_name}"
                           + (" (or null)" if _nullable_at(catalog, entity, path) else ""), target=path)
    complex_type = catalog.service.complex_types[type_name]
    values: dict[str, object] = {}
    for key, item in raw.items():
        if "@" in key:
            continue  # @odata.type ...
        member = complex_type.properties.get(key)
        member_path = f"{path}/{key}"
        if member is None:
            raise UnknownProperty(f"{type_name} has no member {key}." + did_you_mean(key, complex_type.properties),
                                  target=member_path)
        if member.type in catalog.service.complex_types:
            if item is None:
                if not member.nullable:
                    raise InvalidValue(f"{member_path} cannot be null", target=member_path)
                values.update(dict.fromkeys(member_paths(entity, member_path)))
            else:
                values.update(complex_values(catalog, entity, member_path, member.type, item, full))
            continue
        values[member_path] = parse_value(catalog, _writable(entity, member_path, member), item)
    if full:
        for key, member in complex_type.properties.items():
            if key not in raw:
                values.update(_defaults(catalog, entity, f"{path}/{key}", member))
    return values


def _writable(entity: Entity, path: str, member: ComplexMember) -> Property:
    """A member's column as written: nullable where the member is (its column may also be null because
    the whole complex value is, which a member's own value does not say)."""
    return entity.members[path].model_copy(update={"nullable": member.nullable})


def _defaults(catalog: Catalog, entity: Entity, path: str, member: ComplexMember) -> dict[str, object]:
    """A member nobody gave: null if it may be, else its empty value (a complex one: each of its members')."""
    if member.type not in catalog.service.complex_types:
        return {path: empty_value(catalog, _writable(entity, path, member))}
    if member.nullable:
        return dict.fromkeys(member_paths(entity, path))
    values: dict[str, object] = {}
    for key, inner in catalog.service.complex_types[member.type].properties.items():
        values.update(_defaults(catalog, entity, f"{path}/{key}", inner))
    return values


def fill_missing(catalog: Catalog, entity: Entity, values: dict[str, object]) -> None:
    """A create's or a PUT's values for the complex and collection-valued properties it leaves out:
    absent ones get their defaults (null where nullable, else each member's), a given complex value its
    missing members' defaults, and an absent collection the empty one."""
    for name, prop in entity.structured.items():
        if prop.read_only:
            continue
        if prop.collection:
            values.setdefault(name, [])
            continue
        given = {path for path in values if path.startswith(name + "/")}
        values.update({path: value for path, value in _fill(catalog, entity, name, prop.type, prop.nullable,
                                                                 given).items() if path not in values})


def _fill(catalog: Catalog, entity: Entity, path: str, type_name: str, nullable: bool,
          given: set[str]) -> dict[str, object]:
    inside = {name for name in given if name.startswith(path + "/")}
    if not inside:
        return _defaults(catalog, entity, path, ComplexMember(type=type_name, nullable=nullable))
    values: dict[str, object] = {}
    for key, member in catalog.service.complex_types[type_name].properties.items():
        member_path = f"{path}/{key}"
        if member.type in catalog.service.complex_types:
            values.update(_fill(catalog, entity, member_path, member.type, member.nullable, inside))
        elif member_path not in inside:
            values.update(_defaults(catalog, entity, member_path, member))
    return values


def _nullable_at(catalog: Catalog, entity: Entity, path: str) -> bool:
    found = complex_at(catalog, entity, path)
    return found is not None and found[1]


def complex_at(catalog: Catalog, entity: Entity, path: str) -> tuple[str, bool] | None:
    """The complex type at a path of a complex property (Manufacturer/Address) and whether its value
    may be null; None where the path names a primitive member."""
    first, *rest = path.split("/")
    prop = entity.structured[first]
    type_name, nullable = prop.type, prop.nullable
    for name in rest:
        member = catalog.service.complex_types[type_name].properties[name]
        if member.type not in catalog.service.complex_types:
            return None
        type_name, nullable = member.type, member.nullable
    return type_name, nullable


def member_at(catalog: Catalog, entity: Entity, path: str) -> ComplexMember:
    """The definition of the primitive member at a path (Manufacturer/Address/City)."""
    parent, name = path.rsplit("/", 1)
    found = complex_at(catalog, entity, parent)
    assert found is not None
    return catalog.service.complex_types[found[0]].properties[name]


# ---------------------------------------------------------------------- collections
def collection_value(catalog: Catalog, prop: StructuredProperty, raw: object) -> list[JsonValue]:
    """A collection given as a JSON array: each item checked against the items' type, as stored."""
    if not isinstance(raw, list):
        raise InvalidValue(f"{prop.name} must be a JSON array of {prop.type} values (a collection is never null)",
                           target=prop.name)
    return [item_value(catalog, prop, item, f"{prop.name}/{index}") for index, item in enumerate(raw)]


def item_value(catalog: Catalog, prop: StructuredProperty, raw: object, label: str,
               base: dict[str, Any] | None = None) -> JsonValue:
    """One item of a collection as stored; a complex item's members not given keep `base`'s values
    (PATCH of an item), or get their defaults."""
    item = resolved_member(catalog.service, prop)
    if raw is None:
        if not prop.nullable:
            raise InvalidValue(f"{label}: the items of {prop.name} cannot be null", target=label)
        return None
    if item.type in catalog.service.complex_types:
        return _complex_item(catalog, item.type, raw, label, base)
    return _primitive_item(catalog, item, raw, label)


def _complex_item(catalog: Catalog, type_name: str, raw: object, label: str,
                  base: dict[str, Any] | None) -> dict[str, JsonValue]:
    if not isinstance(raw, dict):
        raise InvalidValue(f"{label} must be a JSON object of the members of {type_name}", target=label)
    members = catalog.service.complex_types[type_name].properties
    for key in raw:
        if "@" not in key and key not in members:
            raise UnknownProperty(f"{type_name} has no member {key}." + did_you_mean(key, members), target=f"{label}/{key}")
    item: dict[str, JsonValue] = {}
    for key, member in members.items():
        at = f"{label}/{key}"
        if key not in raw and base is not None and key in base:
            item[key] = base[key]
        elif member.type in catalog.service.complex_types:
            value = raw.get(key)
            if value is None and (key in raw or member.nullable):
                if not member.nullable:
                    raise InvalidValue(f"{at} cannot be null", target=at)
                item[key] = None
            else:
                item[key] = _complex_item(catalog, member.type, {} if value is None else value, at, None)
        elif key in raw:
            item[key] = _primitive_item(catalog, member, raw[key], at)
        else:
            default = None if member.nullable else empty_value(catalog, _member_property(
                resolved_member(catalog.service, member), at))
            item[key] = _stored(default, at)
    return item


def _member_property(member: ComplexMember, label: str) -> Property:
    """A member or item as a property to parse a value with (its type definition, if any, resolved)."""
    return Property(name=label, column="item.value", type=member.type, nullable=member.nullable,
                    max_length=member.max_length, precision=member.precision, scale=member.scale)


def _primitive_item(catalog: Catalog, member: ComplexMember, raw: object, label: str) -> JsonValue:
    resolved = resolved_member(catalog.service, member)
    return _stored(parse_value(catalog, _member_property(resolved, label), raw), label)


def _stored(value: object, label: str) -> JsonValue:
    """A typed value as a JSON array holds it."""
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            return int(value)
        number = float(value)
        if Decimal(repr(number)) != value.normalize():  # JSON numbers are read back as doubles
            raise InvalidValue(f"{label}: {value} has more digits than a JSON column keeps (about 15)", target=label)
        return number
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
