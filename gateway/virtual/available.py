"""The "Available Finance and Operations Entities" table (`mserp_financeandoperationsentities`).

One row per F&O entity, kept in the Dataverse-side store as a native table: a client lists it and
PATCHes `mserp_isvisible` there like any Dataverse row (through the same writer, privileges and
audit), `fno-gateway virtual enable/disable/refresh/list` does the same from a shell. Which virtual
tables are served is read from it: every worker reads it again at most once a second (`Visibility`),
and the worker that changed it at once, so enabling a table needs no restart and copies nothing.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from gateway.catalog.model import Catalog, Entity
from gateway.dataverse.schema import store_metadata
from gateway.virtual.naming import entity_set_name, physical_name, table_name

ENTITY_SET = "mserp_financeandoperationsentities"
TABLE = "mserp_financeandoperationsentity"
KEY = "mserp_financeandoperationsentityid"
REFRESH_SECONDS = 1.0  # how stale another worker's view of the table may be
_NAMESPACE = uuid.UUID("6d736572-7000-4000-8000-000000000001")  # uuid5 namespace of the rows


def available_entity() -> Entity:
    """The table as a Dataverse-side entity: only `mserp_isvisible` may be written."""
    def text(column: str, length: int) -> dict[str, object]:
        return {"column": f"t.{column}", "type": "Edm.String", "max_length": length, "read_only": True}

    entity = Entity.model_validate({
        "entity_set": ENTITY_SET,
        "entity_type": TABLE,
        "writable": True,
        "sources": [{"alias": "t", "table": TABLE, "on_update": {"modifiedon": "$now"}}],
        "key": [KEY],
        "primary_name": "mserp_physicalname",
        "sort_key": ["mserp_physicalname"],
        "alternate_keys": [["mserp_physicalname"]],
        "properties": {
            KEY: {"column": f"t.{KEY}", "type": "Edm.Guid", "read_only": True},
            "mserp_physicalname": text("mserp_physicalname", 128),  # CustCustomerV3Entity
            "mserp_entityname": text("mserp_entityname", 128),  # CustomersV3, the /data entity set
            "mserp_label": text("mserp_label", 255),
            "mserp_tablename": text("mserp_tablename", 128),  # mserp_custcustomerv3entity
            "mserp_entitysetname": text("mserp_entitysetname", 128),  # mserp_custcustomerv3entities
            "mserp_iscompanyspecific": {"column": "t.mserp_iscompanyspecific", "type": "Edm.Boolean", "read_only": True},
            "mserp_isvisible": {"column": "t.mserp_isvisible", "type": "Edm.Boolean",
                                "labels": {0: "No", 1: "Yes"}},
            "mserp_refreshedon": {"column": "t.mserp_refreshedon", "type": "Edm.DateTimeOffset", "read_only": True},
            "modifiedon": {"column": "t.modifiedon", "type": "Edm.DateTimeOffset", "read_only": True,
                           "nullable": True},
        },
        "searchable": ["mserp_physicalname", "mserp_entityname", "mserp_label"],
    })
    # Property names come from the mapping keys (as the catalog loader fills them).
    named = {name: prop.model_copy(update={"name": name}) for name, prop in entity.properties.items()}
    return entity.model_copy(update={"properties": named})


def with_available_table(catalog: Catalog) -> Catalog:
    """The Dataverse-side catalog with the available-entities table added (the store creates it)."""
    if ENTITY_SET in catalog.entities:
        return catalog
    return catalog.model_copy(update={"entities": {**catalog.entities, ENTITY_SET: available_entity()}})


def row_key(entity: Entity) -> str:
    """A row's Guid: made from the physical name, so it is the same in every store and every refresh."""
    return str(uuid.uuid5(_NAMESPACE, physical_name(entity)))


@dataclass(frozen=True)
class AvailableRow:
    physical_name: str
    entity_name: str
    visible: bool
    refreshed: dt.datetime


class AvailableTable:
    """The table's rows, read and written with plain SQL on the Dataverse-side store."""

    def __init__(self, engine: Engine, dataverse: Catalog) -> None:
        self.engine = engine
        self.table = store_metadata(dataverse).tables[TABLE]

    def rows(self) -> list[AvailableRow]:
        columns = self.table.c
        statement = select(columns.mserp_physicalname, columns.mserp_entityname, columns.mserp_isvisible,
                           columns.mserp_refreshedon).order_by(columns.mserp_physicalname)
        with self.engine.connect() as connection:
            return [AvailableRow(row[0], row[1], bool(row[2]), row[3]) for row in connection.execute(statement)]

    def refresh(self, fno: Catalog) -> tuple[list[str], list[str]]:
        """Make the rows match the F&O catalog: new entities added (hidden), gone ones removed, every
        row's names and refresh time renewed. Returns (added, removed) physical names."""
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
        columns = self.table.c
        wanted = {physical_name(entity): entity for entity in fno.entities.values()}
        with self.engine.begin() as connection:
            # Workers reload the F&O catalog when the latest refresh time changes: it must move
            # forward even for two refreshes within one second (MariaDB keeps whole seconds).
            latest = connection.execute(select(func.max(columns.mserp_refreshedon))).scalar()
            if latest is not None and now <= latest:
                now = latest + dt.timedelta(seconds=1)
            present = set(connection.execute(select(columns.mserp_physicalname)).scalars())
            added = sorted(set(wanted) - present)
            removed = sorted(present - set(wanted))
            if removed:
                connection.execute(delete(self.table).where(columns.mserp_physicalname.in_(removed)))
            for name, entity in wanted.items():
                values = {"mserp_entityname": entity.entity_set, "mserp_label": entity.label or entity.entity_set,
                          "mserp_tablename": table_name(entity), "mserp_entitysetname": entity_set_name(entity),
                          "mserp_iscompanyspecific": entity.company_specific, "mserp_refreshedon": now}
                if name in present:
                    connection.execute(update(self.table).where(columns.mserp_physicalname == name).values(values))
                else:
                    connection.execute(insert(self.table).values(
                        {KEY: row_key(entity), "mserp_physicalname": name, "mserp_isvisible": False,
                         "modifiedon": now, "versionnumber": 1, **values}))
        return added, removed

    def set_visible(self, physical_names: list[str], visible: bool) -> None:
        columns = self.table.c
        with self.engine.begin() as connection:
            connection.execute(update(self.table).where(columns.mserp_physicalname.in_(physical_names)).values(
                mserp_isvisible=visible, versionnumber=columns.versionnumber + 1))


@dataclass(frozen=True)
class Snapshot:
    visible: frozenset[str]  # physical names
    refreshed: dt.datetime | None  # the latest refresh time: a newer one means the catalog changed


class Visibility:
    """Which tables are visible, read from the table at most once per REFRESH_SECONDS (per worker)."""

    def __init__(self, table: AvailableTable, clock: Callable[[], float] = time.monotonic) -> None:
        self.table = table
        self.clock = clock
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._read_at = 0.0

    def current(self) -> Snapshot:
        now = self.clock()
        snapshot = self._snapshot
        if snapshot is not None and now - self._read_at < REFRESH_SECONDS:
            return snapshot
        with self._lock:
            if self._snapshot is None or self.clock() - self._read_at >= REFRESH_SECONDS:
                rows = self.table.rows()
                self._snapshot = Snapshot(frozenset(row.physical_name for row in rows if row.visible),
                                          max((row.refreshed for row in rows), default=None))
                self._read_at = self.clock()
            return self._snapshot

    def changed(self) -> None:
        """This worker wrote the table: read it again on the next request."""
        self._read_at = -REFRESH_SECONDS


def ensure_rows(table: AvailableTable, fno: Catalog) -> None:
    """At start: a row for every F&O entity (a refresh only when entities came or went, so a restart
    does not make every other worker reload its catalog). Workers starting together may race: the
    loser's insert fails on the key and the winner's rows stand."""
    present = {row.physical_name for row in table.rows()}
    if present != {physical_name(entity) for entity in fno.entities.values()}:
        try:
            table.refresh(fno)
        except IntegrityError:
            pass
