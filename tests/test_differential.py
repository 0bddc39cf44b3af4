"""The same requests on SQLite, PostgreSQL and MariaDB give byte-for-byte the same answers.

One fixture data set (same seed) in three databases; every database reachable here takes part,
and the test needs at least two of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlencode

import pytest
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.demo.generate import build_demo_database
from gateway.settings import Settings
from tests.conftest import DEMO_SCALE, TEST_DEV_KEY, client_for, create_server_database
from tests.test_docs import EXAMPLES
from tests.test_read_filters import CUSTOMER_FILTERS


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, TestClient]]:
    urls = {"sqlite": f"sqlite:///{tmp_path_factory.mktemp('differential') / 'fno.db'}"}
    for name in ("postgresql", "mariadb"):
        try:
            urls[name] = create_server_database(name, "fno_differential")
        except Exception as error:  # noqa: BLE001 - a missing server just takes no part
            print(f"differential: {name} not reachable ({type(error).__name__})")
    if len(urls) < 2:
        pytest.skip("the differential test needs at least two databases; only SQLite is reachable")
    built: dict[str, TestClient] = {}
    for name, url in urls.items():
        build_demo_database(url, scale=DEMO_SCALE, seed=7, progress=False)
        built[name] = client_for(create_app(Settings(db=url, dev_key=str(TEST_DEV_KEY))))
    yield built
    for client in built.values():
        client.app.state.engine.dispose()  # type: ignore[attr-defined]


def _split(example: str) -> tuple[str, list[tuple[str, str]]]:
    path, _, query = example.partition("?")
    return path, parse_qsl(query, keep_blank_values=True)


SELECTED = "dataAreaId,CustomerAccount,CreditLimit,CreatedDateTime"
REQUESTS: list[tuple[str, list[tuple[str, str]]]] = [
    *(("CustomersV3", [("$filter", text), ("$select", SELECTED)]) for _, text, _ in CUSTOMER_FILTERS),
    *(_split(example) for example in EXAMPLES),
    ("SalesOrderLines", [("$orderby", "LineAmount desc,ItemNumber"), ("$top", "50")]),
    ("CustomersV3", [("$orderby", "AddressCity desc,OrganizationName"), ("$top", "40"), ("$skip", "3"), ("$count", "true")]),
]


@pytest.mark.parametrize(("path", "pairs"), REQUESTS, ids=[f"{path}?{urlencode(pairs)}"[:120] for path, pairs in REQUESTS])
def test_every_database_answers_alike(clients: dict[str, TestClient], path: str, pairs: list[tuple[str, str]]) -> None:
    url = f"/data/{path}?{urlencode([*pairs, ('cross-company', 'true')])}"
    request_path = url
    answers = {name: client.get(url) for name, client in clients.items()}
    statuses = {name: answer.status_code for name, answer in answers.items()}
    assert set(statuses.values()) == {200}, statuses
    bodies = {name: _without_volatile(answer.text) for name, answer in answers.items()}
    reference = bodies.pop("sqlite")
    for name, body in bodies.items():
        assert body == reference, f"{name} differs from sqlite for {request_path}"


def _without_volatile(body: str) -> str:
    # now() differs between the requests by a second at most; nothing else may differ.
    return re.sub(r'"@odata.nextLink":"[^"]*"', '"@odata.nextLink":""', body)
