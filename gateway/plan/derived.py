"""Derived entity types stored in their base type's tables (one table per hierarchy).

`Products/Example.Catalog.DigitalProduct` addresses the derived type's entities as an entity of its
own: the base entity restricted to the rows whose discriminator properties hold the type's values,
with the type's own properties, the discriminators read-only (and set on create). Everything that
plans, writes and serializes an entity then works on it unchanged.

In the base set (`/Products`), a row of a derived type carries `@odata.type` and its type's own
properties; the other rows carry neither (type_shape).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_

from gateway.catalog.model import Catalog, Entity
from gateway.errors import BadRequest

_CAST: dict[tuple[int, str], tuple[Entity, Entity]] = {}  # (id of the base, type) -> (base, cast entity)


def derived_type(entity: Entity, qualified: str) -> str | None:
    """The derived type a qualified name (Example.Catalog.DigitalProduct) names, or None. (The
    catalog has one namespace: the last part names the type.)"""
    namespace, _, name = qualified.rpartition(".")
    return name if namespace and name in entity.derived_types else None


def derived_property(entity: Entity, type_name: str, name: str) -> str:
    """A property of a derived type reached through its cast (NS.DigitalProduct/DownloadUrl)."""
    prop = entity.properties.get(name)
    if prop is None or prop.derived not in (None, type_name):
        raise BadRequest(f"{type_name} has no property {name}")
    return name


def require_cast(entity: Entity, name: str) -> None:
    """A derived type's property is reached through a cast to the type (OData: the base has none)."""
    prop = entity.properties[name]
    if prop.derived is not None and entity.base_type is None:
        raise BadRequest(f"{name} is a property of the derived type {prop.derived}, not of {entity.entity_type}: "
                         f"cast first, e.g. <Namespace>.{prop.derived}/{name}", target=name)


def cast_entity(catalog: Catalog, entity: Entity, qualified: str) -> Entity:
    """The entity a type-cast segment addresses (400 when the name is no type derived from it)."""
    if qualified == catalog.qualified(entity.entity_type):
        return entity  # a cast to the type itself changes nothing
    type_name = derived_type(entity, qualified)
    if type_name is None:
        known = ", ".join(catalog.qualified(name) for name in entity.derived_types) or "none"
        raise BadRequest(f"{qualified} is not a type derived from {catalog.qualified(entity.entity_type)} "
                         f"(derived types: {known})")
    cached = _CAST.get((id(entity), type_name))
    if cached is None or cached[0] is not entity:
        cached = _CAST[(id(entity), type_name)] = (entity, _cast(entity, type_name))
    return cached[1]


def _cast(entity: Entity, type_name: str) -> Entity:
    derived = entity.derived_types[type_name]
    properties = {
        name: prop.model_copy(update={"read_only": True, "default": derived.where[name]})
        if name in derived.where else prop
        for name, prop in entity.properties.items()
        if prop.derived in (None, type_name)
    }
    where: dict[str, dict[str, int | str]] = {}
    for name, value in derived.where.items():
        prop = entity.properties[name]
        where.setdefault(prop.alias, {})[prop.column_name] = value
    sources = [source.model_copy(update={"where": {**source.where, **where.get(source.alias, {})}})
               for source in entity.sources]
    return entity.model_copy(update={"entity_type": type_name, "properties": properties, "sources": sources,
                                     "derived_types": {}, "base_type": entity.entity_type})


def is_of(column: Callable[[str], ColumnElement[Any]], entity: Entity, type_name: str) -> ColumnElement[bool]:
    """The rows of a derived type: its discriminator properties hold its values."""
    where = entity.derived_types[type_name].where
    return and_(*(column(name) == value for name, value in where.items()))


def discriminators(entity: Entity) -> list[str]:
    """The properties that tell a row's type: read with every row of a set that has derived types."""
    return list(dict.fromkeys(name for derived in entity.derived_types.values() for name in derived.where))


def type_shape(entity: Entity, catalog: Catalog, read: Sequence[str],
               shape: Callable[[Sequence[Any]], dict[str, Any]]) -> Callable[[Sequence[Any]], dict[str, Any]]:
    """`shape` for a set with derived types: a derived row gets @odata.type (first) and keeps its own
    type's properties; every other derived property is left out."""
    kinds = []
    every = {name for name, prop in entity.properties.items() if prop.derived is not None}
    for type_name, derived in entity.derived_types.items():
        tests = [(read.index(name), value) for name, value in derived.where.items()]
        other = frozenset(every - set(derived.properties))
        kinds.append(("#" + catalog.qualified(type_name), tests, other))
    base_only = frozenset(every)

    def typed(row: Sequence[Any]) -> dict[str, Any]:
        shaped = shape(row)
        for annotation, tests, other in kinds:
            if all(row[index] == value for index, value in tests):
                return {"@odata.type": annotation, **{k: v for k, v in shaped.items() if k not in other}}
        for name in base_only:
            shaped.pop(name, None)
        return shaped

    return typed
