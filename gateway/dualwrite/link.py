"""`fno-gateway link`: provision the Dataverse-side store for an F&O database and start dual-write,
as a sequence of named steps recorded in the F&O database (gateway/dualwrite/linkrecord.py).

A run after a failure resumes at the step that failed: the steps done before are not done again. A
second run on a linked pair changes nothing; a link to another Dataverse-side URL is refused while one
exists. Every step is idempotent too, so a step cut short (the process killed) is simply run again.
"""

from __future__ import annotations

import importlib.metadata
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TextIO

from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.engine import make_url

from gateway.catalog.check import check_catalog
from gateway.catalog.load import CatalogError, load_catalog
from gateway.catalog.model import Catalog
from gateway.dataverse.schema import create_store, store_metadata
from gateway.db import make_engine
from gateway.dualwrite.capture import CAPTURE_DIALECTS, captured_tables
from gateway.dualwrite.initial import InitialSyncResult, initial_sync
from gateway.dualwrite.linkrecord import (
    LINKED,
    LinkRecord,
    LinkRow,
    dataverse_identity,
    masked,
    stamp_dataverse,
)
from gateway.dualwrite.maps import MapSet, TableMap, load_maps
from gateway.dualwrite.rows import Endpoint
from gateway.dualwrite.service import DualWrite, Limits
from gateway.dualwrite.store import (
    PAUSED,
    RUNNING,
    create_control_tables,
    create_side_tables,
    leases,
    maps_state,
)
from gateway.faults import fail_point
from gateway.identity.config import load_security
from gateway.lease import Lease, holder_identity
from gateway.progress import progress_bar
from gateway.settings import Settings, dataverse_db_url
from gateway.virtual.available import with_available_table


class LinkRefused(Exception):
    """The link cannot even start (no Dataverse-side URL, the F&O database unreachable, linked elsewhere)."""


class LinkLost(LinkRefused):
    """Linked, but the Dataverse-side database no longer holds the link (deleted, emptied or replaced)."""


@dataclass
class Sides:
    """Both databases, catalogs and maps, each opened on first use (a resumed run opens what it needs)."""

    settings: Settings
    fo_url: str
    dv_url: str
    fo: Engine
    out: TextIO
    guid: str = ""  # the link's identity (DUALWRITEENVIRONMENTLINK.LINKGUID)
    lease: Lease | None = None  # held while steps run: one `link` or `unlink` at a time per F&O database
    versions: dict[str, str] = field(default_factory=dict)

    @cached_property
    def dv(self) -> Engine:
        return make_engine(self.dv_url)

    @cached_property
    def fo_catalog(self) -> Catalog:
        return load_catalog(self.settings.entities)

    @cached_property
    def dv_catalog(self) -> Catalog:  # with the virtual tables' available-entities table: part of the store
        return with_available_table(load_catalog(self.settings.dataverse_entities))

    @cached_property
    def maps(self) -> MapSet:
        return load_maps(self.settings.dualwrite_maps, self.fo_catalog, self.dv_catalog)

    @cached_property
    def dual(self) -> DualWrite:
        """Dual-write over the provisioned sides, without installing anything (the steps do that)."""
        limits = Limits(live_rows=self.settings.live_sync_rows, live_seconds=self.settings.live_sync_seconds)
        return DualWrite(self.maps, Endpoint("fo", self.fo_catalog, self.fo), Endpoint("dv", self.dv_catalog, self.dv),
                         limits)

    def hold(self) -> None:
        """Take the link's lease, or refuse: another link or unlink of this F&O database is running."""
        self.lease = Lease(self.fo, leases, LINK_LEASE, holder_identity(), LINK_LEASE_SECONDS)
        if not self.lease.hold():
            with self.fo.connect() as connection:
                holder = connection.execute(select(leases.c.HOLDER).where(leases.c.NAME == LINK_LEASE)).scalar()
            self.lease = None
            raise LinkRefused(f"another `fno-gateway link` or `unlink` of this F&O database is running ({holder})")

    def renew(self) -> None:
        if self.lease is not None and not self.lease.hold():
            raise StepFailed("the link's lease was taken over by another process")

    def dispose(self) -> None:
        if self.lease is not None:
            self.lease.release()
        self.fo.dispose()
        if "dv" in self.__dict__:
            self.dv.dispose()


LINK_LEASE = "environment-link"
LINK_LEASE_SECONDS = 900.0  # renewed at each step and each map's initial sync; a killed holder here: at once


class StepFailed(Exception):
    """A check that found the sides unfit: the reason is the message."""


def _version(engine: Engine) -> str:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
        info = connection.dialect.server_version_info or ()
    return f"{engine.dialect.name} {'.'.join(str(part) for part in info)}".strip()


def _reach(sides: Sides) -> str:
    sides.versions = {"fo": _version(sides.fo), "dv": _version(sides.dv)}
    return f"F&O {sides.versions['fo']}, Dataverse side {sides.versions['dv']}"


def _versions(sides: Sides) -> str:
    if not sides.versions:  # a resumed run: read again, they are recorded with this step
        _reach(sides)
    for side, label in (("fo", "F&O"), ("dv", "Dataverse-side")):
        dialect = sides.versions[side].split(" ")[0]
        if dialect not in CAPTURE_DIALECTS:
            raise StepFailed(f"dual-write captures changes on {' and '.join(CAPTURE_DIALECTS)}; the {label} "
                             f"database is {dialect}")
    problems = check_catalog(sides.fo_catalog, sides.fo)
    if problems:
        raise StepFailed(f"the F&O database does not match the catalog {sides.settings.entities} "
                         f"({len(problems)} problem(s), `fno-gateway check` lists them): {problems[0]}")
    return (f"both capture changes; the F&O database matches its catalog ({len(sides.fo_catalog.entities)} "
            f"entities); gateway {_gateway_version()}")


def _gateway_version() -> str:
    try:
        return importlib.metadata.version("fno-gateway")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _identities(sides: Sides) -> str:
    security = load_security(sides.settings.security)
    admins = sorted(name for name, role in security.roles.items() if role.admin)
    if not admins:
        raise StepFailed(f"no role of {sides.settings.security} has `admin: true`: nobody could administer the link")
    holders = [holder for holder in (*security.users, *security.applications, *security.api_keys)
               if any(assignment.role in admins for assignment in holder.assignments())]
    if not holders and not security.token_roles:
        raise StepFailed(f"nobody holds an admin role ({', '.join(admins)}) and token roles are off")
    found = dataverse_identity(sides.dv)
    if found is not None and found[0] != sides.guid:
        raise StepFailed(f"the Dataverse-side database belongs to another link (of {found[1]}): link each F&O "
                         "database to a Dataverse side of its own")
    side = "the Dataverse side is this link's" if found else "the Dataverse side is not linked yet"
    return f"admin role(s) {', '.join(admins)}, held by {len(holders)} user(s)/application(s)/key(s); {side}"


def _dataverse_tables(sides: Sides) -> str:
    before = set(inspect(sides.dv).get_table_names())
    create_store(sides.dv, sides.dv_catalog)
    stamp_dataverse(sides.dv, sides.guid, sides.fo_url)
    problems = check_catalog(sides.dv_catalog, sides.dv)
    if problems:
        raise StepFailed(f"the Dataverse-side database has tables that do not match {sides.settings.dataverse_entities} "
                         f"({len(problems)} problem(s)): {problems[0]}")
    tables = set(store_metadata(sides.dv_catalog).tables)
    made = len(tables - before)
    return f"{made} table(s) created, {len(tables) - made} already there"


def _control_tables(sides: Sides) -> str:
    create_control_tables(sides.fo)
    create_side_tables(sides.fo)
    create_side_tables(sides.dv)
    return "state, queue, error log and jobs in the F&O database; change logs on both sides"


def _maps(sides: Sides) -> str:
    dual = sides.dual  # loading the maps checks every one against both catalogs
    dual.install()  # change capture on both sides, a state row per map
    fo_tables, dv_tables = len(captured_tables(dual.maps, "fo")), len(captured_tables(dual.maps, "dv"))
    return (f"{len(dual.maps.maps)} map(s) checked against both catalogs; change capture on {fo_tables} F&O "
            f"and {dv_tables} Dataverse-side table(s)")


def _initial_sync(sides: Sides) -> str:
    """Each map in prerequisite order: Paused (its changes queue) while its rows are copied. A map done
    by an earlier attempt is not copied again; one cut short resumes at its saved position."""
    dual = sides.dual
    with dual.control.connect() as connection:
        rows = {row.MAPNAME: row for row in connection.execute(select(maps_state))}
    if set(dual.maps.maps) - set(rows):  # a map added to the folder since the maps step: capture it too
        dual.install()
    copied = skipped = refused = 0
    for table_map in dual.maps.ordered():
        row = rows.get(table_map.name)
        if row is not None and (row.STATE == RUNNING or (row.STATE == PAUSED and row.INITIALSYNC == "Done")):
            skipped += 1
            continue
        fail_point(f"link:initial-sync:{table_map.name}")
        result = _copy(sides, table_map)
        copied += 1
        refused += result.counts["failed"]
    text_ = f"{copied} map(s) copied, {skipped} done before"
    return text_ + (f"; {refused:,} row(s) refused (`fno-gateway dualwrite errors`)" if refused else "")


def _copy(sides: Sides, table_map: TableMap) -> InitialSyncResult:
    """One map's initial sync, the map Paused meanwhile (its changes queue), with a progress bar."""
    sides.renew()
    sides.dual.set_state(table_map.name, PAUSED)
    bar = progress_bar(desc=table_map.name, unit="rows", file=sys.stderr, leave=True)
    result = initial_sync(sides.dual, table_map, "fo", lambda done: bar.update(done))
    bar.close()
    return result


def _start(sides: Sides) -> str:
    dual = sides.dual
    states = dual.states()
    for name in dual.maps.maps:
        if states.get(name) != RUNNING:
            dual.set_state(name, RUNNING)  # the worker replays what queued meanwhile
    return f"{len(dual.maps.maps)} map(s) Running"


@dataclass(frozen=True)
class Step:
    name: str
    does: str
    run: Callable[[Sides], str]


STEPS = (
    Step("reach", "both databases answer", _reach),
    Step("versions", "versions and schemas are compatible", _versions),
    Step("identities", "the security catalog loads and an admin identity exists", _identities),
    Step("dataverse-tables", "the Dataverse-side tables", _dataverse_tables),
    Step("control-tables", "dual-write's control tables and change logs", _control_tables),
    Step("maps", "the maps, checked against both catalogs, and change capture", _maps),
    Step("initial-sync", "initial sync of each map, prerequisites first", _initial_sync),
    Step("start", "every map Running", _start),
)
STEP_NAMES = [step.name for step in STEPS]


def open_link(settings: Settings, out: TextIO) -> tuple[Sides, LinkRecord, LinkRow | None]:
    """Both URLs, the F&O database reached and its link record read (refused if it cannot be)."""
    dv_url = dataverse_db_url(settings)
    if not dv_url:
        raise LinkRefused("no Dataverse-side database: give --dataverse-db")
    parsed = make_url(settings.db)
    if parsed.drivername.startswith("sqlite") and parsed.database and not Path(parsed.database).exists():
        raise LinkRefused(f"there is no F&O database at {masked(settings.db)} (`fno-gateway demo-db` builds one)")
    fo = make_engine(settings.db)
    try:
        record = LinkRecord(fo)
        record.ensure_tables()
        current = record.current()
    except Exception as error:
        fo.dispose()
        raise LinkRefused(f"cannot reach the F&O database {masked(settings.db)}: {_first_line(error)}") from error
    return Sides(settings, settings.db, dv_url, fo, out), record, current


def link(settings: Settings, out: TextIO) -> int:
    """Link (or resume linking) the F&O database to the Dataverse-side store; 0 when linked."""
    sides, record, current = open_link(settings, out)
    try:
        target = masked(sides.dv_url)
        if current is not None and current.dv_url != target:
            raise LinkRefused(f"{current.fo_url} is linked to {current.dv_url} ({current.state}), not {target}: "
                              "run `fno-gateway unlink` first to link it elsewhere")
        if current is not None and current.state == LINKED:
            _check_still_linked(sides, current)
            print(f"{current.fo_url} is already linked to {current.dv_url} (since {current.linked_at:%Y-%m-%d %H:%M:%S}"
                  " UTC): nothing to do", file=out)
            _bring_in_added_maps(sides, record, out)
            idle = record.maps_not_running()
            if idle:  # stopped or paused by hand: link leaves them as they are
                print(f"  {idle} map(s) not Running: see `fno-gateway dualwrite status`", file=out)
            return 0
        sides.hold()
        if current is None:
            link_id, done = record.begin(sides.fo_url, sides.dv_url, STEP_NAMES), frozenset[str]()
            current = record.current()
            assert current is not None
            print(f"linking {masked(sides.fo_url)} to {target}", file=out)
        else:
            link_id, done = current.id, current.done
            record.add_steps(link_id, STEP_NAMES)
            record.resume(link_id)
            pending = [name for name in STEP_NAMES if name not in done]
            print(f"resuming the link of {current.fo_url} to {target} at step {pending[0] if pending else 'end'} "
                  f"({len(done)} step(s) done before)", file=out)
        sides.guid = current.guid
        return _run_steps(sides, record, link_id, done)
    finally:
        sides.dispose()


def _bring_in_added_maps(sides: Sides, record: LinkRecord, out: TextIO) -> None:
    """Maps added to the folder since the pair was linked (a newer gateway ships more) join the link:
    their Dataverse tables, change capture, initial sync, then Running. Maps already known are left
    as they are, whatever their state."""
    added = set(sides.maps.maps) - record.map_names()
    if not added:
        return
    sides.hold()
    print(f"  {len(added)} map(s) added since the link: {', '.join(sorted(added))}", file=out)
    _dataverse_tables(sides)
    _control_tables(sides)
    dual = sides.dual
    dual.install()  # capture for the new maps' tables, a state row for each (Stopped)
    for table_map in dual.maps.ordered(sorted(added)):
        if table_map.name not in added:
            continue  # a prerequisite the link already runs
        result = _copy(sides, table_map)
        dual.set_state(table_map.name, RUNNING)
        print(f"  {result.summary()}; Running", file=out)


def _check_still_linked(sides: Sides, current: LinkRow) -> None:
    """A linked pair's Dataverse side must still be the one linked: one query there (and none at all when a
    SQLite file is gone: connecting would create an empty one)."""
    parsed = make_url(sides.dv_url)
    missing = parsed.drivername.startswith("sqlite") and parsed.database and not Path(parsed.database).exists()
    try:
        found = None if missing else dataverse_identity(sides.dv)
    except Exception as error:
        raise LinkRefused(f"{current.fo_url} is linked to {current.dv_url}, which does not answer: "
                          f"{_first_line(error)}") from error
    if found is None or found[0] != current.guid:
        what = "is gone" if missing else "no longer holds the link" if found is None else "belongs to another link"
        raise LinkLost(f"{current.fo_url} is linked to {current.dv_url}, but that database {what}: run "
                       "`fno-gateway unlink`, then `fno-gateway link` to provision it again")


def _run_steps(sides: Sides, record: LinkRecord, link_id: int, done: frozenset[str]) -> int:
    width = max(len(name) for name in STEP_NAMES)
    for position, step in enumerate(STEPS, 1):
        label = f"  {position}/{len(STEPS)} {step.name:<{width}}"
        if step.name in done:
            print(f"{label}  done before", file=sides.out)
            continue
        record.started(link_id, step.name)
        try:
            sides.renew()
            fail_point(f"link:{step.name}")
            detail = step.run(sides)
        except Exception as error:  # any failure is recorded with its reason; the next run resumes here
            reason = _first_line(error)
            record.failed(link_id, step.name, reason)
            print(f"{label}  FAILED: {reason}", file=sides.out)
            print(f"link failed at step {step.name}; fix the cause and run `fno-gateway link` again: it resumes "
                  "there", file=sides.out)
            return 1
        values = {}
        if step.name in ("reach", "versions") and sides.versions:
            values = {"FOVERSION": sides.versions["fo"], "DVVERSION": sides.versions["dv"],
                      "GATEWAYVERSION": _gateway_version()}
        record.done(link_id, step.name, detail, **values)
        print(f"{label}  {detail}", file=sides.out)
    record.linked(link_id)
    print(f"linked (EnvironmentLinks({link_id}) at /admin/data)", file=sides.out)
    return 0


def _first_line(error: BaseException) -> str:
    if isinstance(error, CatalogError) and error.problems:  # its first line only says "invalid catalog:"
        more = f" (and {len(error.problems) - 1} more)" if len(error.problems) > 1 else ""
        return f"invalid catalog: {error.problems[0]}{more}"
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    return str(message).strip().splitlines()[0]
