"""The edge: request ids, security headers and CORS on every kind of answer (200, 401, 404, 500,
preflights), whichever layer made it."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

import gateway.app
from gateway.app import create_app
from gateway.settings import Settings
from tests.conftest import TEST_DEV_KEY, Backend, bearer, client_for

SERVICE_ID = "x-ms-service-request-id"
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
ORIGIN = "https://app.contoso.com"
SECURITY = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer", "x-frame-options": "DENY"}


@pytest.fixture(scope="module")
def cors_client(sqlite_backend: Backend) -> Iterator[TestClient]:
    app = create_app(Settings(db=sqlite_backend.url, dev_key=str(TEST_DEV_KEY), dataverse_db="none",
                              cors_origins=f"{ORIGIN}/, https://other.contoso.com"))
    with client_for(app) as client:
        yield client


def assert_edge(response: object) -> str:
    headers = response.headers  # type: ignore[attr-defined]
    for name, value in SECURITY.items():
        assert headers[name] == value, name
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "strict-transport-security" not in headers  # plain http
    assert GUID.match(headers[SERVICE_ID]), headers
    return str(headers[SERVICE_ID])


def test_every_status_carries_a_fresh_request_id(sqlite_client: TestClient) -> None:
    answers = {
        200: sqlite_client.get("/data/CustomerGroups?$top=1"),
        401: sqlite_client.get("/data/CustomerGroups", headers={"Authorization": ""}),
        403: sqlite_client.get("/admin/data/AuditLog", headers=bearer("eve", ("DataReader",))),
        404: sqlite_client.get("/data/CustomerGroups(dataAreaId='usmf',CustomerGroupId='NOPE')"),
        405: sqlite_client.post("/data/$metadata"),
    }
    outside = sqlite_client.get("/nothing/here")
    ids = {status: assert_edge(response) for status, response in answers.items()}
    assert {status: response.status_code for status, response in answers.items()} == {s: s for s in answers}
    assert outside.status_code == 404 and assert_edge(outside)
    assert len(set(ids.values())) == len(ids)
    assert "www-authenticate" in answers[401].headers
    assert answers[200].headers["cache-control"] == "no-store"
    assert answers[404].headers["cache-control"] == "no-store"


def test_a_500_quotes_the_id_of_its_answer(sqlite_backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(*args: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(gateway.app, "handle_read", broken)
    app = create_app(Settings(db=sqlite_backend.url, dev_key=str(TEST_DEV_KEY), dataverse_db="none",
                              cors_origins=ORIGIN))
    with client_for(app) as client:
        response = client.get("/data/CustomerGroups", headers={"Origin": ORIGIN})
    assert response.status_code == 500
    request_id = assert_edge(response)
    assert response.json()["error"] == {"code": "InternalError", "message": f"internal error; request id {request_id}",
                                        "details": []}
    assert response.headers["access-control-allow-origin"] == ORIGIN  # a browser app can read why


def test_client_request_ids_are_echoed_when_sane(sqlite_client: TestClient) -> None:
    echoed = sqlite_client.get("/data/", headers={"x-ms-client-request-id": "run-42.step:7"})
    assert echoed.headers["x-ms-client-request-id"] == "run-42.step:7"
    assert echoed.headers[SERVICE_ID] != "run-42.step:7"  # the server's id stays the server's
    alias = sqlite_client.get("/data/", headers={"x-request-id": "abc"})
    assert alias.headers["x-ms-client-request-id"] == "abc"
    for insane in ("two words", "x" * 129, "a;b"):
        refused = sqlite_client.get("/data/", headers={"x-ms-client-request-id": insane})
        assert "x-ms-client-request-id" not in refused.headers, insane
    assert "x-ms-client-request-id" not in sqlite_client.get("/data/").headers


def test_metadata_may_be_kept_by_the_caller_only(sqlite_client: TestClient) -> None:
    assert sqlite_client.get("/data/$metadata").headers["cache-control"] == "private, no-cache"
    assert sqlite_client.get("/data/CustomerGroups").headers["cache-control"] == "no-store"


def test_hsts_only_over_https(sqlite_backend: Backend) -> None:
    app = create_app(Settings(db=sqlite_backend.url, dev_key=str(TEST_DEV_KEY), dataverse_db="none"))
    with TestClient(app, base_url="https://testserver", headers=bearer()) as client:
        response = client.get("/data/")
    assert response.status_code == 200
    assert response.headers["strict-transport-security"].startswith("max-age=")


def test_batch_sub_requests_keep_the_batch_id(sqlite_client: TestClient) -> None:
    batch = {"requests": [{"id": "1", "method": "GET", "url": "CustomerGroups?$top=1"}]}
    response = sqlite_client.post("/data/$batch", json=batch)
    assert response.status_code == 200 and response.json()["responses"][0]["status"] == 200
    assert_edge(response)


# ---------------------------------------------------------------------------------------------- CORS
def test_preflight_needs_no_token(cors_client: TestClient) -> None:
    response = cors_client.options("/data/CustomersV3", headers={
        "Authorization": "", "Origin": ORIGIN, "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "authorization, if-match, prefer, odata-maxversion, content-type"})
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "PATCH" in response.headers["access-control-allow-methods"]
    allowed = {name.strip().lower() for name in response.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "if-match", "prefer", "odata-maxversion", "content-type", "x-api-key"} <= allowed
    assert_edge(response)


def test_preflight_from_an_unknown_origin_is_refused(cors_client: TestClient) -> None:
    response = cors_client.options("/data/CustomersV3", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers
    assert_edge(response)


def test_actual_requests_expose_what_clients_read(cors_client: TestClient) -> None:
    for headers, status in (({}, 200), ({"Authorization": ""}, 401)):
        response = cors_client.get("/data/CustomerGroups?$top=1", headers={"Origin": "https://other.contoso.com",
                                                                           **headers})
        assert response.status_code == status
        assert response.headers["access-control-allow-origin"] == "https://other.contoso.com"
        exposed = {name.strip().lower() for name in response.headers["access-control-expose-headers"].split(",")}
        assert {"etag", "location", "odata-entityid", "preference-applied", "retry-after", "www-authenticate",
                SERVICE_ID} <= exposed
    stranger = cors_client.get("/data/CustomerGroups?$top=1", headers={"Origin": "https://evil.example"})
    assert stranger.status_code == 200 and "access-control-allow-origin" not in stranger.headers


def test_no_origins_no_cors(sqlite_client: TestClient) -> None:
    response = sqlite_client.options("/data/CustomersV3", headers={
        "Authorization": "", "Origin": ORIGIN, "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in response.headers
    assert response.status_code == 401  # not a preflight the gateway answers: a request without a token
