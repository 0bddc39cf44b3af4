"""Initial sync in bulk: a batch of source rows costs a handful of statements, not several per row.

For a batch: every row is converted (lookups are cached), the target rows that already exist are
found with one query over the integration keys, new rows go in with one multi-row INSERT, and only
rows whose values differ are updated (one UPDATE each). Dataverse-side targets only: each is one
table with a Guid key, which is what initial sync (F&O → Dataverse) writes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, and_, insert, select
from sqlalchemy.exc import DBAPIError

from gateway.catalog.model import Entity
from gateway.dataverse.schema import store_metadata
from gateway.dualwrite.apply import Converter, LookupCache, RowSync, SyncError, changed_values
from gateway.dualwrite.maps import Side, TableMap
from gateway.dualwrite.rows import Endpoint, Values, key_groups
from gateway.errors import ODataError
from gateway.plan.keys import Fixed
from gateway.write.entity import NOW, EntityWriter
from gateway.write.unit import WriteUnit


def bulk_applicable(endpoint: Endpoint, entity: Entity) -> bool:
    return endpoint.catalog.service.row_ids == "guid" and len(entity.sources) == 1


def apply_batch(sync: RowSync, table_map: TableMap, towards: Side, sources: list[Values], source: Connection,
                target: WriteUnit, cache: LookupCache) -> list[tuple[str, str | None]]:
    """(outcome, reason) per source row: create, update, none or failed.

    A map with a lookup into its own table (a category's parent category) goes in waves: rows whose
    lookups name rows of this batch that are not written yet are converted again once the others
    are in, until a wave resolves nothing more (the batch may list children before parents)."""
    outcomes: list[tuple[str, str | None]] = [("pending", None)] * len(sources)
    waiting = list(range(len(sources)))
    waves = _refers_to_itself(sync, table_map, towards)
    while True:
        unresolved = _apply_wave(sync, table_map, towards, sources, waiting, source, target, cache, outcomes)
        if not waves or not unresolved or len(unresolved) == len(waiting):
            return outcomes
        waiting = unresolved


def _refers_to_itself(sync: RowSync, table_map: TableMap, towards: Side) -> bool:
    if towards != "dv":
        return False
    navigations = sync.endpoint("dv").entity(table_map.dv).navigation
    return any(field.lookup is not None and navigations[field.lookup[0]].target == table_map.dv
               for field in table_map.fields)


def _apply_wave(sync: RowSync, table_map: TableMap, towards: Side, sources: list[Values], waiting: list[int],
                source: Connection, target: WriteUnit, cache: LookupCache,
                outcomes: list[tuple[str, str | None]]) -> list[int]:
    """Apply the `waiting` rows; returns those that could not be converted (their lookups failed)."""
    endpoint = sync.endpoint(towards)
    entity = endpoint.entity(table_map.entity_set(towards))
    converter = Converter(sync, table_map, towards, source, target.connection, cache)
    converted: list[tuple[int, Fixed, Values]] = []
    unresolved: list[int] = []
    for index in waiting:
        row = sources[index]
        try:
            key = converter.key(row)
            if key is None:
                raise SyncError(table_map, towards, converter.unresolved_key())
            converted.append((index, key, {**converter.values(row, None), **dict(key)}))
            outcomes[index] = ("pending", None)
        except SyncError as error:
            outcomes[index] = ("failed", error.reason)
            unresolved.append(index)
        except ODataError as error:
            outcomes[index] = ("failed", SyncError(table_map, towards, error.message).reason)
            unresolved.append(index)
    if not converted:
        return unresolved
    names = [name for name, _ in converted[0][1]]
    existing = _existing(endpoint, entity, target.connection, names, [key for _, key, _ in converted])
    creates: list[tuple[int, Values]] = []
    writer = EntityWriter(target, endpoint.context(), entity)
    seen: set[tuple[Any, ...]] = set()
    for index, key, values in converted:
        identity = tuple(value for _, value in key)
        current = existing.get(identity)
        if current is None:
            if identity in seen:  # the same integration key twice in one batch: the first one wins
                outcomes[index] = ("failed", f"integration key {dict(key)} appears twice")
                continue
            seen.add(identity)
            creates.append((index, values))
            continue
        changed = changed_values(entity, values, current)
        if not changed:
            outcomes[index] = ("none", None)
            continue
        own_key = tuple((name, current[name]) for name in entity.key)
        try:
            writer.update(own_key, changed, None, replace=False)
            outcomes[index] = ("update", None)
        except ODataError as error:
            outcomes[index] = ("failed", error.message)
    for index, reason in _insert(endpoint, entity, target, creates):
        outcomes[index] = ("failed", reason) if reason else ("create", None)
    return unresolved


def _existing(endpoint: Endpoint, entity: Entity, connection: Connection, names: list[str],
              keys: list[Fixed]) -> dict[tuple[Any, ...], Values]:
    """The target rows whose integration keys are among `keys`, by key values."""
    source = entity.sources[0]
    # Typed columns: a key value is bound (and read back) as its type, so a date-time in an integration
    # key matches its stored text on SQLite.
    physical = store_metadata(endpoint.catalog).tables[source.table]
    key_columns = [physical.c[entity.properties[name].column_name] for name in names]
    statement = select(*(physical.c[prop.column_name].label(name) for name, prop in entity.properties.items()))
    found: dict[tuple[Any, ...], Values] = {}
    for prefix, lasts in key_groups(tuple(value for _, value in key) for key in keys):
        condition = and_(*(column == value for column, value in zip(key_columns, prefix)), key_columns[-1].in_(lasts))
        for row in connection.execute(statement.where(condition)):
            values = dict(row._mapping)
            found[tuple(values[name] for name in names)] = values
    return found


def _insert(endpoint: Endpoint, entity: Entity, target: WriteUnit,
            creates: list[tuple[int, Values]]) -> Iterable[tuple[int, str | None]]:
    """One multi-row INSERT; if the database refuses it, row by row to find the refused ones."""
    if not creates:
        return []
    catalog = endpoint.catalog
    source = entity.sources[0]
    key_name = entity.key[0]
    rows: list[dict[str, Any]] = []
    results: list[tuple[int, str | None]] = []
    for index, values in creates:
        missing = [prop.name for prop in entity.properties.values()
                   if prop.required and values.get(prop.name) in (None, "")]
        if missing:
            results.append((index, f"{missing[0]} is required"))
            continue
        row = {prop.column_name: values.get(name) for name, prop in entity.properties.items() if not prop.read_only}
        for column_name, value in source.defaults.items():
            row[column_name] = target.now if value == NOW else value
        row[entity.properties[key_name].column_name] = str(uuid.uuid4())
        row[catalog.service.row_version] = 1
        for prop in entity.properties.values():
            if row.get(prop.column_name) is None and prop.default is not None and not prop.nullable:
                row[prop.column_name] = prop.default
        rows.append(row)
        results.append((index, None))
    if rows:
        physical = store_metadata(catalog).tables[source.table]  # typed columns: the driver binds Decimals
        savepoint = target.connection.begin_nested()
        try:
            target.connection.execute(insert(physical), rows)
            savepoint.commit()
        except DBAPIError:
            savepoint.rollback()
            return _one_by_one(endpoint, entity, target, creates)
    return results


def _one_by_one(endpoint: Endpoint, entity: Entity, target: WriteUnit,
                creates: list[tuple[int, Values]]) -> list[tuple[int, str | None]]:
    writer = EntityWriter(target, endpoint.context(), entity)
    results: list[tuple[int, str | None]] = []
    for index, values in creates:
        savepoint = target.connection.begin_nested()
        try:
            writer.create(values)
            savepoint.commit()
            results.append((index, None))
        except ODataError as error:
            savepoint.rollback()
            results.append((index, error.message))
    return results
