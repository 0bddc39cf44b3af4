"""Live sync: a write to a mapped entity is applied to the other side inside the same request.

The hook runs when the originating write unit is about to commit:
1. changes of Running maps are applied to the other side in one transaction (the other side's
   triggers are suppressed: nothing echoes back); Paused maps get the change queued instead;
2. an intent record is written on both sides, then the other side commits first;
3. the originating side commits. If it fails, the other side is compensated (given the origin's
   current state back) and the event is logged. If the process dies between the two commits,
   recovery decides the intent (gateway/dualwrite/recovery.py).
A refusal on the other side (validation, constraint, lock timeout, database down) raises SyncError,
and the originating unit rolls back: the client gets the map's name and the reason.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.exc import DBAPIError, OperationalError

from gateway.dualwrite.apply import Applied, LookupCache, SyncError
from gateway.dualwrite.maps import Side, TableMap, other
from gateway.dualwrite.recovery import ORIGIN_MARKER, Recovery, Synced, encode_undo
from gateway.dualwrite.service import DualWrite
from gateway.dualwrite.store import (
    PAUSED,
    RUNNING,
    bound_lock_waits,
    changes,
    encode_values,
    end_suppression,
    intents,
    jobs,
    lock_change_log,
    now,
    suppress_capture,
)
from gateway.errors import DatabaseUnavailable, ODataError
from gateway.write.unit import Change, WriteUnit

log = logging.getLogger("fno_gateway.dualwrite")


class LiveLimitExceeded(ODataError):
    status = 400
    code = "DualWriteLimitExceeded"


class LiveSync:
    """The commit hook of one side's write units."""

    def __init__(self, dual: DualWrite, side: Side) -> None:
        self.dual = dual
        self.side = side
        self.maps: dict[str, list[TableMap]] = {}
        for table_map in dual.maps.maps.values():
            if side == "dv" and table_map.direction == "to_dv":
                continue  # Dataverse-side changes of a one-way map stay there
            self.maps.setdefault(table_map.entity_set(side), []).append(table_map)

    def tracks(self, entity_set: str) -> bool:
        return entity_set in self.maps

    def begin(self, unit: WriteUnit) -> None:
        if self.side == "fo" and self.dual.endpoint("dv").engine.dialect.name == "sqlite":
            # One lock order where a writer holds a whole database: Dataverse's before F&O's, the order a
            # Dataverse-side write takes them in (its own, then F&O's for the sync and the audit). Opposite
            # orders would let two writers syncing opposite ways each hold one and wait out the busy timeout.
            self._open_target(unit)
        unit.hook_state["suppress"] = suppress_capture(unit.connection)

    def _open_target(self, unit: WriteUnit) -> None:
        """The other side's unit, now, with its capture suppressed (the first write takes its lock)."""
        endpoint = self.dual.endpoint(other(self.side))
        try:
            target = WriteUnit(endpoint.engine, endpoint.catalog, dry_run=unit.dry_run)
        except DBAPIError:
            return  # not reachable: the sync says so when it runs
        try:
            unit.hook_state["target"] = (target, suppress_capture(target.connection))
        except DBAPIError:
            target.abandon()  # locked past the busy timeout: the sync tries again when it runs

    # ------------------------------------------------------------------ before the originating commit
    def before_commit(self, unit: WriteUnit) -> Callable[[BaseException], None] | None:
        try:
            return self._before_commit(unit)
        finally:
            self._let_go(unit)  # a unit opened early that nothing was pushed to

    def _let_go(self, unit: WriteUnit) -> None:
        opened = unit.hook_state.pop("target", None)
        if opened is not None:
            opened[0].abandon()

    def _before_commit(self, unit: WriteUnit) -> Callable[[BaseException], None] | None:
        end_suppression(unit.connection, unit.hook_state.pop("suppress"))
        try:
            states = self.dual.states()
        except DBAPIError:
            raise DatabaseUnavailable("dual-write's state cannot be read; nothing was written, try again") from None
        live: list[tuple[TableMap, Change]] = []
        for change in _latest(unit.changes):
            for table_map in self.maps.get(change.entity_set, []):
                state = states.get(table_map.name)
                if state == RUNNING:
                    live.append((table_map, change))
                elif state == PAUSED:
                    self._enqueue(unit, table_map, change, job=None)
        if not live:
            return None
        if len(live) > self.dual.limits.live_rows:
            if all(table_map.job for table_map, _ in live):
                job_names = sorted({str(table_map.job) for table_map, _ in live})
                job_id = f"{job_names[0]}:{uuid.uuid4()}"
                order = {table_map.name: index for index, table_map in enumerate(self.dual.maps.ordered())}
                live.sort(key=lambda pair: order[pair[0].name])  # the job applies its maps in order: headers, lines
                for table_map, change in live:
                    self._enqueue(unit, table_map, change, job=job_id)
                unit.hook_state["job"] = (job_id, job_names[0], len(live))
                return None
            names = sorted({table_map.name for table_map, _ in live})
            raise LiveLimitExceeded(
                f"this transaction would synchronize {len(live)} rows ({', '.join(names)}); live dual-write takes "
                f"at most {self.dual.limits.live_rows}: split it, or give the maps an asynchronous integration job"
            )
        return self._push(unit, live)

    def _push(self, unit: WriteUnit, live: list[tuple[TableMap, Change]]) -> Callable[[BaseException], None]:
        towards = other(self.side)
        endpoint = self.dual.endpoint(towards)
        first_map = live[0][0]
        target, suppressed = unit.hook_state.pop("target", (None, None))
        try:
            target = target or WriteUnit(endpoint.engine, endpoint.catalog, dry_run=unit.dry_run)
        except DBAPIError as error:
            self._log(unit, first_map, live[0][1], "DatabaseUnavailable", str(error.orig))
            raise SyncError(first_map, towards, f"the {endpoint.label} database is not reachable", 503) from None
        applied: list[tuple[TableMap, Synced]] = []
        cache = LookupCache()
        token = str(uuid.uuid4())
        current = first_map
        current_change = live[0][1]
        try:
            with target:
                bound_lock_waits(target.connection, self.dual.limits.lock_wait_seconds)
                suppressed = suppressed or suppress_capture(target.connection)
                for table_map, change in live:
                    current, current_change = table_map, change
                    result = self._apply(unit, target, table_map, change, cache)
                    if result is not None:
                        touched = change.properties if change.operation == "update" else None
                        applied.append((table_map, Synced(table_map.name, _identity(change), touched, result)))
                    self._check_time(unit, table_map)
                end_suppression(target.connection, suppressed)
                if not target.dry_run and applied:
                    names = json.dumps(sorted({table_map.name for table_map, _ in applied}))
                    target.connection.execute(insert(intents).values(
                        TOKEN=token, MAPNAMES=names, UNDO=encode_undo(towards, [item for _, item in applied]),
                        CREATEDAT=now()))
                    unit.connection.execute(insert(intents).values(TOKEN=token, MAPNAMES=names, UNDO=ORIGIN_MARKER,
                                                                   CREATEDAT=now()))
                    unit.hook_state["intent"] = token
        except SyncError as error:
            self._log(unit, current, current_change, error.code, error.reason)
            raise
        except DBAPIError as error:
            reason = str(error.orig).splitlines()[0] if error.orig is not None else str(error)
            self._log(unit, current, current_change, "DatabaseError", reason)
            # Unreachable, locked or timed out: try again later (503); anything else is a fault (500).
            status = 503 if isinstance(error, OperationalError) else 500
            raise SyncError(current, towards, f"the {endpoint.label} database refused the change: {reason}",
                            status) from None

        def compensate(failure: BaseException) -> None:
            cause = ("Compensated", "live", (f"the originating commit failed ({failure!r}); the {endpoint.label} "
                                             "side now holds the origin's state again"))
            try:
                Recovery(self.dual).resolve(token, towards, cause)
            except DBAPIError:  # the intent stays: the worker's recovery decides it
                log.warning("dual-write could not compensate intent %s at once; recovery will", token)

        return compensate

    def _apply(self, unit: WriteUnit, target: WriteUnit, table_map: TableMap, change: Change,
               cache: LookupCache) -> Applied | None:
        rows = self.dual.rows
        towards = other(self.side)
        if change.operation == "delete":
            return rows.apply(table_map, towards, None, change.before or {}, unit.connection, target, cache)
        source = rows.source_row(unit.connection, table_map, self.side, change.key)
        if source is None:
            return None  # outside the map's filter (or created and deleted in one transaction)
        return rows.apply(table_map, towards, source, source, unit.connection, target, cache, change.properties)

    def _check_time(self, unit: WriteUnit, table_map: TableMap) -> None:
        elapsed = time.monotonic() - unit.started
        if elapsed > self.dual.limits.live_seconds:
            raise SyncError(table_map, other(self.side),
                            f"the transaction ran {elapsed:.0f}s, past the live limit of "
                            f"{self.dual.limits.live_seconds:.0f}s", 400)

    def _enqueue(self, unit: WriteUnit, table_map: TableMap, change: Change, job: str | None) -> None:
        """Queue a change for later (a Paused map, or an integration job), atomically with the write."""
        key = _identity(change)
        touched = None if change.properties is None else json.dumps(sorted(change.properties))
        lock_change_log(unit.connection)
        unit.connection.execute(insert(changes).values(
            ENTITYSET=change.entity_set, MAPNAME=table_map.name, JOB=job, OP=change.operation[:1].upper(),
            KEYDATA=encode_values(key), CHANGED=touched, CREATEDAT=now()))

    def _log(self, unit: WriteUnit, table_map: TableMap, change: Change, code: str, message: str) -> None:
        """Noted now, written once the originating transaction is over (it may hold the very lock the
        error log needs: on SQLite the control store is the F&O database)."""
        key = _identity(change)
        unit.hook_state.setdefault("log", []).append((table_map, change.operation, key, code, message))

    def after_rollback(self, unit: WriteUnit, error: BaseException | None) -> None:
        self._let_go(unit)  # the write failed before its commit began
        # Refused: the client was told and nothing was kept on either side, so there is nothing to retry
        # (retrying would push this side's unchanged row over newer changes of the other side).
        for table_map, operation, key, code, message in unit.hook_state.pop("log", []):
            self.dual.log_error(table_map, self.side, operation, key, "live", code, message, status="Refused")

    # ------------------------------------------------------------------ after it
    def after_commit(self, unit: WriteUnit) -> None:
        self.after_rollback(unit, None)  # errors noted on the way (none expected after a commit)
        job = unit.hook_state.pop("job", None)
        if job is not None:  # visible at once; the worker moves it on (and may have made it already)
            try:
                with self.dual.control.begin() as connection:
                    connection.execute(insert(jobs).values(JOBID=job[0], NAME=job[1], STATUS="Queued", ROWS=job[2],
                                                           APPLIED=0, FAILED=0, CREATEDAT=now(), UPDATEDAT=now()))
            except DBAPIError:
                pass  # the worker makes the record when it finds the job's rows: never fail a committed write
        token = unit.hook_state.pop("intent", None)
        if token is None:
            return
        # The other side's intent first: a lone originating marker is harmless, recovery drops it.
        for engine in (self.dual.endpoint(other(self.side)).engine, self.dual.endpoint(self.side).engine):
            try:
                with engine.begin() as connection:
                    connection.execute(delete(intents).where(intents.c.TOKEN == token))
            except DBAPIError:
                return  # recovery finds both records and removes them


def _identity(change: Change) -> dict[str, Any]:
    """What finds the row again: its key, or for a delete its last values (with the integration key)."""
    return change.before if change.operation == "delete" and change.before else dict(change.key)


def _latest(unit_changes: list[Change]) -> list[Change]:
    """One change per row, in the order rows were first written. Sync is state-based, so the last
    change decides: a delete carries the row's last values, anything else syncs the current state."""
    latest: dict[tuple[str, Any], Change] = {}
    for change in unit_changes:
        key = (change.entity_set, change.key)
        previous = latest.get(key)
        if previous is not None and change.operation == "update" and previous.operation != "delete":
            touched = None if previous.properties is None or change.properties is None else (
                previous.properties | change.properties)
            change = replace(previous, properties=touched)  # a create stays a create
        latest[key] = change
    return list(latest.values())
