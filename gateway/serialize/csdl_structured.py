"""$metadata of complex types and of complex and collection-valued properties, in CSDL XML and JSON.

A complex type is a ComplexType; a complex property a Property of that type; a collection a Property
of type Collection(...), whose Nullable speaks of its items (CSDL §7.2.1). Collections keep their
order and take positional inserts (Core.Ordered, Core.PositionalInsert): /Tags/0 and $index address
their items (gateway/structured_paths.py).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from gateway.catalog.model import Catalog, ComplexMember, Entity, StructuredProperty

CORE = "Org.OData.Core.V1"
COLLECTION_ANNOTATIONS = (f"{CORE}.Ordered", f"{CORE}.PositionalInsert")


def _type_name(type_name: str, catalog: Catalog) -> str:
    service = catalog.service
    in_schema = type_name in service.complex_types or type_name in service.enums or type_name in service.type_definitions
    return catalog.qualified(type_name) if in_schema else type_name


def _facets(member: ComplexMember | StructuredProperty, catalog: Catalog) -> dict[str, Any]:
    """MaxLength, Precision and Scale where given (a type definition's own are not re-specified)."""
    if member.type in catalog.service.type_definitions:
        return {}
    return {name: value for name, value in (("MaxLength", member.max_length), ("Precision", member.precision),
                                            ("Scale", member.scale)) if value is not None}


def _property(prop: StructuredProperty, catalog: Catalog) -> dict[str, Any]:
    """A complex or collection-valued property as JSON-CSDL (XML is written from the same members)."""
    member: dict[str, Any] = {"$Collection": True} if prop.collection else {}
    member["$Type"] = _type_name(prop.type, catalog)
    if prop.nullable:
        member["$Nullable"] = True
    if prop.collection:
        member.update({f"${name}": value for name, value in _facets(prop, catalog).items()})
        member.update({f"@{term}": True for term in COLLECTION_ANNOTATIONS})
    return member


def _member(member: ComplexMember, catalog: Catalog) -> dict[str, Any]:
    json_member: dict[str, Any] = {"$Type": _type_name(member.type, catalog)}
    if member.nullable:
        json_member["$Nullable"] = True
    json_member.update({f"${name}": value for name, value in _facets(member, catalog).items()})
    return json_member


# ---------------------------------------------------------------------- XML
def xml_complex_types(schema: ET.Element, catalog: Catalog) -> None:
    for name, complex_type in catalog.service.complex_types.items():
        element = ET.SubElement(schema, "ComplexType", {"Name": name})
        for member_name, member in complex_type.properties.items():
            ET.SubElement(element, "Property", _xml_attributes(member_name, _member(member, catalog)))


def xml_structured(entity_type: ET.Element, entity: Entity, catalog: Catalog) -> None:
    for name, prop in entity.structured.items():
        member = _property(prop, catalog)
        element = ET.SubElement(entity_type, "Property", _xml_attributes(name, member))
        for key in member:
            if key.startswith("@"):
                ET.SubElement(element, "Annotation", {"Term": key[1:], "Bool": "true"})


def _xml_attributes(name: str, member: dict[str, Any]) -> dict[str, str]:
    attributes = {"Name": name}
    type_name = member["$Type"]
    attributes["Type"] = f"Collection({type_name})" if member.get("$Collection") else type_name
    attributes["Nullable"] = "true" if member.get("$Nullable") else "false"
    for key, value in member.items():
        if key not in ("$Type", "$Collection", "$Nullable") and key.startswith("$"):
            attributes[key[1:]] = str(value)
    return attributes


# ---------------------------------------------------------------------- JSON
def json_complex_types(catalog: Catalog) -> dict[str, Any]:
    return {name: {"$Kind": "ComplexType", **{member_name: _member(member, catalog)
                                               for member_name, member in complex_type.properties.items()}}
            for name, complex_type in catalog.service.complex_types.items()}


def json_structured(entity: Entity, catalog: Catalog) -> dict[str, Any]:
    return {name: _property(prop, catalog) for name, prop in entity.structured.items()}
