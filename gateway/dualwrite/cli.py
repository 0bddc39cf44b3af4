"""`fno-gateway dualwrite ...`: the administration commands, printing plain tables."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from gateway.catalog.load import CatalogError, load_catalog
from gateway.dualwrite import lifecycle
from gateway.dualwrite.initial import Progress, initial_sync
from gateway.dualwrite.maps import STAGES, MapSet, TableMap, load_maps, other
from gateway.dualwrite.recovery import recover_at_start
from gateway.dualwrite.service import DualWrite
from gateway.dualwrite.verify import Difference, MapCheck, verify
from gateway.dualwrite.worker import Worker
from gateway.errors import ODataError
from gateway.progress import print_table, progress_bar
from gateway.settings import Settings


def run_action(arguments: argparse.Namespace, settings: Settings) -> int:
    from gateway.app import open_sides

    dual: DualWrite | None = None
    try:
        if arguments.action == "initial-sync" and arguments.plan:
            return _plan_only(settings, arguments)  # touches neither database
        dual = open_sides(settings)
        return _ACTIONS[arguments.action](dual, arguments)
    except (ODataError, CatalogError) as error:
        print(f"fno-gateway dualwrite {arguments.action}: {getattr(error, 'message', error)}", file=sys.stderr)
        return 1
    finally:
        if dual is not None:
            dual.fo.engine.dispose()
            dual.dv.engine.dispose()


def _names(dual: DualWrite, given: list[str]) -> list[str]:
    if given == ["all"]:
        return list(dual.maps.maps)
    for name in given:
        dual.table_map(name)
    return given


def _progress(name: str) -> Progress:
    bar = progress_bar(desc=name, unit="rows", file=sys.stderr, leave=True)  # plain lines when not a terminal
    return lambda done: bar.update(done)


def _list(dual: DualWrite, arguments: argparse.Namespace) -> int:
    rows = [(m.name, m.fo, "↔" if m.direction == "both" else "→", m.dv, ", ".join(m.requires) or "-",
             m.job or "-") for m in dual.maps.ordered()]
    print_table(("map", "F&O entity", "", "Dataverse table", "prerequisites", "integration job"), rows)
    return 0


def _status(dual: DualWrite, arguments: argparse.Namespace) -> int:
    rows = [(s["map"], s["state"], s["queued"], s["errors"], s["initial_sync"] or "-") for s in lifecycle.status(dual)]
    print_table(("map", "state", "queued", "open errors", "initial sync"), rows)
    return 0


def _start(dual: DualWrite, arguments: argparse.Namespace) -> int:
    results = lifecycle.start(dual, _names(dual, arguments.maps), not arguments.no_initial_sync, _progress)
    for result in results:
        print(result.summary())
    return 1 if any(result.counts["failed"] for result in results) else 0


def _pause(dual: DualWrite, arguments: argparse.Namespace) -> int:
    lifecycle.pause(dual, arguments.maps[0])
    print(f"{arguments.maps[0]}: Paused (changes queue until resume)")
    return 0


def _resume(dual: DualWrite, arguments: argparse.Namespace) -> int:
    mode = "retry" if arguments.retry_list else "discard" if arguments.discard else "replay"
    queued = dual.queue_length(arguments.maps[0])
    moved = lifecycle.resume(dual, arguments.maps[0], mode)
    what = {"replay": f"{queued} queued change(s) replay in order",
            "retry": f"{moved} queued change(s) moved to the retry list",
            "discard": f"{moved} queued change(s) discarded"}[mode]
    print(f"{arguments.maps[0]}: Running; {what}")
    return 0


def _stop(dual: DualWrite, arguments: argparse.Namespace) -> int:
    dropped = lifecycle.stop(dual, arguments.maps[0])
    print(f"{arguments.maps[0]}: Stopped ({dropped} queued change(s) dropped)")
    return 0


def _plan(maps: MapSet, given: list[str]) -> list[TableMap]:
    """The named maps (or all) in the documented execution order, printed as a numbered plan."""
    if given != ["all"]:
        for name in given:
            if name not in maps.maps:
                raise ODataError(f"there is no map named {name!r}")
    named = set(maps.maps if given == ["all"] else given)
    plan = [table_map for table_map in maps.ordered(sorted(named)) if table_map.name in named]
    print(f"initial sync plan: {len(plan)} map(s), stage by stage ({' → '.join(STAGES)}), prerequisites first")
    print_table(("step", "stage", "map", "F&O entity", "", "Dataverse table", "prerequisites"), [
        (step, m.stage, m.name, m.fo, "↔" if m.direction == "both" else "→", m.dv, ", ".join(m.requires) or "-")
        for step, m in enumerate(plan, start=1)])
    return plan


def _plan_only(settings: Settings, arguments: argparse.Namespace) -> int:
    if settings.dualwrite_maps.lower() == "none":
        raise ODataError("dual-write is switched off (--dualwrite-maps none)")
    maps = load_maps(settings.dualwrite_maps, load_catalog(settings.entities), load_catalog(settings.dataverse_entities))
    _plan(maps, arguments.maps)
    return 0


def _initial_sync(dual: DualWrite, arguments: argparse.Namespace) -> int:
    failed = 0
    plan = _plan(dual.maps, arguments.maps)
    for table_map in plan:
        result = initial_sync(dual, table_map, "fo", _progress(table_map.name), restart=arguments.restart)
        print(result.summary())
        failed += result.counts["failed"]
    return 1 if failed else 0


def _errors(dual: DualWrite, arguments: argparse.Namespace) -> int:
    rows = [(row.SEQ, row.MAPNAME, row.SOURCE, row.OP, row.KIND, row.CODE, row.STATUS, row.MESSAGE[:100])
            for row in lifecycle.error_list(dual, arguments.map, arguments.all)]
    print_table(("id", "map", "from", "op", "kind", "code", "status", "message"), rows)
    return 0


def _retry(dual: DualWrite, arguments: argparse.Namespace) -> int:
    fixed, failing = lifecycle.retry(dual, arguments.ids or None, arguments.map)
    print(f"{fixed} applied, {failing} still failing (logged again)")
    return 1 if failing else 0


def _jobs(dual: DualWrite, arguments: argparse.Namespace) -> int:
    rows = [(row.JOBID, row.STATUS, row.ROWS, row.APPLIED, row.FAILED, row.UPDATEDAT) for row in lifecycle.job_list(dual)]
    print_table(("job", "status", "rows", "applied", "failed", "updated"), rows)
    return 0


def _run(dual: DualWrite, arguments: argparse.Namespace) -> int:
    recover_at_start(dual)  # a worker started beside servers: what an earlier process left, at once
    worker = Worker(dual)
    try:
        if arguments.once:
            print(f"{worker.run_once()} change(s) handled")
            return 0
        print("dual-write worker running (Ctrl+C stops it)", file=sys.stderr)
        worker.run()
    except KeyboardInterrupt:
        pass
    finally:
        worker.release()
    return 0


def _verify(dual: DualWrite, arguments: argparse.Namespace) -> int:
    result = verify(dual, [arguments.map] if arguments.map else None, arguments.repair, arguments.master)
    if not result.maps:
        print("no map is Running (name one with --map)")
    for check in result.maps:
        for difference in check.shown + check.refusals:
            print(f"{check.map_name}  {difference.key}  {_difference(dual, difference)}")
        hidden = check.differing - len(check.shown) - len(check.refusals)
        if hidden:
            print(f"{check.map_name}  … and {hidden:,} more")
        print(_verified(check, result.repair))
    return 0 if result.clean else 1


def _difference(dual: DualWrite, difference: Difference) -> str:
    label = dual.endpoint(difference.side).label
    if difference.kind == "fields":
        text = "; ".join(f"{item.field}: F&O {item.fo}, Dataverse {item.dv}" for item in difference.fields)
    elif difference.kind == "only":
        text = f"only on {label}"
    else:
        text = f"cannot be converted for {dual.endpoint(other(difference.side)).label}: {difference.reason}"
    if difference.refused is not None:
        return f"{text}  → refused: {difference.refused}"
    return f"{text}  → {', '.join(difference.done)}" if difference.done else text


def _verified(check: MapCheck, repair: bool) -> str:
    differing = "none differ" if not check.differing else f"{check.differing:,} differ{'s' if check.differing == 1 else ''}"
    text = f"{check.map_name}: {check.compared:,} rows compared, {differing}"
    if repair and check.differing:
        text += f", repaired {check.repaired:,}" + (f", refused {check.refused:,}" if check.refused else "")
    return text


_ACTIONS: dict[str, Callable[[DualWrite, argparse.Namespace], int]] = {
    "list": _list, "status": _status, "start": _start, "pause": _pause, "resume": _resume, "stop": _stop,
    "initial-sync": _initial_sync, "errors": _errors, "retry": _retry, "jobs": _jobs, "run": _run,
    "verify": _verify,
}
