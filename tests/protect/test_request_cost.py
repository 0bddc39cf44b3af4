"""Per-request cost limits over HTTP: URL length (414), $top, $expand depth, the expanded-rows budget.

Expected sizes and counts come from the URL text itself or from SQL over the physical tables.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from gateway.demo import schema as s
from tests.conftest import Backend, make_client


@pytest.fixture(scope="module")
def limited(sqlite_backend: Backend) -> Iterator[TestClient]:
    with make_client(sqlite_backend, max_url_length=600, max_top=50, max_expand_depth=3,
                     rate_requests=0) as client:
        yield client


def test_url_length_limit_is_414_at_one_byte_over(limited: TestClient) -> None:
    base = "/data/CustomersV3?$top=1&x="
    fits = base + "a" * (600 - len(base))
    assert len(fits) == 600
    assert limited.get(fits).status_code == 200
    response = limited.get(fits + "a")
    assert response.status_code == 414
    error = response.json()["error"]
    assert error["code"] == "UriTooLong" and "601 bytes" in error["message"] and "600" in error["message"]


def test_top_cap_names_the_cap(limited: TestClient) -> None:
    assert limited.get("/data/CustomersV3?$top=50").status_code == 200
    response = limited.get("/data/CustomersV3?$top=51")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "QueryLimitExceeded" and "at most 50" in error["message"] and "--max-top" in error["message"]
    nested = limited.get("/data/SalesOrderHeadersV2?$top=1&$expand=SalesOrderLines($top=51)")
    assert nested.status_code == 400 and "$expand=SalesOrderLines" in nested.json()["error"]["message"]


def _nested(levels: int) -> str:
    """SalesOrders, Customer, SalesOrders, ... `levels` navigations deep, starting from CustomersV3."""
    names = ["SalesOrders" if index % 2 == 0 else "Customer" for index in range(levels)]
    text = names[-1]
    for name in reversed(names[:-1]):
        text = f"{name}($expand={text})"
    return text


@pytest.mark.parametrize("levels", [1, 2, 3, 4, 7])
def test_expand_depth_limit(limited: TestClient, levels: int) -> None:
    expand = _nested(levels)
    assert expand.count("$expand=") + 1 == levels  # the depth as the URL text shows it
    response = limited.get(f"/data/CustomersV3?$top=2&$expand={quote(expand)}")
    if levels <= 3:
        assert response.status_code == 200, response.text
    else:
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "QueryLimitExceeded" and f"nested {levels} levels" in error["message"]
        assert "--max-expand-depth" in error["message"]


def test_levels_count_as_levels(limited: TestClient) -> None:
    assert limited.get("/data/CustomersV3?$top=1&$expand=SalesOrders($levels=3)").status_code == 200
    response = limited.get("/data/CustomersV3?$top=1&$expand=SalesOrders($levels=4)")
    assert response.status_code == 400 and "nested 4 levels" in response.json()["error"]["message"]


def test_the_fuzzed_expand_is_refused_cheaply(sqlite_backend: Backend) -> None:
    """Tens of levels of SalesOrders/Customer once grew a worker to 23 GB; now it costs nothing."""
    with make_client(sqlite_backend) as client:
        expand = _nested(40)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        response = client.get(f"/data/CustomersV3?cross-company=true&$expand={quote(expand)}")
        elapsed = time.perf_counter() - started
        grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    # Refused by whichever bound is met first: --max-expression-depth when parsing (InvalidQueryOption)
    # or --max-expand-depth (QueryLimitExceeded).
    assert response.status_code == 400
    assert response.json()["error"]["code"] in ("InvalidQueryOption", "QueryLimitExceeded")
    assert elapsed < 2 and grown_mb < 50


def _orders_of_first_customers(backend: Backend, count: int) -> int:
    c, o = s.CUSTTABLE, s.SALESTABLE
    first = (select(c.c.DATAAREAID, c.c.ACCOUNTNUM).where(c.c.DATAAREAID == "usmf")
             .order_by(c.c.ACCOUNTNUM).limit(count).subquery())
    statement = select(func.count()).select_from(o).join(
        first, (o.c.DATAAREAID == first.c.DATAAREAID) & (o.c.CUSTACCOUNT == first.c.ACCOUNTNUM))
    with backend.engine.connect() as connection:
        return int(connection.execute(statement).scalar_one())


def test_expanded_rows_budget_counts_rows_as_written(sqlite_backend: Backend) -> None:
    # Each order of the first 20 customers, then its customer again under it: 2 rows per order.
    orders = _orders_of_first_customers(sqlite_backend, 20)
    assert orders > 5
    url = "/data/CustomersV3?$top=20&$orderby=CustomerAccount&$expand=SalesOrders($expand=Customer)"
    with make_client(sqlite_backend, max_expanded_rows=2 * orders) as client:
        response = client.get(url)
        assert response.status_code == 200, response.text
        assert sum(len(row["SalesOrders"]) for row in response.json()["value"]) == orders
    with make_client(sqlite_backend, max_expanded_rows=2 * orders - 1) as client:
        response = client.get(url)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "ResultTooLarge" and f"{2 * orders - 1:,}" in error["message"]
    assert "SalesOrders/Customer" in error["message"]


def test_a_later_chunk_over_budget_cuts_the_page_with_a_next_link(sqlite_backend: Backend) -> None:
    with sqlite_backend.engine.connect() as connection:
        lines = int(connection.execute(select(func.count()).select_from(s.SALESLINE)
                                       .where(s.SALESLINE.c.DATAAREAID == "usmf")).scalar_one())
    assert lines > 1500  # more than one chunk of 1,000 rows
    with make_client(sqlite_backend, max_expanded_rows=1500) as client:
        response = client.get("/data/SalesOrderLines?$expand=SalesOrderHeader")
        assert response.status_code == 200
        body = response.json()
        assert len(body["value"]) == 1000  # the first chunk; the second would bring 1,000 more headers
        assert all(row["SalesOrderHeader"] is not None for row in body["value"])
        following = client.get(body["@odata.nextLink"])
        assert following.status_code == 200
        assert following.json()["value"][0]["InventoryLotId"] != body["value"][-1]["InventoryLotId"]
