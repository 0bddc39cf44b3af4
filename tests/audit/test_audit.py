"""The audit log on every backend: each write the gateway answered is compared with the rows of
GATEWAYAUDITLOG read with plain SQL (never through the gateway), found by the answer's request id.

The demo database is shared by the session: tests write customer groups with fresh ids ('A<hex>')
and remove them afterwards; audit rows stay (they are the log) but are only ever looked up by id.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from tests.conftest import Backend, bearer

SERVICE_ID = "x-ms-service-request-id"
GROUPS = "/data/CustomerGroups"


def _group() -> str:
    return "A" + uuid.uuid4().hex[:7].upper()


def _path(group: str) -> str:
    return f"{GROUPS}(dataAreaId='usmf',CustomerGroupId='{group}')"


def audit_rows(backend: Backend, request_id: str) -> list[dict[str, Any]]:
    with backend.engine.connect() as connection:
        rows = connection.execute(text(
            'SELECT "SEQ", "CREATEDAT", "SERVICE", "ENTITYSET", "OP", "COMPANY", "KEYDATA", "FIELDS", "PRINCIPAL", '
            '"PRINCIPALKIND", "OBJECTID", "REQUESTID", "CLIENTREQUESTID", "TRANSACTIONID" FROM "GATEWAYAUDITLOG" '
            'WHERE "REQUESTID" = :id ORDER BY "SEQ"'.replace('"', "`" if backend.name == "mariadb" else '"')),
            {"id": request_id})
        return [dict(row._mapping) for row in rows]


def group_exists(backend: Backend, group: str) -> bool:
    quote = "`" if backend.name == "mariadb" else '"'
    with backend.engine.connect() as connection:
        return connection.execute(text(
            f"SELECT count(*) FROM {quote}CUSTGROUP{quote} WHERE {quote}CUSTGROUP{quote} = :g"), {"g": group}
        ).scalar_one() > 0


@pytest.fixture
def groups(backend: Backend) -> Iterator[list[str]]:
    made: list[str] = []
    yield made
    quote = "`" if backend.name == "mariadb" else '"'
    with backend.engine.begin() as connection:
        for group in made:
            connection.execute(text(f"DELETE FROM {quote}CUSTGROUP{quote} WHERE {quote}CUSTGROUP{quote} = :g"),
                               {"g": group})


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def test_create_update_delete_each_leave_one_row(client: TestClient, backend: Backend, groups: list[str]) -> None:
    group = _group()
    groups.append(group)
    started = _utc_now() - dt.timedelta(seconds=1)
    created = client.post(GROUPS, json={"CustomerGroupId": group, "Description": "Audited"},
                          headers=bearer("alice@contoso.com"))
    assert created.status_code == 201, created.text
    patched = client.patch(_path(group), json={"Description": "Changed", "PaymentTermId": "Net30"},
                           headers=bearer("alice@contoso.com"))
    assert patched.status_code == 204, patched.text
    deleted = client.delete(_path(group), headers=bearer("alice@contoso.com"))
    assert deleted.status_code == 204, deleted.text
    ended = _utc_now() + dt.timedelta(seconds=1)
    expected = [("create", "CustomerGroupId,Description"), ("update", "Description,PaymentTermId"), ("delete", None)]
    for response, (operation, fields) in zip((created, patched, deleted), expected, strict=True):
        rows = audit_rows(backend, response.headers[SERVICE_ID])
        assert len(rows) == 1, rows
        row = rows[0]
        assert (row["SERVICE"], row["ENTITYSET"], row["OP"], row["COMPANY"], row["FIELDS"]) == (
            "fno", "CustomerGroups", operation, "usmf", fields)
        assert json.loads(row["KEYDATA"]) == {"dataAreaId": "usmf", "CustomerGroupId": group}
        assert (row["PRINCIPAL"], row["PRINCIPALKIND"]) == ("alice@contoso.com", "user")
        at = row["CREATEDAT"]  # SQLite hands back text over plain SQL
        assert started <= (dt.datetime.fromisoformat(at) if isinstance(at, str) else at) <= ended  # in UTC
    assert not group_exists(backend, group)


def test_principals_come_from_the_tokens(client: TestClient, backend: Backend, groups: list[str]) -> None:
    group = _group()
    groups.append(group)
    created = client.post(GROUPS, json={"CustomerGroupId": group}, headers=bearer("alice@contoso.com"))
    patched = client.patch(_path(group), json={"Description": "by Bob"},
                           headers=bearer("bob@contoso.com", oid="00000000-0000-0000-0000-00000000b0b0"))
    assert (created.status_code, patched.status_code) == (201, 204)
    first, second = audit_rows(backend, created.headers[SERVICE_ID]), audit_rows(backend, patched.headers[SERVICE_ID])
    assert [row["PRINCIPAL"] for row in first + second] == ["alice@contoso.com", "bob@contoso.com"]
    assert second[0]["OBJECTID"] == "00000000-0000-0000-0000-00000000b0b0"
    assert first[0]["TRANSACTIONID"] != second[0]["TRANSACTIONID"]


def test_client_request_id_is_kept(client: TestClient, backend: Backend, groups: list[str]) -> None:
    group = _group()
    groups.append(group)
    response = client.post(GROUPS, json={"CustomerGroupId": group}, headers={"x-ms-client-request-id": f"c-{group}"})
    assert response.status_code == 201
    assert response.headers["x-ms-client-request-id"] == f"c-{group}"
    assert [row["CLIENTREQUESTID"] for row in audit_rows(backend, response.headers[SERVICE_ID])] == [f"c-{group}"]


def test_dry_run_and_failed_writes_leave_no_row(client: TestClient, backend: Backend, groups: list[str]) -> None:
    group = _group()
    groups.append(group)
    dry = client.post(GROUPS, json={"CustomerGroupId": group}, headers={"Prefer": "tx=rollback"})
    assert dry.status_code == 201 and dry.headers["Preference-Applied"] == "tx=rollback"
    assert audit_rows(backend, dry.headers[SERVICE_ID]) == [] and not group_exists(backend, group)
    kept = client.post(GROUPS, json={"CustomerGroupId": group})
    duplicate = client.post(GROUPS, json={"CustomerGroupId": group})
    too_long = client.patch(_path(group), json={"Description": "x" * 61})
    assert (kept.status_code, duplicate.status_code, too_long.status_code) == (201, 409, 400)
    assert len(audit_rows(backend, kept.headers[SERVICE_ID])) == 1
    assert audit_rows(backend, duplicate.headers[SERVICE_ID]) == []
    assert audit_rows(backend, too_long.headers[SERVICE_ID]) == []


def test_batch_change_sets_are_audited_atomically(client: TestClient, backend: Backend, groups: list[str]) -> None:
    one, two, three, four = (_group() for _ in range(4))
    groups.extend([one, two, three, four])
    batch = {"requests": [
        {"id": "1", "method": "POST", "url": "CustomerGroups", "atomicityGroup": "good",
         "body": {"CustomerGroupId": one}},
        {"id": "2", "method": "PATCH", "url": f"CustomerGroups(dataAreaId='usmf',CustomerGroupId='{one}')",
         "atomicityGroup": "good", "body": {"Description": "in the change set"}},
        {"id": "3", "method": "POST", "url": "CustomerGroups", "body": {"CustomerGroupId": two}},
    ]}
    response = client.post("/data/$batch", json=batch, headers=bearer("carol@contoso.com"))
    assert response.status_code == 200 and [r["status"] for r in response.json()["responses"]] == [201, 204, 201]
    rows = audit_rows(backend, response.headers[SERVICE_ID])  # sub-requests are audited under the batch's id
    assert [(row["OP"], json.loads(row["KEYDATA"])["CustomerGroupId"]) for row in rows] == [
        ("create", one), ("update", one), ("create", two)]
    assert rows[0]["TRANSACTIONID"] == rows[1]["TRANSACTIONID"] != rows[2]["TRANSACTIONID"]
    assert {row["PRINCIPAL"] for row in rows} == {"carol@contoso.com"}

    failing = {"requests": [
        {"id": "1", "method": "POST", "url": "CustomerGroups", "atomicityGroup": "bad",
         "body": {"CustomerGroupId": three}},
        {"id": "2", "method": "POST", "url": "CustomerGroups", "atomicityGroup": "bad",
         "body": {"CustomerGroupId": four, "Description": "x" * 61}},  # too long: the change set fails
    ]}
    refused = client.post("/data/$batch", json=failing)
    assert [r["status"] for r in refused.json()["responses"]] == [424, 400]
    assert audit_rows(backend, refused.headers[SERVICE_ID]) == []
    assert not group_exists(backend, three) and not group_exists(backend, four)

    dry = client.post("/data/$batch", json={"requests": [failing["requests"][0]]}, headers={"Prefer": "tx=rollback"})
    assert [r["status"] for r in dry.json()["responses"]] == [201]
    assert audit_rows(backend, dry.headers[SERVICE_ID]) == [] and not group_exists(backend, three)


def test_admin_odata_serves_the_same_rows(client: TestClient, backend: Backend, groups: list[str]) -> None:
    group = _group()
    groups.append(group)
    written = [client.post(GROUPS, json={"CustomerGroupId": group}),
               client.patch(_path(group), json={"Description": "seen by the admin"})]
    for response in written:
        sql = audit_rows(backend, response.headers[SERVICE_ID])
        request_id = response.headers[SERVICE_ID]
        served = client.get(f"/admin/data/AuditLog?$filter=RequestId eq '{request_id}'"
                            "&$select=EntryId,EntitySet,Operation,Fields,Principal,Key&$orderby=EntryId desc&$top=5")
        assert served.status_code == 200, served.text
        assert [(r["EntryId"], r["EntitySet"], r["Operation"], r["Fields"], r["Principal"], r["Key"])
                for r in served.json()["value"]] == [
            (row["SEQ"], row["ENTITYSET"], row["OP"], row["FIELDS"], row["PRINCIPAL"], row["KEYDATA"]) for row in sql]
    counted = client.get(f"/admin/data/AuditLog/$count?$filter=EntitySet eq 'CustomerGroups' and "
                         f"contains(Key,'{group}')")
    assert counted.text == "2"


def test_only_administrators_read_the_admin_service(client: TestClient) -> None:
    for path in ("/admin/data/AuditLog", "/admin/data/", "/admin/data/$metadata"):
        reader = client.get(path, headers=bearer("dora@contoso.com", ("DataReader",)))
        assert reader.status_code == 403, (path, reader.text)
        assert reader.json()["error"]["code"] == "Forbidden"
    assert client.get("/admin/data/AuditLog", headers={"Authorization": ""}).status_code == 401


def test_admin_service_is_always_there(client: TestClient) -> None:
    names = {entry["name"] for entry in client.get("/admin/data/").json()["value"]}
    dualwrite = client.app.state.dualwrite is not None  # type: ignore[attr-defined]
    assert "AuditLog" in names
    assert ("DualWriteMaps" in names) == dualwrite, names
