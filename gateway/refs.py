"""Entity references and entity ids: `.../$ref` reads, `$id`, `/$entity?$id=...`.

OData 4.01 Part 1 §11.2.8 and Part 2 §4.4: `Products(x)/Category/$ref` answers the reference of
the related entity, `{"@odata.context": ".../$metadata#$ref", "@odata.id": ".../Categories(c)"}`;
a collection (`Categories(c)/Products/$ref`) answers `$metadata#Collection($ref)` with one
`{"@odata.id": ...}` per entity, filtered, ordered and paged like the entities themselves. The read
is the entities' own plan (gateway/read.py); only the shaping differs (RowShaper.reference).

An entity id (the `@odata.id` of a reference, the `$id` query option) is the entity's canonical URL,
absolute or relative to the service root: `Products(x)` or `http://host/data/Products(x)`.
Part 2 §4.13: `/$entity?$id=Products(x)` reads the entity it names ($select and $expand apply).
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from gateway.catalog.model import Catalog
from gateway.errors import BadRequest, InvalidQueryOption, NotFound
from gateway.resource import RowLookup, Target, resolve
from grammar import ast
from grammar.parser import ODataSyntaxError, parse

# What a collection of references may be asked for (Part 1 §11.2.8): which rows, in which order.
_NOT_ON_REFERENCES = (("select", "$select"), ("expand", "$expand"), ("apply", "$apply"), ("compute", "$compute"))


def check_reference_options(options: ast.QueryOptions) -> None:
    """400 for options that shape entities: a reference is an id and nothing else."""
    for field, label in _NOT_ON_REFERENCES:
        if getattr(options, field) is not None:
            raise InvalidQueryOption(f"{label} does not apply to entity references (.../$ref); "
                                     "$filter, $search, $orderby, $top, $skip and $count do", target=label)


def reference_context(service_root: str, single: bool) -> str:
    return service_root + "$metadata#" + ("$ref" if single else "Collection($ref)")


def missing_reference(target: Target) -> str:
    """The 404 of a single-valued reference that points nowhere (or an entity that does not exist)."""
    if target.via is not None and not target.via.nav.collection:
        return f"{target.via.nav.name} of this {target.via.parent.entity_type} is empty: there is no reference"
    return f"no {target.entity.entity_type} with key {target.key_text}"


def entity_path(reference: str, prefix: str) -> tuple[ast.Segment, ...]:
    """The resource path an entity id names: `Products(x)`, `/data/Products(x)` or a full URL."""
    path = unquote(urlsplit(reference).path) if "://" in reference else reference
    path = path.split(prefix + "/", 1)[1] if prefix + "/" in path else path
    path = path.lstrip("/")
    if not path:
        raise BadRequest(f"'{reference}' is not an entity id such as Products(key)")
    try:
        segments: tuple[ast.Segment, ...] = parse("resource_path", path)
    except ODataSyntaxError as error:
        raise BadRequest(f"'{reference}' is not an entity id: {error.reason} at position {error.position}") from None
    return segments


def entity_target(catalog: Catalog, reference: object, prefix: str, lookup: RowLookup, label: str) -> Target:
    """The one existing entity an entity id names (`label`: where the id came from, for errors)."""
    if not isinstance(reference, str):
        raise BadRequest(f"{label} must be an entity id (a string such as Products(key))", target=label)
    segments = entity_path(reference, prefix)
    if len(segments) != 1 or not isinstance(segments[0], ast.NamedSegment) or segments[0].key is None:
        raise BadRequest(f"{label}: '{reference}' is not an entity id: name the entity set and key, "
                         "e.g. Products(key)", target=label)
    target = resolve(catalog, segments, {}, lookup)
    if target.kind != "entity" or target.entity.singleton:
        raise BadRequest(f"{label}: '{reference}' does not address one entity", target=label)
    if lookup(target.entity, target.fixed, tuple(target.entity.key)) is None:
        raise NotFound(f"{label}: there is no {target.entity.entity_type} {target.key_text}", target=label)
    return target


def entity_by_id(segments: tuple[ast.Segment, ...], entity_id: str | None, prefix: str) -> tuple[ast.Segment, ...]:
    """The path a read addresses: `/$entity?$id=Products(x)` reads Products(x); elsewhere $id has no place."""
    first = segments[0] if segments else None
    if isinstance(first, ast.SpecialSegment) and first.kind == "$entity":
        if len(segments) > 1:
            raise BadRequest("/$entity takes no further segments here (type casts are not supported)")
        if entity_id is None:
            raise InvalidQueryOption("/$entity needs $id, the id of the entity to read, e.g. $id=Products(key)",
                                     target="$id")
        found = entity_path(entity_id, prefix)
        if len(found) != 1 or not isinstance(found[0], ast.NamedSegment) or found[0].key is None:
            raise InvalidQueryOption(f"$id: '{entity_id}' is not an entity id such as Products(key)", target="$id")
        return found
    if entity_id is not None:
        raise InvalidQueryOption("$id belongs to /$entity?$id=... and to DELETE .../Nav/$ref?$id=...", target="$id")
    return segments
