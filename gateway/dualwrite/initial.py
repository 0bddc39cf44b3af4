"""Initial sync: copy a map's existing rows to the other side, in the map's direction.

Rows are matched by integration key (bootstrapping): a row the other side already has is updated,
never duplicated. The source is read in key order, a batch per target transaction, and the
position after each batch is saved in DUALWRITEMAP, so a crashed or interrupted sync resumes where
it stopped. Rows the other side refuses are logged (kind "initial") and counted; the rest go on.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Connection, select, update

from gateway.dualwrite.apply import LookupCache, SyncError
from gateway.dualwrite.bulk import apply_batch, bulk_applicable
from gateway.dualwrite.maps import Side, TableMap, other
from gateway.dualwrite.service import DualWrite
from gateway.dualwrite.store import end_suppression, maps_state, suppress_capture
from gateway.errors import ODataError
from gateway.write.unit import WriteUnit

BATCH_ROWS = 1000

Progress = Callable[[int], None]  # called with the number of rows just done
# The resume position (a $skiptoken) is kept in the database and read by whichever process resumes:
# signed with this fixed key, not a process's own. It never leaves the server.
_POSITION_KEY = b"fno-gateway initial-sync position"


@dataclass
class InitialSyncResult:
    map_name: str
    source: Side
    counts: Counter[str] = field(default_factory=Counter)  # create, update, none, failed
    errors: Counter[str] = field(default_factory=Counter)  # by reason
    resumed: bool = False

    def summary(self) -> str:
        counts = ", ".join(f"{self.counts[name]:,} {label}" for name, label in
                           (("create", "created"), ("update", "updated"), ("none", "unchanged"),
                            ("failed", "failed")))
        lines = [f"{self.map_name}: {counts}" + (" (resumed)" if self.resumed else "")]
        lines += [f"  {count:,} × {reason}" for reason, count in self.errors.most_common(10)]
        return "\n".join(lines)


def initial_sync(dual: DualWrite, table_map: TableMap, source: Side = "fo", progress: Progress | None = None,
                 restart: bool = False, batch_rows: int = BATCH_ROWS) -> InitialSyncResult:
    if source == "dv" and table_map.direction == "to_dv":
        raise ODataError(f"{table_map.name} copies F&O to Dataverse only")
    towards = other(source)
    source_end, target_end = dual.endpoint(source), dual.endpoint(towards)
    result = InitialSyncResult(table_map.name, source)
    token = None if restart else _position(dual, table_map)
    result.resumed = token is not None
    _save(dual, table_map, "Running", token, result)
    cache = LookupCache()
    bulk = bulk_applicable(target_end, target_end.entity(table_map.entity_set(towards)))
    for batch in source_end.batches(table_map.entity_set(source), getattr(table_map.filter, source), batch_rows, token,
                                    _POSITION_KEY):
        source_connection, values_list = batch.connection, batch.rows
        with dual.rows.target_unit(target_end) as target:
            suppressed = suppress_capture(target.connection)
            if bulk:
                outcomes = apply_batch(dual.rows, table_map, towards, values_list, source_connection, target, cache)
                for values, (outcome, reason) in zip(values_list, outcomes):
                    result.counts[outcome] += 1
                    if reason is not None:
                        _log(dual, table_map, towards, values, reason, result)
            else:
                for values in values_list:
                    outcome = _apply_one(dual, table_map, towards, values, source_connection, target, cache, result)
                    result.counts[outcome] += 1
            end_suppression(target.connection, suppressed)
        _save(dual, table_map, "Running", batch.position, result)
        if progress is not None:
            progress(len(values_list))
    _save(dual, table_map, "Done", None, result)
    return result


def _apply_one(dual: DualWrite, table_map: TableMap, towards: Side, values: dict[str, object],
               source_connection: Connection, target: WriteUnit, cache: LookupCache, result: InitialSyncResult) -> str:
    savepoint = target.connection.begin_nested()  # one refused row must not undo the batch
    try:
        applied = dual.rows.apply(table_map, towards, values, values, source_connection, target, cache)
        savepoint.commit()
        return applied.operation
    except SyncError as error:
        savepoint.rollback()
        _log(dual, table_map, towards, values, error.reason, result)
        return "failed"


def _log(dual: DualWrite, table_map: TableMap, towards: Side, values: dict[str, object], reason: str,
         result: InitialSyncResult) -> None:
    result.errors[reason] += 1
    source_entity = dual.endpoint(other(towards)).entity(table_map.entity_set(other(towards)))
    key = {name: values.get(name) for name in source_entity.key}
    dual.log_error(table_map, other(towards), "update", key, "initial", SyncError.code,
                   SyncError(table_map, towards, reason).message)


def _position(dual: DualWrite, table_map: TableMap) -> str | None:
    with dual.control.connect() as connection:
        row = connection.execute(select(maps_state.c.INITIALSYNC, maps_state.c.INITIALPOSITION)
                                 .where(maps_state.c.MAPNAME == table_map.name)).first()
    if row is None or row.INITIALSYNC != "Running":
        return None
    return row.INITIALPOSITION or None


def _save(dual: DualWrite, table_map: TableMap, status: str, token: str | None, result: InitialSyncResult) -> None:
    with dual.control.begin() as connection:
        connection.execute(update(maps_state).where(maps_state.c.MAPNAME == table_map.name).values(
            INITIALSYNC=status, INITIALPOSITION=token, INITIALCOUNTS=json.dumps(dict(result.counts))))
