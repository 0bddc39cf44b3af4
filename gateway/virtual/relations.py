"""Synthetic relations: lookups from virtual tables to native Dataverse tables, by integration key.

Declared as data (`virtual-relations.yaml` in the Dataverse catalog folder), plus one generated for
every company-specific table: `mserp_fk_cdm_company_id`, the company of its `mserp_dataareaid`. The
native tables live in the Dataverse-side database, so these are followed by `$expand` only: a
second statement there per page (gateway/execute.py), never a join across databases.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from gateway.catalog.model import Catalog, Entity, Navigation
from gateway.errors import ServiceMisconfigured
from gateway.virtual.generate import VirtualCatalog
from gateway.virtual.naming import column_name

RELATIONS_FILE = "virtual-relations.yaml"
COMPANY_LOOKUP = "mserp_fk_cdm_company_id"


class Relation(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    entity: str  # the F&O entity set
    name: str  # the navigation property of its virtual table
    target: str  # the native entity set
    link: dict[str, str]  # {F&O property: native property}


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    relations: list[Relation] = []


def load_relations(folder: str | Path) -> list[Relation]:
    path = Path(folder) / RELATIONS_FILE
    if not path.exists():
        return []
    try:
        return _File.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {}).relations
    except (ValidationError, yaml.YAMLError) as error:
        raise ServiceMisconfigured(f"{path}: {error}") from None


def foreign_navigation(generated: VirtualCatalog, native: Catalog, relations: list[Relation]) -> dict[str, dict[str, Navigation]]:
    """{virtual entity set: {navigation name: navigation to a native table}}, for every virtual table."""
    by_source = {source: virtual for virtual, source in generated.source_sets.items()}
    found: dict[str, dict[str, Navigation]] = {}
    company = _company_table(native)
    for virtual_set, entity in generated.catalog.entities.items():
        if company is not None and entity.company_specific:
            company_set, code = company
            link = {generated.catalog.service.company_property: code}
            found.setdefault(virtual_set, {})[COMPANY_LOOKUP] = Navigation(name=COMPANY_LOOKUP, target=company_set,
                                                                          link=link)
    for relation in relations:
        source_set = by_source.get(relation.entity)
        target = native.entities.get(relation.target)
        if source_set is None or target is None:
            raise ServiceMisconfigured(f"{RELATIONS_FILE}: {relation.entity} or {relation.target} is not an entity set")
        entity = generated.catalog.entities[source_set]
        link = {column_name(mine): theirs for mine, theirs in relation.link.items()}
        unknown = [name for name in link if name not in entity.properties] + \
                  [name for name in link.values() if not _reaches(native, target, name)]
        if unknown or relation.name in entity.navigation or relation.name in entity.properties:
            raise ServiceMisconfigured(f"{RELATIONS_FILE}: {relation.name}: unknown or taken names {unknown or [relation.name]}")
        found.setdefault(source_set, {})[relation.name] = Navigation(name=relation.name, target=relation.target,
                                                                      link=link)
    return found


def _reaches(native: Catalog, target: Entity, name: str) -> bool:
    """A property of the target, or `Nav/Property` through one of its single-valued navigations."""
    if "/" not in name:
        return name in target.properties
    nav_name, prop = name.split("/", 1)
    nav = target.navigation.get(nav_name)
    return nav is not None and not nav.collection and prop in native.entities[nav.target].properties


def _company_table(native: Catalog) -> tuple[str, str] | None:
    """The native companies table and its company code property (cdm_companies, cdm_companycode)."""
    code = native.service.company_code
    if code is None:
        return None
    for entity in native.entities.values():
        if code in entity.properties:
            return entity.entity_set, code
    return None


def reverse_navigation(foreign: dict[str, dict[str, Navigation]]) -> dict[str, dict[str, Navigation]]:
    """The other side of each lookup: {native entity set: {name: collection of virtual rows}}, named
    after the virtual table (and the lookup, when one table has two to the same native table).
    Links through the native table's own lookup (Nav/Property) have no other side here."""
    found: dict[str, dict[str, Navigation]] = {}
    for virtual_set, navigation in foreign.items():
        targets = [nav.target for nav in navigation.values()]
        for nav in navigation.values():
            if any("/" in theirs for theirs in nav.link.values()):
                continue
            name = virtual_set if targets.count(nav.target) == 1 else f"{virtual_set}_{nav.name}"
            link = {theirs: mine for mine, theirs in nav.link.items()}
            found.setdefault(nav.target, {})[name] = Navigation(name=name, target=virtual_set, collection=True,
                                                                link=link)
    return found
