"""Conditional requests on every path that reads or writes an entity (OData 4.01 Part 1 §8.2.3-8.2.4):
If-None-Match and If-Match on GET of an entity, a property and its raw value; on PATCH, PUT and DELETE;
If-None-Match: * and If-Match on POST. ETags are weak: compared with RFC 9110's weak comparison.
What changed (or did not) is read back from the physical tables."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, update
from starlette.testclient import TestClient

from tests.conftest import Backend, make_client
from tests.write.batch_support import (
    CUST,
    GROUPS,
    accounts,
    customer,
    customer_row,
    group_count,
    new_tag,
    removing,
)

STALE = 'W/"c3RhbGU="'


@pytest.fixture
def tagged(backend: Backend) -> Iterator[list[str]]:
    yield from removing(backend)


def _path(account: str) -> str:
    return f"/data/CustomersV3(dataAreaId='usmf',CustomerAccount='{account}')"


def _created(client: TestClient, tagged: list[str]) -> tuple[str, str]:
    """A new customer's account and ETag."""
    tag = new_tag("E")
    tagged.append(tag)
    response = client.post("/data/CustomersV3", json=customer(f"{tag}-1"))
    assert response.status_code == 201, response.text
    return f"{tag}-1", response.headers["ETag"]


def _bump(backend: Backend, account: str) -> None:
    """Someone else changes the customer, as F&O does: a new row version, behind the gateway's back."""
    with backend.engine.begin() as connection:
        connection.execute(update(CUST).where(CUST.c.ACCOUNTNUM == account, CUST.c.DATAAREAID == "usmf")
                           .values(RECVERSION=CUST.c.RECVERSION + 7, CREDITMAX=99))


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] and error["message"]
    return error


@pytest.mark.parametrize("suffix", ["", "/CreditLimit", "/CreditLimit/$value"], ids=["entity", "property", "value"])
def test_conditional_get(client: TestClient, backend: Backend, tagged: list[str], suffix: str) -> None:
    account, created = _created(client, tagged)
    url = _path(account) + suffix
    plain = client.get(url)
    assert plain.status_code == 200 and plain.headers["ETag"] == created  # a property has its entity's ETag
    for unchanged in (created, created.removeprefix("W/"), "*", f"{STALE}, {created}"):
        response = client.get(url, headers={"If-None-Match": unchanged})
        assert (response.status_code, response.content, response.headers["ETag"]) == (304, b"", created), unchanged
    assert client.get(url, headers={"If-None-Match": STALE}).status_code == 200
    for matching in (created, created.removeprefix("W/"), "*"):
        assert client.get(url, headers={"If-Match": matching}).status_code == 200, matching
    assert "does not match" in _error(client.get(url, headers={"If-Match": STALE}), 412)["message"]

    _bump(backend, account)  # the copy the client holds is now stale
    fresh = client.get(url, headers={"If-None-Match": created})
    assert fresh.status_code == 200 and fresh.headers["ETag"] != created
    row = customer_row(backend, account)
    assert row is not None
    value = fresh.text if suffix.endswith("$value") else fresh.json()["CreditLimit" if not suffix else "value"]
    assert Decimal(str(value)) == Decimal(str(row["CREDITMAX"])) == 99
    _error(client.get(url, headers={"If-Match": created}), 412)


def test_if_none_match_on_patch_and_delete(client: TestClient, backend: Backend, tagged: list[str]) -> None:
    account, current = _created(client, tagged)
    url = _path(account)
    for tags in (current, current.removeprefix("W/"), "*"):
        assert "nothing was written" in _error(client.patch(url, json={"CreditLimit": 5},
                                                            headers={"If-None-Match": tags}), 412)["message"]
        assert "nothing was written" in _error(client.delete(url, headers={"If-None-Match": tags}), 412)["message"]
    row = customer_row(backend, account)
    assert row is not None and Decimal(str(row["CREDITMAX"])) == 0
    assert client.patch(url, json={"CreditLimit": 5}, headers={"If-None-Match": STALE}).status_code == 204
    row = customer_row(backend, account)
    assert row is not None and Decimal(str(row["CREDITMAX"])) == 5
    assert client.delete(url, headers={"If-None-Match": STALE}).status_code == 204
    assert accounts(backend, account) == []


def test_if_match_uses_the_weak_comparison_on_writes(client: TestClient, backend: Backend, tagged: list[str]) -> None:
    account, current = _created(client, tagged)
    response = client.patch(_path(account), json={"CreditLimit": 6}, headers={"If-Match": current.removeprefix("W/")})
    assert response.status_code == 204, response.text
    row = customer_row(backend, account)
    assert row is not None and Decimal(str(row["CREDITMAX"])) == 6


def _group_url(group: str) -> str:
    return f"/data/CustomerGroups(dataAreaId='usmf',CustomerGroupId='{group}')"


def _group_description(backend: Backend, group: str) -> str:
    with backend.engine.connect() as connection:
        return str(connection.execute(select(GROUPS.c.NAME).where(GROUPS.c.CUSTGROUP == group)).scalar_one())


def test_put_with_if_none_match_star_inserts_and_never_updates(
    client: TestClient, backend: Backend, tagged: list[str]
) -> None:
    """Part 1 §8.2.4: If-None-Match: * makes an upsert an insert: the first PUT creates, the second is 412."""
    group = new_tag("G")[:8]
    tagged.append(group)
    first = client.put(_group_url(group), json={"Description": "first"}, headers={"If-None-Match": "*"})
    assert first.status_code == 201, first.text
    second = client.put(_group_url(group), json={"Description": "second"}, headers={"If-None-Match": "*"})
    _error(second, 412)
    assert (group_count(backend, group), _group_description(backend, group)) == (1, "first")


def test_post_with_if_none_match_star(client: TestClient, backend: Backend, tagged: list[str]) -> None:
    """A create that must not meet an existing entity: 412 where a plain POST is a 409 conflict."""
    group = new_tag("G")[:8]
    tagged.append(group)
    body = {"CustomerGroupId": group, "Description": "posted"}
    assert client.post("/data/CustomerGroups", json=body, headers={"If-None-Match": "*"}).status_code == 201
    again = client.post("/data/CustomerGroups", json={**body, "Description": "again"}, headers={"If-None-Match": "*"})
    assert "If-None-Match: *" in _error(again, 412)["message"]
    _error(client.post("/data/CustomerGroups", json={**body, "Description": "again"}), 409)
    assert (group_count(backend, group), _group_description(backend, group)) == (1, "posted")


def test_post_with_if_match_of_an_etag_is_412(client: TestClient, backend: Backend, tagged: list[str]) -> None:
    """The target of a POST is the collection, which has no ETag: only If-Match: * can match it."""
    tag = new_tag("E")
    tagged.append(tag)
    refused = client.post("/data/CustomersV3", json=customer(f"{tag}-1"), headers={"If-Match": STALE})
    assert "collection" in _error(refused, 412)["message"]
    assert accounts(backend, tag) == []
    assert client.post("/data/CustomersV3", json=customer(f"{tag}-1"), headers={"If-Match": "*"}).status_code == 201
    assert accounts(backend, tag) == [f"{tag}-1"]


def test_an_insert_only_put_needs_no_if_match(backend: Backend, tagged: list[str]) -> None:
    """With --require-if-match a PUT of an entity that must not exist yet has no ETag to send: no 428."""
    group = new_tag("G")[:8]
    tagged.append(group)
    with make_client(backend, require_if_match=True) as strict:
        assert strict.put(_group_url(group), json={"Description": "x"}).status_code == 428
        assert strict.put(_group_url(group), json={"Description": "x"}, headers={"If-None-Match": "*"}).status_code == 201
        strict.app.state.engine.dispose()  # type: ignore[attr-defined]
    assert group_count(backend, group) == 1
