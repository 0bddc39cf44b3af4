"""Every Content-ID reference form of a $batch (OData 4.01 Part 1 §11.7.4-11.7.7, JSON Format §19.1-19.3),
with real entities: a customer created, then orders that reach it by `$id` — checked in the physical tables."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import orjson
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from tests.conftest import Backend
from tests.write.batch_support import ORDERS, customer, customer_row, new_tag, orders, removing, statuses


@pytest.fixture
def tagged(backend: Backend) -> Iterator[list[str]]:
    yield from removing(backend)


def _answers(response: Any) -> dict[str, dict[str, Any]]:
    assert response.status_code == 200, response.text
    return {item["id"]: item for item in response.json()["responses"]}


def test_references_inside_one_atomicity_group(client: TestClient, backend: Backend, tagged: list[str]) -> None:
    """Ids that are not numbers; `$cust/SalesOrders` as a URL; `Customer@odata.bind` and the 4.01 short
    `Customer@bind` set to "$cust" in bodies; `$ord` as a URL (PATCH) — all in the customer's group."""
    tag = new_tag("R")
    tagged.append(tag)
    batch = {"requests": [
        {"id": "cust", "method": "POST", "url": "CustomersV3", "atomicityGroup": "new", "body": customer(f"{tag}-C")},
        {"id": "ord", "method": "POST", "url": "$cust/SalesOrders", "atomicityGroup": "new",
         "body": {"SalesOrderNumber": f"{tag}-1"}},
        {"id": "bound", "method": "POST", "url": "SalesOrderHeadersV2", "atomicityGroup": "new",
         "body": {"SalesOrderNumber": f"{tag}-2", "Customer@odata.bind": "$cust"}},
        {"id": "short", "method": "POST", "url": "SalesOrderHeadersV2", "atomicityGroup": "new",
         "body": {"SalesOrderNumber": f"{tag}-3", "Customer@bind": "$cust"}},
        {"id": "edit", "method": "PATCH", "url": "$cust", "atomicityGroup": "new", "body": {"CreditLimit": 4321}},
        {"id": "note", "method": "PATCH", "url": "$ord", "atomicityGroup": "new",
         "body": {"CustomerRequisitionNumber": "by reference"}},
    ]}
    assert set(statuses(client.post("/data/$batch", json=batch)).values()) <= {201, 204}
    account = f"{tag}-C"
    assert orders(backend, tag) == [(f"{tag}-1", account, "usmf"), (f"{tag}-2", account, "usmf"),
                                    (f"{tag}-3", account, "usmf")]
    row = customer_row(backend, account)
    assert row is not None and Decimal(str(row["CREDITMAX"])) == 4321
    assert _requisition(backend, f"{tag}-1") == "by reference"


def _requisition(backend: Backend, order: str) -> str:
    with backend.engine.connect() as connection:
        return str(connection.execute(select(ORDERS.c.CUSTOMERREF).where(ORDERS.c.SALESID == order)).scalar_one())


def test_references_to_a_group_a_request_depends_on(client: TestClient, backend: Backend, tagged: list[str]) -> None:
    """After the group commits, requests that depend on it reach its entities: `$c` (GET), `$c/Property`,
    `$c/Property/$value`, `$c/Navigation`, and `If-Match: $c` (the ETag $c answered with)."""
    tag = new_tag("R")
    tagged.append(tag)
    account = f"{tag}-C"
    batch = {"requests": [
        {"id": "c", "method": "POST", "url": "CustomersV3", "atomicityGroup": "g", "body": customer(account)},
        {"id": "o", "method": "POST", "url": "$c/SalesOrders", "atomicityGroup": "g",
         "body": {"SalesOrderNumber": f"{tag}-1"}},
        {"id": "entity", "method": "GET", "url": "$c?$select=CustomerAccount,OrganizationName", "dependsOn": ["g"]},
        {"id": "name", "method": "GET", "url": "$c/OrganizationName", "dependsOn": ["g"]},
        {"id": "raw", "method": "GET", "url": "$c/OrganizationName/$value", "dependsOn": ["g"]},
        {"id": "nav", "method": "GET", "url": "$c/SalesOrders?$select=SalesOrderNumber", "dependsOn": ["g"]},
        {"id": "back", "method": "GET", "url": "$o/Customer?$select=CustomerAccount", "dependsOn": ["g"]},
        {"id": "guarded", "method": "PATCH", "url": "$c", "headers": {"if-match": "$c"}, "dependsOn": ["g"],
         "body": {"CreditLimit": 77}},
        {"id": "stale", "method": "PATCH", "url": "$c", "headers": {"if-match": "$c"}, "dependsOn": ["guarded"],
         "body": {"CreditLimit": 88}},
    ]}
    answers = _answers(client.post("/data/$batch", json=batch, headers={"Prefer": "odata.continue-on-error"}))
    row = customer_row(backend, account)
    assert row is not None
    assert answers["entity"]["body"]["CustomerAccount"] == account
    assert answers["entity"]["body"]["OrganizationName"] == row["NAME"]
    assert answers["name"]["body"]["value"] == row["NAME"]
    assert answers["raw"]["body"] == row["NAME"]
    assert [item["SalesOrderNumber"] for item in answers["nav"]["body"]["value"]] == [o[0] for o in orders(backend, tag)]
    assert answers["back"]["body"]["CustomerAccount"] == account
    # `$c`'s ETag is the one its create answered with: current for the first PATCH, stale after it.
    assert (answers["guarded"]["status"], answers["stale"]["status"]) == (204, 412)
    assert Decimal(str(row["CREDITMAX"])) == 77


def test_a_read_entity_can_be_referenced(client: TestClient, backend: Backend, tagged: list[str]) -> None:
    """`$1` stands for the entity a GET returned as well as for one a POST created (§19.1)."""
    tag = new_tag("R")
    tagged.append(tag)
    batch = {"requests": [
        {"id": "1", "method": "GET", "url": "CustomersV3(dataAreaId='usmf',CustomerAccount='US-001')?$select=CustomerAccount"},
        {"id": "2", "method": "POST", "url": "$1/SalesOrders", "dependsOn": ["1"], "body": {"SalesOrderNumber": f"{tag}-1"}},
    ]}
    assert statuses(client.post("/data/$batch", json=batch)) == {"1": 200, "2": 201}
    assert orders(backend, tag) == [(f"{tag}-1", "US-001", "usmf")]


US_001 = "CustomersV3(dataAreaId='usmf',CustomerAccount='US-001')"


@pytest.mark.parametrize("read", ["CustomersV3?$top=1", f"{US_001}/OrganizationName", f"{US_001}/OrganizationName/$value"],
                         ids=["collection", "property", "value"])
def test_a_reference_to_a_request_without_an_entity_is_424(client: TestClient, backend: Backend,
                                                           tagged: list[str], read: str) -> None:
    tag = new_tag("R")
    tagged.append(tag)
    batch = {"requests": [
        {"id": "list", "method": "GET", "url": read},
        {"id": "2", "method": "POST", "url": "$list/SalesOrders", "dependsOn": ["list"],
         "body": {"SalesOrderNumber": f"{tag}-1"}},
    ]}
    answers = _answers(client.post("/data/$batch", json=batch))
    assert answers["2"]["status"] == 424 and "stands for no entity" in answers["2"]["body"]["error"]["message"]
    assert orders(backend, tag) == []


def test_a_system_resource_is_never_a_reference(client: TestClient) -> None:
    """Part 1 §11.7.4: `$metadata` names the metadata document even where a request has the id `metadata`."""
    batch = {"requests": [
        {"id": "metadata", "method": "GET", "url": "LegalEntities('usmf')"},
        {"id": "2", "method": "GET", "url": "$metadata", "headers": {"accept": "application/xml"}},
    ]}
    answers = _answers(client.post("/data/$batch", json=batch))
    assert answers["2"]["status"] == 200 and "<edmx:Edmx" in answers["2"]["body"]


def _part(content_id: str, request_line: str, body: dict[str, Any] | None = None) -> str:
    payload = "" if body is None else orjson.dumps(body).decode()
    return (f"Content-Type: application/http\r\nContent-ID: {content_id}\r\n\r\n"
            f"{request_line} HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{payload}\r\n")


def test_multipart_references_in_urls_and_bodies(client: TestClient, backend: Backend, tagged: list[str]) -> None:
    """The multipart form: `$new` (an id that is not a number) in a change set's URLs and bind values,
    and a reference into an earlier change set (Part 1 §11.7.7.2 allows services to support it)."""
    tag = new_tag("R")
    tagged.append(tag)
    account = f"{tag}-C"
    first = "".join(f"--cs\r\n{part}" for part in [
        _part("new", "POST CustomersV3", customer(account)),
        _part("o1", "POST $new/SalesOrders", {"SalesOrderNumber": f"{tag}-1"}),
        _part("o2", "POST SalesOrderHeadersV2", {"SalesOrderNumber": f"{tag}-2", "Customer@odata.bind": "$new"}),
        _part("edit", "PATCH $o1", {"CustomerRequisitionNumber": "multipart"}),
    ])
    second = f"--cs2\r\n{_part('later', 'PATCH $new', {'CreditLimit': 1234})}"
    body = (f"--b\r\nContent-Type: multipart/mixed; boundary=cs\r\n\r\n{first}--cs--\r\n"
            f"--b\r\nContent-Type: multipart/mixed; boundary=cs2\r\n\r\n{second}--cs2--\r\n--b--\r\n")
    response = client.post("/data/$batch", content=body.encode(), headers={"Content-Type": "multipart/mixed; boundary=b"})
    assert response.status_code == 200, response.text
    assert response.text.count("HTTP/1.1 201 Created") == 3 and response.text.count("HTTP/1.1 204 No Content") == 2
    assert orders(backend, tag) == [(f"{tag}-1", account, "usmf"), (f"{tag}-2", account, "usmf")]
    row = customer_row(backend, account)
    assert row is not None and Decimal(str(row["CREDITMAX"])) == 1234
    assert _requisition(backend, f"{tag}-1") == "multipart"
