"""Complex types and collection-valued properties in the catalog: checked by file:line, then resolved.

service.yaml declares the complex types (members may be complex themselves):

    complex_types:
      Address: {properties: {Street: {type: Edm.String, max_length: 100, nullable: true}, City: ...}}

and an entity declares its complex and collection-valued properties under `properties:` beside the
others. A complex property maps each member to a column of one of the entity's tables (a column
group; a nested complex member maps to a nested mapping); a collection is one JSON column:

    Manufacturer: {type: Manufacturer, nullable: true, columns: {Name: p.mfr_name, Address: {City: p.mfr_city}}}
    Tags: {type: Edm.String, collection: true, max_length: 30, column: p.tags}
    Packages: {type: Dimensions, collection: true, column: p.packages}

The loader takes these out of `properties` (which stays primitive for the rest of the gateway) into
`Entity.structured`, and lists every primitive member of the complex properties in `Entity.members`
by its path (Manufacturer/Address/City): a Property of its own column, which the planner, the row
shaper and the writer use like any other property.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from gateway.catalog.model import (
    PRIMITIVE_TYPES,
    ComplexMember,
    ComplexType,
    Entity,
    Property,
    Service,
    StructuredProperty,
)

if TYPE_CHECKING:
    from gateway.catalog.load import CatalogProblem, Document

# The item types a JSON column holds: values that compare the same in JSON on every database (no
# date-times or times, whose text forms differ from the drivers'; no bytes or durations).
COLLECTION_ITEM_TYPES = ("Edm.String", "Edm.Guid", "Edm.Boolean", "Edm.Int16", "Edm.Int32", "Edm.Int64", "Edm.Byte",
                         "Edm.SByte", "Edm.Decimal", "Edm.Double", "Edm.Single", "Edm.Date")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")


def is_structured_entry(value: object, service: Service | None) -> bool:
    """Whether a `properties:` entry of an entity file is a complex or collection-valued property."""
    if not isinstance(value, dict):
        return False
    complex_type = service is not None and value.get("type") in service.complex_types
    return "columns" in value or value.get("collection") is True or complex_type


def take_structured(document: Document | None, service: Service | None,
                    problems: list[CatalogProblem]) -> dict[str, StructuredProperty]:
    """Remove the complex and collection-valued properties from the document's `properties`, validated."""
    if document is None or not isinstance(document.data, dict):
        return {}
    for internal in ("structured", "members"):
        if internal in document.data:
            problems.append(document.problem((internal,), f"{internal}: declare complex and collection-valued "
                                                          "properties under properties:"))
            del document.data[internal]
    properties = document.data.get("properties")
    if not isinstance(properties, dict):
        return {}
    taken: dict[str, StructuredProperty] = {}
    for name in [name for name, value in properties.items() if is_structured_entry(value, service)]:
        raw = properties.pop(name)
        try:
            taken[str(name)] = StructuredProperty.model_validate(raw).model_copy(update={"name": str(name)})
        except ValidationError as error:
            for detail in error.errors():
                location = ("properties", name, *detail["loc"])
                where = ".".join(str(part) for part in location)
                problems.append(document.problem(location, f"{where}: {detail['msg']}"))
    return taken


def check_complex_types(service: Service, document: Document) -> Iterator[CatalogProblem]:
    """Members of known types, identifier names, no type that contains itself."""
    for name, complex_type in service.complex_types.items():
        where = ("complex_types", name)
        if not _IDENTIFIER.fullmatch(name):
            yield document.problem(where, f"{name}: a complex type's name must be an identifier")
        if name in service.enums or name in service.type_definitions:
            yield document.problem(where, f"{name} is both a complex type and an enum or type definition")
        for member_name, member in complex_type.properties.items():
            at = (*where, "properties", member_name)
            if not _IDENTIFIER.fullmatch(str(member_name)):
                yield document.problem(at, f"{name}.{member_name}: a member's name must be an identifier")
            if not _known_member_type(member.type, service):
                known = ", ".join([*PRIMITIVE_TYPES, *service.enums, *service.type_definitions, *service.complex_types])
                yield document.problem((*at, "type"), f"{name}.{member_name}: unknown type {member.type} (known: {known})")
            elif member.type == "Edm.Stream":
                yield document.problem((*at, "type"), f"{name}.{member_name}: a stream cannot be a member of a "
                                                      "complex type")
        if _contains(service, name, name, set()):
            yield document.problem(where, f"{name} contains itself (a complex type cannot nest itself)")


def _known_member_type(type_name: str, service: Service) -> bool:
    return (type_name in PRIMITIVE_TYPES or type_name in service.enums or type_name in service.type_definitions
            or type_name in service.complex_types)


def _contains(service: Service, outer: str, name: str, seen: set[str]) -> bool:
    complex_type = service.complex_types.get(name)
    if complex_type is None or name in seen:
        return False
    seen.add(name)
    for member in complex_type.properties.values():
        if member.type == outer or _contains(service, outer, member.type, seen):
            return True
    return False


def attach_structured(entity: Entity, structured: dict[str, StructuredProperty], service: Service,
                      document: Document, problems: list[CatalogProblem]) -> Entity:
    """The entity with its complex and collection-valued properties and their members, or unchanged
    (with problems added) where they do not fit the service's types and the entity's tables."""
    if not structured:
        return entity
    aliases = {source.alias for source in entity.sources}
    members: dict[str, Property] = {}
    found: list[CatalogProblem] = []
    for name, prop in structured.items():
        at: tuple[str | int, ...] = ("properties", name)
        if name in entity.navigation:
            found.append(document.problem(at, f"{name} is both a property and a navigation property"))
        if prop.collection:
            found.extend(_check_collection(prop, service, aliases, document, at))
            continue
        complex_type = service.complex_types.get(prop.type)
        if complex_type is None:
            known = ", ".join(service.complex_types) or "none are declared in service.yaml complex_types"
            found.append(document.problem((*at, "type"), f"{name}: {prop.type} is not a complex type (known: {known}); "
                                                         "a collection says collection: true"))
            continue
        if prop.column is not None:
            found.append(document.problem((*at, "column"), f"{name}: a complex property maps each member to a column "
                                                           "with columns: {Member: alias.COLUMN}, not column:"))
        for facet in ("max_length", "precision", "scale"):
            if getattr(prop, facet) is not None:
                found.append(document.problem((*at, facet), f"{name}: {facet} belongs to the members of "
                                                            f"{prop.type} (service.yaml), not to the property"))
        members.update(_members(name, prop.type, prop.columns, prop.nullable, prop.read_only, service, aliases,
                                document, (*at, "columns"), found))
    problems.extend(found)
    if found:
        return entity
    return entity.model_copy(update={"structured": structured, "members": members})


def _check_collection(prop: StructuredProperty, service: Service, aliases: set[str], document: Document,
                      at: tuple[str | int, ...]) -> Iterator[CatalogProblem]:
    name = prop.name
    if prop.columns:
        yield document.problem((*at, "columns"), f"{name}: a collection is stored in one JSON column: give column:")
    if prop.column is None or "." not in prop.column or prop.column.split(".", 1)[0] not in aliases:
        yield document.problem((*at, "column"), f"{name}: column must be alias.COLUMN of a source (a JSON column)")
    item_type = prop.type
    definition = service.type_definitions.get(item_type)
    if definition is not None:
        item_type = definition.underlying
    if item_type in service.complex_types:
        for path, member in _leaf_members(service, item_type, ()):
            if member.type not in COLLECTION_ITEM_TYPES and member.type not in service.enums:
                yield document.problem((*at, "type"), f"{name}: member {'/'.join(path)} of {prop.type} is "
                                                      f"{member.type}, which a JSON column cannot hold "
                                                      f"(allowed: {', '.join(COLLECTION_ITEM_TYPES)}, enums)")
        return
    if item_type not in COLLECTION_ITEM_TYPES and item_type not in service.enums:
        yield document.problem((*at, "type"), f"{name}: a collection of {prop.type} is not supported (items may be "
                                              f"{', '.join(COLLECTION_ITEM_TYPES)}, an enum or a complex type)")


def _members(path: str, type_name: str, columns: dict[str, Any], nullable: bool, read_only: bool, service: Service,
             aliases: set[str], document: Document, at: tuple[str | int, ...],
             found: list[CatalogProblem]) -> dict[str, Property]:
    """The primitive members of a complex value at `path`, each with its column, by path."""
    complex_type = service.complex_types[type_name]
    members: dict[str, Property] = {}
    for name in columns:
        if name not in complex_type.properties:
            found.append(document.problem((*at, name), f"{path}: {type_name} has no member {name} "
                                                       f"(members: {', '.join(complex_type.properties)})"))
    for name, member in complex_type.properties.items():
        mapped = columns.get(name)
        member_path = f"{path}/{name}"
        if not _known_member_type(member.type, service):
            continue  # (reported at the complex type, in service.yaml)
        if mapped is None:
            found.append(document.problem(at, f"{path}: map the member {name} of {type_name} to a column"))
            continue
        if member.type in service.complex_types:
            if not isinstance(mapped, dict):
                found.append(document.problem((*at, name), f"{member_path} is of the complex type {member.type}: "
                                                           "map its members with a nested mapping {Member: alias.COLUMN}"))
                continue
            members.update(_members(member_path, member.type, mapped, nullable or member.nullable, read_only,
                                    service, aliases, document, (*at, name), found))
            continue
        if not isinstance(mapped, str) or "." not in mapped or mapped.split(".", 1)[0] not in aliases:
            found.append(document.problem((*at, name), f"{member_path}: '{mapped}' must be alias.COLUMN of a source"))
            continue
        members[member_path] = _member_property(member_path, member, mapped, nullable, read_only, service)
    return members


def _member_property(path: str, member: ComplexMember, column: str, nullable: bool, read_only: bool,
                     service: Service) -> Property:
    """A primitive member as a property of its own column. Nullable where the member is, and where a
    complex value holding it may be null (its columns are null then)."""
    resolved = resolved_member(service, member)
    type_definition = member.type if member.type in service.type_definitions else None
    return Property(name=path, column=column, type=resolved.type, nullable=member.nullable or nullable,
                    read_only=read_only, type_definition=type_definition, max_length=resolved.max_length,
                    precision=resolved.precision, scale=resolved.scale)


def resolved_member(service: Service, member: ComplexMember | StructuredProperty) -> ComplexMember:
    """A member (or a collection's items) with a type definition resolved: its underlying type, and the
    facets the definition gives."""
    resolved = ComplexMember(type=member.type, max_length=member.max_length, precision=member.precision,
                             scale=member.scale, nullable=member.nullable)
    definition = service.type_definitions.get(member.type)
    if definition is None:
        return resolved
    return resolved.model_copy(update={
        "type": definition.underlying,
        "max_length": definition.max_length if definition.max_length is not None else member.max_length,
        "precision": definition.precision if definition.precision is not None else member.precision,
        "scale": definition.scale if definition.scale is not None else member.scale})


def _leaf_members(service: Service, type_name: str,
                  prefix: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], ComplexMember]]:
    for name, member in service.complex_types[type_name].properties.items():
        if member.type in service.complex_types:
            yield from _leaf_members(service, member.type, (*prefix, name))
        else:
            definition = service.type_definitions.get(member.type)
            if definition is not None:
                member = member.model_copy(update={"type": definition.underlying})
            yield (*prefix, name), member


def leaf_members(service: Service, type_name: str) -> list[tuple[tuple[str, ...], ComplexMember]]:
    """Every primitive member of a complex type, by its path inside it (type definitions resolved)."""
    return list(_leaf_members(service, type_name, ()))


def complex_members(service: Service, type_name: str) -> dict[str, ComplexType]:
    """The complex types a complex type uses, itself first (for $metadata)."""
    found: dict[str, ComplexType] = {}
    pending = [type_name]
    while pending:
        name = pending.pop()
        if name in found or name not in service.complex_types:
            continue
        found[name] = service.complex_types[name]
        pending.extend(member.type for member in found[name].properties.values())
    return found
