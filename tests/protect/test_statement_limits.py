"""Statement timeouts and cancellation on every database: a query past --statement-timeout is
stopped and answered 503 StatementTimeout; a client that disconnects has its query interrupted.

Independent evidence: the wall clock (the query alone would run for minutes) and, on the servers,
their own list of running statements (pg_stat_activity, information_schema.PROCESSLIST).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text

from gateway.app import create_app
from gateway.settings import Settings
from tests.conftest import TEST_DEV_KEY, Backend, bearer, make_client

# Lines × lines (× lines) of the same order: the two orders with over 1,000 lines make it long (SQLite,
# PostgreSQL: minutes; MariaDB, whose subquery cache answers repeated correlations, about 7 s once
# the inner condition depends on the outer line).
SLOW_FILTERS = {
    "sqlite": "SalesOrderLines/all(l1: l1/SalesOrderHeader/SalesOrderLines/all(l2: "
              "l2/SalesOrderHeader/SalesOrderLines/all(l3: l3/LineAmount ge 0)))",
    "mariadb": "SalesOrderLines/all(l1: l1/SalesOrderHeader/SalesOrderLines/all(l2: "
               "l2/LineAmount add l1/LineAmount ge 0))",
}
SLOW_FILTERS["postgresql"] = SLOW_FILTERS["sqlite"]
UNCANCELLED_SECONDS = {"sqlite": 60.0, "postgresql": 60.0, "mariadb": 7.0}  # at least, measured without limits


def slow_url(backend: Backend) -> str:
    return f"/data/SalesOrderHeadersV2?cross-company=true&$filter={quote(SLOW_FILTERS[backend.name])}"


def running_statements(backend: Backend) -> int:
    """Statements the database server runs now in the test database, other than this one (0 for
    SQLite: in-process). A streamed read shows as its FETCH on PostgreSQL, hence no text match."""
    if backend.name == "sqlite":
        return 0
    engine = create_engine(backend.url)
    try:
        with engine.connect() as connection:
            if backend.name == "postgresql":
                query = ("SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                         "AND datname = current_database() AND pid <> pg_backend_pid()")
            else:
                query = ("SELECT count(*) FROM information_schema.PROCESSLIST WHERE COMMAND = 'Query' "
                         "AND DB = DATABASE() AND ID <> CONNECTION_ID()")
            return int(connection.execute(text(query)).scalar_one())
    finally:
        engine.dispose()


def wait_for_no_statements(backend: Backend, seconds: float = 5) -> int:
    deadline = time.monotonic() + seconds
    while (count := running_statements(backend)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return count


def test_statement_timeout_is_503(backend: Backend) -> None:
    with make_client(backend, statement_timeout=0.5) as client:
        started = time.monotonic()
        response = client.get(slow_url(backend))
        elapsed = time.monotonic() - started
        assert response.status_code == 503, response.text[:300]
        error = response.json()["error"]
        assert error["code"] == "StatementTimeout" and "--statement-timeout" in error["message"]
        assert 0.4 < elapsed < 5
        assert wait_for_no_statements(backend) == 0
        assert client.get("/data/CustomersV3?$top=1").status_code == 200  # the pool's connections still work
        client.app.state.engine.dispose()  # type: ignore[attr-defined]


def test_a_disconnected_client_cancels_its_query(backend: Backend) -> None:
    app = create_app(Settings(db=backend.url, dev_key=str(TEST_DEV_KEY), statement_timeout=0))
    path, _, query = slow_url(backend).partition("?")
    scope: dict[str, Any] = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 5555), "root_path": "", "path": path,
        "raw_path": path.encode(), "query_string": query.encode(),
        "headers": [(b"host", b"testserver"), *((k.lower().encode(), v.encode()) for k, v in bearer().items())],
    }
    seen_running: list[int] = []

    async def scenario() -> float:
        sent_body = False

        async def receive() -> dict[str, Any]:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await asyncio.sleep(1.0)  # the client waits a second, then goes away
            seen_running.append(await asyncio.to_thread(running_statements, backend))
            return {"type": "http.disconnect"}

        async def send(_message: dict[str, Any]) -> None:
            pass

        started = time.monotonic()
        await app(scope, receive, send)
        return time.monotonic() - started

    elapsed = asyncio.run(scenario())
    assert elapsed < min(4.0, UNCANCELLED_SECONDS[backend.name] / 2)  # cancelled, not run to its end
    if backend.name != "sqlite":
        assert seen_running == [1]  # it was running when the client left...
        assert wait_for_no_statements(backend) == 0  # ...and the server stopped it
    app.state.engine.dispose()


@pytest.mark.parametrize("timeout", [0.0])
def test_no_timeout_means_none(sqlite_backend: Backend, timeout: float) -> None:
    with make_client(sqlite_backend, statement_timeout=timeout) as client:
        assert client.get("/data/SalesOrderHeadersV2?$top=1").status_code == 200
