"""Dual-write's own tables. Everything dual-write remembers lives in a database, so any number of
gateway workers share it and a crash loses nothing.

In each database (both sides):
- DUALWRITECHANGES: the change log. Triggers on mapped tables append to it in the same transaction
  as the change; the gateway appends entity-level rows for maps that are paused.
- DUALWRITESUPPRESS: holds a row only inside the gateway's own transactions (inserted at the first
  write, deleted before commit, never visible to anyone else), so triggers skip what the gateway
  writes itself: no change echoes back and nothing is captured twice.
- DUALWRITEINTENT: written with the other side's change and committed with it; removed once the
  originating side committed too. One left behind means the process died between the two commits:
  recovery compensates it.
In the F&O database only (the control store):
- DUALWRITEMAP: each map's state (Running, Paused, Stopped) and initial-sync progress.
- DUALWRITEQUEUE: changes held for a paused map, in order.
- DUALWRITEERROR: the error log, per map, with what is needed to retry.
- DUALWRITEJOB: asynchronous integration jobs and their progress.
- DUALWRITELEASE: which worker process is the one applying changes.
- DUALWRITEENVIRONMENTLINK, DUALWRITELINKSTEP: the link to the Dataverse side and its setup steps.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    insert,
)

from gateway.db import sequence_column
from gateway.lease import lease_table
from gateway.plan.dialects import dialect_traits
from gateway.plan.paging import tag, untag

RUNNING, PAUSED, STOPPED = "Running", "Paused", "Stopped"
STATES = (RUNNING, PAUSED, STOPPED)


side_metadata = MetaData()
changes = Table(
    "DUALWRITECHANGES", side_metadata,
    sequence_column(),
    Column("TABLENAME", String(128)),  # a physical table (trigger rows) or NULL
    Column("ENTITYSET", String(128)),  # an entity set (rows the gateway queues itself) or NULL
    Column("MAPNAME", String(100)),  # with ENTITYSET: the one map the row is for
    Column("JOB", String(100)),  # with ENTITYSET: the asynchronous integration job that carries it
    Column("OP", String(1), nullable=False),  # I, U, D
    Column("ROWID", String(64)),  # the changed row's RECID or Guid
    Column("KEYDATA", Text),  # JSON: the key columns of the row (deletes: its last values)
    # JSON list of the columns (trigger rows) or properties (gateway rows) an update changed; NULL: all
    Column("CHANGED", Text),
    Column("CREATEDAT", DateTime),
)
suppress = Table("DUALWRITESUPPRESS", side_metadata, Column("TOKEN", String(36), primary_key=True))
intents = Table(
    "DUALWRITEINTENT", side_metadata,
    Column("TOKEN", String(36), primary_key=True),
    Column("MAPNAMES", Text, nullable=False),
    Column("UNDO", Text, nullable=False),  # JSON: what compensation must restore
    Column("CREATEDAT", DateTime, nullable=False),
)

control_metadata = MetaData()
maps_state = Table(
    "DUALWRITEMAP", control_metadata,
    Column("MAPNAME", String(100), primary_key=True),
    Column("STATE", String(10), nullable=False),
    Column("UPDATEDAT", DateTime),
    Column("INITIALSYNC", String(20)),  # None, Running, Done, Failed
    Column("INITIALPOSITION", Text),  # JSON: the last key synced (resume point)
    Column("INITIALCOUNTS", Text),  # JSON: rows read, created, updated, unchanged, failed
)
queue = Table(
    "DUALWRITEQUEUE", control_metadata,
    sequence_column(),
    Column("MAPNAME", String(100), nullable=False),
    Column("SOURCE", String(2), nullable=False),  # fo | dv
    Column("OP", String(1), nullable=False),
    Column("KEYDATA", Text, nullable=False),  # JSON: the source entity's key (deletes: integration key values)
    Column("CHANGED", Text),  # JSON list of the properties changed; NULL: all
    Column("CREATEDAT", DateTime),
)
Index("IX_DUALWRITEQUEUE_MAP", queue.c.MAPNAME, queue.c.SEQ)
errors = Table(
    "DUALWRITEERROR", control_metadata,
    sequence_column(),
    Column("MAPNAME", String(100), nullable=False),
    Column("SOURCE", String(2), nullable=False),
    Column("OP", String(1), nullable=False),
    Column("KEYDATA", Text, nullable=False),
    Column("KIND", String(40), nullable=False),  # live | async | initial | compensation | queue
    Column("CODE", String(40), nullable=False),
    Column("MESSAGE", Text, nullable=False),
    Column("STATUS", String(12), nullable=False),  # Open, Refused (live, nothing kept), Resolved, Retried, Discarded
    Column("CREATEDAT", DateTime, nullable=False),
)
Index("IX_DUALWRITEERROR_MAP", errors.c.MAPNAME, errors.c.CREATEDAT)
jobs = Table(
    "DUALWRITEJOB", control_metadata,
    Column("JOBID", String(140), primary_key=True),  # the job's name and the transaction that queued it
    Column("NAME", String(100), nullable=False),
    Column("STATUS", String(12), nullable=False),  # Queued, Running, Done, Failed (done, some rows refused)
    Column("ROWS", BigInteger, nullable=False),
    Column("APPLIED", BigInteger, nullable=False),
    Column("FAILED", BigInteger, nullable=False),
    Column("CREATEDAT", DateTime),
    Column("UPDATEDAT", DateTime),
)
leases = lease_table("DUALWRITELEASE", control_metadata)
# The environment link (gateway/dualwrite/link.py): one row per `fno-gateway link` of this F&O database
# to a Dataverse-side store, kept after unlink (state Unlinked) as its history; URLs stored masked.
links = Table(
    "DUALWRITEENVIRONMENTLINK", control_metadata,
    sequence_column(),
    Column("STATE", String(12), nullable=False),  # Provisioning, Linked, Failed, Unlinked
    Column("FOURL", String(400), nullable=False),  # the password masked
    Column("DVURL", String(400), nullable=False),  # the password masked; what identifies the other side
    Column("FOVERSION", String(100)),  # the F&O database's engine and version
    Column("DVVERSION", String(100)),
    Column("GATEWAYVERSION", String(40)),
    Column("LINKGUID", String(36), nullable=False),  # the link's identity, stamped on the Dataverse side too
    Column("STEP", String(40)),  # the last step completed
    Column("FAILEDSTEP", String(40)),
    Column("REASON", Text),  # why FAILEDSTEP failed
    Column("CREATEDAT", DateTime, nullable=False),
    Column("UPDATEDAT", DateTime, nullable=False),
    Column("LINKEDAT", DateTime),
    Column("UNLINKEDAT", DateTime),
)
# In the Dataverse-side database: which link provisioned it (one row), so that a second F&O database
# cannot link to it and a store emptied or replaced behind the link's back is noticed.
link_identity = Table(
    "DUALWRITELINKIDENTITY", MetaData(),
    Column("LINKGUID", String(36), primary_key=True),
    Column("FOURL", String(400), nullable=False),
    Column("CREATEDAT", DateTime, nullable=False),
)
link_steps = Table(
    "DUALWRITELINKSTEP", control_metadata,
    Column("LINKID", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=False),
    Column("STEP", String(40), primary_key=True),
    Column("POSITION", Integer, nullable=False),
    Column("STATUS", String(12), nullable=False),  # Pending, Running, Done, Failed
    Column("ATTEMPTS", Integer, nullable=False),
    Column("STARTEDAT", DateTime),
    Column("FINISHEDAT", DateTime),
    Column("DETAIL", Text),  # what the step found or did; for a failure, why
)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def encode_values(values: dict[str, Any]) -> str:
    """Row values as JSON that decodes to the same Python types (Decimal, date, ...)."""
    return json.dumps({name: tag(value) for name, value in values.items()}, sort_keys=True)


def decode_values(text: str) -> dict[str, Any]:
    return {name: untag(item) for name, item in json.loads(text).items()}


def to_json(value: Any) -> str:
    return json.dumps(value, default=str, sort_keys=True)


def create_side_tables(engine: Engine) -> None:
    side_metadata.create_all(engine)


def create_control_tables(engine: Engine) -> None:
    control_metadata.create_all(engine)


def suppress_capture(connection: Connection) -> str:
    """Inside this transaction, triggers on mapped tables capture nothing (see DUALWRITESUPPRESS)."""
    token = str(uuid.uuid4())
    connection.execute(insert(suppress).values(TOKEN=token))
    return token


def end_suppression(connection: Connection, token: str) -> None:
    connection.execute(delete(suppress).where(suppress.c.TOKEN == token))


def lock_change_log(connection: Connection) -> None:
    """Before appending to the change log: held to commit, so that log order is commit order."""
    statement = dialect_traits(connection.dialect.name).change_log_lock
    if statement:
        connection.exec_driver_sql(statement)


def bound_lock_waits(connection: Connection, seconds: int) -> None:
    statement = dialect_traits(connection.dialect.name).lock_timeout
    if statement:
        connection.exec_driver_sql(statement.format(seconds=seconds))
