"""$metadata: the catalog as CSDL XML and CSDL JSON (OData 4.0 / 4.01), built once per app.

Capabilities and Core annotations tell clients (Excel, Power BI, code generators) what the service
supports, so that they do not send what would be refused.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from gateway.catalog.model import Catalog, Entity, Operation, Property, TypeDefinition
from gateway.serialize.csdl_structured import (
    json_complex_types,
    json_structured,
    xml_complex_types,
    xml_structured,
)

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


def _facets(prop: Property | TypeDefinition, catalog: Catalog) -> dict[str, Any]:
    facets: dict[str, Any] = {}
    if prop.max_length is not None:
        facets["MaxLength"] = prop.max_length
    if prop.precision is not None:
        facets["Precision"] = prop.precision
    if prop.scale is not None:
        facets["Scale"] = prop.scale
    if isinstance(prop, Property) and prop.type == "Edm.DateTimeOffset":
        facets["Precision"] = 0
    if isinstance(prop, Property) and prop.type_definition is not None:
        # CSDL: a facet its type definition gives is not re-specified on the property.
        given = _facets(catalog.service.type_definitions[prop.type_definition], catalog)
        facets = {name: value for name, value in facets.items() if name not in given}
    return facets


def _type_name(type_name: str, catalog: Catalog) -> str:
    schema_type = catalog.is_enum(type_name) or type_name in catalog.service.type_definitions
    return catalog.qualified(type_name) if schema_type else type_name


def _declared_type(prop: Property) -> str:
    """The type a property was declared with: its type definition's name, or its primitive or enum."""
    return prop.type_definition or prop.type


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
        enum_attributes = {"Name": name, "UnderlyingType": "Edm.Int32"}
        if catalog.is_flags(name):
            enum_attributes["IsFlags"] = "true"
        enum = ET.SubElement(schema, "EnumType", enum_attributes)
        for value, member in members.items():
            ET.SubElement(enum, "Member", {"Name": member, "Value": str(value)})
    for name, definition in catalog.service.type_definitions.items():
        ET.SubElement(schema, "TypeDefinition", {"Name": name, "UnderlyingType": definition.underlying,
                                                 **{key: str(value) for key, value in _facets(definition, catalog).items()}})
    xml_complex_types(schema, catalog)
    for entity in catalog.entities.values():
        type_attributes = {"Name": entity.entity_type, **({"HasStream": "true"} if entity.media else {})}
        entity_type = ET.SubElement(schema, "EntityType", type_attributes)
        key = ET.SubElement(entity_type, "Key")
        for name in entity.key:
            ET.SubElement(key, "PropertyRef", {"Name": name})
        for prop in entity.properties.values():
            if prop.name == entity.media or prop.derived is not None:  # (media: /$value; derived: below)
                continue
            _xml_property(entity_type, prop, catalog)
        xml_structured(entity_type, entity, catalog)  # complex and collection-valued (csdl_structured.py)
        for type_name, derived in entity.derived_types.items():
            derived_element = ET.SubElement(schema, "EntityType", {
                "Name": type_name, "BaseType": catalog.qualified(entity.entity_type)})
            for name in derived.properties:
                _xml_property(derived_element, entity.properties[name], catalog)
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
    for operation in catalog.operations.values():
        _xml_operation(schema, operation, catalog)
    container = ET.SubElement(schema, "EntityContainer", {"Name": catalog.service.container})
    for entity in catalog.entities.values():
        if entity.singleton:
            entity_set = ET.SubElement(
                container, "Singleton", {"Name": entity.entity_set, "Type": catalog.qualified(entity.entity_type)}
            )
        else:
            entity_set = ET.SubElement(
                container, "EntitySet", {"Name": entity.entity_set, "EntityType": catalog.qualified(entity.entity_type)}
            )
        for nav in entity.navigation.values():
            ET.SubElement(entity_set, "NavigationPropertyBinding", {"Path": nav.name, "Target": nav.target})
        if not entity.singleton:
            for term, value in _entity_set_annotations(entity):
                entity_set.append(_xml_annotation(term, value))
    for operation in catalog.operations.values():
        if operation.binding is None:
            kind = "Function" if operation.kind == "function" else "Action"
            attributes = {"Name": operation.name, kind: catalog.qualified(operation.name)}
            if operation.returns is not None and operation.returns.entity_set is not None:
                attributes["EntitySet"] = operation.returns.entity_set
            ET.SubElement(container, kind + "Import", attributes)
    container.append(_xml_annotation(f"{CAPABILITIES}.FilterFunctions", list(FILTER_FUNCTIONS)))
    container.append(_xml_annotation(f"{CAPABILITIES}.KeyAsSegmentSupported", False))
    container.append(_xml_annotation(f"{CORE}.ODataVersions", "4.0"))
    ET.indent(root)
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body


def _operation_type(type_name: str | None, entity_set: str | None, collection: bool,
                    catalog: Catalog) -> dict[str, Any]:
    """$Type (and $Collection) of a parameter or return type, JSON-CSDL shaped."""
    if entity_set is not None:
        name = catalog.qualified(catalog.entities[entity_set].entity_type)
    else:
        assert type_name is not None
        name = _type_name(type_name, catalog)
    return {"$Collection": True, "$Type": name} if collection else {"$Type": name}


def _operation_members(operation: Operation, catalog: Catalog) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The parameters (the binding parameter first) and the return type, as JSON-CSDL members."""
    parameters: list[dict[str, Any]] = []
    if operation.binding is not None:
        binding = operation.binding
        # Named `_this`, not `bindingParameter`: python-odata attaches operations whose binding parameter
        # has that name to the entity class, and then fails to build entities reached by navigation.
        parameters.append({"$Name": "_this", "$Nullable": False,
                           **_operation_type(None, binding.entity_set, binding.collection, catalog)})
    for parameter in operation.parameters.values():
        member: dict[str, Any] = {"$Name": parameter.name,
                                  **_operation_type(parameter.type, None, parameter.collection, catalog)}
        if not parameter.nullable:
            member["$Nullable"] = False
        if parameter.type == "Edm.Decimal":
            member["$Scale"] = "variable"  # (CSDL 4.0's default scale is 0: 0.2 would round away)
        parameters.append(member)
    returns = operation.returns
    if returns is None:
        return parameters, None
    result: dict[str, Any] = _operation_type(returns.type, returns.entity_set, returns.collection, catalog)
    if not returns.nullable or returns.collection:
        result["$Nullable"] = False
    if returns.type == "Edm.Decimal":
        result["$Scale"] = "variable"
    return parameters, result


def _composable(operation: Operation) -> bool:
    """Functions returning entities take further query options and /$count (gateway/operations/)."""
    returns = operation.returns
    return operation.kind == "function" and returns is not None and returns.entity_set is not None


def _xml_operation(schema: ET.Element, operation: Operation, catalog: Catalog) -> None:
    attributes = {"Name": operation.name}
    if operation.binding is not None:
        attributes["IsBound"] = "true"
    if _composable(operation):
        attributes["IsComposable"] = "true"
    element = ET.SubElement(schema, "Function" if operation.kind == "function" else "Action", attributes)
    parameters, result = _operation_members(operation, catalog)
    for parameter in parameters:
        ET.SubElement(element, "Parameter", _xml_facets(parameter, {"Name": parameter["$Name"]}))
    if result is not None:
        ET.SubElement(element, "ReturnType", _xml_facets(result, {}))


def _xml_facets(member: dict[str, Any], attributes: dict[str, str]) -> dict[str, str]:
    """A JSON-CSDL member's facets as XML attributes ($Collection becomes Type="Collection(...)")."""
    for name, value in member.items():
        if name == "$Type" and member.get("$Collection"):
            attributes["Type"] = f"Collection({value})"
        elif name not in ("$Name", "$Collection"):
            attributes[name[1:]] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return attributes


def _xml_property(parent: ET.Element, prop: Property, catalog: Catalog) -> None:
    attributes = {"Name": prop.name, "Type": _type_name(_declared_type(prop), catalog)}
    attributes.update({name: str(value) for name, value in _facets(prop, catalog).items()})
    if not prop.nullable:
        attributes["Nullable"] = "false"
    ET.SubElement(parent, "Property", attributes)


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
def _json_property(prop: Property, catalog: Catalog) -> dict[str, Any]:
    member: dict[str, Any] = {}
    if _declared_type(prop) != "Edm.String":
        member["$Type"] = _type_name(_declared_type(prop), catalog)
    if prop.nullable:
        member["$Nullable"] = True
    member.update({f"${name}": value for name, value in _facets(prop, catalog).items()})
    return member


def metadata_json(catalog: Catalog) -> dict[str, Any]:
    namespace = catalog.service.namespace
    schema: dict[str, Any] = {}
    for name, members in catalog.service.enums.items():
        enum: dict[str, Any] = {"$Kind": "EnumType", "$UnderlyingType": "Edm.Int32"}
        if catalog.is_flags(name):
            enum["$IsFlags"] = True
        enum.update({member: value for value, member in members.items()})
        schema[name] = enum
    for name, definition in catalog.service.type_definitions.items():
        schema[name] = {"$Kind": "TypeDefinition", "$UnderlyingType": definition.underlying,
                        **{f"${key}": value for key, value in _facets(definition, catalog).items()}}
    schema.update(json_complex_types(catalog))
    for entity in catalog.entities.values():
        entity_type: dict[str, Any] = {"$Kind": "EntityType", "$Key": list(entity.key)}
        if entity.media:
            entity_type["$HasStream"] = True
        for prop in entity.properties.values():
            if prop.name == entity.media or prop.derived is not None:
                continue
            entity_type[prop.name] = _json_property(prop, catalog)
        entity_type.update(json_structured(entity, catalog))  # complex and collection-valued (csdl_structured.py)
        for type_name, derived in entity.derived_types.items():
            derived_type: dict[str, Any] = {"$Kind": "EntityType", "$BaseType": catalog.qualified(entity.entity_type)}
            derived_type.update({name: _json_property(entity.properties[name], catalog) for name in derived.properties})
            schema[type_name] = derived_type
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
    for operation in catalog.operations.values():
        overload: dict[str, Any] = {"$Kind": "Function" if operation.kind == "function" else "Action"}
        if operation.binding is not None:
            overload["$IsBound"] = True
        if _composable(operation):
            overload["$IsComposable"] = True
        parameters, result = _operation_members(operation, catalog)
        if parameters:
            overload["$Parameter"] = parameters
        if result is not None:
            overload["$ReturnType"] = result
        schema[operation.name] = [overload]
    container: dict[str, Any] = {"$Kind": "EntityContainer"}
    for entity in catalog.entities.values():
        entity_set: dict[str, Any] = {"$Type": catalog.qualified(entity.entity_type)}
        if not entity.singleton:
            entity_set = {"$Collection": True, **entity_set}
        if entity.navigation:
            entity_set["$NavigationPropertyBinding"] = {nav.name: nav.target for nav in entity.navigation.values()}
        if not entity.singleton:
            for term, value in _entity_set_annotations(entity):
                entity_set[f"@{term}"] = value
        container[entity.entity_set] = entity_set
    for operation in catalog.operations.values():
        if operation.binding is None:
            kind = "$Function" if operation.kind == "function" else "$Action"
            imported: dict[str, Any] = {kind: catalog.qualified(operation.name)}
            if operation.returns is not None and operation.returns.entity_set is not None:
                imported["$EntitySet"] = operation.returns.entity_set
            container[operation.name] = imported
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
