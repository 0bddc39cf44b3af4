"""Dual-write fixtures: a fresh pair of databases (F&O demo data, empty Dataverse-side store) per
test module, on SQLite and on PostgreSQL (both sides), with every map started (initial sync done).

Checks read the physical tables with hand-written SQL (`fo_sql`, `dv_sql`), never through the
gateway, so a test fails if the gateway says one thing and the databases hold another.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import Engine, create_engine, text
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.demo.generate import build_demo_database
from gateway.dualwrite import lifecycle
from gateway.dualwrite.service import DualWrite
from gateway.dualwrite.worker import Worker
from gateway.faults import ENVIRONMENT as FAULTS
from gateway.settings import Settings
from tests.conftest import (
    TEST_DEV_KEY,
    bearer,
    client_for,
    create_server_database,
    free_port,
    server_arguments,
)

DUALWRITE_BACKENDS = ("sqlite", "postgresql")  # dual-write's change capture runs on these two
SCALE = 0.05


@dataclass
class Sides:
    name: str
    fo_url: str
    dv_url: str
    fo: Engine
    dv: Engine
    client: TestClient
    dual: DualWrite

    def __post_init__(self) -> None:
        self.worker = Worker(self.dual)

    def fo_sql(self, statement: str, **parameters: Any) -> list[Any]:
        with self.fo.connect() as connection:
            return list(connection.execute(text(statement), parameters))

    def dv_sql(self, statement: str, **parameters: Any) -> list[Any]:
        with self.dv.connect() as connection:
            return list(connection.execute(text(statement), parameters))

    def fo_exec(self, statement: str, **parameters: Any) -> None:
        with self.fo.begin() as connection:
            connection.execute(text(statement), parameters)

    def dv_exec(self, statement: str, **parameters: Any) -> None:
        with self.dv.begin() as connection:
            connection.execute(text(statement), parameters)

    def drain(self, passes: int = 5) -> int:
        """Run the worker until the logs and queues are empty (or `passes` passes)."""
        worker = self.worker  # one worker: it holds the lease for its next passes
        total = 0
        for _ in range(passes):
            done = worker.run_once()
            total += done
            if not done:
                break
        return total


class Gateway:
    """`fno-gateway serve` over the two databases as a real process (uvicorn), started and killed at will."""

    def __init__(self, sides: Sides, log: Path, worker: bool = True, faults: str = "") -> None:
        self.sides = sides
        self.port = free_port()
        self.log = log
        self.worker = ["--dualwrite-worker"] if worker else []
        self.environment = {**os.environ, FAULTS: faults}  # gateway/faults.py: where the process waits
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, faults: str | None = None) -> float:
        """Start (with other fault points, if given) and wait until it serves; returns the seconds it took."""
        if faults is not None:
            self.environment[FAULTS] = faults
        started = time.monotonic()
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gateway.cli", "serve", "--db", self.sides.fo_url, "--dataverse-db",
                 self.sides.dv_url, "--port", str(self.port), *self.worker, *server_arguments()],
                stdout=output, stderr=output, start_new_session=True, env=self.environment)
        deadline = started + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"the gateway exited ({self.process.returncode}): see {self.log}"
            try:
                if httpx2.get(f"{self.url}/data/", headers=bearer(), timeout=2).status_code == 200:
                    return time.monotonic() - started
            except httpx2.HTTPError:
                time.sleep(0.05)
        raise AssertionError(f"the gateway did not serve within 60 s: see {self.log}")

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def fresh_database(backend: str, name: str, tmp: Any) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp / (name + '.db')}"
    url = create_server_database(backend, name)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:  # triggers and functions too: start from nothing
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


def open_sides(backend: str, tmp: Any, module: str, **settings: Any) -> Sides:
    try:
        fo_url = fresh_database(backend, f"dw_fo_{module}", tmp)
        dv_url = fresh_database(backend, f"dw_dv_{module}", tmp)
    except Exception as error:
        pytest.skip(f"{backend} server not reachable ({type(error).__name__}: {str(error).splitlines()[0]})")
    build_demo_database(fo_url, scale=SCALE, seed=7, progress=False)
    settings.setdefault("dev_key", str(TEST_DEV_KEY))
    app = create_app(Settings(db=fo_url, dataverse_db=dv_url, **settings))
    client = client_for(app)
    dual = app.state.dualwrite
    lifecycle.start(dual, list(dual.maps.maps))
    return Sides(backend, fo_url, dv_url, create_engine(fo_url), create_engine(dv_url), client, dual)


def close(sides: Sides) -> None:
    sides.client.close()
    for engine in (sides.fo, sides.dv, sides.dual.fo.engine, sides.dual.dv.engine):
        engine.dispose()


@pytest.fixture(scope="module", params=DUALWRITE_BACKENDS)
def sides(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sides]:
    module = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    opened = open_sides(request.param, tmp_path_factory.mktemp(f"dw-{module}"), module)
    yield opened
    close(opened)
