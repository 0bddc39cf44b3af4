"""Per-principal limits over HTTP: 429 in the OData error shape with a Retry-After from the window."""

from __future__ import annotations

import threading
import time
from urllib.parse import quote

from tests.conftest import Backend, bearer, make_client

SLOW_FILTER = ("SalesOrderLines/all(l1: l1/SalesOrderHeader/SalesOrderLines/all(l2: "
               "l2/SalesOrderHeader/SalesOrderLines/all(l3: l3/LineAmount ge 0)))")


def test_requests_over_the_window_are_429_per_principal(sqlite_backend: Backend) -> None:
    with make_client(sqlite_backend, rate_requests=3, rate_window_seconds=300) as client:
        started = time.monotonic()
        statuses = [client.get("/data/CustomersV3?$top=1").status_code for _ in range(5)]
        assert statuses == [200, 200, 200, 429, 429]
        refused = client.get("/data/CustomersV3?$top=1")
        waited = time.monotonic() - started
        assert refused.json()["error"]["code"] == "TooManyRequests"
        assert refused.headers["OData-Version"] == "4.0"
        retry = int(refused.headers["Retry-After"])
        assert 300 - waited - 1 <= retry <= 300  # when the first request leaves the window
        assert "3 requests in 300 seconds" in refused.json()["error"]["message"]
        other = client.get("/data/CustomersV3?$top=1", headers=bearer("someone-else"))
        assert other.status_code == 200  # the limit is the principal's, not the server's


def test_retry_after_shrinks_with_the_window(sqlite_backend: Backend) -> None:
    with make_client(sqlite_backend, rate_requests=1, rate_window_seconds=4) as client:
        assert client.get("/data/CustomersV3?$top=1").status_code == 200
        first = int(client.get("/data/CustomersV3?$top=1").headers["Retry-After"])
        time.sleep(2.1)
        second = int(client.get("/data/CustomersV3?$top=1").headers["Retry-After"])
        assert first == 4 and second == 2
        time.sleep(2)
        assert client.get("/data/CustomersV3?$top=1").status_code == 200


def test_execution_time_over_the_window_is_429(sqlite_backend: Backend) -> None:
    with make_client(sqlite_backend, rate_execution_seconds=0.2, statement_timeout=0.5) as client:
        slow = client.get(f"/data/SalesOrderHeadersV2?cross-company=true&$filter={quote(SLOW_FILTER)}")
        assert slow.status_code == 503  # ran its 0.5 s, then the statement timeout stopped it
        refused = client.get("/data/CustomersV3?$top=1")
        assert refused.status_code == 429
        assert "execution time" in refused.json()["error"]["message"]
        assert 295 <= int(refused.headers["Retry-After"]) <= 300


def test_concurrent_requests_beyond_the_limit_are_429(sqlite_backend: Backend) -> None:
    with make_client(sqlite_backend, principal_concurrency=1, statement_timeout=1.0) as client:
        outcome: dict[str, int] = {}

        def slow() -> None:
            outcome["slow"] = client.get(
                f"/data/SalesOrderHeadersV2?cross-company=true&$filter={quote(SLOW_FILTER)}").status_code

        thread = threading.Thread(target=slow)
        thread.start()
        time.sleep(0.3)
        refused = client.get("/data/CustomersV3?$top=1")
        thread.join()
        assert refused.status_code == 429 and "1 concurrent" in refused.json()["error"]["message"]
        assert int(refused.headers["Retry-After"]) >= 1
        assert outcome["slow"] == 503


def test_anonymous_callers_are_told_apart_by_address(sqlite_backend: Backend) -> None:
    from gateway.protect.middleware import principal_key

    assert principal_key({"client": ("127.0.0.2", 5000)}) == "client:127.0.0.2"
    with make_client(sqlite_backend, rate_requests=1, anonymous_role="DataReader", headers={}) as client:
        assert client.get("/data/CustomersV3?$top=1").status_code == 200
        assert client.get("/data/CustomersV3?$top=1").status_code == 429


def test_a_full_gate_is_503_server_busy_with_retry_after(sqlite_backend: Backend) -> None:
    with make_client(sqlite_backend, concurrency_limit=1, queue_wait_seconds=0.2, statement_timeout=1.0,
                     rate_execution_seconds=0.5) as client:
        outcome: dict[str, int] = {}

        def slow() -> None:
            outcome["slow"] = client.get(
                f"/data/SalesOrderHeadersV2?cross-company=true&$filter={quote(SLOW_FILTER)}").status_code

        thread = threading.Thread(target=slow)
        thread.start()
        time.sleep(0.3)
        started = time.monotonic()
        busy = client.get("/data/CustomersV3?$top=1", headers=bearer("waiting-one"))
        waited = time.monotonic() - started
        thread.join()
        assert busy.status_code == 503 and busy.json()["error"]["code"] == "ServerBusy"
        assert int(busy.headers["Retry-After"]) >= 1 and 0.15 < waited < 0.9
        assert outcome["slow"] == 503  # its statement timeout
        # The wait in the queue is not execution time: the refused principal is not over its 0.5 s.
        assert client.get("/data/CustomersV3?$top=1", headers=bearer("waiting-one")).status_code == 200
