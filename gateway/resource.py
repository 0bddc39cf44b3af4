"""Resolve a parsed resource path against the catalog: which entity, which rows, what shape of answer.

Supported: Set, Set(key), Set/$count, Set(key)/Property, Set(key)/Property/$value,
Set(key)/Nav (single or collection, then as Set or Set(key) again), and .../$count on collections;
.../$ref (entity references, gateway/refs.py; the Target keeps the last navigation for $ref writes).
A many-to-many navigation (`through` a join table) restricts its target with a Related pair
(gateway/plan/through.py) instead of equal link values.
Keys may be composite and given in any order; `Set('x')` works for single-key entities.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from gateway.catalog.model import Catalog, Entity, Navigation
from gateway.errors import (
    BadRequest,
    NotFound,
    UnknownEntitySet,
    UnknownProperty,
    did_you_mean,
)
from gateway.plan.derived import cast_entity
from gateway.plan.keys import Fixed, key_values
from gateway.plan.through import RELATED, Related
from gateway.plan.within import Within
from gateway.structured_paths import property_path
from grammar import ast

# Reads the given properties of the one row of `entity` matching `fixed`, or None when there is none.
RowLookup = Callable[[Entity, Fixed, tuple[str, ...]], tuple[Any, ...] | None]


@dataclass(frozen=True)
class Target:
    kind: str  # 'collection' | 'entity' | 'property' | 'value' | 'count'
    entity: Entity
    fixed: Fixed = ()
    property: str | None = None
    key_text: str = ""  # the key predicate as a canonical URL fragment, for context URLs
    within: Within | None = None  # the rows a function call returned (gateway/operations/)
    reference: bool = False  # .../$ref: entity references (their ids), not the entities
    via: Via | None = None  # the navigation the path ends with: how a $ref write changes the relation
    index: int | None = None  # an item of a collection-valued property by position (Tags/0, Tags/-1)


@dataclass(frozen=True)
class Via:
    """The last navigation of a path: from which row (`parent`, `parent_fixed`) along which `nav`."""

    parent: Entity
    parent_fixed: Fixed
    nav: Navigation


def resolve(
    catalog: Catalog, segments: tuple[ast.Segment, ...], aliases: dict[str, Any], lookup: RowLookup
) -> Target:
    first = segments[0]
    if not isinstance(first, ast.NamedSegment):
        raise BadRequest("the resource path must start with an entity set")
    entity = catalog.entities.get(first.name)
    if entity is None:
        raise UnknownEntitySet(
            f"there is no entity set {first.name}." + did_you_mean(first.name, catalog.entities), target=first.name
        )
    fixed: Fixed = ()
    single = False
    key_text = ""
    via: Via | None = None
    if entity.singleton:  # /Company: its one row, addressed without a key
        if first.key is not None:
            raise BadRequest(f"{first.name} is a singleton: address it without a key")
        row = lookup(entity, (), tuple(entity.key))
        if row is None:
            raise NotFound(f"the singleton {first.name} has no row")
        fixed = tuple(zip(entity.key, row))
        single = True
    elif first.key is not None:
        fixed = key_values(catalog, entity, first.key, aliases)
        if {name for name, _ in fixed} != set(entity.key):  # an alternate key: find the row's own key
            row = lookup(entity, fixed, tuple(entity.key))
            if row is not None:
                fixed = tuple(zip(entity.key, row))
        key_text = canonical_key(entity, dict(fixed))
        single = True
    rest = list(segments[1:])
    while rest:
        segment = rest.pop(0)
        if isinstance(segment, ast.SpecialSegment):
            if segment.kind == "$count" and not single and not rest:
                return Target("count", entity, fixed)
            if segment.kind == "$ref":
                if rest:
                    raise BadRequest("$ref must be the last segment of the path")
                return Target("entity" if single else "collection", entity, fixed, None, key_text,
                              reference=True, via=via)
            if segment.kind == "type":  # Products/NS.DigitalProduct: the entities of a derived type
                entity = cast_entity(catalog, entity, segment.name)
                if single and lookup(entity, fixed, tuple(entity.key)) is None:
                    raise NotFound(f"no {entity.entity_type} with key {key_text}")
                continue
            if segment.kind == "$value" and single and entity.media and not rest:  # a media entity's bytes
                return Target("value", entity, fixed, entity.media, key_text)
            raise BadRequest(f"{segment.kind if segment.kind != 'type' else segment.name} is not allowed here")
        if not single:
            raise BadRequest(f"{segment.name}: address one entity with a key before navigating or reading a property")
        if segment.name in entity.properties:
            if segment.key is not None:
                raise BadRequest(f"{segment.name} is a primitive property and takes no key")
            _require_row(lookup, entity, fixed)
            if not rest:
                return Target("property", entity, fixed, segment.name, key_text)
            if len(rest) == 1 and isinstance(rest[0], ast.SpecialSegment) and rest[0].kind == "$value":
                return Target("value", entity, fixed, segment.name, key_text)
            raise BadRequest(f"only /$value may follow the property {segment.name}")
        if segment.name in entity.structured:  # complex and collection-valued (gateway/structured_paths.py)
            _require_row(lookup, entity, fixed)
            kind, path, index = property_path(entity, segment, rest)
            return Target(kind, entity, fixed, path, key_text, index=index)
        nav = entity.navigation.get(segment.name)
        if nav is None:
            raise UnknownProperty(
                f"{entity.entity_type} has no property or navigation property {segment.name}."
                + did_you_mean(segment.name, [*entity.properties, *entity.navigation]),
                target=segment.name,
            )
        parent_values = _require_row(lookup, entity, fixed, nav.link_properties)
        via = Via(entity, fixed, nav)
        target_entity = catalog.entities[nav.target]
        if nav.through is not None:  # many-to-many: the rows a join row pairs with this one
            fixed = ((RELATED, Related(entity.entity_set, nav.name, tuple(parent_values))),)
        else:
            fixed = tuple(zip(nav.link.values(), parent_values))
        entity = target_entity
        single = not nav.collection
        if segment.key is not None:
            if not nav.collection:
                raise BadRequest(f"{segment.name} is single-valued and takes no key")
            own = key_values(catalog, entity, segment.key, aliases)
            fixed = _merge(fixed, own)
            single = True
        key_text = canonical_key(entity, dict(fixed)) if single else ""
        ends_in_ref = len(rest) == 1 and isinstance(rest[0], ast.SpecialSegment) and rest[0].kind == "$ref"
        if single and nav.through is not None and not ends_in_ref:
            # Related(y) of a many-to-many: the row itself from here on, once it is known to be related.
            row = lookup(entity, fixed, tuple(entity.key))
            if row is None:
                raise NotFound(f"{key_text} is not one of the {nav.name} of this {via.parent.entity_type}")
            fixed = tuple(zip(entity.key, row))
        if single and not nav.collection and ends_in_ref:
            key_text = ""  # Nav/$ref of a row whose link is empty: a write may set it; a read answers 404
        elif single and not nav.collection:
            key_text = ""
            row = lookup(entity, fixed, tuple(entity.key))
            if row is None:
                raise NotFound(f"{nav.name} of this {entity.entity_type} does not exist")
            fixed = tuple(zip(entity.key, row))
            key_text = canonical_key(entity, dict(fixed))
    return Target("entity" if single else "collection", entity, fixed, None, key_text, via=via)


def _require_row(lookup: RowLookup, entity: Entity, fixed: Fixed, names: tuple[str, ...] = ()) -> tuple[Any, ...]:
    row = lookup(entity, fixed, names or tuple(entity.key))
    if row is None:
        raise NotFound(f"no {entity.entity_type} with key {canonical_key(entity, dict(fixed))}")
    return row


def _merge(link: Fixed, key: Fixed) -> Fixed:
    merged = dict(link)
    for name, value in key:
        if name in merged and merged[name] != value:
            raise NotFound(f"{name}={value!r} does not belong to this parent")
        merged[name] = value
    return tuple(merged.items())


def key_url(entity: Entity, values: dict[str, object]) -> str:
    """The canonical key predicate as it goes into a URL: '#', '?', '%', spaces, non-ASCII escaped."""
    return quote(canonical_key(entity, values), safe="()=,'-._~:@!$*+;")


def canonical_key(entity: Entity, values: dict[str, object]) -> str:
    """The canonical key predicate of a row, e.g. (dataAreaId='usmf',CustomerAccount='US-001')."""
    names = [name for name in entity.key if name in values] or list(values)  # or an alternate key
    literals = {name: _key_literal(values[name], entity.properties[name].type) for name in names}
    if len(entity.key) == 1 and names == entity.key:
        return f"({literals[names[0]]})"
    return "(" + ",".join(f"{name}={literals[name]}" for name in names) + ")"


def _key_literal(value: object, type_name: str) -> str:
    if type_name == "Edm.Guid" and value is not None:
        return str(value)  # Guids are written bare: accounts(00000000-0000-0000-0000-000000000001)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, dt.datetime):
        return value.isoformat() + "Z"
    return str(value)
