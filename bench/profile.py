"""Where one request kind's time goes: py-spy on a served gateway worker under load, summarized.

    python -m bench.profile --kind expand [--scale 100] [--db postgresql] [--seconds 10] [--concurrency 4]

Starts `fno-gateway serve` with one worker on the bench database, loads it with the kind's requests
(bench/load.py, as bench.run does) while `py-spy record` samples the worker (raw collapsed stacks),
and writes the functions with the most samples, inclusive and self, as markdown beside the
benchmark's reports (bench/results/<date>-scale<N>[-postgresql]-profile-<kind>.md). Idle threads
(pool threads waiting for work) and the event loop's wait for I/O are left out of the shares.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from bench import kinds as K
from bench import raw as R
from bench.run import (
    LOCAL_POSTGRESQL,
    RESULTS,
    _load_process,
    capture_all,
    ensure_database,
    ensure_postgresql,
)
from bench.servers import free_port, gateway_server

# Frames that are waiting, not working: a pool thread's wait for work (in C below `_worker`), the
# loop's wait for sockets (in C below uvloop's run).
IDLE = ("Condition.wait", "EpollSelector.select", "Runner.run (asyncio/runners.py)",
        "_worker (concurrent/futures/thread.py)")
# Frames under which everything runs (process and thread start-up): no news in the inclusive list.
FRAMES_OF_EVERYTHING = ("threading.py", "<frozen runpy>", "uvicorn/main.py", "uvicorn/server.py", "uvicorn/_compat.py",
                        "asyncio/runners.py", "concurrent/futures/thread.py", "gateway/cli.py", "gateway/balance.py")


def summarize(collapsed: Path, top: int = 30) -> tuple[int, list[tuple[str, float]], list[tuple[str, float]]]:
    """(busy samples, inclusive shares, self shares) of py-spy's raw (collapsed stack) output."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    busy = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        frames = [_name(frame) for frame in stack.split(";")[1:]]  # (the first frame is the process)
        if not frames or any(frames[-1].startswith(idle) for idle in IDLE):
            continue
        count = int(count_text)
        busy += count
        for frame in set(frames):
            if not any(marker in frame for marker in FRAMES_OF_EVERYTHING):
                inclusive[frame] += count
        own[frames[-1]] += count
    return (busy, [(name, count / busy) for name, count in inclusive.most_common(top)],
            [(name, count / busy) for name, count in own.most_common(top)])


def _name(frame: str) -> str:
    """'function (path/to/file.py:12)' → 'function (file path from the package)'."""
    function, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0]
    for marker in ("site-packages/", "/lib/python3", "/work/", "/gateway/", "/grammar/"):
        if marker in path:
            path = path.split(marker, 1)[1] if marker.endswith("/") else marker.strip("/") + path.split(marker, 1)[1]
    return f"{function} ({path})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--kind", default="expand", help="request kind (bench/kinds.py)")
    parser.add_argument("--scale", type=float, default=100)
    parser.add_argument("--db", default="sqlite", help="sqlite, 'postgresql' or a PostgreSQL server URL")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--out", default="")
    args = parser.parse_args(argv)
    if shutil.which("py-spy") is None:
        print("py-spy is not installed (pip install -e '.[bench]')", file=sys.stderr)
        return 2
    sqlite_file = ensure_database(args.scale)
    samples = K.samples(sqlite_file)
    database: R.Database = sqlite_file
    if args.db != "sqlite":
        database = ensure_postgresql(args.scale, LOCAL_POSTGRESQL if args.db == "postgresql" else args.db, samples.rows)
    capture_arguments = argparse.Namespace(kinds=args.kind)
    results, _ = capture_all(database, samples, capture_arguments)
    kind = results[0].kind
    server = gateway_server(database, 1, free_port())
    with tempfile.TemporaryDirectory() as folder:
        collapsed = Path(folder) / "stacks.txt"
        try:
            server.start()
            worker = server.workers()[0] if server.workers() else None
            pid = worker.pid if worker is not None else server.process.pid  # type: ignore[union-attr]
            spy = subprocess.Popen(["py-spy", "record", "--format", "raw", "--rate", "200", "--duration",
                                    str(args.seconds), "--pid", str(pid), "--output", str(collapsed)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            spec = {"mode": "requests", "port": server.port, "requests": [r.spec() for r in kind.gateway],
                    "concurrency": args.concurrency, "duration": args.seconds, "warmup": 0.5,
                    "max_requests": 1_000_000}
            output = _load_process(spec, timeout=args.seconds + 120)
            spy.wait(timeout=args.seconds + 60)
        finally:
            server.stop()
        busy, inclusive, own = summarize(collapsed)
    rate = output["count"] / output["elapsed"] if output["elapsed"] else 0.0
    lines = [
        f"# Profile: {kind.title}, scale {args.scale:g}, {R.url_of(database).split('://')[0]}",
        "",
        f"`python -m bench.profile {' '.join(argv if argv is not None else sys.argv[1:])}`: one gateway worker, "
        f"concurrency {args.concurrency}, {args.seconds} s under py-spy (200 Hz, which slows it): {rate:,.0f} req/s "
        f"while sampled; {busy:,} busy samples (idle waits left out).",
        "",
        "## Inclusive (share of busy samples with the function on the stack)",
        "",
        "| share | function |",
        "| ---: | --- |",
        *(f"| {share:.1%} | `{name}` |" for name, share in inclusive),
        "",
        "## Self (share of busy samples in the function itself)",
        "",
        "| share | function |",
        "| ---: | --- |",
        *(f"| {share:.1%} | `{name}` |" for name, share in own),
        "",
    ]
    suffix = "" if args.db == "sqlite" else "-postgresql"
    path = Path(args.out) if args.out else RESULTS / (
        f"{dt.date.today().isoformat()}-scale{args.scale:g}{suffix}-profile-{args.kind}.md")
    path.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
