"""Map lifecycle and the error log's retry: what `fno-gateway dualwrite ...` does.

start   prerequisites first; each map is Paused while its initial sync runs (changes made meanwhile
        queue), then Running (the worker replays the queue);
pause   changes queue in order;
resume  replay the queue (default), or move it to the error log as a retry list, or discard it;
stop    no more syncing; the queue is dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import and_, delete, func, insert, select, update

from gateway.dualwrite.apply import SyncError
from gateway.dualwrite.initial import InitialSyncResult, Progress, initial_sync
from gateway.dualwrite.service import DualWrite
from gateway.dualwrite.store import (
    PAUSED,
    RUNNING,
    STOPPED,
    changes,
    decode_values,
    errors,
    jobs,
    maps_state,
    now,
    queue,
)
from gateway.dualwrite.worker import WorkItem, apply_item
from gateway.errors import BadRequest

ResumeMode = str  # replay | retry | discard
ProgressFactory = Callable[[str], Progress | None]


def start(dual: DualWrite, names: list[str], initial: bool = True, progress: ProgressFactory | None = None,
          restart: bool = False) -> list[InitialSyncResult]:
    results = []
    states = dual.states()
    for table_map in dual.maps.ordered(names):
        if states.get(table_map.name) == RUNNING and not restart:
            continue
        if initial:
            dual.set_state(table_map.name, PAUSED)
            results.append(initial_sync(dual, table_map, "fo", progress(table_map.name) if progress else None,
                                        restart=restart))
        dual.set_state(table_map.name, RUNNING)
    return results


def pause(dual: DualWrite, name: str) -> None:
    _require(dual, name, (RUNNING,), "pause")
    dual.set_state(name, PAUSED)


def resume(dual: DualWrite, name: str, mode: ResumeMode = "replay") -> int:
    """Returns how many queued changes were moved (retry) or dropped (discard); replay leaves them
    to the worker, in order."""
    _require(dual, name, (PAUSED,), "resume")
    moved = 0
    if mode in ("retry", "discard"):
        moved += _take_logged(dual, name, mode)
    if mode == "retry":
        with dual.control.begin() as connection:
            rows = connection.execute(select(queue).where(queue.c.MAPNAME == name).order_by(queue.c.SEQ)).all()
            for row in rows:
                connection.execute(insert(errors).values(
                    MAPNAME=name, SOURCE=row.SOURCE, OP=row.OP, KEYDATA=row.KEYDATA, KIND="queue", CODE="Skipped",
                    MESSAGE="queued while the map was paused; moved to the retry list on resume", STATUS="Open",
                    CREATEDAT=now()))
            connection.execute(delete(queue).where(queue.c.MAPNAME == name))
            moved += len(rows)
    elif mode == "discard":
        moved += dual.clear_queue(name)
    elif mode != "replay":
        raise BadRequest(f"resume takes replay, retry or discard, not {mode!r}")
    dual.set_state(name, RUNNING)
    return moved


def _take_logged(dual: DualWrite, name: str, mode: ResumeMode) -> int:
    """The map's changes the gateway queued in the change logs that the worker has not moved to the map's
    queue yet: part of the queue all the same (changes captured by triggers are per table, not per map:
    those the worker has not read yet replay)."""
    taken = 0
    for side in ("fo", "dv"):
        with dual.endpoint(side).engine.begin() as connection:
            mine = and_(changes.c.MAPNAME == name, changes.c.JOB.is_(None))
            rows = connection.execute(select(changes).where(mine).order_by(changes.c.SEQ)).all()
            connection.execute(delete(changes).where(mine))
        if mode == "retry" and rows:
            with dual.control.begin() as connection:
                connection.execute(insert(errors), [
                    {"MAPNAME": name, "SOURCE": side, "OP": row.OP, "KEYDATA": row.KEYDATA, "KIND": "queue",
                     "CODE": "Skipped", "MESSAGE": "queued while the map was paused; moved to the retry list on resume",
                     "STATUS": "Open", "CREATEDAT": now()} for row in rows])
        taken += len(rows)
    return taken


def stop(dual: DualWrite, name: str) -> int:
    dual.table_map(name)
    dual.set_state(name, STOPPED)
    return dual.clear_queue(name)


def _require(dual: DualWrite, name: str, states: tuple[str, ...], action: str) -> None:
    dual.table_map(name)
    state = dual.states().get(name)
    if state not in states:
        raise BadRequest(f"cannot {action} {name!r}: it is {state}")


def status(dual: DualWrite) -> list[dict[str, Any]]:
    with dual.control.connect() as connection:
        rows = {row.MAPNAME: row for row in connection.execute(select(maps_state))}
        counts = select(queue.c.MAPNAME, func.count()).group_by(queue.c.MAPNAME)
        queued: dict[str, int] = {name: count for name, count in connection.execute(counts)}
        counts = select(errors.c.MAPNAME, func.count()).where(errors.c.STATUS == "Open").group_by(errors.c.MAPNAME)
        open_errors: dict[str, int] = {name: count for name, count in connection.execute(counts)}
    result = []
    for table_map in dual.maps.ordered():
        row = rows.get(table_map.name)
        result.append({
            "map": table_map.name, "fo": table_map.fo, "dv": table_map.dv,
            "direction": "F&O ↔ Dataverse" if table_map.direction == "both" else "F&O → Dataverse",
            "state": row.STATE if row else STOPPED, "queued": queued.get(table_map.name, 0),
            "errors": open_errors.get(table_map.name, 0), "initial_sync": row.INITIALSYNC if row else None,
            "requires": table_map.requires,
        })
    return result


def error_list(dual: DualWrite, name: str | None = None, include_closed: bool = False, limit: int = 100) -> list[Any]:
    statement = select(errors).order_by(errors.c.SEQ.desc()).limit(limit)
    if name is not None:
        statement = statement.where(errors.c.MAPNAME == name)
    if not include_closed:
        statement = statement.where(errors.c.STATUS == "Open")
    with dual.control.connect() as connection:
        return list(connection.execute(statement))


def retry(dual: DualWrite, ids: list[int] | None = None, name: str | None = None) -> tuple[int, int]:
    """Apply the current state of each open error's row again. Returns (fixed, still failing)."""
    statement = select(errors).where(errors.c.STATUS == "Open").order_by(errors.c.SEQ)
    if ids:
        statement = statement.where(errors.c.SEQ.in_(ids))
    if name is not None:
        statement = statement.where(errors.c.MAPNAME == name)
    with dual.control.connect() as connection:
        rows = list(connection.execute(statement))
    fixed = failing = 0
    for row in rows:
        table_map = dual.maps.maps.get(row.MAPNAME)
        if table_map is None or not row.KEYDATA.startswith("{"):
            continue
        try:
            apply_item(dual, WorkItem(table_map, row.SOURCE, row.OP, decode_values(row.KEYDATA)))
            outcome = "Retried"
            fixed += 1
        except SyncError as error:
            dual.log_error(table_map, row.SOURCE, row.OP, decode_values(row.KEYDATA), "retry", error.code,
                           error.message)
            outcome = "Retried"
            failing += 1
        with dual.control.begin() as connection:
            connection.execute(update(errors).where(errors.c.SEQ == row.SEQ).values(STATUS=outcome))
    return fixed, failing


def job_list(dual: DualWrite, limit: int = 50) -> list[Any]:
    with dual.control.connect() as connection:
        return list(connection.execute(select(jobs).order_by(jobs.c.CREATEDAT.desc()).limit(limit)))

