"""The dual-write worker: applies captured changes to the other side, asynchronously, in order.

One pass:
1. recovery: intents of live syncs cut short between their two commits are decided (recovery.py);
2. each side's change log (DUALWRITECHANGES) is read in SEQ order (commit order). A row becomes one
   work item per map it concerns: Running maps apply it, Paused maps queue it (DUALWRITEQUEUE),
   Stopped maps drop it; rows of an integration job are applied whatever the order of its maps.
   The log row is deleted only after the other side committed (at-least-once); applying is
   state-based and idempotent, so a second delivery changes nothing (exactly-once effect);
3. the queues of Running maps (resumed after a pause) are replayed in order.
Refused changes go to the error log (kind "async") and the worker goes on.
Only one worker works at a time: a lease row (DUALWRITELEASE) elects it. It expires after 30 s
without renewal; a holder that was a process of this machine that no longer runs (killed) is taken
over at once.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections import Counter
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from sqlalchemy import Connection, case, column, delete, func, insert, select, table, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from gateway.catalog.model import Catalog, Entity
from gateway.dualwrite.apply import LookupCache, SyncError
from gateway.dualwrite.capture import link_columns
from gateway.dualwrite.maps import Side, TableMap, other
from gateway.dualwrite.service import DualWrite
from gateway.dualwrite.store import (
    PAUSED,
    RUNNING,
    bound_lock_waits,
    changes,
    decode_values,
    encode_values,
    end_suppression,
    jobs,
    leases,
    now,
    queue,
    suppress_capture,
)
from gateway.lease import Lease, holder_identity
from gateway.plan.keys import Fixed
from gateway.plan.scope import EntityScope
from gateway.write.unit import WriteUnit

log = logging.getLogger("fno_gateway.dualwrite")
BATCH = 500
LEASE = "worker"
LEASE_SECONDS = 30


@dataclass(frozen=True)
class WorkItem:
    table_map: TableMap
    source: Side
    operation: str  # I, U, D
    key: dict[str, Any]  # the source entity's key (a delete: also its integration key values)
    properties: frozenset[str] | None = None  # what an update changed (None: everything)


class Worker:
    def __init__(self, dual: DualWrite) -> None:
        self.dual = dual
        self.identity = holder_identity()
        self.lease = Lease(dual.control, leases, LEASE, self.identity, LEASE_SECONDS)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ running
    def start(self, interval: float = 0.5) -> None:
        self._thread = threading.Thread(target=self.run, args=(interval,), name="dualwrite-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.release()

    def release(self) -> None:
        """Give the lease back, so another worker may start at once."""
        self.lease.release()

    def run(self, interval: float = 0.5) -> None:
        while not self._stop.is_set():
            try:
                done = self.run_once()
            except DBAPIError as error:  # a database is down: try again shortly
                log.warning("dual-write worker: %s", str(error.orig).splitlines()[0] if error.orig else error)
                done = 0
            except Exception:
                log.exception("dual-write worker pass failed")
                done = 0
            if not done:
                self._stop.wait(interval)

    def run_once(self) -> int:
        """One pass; returns how many log rows and queued changes it handled."""
        if not self._lease():
            return 0
        self.dual.recover()
        handled = 0
        for side in ("fo", "dv"):
            handled += self._drain_log(side)
        handled += self._drain_queues()
        return handled

    def _lease(self) -> bool:
        return self.lease.hold()

    # ------------------------------------------------------------------ the change logs
    def _drain_log(self, side: Side) -> int:
        engine = self.dual.endpoint(side).engine
        with engine.connect() as connection:
            rows = connection.execute(select(changes).order_by(changes.c.SEQ).limit(BATCH)).all()
            expanded = [(row, self._safe_items(connection, side, row)) for row in rows]
        if not rows:
            return 0
        states = self.dual.states()
        with self.dual.control.connect() as connection:  # a map with queued changes queues new ones behind them
            queued = set(connection.execute(select(queue.c.MAPNAME).distinct()).scalars())
        running = _Coalesced(self.dual)
        paused: list[WorkItem] = []
        sequence: list[tuple[WorkItem, str | None]] = []  # what to apply, in order, with its job
        for row, items in expanded:
            for item in items:
                state = states.get(item.table_map.name)
                if row.JOB is not None:
                    sequence.extend((queued, None) for queued in running.drain())  # what came first goes first
                    self._ensure_job(side, row.JOB)
                    sequence.append((item, row.JOB))
                elif state == RUNNING and item.table_map.name not in queued:
                    running.add(item)
                elif state in (RUNNING, PAUSED):
                    paused.append(item)
        sequence.extend((queued, None) for queued in running.drain())
        outcomes = self._apply_all([item for item, _ in sequence], [("job" if job else "async") for _, job in sequence])
        progress: dict[str, Counter[str]] = {}
        for (_, job), outcome in zip(sequence, outcomes):
            if job is not None:
                progress.setdefault(job, Counter())["failed" if outcome == "failed" else "applied"] += 1
        for job, counts in progress.items():
            self._job_progress(job, counts)
        self._queue(paused)
        if not self._lease():  # another worker took over meanwhile: it will apply these rows again (harmless)
            return 0
        with engine.begin() as connection:  # handled: at-least-once ends here
            connection.execute(delete(changes).where(changes.c.SEQ.in_([row.SEQ for row in rows])))
        return len(rows)

    def _safe_items(self, connection: Connection, side: Side, row: Any) -> list[WorkItem]:
        try:
            return self._items(connection, side, row)
        except DBAPIError:
            raise
        except Exception:  # a log row that cannot be read (hand-written into the log?): reported, not retried
            log.exception("dual-write skips change-log row %s of %s: it cannot be read", row.SEQ, side)
            return []

    def _items(self, connection: Connection, side: Side, row: Any) -> list[WorkItem]:
        """The (map, entity key) pairs one change-log row concerns."""
        map_set = self.dual.maps
        if row.ENTITYSET is not None:  # queued by the gateway for one map
            table_map = map_set.maps.get(row.MAPNAME)
            touched = None if row.CHANGED is None else frozenset(json.loads(row.CHANGED))
            return [] if table_map is None else [WorkItem(table_map, side, row.OP, decode_values(row.KEYDATA), touched)]
        keydata = json.loads(row.KEYDATA or "{}")
        changed_columns = None if row.CHANGED is None else {name for name in json.loads(row.CHANGED) if name}
        items: list[WorkItem] = []
        for table_map in map_set.maps.values():
            if side == "dv" and table_map.direction == "to_dv":
                continue
            endpoint = self.dual.endpoint(side)
            entity = endpoint.entity(table_map.entity_set(side))
            for index, source in enumerate(entity.sources):
                if source.table != row.TABLENAME:
                    continue
                by_column = {prop.column_name: name for name, prop in entity.properties.items()
                             if prop.alias == source.alias}
                touched = None if changed_columns is None else frozenset(
                    by_column[column] for column in changed_columns if column in by_column)
                if changed_columns is not None and changed_columns & link_columns(entity, source.alias):
                    touched = None  # re-linked (another address, another party): everything it shows changed
                if touched is not None and not touched:
                    continue  # an update of columns this entity does not show
                key = {by_column[column]: value for column, value in keydata.items() if column in by_column}
                if index == 0 and row.OP == "D" and not all(name in key for name in entity.key):
                    key = _deleted_key(connection, endpoint.catalog, entity, keydata, key)
                if index == 0 and all(name in key for name in entity.key):
                    items.append(WorkItem(table_map, side, row.OP, key, touched))
                    continue
                # A joined table (a customer's party or address), or a first table that holds only part of
                # the key (a variant released by several companies): every entity row that shows it.
                scope = EntityScope(entity, endpoint.context())
                id_column = scope.tables[source.alias].c[endpoint.catalog.row_id(entity, source)]
                statement = select(*(scope.column(name) for name in entity.key)).select_from(scope.from_clause())
                found = connection.execute(statement.where(scope.where(), id_column == _row_id(row.ROWID))).all()
                items.extend(WorkItem(table_map, side, "U", dict(zip(entity.key, values)), touched) for values in found)
        return items

    # ------------------------------------------------------------------ integration jobs
    def _ensure_job(self, side: Side, job_id: str) -> None:
        """The job's record, if the request that queued it has not made it yet."""
        with self.dual.control.connect() as connection:
            if connection.execute(select(jobs.c.JOBID).where(jobs.c.JOBID == job_id)).first() is not None:
                return
        with self.dual.endpoint(side).engine.connect() as connection:
            total = connection.execute(select(func.count()).select_from(changes).where(changes.c.JOB == job_id)).scalar_one()
        try:
            with self.dual.control.begin() as connection:
                connection.execute(insert(jobs).values(JOBID=job_id, NAME=job_id.split(":", 1)[0], STATUS="Running",
                                                       ROWS=total, APPLIED=0, FAILED=0, CREATEDAT=now(), UPDATEDAT=now()))
        except IntegrityError:
            pass

    def _job_progress(self, job_id: str, counts: Counter[str]) -> None:
        with self.dual.control.begin() as connection:
            connection.execute(update(jobs).where(jobs.c.JOBID == job_id).values(
                APPLIED=jobs.c.APPLIED + counts["applied"], FAILED=jobs.c.FAILED + counts["failed"], STATUS="Running",
                UPDATEDAT=now()))
            connection.execute(update(jobs).where(jobs.c.JOBID == job_id, jobs.c.APPLIED + jobs.c.FAILED >= jobs.c.ROWS)
                               .values(STATUS=case((jobs.c.FAILED > 0, "Failed"), else_="Done")))

    # ------------------------------------------------------------------ queues of paused maps
    def _queue(self, items: list[WorkItem]) -> None:
        if not items:
            return
        rows = [
            {"MAPNAME": item.table_map.name, "SOURCE": item.source, "OP": item.operation,
             "KEYDATA": encode_values(item.key), "CREATEDAT": now(),
             "CHANGED": None if item.properties is None else json.dumps(sorted(item.properties))}
            for item in items
        ]
        with self.dual.control.begin() as connection:
            connection.execute(insert(queue), rows)

    def _drain_queues(self) -> int:
        handled = 0
        states = self.dual.states()
        for table_map in self.dual.maps.ordered():  # prerequisites first: groups before the customers in them
            name = table_map.name
            if states.get(name) != RUNNING:
                continue
            with self.dual.control.connect() as connection:
                rows = connection.execute(select(queue).where(queue.c.MAPNAME == name).order_by(queue.c.SEQ)
                                          .limit(BATCH)).all()
            coalesced = _Coalesced(self.dual)  # replay is state-based: one apply per record covers its queued changes
            for row in rows:
                touched = None if row.CHANGED is None else frozenset(json.loads(row.CHANGED))
                coalesced.add(WorkItem(self.dual.maps.maps[name], row.SOURCE, row.OP, decode_values(row.KEYDATA),
                                       touched))
            drained = coalesced.drain()
            self._apply_all(drained, ["queue"] * len(drained))
            if rows and not self._lease():
                return handled
            if rows:
                with self.dual.control.begin() as connection:
                    connection.execute(delete(queue).where(queue.c.SEQ.in_([row.SEQ for row in rows])))
            handled += len(rows)
        return handled

    # ------------------------------------------------------------------ applying changes
    def _apply_all(self, items: list[WorkItem], kinds: list[str]) -> list[str]:
        """Apply in order; refused changes go to the error log (kind: async, job or queue)."""
        results = apply_items(self.dual, items)
        for item, kind, (outcome, error) in zip(items, kinds, results):
            if error is not None:
                self.dual.log_error(item.table_map, item.source, _operation(item.operation), item.key, kind,
                                    error.code, error.message)
        return [outcome for outcome, _ in results]


class _Coalesced:
    """Work items merged per record: sync applies a record's current state, so several changes of one
    record in a batch need one apply (with every property any of them touched). Records keep the
    order of their first change (a header before its lines)."""

    def __init__(self, dual: DualWrite) -> None:
        self.dual = dual
        self._items: dict[tuple[str, str, str], WorkItem] = {}

    def add(self, item: WorkItem) -> None:
        names = self.dual.endpoint(item.source).entity(item.table_map.entity_set(item.source)).key
        entity_key = [(name, str(item.key.get(name))) for name in names]
        key = (item.table_map.name, item.source, json.dumps(entity_key))
        previous = self._items.get(key)
        if previous is not None and item.operation != "D" and previous.operation != "D":
            touched = None if previous.properties is None or item.properties is None else (
                previous.properties | item.properties)
            item = WorkItem(item.table_map, item.source, item.operation, item.key, touched)
        self._items[key] = item

    def drain(self) -> list[WorkItem]:
        """Prerequisite maps first (a customer group before the customers moved into it, a header before
        its lines), then the order of first change."""
        order = {table_map.name: index for index, table_map in enumerate(self.dual.maps.ordered())}
        items = sorted(self._items.values(), key=lambda item: order[item.table_map.name])  # stable
        self._items.clear()
        return items


def apply_item(dual: DualWrite, item: WorkItem) -> str:
    """Bring the other side in line with one source row's current state (or its absence); raises the
    refusal, if any."""
    outcome, error = apply_items(dual, [item])[0]
    if error is not None:
        raise error
    return outcome


def apply_items(dual: DualWrite, items: list[WorkItem]) -> list[tuple[str, SyncError | None]]:
    """Apply changes in order: each run of one source side in one transaction on the other side, a
    savepoint per change, so one refused change does not undo the others. A database that is down or
    locked (OperationalError) stops the whole run, to be retried: nothing of it was kept."""
    results: list[tuple[str, SyncError | None]] = []
    for side, run in groupby(items, key=lambda item: item.source):
        towards = other(side)
        source_end, target_end = dual.endpoint(side), dual.endpoint(towards)
        with source_end.engine.connect() as source_connection, dual.rows.target_unit(target_end) as target:
            bound_lock_waits(target.connection, dual.limits.lock_wait_seconds)  # a live sync holds it: retry later
            suppressed = suppress_capture(target.connection)
            cache = LookupCache()
            for item in run:
                savepoint = target.connection.begin_nested()
                try:
                    outcome = _apply_one(dual, item, source_connection, target, cache)
                    savepoint.commit()
                    results.append((outcome, None))
                except SyncError as error:
                    savepoint.rollback()
                    results.append(("failed", error))
                except OperationalError:
                    raise
                except DBAPIError as error:  # a change the other side can never take: refused, not retried forever
                    savepoint.rollback()
                    reason = str(error.orig).splitlines()[0] if error.orig is not None else str(error)
                    results.append(("failed", SyncError(item.table_map, towards, reason, 500)))
                except Exception as error:  # a value that cannot be read or converted: never a stuck log
                    savepoint.rollback()
                    log.exception("dual-write could not apply a change of %s", item.table_map.name)
                    results.append(("failed", SyncError(item.table_map, towards, f"{type(error).__name__}: {error}", 500)))
            end_suppression(target.connection, suppressed)
    return results


def _apply_one(dual: DualWrite, item: WorkItem, source_connection: Connection, target: WriteUnit,
               cache: LookupCache) -> str:
    rows = dual.rows
    entity = dual.endpoint(item.source).entity(item.table_map.entity_set(item.source))
    fixed: Fixed = tuple((name, item.key[name]) for name in entity.key if name in item.key)
    current = rows.source_row(source_connection, item.table_map, item.source, fixed) if fixed else None
    if current is None and fixed and rows.exists(source_connection, item.table_map, item.source, fixed):
        return "filtered"  # the row exists but is outside the map's filter
    applied = rows.apply(item.table_map, other(item.source), current, item.key, source_connection, target, cache,
                         item.properties)
    return applied.operation


def _deleted_key(connection: Connection, catalog: Catalog, entity: Entity, keydata: dict[str, Any],
                 key: dict[str, Any]) -> dict[str, Any]:
    """The entity key of a deleted first-table row whose key is partly in joined tables: each missing
    part read from its table through the link values the row had (captured with the delete). A part
    that cannot be found (its table's row went too) stays missing."""
    first = entity.sources[0]
    found = {name: _captured_value(entity.properties[name].type, value) for name, value in key.items()}
    for name in entity.key:
        prop = entity.properties[name]
        if name in found or prop.alias == first.alias:
            continue
        source = next(source for source in entity.sources if source.alias == prop.alias)
        joined = table(source.table, column(prop.column_name), *(column(mine) for mine in source.link))
        conditions = []
        for mine, reference in source.link.items():
            alias, theirs = reference.split(".", 1)
            if alias != first.alias or theirs not in keydata:
                break  # linked through another joined table, or not captured: not found this way
            conditions.append(joined.c[mine] == keydata[theirs])
        else:
            value = connection.execute(select(joined.c[prop.column_name]).where(*conditions)).scalar()
            if value is not None:
                found[name] = value
    return found


def _captured_value(kind: str, value: Any) -> Any:
    """A key value as the capture trigger wrote it (JSON: dates and date-times as text) in Python form."""
    if not isinstance(value, str):
        return value
    if kind == "Edm.DateTimeOffset":
        return dt.datetime.fromisoformat(value).replace(tzinfo=None)
    if kind == "Edm.Date":
        return dt.date.fromisoformat(value[:10])
    return value


def _row_id(text: str) -> object:
    return int(text) if text.isdigit() else text


def _operation(code: str) -> str:
    return {"I": "create", "U": "update", "D": "delete"}.get(code, code)

