"""Service protection under load: a real `fno-gateway serve` (uvicorn, one worker) on 127.0.0.1.

    python -m bench.protection [--scale 1] [--seconds 8]

Principals are real bearer tokens minted by `fno-gateway token` (the development key):
  (a) at 10x its per-principal request limit (small limits for the run), one principal's requests
      beyond the limit get 429 with a Retry-After computed from the window, while another principal's
      key lookups keep their latency;
  (b) a storm of expensive requests (`$filter` with all() over sales-order lines) from one principal
      does not raise the p99 of another principal's key lookups above 5x its idle value;
  (c) the server's resident memory stays bounded, the fuzzed 40-level $expand included.
Bounded: every phase has a request count and a time limit. Prints a table of ratios with targets and
saves it as bench/results/<date>-protection.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from bench.servers import BENCH, ROOT, RssSampler, Server, free_port, peak_rss_mb

DATA = BENCH / ".data"
RESULTS = BENCH / "results"
KEY_LOOKUP = "/data/CustomersV3(dataAreaId='usmf',CustomerAccount='US-001')?$select=CustomerAccount,OrganizationName"
# Each order's lines against the same order's lines: ~2 s of SQLite work per request at scale 1.
STORM_FILTER = "SalesOrderLines/all(l: l/SalesOrderHeader/SalesOrderLines/all(m: m/LineAmount ge 0))"
STORM = f"/data/SalesOrderHeadersV2?cross-company=true&$count=true&$top=50&$filter={quote(STORM_FILTER)}"
DEEP_EXPAND = "SalesOrders"
for _level in range(39):
    DEEP_EXPAND = f"{'Customer' if _level % 2 == 0 else 'SalesOrders'}($expand={DEEP_EXPAND})"
FUZZED = f"/data/CustomersV3?cross-company=true&$expand={quote('SalesOrders($expand=' + DEEP_EXPAND + ')')}"
WIDE = ("/data/SalesOrderHeadersV2?cross-company=true&$expand="
        + quote("SalesOrderLines($expand=SalesOrderHeader($expand=SalesOrderLines))"))


@dataclass
class Sample:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    retry_after: list[tuple[float, int]] = field(default_factory=list)  # (seconds since phase start, value)

    def p(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Client:
    """One keep-alive HTTP/1.1 connection with a bearer token."""

    def __init__(self, port: int, token: str) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        for attempt in range(2):
            try:
                self.connection.request("GET", path, headers=self.headers)
                response = self.connection.getresponse()
                body = response.read()
                return response.status, {k.lower(): v for k, v in response.getheaders()}, body
            except (http.client.HTTPException, ConnectionError):
                self.connection.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")


def mint(subject: str, dev_key: Path) -> str:
    command = [sys.executable, "-m", "gateway.cli", "token", "--sub", subject, "--roles", "SystemAdministrator",
               "--dev-key", str(dev_key)]
    return subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()


def gateway(db_file: Path, dev_key: Path, *flags: str) -> Server:
    port = free_port()
    command = [sys.executable, "-m", "gateway.cli", "serve", "--db", f"sqlite:///{db_file}", "--port", str(port),
               "--dev-key", str(dev_key), "--dualwrite-maps", "none", "--dataverse-db", "none",
               "--anonymous-role", "DataReader", *flags]
    return Server("gateway-protect", command, ROOT, port, {"BENCH_WORKERS": "0"})


def lookups(port: int, token: str, seconds: float, max_requests: int, pace: float = 0.0,
            stop: threading.Event | None = None) -> Sample:
    """Key lookups one after another (every `pace` seconds, or back to back)."""
    client, sample = Client(port, token), Sample()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and len(sample.latencies_ms) < max_requests and not (stop and stop.is_set()):
        started = time.perf_counter()
        status, _, _ = client.get(KEY_LOOKUP)
        sample.latencies_ms.append((time.perf_counter() - started) * 1000)
        sample.statuses[status] += 1
        if pace:
            time.sleep(max(0.0, pace - (time.perf_counter() - started)))
    return sample


def flood(port: int, token: str, count: int, threads: int, started: float) -> Sample:
    """`count` key lookups as fast as `threads` connections send them; Retry-After of every 429 kept."""
    sample, lock, issued = Sample(), threading.Lock(), [0]

    def run() -> None:
        client = Client(port, token)
        while True:
            with lock:
                if issued[0] >= count:
                    return
                issued[0] += 1
            status, headers, _ = client.get(KEY_LOOKUP)
            with lock:
                sample.statuses[status] += 1
                if status == 429:
                    sample.retry_after.append((time.monotonic() - started, int(headers.get("retry-after", "-1"))))

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    return sample


def storm(port: int, token: str, threads: int, stop: threading.Event, max_requests: int) -> Sample:
    sample, lock = Sample(), threading.Lock()

    def run() -> None:
        client = Client(port, token)
        while not stop.is_set():
            with lock:
                if sum(sample.statuses.values()) >= max_requests:
                    return
            started = time.perf_counter()
            status, _, _ = client.get(STORM)
            with lock:
                sample.latencies_ms.append((time.perf_counter() - started) * 1000)
                sample.statuses[status] += 1

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    return_sample_when = workers
    for worker in return_sample_when:
        worker.join(timeout=120)
    return sample


def phase_a(db_file: Path, dev_key: Path, limit: int, window: float, rows: list[list[str]]) -> float:
    server = gateway(db_file, dev_key, "--rate-requests", str(limit), "--rate-window-seconds", str(window))
    server.start()
    try:
        with RssSampler(server) as rss:
            lookups(server.port, mint("warm-up", dev_key), 1, limit - 1)  # first requests are slow: not counted
            idle = lookups(server.port, mint("bob-idle", dev_key), 3, limit - 1, pace=0.02)
            carol, bob = mint("carol", dev_key), mint("bob", dev_key)
            started = time.monotonic()
            results: dict[str, Sample] = {}
            other = threading.Thread(target=lambda: results.update(
                bob=lookups(server.port, bob, 3, limit - 1, pace=0.02)))
            other.start()
            flooded = flood(server.port, carol, 10 * limit, 4, started)
            other.join()
        loaded = results["bob"]
        refused = flooded.statuses[429]
        # Every 429 must say when the first admitted request leaves the window: window - elapsed.
        expected_ok = sum(1 for at, value in flooded.retry_after if 0 < value <= window
                          and abs(value - (window - at)) <= 1.5)
        rows.append(["(a) over-limit principal: admitted of 10× the limit", f"{flooded.statuses[200]} of {10 * limit}",
                     f"= {limit}", _met(flooded.statuses[200] == limit)])
        rows.append(["(a) refused ones: 429 with Retry-After from the window", f"{expected_ok} of {refused}",
                     f"all {9 * limit}", _met(refused == 9 * limit and expected_ok == refused)])
        values = [value for _, value in flooded.retry_after]
        rows.append(["(a) Retry-After range (s)", f"{min(values, default=0)}–{max(values, default=0)}",
                     f"≤ {window:g}", _met(bool(values) and max(values) <= window)])
        ratio50, ratio99 = loaded.p(0.5) / idle.p(0.5), loaded.p(0.99) / idle.p(0.99)
        rows.append(["(a) other principal's key lookup p50, flood ÷ idle",
                     f"{ratio50:.2f}× ({loaded.p(0.5):.2f} vs {idle.p(0.5):.2f} ms)", "≤ 2×", _met(ratio50 <= 2)])
        rows.append(["(a) other principal's key lookup p99, flood ÷ idle",
                     f"{ratio99:.2f}× ({loaded.p(0.99):.2f} vs {idle.p(0.99):.2f} ms)", "≤ 5×", _met(ratio99 <= 5)])
        rows.append(["(a) other principal's statuses", _statuses(loaded), "all 200",
                     _met(set(loaded.statuses) == {200})])
        return rss.peak
    finally:
        server.stop()


def phase_bc(db_file: Path, dev_key: Path, seconds: float, storm_threads: int, rows: list[list[str]],
             flags: tuple[str, ...] = ()) -> None:
    server = gateway(db_file, dev_key, *flags)
    server.start()
    try:
        alice, bob = mint("alice", dev_key), mint("bob", dev_key)
        with RssSampler(server) as rss:
            Client(server.port, alice).get(STORM)  # warm: plan cache, page cache
            lookups(server.port, bob, 1, 200)
            idle = lookups(server.port, bob, seconds / 2, 5000, pace=0.005)
            stop = threading.Event()
            stormed: dict[str, Sample] = {}
            storm_thread = threading.Thread(target=lambda: stormed.update(
                s=storm(server.port, alice, storm_threads, stop, 20000)))
            storm_thread.start()
            time.sleep(1.0)  # the storm fills its slots first
            loaded = lookups(server.port, bob, seconds, 5000, pace=0.005)
            stop.set()
            storm_thread.join()
            after_storm = rss.peak
            worker = server.workers()[0]
            fuzz = Client(server.port, alice)
            fuzz_started = time.perf_counter()
            fuzz_status, _, fuzz_body = fuzz.get(FUZZED)
            fuzz_ms = (time.perf_counter() - fuzz_started) * 1000
            wide_status, _, wide_body = fuzz.get(WIDE)
            time.sleep(0.3)
            peak = max(rss.peak, peak_rss_mb(worker))
        heavy = stormed["s"]
        ratio = loaded.p(0.99) / idle.p(0.99)
        rows.append(["(b) cheap key lookup p99, storm ÷ idle (other principal)",
                     f"{ratio:.2f}× ({loaded.p(0.99):.2f} vs {idle.p(0.99):.2f} ms)", "≤ 5×", _met(ratio <= 5)])
        rows.append(["(b) cheap key lookup p50, storm ÷ idle",
                     f"{loaded.p(0.5) / idle.p(0.5):.2f}× ({loaded.p(0.5):.2f} vs {idle.p(0.5):.2f} ms)", "(info)", ""])
        rows.append(["(b) storm: expensive requests served, p50", f"{heavy.statuses[200]} ({_statuses(heavy)}), "
                     f"{heavy.p(0.5):.0f} ms", "(info)", ""])
        rows.append(["(b) cheap lookups' statuses", _statuses(loaded), "all 200", _met(set(loaded.statuses) == {200})])
        rows.append(["(c) 40-level $expand: refused, time", f"{fuzz_status} {_code(fuzz_body)} in {fuzz_ms:.1f} ms",
                     "400 in < 100 ms", _met(fuzz_status == 400 and fuzz_ms < 100)])
        rows.append(["(c) 3-level $expand over every order's lines", f"{wide_status} {_code(wide_body)} "
                     f"({len(wide_body):,} bytes)", "200 or 400 ResultTooLarge", _met(wide_status in (200, 400))])
        rows.append(["(c) server peak RSS (storm; then fuzzed and wide $expand)",
                     f"{after_storm:.0f} MB; {peak:.0f} MB", "< 300 MB", _met(peak < 300)])
    finally:
        server.stop()


def _statuses(sample: Sample) -> str:
    return ", ".join(f"{status}×{count}" for status, count in sorted(sample.statuses.items()))


def _code(body: bytes) -> str:
    text = body[:200].decode("utf-8", "replace")
    return text.split('"code":"', 1)[1].split('"', 1)[0] if '"code":"' in text else ""


def _met(ok: bool) -> str:
    return "met" if ok else "missed"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.protection", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="demo database scale (1 ≈ 18,000 sales lines)")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of the storm phase")
    parser.add_argument("--limit", type=int, default=100, help="the per-principal request limit of phase (a)")
    parser.add_argument("--window", type=float, default=30.0, help="its window, in seconds")
    parser.add_argument("--storm-threads", type=int, default=8, help="concurrent expensive requests in (b)")
    parser.add_argument("--concurrency-limit", type=int, default=None,
                        help="the server's --concurrency-limit in (b) (default: the server's default)")
    arguments = parser.parse_args(argv)
    DATA.mkdir(exist_ok=True)
    db_file = DATA / f"protect-scale{arguments.scale:g}.db"
    if not db_file.exists():
        from gateway.demo.generate import build_demo_database

        build_demo_database(f"sqlite:///{db_file}", scale=arguments.scale, progress=False)
    dev_key = DATA / "protect-dev-key.pem"
    rows: list[list[str]] = []
    started = time.monotonic()
    peak_a = phase_a(db_file, dev_key, arguments.limit, arguments.window, rows)
    flags = () if arguments.concurrency_limit is None else ("--concurrency-limit", str(arguments.concurrency_limit))
    phase_bc(db_file, dev_key, arguments.seconds, arguments.storm_threads, rows, flags)
    rows.append(["(c) server peak RSS in (a)", f"{peak_a:.0f} MB", "< 300 MB", _met(peak_a < 300)])
    header = (f"# Service protection ({dt.date.today().isoformat()}, scale {arguments.scale:g}, one uvicorn worker, "
              f"127.0.0.1)\n\n`python -m bench.protection --scale {arguments.scale:g} --seconds {arguments.seconds:g} "
              f"--limit {arguments.limit} --window {arguments.window:g} --storm-threads {arguments.storm_threads}"
              + (f" --concurrency-limit {arguments.concurrency_limit}" if arguments.concurrency_limit else "") + "` "
              f"({time.monotonic() - started:.0f} s)\n\n")
    table = "| measure | measured | target | |\n| --- | --- | --- | --- |\n"
    table += "\n".join("| " + " | ".join(row) + " |" for row in rows) + "\n"
    report = header + table
    print(report)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{dt.date.today().isoformat()}-protection.md"
    path.write_text(report, encoding="utf-8")
    print(f"saved {path.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
