"""The unit of work: one connection, one transaction, for a write and everything that goes with it.

A request's writes (or a whole $batch change set) share one WriteUnit. It commits once at the end,
or rolls everything back on any failure, or on purpose for a dry run (`Prefer: tx=rollback`).
Numbers (RECIDs, party numbers) come from SYSTEMSEQUENCES inside the same transaction.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol

from sqlalchemy import BigInteger, Connection, Engine, String, column, select, table, update

from gateway.catalog.model import Catalog
from gateway.errors import ServiceMisconfigured
from gateway.faults import fault_point


@dataclass(frozen=True)
class Change:
    """One entity written in the unit: what dual-write needs to carry it to the other side."""

    entity_set: str
    operation: str  # "create" | "update" | "delete"
    key: tuple[tuple[str, object], ...]
    before: dict[str, Any] | None = None  # a deleted row's values (its integration key is gone after)
    properties: frozenset[str] | None = None  # an update's written properties (None: all of them)
    given: frozenset[str] | None = None  # a create's properties as the caller gave them (the audit lists them)


class CommitHook(Protocol):
    """Runs when the unit is about to commit: dual-write's live sync. It may refuse (raise), and
    returns what to call if the unit's own commit then fails (compensation), or None."""

    def tracks(self, entity_set: str) -> bool: ...

    def begin(self, unit: WriteUnit) -> None: ...

    def before_commit(self, unit: WriteUnit) -> Callable[[BaseException], None] | None: ...

    def after_commit(self, unit: WriteUnit) -> None: ...

    def after_rollback(self, unit: WriteUnit, error: BaseException | None) -> None: ...


class Trail(Protocol):
    """Keeps every change of the unit exactly when the unit commits: the audit trail (gateway/audit/).
    Apart from the commit hook: it sees every entity set, and dual-write's own units have none."""

    def record(self, change: Change) -> None: ...

    def before_commit(self, unit: WriteUnit) -> Callable[[BaseException], None] | None: ...


class EventStamp(Protocol):
    """Business and data events (gateway/events/): the capture triggers learn who writes from a row
    this unit holds while it writes, and activations written through the unit take effect at commit."""

    def stamp(self, connection: Connection, user_id: str | None) -> str: ...

    def unstamp(self, connection: Connection, token: str) -> None: ...

    def committed(self, written: frozenset[str]) -> None: ...


class WriteUnit:
    def __init__(self, engine: Engine, catalog: Catalog, dry_run: bool = False,
                 hook: CommitHook | None = None, trail: Trail | None = None,
                 events: EventStamp | None = None) -> None:
        self.catalog = catalog
        self.dry_run = dry_run
        self.hook = hook
        self.trail = trail
        self.events = events
        self._stamp: str | None = None
        self.written: set[str] = set()  # every entity set the unit wrote
        self.changes: list[Change] = []
        self.hook_state: dict[str, Any] = {}  # the hook's own notes about this unit
        self._begun = False
        self.started = time.monotonic()
        self.now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
        self.connection: Connection = engine.connect()
        self._transaction = self.connection.begin()

    def tracks(self, entity_set: str) -> bool:
        """Whether writes to this entity set must be recorded for the commit hook."""
        return self.hook is not None and self.hook.tracks(entity_set)

    def prepare(self, entity_set: str, user_id: str | None = None) -> None:
        """Called before the first write to an entity set: the hook may act before any DML runs."""
        if self.events is not None and self._stamp is None:
            self._stamp = self.events.stamp(self.connection, user_id)
        if not self._begun and self.hook is not None and self.hook.tracks(entity_set):
            self._begun = True
            self.hook.begin(self)

    def record(self, change: Change) -> None:
        self.written.add(change.entity_set)
        if self.trail is not None:
            self.trail.record(change)
        if self.tracks(change.entity_set):
            self.changes.append(change)

    def __enter__(self) -> WriteUnit:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        try:
            if kind is not None:
                self._transaction.rollback()
                self._ended(error)
                return
            if self._stamp is not None and self.events is not None:  # never committed: nobody else sees it
                self.events.unstamp(self.connection, self._stamp)
            # The audit rows first, before anything commits anywhere (a dry run keeps none).
            take_back = self.trail.before_commit(self) if self.trail is not None and not self.dry_run else None
            try:
                # The other side commits first (a dry run rolls it back there too); if it refuses, so do we.
                compensate = self.hook.before_commit(self) if self.hook is not None and self._begun else None
                if compensate is not None:
                    fault_point("before-origin-commit")  # the other side committed; crash tests kill here
                if self.dry_run:
                    self._transaction.rollback()
                    self._ended(None)
                    return
                try:
                    self._transaction.commit()
                except BaseException as failure:
                    if self._transaction.is_active:
                        self._transaction.rollback()
                    if compensate is not None:
                        compensate(failure)  # the other side must not keep what this side lost
                    raise
            except BaseException as failure:
                if take_back is not None:
                    take_back(failure)  # audit rows kept in another database follow the write
                raise
            if self.hook is not None and self._begun:
                self.hook.after_commit(self)
            if self.events is not None and self.written:
                self.events.committed(frozenset(self.written))
        except BaseException as failure:
            if self._transaction.is_active:
                self._transaction.rollback()
            self._ended(failure)
            raise
        finally:
            self.connection.close()

    def abandon(self) -> None:
        """Roll back and let go of a unit that was never entered (opened early to take its lock)."""
        try:
            if self._transaction.is_active:
                self._transaction.rollback()
        finally:
            self.connection.close()

    def _ended(self, error: BaseException | None) -> None:
        """After a rollback (this transaction no longer holds locks): the hook may record why."""
        if self.hook is not None and self._begun:
            self.hook.after_rollback(self, error)

    def allocate(self, name: str, count: int = 1) -> int:
        """The first of `count` fresh numbers of sequence `name`."""
        spec = self.catalog.service.sequences
        if spec is None:
            raise ServiceMisconfigured("the catalog names no sequence table (service.yaml: sequences)")
        sequences = table(spec.table, column(spec.name_column, String()), column(spec.value_column, BigInteger()))
        name_column, value_column = sequences.c[spec.name_column], sequences.c[spec.value_column]
        # The UPDATE takes the row lock first, so concurrent writers never get the same numbers.
        bumped = self.connection.execute(
            update(sequences).where(name_column == name).values({spec.value_column: value_column + count})
        )
        if bumped.rowcount != 1:
            raise ServiceMisconfigured(f"{spec.table} has no row for the sequence {name}")
        after = self.connection.execute(select(value_column).where(name_column == name)).scalar_one()
        return int(after) - count
