"""What business and data events cost a write, and how fast they reach a webhook.

    python -m bench.events [--db URL] [--seconds 20] [--burst 2000] [--writes 2000] [--patches 300] [--keep]

On a small demo database (SQLite file by default; a PostgreSQL URL is created if missing) one webhook
endpoint gets CustomersV3_Updated (a data event) and CustomerCreditLimitChangedBusinessEvent: every
credit-limit change raises both. Processes as users run them: the webhook receiver
(`python -m gateway.events.receiver --record FILE`) and `fno-gateway events worker` (budget raised so it
never throttles); the bench commits UPDATEs of CUSTTABLE.CREDITMAX by plain SQL, one transaction each.

1. Write cost: median single-row UPDATE (and PATCH through the gateway in-process) without capture
   triggers and with them; blocks of each alternate, so drift hits both alike. No worker runs meanwhile.
2. Delivery: changes at F&O's documented budget (5,000 per 5 minutes = 16.7/s) and at 10x, then a
   burst as fast as one connection commits. CREDITMAX = BASE + sequence number, so each received event
   (NewCreditLimit, Target.CreditLimit) names its change; latency = the receiver's ReceivedAt (wall
   clock, ms) minus the time COMMIT returned to the bench (same machine, same clock).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from bench.auth import BENCH_KEY, gateway_auth
from bench.report import percentile
from gateway.app import create_app
from gateway.catalog.load import load_catalog
from gateway.db import make_engine, normalize_url
from gateway.demo.generate import build_demo_database
from gateway.events.capture import reconcile
from gateway.events.service import ACTIVATIONS, ENDPOINTS, Events, endpoint_body
from gateway.settings import Settings

DATA_EVENT, BUSINESS_EVENT = "CustomersV3_Updated", "CustomerCreditLimitChangedBusinessEvent"
BUDGET_RATE = 5000 / 300  # F&O's documented data-event budget: 5,000 per 5 minutes
BASE = 1_000_000  # CREDITMAX = BASE + sequence number: larger than any demo credit limit
BLOCK = 100  # writes per block in the write-cost part (blocks with and without triggers alternate)
COMPANY = "usmf"
ROOT = Path(__file__).resolve().parent.parent  # the processes run from the checkout (python -m ...)


# ---------------------------------------------------------------------------------------------- database
def server_database(url: str) -> str:
    """PostgreSQL: the URL's database, created if missing (as tests/conftest.py does); others as given."""
    parsed = make_url(normalize_url(url))
    if parsed.get_backend_name() != "postgresql":
        return url
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            present = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                         {"name": parsed.database}).scalar()
            if present is None:
                connection.execute(text(f'CREATE DATABASE "{parsed.database}" TEMPLATE template0 ENCODING '
                                        "'UTF8' LC_COLLATE 'C' LC_CTYPE 'C.UTF-8'"))
    finally:
        admin.dispose()
    return url


class Writer:
    """Credit-limit changes by plain SQL on one DBAPI connection, one transaction each; remembers when
    each sequence number's COMMIT returned (wall clock, as the receiver's ReceivedAt)."""

    def __init__(self, engine: Engine, accounts: list[str]) -> None:
        self.connection = engine.raw_connection()
        mark = "?" if engine.dialect.name == "sqlite" else "%s"
        self.sql = (f'UPDATE "CUSTTABLE" SET "CREDITMAX" = {mark} '
                    f'WHERE "DATAAREAID" = \'{COMPANY}\' AND "ACCOUNTNUM" = {mark}')
        self.accounts = accounts
        self.committed: dict[int, float] = {}
        self.next_seq = 1

    def commit(self) -> float:
        """One change (the next sequence number); returns how long UPDATE + COMMIT took (seconds)."""
        seq = self.next_seq
        self.next_seq += 1
        began = time.perf_counter()
        cursor = self.connection.cursor()
        cursor.execute(self.sql, (BASE + seq, self.accounts[seq % len(self.accounts)]))
        cursor.close()
        self.connection.commit()
        ended = time.perf_counter()
        self.committed[seq] = time.time()
        return ended - began

    def close(self) -> None:
        self.connection.close()


# ---------------------------------------------------------------------------------------------- processes
def free_port() -> int:
    with socket.socket() as probe:  # bench/servers.py has the same, but needs psutil
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def process(name: str, command: list[str], folder: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A child process in its own group (its log in `folder`), stopped (TERM, then KILL) however we leave."""
    log = folder / f"{name}.log"
    with log.open("wb") as output:
        child = subprocess.Popen(command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield child
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGTERM)
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait(timeout=15)


def cpu_seconds(child: subprocess.Popen[bytes]) -> float:
    """User + system CPU time a child used so far (Linux /proc; NaN elsewhere): is it saturated?"""
    try:
        fields = Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def alive(child: subprocess.Popen[bytes], name: str, folder: Path) -> None:
    if child.poll() is not None:
        raise RuntimeError(f"{name} exited ({child.returncode}): {(folder / f'{name}.log').read_text()[-2000:]}")


@dataclass
class Arrivals:
    """The receiver's record file, read as it grows: (sequence number, event) -> arrival (epoch seconds)."""

    path: Path
    seen: dict[tuple[int, str], float] = field(default_factory=dict)
    duplicates: int = 0
    _offset: int = 0

    def poll(self) -> int:
        if not self.path.exists():
            return len(self.seen)
        with self.path.open("rb") as file:
            file.seek(self._offset)
            chunk = file.read()
        complete = chunk[:chunk.rfind(b"\n") + 1]  # a line still being written is read next time
        self._offset += len(complete)
        for line in complete.splitlines():
            event = json.loads(line)
            body = event["Body"]
            value = body["NewCreditLimit"] if body["BusinessEventId"] == BUSINESS_EVENT else body["Target"]["CreditLimit"]
            key = (int(Decimal(str(value))) - BASE, body["BusinessEventId"])
            if key in self.seen:
                self.duplicates += 1  # at least once: a resend after a lost acknowledgment
                continue
            self.seen[key] = dt.datetime.fromisoformat(event["ReceivedAt"]).timestamp()
        return len(self.seen)

    def wait(self, seqs: range, seconds: float, worker: subprocess.Popen[bytes], folder: Path) -> bool:
        """Until both events of every change in `seqs` arrived (False: `seconds` passed first)."""
        wanted = {(seq, kind) for seq in seqs for kind in (DATA_EVENT, BUSINESS_EVENT)}
        deadline = time.monotonic() + seconds
        while True:
            self.poll()
            if wanted <= self.seen.keys():
                return True
            alive(worker, "worker", folder)
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)


# ---------------------------------------------------------------------------------------------- part 1: write cost
def write_cost(engine: Engine, events: Events, writer: Writer, writes: int) -> tuple[float, float]:
    """Median UPDATE + COMMIT (ms) without and with the capture triggers, alternating blocks."""
    triggers = events.wanted_triggers()
    times: tuple[list[float], list[float]] = ([], [])
    for block in range(2 + 2 * max(1, writes // BLOCK)):  # the first pair warms up
        captured = block % 2
        reconcile(engine, triggers if captured else [])
        durations = [writer.commit() for _ in range(BLOCK)]
        if block >= 2:
            times[captured].extend(durations)
        assert clear_captured(engine) == BLOCK * captured, "the triggers capture each change once, or nothing"
    return statistics.median(times[0]) * 1000, statistics.median(times[1]) * 1000


def patch_cost(url: str, engine: Engine, events: Events, accounts: list[str], patches: int) -> tuple[float, float]:
    """The same through the gateway: PATCH /data/CustomersV3(...) in-process (TestClient, bearer token)."""
    triggers = events.wanted_triggers()
    settings = Settings(db=url, dev_key=str(BENCH_KEY), dualwrite_maps="none", rate_requests=0,
                        rate_execution_seconds=0.0)
    times: tuple[list[float], list[float]] = ([], [])
    block = max(1, min(BLOCK, patches // 4))
    with TestClient(create_app(settings), headers=gateway_auth()) as client:
        for index in range(2 + 2 * max(1, patches // block)):
            captured = index % 2
            reconcile(engine, triggers if captured else [])
            for number in range(block):
                account = accounts[number % len(accounts)]
                began = time.perf_counter()
                response = client.patch(f"/data/CustomersV3(dataAreaId='{COMPANY}',CustomerAccount='{account}')",
                                        json={"CreditLimit": 500_000 + index * block + number})
                elapsed = time.perf_counter() - began
                assert response.status_code == 204, response.text
                if index >= 2:
                    times[captured].append(elapsed)
            clear_captured(engine)
        for service in client.app.state.services.values():  # type: ignore[attr-defined]
            service.engine.dispose()
    return statistics.median(times[0]) * 1000, statistics.median(times[1]) * 1000


def clear_captured(engine: Engine) -> int:
    """Empty the capture log (the worker is not running yet); returns how many rows it held."""
    with engine.begin() as connection:
        return int(connection.execute(text('DELETE FROM "EVENTCHANGES"')).rowcount)


# ---------------------------------------------------------------------------------------------- part 2: delivery
@dataclass
class Phase:
    name: str
    changes: int
    commit_seconds: float  # first commit to last commit
    delivered: int
    pipeline_rate: float  # events delivered per second, first commit to last arrival
    p50: float
    p99: float
    worst: float
    backlog: int  # events raised but not yet delivered when the last change committed
    drain: float  # last commit to last arrival (s)
    complete: bool
    paced: bool
    cpu: dict[str, float]  # CPU used by each child process over the phase, % of one core


def run_phase(name: str, writer: Writer, arrivals: Arrivals, count: int, rate: float | None, drain_limit: float,
              children: dict[str, subprocess.Popen[bytes]], folder: Path) -> Phase:
    """`count` changes at `rate` per second (None: as fast as they commit), then wait for their events."""
    first = writer.next_seq
    cpu = {name: cpu_seconds(child) for name, child in children.items()}
    began = time.perf_counter()
    for index in range(count):
        if rate is not None and (delay := began + index / rate - time.perf_counter()) > 0:
            time.sleep(delay)
        writer.commit()
    seqs = range(first, writer.next_seq)
    complete = arrivals.wait(seqs, drain_limit, children["worker"], folder)
    wall = time.perf_counter() - began
    cpu = {name: (cpu_seconds(child) - cpu[name]) / wall * 100 for name, child in children.items()}
    start, end = writer.committed[seqs[0]], writer.committed[seqs[-1]]
    latencies, arrived_by_end, last = [], 0, start
    for (seq, _kind), arrived in arrivals.seen.items():
        if seq in seqs:
            latencies.append((arrived - writer.committed[seq]) * 1000)
            arrived_by_end += arrived <= end
            last = max(last, arrived)
    return Phase(name, count, end - start, len(latencies), len(latencies) / max(last - start, 1e-9),
                 percentile(latencies, 0.5), percentile(latencies, 0.99), max(latencies, default=float("nan")),
                 2 * count - arrived_by_end, last - end, complete, rate is not None, cpu)


def open_database(url: str) -> tuple[Engine, Events, list[str]]:
    build_demo_database(url, scale=0.05, progress=False)
    engine = make_engine(url)
    events = Events.open(engine, load_catalog())
    with engine.connect() as connection:
        accounts = list(connection.execute(text(
            f'SELECT "ACCOUNTNUM" FROM "CUSTTABLE" WHERE "DATAAREAID" = \'{COMPANY}\' ORDER BY "ACCOUNTNUM"')).scalars())
    return engine, events, accounts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="the F&O database (default: a SQLite file); rebuilt as a scale-0.05 demo")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long each paced rate runs")
    parser.add_argument("--burst", type=int, default=2000, help="changes committed as fast as possible")
    parser.add_argument("--writes", type=int, default=2000, help="timed UPDATEs per case of the write cost")
    parser.add_argument("--patches", type=int, default=300, help="timed PATCHes per case (0: skip)")
    parser.add_argument("--drain", type=float, default=60.0, help="longest wait for a phase's events after it")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, received events, SQLite)")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="fno-events-bench-"))
    url = server_database(args.db or f"sqlite:///{folder / 'fno.db'}")
    began = time.perf_counter()
    engine, events, accounts = open_database(url)
    dialect = engine.dialect.name
    port = free_port()
    record = folder / "received.jsonl"
    with ExitStack() as stack:  # whatever fails, the processes stop (worker first) and connections close
        stack.callback(engine.dispose)
        writer = Writer(engine, accounts)
        stack.callback(writer.close)
        receiver = stack.enter_context(process("receiver", [
            sys.executable, "-m", "gateway.events.receiver", "--host", "127.0.0.1", "--port", str(port),
            "--record", str(record)], folder))
        events.create(ENDPOINTS, endpoint_body("bench", f"http://127.0.0.1:{port}/events"))
        for event_id in (DATA_EVENT, BUSINESS_EVENT):  # installs the capture triggers (one set: CustomersV3)
            events.create(ACTIVATIONS, {"BusinessEventId": event_id, "EndpointId": "bench"})

        # 1. What capture costs a write (no worker yet: nothing reinstalls the triggers behind our back).
        update_plain, update_captured = write_cost(engine, events, writer, args.writes)
        patch = patch_cost(url, engine, events, accounts, args.patches) if args.patches else None
        events.reconcile()
        clear_captured(engine)

        # 2. Delivery, with the worker as a process of its own.
        worker = stack.enter_context(process("worker", [
            sys.executable, "-m", "gateway.cli", "events", "worker", "--db", url,
            "--events-budget-5-minutes", "1000000", "--events-budget-hour", "10000000"], folder))
        alive(receiver, "receiver", folder)
        arrivals = Arrivals(record)
        warm = writer.next_seq
        for _ in range(5):  # the worker's start-up (catalog, leases, the webhook's connection)
            writer.commit()
        if not arrivals.wait(range(warm, writer.next_seq), 60, worker, folder):
            raise RuntimeError(f"no events arrived within 60 s; see {folder}")
        children = {"worker": worker, "receiver": receiver}
        phases = []
        for factor, label in ((1, "F&O budget"), (10, "10x the budget")):
            rate = BUDGET_RATE * factor
            phases.append(run_phase(f"{rate:.1f} changes/s ({label})", writer, arrivals, round(rate * args.seconds),
                                    rate, args.drain, children, folder))
        phases.append(run_phase(f"burst of {args.burst}", writer, arrivals, args.burst, None, args.drain,
                                children, folder))

    print(f"bench.events on {dialect} (demo scale 0.05, {len(accounts)} customers of {COMPANY}); one webhook gets "
          f"{DATA_EVENT} + {BUSINESS_EVENT}: 2 events per change; took {time.perf_counter() - began:.0f} s")
    print()
    print(f"Write cost: median of {args.writes} per case (blocks of {BLOCK} alternating), ms")
    print(f"  {'':<40} {'no triggers':>12} {'captured':>12} {'ratio':>7}")
    print(f"  {'UPDATE CUSTTABLE.CREDITMAX + COMMIT (SQL)':<40} {update_plain:>12.3f} {update_captured:>12.3f} "
          f"{update_captured / update_plain:>6.2f}x")
    if patch is not None:
        print(f"  {f'PATCH CustomersV3 CreditLimit ({args.patches})':<40} {patch[0]:>12.3f} {patch[1]:>12.3f} "
              f"{patch[1] / patch[0]:>6.2f}x")
    print()
    print("Delivery to the webhook (worker process; latency = receiver arrival - COMMIT returned)")
    print(f"  {'phase':<30} {'changes':>7} {'commit/s':>8} {'events':>7} {'events/s':>8} {'p50 ms':>8} "
          f"{'p99 ms':>8} {'max ms':>8} {'backlog':>7} {'drain s':>7} {'CPU% worker':>11} {'receiver':>8}  kept up")
    for phase in phases:
        commit_rate = (phase.changes - 1) / phase.commit_seconds if phase.commit_seconds else float("nan")
        # Kept up: at most a second's events still in flight when the changes stop (a burst cannot be).
        kept = "-" if not phase.paced else "yes" if phase.complete and phase.backlog <= 2 * commit_rate else "no"
        print(f"  {phase.name:<30} {phase.changes:>7} {commit_rate:>8.1f} {phase.delivered:>7} "
              f"{phase.pipeline_rate:>8.1f} {phase.p50:>8.1f} {phase.p99:>8.1f} {phase.worst:>8.1f} "
              f"{phase.backlog:>7} {phase.drain:>7.2f} {phase.cpu['worker']:>11.0f} "
              f"{phase.cpu['receiver']:>8.0f}  {kept}"
              + ("" if phase.complete else f" (still missing after {args.drain:.0f} s)"))
    print("  events/s: delivered / (first commit .. last arrival); backlog: raised but not delivered when the "
          "last change committed;")
    print(f"  CPU%: of one core, over the phase and its drain; kept up: backlog <= one second's events. "
          f"{os.cpu_count()} CPUs.")
    print(f"  Duplicates received: {arrivals.duplicates}." + (f" Files: {folder}" if args.keep else ""))
    if not args.keep:  # a failure above keeps it: the processes' logs say why
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
