"""Type definitions and flags enums of service.yaml: checked by file:line, then resolved into properties.

A property declared with a type definition (`type: Sku`) is served as the definition's underlying
primitive with the definition's facets: the loader rewrites it so, keeping the definition's name in
`Property.type_definition` for $metadata only. CSDL forbids a property to re-specify a facet its
type definition already gives, so that is a catalog mistake here too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from gateway.catalog.model import PRIMITIVE_TYPES, Entity, Service

if TYPE_CHECKING:
    from gateway.catalog.load import CatalogProblem, Document

FACETS = ("max_length", "precision", "scale")
# Which primitive types each facet applies to (CSDL §7.2).
_FACET_TYPES = {
    "max_length": ("Edm.String", "Edm.Binary"),
    "precision": ("Edm.Decimal", "Edm.DateTimeOffset", "Edm.Duration", "Edm.TimeOfDay"),
    "scale": ("Edm.Decimal",),
}


def check_service_types(service: Service, document: Document) -> Iterator[CatalogProblem]:
    for name, definition in service.type_definitions.items():
        where = ("type_definitions", name)
        if name in service.enums:
            yield document.problem(where, f"{name} is both an enum and a type definition")
        if definition.underlying not in PRIMITIVE_TYPES:
            yield document.problem((*where, "underlying"), f"{name}: the underlying type must be a primitive type "
                                                           f"({', '.join(PRIMITIVE_TYPES)}), not {definition.underlying}")
            continue
        for facet in FACETS:
            if getattr(definition, facet) is not None and definition.underlying not in _FACET_TYPES[facet]:
                yield document.problem((*where, facet), f"{name}: {facet} does not apply to {definition.underlying}")
    for index, name in enumerate(service.flags_enums):
        members = service.enums.get(name)
        if members is None:
            yield document.problem(("flags_enums", index), f"flags enum {name} is not one of the enums")
            continue
        for value in members:
            if value < 0:
                yield document.problem(("enums", name, value),
                                       f"{name}: a flags enum's members are non-negative ({value})")


def resolve_types(entity: Entity, service: Service, document: Document, problems: list[CatalogProblem]) -> Entity:
    """The entity with each property of a type definition turned into its underlying type and facets."""
    if not service.type_definitions:
        return entity
    properties = dict(entity.properties)
    for name, prop in entity.properties.items():
        definition = service.type_definitions.get(prop.type)
        if definition is None:
            continue
        update: dict[str, object] = {"type": definition.underlying, "type_definition": prop.type}
        for facet in FACETS:
            given = getattr(definition, facet)
            if given is None:
                continue
            if getattr(prop, facet) is not None:
                problems.append(document.problem(("properties", name, facet),
                                                 f"{name}: {facet} is given by the type definition {prop.type} "
                                                 "already (CSDL: a facet is not re-specified)"))
            update[facet] = given
        properties[name] = prop.model_copy(update=update)
    return entity.model_copy(update={"properties": properties})
