"""The plan cache: repeated requests reuse their plan; nothing leaks between companies or in time."""

from __future__ import annotations

from starlette.testclient import TestClient

from gateway.read import _plans
from grammar.cache import BoundedCache


def test_lru_cache_reuses_and_evicts() -> None:
    cache: BoundedCache[object] = BoundedCache(2, 10**6, lambda key, value: 1)
    built: list[str] = []

    def build(name: str) -> object:
        built.append(name)
        return name

    assert cache.get("a", lambda: build("a")) == "a"
    assert cache.get("a", lambda: build("a")) == "a"
    cache.get("b", lambda: build("b"))
    cache.get("c", lambda: build("c"))  # evicts the least recently used: "a"
    cache.get("a", lambda: build("a"))
    assert built == ["a", "b", "c", "a"]
    cache.get("d", lambda: build("d"), cacheable=False)
    cache.get("d", lambda: build("d"), cacheable=False)
    assert built[-2:] == ["d", "d"]


def test_repeated_requests_share_a_plan_but_not_across_companies(sqlite_client: TestClient) -> None:
    query = {"$select": "dataAreaId,CustomerAccount", "$top": "3"}
    _plans.clear()  # the suite's other requests may have filled it
    before = len(_plans)
    first = sqlite_client.get("/data/CustomersV3", params=query).json()["value"]
    assert len(_plans) == before + 1
    again = sqlite_client.get("/data/CustomersV3", params=query).json()["value"]
    assert len(_plans) == before + 1 and again == first
    other = sqlite_client.get("/data/CustomersV3", params={**query, "company": "demf"}).json()["value"]
    assert {row["dataAreaId"] for row in first} == {"usmf"}
    assert {row["dataAreaId"] for row in other} == {"demf"}


def test_a_request_that_reads_the_clock_is_not_kept(sqlite_client: TestClient) -> None:
    _plans.clear()
    before = len(_plans)
    response = sqlite_client.get("/data/CustomersV3", params={"$filter": "CreatedDateTime lt now()", "$top": "1"})
    assert response.status_code == 200
    assert len(_plans) == before
