"""Power Query (Excel, Power BI: `OData.Feed(url, null, [Implementation="2.0"])`) as the requests it sends.

What it sends and needs (Power Query M reference for OData.Feed; Microsoft's notes on "Organizational
account" sign-in for OData feeds):
- `$metadata` first, as CSDL XML, then the service document, then each table's entity set, following
  `@odata.nextLink` until there is none (it never sends `$skip` paging of its own unless folding).
- `OData-MaxVersion: 4.0` (and `MaxDataServiceVersion: 3.0` for v3 services); an `Accept` that prefers
  JSON with minimal metadata and lists v3 JSON and Atom/XML after it.
- `HEAD` requests to probe a URL before reading it.
- Sign-in: a request without credentials (or with an empty `Bearer`) must get 401 with
  `WWW-Authenticate: Bearer authorization_uri=...`, or Power Query says the credential type is not supported.
- Folding: `Table.SelectRows`, `Table.SelectColumns`, `Table.FirstN` become `$filter`, `$select`, `$top`.
- Decimal columns as JSON numbers or, with `IEEE754Compatible=true`, as strings.

Expectations are hand-written SQL over the physical tables, never the gateway's own output.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx2
import pytest
from sqlalchemy import func, select

from gateway.demo import schema
from tests import oracle
from tests.clients.conftest import Served
from tests.contract import FNO_ENTITY_SETS

ENTITY_SETS = set(FNO_ENTITY_SETS)
POWER_QUERY_ACCEPT = (
    "application/json;odata.metadata=minimal;q=1.0,application/json;odata=minimalmetadata;q=0.9,"
    "application/atomsvc+xml;q=0.8,application/atom+xml;q=0.8,application/xml;q=0.7,text/plain;q=0.7"
)
POWER_QUERY_HEADERS = {
    "OData-MaxVersion": "4.0",
    "MaxDataServiceVersion": "3.0",
    "Accept": POWER_QUERY_ACCEPT,
}
EDM = "{http://docs.oasis-open.org/odata/ns/edm}"
COMPANY = "usmf"


@pytest.fixture(scope="module")
def feed(served: Served) -> Iterator[httpx2.Client]:
    """Power Query after sign-in: the bearer token on every request, its OData headers."""
    headers = {"Authorization": f"Bearer {served.token}", **POWER_QUERY_HEADERS}
    with httpx2.Client(base_url=served.data, headers=headers, timeout=30) as client:
        yield client


def _decimal_json(response: httpx2.Response) -> Any:
    return json.loads(response.text, parse_float=Decimal)


def _entity_sets_of(metadata: bytes) -> set[str]:
    return {element.get("Name") or "" for element in ET.fromstring(metadata).iter(f"{EDM}EntitySet")}


# ------------------------------------------------------------------------------ metadata, service document
@pytest.mark.parametrize("accept", [None, "application/xml", "*/*"])
def test_metadata_is_xml_by_default(served: Served, accept: str | None) -> None:
    headers = {"Authorization": f"Bearer {served.token}", "OData-MaxVersion": "4.0"}
    if accept is not None:
        headers["Accept"] = accept
    response = httpx2.get(served.data + "$metadata", headers=headers, timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == "application/xml"
    assert response.headers["odata-version"] == "4.0"
    assert _entity_sets_of(response.content) == ENTITY_SETS


def test_metadata_format_xml_and_json(feed: httpx2.Client) -> None:
    xml = feed.get("$metadata", params={"$format": "xml"})
    assert xml.status_code == 200 and xml.headers["content-type"].startswith("application/xml")
    assert _entity_sets_of(xml.content) == ENTITY_SETS
    csdl = feed.get("$metadata", params={"$format": "json"})
    assert csdl.status_code == 200 and csdl.headers["content-type"].startswith("application/json")
    container = csdl.json()["$EntityContainer"]
    namespace, _, name = container.rpartition(".")
    assert {key for key in csdl.json()[namespace][name] if not key.startswith(("$", "@"))} == ENTITY_SETS


def test_service_document_with_power_query_headers(feed: httpx2.Client) -> None:
    response = feed.get("")
    assert response.status_code == 200
    assert response.headers["odata-version"] == "4.0"
    assert response.headers["content-type"].startswith("application/json")
    assert {entry["name"] for entry in response.json()["value"]} == ENTITY_SETS


# ------------------------------------------------------------------------------ data
def test_folded_query_with_power_query_accept(feed: httpx2.Client, served: Served) -> None:
    # Table.SelectRows + Table.SelectColumns + Table.FirstN, as Power Query folds them (spaces as %20).
    response = feed.get(
        "CustomersV3?$filter=CreditLimit%20gt%201000&$select=CustomerAccount,CreditLimit&$top=1000"
    )
    assert response.status_code == 200
    content_type = response.headers["content-type"]
    assert content_type.startswith("application/json") and "odata.metadata=minimal" in content_type
    got = {(row["CustomerAccount"], row["CreditLimit"]) for row in _decimal_json(response)["value"]}
    expected = {(row["CustomerAccount"], row["CreditLimit"])
                for row in oracle.customers(served.engine, [COMPANY]) if row["CreditLimit"] > 1000}  # fmt: skip
    assert expected and got == expected


@pytest.mark.parametrize("format_", ["json", "application/json;odata.metadata=minimal"])
def test_format_json_overrides_accept(feed: httpx2.Client, served: Served, format_: str) -> None:
    response = feed.get("SalesOrderHeadersV2", params={"$format": format_, "$select": "SalesOrderNumber"},
                        headers={"Accept": "application/xml"})  # fmt: skip
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    expected = sorted(order["SalesOrderNumber"] for order in oracle.sales_orders(served.engine, [COMPANY]))
    assert sorted(row["SalesOrderNumber"] for row in response.json()["value"]) == expected


def test_paging_by_next_link_reads_every_row_once(feed: httpx2.Client, served: Served) -> None:
    expected = oracle.sales_lines(served.engine, [COMPANY])
    page_size = max(5, len(expected) // 6)
    rows: list[dict[str, Any]] = []
    url = "SalesOrderLines?$select=InventoryLotId,LineAmount"
    pages = 0
    while url:
        response = feed.get(url, headers={"Prefer": f"odata.maxpagesize={page_size}"})
        assert response.status_code == 200, response.text
        body = _decimal_json(response)
        rows.extend(body["value"])
        pages += 1
        url = body.get("@odata.nextLink", "")
        assert not url or url.startswith(served.data), url  # absolute, on the feed's own root
        assert pages <= len(expected)
    assert pages >= 6
    assert sorted((r["InventoryLotId"], r["LineAmount"]) for r in rows) == sorted(
        (line["InventoryLotId"], line["LineAmount"]) for line in expected
    )


def test_ieee754_compatible_writes_decimals_as_strings(feed: httpx2.Client, served: Served) -> None:
    response = feed.get(
        "CustomersV3?$select=CustomerAccount,CreditLimit",
        headers={"Accept": "application/json;odata.metadata=minimal;IEEE754Compatible=true"},
    )
    assert response.status_code == 200
    assert "IEEE754Compatible=true" in response.headers["content-type"]
    rows = response.json()["value"]
    assert all(isinstance(row["CreditLimit"], str) for row in rows)
    got = {row["CustomerAccount"]: Decimal(row["CreditLimit"]) for row in rows}
    assert got == {
        row["CustomerAccount"]: row["CreditLimit"] for row in oracle.customers(served.engine, [COMPANY])
    }

    plain = feed.get("CustomersV3?$select=CustomerAccount,CreditLimit&$top=3")
    assert "IEEE754Compatible=true" not in plain.headers["content-type"]
    assert all(not isinstance(row["CreditLimit"], str) for row in plain.json()["value"])


@pytest.mark.parametrize("path", ["", "$metadata", "CustomersV3?$top=2", "SalesOrderHeadersV2/$count"])
def test_head_answers_like_get_without_a_body(feed: httpx2.Client, path: str) -> None:
    get = feed.get(path)
    head = feed.head(path)
    assert get.status_code == head.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.headers["odata-version"] == "4.0"


def test_count_with_power_query_accept(feed: httpx2.Client, served: Served) -> None:
    response = feed.get("SalesOrderHeadersV2/$count")
    assert response.status_code == 200
    with served.engine.connect() as connection:
        expected = connection.execute(
            select(func.count())
            .select_from(schema.SALESTABLE)
            .where(schema.SALESTABLE.c.DATAAREAID == COMPANY)
        ).scalar_one()
    assert response.text == str(expected)


# ------------------------------------------------------------------------------ sign-in
@pytest.mark.parametrize("authorization", [None, "Bearer"])  # "Bearer": what its sign-in probe sends
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_challenge_without_credentials(served: Served, authorization: str | None, method: str) -> None:
    headers = dict(POWER_QUERY_HEADERS)
    if authorization is not None:
        headers["Authorization"] = authorization
    for path in ("", "$metadata", "CustomersV3"):
        response = httpx2.request(method, served.data + path, headers=headers, timeout=30)
        assert response.status_code == 401, (path, response.status_code, response.text)
        challenge = response.headers.get("www-authenticate", "")
        assert challenge.startswith("Bearer "), challenge
        assert "authorization_uri=" in challenge, challenge
        if method == "GET":
            assert "CustomerAccount" not in response.text  # no data leaks with the challenge
