"""The F&O catalog as Dataverse virtual tables: same physical tables, Dataverse names and types.

Each F&O entity becomes one virtual table whose sources are the entity's own tables, so a virtual
table's request plans into the same single SQL statement over the F&O tables as /data's does (no
view, no copy). What changes is the shape DOMAIN.md §5 gives it:
- names: `mserp_` + the physical name / field name lower-cased;
- the key: a Guid from the entity number and the root table's RECID (rowguid.py), plus
  `mserp_primaryfield`, the key fields joined with '|'; the F&O key stays usable as an alternate key
  (F&O's provider has none; Dataverse clients address rows by it all the same);
- enums: option sets (integers labelled with the member names, the FormattedValue annotation);
- navigation: n:1 as the lookup `mserp_fk_<target>_id`, 1:n as `mserp_FK_<source>_<relation>`.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.catalog.model import Catalog, Entity, LookupSpec, Navigation, Property, Service
from gateway.virtual.naming import (
    PRIMARY_FIELD,
    PRIMARY_FIELD_LENGTH,
    column_name,
    entity_number,
    entity_set_name,
    key_name,
    physical_name,
    table_name,
)

NAMESPACE = "Microsoft.Dynamics.CRM"


@dataclass(frozen=True)
class VirtualCatalog:
    """Every F&O entity as a virtual table (visible or not), and the way back to the F&O names."""

    catalog: Catalog  # by virtual entity set name
    source_sets: dict[str, str]  # virtual entity set -> F&O entity set
    source_names: dict[str, dict[str, str]]  # virtual entity set -> {virtual property: F&O property}

    def only(self, visible: frozenset[str]) -> Catalog:
        """The catalog of the visible tables, with navigation only between visible ones."""
        entities = {}
        for name, entity in self.catalog.entities.items():
            if name not in visible:
                continue
            navigation = {nav_name: nav for nav_name, nav in entity.navigation.items() if nav.target in visible}
            if len(navigation) == len(entity.navigation):
                entities[name] = entity
                continue
            hidden = {lookup_value_name(nav_name) for nav_name in entity.navigation if nav_name not in navigation}
            properties = {prop_name: prop for prop_name, prop in entity.properties.items() if prop_name not in hidden}
            entities[name] = entity.model_copy(update={"navigation": navigation, "properties": properties})
        return self.catalog.model_copy(update={"entities": entities})


def virtual_catalog(fno: Catalog) -> VirtualCatalog:
    service = Service(
        namespace=NAMESPACE,
        container="System",
        company_property=column_name(fno.service.company_property),
        companies=fno.service.companies,
        sequences=fno.service.sequences,
        row_id=fno.service.row_id,
        row_version=fno.service.row_version,
    )
    sets = {entity.entity_set: entity_set_name(entity) for entity in fno.entities.values()}
    entities: dict[str, Entity] = {}
    source_names: dict[str, dict[str, str]] = {}
    for entity in fno.entities.values():
        virtual = _virtual_entity(fno, entity, sets)
        entities[virtual.entity_set] = virtual
        source_names[virtual.entity_set] = {column_name(name): name for name in entity.properties}
    catalog = Catalog(service=service, entities=entities, folder=fno.folder)
    return VirtualCatalog(catalog, {virtual: source for source, virtual in sets.items()}, source_names)


def _virtual_entity(fno: Catalog, entity: Entity, sets: dict[str, str]) -> Entity:
    root = entity.sources[0]
    key = key_name(entity)
    properties: dict[str, Property] = {
        key: Property(name=key, column=f"{root.alias}.{fno.service.row_id}", type="Edm.Guid",
                      row_guid=entity_number(entity), read_only=True),
        PRIMARY_FIELD: Property(name=PRIMARY_FIELD, column=entity.properties[entity.key[0]].column, type="Edm.String",
                                max_length=PRIMARY_FIELD_LENGTH, read_only=True,
                                joined=[entity.properties[name].column for name in entity.key]),
    }
    for name, prop in entity.properties.items():
        renamed = column_name(name)
        if renamed in properties:
            raise ValueError(f"{entity.entity_set}: {name} and another property are both {renamed} as virtual columns")
        properties[renamed] = _virtual_property(fno, prop, renamed)
    for nav_name, lookup in _lookup_values(fno, entity).items():  # `_mserp_fk_x_id_value`: the row's Guid
        properties[lookup_value_name(nav_name)] = lookup
    return Entity(
        entity_set=sets[entity.entity_set],
        entity_type=table_name(entity),
        company_specific=entity.company_specific,
        sources=entity.sources,
        key=[key],
        properties=properties,
        navigation=_navigation(fno, entity, sets),
        searchable=[column_name(name) for name in entity.searchable],
        writable=entity.writable,
        alternate_keys=[[column_name(name) for name in entity.key]],
        sort_key=[column_name(name) for name in entity.key],
        skip=False,
        primary_name=PRIMARY_FIELD,
        physical_name=physical_name(entity),
        label=entity.label or entity.entity_set,
    )


def _virtual_property(fno: Catalog, prop: Property, name: str) -> Property:
    """The same column; an enum becomes an option set (its integer, labelled with the member name)."""
    if not fno.is_enum(prop.type):
        return prop.model_copy(update={"name": name})
    members = fno.service.enums[prop.type]
    default = prop.default
    if isinstance(default, str):  # an enum default is written by member name
        default = {member: value for value, member in members.items()}.get(default, default)
    return prop.model_copy(update={"name": name, "type": "Edm.Int32", "labels": dict(members), "default": default})


def lookup_value_name(navigation: str) -> str:
    """A lookup's value column, as Dataverse's Web API names it: `_mserp_fk_x_id_value`."""
    return f"_{navigation}_value"


def _lookup_values(fno: Catalog, entity: Entity) -> dict[str, Property]:
    """Each n:1 lookup's value: the Guid of the related row, from its root table's RECID, when the
    link's columns on the related side are all on that root table (else the lookup has none)."""
    found: dict[str, Property] = {}
    for nav in entity.navigation.values():
        if nav.collection:
            continue
        target = fno.entities[nav.target]
        root = target.sources[0]
        theirs = [target.properties[other] for other in nav.link.values()]
        if any(prop.alias != root.alias for prop in theirs):
            continue
        name = _navigation_name(fno, entity, nav)
        match = {prop.column_name: entity.properties[mine].column for mine, prop in zip(nav.link, theirs)}
        found[name] = Property(name=lookup_value_name(name), column=next(iter(match.values())), type="Edm.Guid",
                               nullable=True, read_only=True, row_guid=entity_number(target),
                               lookup=LookupSpec(table=root.table, row_id=fno.service.row_id, match=match))
    return found


def _navigation(fno: Catalog, entity: Entity, sets: dict[str, str]) -> dict[str, Navigation]:
    navigation: dict[str, Navigation] = {}
    for nav in entity.navigation.values():
        name = _navigation_name(fno, entity, nav)
        link = {column_name(mine): column_name(theirs) for mine, theirs in nav.link.items()}
        navigation[name] = Navigation(name=name, target=sets[nav.target], collection=nav.collection, link=link)
    return navigation


def _navigation_name(fno: Catalog, entity: Entity, nav: Navigation) -> str:
    """Lookups (n:1) named after their target, relationships (1:n) after their source and name."""
    if nav.collection:
        return f"mserp_FK_{physical_name(entity)}_{nav.name}"
    target = physical_name(fno.entities[nav.target]).lower()
    lookups_to_target = sum(1 for other in entity.navigation.values() if not other.collection and other.target == nav.target)
    if lookups_to_target > 1:  # two lookups to one table: the relation tells them apart
        return f"mserp_fk_{target}_{nav.name.lower()}_id"
    return f"mserp_fk_{target}_id"
