"""Dual-write fixtures: a fresh pair of databases (F&O demo data, empty Dataverse-side store) per
test module, on SQLite and on PostgreSQL (both sides), with every map started (initial sync done).

Checks read the physical tables with hand-written SQL (`fo_sql`, `dv_sql`), never through the
gateway, so a test fails if the gateway says one thing and the databases hold another.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.demo.generate import build_demo_database
from gateway.dualwrite import lifecycle
from gateway.dualwrite.service import DualWrite
from gateway.dualwrite.worker import Worker
from gateway.settings import Settings
from tests.conftest import TEST_DEV_KEY, client_for, create_server_database

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
    except Exception as error:  # noqa: BLE001 - any connection failure means "server not here"
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
