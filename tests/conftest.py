"""Shared fixtures: one demo database per backend (SQLite, PostgreSQL, MariaDB) and a client per backend.

Server backends use their own database `fno_test` (created if missing, byte-order collation so that
all three sort strings alike). A backend whose server is not reachable is skipped with the reason.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.demo.generate import build_demo_database
from gateway.identity.tokens import mint_token
from gateway.settings import Settings

DEMO_SCALE = 0.1
PG_ADMIN_URL = os.environ.get("FNO_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PG_URL = os.environ.get("FNO_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/fno_test")
MARIADB_ADMIN_URL = os.environ.get("FNO_TEST_MARIADB_ADMIN", "mysql+pymysql://root@127.0.0.1:3306/test")
MARIADB_URL = os.environ.get("FNO_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306/fno_test?charset=utf8mb4")
BACKENDS = ("sqlite", "postgresql", "mariadb")
# Appended to every server database name, so that two checkouts can run their suites side by side.
DB_SUFFIX = os.environ.get("FNO_TEST_DB_SUFFIX", "")


# The suite's development signing key: every client and every served gateway of the tests trusts it,
# so tests call the gateway with bearer tokens exactly as users do.
TEST_DEV_KEY = Path(tempfile.mkdtemp(prefix="fno-test-keys-")) / "dev-key.pem"
ADMIN_ROLE = "SystemAdministrator"


def bearer(subject: str = "test-admin", roles: tuple[str, ...] = (ADMIN_ROLE,), minutes: float = 120,
           **claims: object) -> dict[str, str]:
    """An Authorization header with a token the test gateways accept."""
    token = mint_token(TEST_DEV_KEY, Settings.auth_issuer, Settings.auth_audience, subject, list(roles), minutes, claims)
    return {"Authorization": f"Bearer {token}"}


def server_arguments() -> list[str]:
    """Command-line settings a served test gateway needs to trust the suite's tokens."""
    return ["--dev-key", str(TEST_DEV_KEY)]


def client_for(app: object, headers: dict[str, str] | None = None) -> TestClient:
    """A TestClient that sends the administrator's token unless told otherwise."""
    return TestClient(app, raise_server_exceptions=False, headers=bearer() if headers is None else headers)  # type: ignore[arg-type]


@dataclass
class Backend:
    name: str
    url: str
    engine: Engine  # for the oracle's hand-written queries over the physical tables


def create_server_database(name: str, database: str = "fno_test") -> str:
    """The URL of a test database on `name`'s server (created if missing), or raise if the server is down."""
    database += DB_SUFFIX
    if name == "postgresql":
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            # Byte-order sorting (like the other two) with Unicode case mapping (upper('ü') = 'Ü').
            ctype = connection.execute(
                text("SELECT datctype FROM pg_database WHERE datname = :name"), {"name": database}
            ).scalar()
            if ctype is not None and ctype != "C.UTF-8":
                connection.execute(text(f"DROP DATABASE {database} WITH (FORCE)"))
            if ctype != "C.UTF-8":
                connection.execute(text(
                    f"CREATE DATABASE {database} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C.UTF-8'"
                ))
        admin.dispose()
        return PG_URL.rsplit("/", 1)[0] + f"/{database}"
    admin = create_engine(MARIADB_ADMIN_URL)
    with admin.connect() as connection:
        connection.execute(
            text(f"CREATE DATABASE IF NOT EXISTS {database} CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin")
        )
    admin.dispose()
    return MARIADB_URL.replace("/fno_test?", f"/{database}?")


def database_url(name: str, database: str, sqlite_file: Path) -> str:
    """A test database on backend `name` (SQLite: `sqlite_file`); the test is skipped, saying why,
    when the server is not reachable."""
    if name == "sqlite":
        return f"sqlite:///{sqlite_file}"
    try:
        return create_server_database(name, database)
    except Exception as error:  # noqa: BLE001 - any connection failure means "server not here"
        pytest.skip(f"{name} server not reachable ({type(error).__name__}: {str(error).splitlines()[0]})")


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    name = request.param
    url = database_url(name, "fno_test", tmp_path_factory.mktemp("sqlite") / "fno.db")
    build_demo_database(url, scale=DEMO_SCALE, seed=42, progress=False)
    engine = create_engine(url)
    yield Backend(name, url, engine)
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    """SQLite alone, for tests about HTTP behaviour that does not depend on the database."""
    url = f"sqlite:///{tmp_path_factory.mktemp('sqlite-only') / 'fno.db'}"
    build_demo_database(url, scale=DEMO_SCALE, seed=42, progress=False)
    engine = create_engine(url)
    yield Backend("sqlite", url, engine)
    engine.dispose()


def make_client(backend: Backend, headers: dict[str, str] | None = None, **settings: object) -> TestClient:
    settings.setdefault("dev_key", str(TEST_DEV_KEY))
    # The suite sends tens of thousands of requests as one principal within minutes: the per-principal
    # request and execution-time windows are off unless a test sets them (tests/protect/ does).
    settings.setdefault("rate_requests", 0)
    settings.setdefault("rate_execution_seconds", 0.0)
    app = create_app(Settings(db=backend.url, **settings))  # type: ignore[arg-type]
    return client_for(app, headers)


@pytest.fixture(scope="session")
def client(backend: Backend) -> Iterator[TestClient]:
    with make_client(backend) as test_client:
        yield test_client
        test_client.app.state.engine.dispose()  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def sqlite_client(sqlite_backend: Backend) -> Iterator[TestClient]:
    with make_client(sqlite_backend) as test_client:
        yield test_client
        test_client.app.state.engine.dispose()  # type: ignore[attr-defined]


def repository_root() -> Path:
    return Path(__file__).resolve().parents[1]


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, and SIGKILL if it does not end within 10 s: a served gateway a test started."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve_in_process(url: str, port: int, *arguments: str, log: Path | None = None) -> subprocess.Popen[bytes]:
    """`fno-gateway serve` on `url` and 127.0.0.1:`port` as a real process (this interpreter's), with
    the suite's token key, no Dataverse side, and no FNO_GATEWAY_* settings inherited from the test
    run; its output to `log` (else discarded). Waits until it answers."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("FNO_GATEWAY_")}
    command = [sys.executable, "-m", "gateway.cli", "serve", "--db", url, "--port", str(port),
               "--dataverse-db", "none", *server_arguments(), *arguments]
    if log is None:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment)
    else:
        with log.open("wb") as sink:
            process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=environment)
    try:
        wait_until_serving(port, seconds=60)  # (several workers start in parallel: slower on a busy machine)
    except BaseException:
        stop_process(process)
        raise
    return process


def wait_until_serving(port: int, seconds: float = 30) -> None:
    """Until a gateway started on `port` answers its service document."""
    import httpx2

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx2.get(f"http://127.0.0.1:{port}/data/", headers=bearer(), timeout=1).status_code == 200:
                return
        except httpx2.HTTPError:
            time.sleep(0.2)
    raise AssertionError(f"no gateway answered on port {port} within {seconds}s")


def every_page(client: TestClient, url: str, params: dict[str, str] | None = None,
               page_size: int | None = None) -> list[dict[str, Any]]:
    """Every row of a collection, following nextLinks (pages of `page_size` rows when given)."""
    headers = {"Prefer": f"odata.maxpagesize={page_size}"} if page_size else {}
    response = client.get(url, params=params, headers=headers)  # None keeps the query the URL has
    rows: list[dict[str, Any]] = []
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        rows.extend(body["value"])
        if "@odata.nextLink" not in body:
            return rows
        response = client.get(body["@odata.nextLink"], headers=headers)
