"""Dual-write as a whole: the maps, both sides, the map states and the error log.

State lives in the F&O database (DUALWRITEMAP, DUALWRITEERROR, DUALWRITEQUEUE), so every worker
reads the same state: a map paused by the CLI is paused for every request at once.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, func, insert, select, update
from sqlalchemy.exc import OperationalError

from gateway.catalog.model import Catalog
from gateway.dualwrite.apply import Applied, RowSync
from gateway.dualwrite.capture import CAPTURE_DIALECTS, captured_tables, install_capture
from gateway.dualwrite.maps import AlertRule, MapSet, Side, TableMap, load_maps, other
from gateway.dualwrite.rows import Endpoint
from gateway.dualwrite.store import (
    PAUSED,
    RUNNING,
    STATES,
    STOPPED,
    create_control_tables,
    create_side_tables,
    decode_values,
    encode_values,
    end_suppression,
    errors,
    intents,
    maps_state,
    now,
    queue,
    suppress_capture,
)
from gateway.errors import BadRequest, ServiceMisconfigured
from gateway.plan.paging import tag, untag
from gateway.write.unit import WriteUnit

log = logging.getLogger("fno_gateway.dualwrite")


@dataclass
class Limits:
    live_rows: int = 1000  # most rows one live-synchronized transaction may carry
    live_seconds: float = 120.0  # the longest a live-synchronized transaction may run (F&O: 2 minutes)
    # How long a live sync waits for a row lock on the other side before refusing (two writers syncing
    # one record from opposite sides wait for each other across two databases: no deadlock detector
    # sees that, so the wait must end).
    lock_wait_seconds: int = 5
    alerts: tuple[AlertRule, ...] = (AlertRule(errors=50, within=300.0, action="Paused"),)  # unless a map has its own


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
                  code: str, message: str) -> None:
        """Record an error (in its own transaction: it must survive the rollback it explains) and apply
        the alert rules."""
        try:
            with self.control.begin() as connection:
                connection.execute(insert(errors).values(
                    MAPNAME=table_map.name, SOURCE=source, OP=operation[:1].upper(), KEYDATA=encode_values(key), KIND=kind,
                    CODE=code[:40], MESSAGE=message, STATUS="Open", CREATEDAT=now()))
                self._alert(connection, table_map, code)
        except Exception:  # the error log must never turn one failure into two
            log.exception("could not log a dual-write error for %s", table_map.name)

    def _alert(self, connection: Connection, table_map: TableMap, code: str) -> None:
        for rule in table_map.alerts or self.limits.alerts:
            if rule.code is not None and rule.code != code:
                continue
            since = now() - dt.timedelta(seconds=rule.within)
            conditions = [errors.c.MAPNAME == table_map.name, errors.c.CREATEDAT >= since, errors.c.STATUS == "Open"]
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

    # ------------------------------------------------------------------ compensation and recovery
    def compensate(self, towards: Side, applied: list[Applied], token: str | None) -> None:
        """Put the `towards` side back as it was before `applied` (its change's origin was lost)."""
        endpoint = self.endpoint(towards)
        with WriteUnit(endpoint.engine, endpoint.catalog) as unit:
            suppressed = suppress_capture(unit.connection)
            for item in reversed(applied):
                self.rows.undo(item, towards, unit)
            if token is not None:
                unit.connection.execute(delete(intents).where(intents.c.TOKEN == token))
            end_suppression(unit.connection, suppressed)

    def recover(self, older_than: float | None = None) -> int:
        """Finish what a process killed between the two commits left: an intent whose originating
        twin committed is removed; one whose twin never committed is compensated. Returns how many
        changes were compensated."""
        cutoff = now() - dt.timedelta(seconds=self.limits.live_seconds + 5 if older_than is None else older_than)
        compensated = 0
        for side in ("fo", "dv"):
            here, there = self.endpoint(side), self.endpoint(other(side))
            with here.engine.connect() as connection:
                records = connection.execute(select(intents).where(intents.c.CREATEDAT <= cutoff)).all()
            for record in records:
                with there.engine.connect() as connection:
                    twin = connection.execute(select(intents.c.TOKEN).where(intents.c.TOKEN == record.TOKEN)).first()
                if record.UNDO == "" or twin is not None:  # the origin committed: nothing to undo
                    for engine in (here.engine, there.engine):
                        with engine.begin() as connection:
                            connection.execute(delete(intents).where(intents.c.TOKEN == record.TOKEN))
                    continue
                towards, applied = decode_undo(record.UNDO)
                try:
                    self.compensate(towards, applied, record.TOKEN)
                except OperationalError:
                    raise  # a database is down: the intent stays, the next pass tries again
                except Exception as error:  # cannot be undone (the row changed shape since): say so, once
                    log.exception("dual-write could not compensate intent %s", record.TOKEN)
                    with here.engine.begin() as connection:
                        connection.execute(delete(intents).where(intents.c.TOKEN == record.TOKEN))
                    for name in json.loads(record.MAPNAMES):
                        if name in self.maps.maps:
                            self.log_error(self.maps.maps[name], other(towards), "update", {"intent": record.TOKEN},
                                           "compensation", "CompensationFailed",
                                           f"the other side kept a change whose origin was lost: {error}")
                    continue
                compensated += len(applied)
                for name in json.loads(record.MAPNAMES):
                    if name in self.maps.maps:
                        self.log_error(self.maps.maps[name], other(towards), "update", {"intent": record.TOKEN},
                                       "compensation", "OriginLost",
                                       "the originating transaction never committed (the process stopped between "
                                       "the two commits): the other side was put back")
        return compensated


def encode_undo(towards: Side, applied: list[Applied]) -> str:
    return json.dumps({
        "towards": towards,
        "applied": [
            {"entity_set": item.entity_set, "key": [[name, tag(value)] for name, value in item.key],
             "before": None if item.before is None else encode_values(item.before), "operation": item.operation,
             "written": None if item.written is None else encode_values(item.written)}
            for item in applied
        ],
    })


def decode_undo(text: str) -> tuple[Side, list[Applied]]:
    data = json.loads(text)
    applied = [
        Applied(item["entity_set"], tuple((name, untag(value)) for name, value in item["key"]),
                None if item["before"] is None else decode_values(item["before"]), item["operation"],
                None if item.get("written") is None else decode_values(item["written"]))
        for item in data["applied"]
    ]
    return data["towards"], applied
