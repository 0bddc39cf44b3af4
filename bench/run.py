"""The benchmark: the gateway against SAP CAP and against its own SQL run raw, on one demo database.

    python -m bench.run [--scale 10] [--workers 2] [--concurrency 8] [--duration 3] [--rounds 3] [--db postgresql]

1. builds bench/.data/fno-scale<N>.db if it is missing (and puts it in WAL mode, see below); with
   `--db postgresql[+psycopg://user@host:port]` also the PostgreSQL database fno_bench_s<N> (the same
   generator and seed: the same rows), which both servers then read instead;
2. raw baseline, in this process, before any server runs: the gateway's captured SQL replayed through
   sqlite3 and serialized with orjson in a plain loop (bench/raw.py); the $filter front end against
   odata-query (bench/parse.py);
3. starts the gateway (`python -m gateway.cli serve --workers N`, uvicorn) and CAP (bench/cap/server.js,
   N node cluster workers) on free ports of 127.0.0.1, each in its own process group;
4. for every request kind, rounds of A/B (the order alternates per round) with the load generator
   (bench/load.py, a separate process) at `--concurrency`, then at concurrency 1 for latencies;
5. exports every row of SalesOrderLines through nextLinks from each server, alternately;
6. memory: a fresh gateway per case (page of 100 vs 10,000 rows; export of 10,000 rows vs all rows),
   the workers' peak RSS (VmHWM) after each;
7. writes the markdown report to bench/results/<date>-scale<N>.md and prints it.

Servers are stopped in `finally` blocks; every load run is bounded by time and request count.
WAL: CAP's SQLite driver switches the file to WAL on connect (a persistent setting); the benchmark
does it first, so both servers always read the file in the same journal mode.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import kinds as K
from bench import parse as P
from bench import raw as R
from bench.report import write_report
from bench.servers import (
    BENCH,
    ROOT,
    RssSampler,
    Server,
    cap_available,
    cap_server,
    free_port,
    gateway_server,
    install_cap,
    peak_rss_mb,
    rss_mb,
)

DATA = BENCH / ".data"
LOCAL_POSTGRESQL = "postgresql+psycopg://postgres@127.0.0.1:5432"
RESULTS = BENCH / "results"


@dataclass
class Run:
    """One load-generator run against one server."""

    count: int
    elapsed: float
    latencies_ms: list[float]
    errors: list[str]
    bytes: int = 0
    peak_rss_mb: float = 0.0
    pages: int = 0
    complete: bool = True

    @property
    def throughput(self) -> float:
        return self.count / self.elapsed if self.elapsed > 0 else 0.0


@dataclass
class KindResult:
    kind: K.Kind
    gateway_status: int = 200
    cap_status: int | None = None
    cap_problem: str = ""
    loaded: dict[str, list[Run]] = field(default_factory=lambda: {"gateway": [], "cap": []})  # at --concurrency
    single: dict[str, list[Run]] = field(default_factory=lambda: {"gateway": [], "cap": []})  # at concurrency 1
    raw_ms: list[float] = field(default_factory=list)
    raw_source: str = "captured"
    rows: dict[str, int] = field(default_factory=dict)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=10, help="demo database scale (100 ≈ 1,000,000 sales lines)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of each server")
    parser.add_argument("--concurrency", type=int, default=8, help="connections of the load generator")
    parser.add_argument("--duration", type=float, default=3.0, help="seconds of each measured run")
    parser.add_argument("--rounds", type=int, default=3, help="A/B rounds per request kind")
    parser.add_argument("--warmup", type=float, default=0.5, help="unmeasured seconds before each run")
    parser.add_argument("--max-requests", type=int, default=200_000, help="most requests of one run")
    parser.add_argument("--export-rounds", type=int, default=2, help="A/B rounds of the full export")
    parser.add_argument("--parse-expressions", type=int, default=1000, help="fresh $filter texts timed")
    parser.add_argument("--kinds", default="", help="comma-separated subset of request kinds")
    parser.add_argument("--no-cap", action="store_true", help="skip SAP CAP")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory phase")
    parser.add_argument("--out", default="", help="report file (default bench/results/<date>-scale<N>[-postgresql].md)")
    parser.add_argument("--db", default="sqlite", help="sqlite, or a PostgreSQL server: 'postgresql' (the local one, "
                        f"{LOCAL_POSTGRESQL}) or its SQLAlchemy URL without a database")
    args = parser.parse_args(argv)

    started = time.time()
    load_before = os.getloadavg()[0]
    sqlite_file = ensure_database(args.scale)  # the samples (keys, literals) are read from it in any case
    samples = K.samples(sqlite_file)
    db_file: R.Database = sqlite_file
    if args.db != "sqlite":
        db_file = ensure_postgresql(args.scale, LOCAL_POSTGRESQL if args.db == "postgresql" else args.db, samples.rows)
    log(f"database {R.url_of(db_file)}: {samples.rows:,} sales lines")

    # -- in-process: capture the gateway's SQL, build the deep-page token, raw baseline, parse comparison
    results, export_sql = capture_all(db_file, samples, args)
    log("raw baseline (captured SQL through the same driver + orjson, one thread)")
    for result in results:
        variants = result.raw_variants  # type: ignore[attr-defined]
        result.raw_ms = R.replay_variants(db_file, variants, args.duration)
    raw_export_rows, raw_export_seconds = R.replay_export(db_file, export_sql)
    log(f"raw export: {raw_export_rows:,} rows in {raw_export_seconds:.2f}s")
    log("$filter front end vs odata-query")
    parse_result = P.measure(args.parse_expressions, repeats=3)

    # -- servers
    cap_reason = None if not args.no_cap else "--no-cap"
    if cap_reason is None:
        try:
            install_cap()
        except (subprocess.SubprocessError, OSError) as error:
            cap_reason = f"npm ci failed: {error}"
        cap_reason = cap_reason or cap_available()
    exports: dict[str, list[Run]] = {"gateway": [], "cap": []}
    server_rss: dict[str, float] = {}
    gateway = gateway_server(db_file, args.workers, free_port())
    cap = cap_server(db_file, args.workers, free_port()) if cap_reason is None else None
    try:
        gateway.start()
        if cap is not None:
            try:
                cap.start()
            except RuntimeError as error:
                cap_reason, cap = f"CAP did not start: {error}", None
        servers: dict[str, Server] = {"gateway": gateway}
        if cap is not None:
            servers["cap"] = cap
        sanity(results, servers)
        for phase, concurrency, duration in (("loaded", args.concurrency, args.duration),
                                             ("single", 1, max(1.0, args.duration / 2))):
            log(f"A/B rounds at concurrency {concurrency}")
            for round_index in range(args.rounds):
                order = list(servers) if round_index % 2 == 0 else list(reversed(servers))
                for result in results:
                    for name in order:
                        if not available(result, name):
                            continue
                        requests = result.kind.gateway if name == "gateway" else result.kind.cap
                        run = load(servers[name], requests, concurrency, duration, args.warmup, args.max_requests,
                                   sample_rss=phase == "loaded")
                        getattr(result, phase)[name].append(run)
                        if run.errors:
                            log(f"  {result.kind.name}/{name}: {len(run.errors)} errors, first: {run.errors[0]}")
        log("full export through nextLinks")
        for round_index in range(args.export_rounds):
            order = list(servers) if round_index % 2 == 0 else list(reversed(servers))
            for name in order:
                gateway_first, cap_first = K.export_requests("full")
                first = gateway_first if name == "gateway" else cap_first
                run = export(servers[name], first, timeout=max(600.0, samples.rows / 500))
                exports[name].append(run)
                log(f"  {name}: {run.pages} pages in {run.elapsed:.2f}s{'' if run.complete else ' (INCOMPLETE)'}")
        for name, server in servers.items():
            server_rss[name] = max((peak_rss_mb(worker) for worker in server.workers()), default=0.0)
    finally:
        gateway.stop()
        if cap is not None:
            cap.stop()

    memory = {} if args.no_memory else memory_phase(db_file, args.workers)
    report = write_report(
        path=Path(args.out) if args.out else RESULTS / (f"{dt.date.today().isoformat()}-scale{args.scale:g}"
                                                         f"{'' if args.db == 'sqlite' else '-postgresql'}.md"),
        args=args, samples=samples, results=results, exports=exports, raw_export=(raw_export_rows, raw_export_seconds),
        parse=parse_result, memory=memory, server_rss=server_rss, cap_reason=cap_reason,
        environment={**environment(db_file), "load average (1 min) at start / end": f"{load_before:.2f} / "
                     f"{os.getloadavg()[0]:.2f} (above ~0.5 at the start: something else was running)"},
        seconds=time.time() - started,
    )
    print(report)
    return 0


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def ensure_database(scale: float) -> Path:
    DATA.mkdir(parents=True, exist_ok=True)
    db_file = DATA / f"fno-scale{scale:g}.db"
    if not db_file.exists():
        log(f"building {db_file} (scale {scale:g})")
        partial = db_file.with_suffix(".building")
        partial.unlink(missing_ok=True)
        subprocess.run(
            [sys.executable, "-m", "gateway.cli", "demo-db", "--url", f"sqlite:///{partial}", "--scale", f"{scale:g}"],
            cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=3600,
        )
        partial.rename(db_file)
    db = sqlite3.connect(str(db_file))
    try:
        db.execute("PRAGMA journal_mode = WAL")
    finally:
        db.close()
    return db_file


def capture_all(db_file: R.Database, samples: K.Samples, args: argparse.Namespace) -> tuple[list[KindResult], R.Statement]:
    wanted = {name.strip() for name in args.kinds.split(",") if name.strip()}
    with R.gateway_app(db_file) as (client, captured):
        first = K.Request(K.url("/data/SalesOrderLines", cross_company="true"),
                          {"Prefer": f"odata.maxpagesize={K.DEEP_PAGE}"})
        token = R.deep_token(client, first.path, first.headers, samples.deep_after)
        results = []
        for kind in K.request_kinds(samples, token):
            if wanted and kind.name not in wanted:
                continue
            result = KindResult(kind)
            variants = []
            for request in kind.gateway:
                status, statements = R.capture(client, captured, request.path, request.headers)
                if status != 200:
                    result.gateway_status = status
                    break
                variants.append(statements)
            if result.gateway_status != 200 or not variants:
                if kind.raw_sql is None:
                    raise RuntimeError(f"{kind.name}: the gateway answers {result.gateway_status} and there is no "
                                       "hand-written SQL for the baseline")
                variants = [[kind.raw_sql]]
                result.raw_source = "hand-written"
            result.raw_variants = variants  # type: ignore[attr-defined]
            results.append(result)
        gateway_first, _ = K.export_requests("full")
        status, statements = R.capture(client, captured, gateway_first.path, gateway_first.headers)
        if status != 200:
            raise RuntimeError(f"export: the gateway answers {status}")
    return results, R.export_statement(statements)


def available(result: KindResult, server: str) -> bool:
    if server == "gateway":
        return result.gateway_status == 200
    return result.cap_status == 200


def sanity(results: list[KindResult], servers: dict[str, Server]) -> None:
    """Each kind's first request once on each server: status and row count, so a broken URL shows."""
    import urllib.error
    import urllib.request

    for result in results:
        for name, server in servers.items():
            request = (result.kind.gateway if name == "gateway" else result.kind.cap)[0]
            http = urllib.request.Request(f"http://127.0.0.1:{server.port}{request.path}", headers=request.headers)
            try:
                with urllib.request.urlopen(http, timeout=120) as response:
                    status, body = response.status, response.read()
            except urllib.error.HTTPError as error:
                status, body = error.code, error.read()
            if name == "cap":
                result.cap_status = status
                if status != 200:
                    result.cap_problem = body[:300].decode(errors="replace")
            elif status != result.gateway_status:
                result.gateway_status = status
            if status == 200:
                result.rows[name] = _rows(body)
        if len(set(result.rows.values())) > 1:
            log(f"  {result.kind.name}: row counts differ: {result.rows}")


def _rows(body: bytes) -> int:
    try:
        document = json.loads(body)
    except ValueError:
        return 1  # $count: plain text
    return len(document["value"]) if isinstance(document, dict) and "value" in document else 1


def load(server: Server, requests: list[K.Request], concurrency: int, duration: float, warmup: float,
         max_requests: int, sample_rss: bool = False) -> Run:
    spec = {"mode": "requests", "port": server.port, "requests": [r.spec() for r in requests],
            "concurrency": concurrency, "duration": duration, "warmup": warmup, "max_requests": max_requests}
    sampler = RssSampler(server)
    with sampler if sample_rss else _nothing():
        output = _load_process(spec, timeout=duration + warmup + 300)
    return Run(output["count"], output["elapsed"], output["latencies_ms"], output["errors"], output["bytes"],
               sampler.peak)


def export(server: Server, first: K.Request, timeout: float, max_pages: int = 10_000) -> Run:
    spec = {"mode": "export", "port": server.port, "requests": [first.spec()], "duration": timeout,
            "max_requests": max_pages}
    with RssSampler(server) as sampler:
        output = _load_process(spec, timeout=timeout + 60)
    return Run(output["count"], output["elapsed"], output["latencies_ms"], output["errors"], output["bytes"],
               sampler.peak, output["pages"], output["complete"])


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _load_process(spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    completed = subprocess.run([sys.executable, "-m", "bench.load"], input=json.dumps(spec).encode(), cwd=ROOT,
                               capture_output=True, timeout=timeout, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"load generator failed: {completed.stderr.decode()[-2000:]}")
    return json.loads(completed.stdout)  # type: ignore[no-any-return]


@dataclass
class MemoryCase:
    name: str
    idle_mb: float
    peak_mb: float
    requests: int
    seconds: float


def memory_phase(db_file: R.Database, workers: int) -> dict[str, MemoryCase]:
    """A fresh gateway per case; its workers' peak RSS (VmHWM) after the case's requests."""
    cases: dict[str, MemoryCase] = {}
    plan = [
        ("page of 100 rows (20 requests)", "requests", K.big_page_requests(100)),
        ("page of 10,000 rows (20 requests)", "requests", K.big_page_requests(10_000)),
        ("export of 10,000 rows", "export", [K.export_requests("small")[0]]),
        ("export of every row", "export", [K.export_requests("full")[0]]),
    ]
    for name, mode, requests in plan:
        server = gateway_server(db_file, workers, free_port())
        try:
            server.start()
            idle = max((rss_mb(worker) for worker in server.workers()), default=0.0)
            began = time.perf_counter()
            if mode == "requests":
                spec = {"mode": "requests", "port": server.port, "requests": [r.spec() for r in requests],
                        "concurrency": 1, "duration": 120, "max_requests": 20}
                output = _load_process(spec, timeout=300)
            else:
                spec = {"mode": "export", "port": server.port, "requests": [requests[0].spec()], "duration": 1800,
                        "max_requests": 10_000}
                output = _load_process(spec, timeout=1900)
            peak = max((peak_rss_mb(worker) for worker in server.workers()), default=0.0)
            cases[name] = MemoryCase(name, idle, peak, output["count"], time.perf_counter() - began)
            log(f"memory: {name}: idle {idle:.0f} MB, peak {peak:.0f} MB")
        finally:
            server.stop()
    return cases


def ensure_postgresql(scale: float, server: str, rows: int) -> str:
    """The demo at `scale` in the database fno_bench_s<scale> of `server` (built when missing or not
    holding the SQLite file's `rows` sales lines): its SQLAlchemy URL."""
    import psycopg

    name = "fno_bench_s" + f"{scale:g}".replace(".", "_")
    url = f"{server.rstrip('/')}/{name}"
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(dsn, autocommit=True) as connection:
            if connection.execute('SELECT count(*) FROM "SALESLINE"').fetchone() == (rows,):
                # Planner statistics, as autovacuum would gather them a while after the bulk load: without
                # them PostgreSQL guessed 126 rows for a company's 42,571 sales lines and sorted them all for
                # a page of 100. Both servers read the same analyzed tables.
                connection.execute("ANALYZE")
                return url
    except psycopg.Error:
        pass
    log(f"building {url} (scale {scale:g})")
    with psycopg.connect(dsn.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(
        [sys.executable, "-m", "gateway.cli", "demo-db", "--url", url, "--scale", f"{scale:g}"],
        cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=3600,
    )
    return ensure_postgresql(scale, server, rows)  # (analyzed there)


def environment(db_file: R.Database) -> dict[str, str]:
    def run(*command: str, cwd: Path = ROOT) -> str:
        try:
            return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=30,
                                  check=False).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return "?"

    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import sqlalchemy
    import uvicorn

    commit = run("git", "rev-parse", "--short", "HEAD")
    dirty = " (with uncommitted changes)" if run("git", "status", "--porcelain", "--", "gateway", "grammar") else ""
    cap_version = run("node", "-p", "require('@sap/cds/package.json').version + ' / @cap-js/sqlite ' + "
                      "require('@cap-js/sqlite/package.json').version + ' / SQLite ' + "
                      "new (require('better-sqlite3'))(':memory:').prepare('select sqlite_version() v').get().v + "
                      "' / @cap-js/postgres ' + require('@cap-js/postgres/package.json').version",
                      cwd=BENCH / "cap")
    database = f"SQLite {sqlite3.sqlite_version} file (WAL)"
    if not isinstance(db_file, Path):
        import psycopg

        with psycopg.connect(db_file.replace("postgresql+psycopg://", "postgresql://")) as connection:
            version = connection.execute("SHOW server_version").fetchone()
        database = f"PostgreSQL {version[0] if version else '?'} on 127.0.0.1 (psycopg {psycopg.__version__})"
    return {
        "machine": f"{cpu}, {os.cpu_count()} cores, Linux {platform.release()}",
        "database": database,
        "gateway": f"commit {commit}{dirty}; Python {platform.python_version()}, SQLAlchemy {sqlalchemy.__version__}, "
                   f"uvicorn {uvicorn.__version__}, SQLite {sqlite3.sqlite_version}",
        "cap": f"@sap/cds {cap_version}; Node {run('node', '--version')}",
    }


if __name__ == "__main__":
    raise SystemExit(main())
