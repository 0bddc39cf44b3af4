"""Change capture: triggers on every mapped table append to DUALWRITECHANGES in the writer's own
transaction, so a change made by any application (plain SQL included) is recorded exactly when it
commits, and never when it rolls back.

A trigger records the table, the operation, the row id and, as JSON, the row's key columns (for
a delete, their last values: the processor needs them to find the row on the other side). It
records nothing inside the gateway's own transactions (DUALWRITESUPPRESS has a row there). On
PostgreSQL it also takes a transaction-level advisory lock, so that change-log order is commit order.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine

from gateway.catalog.model import Catalog, Entity, Source
from gateway.dualwrite.maps import MapSet, Side, TableMap
from gateway.dualwrite.store import changes, suppress

ADVISORY_LOCK = 746_230_117  # one number for "a transaction is writing the change log" (dialects.py too)


@dataclass(frozen=True)
class CapturedTable:
    table: str
    row_id: str
    key_columns: tuple[str, ...]  # captured as JSON: what finds the entity (and its integration key)
    value_columns: tuple[str, ...] = ()  # an update lists which of these it changed


def captured_tables(map_set: MapSet, side: Side) -> list[CapturedTable]:
    """Every physical table behind the `side` entities of the maps that flow from that side."""
    catalog = map_set.catalog(side)
    found: dict[str, set[str]] = {}
    values: dict[str, set[str]] = {}
    row_ids: dict[str, str] = {}
    for table_map in map_set.maps.values():
        if side == "dv" and table_map.direction == "to_dv":
            continue
        entity = catalog.entities[table_map.entity_set(side)]
        for index, source in enumerate(entity.sources):
            row_ids[source.table] = catalog.row_id(entity, source)
            columns = found.setdefault(source.table, set())
            values.setdefault(source.table, set()).update(
                prop.column_name for prop in entity.properties.values() if prop.alias == source.alias)
            values[source.table].update(link_columns(entity, source.alias))
            if index == 0:
                columns.update(_key_columns(catalog, entity, source, table_map, side))
                if any(entity.properties[name].alias != source.alias for name in entity.key):
                    # Part of the key lives in joined tables: a deleted row's links (HIERARCHYTYPE,
                    # CHILDORGANIZATION) are what find it there once the row itself is gone.
                    columns.update(link_columns(entity, source.alias))
    return [CapturedTable(table, row_ids[table], tuple(sorted(columns)), tuple(sorted(values[table])))
            for table, columns in sorted(found.items())]


def link_columns(entity: Entity, alias: str) -> set[str]:
    """Columns of one of the entity's tables that join it to another (PARTY, PRIMARYADDRESS): changing
    one changes what the entity shows, though no property maps to it."""
    columns: set[str] = set()
    for source in entity.sources:
        for mine, reference in source.link.items():
            other_alias, theirs = reference.split(".", 1)
            if source.alias == alias:
                columns.add(mine)
            if other_alias == alias:
                columns.add(theirs)
    return columns


def _key_columns(catalog: Catalog, entity: Entity, source: Source, table_map: TableMap, side: Side) -> set[str]:
    names = set(entity.key)
    for field in table_map.key_fields:
        if side == "fo" and field.fo is not None:
            names.add(field.fo)
        elif side == "dv" and field.dv is not None:
            lookup = field.lookup
            if lookup is None:
                names.add(field.dv)
            else:
                names.update(entity.navigation[lookup[0]].link)
    return {entity.properties[name].column_name for name in names if entity.properties[name].alias == source.alias}


def install_capture(engine: Engine, tables: list[CapturedTable]) -> None:
    """Create (or re-create) the capture triggers of `tables`."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":  # workers starting together install one at a time
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK + 1})")
        for table in tables:
            for statement in _TRIGGERS[engine.dialect.name](connection, table):
                connection.exec_driver_sql(statement)


def remove_capture(engine: Engine, tables: list[CapturedTable]) -> None:
    with engine.begin() as connection:
        for table in tables:
            for statement in _DROPS[engine.dialect.name](connection, table):
                connection.exec_driver_sql(statement)


def _names(connection: Connection, table: CapturedTable) -> tuple[str, str, str, str]:
    quote = connection.dialect.identifier_preparer.quote
    return quote(table.table), quote(changes.name), quote(suppress.name), f"dw_capture_{table.table.lower()}"


def _sqlite(connection: Connection, table: CapturedTable) -> list[str]:
    quote = connection.dialect.identifier_preparer.quote
    target, log, skip, stem = _names(connection, table)
    columns = ", ".join(quote(name) for name in ("TABLENAME", "OP", "ROWID", "KEYDATA", "CHANGED", "CREATEDAT"))
    changed = "json_array(" + ", ".join(
        f"CASE WHEN OLD.{quote(name)} IS NOT NEW.{quote(name)} THEN '{name}' END" for name in table.value_columns
    ) + ")"
    statements = []
    for operation, row in (("I", "NEW"), ("U", "NEW"), ("D", "OLD")):
        keydata = ", ".join(f"'{name}', {row}.{quote(name)}" for name in table.key_columns)
        event = {"I": "INSERT", "U": "UPDATE", "D": "DELETE"}[operation]
        statements.append(f"DROP TRIGGER IF EXISTS {stem}_{operation.lower()}")
        statements.append(
            f"CREATE TRIGGER {stem}_{operation.lower()} AFTER {event} ON {target} "
            f"WHEN NOT EXISTS (SELECT 1 FROM {skip}) BEGIN "
            f"INSERT INTO {log} ({columns}) VALUES ('{table.table}', '{operation}', "
            f"CAST({row}.{quote(table.row_id)} AS TEXT), json_object({keydata}), "
            f"{changed if operation == 'U' else 'NULL'}, strftime('%Y-%m-%d %H:%M:%f', 'now')); END"
        )
    return statements


def _sqlite_drop(connection: Connection, table: CapturedTable) -> list[str]:
    stem = _names(connection, table)[3]
    return [f"DROP TRIGGER IF EXISTS {stem}_{operation}" for operation in ("i", "u", "d")]


def _postgresql(connection: Connection, table: CapturedTable) -> list[str]:
    quote = connection.dialect.identifier_preparer.quote
    target, log, skip, stem = _names(connection, table)
    columns = ", ".join(quote(name) for name in ("TABLENAME", "OP", "ROWID", "KEYDATA", "CHANGED", "CREATEDAT"))
    changed = "CASE WHEN TG_OP = 'UPDATE' THEN json_build_array(" + ", ".join(
        f"CASE WHEN OLD.{quote(name)} IS DISTINCT FROM NEW.{quote(name)} THEN '{name}' END"
        for name in table.value_columns
    ) + ")::text END"

    def insert(row: str, operation: str) -> str:
        keydata = ", ".join(f"'{name}', {row}.{quote(name)}" for name in table.key_columns)
        return (f"INSERT INTO {log} ({columns}) VALUES ('{table.table}', {operation}, {row}.{quote(table.row_id)}::text, "
                f"json_build_object({keydata})::text, {changed if row == 'NEW' else 'NULL'}, "
                "now() AT TIME ZONE 'utc');")

    return [
        f"""CREATE OR REPLACE FUNCTION {stem}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM {skip}) THEN RETURN NULL; END IF;
  PERFORM pg_advisory_xact_lock({ADVISORY_LOCK});  -- log order is commit order
  IF TG_OP = 'DELETE' THEN {insert('OLD', "'D'")}
  ELSE {insert('NEW', 'substr(TG_OP, 1, 1)')}
  END IF;
  RETURN NULL;
END $$""",
        f"DROP TRIGGER IF EXISTS {stem} ON {target}",
        f"CREATE TRIGGER {stem} AFTER INSERT OR UPDATE OR DELETE ON {target} FOR EACH ROW EXECUTE FUNCTION {stem}()",
    ]


def _postgresql_drop(connection: Connection, table: CapturedTable) -> list[str]:
    target, _, _, stem = _names(connection, table)
    return [f"DROP TRIGGER IF EXISTS {stem} ON {target}", f"DROP FUNCTION IF EXISTS {stem}()"]


_TRIGGERS = {"sqlite": _sqlite, "postgresql": _postgresql}
CAPTURE_DIALECTS = tuple(_TRIGGERS)
_DROPS = {"sqlite": _sqlite_drop, "postgresql": _postgresql_drop}
