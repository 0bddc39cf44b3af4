"""One real served gateway for the client tests: a uvicorn process over a small demo database.

Each client under test (python-odata, a plain requests session, an odata2ts program under Node, the
requests Power Query sends) talks to it over HTTP with a bearer token signed by the suite's dev key,
exactly as users do; every expectation comes from hand-written SQL over the physical tables.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine

from gateway.demo.generate import build_demo_database
from tests.conftest import (
    bearer,
    free_port,
    repository_root,
    server_arguments,
    stop_process,
    wait_until_serving,
)

CLIENT_SCALE = 0.05


@dataclass
class Served:
    root: str  # http://127.0.0.1:port/
    engine: Engine  # the physical F&O database, for the expectations
    folder: Path
    log: Path

    @property
    def data(self) -> str:
        return self.root + "data/"

    @property
    def dataverse(self) -> str:
        return self.root + "api/data/v9.2/"

    @property
    def token(self) -> str:
        return bearer()["Authorization"].removeprefix("Bearer ")


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("clients")
    url = f"sqlite:///{folder / 'fno.db'}"
    build_demo_database(url, scale=CLIENT_SCALE, seed=42, progress=False)
    port = free_port()
    log = folder / "server.log"
    environment = {key: value for key, value in os.environ.items() if not key.startswith("FNO_GATEWAY_")}
    # `python -m gateway.cli` is the `fno-gateway` console script of this checkout (an installed script
    # may belong to another clone); the Dataverse side is served from a SQLite file beside the database.
    # Every F&O entity is also a Dataverse virtual table (so $metadata and the clients see them too).
    subprocess.run([sys.executable, "-m", "gateway.cli", "virtual", "enable", "all", "--db", url,
                    *server_arguments()], check=True, env=environment, cwd=repository_root(), capture_output=True)
    command = [sys.executable, "-m", "gateway.cli", "serve", "--db", url, "--host", "127.0.0.1",
               "--port", str(port), "--rate-requests", "0", *server_arguments()]  # fmt: skip
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, env=environment, cwd=repository_root()
        )
    engine = create_engine(url)
    try:
        try:
            wait_until_serving(port)
        except AssertionError:
            process.kill()
            process.wait(timeout=10)
            pytest.fail(f"the served gateway did not start:\n{log.read_text(errors='replace')}")
        yield Served(f"http://127.0.0.1:{port}/", engine, folder, log)
    finally:
        stop_process(process)
        engine.dispose()


@contextlib.contextmanager
def python_odata(service_root: str, token: str) -> Iterator[Any]:
    """A python-odata service reflected from a service root's $metadata, as its README shows."""
    import odata
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    try:
        yield odata.ODataService(service_root, session=session, reflect_entities=True, quiet_progress=True)
    finally:
        session.close()
