"""Start and stop the servers under test as subprocesses, and read their workers' memory.

Each server runs in its own process group, so stopping it ends its workers too; `stop()` is
called from `finally` blocks and waits (bounded) for the group to exit.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import psutil

from bench.auth import gateway_auth, server_arguments

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
CAP_DIR = BENCH / "cap"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    name: str
    command: list[str]
    cwd: Path
    port: int
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    ready_headers: dict[str, str] = field(default_factory=dict)  # the gateway's readiness probe needs a token

    def start(self, ready_path: str = "/data/", timeout: float = 60.0) -> None:
        self.log_path = BENCH / ".data" / f"{self.name}-{self.port}.log"
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            self.command, cwd=self.cwd, env={**os.environ, **self.env}, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.port}{ready_path}"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(urllib.request.Request(url, headers=self.ready_headers),
                                            timeout=2) as response:
                    if response.status == 200 and len(self.workers()) >= self.expected_workers():
                        time.sleep(0.5)  # let every worker finish its start-up
                        return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer {url} within {timeout:.0f}s; see {self.log_path}")

    def expected_workers(self) -> int:
        return int(self.env.get("BENCH_WORKERS", "1"))

    def workers(self) -> list[psutil.Process]:
        """The processes that serve requests: the children when there are workers, else the process itself."""
        if self.process is None or self.process.poll() is not None:
            return []
        try:
            main = psutil.Process(self.process.pid)
            children = [child for child in main.children(recursive=True) if _serves(child)]
        except psutil.Error:
            return []
        return children or [main]

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)
        self.process = None


def _serves(process: psutil.Process) -> bool:
    try:
        command = " ".join(process.cmdline())
    except psutil.Error:
        return False
    return "resource_tracker" not in command  # multiprocessing's helper serves nothing


def gateway_server(db_file: Path | str, workers: int, port: int) -> Server:
    """`fno-gateway serve` as users run it (over a SQLite file, or a PostgreSQL SQLAlchemy URL)."""
    module = "gateway.cli"
    url = f"sqlite:///{db_file}" if isinstance(db_file, Path) else db_file
    command = [
        sys.executable, "-m", module, "serve", "--db", url, "--workers", str(workers),
        "--port", str(port), *server_arguments(),
    ]
    return Server("gateway", command, ROOT, port, {"BENCH_WORKERS": str(workers) if workers > 1 else "0"},
                  ready_headers=gateway_auth())


def cap_available() -> str | None:
    """Why CAP cannot run here, or None when it can."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (CAP_DIR / "node_modules" / "@sap" / "cds").is_dir():
        return "bench/cap has no node_modules (run: npm ci --prefix bench/cap)"
    return None


def install_cap() -> None:
    """npm ci in bench/cap when its node_modules are missing (better-sqlite3 compiles: ~2 minutes)."""
    installed = CAP_DIR / "node_modules"
    if ((installed / "@sap" / "cds").is_dir() and (installed / "@cap-js" / "postgres").is_dir()) \
            or shutil.which("npm") is None:
        return
    print("bench: installing SAP CAP into bench/cap (npm ci; compiles better-sqlite3)...", file=sys.stderr)
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=CAP_DIR, check=True, timeout=900)


def cap_server(db_file: Path | str, workers: int, port: int) -> Server:
    """bench/cap/server.js over a SQLite file, or over PostgreSQL (@cap-js/postgres) given its URL."""
    database = str(db_file) if isinstance(db_file, Path) else db_file.replace("postgresql+psycopg://", "postgres://")
    command = ["node", str(CAP_DIR / "server.js"), database, str(port), str(workers)]
    return Server("cap", command, CAP_DIR, port, {"BENCH_WORKERS": str(workers) if workers > 1 else "0",
                                                  "NODE_ENV": "production"})


def rss_mb(process: psutil.Process) -> float:
    try:
        return float(process.memory_info().rss) / 2**20
    except psutil.Error:
        return 0.0


def peak_rss_mb(process: psutil.Process) -> float:
    """The kernel's high-water mark of the process's resident memory (VmHWM), in MB."""
    try:
        for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return rss_mb(process)


class RssSampler:
    """Samples the resident memory of a server's workers every 50 ms; `peak` is the largest seen."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        workers = self.server.workers()
        while not self._stop.is_set():
            for worker in workers:
                self.peak = max(self.peak, rss_mb(worker))
            self._stop.wait(0.05)
