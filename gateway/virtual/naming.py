"""How F&O's provider names a virtual table and its columns: `mserp_` + the physical name lower-cased."""

from __future__ import annotations

import hashlib

from gateway.catalog.model import Entity

PREFIX = "mserp_"
PRIMARY_FIELD = "mserp_primaryfield"  # the key fields as text joined with '|'
PRIMARY_FIELD_LENGTH = 255


def physical_name(entity: Entity) -> str:
    """The entity's AOT name (CustCustomerV3Entity); catalogs that do not say get the type + 'Entity'."""
    return entity.physical_name or entity.entity_type + "Entity"


def table_name(entity: Entity) -> str:
    """mserp_custcustomerv3entity: the table's logical name (its entity type in OData terms)."""
    return PREFIX + physical_name(entity).lower()


def entity_set_name(entity: Entity) -> str:
    """mserp_custcustomerv3entities: the table's entity set, pluralized as Dataverse does."""
    return plural(table_name(entity))


def plural(name: str) -> str:
    if name.endswith("y") and name[-2:-1] not in ("a", "e", "i", "o", "u"):
        return name[:-1] + "ies"
    if name.endswith(("s", "x", "z", "ch", "sh")):
        return name + "es"
    return name + "s"


def column_name(property_name: str) -> str:
    """mserp_customeraccount for CustomerAccount (dataAreaId becomes mserp_dataareaid)."""
    return PREFIX + property_name.lower()


def key_name(entity: Entity) -> str:
    """mserp_custcustomerv3entityid: the Guid primary key."""
    return table_name(entity) + "id"


def entity_number(entity: Entity) -> int:
    """A 32-bit number for the entity, the first 4 bytes of its rows' Guids. F&O uses the entity's
    table id; a hash of the physical name is as stable (across restarts, refreshes and machines)
    and needs no registry. Never 0, so no virtual Guid is the nil Guid."""
    number = int.from_bytes(hashlib.sha256(physical_name(entity).encode()).digest()[:4], "big")
    return number or 1
