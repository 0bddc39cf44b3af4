"""The events' own tables, all in the F&O database: an event exists only if the transaction that
raised it committed, so everything about it lives next to the data that changed.

- BUSINESSEVENTCATALOG, BUSINESSEVENTENDPOINT, BUSINESSEVENTACTIVATION: what can be raised, where it
  goes, and which goes where. F&O tables (RECID, RECVERSION) served at /data like any entity.
- EVENTCHANGES: the capture log. Triggers append the changed entity's record (as JSON, read inside
  the writer's transaction: exactly as committed) in the same transaction as the change.
- EVENTCONTEXT: holds a row only inside the gateway's own write transactions (inserted before the
  first change, deleted before commit, never visible to anyone else): who is writing, read by the
  triggers as InitiatingUserAADObjectId, and which transaction (its changes are one event per record).
- EVENTOUTBOX: framed events, one row per event and endpoint, with the endpoint's ControlNumber;
  Pending until the endpoint acknowledged it (Delivered), or Failed (the error log) after its retries.
- EVENTLEASE: which worker frames the capture log, and which delivers to each endpoint.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    insert,
    select,
)
from sqlalchemy.exc import DBAPIError, IntegrityError

from gateway.catalog.model import Catalog
from gateway.db import sequence_column
from gateway.lease import lease_table

PENDING, DELIVERED, FAILED = "Pending", "Delivered", "Failed"
ACTIVATION_SEQUENCE = "BUSINESSEVENTACTIVATION"
# MariaDB compares with the connection's collation unless told otherwise (see gateway/demo/schema.py).
_MARIADB: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_nopad_bin"}

metadata = MetaData()


def _fo_row() -> list[Column[Any]]:
    """RECID and RECVERSION: the events' configuration tables are F&O tables, written through /data."""
    return [Column("RECID", BigInteger, primary_key=True, autoincrement=False),
            Column("RECVERSION", Integer, nullable=False, default=1)]


event_catalog = Table(
    "BUSINESSEVENTCATALOG", metadata, *_fo_row(),
    Column("BUSINESSEVENTID", String(100), nullable=False),
    Column("NAME", String(200), nullable=False),
    Column("KIND", String(20), nullable=False),
    Column("CATEGORY", String(100), nullable=False),
    Column("DESCRIPTION", String(1000), nullable=False),
    Column("ENTITYSET", String(100), nullable=False),
    Column("ENTITYNAME", String(100), nullable=False),
    Column("OPERATIONS", String(40), nullable=False),
    Column("CHANGEDFIELDS", String(1000), nullable=False),
    Column("CONDITIONTEXT", String(1000), nullable=False),
    Column("BEFORECONDITION", String(1000), nullable=False),
    Column("MAJORVERSION", Integer, nullable=False),
    Column("MINORVERSION", Integer, nullable=False),
    Column("CONTRACT", String(4000), nullable=False),
    UniqueConstraint("BUSINESSEVENTID", name="UQ_BUSINESSEVENTCATALOG_ID"),
    **_MARIADB,
)
endpoints = Table(
    "BUSINESSEVENTENDPOINT", metadata, *_fo_row(),
    Column("ENDPOINTID", String(60), nullable=False),
    Column("NAME", String(200), nullable=False, default=""),
    Column("ENDPOINTTYPE", Integer, nullable=False, default=0),
    Column("URL", String(1000), nullable=False),
    Column("SECRETNAME", String(100)),
    Column("TIMEOUTSECONDS", Integer, nullable=False, default=10),
    Column("HEADERS", String(4000)),
    Column("EXCHANGE", String(200)),
    Column("ROUTINGKEY", String(200)),
    Column("QUEUENAME", String(200)),
    Column("ENABLED", Boolean, nullable=False, default=True),
    Column("NEXTCONTROLNUMBER", BigInteger, nullable=False, default=1),
    Column("CREATEDDATETIME", DateTime, nullable=False),
    UniqueConstraint("ENDPOINTID", name="UQ_BUSINESSEVENTENDPOINT_ID"),
    **_MARIADB,
)
activations = Table(
    "BUSINESSEVENTACTIVATION", metadata, *_fo_row(),
    Column("ACTIVATIONID", String(20), nullable=False),
    Column("BUSINESSEVENTID", String(100), nullable=False),
    Column("ENDPOINTID", String(60), nullable=False),
    Column("LEGALENTITY", String(4), nullable=False, default=""),
    Column("CREATEDDATETIME", DateTime, nullable=False),
    UniqueConstraint("ACTIVATIONID", name="UQ_BUSINESSEVENTACTIVATION_ID"),
    **_MARIADB,
)
changes = Table(
    "EVENTCHANGES", metadata, sequence_column(),
    Column("ENTITYSET", String(100), nullable=False),
    Column("OP", String(1), nullable=False),  # C, U, D: of the entity (not of the table that changed)
    Column("TABLENAME", String(128), nullable=False),  # the table whose trigger wrote the row
    Column("RECORDID", String(400)),  # the record: the RECIDs of the entity's tables it is made of
    Column("TXID", String(64)),  # the writing transaction, when known: its changes of a record are one event
    Column("USERID", String(36)),  # the gateway caller (EVENTCONTEXT); NULL for other applications' SQL
    Column("TARGET", Text),  # JSON: the entity record after the change (creates, updates)
    Column("PREIMAGE", Text),  # JSON: the entity record before it (updates, deletes)
    Column("CREATEDAT", DateTime),
    **_MARIADB,
)
context = Table(
    "EVENTCONTEXT", metadata,
    Column("TOKEN", String(36), primary_key=True),
    Column("USERID", String(36)),
    **_MARIADB,
)
outbox = Table(
    "EVENTOUTBOX", metadata, sequence_column(),
    Column("ENDPOINTID", String(60), nullable=False),
    Column("CONTROLNUMBER", BigInteger, nullable=False),
    Column("EVENTID", String(36), nullable=False),
    Column("BUSINESSEVENTID", String(100), nullable=False),
    Column("KIND", String(20), nullable=False),  # BusinessEvent | DataEvent | TestEvent
    Column("LEGALENTITY", String(4), nullable=False),
    Column("SUBJECT", String(400), nullable=False),  # ContextRecordSubject: which record
    Column("PAYLOAD", Text, nullable=False),  # the JSON envelope as sent (bytes, UTF-8)
    Column("STATUS", String(10), nullable=False),  # Pending, Delivered, Failed
    Column("ATTEMPTS", Integer, nullable=False, default=0),
    Column("NEXTATTEMPTAT", DateTime),  # a retry waits until then (exponential back-off)
    Column("LASTERROR", String(1000)),
    Column("EVENTTIME", DateTime, nullable=False),  # when the change was captured (in its transaction)
    Column("QUEUEDAT", DateTime, nullable=False),
    Column("DELIVEREDAT", DateTime),
    UniqueConstraint("ENDPOINTID", "CONTROLNUMBER", name="UQ_EVENTOUTBOX_CONTROL"),
    **_MARIADB,
)
Index("IX_EVENTOUTBOX_PENDING", outbox.c.STATUS, outbox.c.ENDPOINTID, outbox.c.CONTROLNUMBER)
Index("IX_EVENTOUTBOX_BUDGET", outbox.c.KIND, outbox.c.DELIVEREDAT)
leases = lease_table("EVENTLEASE", metadata)
leases.kwargs.update(_MARIADB)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def create_event_tables(engine: Engine, catalog: Catalog) -> None:
    """The events' tables, and the sequence row that numbers activations (idempotent)."""
    try:
        metadata.create_all(engine)
    except DBAPIError:  # another worker process of the same start made them meanwhile: check again
        metadata.create_all(engine)
    spec = catalog.service.sequences
    if spec is None:
        return
    sequences = Table(spec.table, MetaData(), Column(spec.name_column, String(40)),
                      Column(spec.value_column, BigInteger))
    with engine.connect() as connection:
        present = connection.execute(select(sequences.c[spec.name_column])
                                     .where(sequences.c[spec.name_column] == ACTIVATION_SEQUENCE)).first()
    if present is None:
        try:
            with engine.begin() as connection:
                connection.execute(insert(sequences).values({spec.name_column: ACTIVATION_SEQUENCE,
                                                             spec.value_column: 1}))
        except IntegrityError:  # another process made it meanwhile
            pass
