"""`fno-gateway serve --workers N`: connections dealt out to the workers in turn (gateway/balance.py).

Which worker holds which connection is read from the operating system (psutil: each worker
process's established TCP connections), not from the gateway.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import psutil
import pytest

from gateway.demo.generate import build_demo_database
from tests.conftest import bearer, free_port, serve_in_process, stop_process

pytestmark = pytest.mark.e2e


def _workers(parent: int) -> list[psutil.Process]:
    return psutil.Process(parent).children()


def _connections_per_worker(parent: int, port: int) -> dict[int, int]:
    counts = {}
    for worker in _workers(parent):
        established = [c for c in worker.net_connections(kind="tcp")
                       if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port]
        counts[worker.pid] = len(established)
    return counts


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    folder = tmp_path_factory.mktemp("balance")
    url = f"sqlite:///{folder / 'fno.db'}"
    build_demo_database(url, scale=0.05, seed=42, progress=False)
    port = free_port()
    log = folder / "server.log"
    process = serve_in_process(url, port, "--workers", "2", log=log)
    try:
        yield process, port, log
    finally:
        stop_process(process)


def test_keep_alive_connections_are_spread_evenly_over_the_workers(
    served: tuple[subprocess.Popen[bytes], int, Path],
) -> None:
    process, port, _log = served
    clients = [httpx2.Client(base_url=f"http://127.0.0.1:{port}/data/", headers=bearer(), timeout=30)
               for _ in range(8)]
    try:
        for client in clients:  # one request each: every client keeps its one connection open
            assert client.get("LegalEntities?$top=1").status_code == 200
        counts = _connections_per_worker(process.pid, port)
        assert len(counts) == 2, counts
        assert sorted(counts.values()) == [4, 4], counts
        for client in clients:  # and each keeps being served on its worker
            assert client.get("CustomerGroups?$top=1").status_code == 200
    finally:
        for client in clients:
            client.close()


def test_a_worker_that_dies_is_started_again(served: tuple[subprocess.Popen[bytes], int, Path]) -> None:
    process, port, log = served
    first = {worker.pid for worker in _workers(process.pid)}
    victim = sorted(first)[0]
    os.kill(victim, signal.SIGKILL)
    answered = 0
    deadline = time.monotonic() + 60
    while answered < 6 and time.monotonic() < deadline:  # new connections reach a live worker
        with httpx2.Client(timeout=30) as fresh:
            try:
                if fresh.get(f"http://127.0.0.1:{port}/data/LegalEntities?$top=1", headers=bearer()).status_code == 200:
                    answered += 1
            except httpx2.TransportError:
                time.sleep(0.2)  # the connection handed to the dead worker, before the parent noticed
    assert answered == 6, log.read_text(errors="replace")
    now = {worker.pid for worker in _workers(process.pid)}
    assert len(now) == 2 and victim not in now


def test_the_parent_stops_its_workers_on_sigterm(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fno.db'}"
    build_demo_database(url, scale=0.02, seed=1, progress=False)
    process = serve_in_process(url, free_port(), "--workers", "2")
    try:
        workers = _workers(process.pid)
        assert len(workers) == 2
        process.terminate()
        assert process.wait(timeout=20) == 0
        gone, alive = psutil.wait_procs(workers, timeout=10)
        assert not alive, alive
    finally:
        if process.poll() is None:
            stop_process(process)
