"""Recovery: live syncs cut short between their two commits, decided by the databases, not by age.

A live sync writes an intent record on the other side and commits it with the other side's change,
after the originating transaction wrote its own marker (same token) and before it commits. An
intent left behind means the originating transaction is still running, committed (the clean-up did
not happen), or will never commit (its process died, its commit failed). Recovery tells which:
- probe: insert the token into the origin's DUALWRITEINTENT and roll back. The origin's marker is
  already there (uncommitted) if its transaction runs: the insert waits for it (bounded by the lock
  wait) and then fails on the key if it committed; it succeeds only if the origin never will commit.
- claim: the intent is deleted by the transaction that resolves it. Whoever deletes it (one row)
  resolves it; anyone else (two workers, a worker and a request's own compensation) stops.
- resolve by current state: each target row is locked as any writer locks it, and each field the
  lost change wrote is set to what the origin holds now, unless it changed since (a later write
  owns it). A row the lost change created is removed unless the origin has it after all (then it
  gets the origin's whole state); a row it deleted comes back (its own key too) with the origin's state.
Nothing here depends on the intent's age, so recovery runs at start-up before serving (every intent
of a previous process is decided at once) and in each worker pass, beside live writes.
A change that cannot be resolved is an open entry in the error log, never silent.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from gateway.dualwrite.apply import Applied, Converter, LookupCache, same_value
from gateway.dualwrite.maps import Side, other
from gateway.dualwrite.rows import Values
from gateway.dualwrite.store import (
    bound_lock_waits,
    decode_values,
    encode_values,
    end_suppression,
    intents,
    now,
    suppress_capture,
)
from gateway.plan.paging import tag, untag
from gateway.write.entity import EntityWriter
from gateway.write.unit import WriteUnit

if TYPE_CHECKING:
    from gateway.dualwrite.service import DualWrite

log = logging.getLogger("fno_gateway.dualwrite")

ORIGIN_MARKER = ""  # UNDO of the originating side's record: it says nothing to undo
_PROBE = "probe"  # UNDO of a probe's insert (always rolled back)
OriginState = Literal["committed", "lost", "running"]
Cause = tuple[str, str, str]  # the error log's code, kind and message for a resolved change
_ORIGIN_LOST: Cause = ("OriginLost", "compensation", ("the originating transaction never committed (its process "
                       "stopped between the two commits): the other side now holds the origin's current state"))


@dataclass(frozen=True)
class Synced:
    """One row a live sync wrote on the other side, with what resolving it needs."""

    map_name: str  # "": an intent written before maps were recorded (resolved from `before` alone)
    source_key: Values  # the originating row's key (a delete: its last values)
    touched: frozenset[str] | None  # the origin's properties the change wrote (None: all)
    applied: Applied


def encode_undo(towards: Side, items: list[Synced]) -> str:
    return json.dumps({
        "towards": towards,
        "applied": [
            {"entity_set": item.applied.entity_set, "key": [[name, tag(value)] for name, value in item.applied.key],
             "before": None if item.applied.before is None else encode_values(item.applied.before),
             "operation": item.applied.operation,
             "written": None if item.applied.written is None else encode_values(item.applied.written),
             "map": item.map_name, "source_key": encode_values(item.source_key),
             "touched": None if item.touched is None else sorted(item.touched)}
            for item in items
        ],
    })


def decode_undo(text: str) -> tuple[Side, list[Synced]]:
    data = json.loads(text)
    items = [
        Synced(item.get("map", ""), decode_values(item["source_key"]) if item.get("source_key") else {},
               None if item.get("touched") is None else frozenset(item["touched"]),
               Applied(item["entity_set"], tuple((name, untag(value)) for name, value in item["key"]),
                       None if item["before"] is None else decode_values(item["before"]), item["operation"],
                       None if item.get("written") is None else decode_values(item["written"])))
        for item in data["applied"]
    ]
    return data["towards"], items


def recover_at_start(dual: DualWrite) -> None:
    """Before a process serves: every intent a previous one left is decided now. A database that is down
    is logged, not fatal: the worker's passes try again."""
    try:
        resolved = dual.recover(older_than=0)
    except DBAPIError as error:
        log.warning("dual-write recovery at start-up failed (%s); the worker will retry",
                    str(error.orig).splitlines()[0] if error.orig is not None else error)
        return
    if resolved:
        log.warning("dual-write recovery at start-up resolved %s row(s) whose origin was lost", resolved)


class _Taken(Exception):
    """Someone else deleted the intent first: it is theirs to resolve."""


class Recovery:
    def __init__(self, dual: DualWrite) -> None:
        self.dual = dual

    def run(self, older_than: float) -> int:
        """Decide every intent at least `older_than` seconds old; returns how many rows were resolved."""
        cutoff = now() - dt.timedelta(seconds=older_than)
        resolved = 0
        for here in ("fo", "dv"):
            with self.dual.endpoint(here).engine.connect() as connection:
                records = connection.execute(select(intents.c.TOKEN, intents.c.UNDO)
                                             .where(intents.c.CREATEDAT <= cutoff).order_by(intents.c.CREATEDAT)).all()
            for record in records:
                if record.UNDO == ORIGIN_MARKER:  # visible, so its transaction committed: both records go
                    self._forget(record.TOKEN, other(here))
                elif record.UNDO != _PROBE:
                    resolved += self.resolve(record.TOKEN, here)
        return resolved

    def resolve(self, token: str, towards: Side, cause: Cause | None = None) -> int:
        """Decide the intent `token` written on the `towards` side; returns how many rows it resolved
        (0: its origin committed or still runs, or another process resolved it). `cause`: what the
        error log says of a resolved change (default: its process stopped between the commits)."""
        origin = other(towards)
        state = self._origin_state(token, origin)
        if state == "running":
            return 0
        if state == "committed":
            self._forget(token, towards)
            return 0
        with self.dual.endpoint(towards).engine.connect() as connection:
            undo = connection.execute(select(intents.c.UNDO).where(intents.c.TOKEN == token)).scalar()
        if undo is None or undo in (ORIGIN_MARKER, _PROBE):
            return 0
        _, items = decode_undo(undo)
        try:
            self._resolve(token, towards, items)
        except _Taken:
            return 0
        except OperationalError:
            raise  # a database is down or a row stays locked: the intent stays, the next pass tries again
        except Exception as error:  # cannot be resolved (the row changed shape since): said once, in the error log
            log.exception("dual-write could not resolve intent %s", token)
            self._give_up(token, towards, items, error)
            return 0
        code, kind, message = cause or _ORIGIN_LOST
        for name in sorted({item.map_name for item in items}):
            if name in self.dual.maps.maps:
                self.dual.log_error(self.dual.maps.maps[name], origin, "update", {"intent": token}, kind, code,
                                    message, status="Resolved")
        return len(items)

    # ------------------------------------------------------------------ deciding
    def _origin_state(self, token: str, origin: Side) -> OriginState:
        engine = self.dual.endpoint(origin).engine
        with engine.connect() as connection:
            transaction = connection.begin()
            try:
                bound_lock_waits(connection, self.dual.limits.lock_wait_seconds)
                connection.execute(insert(intents).values(TOKEN=token, MAPNAMES="[]", UNDO=_PROBE, CREATEDAT=now()))
            except IntegrityError:
                return "committed"
            except OperationalError:  # still locked by the running origin (or its database is busy)
                return "running"
            finally:
                transaction.rollback()
        return "lost"

    def _forget(self, token: str, towards: Side) -> None:
        """The origin committed: remove the intent, then the origin's marker (that order, as live sync does)."""
        for side in (towards, other(towards)):
            with self.dual.endpoint(side).engine.begin() as connection:
                connection.execute(delete(intents).where(intents.c.TOKEN == token))

    # ------------------------------------------------------------------ resolving
    def _resolve(self, token: str, towards: Side, items: list[Synced]) -> None:
        origin, target = self.dual.endpoint(other(towards)), self.dual.endpoint(towards)
        with origin.engine.connect() as source, WriteUnit(target.engine, target.catalog) as unit:
            bound_lock_waits(unit.connection, self.dual.limits.lock_wait_seconds)
            suppressed = suppress_capture(unit.connection)
            if unit.connection.execute(delete(intents).where(intents.c.TOKEN == token)).rowcount != 1:
                raise _Taken
            cache = LookupCache()
            for item in reversed(items):  # the last row written first, as an undo would
                self._resolve_row(item, towards, source, unit, cache)
            end_suppression(unit.connection, suppressed)

    def _resolve_row(self, item: Synced, towards: Side, source: Connection, unit: WriteUnit,
                     cache: LookupCache) -> None:
        applied, rows = item.applied, self.dual.rows
        table_map = self.dual.maps.maps.get(item.map_name)
        if applied.operation == "none":
            return
        if table_map is None:  # an intent of an older version (or of a map removed since): its before image
            rows.undo(applied, towards, unit)
            return
        target = self.dual.endpoint(towards)
        entity = target.entity(applied.entity_set)
        writer = EntityWriter(unit, target.context(), entity)
        exists = writer.lock(applied.key)  # no writer of this row can sync it past us now
        current = target.read(unit.connection, applied.entity_set, applied.key) if exists else None
        origin_entity = self.dual.endpoint(other(towards)).entity(table_map.entity_set(other(towards)))
        fixed = tuple((name, item.source_key[name]) for name in origin_entity.key if name in item.source_key)
        state = rows.source_row(source, table_map, other(towards), fixed) if len(fixed) == len(origin_entity.key) else None
        if applied.operation == "update":
            if current is None or state is None or applied.written is None:
                return  # the row is gone since on one side: that delete was synchronized by itself
            converter = Converter(rows, table_map, towards, source, unit.connection, cache)
            values = converter.values(state, item.touched, current)
            restore = {name: value for name, value in values.items()
                       if name in applied.written and same_value(current.get(name), applied.written[name])
                       and not same_value(value, current.get(name))}
            if restore:
                writer.update(applied.key, restore, None, replace=False)
        elif applied.operation == "create":
            if state is not None:  # the origin has the row (the lost change updated it): its whole state
                rows.apply(table_map, towards, state, state, source, unit, cache)
            elif current is not None:
                writer.delete(applied.key, None)
        elif applied.operation == "delete" and state is not None and current is None:
            rows.undo(applied, towards, unit)  # the row itself back (its Guid: lookups elsewhere name it) ...
            rows.apply(table_map, towards, state, state, source, unit, cache)  # ... as the origin has it now

    def _give_up(self, token: str, towards: Side, items: list[Synced], error: Exception) -> None:
        try:
            with self.dual.endpoint(towards).engine.begin() as connection:
                connection.execute(delete(intents).where(intents.c.TOKEN == token))
        except DBAPIError:
            return  # the next pass tries again, and says so again if it fails again
        for name in sorted({item.map_name for item in items}):
            if name in self.dual.maps.maps:
                self.dual.log_error(self.dual.maps.maps[name], other(towards), "update", {"intent": token},
                                    "compensation", "CompensationFailed",
                                    f"the other side may keep a change whose origin was lost: {error}; run "
                                    "`fno-gateway dualwrite verify --map` on the map to compare and repair")
