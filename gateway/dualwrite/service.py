"""Dual-write as a whole: the maps, both sides, the map states and the error log.

State lives in the F&O database (DUALWRITEMAP, DUALWRITEERROR, DUALWRITEQUEUE), so every worker
reads the same state: a map paused by the CLI is paused for every request at once.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, func, insert, select, update

from gateway.catalog.model import Catalog
from gateway.dualwrite.apply import RowSync
from gateway.dualwrite.capture import CAPTURE_DIALECTS, captured_tables, install_capture
from gateway.dualwrite.maps import AlertRule, MapSet, Side, TableMap, load_maps
from gateway.dualwrite.recovery import Recovery
from gateway.dualwrite.rows import Endpoint
from gateway.dualwrite.store import (
    PAUSED,
    RUNNING,
    STATES,
    STOPPED,
    create_control_tables,
    create_side_tables,
    encode_values,
    errors,
    maps_state,
    now,
    queue,
)
from gateway.errors import BadRequest, ServiceMisconfigured

log = logging.getLogger("fno_gateway.dualwrite")
ALERTING = ("Open", "Refused")  # the error log's statuses that alert rules count


@dataclass
class Limits:
    live_rows: int = 1000  # most rows one live-synchronized transaction may carry
    live_seconds: float = 120.0  # the longest a live-synchronized transaction may run (F&O: 2 minutes)
    # How long a live sync waits for a row lock on the other side before refusing (two writers syncing
    # one record from opposite sides wait for each other across two databases: no deadlock detector
    # sees that, so the wait must end).
    lock_wait_seconds: int = 5
    alerts: tuple[AlertRule, ...] = (AlertRule(errors=50, within=300.0, action="Paused"),)  # unless a map has its own
    # Each worker pass decides intents at least this old (start-up decides all of them at once). Younger
    # ones are almost always live syncs between their two commits: deciding them would only wait for those.
    recovery_seconds: float = 5.0


@dataclass
class DualWrite:
    maps: MapSet
    fo: Endpoint
    dv: Endpoint
    limits: Limits = field(default_factory=Limits)

    def __post_init__(self) -> None:
        self.rows = RowSync(self.fo, self.dv)
        self.control: Engine = self.fo.engine

    @classmethod
    def open(cls, maps_folder: str, fo_catalog: Catalog, fo_engine: Engine, dv_catalog: Catalog, dv_engine: Engine,
             limits: Limits | None = None) -> DualWrite:
        map_set = load_maps(maps_folder, fo_catalog, dv_catalog)
        dual = cls(map_set, Endpoint("fo", fo_catalog, fo_engine), Endpoint("dv", dv_catalog, dv_engine), limits or Limits())
        dual.install()
        return dual

    def install(self) -> None:
        """Create dual-write's tables where missing and give every map a state row (new maps: Stopped)."""
        create_control_tables(self.control)
        for side in ("fo", "dv"):
            engine = self.endpoint(side).engine
            if engine.dialect.name not in CAPTURE_DIALECTS:
                raise ServiceMisconfigured(f"dual-write captures changes on {' and '.join(CAPTURE_DIALECTS)}; "
                                           f"the {self.endpoint(side).label} database is {engine.dialect.name}")
            create_side_tables(engine)
            install_capture(engine, captured_tables(self.maps, side))
        with self.control.begin() as connection:
            known = set(connection.execute(select(maps_state.c.MAPNAME)).scalars())
            for name in self.maps.maps:
                if name not in known:
                    connection.execute(insert(maps_state).values(MAPNAME=name, STATE=STOPPED, UPDATEDAT=now()))

    def endpoint(self, side: Side) -> Endpoint:
        return self.fo if side == "fo" else self.dv

    def table_map(self, name: str) -> TableMap:
        found = self.maps.maps.get(name)
        if found is None:
            raise BadRequest(f"there is no map named {name!r} (maps: {', '.join(self.maps.maps)})", target=name)
        return found

    # ------------------------------------------------------------------ states
    def states(self, connection: Connection | None = None) -> dict[str, str]:
        def read(conn: Connection) -> dict[str, str]:
            return {row.MAPNAME: row.STATE for row in conn.execute(select(maps_state.c.MAPNAME, maps_state.c.STATE))}

        if connection is not None:
            return read(connection)
        with self.control.connect() as conn:
            return read(conn)

    def set_state(self, name: str, state: str, connection: Connection | None = None) -> None:
        assert state in STATES
        self.table_map(name)
        statement = update(maps_state).where(maps_state.c.MAPNAME == name).values(STATE=state, UPDATEDAT=now())
        if connection is not None:
            connection.execute(statement)
            return
        with self.control.begin() as conn:
            conn.execute(statement)
        log.info("map %s is now %s", name, state)

    # ------------------------------------------------------------------ the error log
    def log_error(self, table_map: TableMap, source: Side, operation: str, key: dict[str, Any], kind: str,
                  code: str, message: str, status: str = "Open") -> None:
        """Record an error (in its own transaction: it must survive the rollback it explains) and apply
        the alert rules. `Open`: someone must act (retry, discard); `Refused`: a live change the client was
        refused, nothing kept (alerts count it, retry does not); `Resolved`: recovery put it right (neither)."""
        try:
            with self.control.begin() as connection:
                connection.execute(insert(errors).values(
                    MAPNAME=table_map.name, SOURCE=source, OP=operation[:1].upper(), KEYDATA=encode_values(key), KIND=kind,
                    CODE=code[:40], MESSAGE=message, STATUS=status, CREATEDAT=now()))
                if status in ALERTING:
                    self._alert(connection, table_map, code)
        except Exception:  # the error log must never turn one failure into two
            log.exception("could not log a dual-write error for %s", table_map.name)

    def _alert(self, connection: Connection, table_map: TableMap, code: str) -> None:
        for rule in table_map.alerts or self.limits.alerts:
            if rule.code is not None and rule.code != code:
                continue
            since = now() - dt.timedelta(seconds=rule.within)
            conditions = [errors.c.MAPNAME == table_map.name, errors.c.CREATEDAT >= since,
                          errors.c.STATUS.in_(ALERTING)]
            if rule.code is not None:
                conditions.append(errors.c.CODE == rule.code)
            count = connection.execute(select(func.count()).select_from(errors).where(and_(*conditions))).scalar_one()
            if count >= rule.errors:
                state = self.states(connection).get(table_map.name)
                if state == RUNNING or (state == PAUSED and rule.action == STOPPED):
                    self.set_state(table_map.name, rule.action, connection)
                    log.warning("alert: %s errors on %s within %ss: map %s", count, table_map.name, rule.within,
                                rule.action)

    def queue_length(self, name: str) -> int:
        with self.control.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(queue).where(queue.c.MAPNAME == name))
                       .scalar_one())

    def clear_queue(self, name: str) -> int:
        with self.control.begin() as connection:
            return int(connection.execute(delete(queue).where(queue.c.MAPNAME == name)).rowcount)

    # ------------------------------------------------------------------ recovery
    def recover(self, older_than: float | None = None) -> int:
        """Decide the intents live syncs cut short left (gateway/dualwrite/recovery.py); those younger
        than `older_than` seconds (default: the recovery interval) wait for a later pass. Returns how
        many rows were resolved."""
        return Recovery(self).run(self.limits.recovery_seconds if older_than is None else older_than)
