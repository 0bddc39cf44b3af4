"""Leases: which one of several worker processes (on any machine, over one database) does a job.

A lease is a row (NAME, HOLDER, EXPIRES) in a table of the database the workers share. Its holder
renews it while working; it expires after `seconds` without renewal, and then anyone may take it.
A holder that was a process of this machine that no longer runs (killed) is taken over at once.
Dual-write's worker holds one lease; the events worker one for framing and one per endpoint.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import socket
import time
import uuid
from typing import Any

from sqlalchemy import Column, DateTime, Engine, MetaData, String, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

log = logging.getLogger("fno_gateway.lease")


def lease_table(name: str, metadata: MetaData) -> Table:
    return Table(
        name, metadata,
        Column("NAME", String(160), primary_key=True),
        Column("HOLDER", String(36), nullable=False),
        Column("EXPIRES", DateTime, nullable=False),
    )


def holder_identity() -> str:
    """Who holds a lease: this machine, this process, and a random part (fits HOLDER)."""
    return f"{socket.gethostname()[:18]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Lease:
    """One named lease as one holder sees it. Renewed in the database only once a third of it has
    passed: an idle worker's passes (two a second) write nothing."""

    def __init__(self, engine: Engine, table: Table, name: str, holder: str, seconds: float = 30) -> None:
        self.engine = engine
        self.table = table
        self.name = name
        self.holder = holder
        self.seconds = seconds
        self._renewed = -math.inf  # when this holder last wrote the lease (monotonic seconds)

    def hold(self) -> bool:
        """Hold (or take over an expired) lease; False while another live holder has it."""
        if time.monotonic() - self._renewed < self.seconds / 3:
            return True
        if self._take():
            self._renewed = time.monotonic()
            return True
        return False

    def release(self) -> None:
        """Give the lease back, so another worker may start at once."""
        self._renewed = -math.inf
        with self.engine.begin() as connection:
            connection.execute(delete(self.table).where(self.table.c.NAME == self.name,
                                                        self.table.c.HOLDER == self.holder))

    def _take(self) -> bool:
        c: Any = self.table.c
        expires = _now() + dt.timedelta(seconds=self.seconds)
        with self.engine.begin() as connection:
            taken = connection.execute(
                update(self.table).where(c.NAME == self.name, (c.HOLDER == self.holder) | (c.EXPIRES < _now()))
                .values(HOLDER=self.holder, EXPIRES=expires))
            if taken.rowcount == 1:
                return True
            holder = connection.execute(select(c.HOLDER).where(c.NAME == self.name)).scalar()
            if holder is not None:
                if not died_here(holder):
                    return False
                # Its holder was a process of this machine that is gone (killed): no need to wait the lease out.
                taken = connection.execute(update(self.table).where(c.NAME == self.name, c.HOLDER == holder)
                                           .values(HOLDER=self.holder, EXPIRES=expires))
                if taken.rowcount == 1:
                    log.warning("took over the lease %s of %s (that process is gone)", self.name, holder)
                return taken.rowcount == 1
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(self.table).values(NAME=self.name, HOLDER=self.holder, EXPIRES=expires))
            return True
        except IntegrityError:  # another worker made the lease first
            return False


def died_here(holder: str) -> bool:
    """Whether `holder` names a process of this machine that no longer runs."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname()[:18] or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        os.kill(int(pid_text), 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # it exists (another user's)
    return False
