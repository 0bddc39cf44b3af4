"""`fno-gateway unlink`: remove what `link` provisioned, never F&O data.

Dropped: the Dataverse-side store's tables (the catalog's and dual-write's change logs there) and the
change-capture triggers on both sides. Emptied in the F&O database: the map states, queues, error log,
jobs and dual-write's change log there (the tables stay: a gateway still running must not meet a missing
table). F&O business tables are only read (to know which carry triggers). The link row stays, Unlinked,
with its steps: the history of the link; a later `link` starts a new one.
"""

from __future__ import annotations

from typing import TextIO

from sqlalchemy import Engine, delete, inspect

from gateway.dataverse.schema import store_metadata
from gateway.dualwrite.capture import CAPTURE_DIALECTS, CapturedTable, remove_capture
from gateway.dualwrite.link import LinkRefused, Sides, open_link
from gateway.dualwrite.linkrecord import masked
from gateway.dualwrite.store import (
    changes,
    errors,
    intents,
    jobs,
    link_identity,
    maps_state,
    queue,
    side_metadata,
)
from gateway.settings import Settings


def unlink(settings: Settings, out: TextIO) -> int:
    sides, record, current = open_link(settings, out)
    try:
        if current is None:
            print(f"{masked(settings.db)} is not linked: nothing to do", file=out)
            return 0
        if current.dv_url != masked(sides.dv_url):
            raise LinkRefused(f"{current.fo_url} is linked to {current.dv_url}, not {masked(sides.dv_url)}: "
                              "give that --dataverse-db to unlink it")
        sides.hold()
        _remove_capture(sides.fo, _tables(sides.fo, {source.table for entity in
                                                                   sides.fo_catalog.entities.values()
                                                                   for source in entity.sources}))
        dropped = _drop_store(sides)
        emptied = _empty_control(sides.fo)
        record.unlinked(current.id)
        print(f"unlinked {current.fo_url} from {current.dv_url}: {dropped} Dataverse-side table(s) dropped, change "
              f"capture removed, {emptied} row(s) of map state, queues, errors and change logs removed; "
              "F&O data untouched", file=out)
        return 0
    finally:
        sides.dispose()


def _tables(engine: Engine, wanted: set[str]) -> list[str]:
    present = {name.upper(): name for name in inspect(engine).get_table_names()}
    return sorted(present[name.upper()] for name in wanted if name.upper() in present)


def _remove_capture(engine: Engine, tables: list[str]) -> None:
    """Drop dual-write's triggers (and PostgreSQL's trigger functions) on these tables, if present: every
    table of the catalog, not only those today's maps capture (a map removed since left its triggers)."""
    if engine.dialect.name in CAPTURE_DIALECTS:
        remove_capture(engine, [CapturedTable(table, "", ()) for table in tables])


def _drop_store(sides: Sides) -> int:
    metadata = store_metadata(sides.dv_catalog)
    tables = _tables(sides.dv, {*metadata.tables, *side_metadata.tables, link_identity.name})
    _remove_capture(sides.dv, tables)  # PostgreSQL keeps a trigger's function when its table goes
    metadata.drop_all(sides.dv)
    side_metadata.drop_all(sides.dv)
    link_identity.drop(sides.dv, checkfirst=True)
    return len(tables)


def _empty_control(engine: Engine) -> int:
    removed = 0
    present = {name.upper() for name in inspect(engine).get_table_names()}
    with engine.begin() as connection:
        for table in (maps_state, queue, errors, jobs, changes, intents):
            if table.name.upper() in present:  # (a link that failed early made only some)
                removed += int(connection.execute(delete(table)).rowcount or 0)
    return removed
