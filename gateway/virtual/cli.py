"""`fno-gateway virtual list|enable|disable|refresh`: the available F&O entities table from a shell.

The same table a client PATCHes at /api/data/v9.2/mserp_financeandoperationsentities, so a running
gateway serves the change within a second (every worker re-reads the table at most once a second).
"""

from __future__ import annotations

import argparse
import sys

from gateway.catalog.load import load_catalog
from gateway.catalog.model import Catalog
from gateway.dataverse.schema import create_store
from gateway.db import make_engine
from gateway.errors import ServiceMisconfigured
from gateway.settings import Settings, dataverse_db_url
from gateway.virtual.available import AvailableTable, ensure_rows, with_available_table
from gateway.virtual.naming import entity_set_name, physical_name, table_name

ACTIONS = (
    ("list", "every F&O entity, its virtual table and whether it is visible"),
    ("enable", "make virtual tables visible (physical names, /data entity sets or table names; 'all')"),
    ("disable", "hide virtual tables again"),
    ("refresh", "re-read the F&O catalog: new entities are listed, gone ones removed, new properties served"),
)


def add_commands(commands: argparse._SubParsersAction, add_settings: object) -> None:  # type: ignore[type-arg]
    virtual = commands.add_parser("virtual", help="Dataverse virtual tables: list, enable, disable, refresh")
    actions = virtual.add_subparsers(dest="action", required=True)
    for action, text in ACTIONS:
        sub = actions.add_parser(action, help=text, description=text)
        if action in ("enable", "disable"):
            sub.add_argument("names", nargs="+", metavar="NAME", help="e.g. CustCustomerV3Entity or CustomersV3")
        add_settings(sub)  # type: ignore[operator]


def open_table(settings: Settings) -> tuple[Catalog, AvailableTable]:
    """The F&O catalog and the available entities table of the settings' Dataverse side."""
    fno = load_catalog(settings.entities)
    url = dataverse_db_url(settings)
    if not url:
        raise ServiceMisconfigured("virtual tables live on the Dataverse side: give --dataverse-db")
    dataverse = with_available_table(load_catalog(settings.dataverse_entities))
    engine = make_engine(url)
    create_store(engine, dataverse)
    return fno, AvailableTable(engine, dataverse)


def enable_all(settings: Settings) -> None:
    fno, table = open_table(settings)
    ensure_rows(table, fno)
    table.set_visible(resolve_names(fno, ["all"]), True)


def run(arguments: argparse.Namespace, settings: Settings) -> int:
    fno, table = open_table(settings)
    if arguments.action == "refresh":
        added, removed = table.refresh(fno)
        print(f"refreshed {len(fno.entities)} entities; added: {', '.join(added) or 'none'}; "
              f"removed: {', '.join(removed) or 'none'}")
        return 0
    ensure_rows(table, fno)
    if arguments.action in ("enable", "disable"):
        names = resolve_names(fno, arguments.names)
        table.set_visible(names, arguments.action == "enable")
        print(f"{'enabled' if arguments.action == 'enable' else 'disabled'}: {', '.join(names)}")
        return 0
    entities = {physical_name(entity): entity for entity in fno.entities.values()}
    print(f"{'physical name':40} {'/data entity set':28} {'virtual entity set':48} visible")
    for row in table.rows():
        entity = entities.get(row.physical_name)
        virtual_set = entity_set_name(entity) if entity is not None else "?"
        print(f"{row.physical_name:40} {row.entity_name:28} {virtual_set:48} {'yes' if row.visible else 'no'}")
    return 0


def resolve_names(fno: Catalog, names: list[str]) -> list[str]:
    """Physical names of the entities named by physical name, /data entity set or virtual table name
    (case-insensitive); 'all' names every entity. An unknown name stops with the names there are."""
    every = {physical_name(entity): entity for entity in fno.entities.values()}
    if [name.lower() for name in names] == ["all"]:
        return sorted(every)
    by_any: dict[str, str] = {}
    for physical, entity in every.items():
        for alias in (physical, entity.entity_set, table_name(entity), entity_set_name(entity)):
            by_any[alias.lower()] = physical
    chosen: list[str] = []
    for name in names:
        found = by_any.get(name.lower())
        if found is None:
            print(f"fno-gateway: no F&O entity '{name}' (entities: {', '.join(sorted(every))})", file=sys.stderr)
            raise SystemExit(2)
        if found not in chosen:
            chosen.append(found)
    return chosen
