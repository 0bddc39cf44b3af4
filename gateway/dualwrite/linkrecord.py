"""The environment link's record in the F&O database (DUALWRITEENVIRONMENTLINK and its steps,
DUALWRITELINKSTEP): its state, both sides' masked URLs and versions, and each step's status and times,
so that a setup that failed resumes at the step that failed and the admin service can show it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, inspect, select, update
from sqlalchemy.engine import make_url

from gateway.db import normalize_url
from gateway.dualwrite.store import RUNNING as RUNNING_MAP
from gateway.dualwrite.store import create_control_tables, link_identity, link_steps, links, maps_state, now

PROVISIONING, LINKED, FAILED, UNLINKED = "Provisioning", "Linked", "Failed", "Unlinked"
PENDING, RUNNING, DONE = "Pending", "Running", "Done"


def masked(url: str) -> str:
    """The URL as recorded and shown: the password hidden, a SQLite file as an absolute path (the same
    file named from two working directories is one database)."""
    parsed = make_url(normalize_url(url))
    if parsed.drivername.startswith("sqlite") and parsed.database and parsed.database != ":memory:":
        parsed = parsed.set(database=str(Path(parsed.database).resolve()))
    return parsed.render_as_string(hide_password=True)


@dataclass(frozen=True)
class LinkRow:
    id: int
    state: str
    fo_url: str
    dv_url: str
    linked_at: Any
    guid: str
    done: frozenset[str]  # the steps completed


class LinkRecord:
    """Reads and writes one F&O database's link rows; every write is its own transaction, so that what
    a failed run recorded survives it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def ensure_tables(self) -> None:
        create_control_tables(self.engine)  # the link's tables are control tables (idempotent)

    def current(self) -> LinkRow | None:
        """The link that is not Unlinked (at most one), or None."""
        with self.engine.connect() as connection:
            row = connection.execute(select(links).where(links.c.STATE != UNLINKED).order_by(links.c.SEQ.desc())
                                     .limit(1)).first()
            if row is None:
                return None
            done = connection.execute(select(link_steps.c.STEP).where(
                link_steps.c.LINKID == row.SEQ, link_steps.c.STATUS == DONE)).scalars()
            return LinkRow(int(row.SEQ), row.STATE, row.FOURL, row.DVURL, row.LINKEDAT, row.LINKGUID, frozenset(done))

    def map_names(self) -> set[str]:
        """The maps dual-write has a state row for (those of the maps folder when it was last installed)."""
        with self.engine.connect() as connection:
            return set(connection.execute(select(maps_state.c.MAPNAME)).scalars())

    def maps_not_running(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(maps_state)
                                          .where(maps_state.c.STATE != RUNNING_MAP)).scalar_one())

    def begin(self, fo_url: str, dv_url: str, steps: list[str]) -> int:
        with self.engine.begin() as connection:
            stamp = now()
            result = connection.execute(insert(links).values(
                STATE=PROVISIONING, FOURL=masked(fo_url), DVURL=masked(dv_url), LINKGUID=str(uuid.uuid4()),
                CREATEDAT=stamp, UPDATEDAT=stamp))
            key = result.inserted_primary_key
            assert key is not None
            link_id = int(key[0])
        self.add_steps(link_id, steps)
        return link_id

    def add_steps(self, link_id: int, steps: list[str]) -> None:
        """Step rows for the steps this link has none for yet (all of them, for a new link)."""
        with self.engine.begin() as connection:
            known = set(connection.execute(select(link_steps.c.STEP).where(link_steps.c.LINKID == link_id)).scalars())
            rows = [{"LINKID": link_id, "STEP": name, "POSITION": position, "STATUS": PENDING, "ATTEMPTS": 0}
                    for position, name in enumerate(steps, 1) if name not in known]
            if rows:
                connection.execute(insert(link_steps), rows)

    def resume(self, link_id: int) -> None:
        self._link(link_id, STATE=PROVISIONING)

    def started(self, link_id: int, step: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(link_steps).where(link_steps.c.LINKID == link_id, link_steps.c.STEP == step)
                               .values(STATUS=RUNNING, STARTEDAT=now(), FINISHEDAT=None, DETAIL=None,
                                       ATTEMPTS=link_steps.c.ATTEMPTS + 1))

    def done(self, link_id: int, step: str, detail: str, **link_values: Any) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(link_steps).where(link_steps.c.LINKID == link_id, link_steps.c.STEP == step)
                               .values(STATUS=DONE, FINISHEDAT=now(), DETAIL=detail))
            self._link(link_id, connection, STEP=step, **link_values)

    def failed(self, link_id: int, step: str, reason: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(link_steps).where(link_steps.c.LINKID == link_id, link_steps.c.STEP == step)
                               .values(STATUS=FAILED, FINISHEDAT=now(), DETAIL=reason))
            self._link(link_id, connection, STATE=FAILED, FAILEDSTEP=step, REASON=reason)

    def linked(self, link_id: int) -> None:
        self._link(link_id, STATE=LINKED, FAILEDSTEP=None, REASON=None, LINKEDAT=now())

    def unlinked(self, link_id: int) -> None:
        self._link(link_id, STATE=UNLINKED, UNLINKEDAT=now())

    def _link(self, link_id: int, connection: Connection | None = None, **values: Any) -> None:
        statement = update(links).where(links.c.SEQ == link_id).values(UPDATEDAT=now(), **values)
        if connection is not None:
            connection.execute(statement)
            return
        with self.engine.begin() as own:
            own.execute(statement)


def dataverse_identity(engine: Engine) -> tuple[str, str] | None:
    """(link Guid, F&O URL) of the link that provisioned this Dataverse-side database, or None."""
    if link_identity.name not in inspect(engine).get_table_names():
        return None
    with engine.connect() as connection:
        row = connection.execute(select(link_identity)).first()
    return None if row is None else (row.LINKGUID, row.FOURL)


def stamp_dataverse(engine: Engine, guid: str, fo_url: str) -> None:
    """Mark the Dataverse-side database as this link's (kept if it already is)."""
    link_identity.create(engine, checkfirst=True)
    with engine.begin() as connection:
        if connection.execute(select(link_identity.c.LINKGUID)).first() is None:
            connection.execute(insert(link_identity).values(LINKGUID=guid, FOURL=masked(fo_url), CREATEDAT=now()))
