"""$batch validation: an invalid batch is a 400 for the whole request, in the OData error shape, and none
of it runs (OData 4.01 JSON Format §19.1, Part 1 §11.7) — checked in the physical tables."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from tests.conftest import Backend
from tests.write.batch_support import CUST, accounts, customer, error_message, new_tag, removing, statuses


@pytest.fixture
def tagged(backend: Backend) -> Iterator[list[str]]:
    yield from removing(backend)


def _create(tag: str, **extra: Any) -> dict[str, Any]:
    """A valid create that comes first in every invalid batch: it must not run either."""
    return {"id": "first", "method": "POST", "url": "CustomersV3", "body": customer(f"{tag}-1"), **extra}


def _get(id: str, **extra: Any) -> dict[str, Any]:
    return {"id": id, "method": "GET", "url": "LegalEntities('usmf')", **extra}


# (case id, the requests after the valid create, words the message must hold)
INVALID: list[tuple[str, list[Any], str]] = [
    ("duplicate-id", [_get("first")], "'first' is given twice"),
    ("missing-id", [{"method": "GET", "url": "LegalEntities"}], 'needs "id"'),
    ("missing-method", [{"id": "2", "url": "LegalEntities"}], 'needs "method"'),
    ("missing-url", [{"id": "2", "method": "GET"}], 'needs "url"'),
    ("empty-url", [{"id": "2", "method": "GET", "url": " "}], '"url"'),
    ("unknown-member", [_get("2", atomicitygroup="g")], 'unknown member "atomicitygroup"'),
    ("request-not-an-object", [["GET", "LegalEntities"]], "must be an object"),
    ("id-a-number", [_get(2)], '"id" must be a string'),  # type: ignore[arg-type]
    ("id-not-a-request-id", [_get("a b")], "request-id"),
    ("unknown-method", [{"id": "2", "method": "MERGE", "url": "LegalEntities"}], '"method" must be one of'),
    ("depends-on-unknown", [_get("2", dependsOn=["nobody"])], "dependsOn names 'nobody'"),
    ("depends-on-later", [_get("2", dependsOn=["3"]), _get("3")], "dependsOn names '3'"),
    ("depends-on-own-group", [_get("2", atomicityGroup="g", dependsOn=["g"])], "its own atomicity group"),
    ("depends-on-member-of-another-group",
     [{"id": "2", "method": "DELETE", "url": "CustomerGroups(dataAreaId='usmf',CustomerGroupId='none')",
       "atomicityGroup": "g"}, _get("3", dependsOn=["2"])], "depend on the group instead"),
    ("group-not-adjacent", [_get("2", atomicityGroup="g"), _get("3"), _get("4", atomicityGroup="g")],
     "must be adjacent"),
    ("group-named-like-an-id", [_get("2", atomicityGroup="first")], "has the name of a request id"),
    ("body-on-get", [_get("2", body={"x": 1})], "has no body"),
    ("body-on-delete", [{"id": "2", "method": "DELETE", "url": "CustomerGroups(dataAreaId='usmf',CustomerGroupId='x')",
                         "body": {}}], "has no body"),
    ("header-value-not-a-string", [_get("2", headers={"prefer": 5})], "must be a string"),
    ("if-not-a-string", [_get("2", **{"if": True})], '"if" must be a string'),
    ("reference-to-nobody", [{"id": "2", "method": "GET", "url": "$nobody/SalesOrders"}], "$nobody names no earlier"),
    ("reference-to-a-later-request", [{"id": "2", "method": "GET", "url": "$3"}, _get("3")], "$3 names no earlier"),
    ("bind-to-nobody", [{"id": "2", "method": "POST", "url": "SalesOrderHeadersV2",
                         "body": {"SalesOrderNumber": "x", "Customer@odata.bind": "$ghost"}}], "$ghost"),
    ("batch-inside-a-batch", [{"id": "2", "method": "POST", "url": "$batch", "body": {"requests": []}}],
     "cannot itself be a batch"),
]


@pytest.mark.parametrize(("requests", "says"), [case[1:] for case in INVALID], ids=[case[0] for case in INVALID])
def test_an_invalid_json_batch_is_a_400_and_runs_nothing(
    client: TestClient, backend: Backend, tagged: list[str], requests: list[Any], says: str
) -> None:
    tag = new_tag()
    tagged.append(tag)
    response = client.post("/data/$batch", json={"requests": [_create(tag), *requests]})
    assert says in error_message(response)
    assert accounts(backend, tag) == []


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b'{"requests": [{"id": "1", "id": "2", "method": "GET", "url": "LegalEntities"}]}', 'names "id" twice'),
        (b'{"requests": [{"id": "1", "method": "GET", "url": "LegalEntities", "headers": {"accept": "a", '
         b'"accept": "b"}}]}', 'names "accept" twice'),
        (b'{"requests": [], "requests": []}', 'names "requests" twice'),
        (b'{"requests": [], "continueOnError": true}', '"continueOnError"'),
        (b'{"requests": {}}', '"requests" array'),
        (b'[]', '"requests" array'),
    ],
    ids=["duplicate-member", "duplicate-header", "duplicate-requests", "unknown-batch-member", "requests-an-object",
         "not-an-object"],
)
def test_json_batches_of_the_wrong_shape_are_400(client: TestClient, body: bytes, says: str) -> None:
    response = client.post("/data/$batch", content=body, headers={"Content-Type": "application/json"})
    assert says in error_message(response)


def test_annotations_of_the_batch_are_allowed(client: TestClient, backend: Backend) -> None:
    batch = {"@Core.Description": "one read", "requests": [_get("1", headers={"accept": "application/json"})]}
    assert statuses(client.post("/data/$batch", json=batch)) == {"1": 200}


def _part(content_id: str, request_line: str, body: dict[str, Any] | None = None) -> str:
    payload = "" if body is None else orjson.dumps(body).decode()
    kind = "Content-Type: application/json\r\n" if body is not None else ""
    return (f"Content-Type: application/http\r\nContent-ID: {content_id}\r\n\r\n"
            f"{request_line} HTTP/1.1\r\n{kind}\r\n{payload}\r\n")


def _change_set(*parts: str) -> str:
    return ("--b\r\nContent-Type: multipart/mixed; boundary=cs\r\n\r\n"
            + "".join(f"--cs\r\n{part}" for part in parts) + "--cs--\r\n--b--\r\n")


@pytest.mark.parametrize(
    ("second", "says"),
    [
        ("GET CustomersV3?$top=1", "data modification requests only"),
        ("DELETE $9", "$9 names no earlier request"),
    ],
    ids=["get-in-a-change-set", "reference-to-nobody"],
)
def test_an_invalid_multipart_batch_is_a_400_and_runs_nothing(
    client: TestClient, backend: Backend, tagged: list[str], second: str, says: str
) -> None:
    """Part 1 §11.7.2: a change set groups data modification (and action) requests only."""
    tag = new_tag()
    tagged.append(tag)
    body = _change_set(_part("1", "POST CustomersV3", customer(f"{tag}-1")), _part("2", second))
    response = client.post("/data/$batch", content=body.encode(), headers={"Content-Type": "multipart/mixed; boundary=b"})
    assert says in error_message(response)
    assert accounts(backend, tag) == []


def test_a_content_id_given_twice_is_a_400(client: TestClient, backend: Backend, tagged: list[str]) -> None:
    tag = new_tag()
    tagged.append(tag)
    body = _change_set(_part("1", "POST CustomersV3", customer(f"{tag}-1")),
                       _part("1", "POST CustomersV3", customer(f"{tag}-2")))
    response = client.post("/data/$batch", content=body.encode(), headers={"Content-Type": "multipart/mixed; boundary=b"})
    assert "given twice" in error_message(response)
    assert accounts(backend, tag) == []


# ---------------------------------------------------------------------- what a valid batch may hold
def test_a_read_inside_an_atomicity_group_runs_and_the_group_commits(
    client: TestClient, backend: Backend, tagged: list[str]
) -> None:
    """JSON Format §19.1 puts no method restriction on atomicity groups (only the multipart change set
    holds modifications only): a read that depends on none of the group's changes runs with it."""
    tag = new_tag()
    tagged.append(tag)
    batch = {"requests": [
        {"id": "read", "method": "GET", "url": "CustomersV3?$count=true&$top=0", "atomicityGroup": "g"},
        {"id": "create", "method": "POST", "url": "CustomersV3", "atomicityGroup": "g", "body": customer(f"{tag}-1")},
    ]}
    before = _customer_total(backend)
    response = client.post("/data/$batch", json=batch)
    assert statuses(response) == {"read": 200, "create": 201}
    read = next(item for item in response.json()["responses"] if item["id"] == "read")
    assert read["atomicityGroup"] == "g" and read["body"]["@odata.count"] == before  # as before the group's change
    assert accounts(backend, tag) == [f"{tag}-1"]


def _customer_total(backend: Backend) -> int:
    with backend.engine.connect() as connection:
        return int(connection.execute(select(func.count()).where(CUST.c.DATAAREAID == "usmf")).scalar_one())


def test_a_read_of_its_own_groups_change_fails_the_group_424(
    client: TestClient, backend: Backend, tagged: list[str]
) -> None:
    """A read runs outside the group's transaction, so it cannot see the group's uncommitted creates:
    the service does not support that dependency, and the whole group fails 424 with nothing applied."""
    tag = new_tag()
    tagged.append(tag)
    batch = {"requests": [
        {"id": "c", "method": "POST", "url": "CustomersV3", "atomicityGroup": "g", "body": customer(f"{tag}-1")},
        {"id": "r", "method": "GET", "url": "$c", "atomicityGroup": "g", "dependsOn": ["c"]},
    ]}
    response = client.post("/data/$batch", json=batch)
    assert statuses(response) == {"c": 424, "r": 424}
    read = next(item for item in response.json()["responses"] if item["id"] == "r")
    assert 'put it after the group, with "dependsOn": ["g"]' in read["body"]["error"]["message"]
    assert accounts(backend, tag) == []


def test_an_if_member_is_not_evaluated_424_and_its_group_is_not_applied(
    client: TestClient, backend: Backend, tagged: list[str]
) -> None:
    tag = new_tag()
    tagged.append(tag)
    batch = {"requests": [
        {"id": "a", "method": "POST", "url": "CustomersV3", "atomicityGroup": "g", "body": customer(f"{tag}-1")},
        {"id": "b", "method": "POST", "url": "CustomersV3", "atomicityGroup": "g", "body": customer(f"{tag}-2"),
         "if": "$a/$succeeded"},
        {"id": "c", "method": "POST", "url": "CustomersV3", "body": customer(f"{tag}-3"), "dependsOn": ["g"]},
    ]}
    response = client.post("/data/$batch", json=batch, headers={"Prefer": "odata.continue-on-error"})
    assert statuses(response) == {"a": 424, "b": 424, "c": 424}
    assert accounts(backend, tag) == []


def test_a_request_whose_dependency_failed_is_not_run(client: TestClient, backend: Backend, tagged: list[str]) -> None:
    """JSON Format §19.1: with continue-on-error the batch goes on, but a request that depends on a
    failed one (dependsOn, or a $id reference) answers 424 and does nothing; the others run."""
    tag = new_tag()
    tagged.append(tag)
    batch = {"requests": [
        {"id": "bad", "method": "POST", "url": "CustomersV3", "body": customer(f"{tag}-1", CreditLimit="lots")},
        {"id": "after", "method": "POST", "url": "CustomersV3", "body": customer(f"{tag}-2"), "dependsOn": ["bad"]},
        {"id": "order", "method": "POST", "url": "$bad/SalesOrders", "body": {"SalesOrderNumber": f"{tag}-SO"}},
        {"id": "free", "method": "POST", "url": "CustomersV3", "body": customer(f"{tag}-3")},
    ]}
    response = client.post("/data/$batch", json=batch, headers={"Prefer": "odata.continue-on-error"})
    assert statuses(response) == {"bad": 400, "after": 424, "order": 424, "free": 201}
    assert accounts(backend, tag) == [f"{tag}-3"]
