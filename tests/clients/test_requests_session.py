"""A plain `requests` session, written the way a user writes one: a bearer token on the session,
query options as `params=`, then follow `@odata.nextLink` until there is none.

Expectations are hand-written SQL over the physical tables.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from gateway.demo import schema
from tests import oracle
from tests.clients.conftest import Served

PAGE = 7


@pytest.fixture(scope="module")
def session(served: Served) -> Iterator[requests.Session]:
    with requests.Session() as user_session:
        user_session.headers.update({"Authorization": f"Bearer {served.token}", "Accept": "application/json"})
        yield user_session


def _all_pages(session: requests.Session, url: str, **kwargs: Any) -> list[dict[str, Any]]:
    """What a user writes: get, keep `value`, follow @odata.nextLink (which already carries every option)."""
    pages = []
    response = session.get(url, **kwargs)
    while True:
        response.raise_for_status()
        body = json.loads(response.text, parse_float=Decimal)
        pages.append(body)
        if "@odata.nextLink" not in body:
            return pages
        response = session.get(body["@odata.nextLink"], headers=kwargs.get("headers"))


def test_pages_through_next_links_cross_company(session: requests.Session, served: Served) -> None:
    with served.engine.connect() as connection:
        companies = [row[0] for row in connection.execute(select(schema.CUSTTABLE.c.DATAAREAID).distinct())]
    expected = oracle.customers(served.engine, companies)
    assert len(expected) > 3 * PAGE

    pages = _all_pages(
        session,
        served.data + "CustomersV3",
        params={
            "cross-company": "true",
            "$select": "dataAreaId,CustomerAccount,CreditLimit",
            "$orderby": "CreditLimit desc",
        },
        headers={"Prefer": f"odata.maxpagesize={PAGE}"},
    )
    rows = [row for page in pages for row in page["value"]]
    assert len(pages) == math.ceil(len(expected) / PAGE)
    assert all(len(page["value"]) == PAGE for page in pages[:-1])
    assert sorted((r["dataAreaId"], r["CustomerAccount"], r["CreditLimit"]) for r in rows) == sorted(
        (r["dataAreaId"], r["CustomerAccount"], r["CreditLimit"]) for r in expected
    )
    limits = [r["CreditLimit"] for r in rows]
    assert limits == sorted(limits, reverse=True)


def test_filter_with_params_and_count(session: requests.Session, served: Served) -> None:
    # requests encodes the spaces of params as '+': the gateway reads them as spaces (README, "Query language").
    response = session.get(
        served.data + "SalesOrderLines",
        params={
            "$filter": "LineAmount gt 1000 and ItemNumber ne 'X'",
            "$count": "true",
            "$select": "InventoryLotId,LineAmount",
            "$orderby": "InventoryLotId",
        },
        headers={"Prefer": "odata.maxpagesize=50"},
    )
    response.raise_for_status()
    body = json.loads(response.text, parse_float=Decimal)
    lines = [line for line in oracle.sales_lines(served.engine, ["usmf"]) if line["LineAmount"] > 1000]
    assert body["@odata.count"] == len(lines)
    assert [row["InventoryLotId"] for row in body["value"]] == sorted(
        line["InventoryLotId"] for line in lines
    )[:50]
    assert ("@odata.nextLink" in body) == (len(lines) > 50)


# /$count is text/plain (OData 4.0 Part 2 §11.2.9): `Accept: text/plain` must be served (it once was a 406:
# the gateway negotiated JSON for every read before it knew the resource was /$count).
@pytest.mark.parametrize("accept", ["*/*", "text/plain, */*;q=0.1", "text/plain"])
def test_count_segment_is_plain_text(session: requests.Session, served: Served, accept: str) -> None:
    response = session.get(served.data + "SalesOrderHeadersV2/$count", headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    with served.engine.connect() as connection:
        expected = connection.execute(
            select(func.count())
            .select_from(schema.SALESTABLE)
            .where(schema.SALESTABLE.c.DATAAREAID == "usmf")
        ).scalar_one()
    assert response.text == str(expected)


def test_count_segment_refuses_a_client_that_takes_no_text(session: requests.Session, served: Served) -> None:
    response = session.get(served.data + "SalesOrderHeadersV2/$count", headers={"Accept": "application/xml"})
    assert response.status_code == 406
    assert response.json()["error"]["code"] == "NotAcceptable"
    assert "text/plain" in response.json()["error"]["message"]
