"""EntityMetadata and AttributeMetadata of the Dataverse-side tables, made from their catalog.

Power Apps and the Dataverse SDKs discover tables and columns through `EntityDefinitions` before any
data call. The catalog is the schema of the store (gateway/dataverse/schema.py), so it is also the
truth for these definitions: nothing here is stored. Ids are uuid5 values of the logical names, so a
definition keeps its MetadataId across starts, workers and machines, as Dataverse's own do.
"""

from __future__ import annotations

import uuid
from typing import Any

from gateway.catalog.model import Catalog, Entity, Navigation, Property

# Every MetadataId hangs off this namespace: uuid5(NAMESPACE_URL, "fno-gateway:metadata").
METADATA_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "fno-gateway:metadata")
LANGUAGE_CODE = 1033  # the labels we have are the catalog's names, which are English

# Dataverse's AttributeTypeCode by Edm type: (AttributeType, the @odata.type's metadata class).
_BY_EDM = {
    "Edm.String": ("String", "StringAttributeMetadata"),
    "Edm.Int32": ("Integer", "IntegerAttributeMetadata"),
    "Edm.Int64": ("BigInt", "BigIntAttributeMetadata"),
    "Edm.Decimal": ("Decimal", "DecimalAttributeMetadata"),
    "Edm.Double": ("Double", "DoubleAttributeMetadata"),
    "Edm.Boolean": ("Boolean", "BooleanAttributeMetadata"),
    "Edm.Date": ("DateTime", "DateTimeAttributeMetadata"),
    "Edm.DateTimeOffset": ("DateTime", "DateTimeAttributeMetadata"),
    "Edm.TimeOfDay": ("String", "StringAttributeMetadata"),
    "Edm.Guid": ("Uniqueidentifier", "UniqueIdentifierAttributeMetadata"),
}
_MEMO_LENGTH = 4000  # Dataverse: longer text columns are Memo, not String


def entity_metadata_id(entity: Entity) -> str:
    return str(uuid.uuid5(METADATA_NAMESPACE, "entity:" + entity.entity_type))


def attribute_metadata_id(entity: Entity, logical_name: str) -> str:
    return str(uuid.uuid5(METADATA_NAMESPACE, f"attribute:{entity.entity_type}.{logical_name}"))


def schema_name(logical_name: str) -> str:
    """Dataverse's SchemaName: system tables and columns are capitalized (Account); names with a
    publisher prefix (msdyn_, cdm_) keep it as is, since the catalog does not record their casing."""
    return logical_name if "_" in logical_name else logical_name[:1].upper() + logical_name[1:]


def label(text: str | None) -> dict[str, Any]:
    """A Label complex value; the catalog has no display names, so it is empty unless given."""
    if not text:
        return {"LocalizedLabels": [], "UserLocalizedLabel": None}
    localized = {"Label": text, "LanguageCode": LANGUAGE_CODE}
    return {"LocalizedLabels": [localized], "UserLocalizedLabel": localized}


def entity_definition(entity: Entity) -> dict[str, Any]:
    """One EntityMetadata: the properties a client needs to address the table and its columns."""
    return {
        "MetadataId": entity_metadata_id(entity),
        "LogicalName": entity.entity_type,
        "SchemaName": schema_name(entity.entity_type),
        "EntitySetName": entity.entity_set,
        "LogicalCollectionName": entity.entity_set,
        "CollectionSchemaName": schema_name(entity.entity_set),
        "PrimaryIdAttribute": entity.key[0],
        "PrimaryNameAttribute": entity.primary_name,
        "DisplayName": label(None),
        "DisplayCollectionName": label(None),
        "IsCustomEntity": False,
        "IsActivity": False,
        "IsValidForAdvancedFind": True,
        "OwnershipType": "OrganizationOwned",
        "ChangeTrackingEnabled": False,
        "IsReadOnlyInMobileClient": not entity.writable,
    }


def lookups(entity: Entity) -> dict[str, Navigation]:
    """The `_x_value` properties that are lookups, with their single-valued navigation `x`."""
    found: dict[str, Navigation] = {}
    for name, nav in entity.navigation.items():
        prop = f"_{name}_value"
        if not nav.collection and prop in entity.properties and list(nav.link) == [prop]:
            found[prop] = nav
    return found


def attribute_definitions(catalog: Catalog, entity: Entity, visible: set[str]) -> list[dict[str, Any]]:
    """Every column's AttributeMetadata; lookups under their column name (msdyn_company, not
    _msdyn_company_value) with the tables they point at (`visible` limits Targets to tables the
    caller may read)."""
    found = lookups(entity)
    attributes = []
    for name, prop in entity.properties.items():
        nav = found.get(name)
        logical = nav.name if nav is not None else name
        attributes.append(_attribute(catalog, entity, prop, logical, nav, visible))
    return attributes


def _attribute(catalog: Catalog, entity: Entity, prop: Property, logical: str, nav: Navigation | None,
               visible: set[str]) -> dict[str, Any]:
    attribute_type, metadata_class = _type_of(catalog, prop, nav)
    is_key = prop.name == entity.key[0]
    writable = entity.writable and not prop.read_only
    required = "SystemRequired" if is_key else "ApplicationRequired" if prop.required else "None"
    body: dict[str, Any] = {
        "@odata.type": "#Microsoft.Dynamics.CRM." + metadata_class,
        "MetadataId": attribute_metadata_id(entity, logical),
        "LogicalName": logical,
        "SchemaName": schema_name(logical),
        "EntityLogicalName": entity.entity_type,
        "AttributeType": attribute_type,
        "AttributeTypeName": {"Value": attribute_type + "Type"},
        "AttributeOf": None,
        "DisplayName": label(None),
        "IsPrimaryId": is_key,
        "IsPrimaryName": prop.name == entity.primary_name,
        "IsValidForRead": True,
        "IsValidForCreate": writable,
        "IsValidForUpdate": writable and not is_key,
        "IsCustomAttribute": False,
        "RequiredLevel": {"Value": required, "CanBeChanged": not is_key,
                          "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings"},
    }
    if attribute_type in ("String", "Memo"):
        body["MaxLength"] = prop.max_length
    if attribute_type == "Decimal":
        body["Precision"] = prop.scale
    if nav is not None:
        target = catalog.entities[nav.target]
        body["Targets"] = [target.entity_type] if nav.target in visible else []
    return body


def _type_of(catalog: Catalog, prop: Property, nav: Navigation | None) -> tuple[str, str]:
    if nav is not None:
        return "Lookup", "LookupAttributeMetadata"
    if prop.labels or catalog.is_enum(prop.type):
        if prop.type == "Edm.Boolean":
            return "Boolean", "BooleanAttributeMetadata"
        if prop.name == "statecode":
            return "State", "StateAttributeMetadata"
        if prop.name == "statuscode":
            return "Status", "StatusAttributeMetadata"
        return "Picklist", "PicklistAttributeMetadata"
    if prop.type == "Edm.String" and (prop.max_length is None or prop.max_length > _MEMO_LENGTH):
        return "Memo", "MemoAttributeMetadata"
    return _BY_EDM.get(prop.type, ("String", "StringAttributeMetadata"))
