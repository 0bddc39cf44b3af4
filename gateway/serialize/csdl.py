"""$metadata: the catalog as CSDL XML and CSDL JSON (OData 4.0 / 4.01), built once per app.

Capabilities and Core annotations tell clients (Excel, Power BI, code generators) what the service
supports, so that they do not send what would be refused.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from gateway.catalog.model import Catalog, Entity, Property

CORE = "Org.OData.Core.V1"
CAPABILITIES = "Org.OData.Capabilities.V1"
_VOCABULARIES = {
    CORE: "https://oasis-tcs.github.io/odata-vocabularies/vocabularies/Org.OData.Core.V1.xml",
    CAPABILITIES: "https://oasis-tcs.github.io/odata-vocabularies/vocabularies/Org.OData.Capabilities.V1.xml",
}
FILTER_FUNCTIONS = (
    "contains", "startswith", "endswith", "tolower", "toupper", "trim", "length", "concat",
    "year", "month", "day", "hour", "minute",
)


def _facets(prop: Property, catalog: Catalog) -> dict[str, Any]:
    facets: dict[str, Any] = {}
    if prop.max_length is not None:
        facets["MaxLength"] = prop.max_length
    if prop.precision is not None:
        facets["Precision"] = prop.precision
    if prop.scale is not None:
        facets["Scale"] = prop.scale
    if prop.type == "Edm.DateTimeOffset":
        facets["Precision"] = 0
    return facets


def _type_name(type_name: str, catalog: Catalog) -> str:
    return catalog.qualified(type_name) if catalog.is_enum(type_name) else type_name


def _entity_set_annotations(entity: Entity) -> list[tuple[str, Any]]:
    """(term, value) pairs describing what each entity set supports; values are JSON-CSDL shaped."""
    return [
        (f"{CAPABILITIES}.InsertRestrictions", {"Insertable": entity.writable}),
        (f"{CAPABILITIES}.UpdateRestrictions", {"Updatable": entity.writable, "Upsertable": entity.upsert}),
        (f"{CAPABILITIES}.DeleteRestrictions", {"Deletable": entity.writable}),
        (f"{CAPABILITIES}.CountRestrictions", {"Countable": True}),
        (f"{CAPABILITIES}.TopSupported", True),
        (f"{CAPABILITIES}.SkipSupported", entity.skip),
        (f"{CAPABILITIES}.SearchRestrictions", {"Searchable": bool(entity.searchable)}),
        (f"{CAPABILITIES}.ExpandRestrictions", {"Expandable": bool(entity.navigation), "MaxLevels": -1}),
        (f"{CAPABILITIES}.SelectSupport", {"Supported": True}),
    ]


# ---------------------------------------------------------------------- XML
def metadata_xml(catalog: Catalog) -> bytes:
    edmx_ns = "http://docs.oasis-open.org/odata/ns/edmx"
    edm_ns = "http://docs.oasis-open.org/odata/ns/edm"
    root = ET.Element("edmx:Edmx", {"Version": "4.0", "xmlns:edmx": edmx_ns})
    for namespace, uri in _VOCABULARIES.items():
        reference = ET.SubElement(root, "edmx:Reference", {"Uri": uri})
        alias = namespace.split(".")[-2]
        ET.SubElement(reference, "edmx:Include", {"Namespace": namespace, "Alias": alias})
    services = ET.SubElement(root, "edmx:DataServices")
    schema = ET.SubElement(services, "Schema", {"Namespace": catalog.service.namespace, "xmlns": edm_ns})
    for name, members in catalog.service.enums.items():
        enum = ET.SubElement(schema, "EnumType", {"Name": name, "UnderlyingType": "Edm.Int32"})
        for value, member in members.items():
            ET.SubElement(enum, "Member", {"Name": member, "Value": str(value)})
    for entity in catalog.entities.values():
        entity_type = ET.SubElement(schema, "EntityType", {"Name": entity.entity_type})
        key = ET.SubElement(entity_type, "Key")
        for name in entity.key:
            ET.SubElement(key, "PropertyRef", {"Name": name})
        for prop in entity.properties.values():
            attributes = {"Name": prop.name, "Type": _type_name(prop.type, catalog)}
            attributes.update({name: str(value) for name, value in _facets(prop, catalog).items()})
            if not prop.nullable:
                attributes["Nullable"] = "false"
            ET.SubElement(entity_type, "Property", attributes)
        for nav in entity.navigation.values():
            target = catalog.entities[nav.target]
            qualified = catalog.qualified(target.entity_type)
            nav_attributes = {"Name": nav.name, "Type": f"Collection({qualified})" if nav.collection else qualified}
            if not nav.collection:
                nav_attributes["Nullable"] = "true"
            element = ET.SubElement(entity_type, "NavigationProperty", nav_attributes)
            if not nav.collection:
                # A constraint names properties of the target itself: a link through the target's
                # lookup (a synthetic relation) has none.
                if not any("/" in theirs for theirs in nav.link.values()):
                    for mine, theirs in nav.link.items():
                        ET.SubElement(element, "ReferentialConstraint", {"Property": mine, "ReferencedProperty": theirs})
    container = ET.SubElement(schema, "EntityContainer", {"Name": catalog.service.container})
    for entity in catalog.entities.values():
        entity_set = ET.SubElement(
            container, "EntitySet", {"Name": entity.entity_set, "EntityType": catalog.qualified(entity.entity_type)}
        )
        for nav in entity.navigation.values():
            ET.SubElement(entity_set, "NavigationPropertyBinding", {"Path": nav.name, "Target": nav.target})
        for term, value in _entity_set_annotations(entity):
            entity_set.append(_xml_annotation(term, value))
    container.append(_xml_annotation(f"{CAPABILITIES}.FilterFunctions", list(FILTER_FUNCTIONS)))
    container.append(_xml_annotation(f"{CAPABILITIES}.KeyAsSegmentSupported", False))
    container.append(_xml_annotation(f"{CORE}.ODataVersions", "4.0"))
    ET.indent(root)
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body


def _xml_annotation(term: str, value: Any) -> ET.Element:
    element = ET.Element("Annotation", {"Term": term})
    _xml_value(element, value)
    return element


def _xml_value(element: ET.Element, value: Any) -> None:
    if isinstance(value, bool):
        element.set("Bool", "true" if value else "false")
    elif isinstance(value, int):
        element.set("Int", str(value))
    elif isinstance(value, str):
        element.set("String", value)
    elif isinstance(value, list):
        collection = ET.SubElement(element, "Collection")
        for item in value:
            ET.SubElement(collection, "String").text = str(item)
    elif isinstance(value, dict):
        record = ET.SubElement(element, "Record")
        for name, item in value.items():
            property_value = ET.SubElement(record, "PropertyValue", {"Property": name})
            _xml_value(property_value, item)


# ---------------------------------------------------------------------- JSON
def metadata_json(catalog: Catalog) -> dict[str, Any]:
    namespace = catalog.service.namespace
    schema: dict[str, Any] = {}
    for name, members in catalog.service.enums.items():
        enum: dict[str, Any] = {"$Kind": "EnumType", "$UnderlyingType": "Edm.Int32"}
        enum.update({member: value for value, member in members.items()})
        schema[name] = enum
    for entity in catalog.entities.values():
        entity_type: dict[str, Any] = {"$Kind": "EntityType", "$Key": list(entity.key)}
        for prop in entity.properties.values():
            member: dict[str, Any] = {}
            if prop.type != "Edm.String":
                member["$Type"] = _type_name(prop.type, catalog)
            if prop.nullable:
                member["$Nullable"] = True
            member.update({f"${name}": value for name, value in _facets(prop, catalog).items()})
            entity_type[prop.name] = member
        for nav in entity.navigation.values():
            target = catalog.entities[nav.target]
            nav_member: dict[str, Any] = {"$Kind": "NavigationProperty", "$Type": catalog.qualified(target.entity_type)}
            if nav.collection:
                nav_member["$Collection"] = True
            else:
                nav_member["$Nullable"] = True
                if not any("/" in theirs for theirs in nav.link.values()):  # (as in the XML)
                    nav_member["$ReferentialConstraint"] = dict(nav.link)
            entity_type[nav.name] = nav_member
        schema[entity.entity_type] = entity_type
    container: dict[str, Any] = {"$Kind": "EntityContainer"}
    for entity in catalog.entities.values():
        entity_set: dict[str, Any] = {"$Collection": True, "$Type": catalog.qualified(entity.entity_type)}
        if entity.navigation:
            entity_set["$NavigationPropertyBinding"] = {nav.name: nav.target for nav in entity.navigation.values()}
        for term, value in _entity_set_annotations(entity):
            entity_set[f"@{term}"] = value
        container[entity.entity_set] = entity_set
    container[f"@{CAPABILITIES}.FilterFunctions"] = list(FILTER_FUNCTIONS)
    container[f"@{CAPABILITIES}.KeyAsSegmentSupported"] = False
    container[f"@{CORE}.ODataVersions"] = "4.0"
    schema[catalog.service.container] = container
    return {
        "$Version": "4.0",
        "$EntityContainer": f"{namespace}.{catalog.service.container}",
        "$Reference": {uri: {"$Include": [{"$Namespace": ns, "$Alias": ns.split(".")[-2]}]} for ns, uri in _VOCABULARIES.items()},
        namespace: schema,
    }
