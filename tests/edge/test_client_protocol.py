"""What real clients need of the HTTP layer: gzip, links behind a trusted reverse proxy, and the SAP
SDK's CSRF-token probe. Compressed answers are decompressed with Python's gzip and compared with the
same request's uncompressed answer."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.settings import Settings
from tests.conftest import TEST_DEV_KEY, Backend, bearer, client_for
from tests.edge.test_edge import assert_edge

PROXY = "10.1.2.3"  # inside the trusted 10.0.0.0/8
STRANGER = "192.0.2.7"  # outside it
PUBLIC = "api.contoso.com"
US001 = "/data/CustomersV3(dataAreaId='usmf',CustomerAccount='US-001')"


def _raw(client: TestClient, path: str, **kwargs: object) -> tuple[dict[str, str], list[bytes]]:
    """The answer's headers and its body as sent (still compressed), piece by piece."""
    with client.stream("GET", path, **kwargs) as response:  # type: ignore[arg-type]
        assert response.status_code == 200, response.read()
        return dict(response.headers), list(response.iter_raw())


# ------------------------------------------------------------------------------------- compression
def test_streamed_page_is_gzipped_chunk_by_chunk(sqlite_client: TestClient) -> None:
    path = "/data/SalesOrderLines?$top=5000"
    plain = sqlite_client.get(path, headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and "content-encoding" not in plain.headers
    assert len(plain.json()["value"]) > 1000  # more than one chunk: the page streams
    headers, pieces = _raw(sqlite_client, path, headers={"Accept-Encoding": "gzip"})
    assert headers["content-encoding"] == "gzip"
    assert headers["content-type"] == plain.headers["content-type"]
    assert "accept-encoding" in headers["vary"].lower()
    assert "content-length" not in headers  # streamed
    body = b"".join(pieces)
    assert gzip.decompress(body) == plain.content
    assert len(body) < len(plain.content) / 4
    # Each chunk was flushed as it came: the stream decodes piece by piece, before its end.
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    first = decoder.decompress(pieces[0])
    assert first and plain.content.startswith(first)


@pytest.mark.parametrize("path", ["/data/$metadata", "/data/", US001, "/data/CustomersV3?$top=50&$count=true"])
def test_every_kind_of_answer_is_gzipped(sqlite_client: TestClient, path: str) -> None:
    plain = sqlite_client.get(path, headers={"Accept-Encoding": "identity"})
    headers, pieces = _raw(sqlite_client, path, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert headers["content-encoding"] == "gzip"
    assert headers["content-type"] == plain.headers["content-type"]
    assert gzip.decompress(b"".join(pieces)) == plain.content
    assert headers["x-content-type-options"] == "nosniff" and headers["x-ms-service-request-id"]


def test_errors_keep_the_edge_headers_under_gzip(sqlite_backend: Backend) -> None:
    app = create_app(Settings(db=sqlite_backend.url, dev_key=str(TEST_DEV_KEY), dataverse_db="none",
                              rate_requests=1, rate_execution_seconds=0.0))
    with client_for(app, headers={"Accept-Encoding": "gzip"}) as client:
        unauthorised = client.get("/data/CustomersV3", headers={"Authorization": ""})
        assert unauthorised.status_code == 401
        assert_edge(unauthorised)
        assert unauthorised.json()["error"]["code"]  # decodes (compressed or not: small bodies stay plain)
        client.get("/data/", headers=bearer("gzip-storm"))
        limited = client.get("/data/", headers=bearer("gzip-storm"))
        assert limited.status_code == 429
        assert_edge(limited)
        assert limited.json()["error"]["code"]


def test_batch_parts_are_not_compressed_inside(sqlite_client: TestClient) -> None:
    """The batch is compressed whole; a part asking for gzip itself still reads as plain JSON."""
    body = {"requests": [{"id": "1", "method": "GET", "url": "CustomersV3?$top=30",
                          "headers": {"Accept-Encoding": "gzip"}}]}
    response = sqlite_client.post("/data/$batch", json=body, headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200, response.text
    part = response.json()["responses"][0]
    assert part["status"] == 200 and len(part["body"]["value"]) == 30


# ------------------------------------------------------------------------------------ proxies
@pytest.fixture(scope="module")
def proxied_app(sqlite_backend: Backend) -> Iterator[object]:
    app = create_app(Settings(db=sqlite_backend.url, dev_key=str(TEST_DEV_KEY), dataverse_db="none",
                              trusted_proxies="10.0.0.0/8, ::1", rate_requests=0, rate_execution_seconds=0.0))
    yield app
    app.state.engine.dispose()


def _from(app: object, address: str) -> TestClient:
    return TestClient(app, raise_server_exceptions=False, headers=bearer(), client=(address, 40000))  # type: ignore[arg-type]


FORWARDED = {"X-Forwarded-Host": PUBLIC, "X-Forwarded-Proto": "https", "Prefer": "odata.maxpagesize=2"}


def test_links_carry_the_forwarded_host_from_a_trusted_proxy(proxied_app: object) -> None:
    with _from(proxied_app, PROXY) as client:
        body = client.get("/data/CustomersV3?$top=5", headers=FORWARDED).json()
        assert body["@odata.context"] == f"https://{PUBLIC}/data/$metadata#CustomersV3"
        assert body["@odata.nextLink"].startswith(f"https://{PUBLIC}/data/CustomersV3?")
        root = client.get("/data/", headers=FORWARDED)
        assert root.json()["@odata.context"] == f"https://{PUBLIC}/data/$metadata"
        assert root.headers["strict-transport-security"]  # the client's side is https
        created = client.post("/data/CustomersV3", json={"CustomerAccount": "PROXY-01", "OrganizationName": "Proxied"},
                              headers={**FORWARDED, "Prefer": "tx=rollback"})  # a dry run: nothing is kept
        assert created.status_code == 201, created.text
        assert created.headers["location"].startswith(f"https://{PUBLIC}/data/CustomersV3(")
        assert created.json()["@odata.context"].startswith(f"https://{PUBLIC}/data/$metadata#")
        minimal = client.post("/data/CustomersV3", json={"CustomerAccount": "PROXY-02", "OrganizationName": "Proxied"},
                              headers={**FORWARDED, "Prefer": "tx=rollback,return=minimal"})
        assert minimal.status_code == 204, minimal.text
        assert minimal.headers["odata-entityid"].startswith(f"https://{PUBLIC}/data/CustomersV3(")


def test_the_nearest_proxys_host_wins(proxied_app: object) -> None:
    with _from(proxied_app, PROXY) as client:
        body = client.get("/data/", headers={"X-Forwarded-Host": f"evil.example, {PUBLIC}:8443"}).json()
        assert body["@odata.context"] == f"http://{PUBLIC}:8443/data/$metadata"


@pytest.mark.parametrize("address", [STRANGER, "testclient"])
def test_untrusted_senders_forwarded_headers_are_ignored(proxied_app: object, address: str) -> None:
    with _from(proxied_app, address) as client:
        body = client.get("/data/CustomersV3?$top=5", headers=FORWARDED).json()
        assert body["@odata.context"] == "http://testserver/data/$metadata#CustomersV3"
        assert body["@odata.nextLink"].startswith("http://testserver/data/CustomersV3?")


@pytest.mark.parametrize("host", ["evil.example/path", "a b", "evil.example@x", "x:99999999"])
def test_a_malformed_forwarded_host_is_ignored(proxied_app: object, host: str) -> None:
    with _from(proxied_app, PROXY) as client:
        body = client.get("/data/", headers={"X-Forwarded-Host": host}).json()
        assert body["@odata.context"] == "http://testserver/data/$metadata"


def test_no_proxy_is_trusted_by_default(sqlite_backend: Backend) -> None:
    app = create_app(Settings(db=sqlite_backend.url, dev_key=str(TEST_DEV_KEY), dataverse_db="none"))
    with _from(app, "127.0.0.1") as client:
        body = client.get("/data/", headers=FORWARDED).json()
        assert body["@odata.context"] == "http://testserver/data/$metadata"


def test_a_wrong_trusted_proxies_setting_stops_the_start(sqlite_backend: Backend) -> None:
    with pytest.raises(Exception, match="trusted-proxies"):
        create_app(Settings(db=sqlite_backend.url, dev_key=str(TEST_DEV_KEY), dataverse_db="none",
                            trusted_proxies="10.0.0.0/8, proxy.local"))


# ------------------------------------------------------------------------------------ CSRF probe
@pytest.mark.parametrize("path", ["/data/$batch", "/data/$batch/", "/data/", "/data", "/data/CustomersV3",
                                  "/data/CustomersV3/", "/api/data/v9.2/$batch"])
@pytest.mark.parametrize("fetch", ["Fetch", "fetch"])
def test_csrf_probe(sqlite_client: TestClient, path: str, fetch: str) -> None:
    response = sqlite_client.head(path, headers={"X-CSRF-Token": fetch})
    if path.startswith("/api/") and response.status_code == 404:
        pytest.skip("no Dataverse side in this gateway")
    assert response.status_code == 200, response.text
    assert response.headers["x-csrf-token"] == "unsafe"
    assert response.content == b""
    assert_edge(response)


def test_head_batch_without_probe_is_an_empty_200(sqlite_client: TestClient) -> None:
    response = sqlite_client.head("/data/$batch")
    assert response.status_code == 200 and response.content == b""
    assert "x-csrf-token" not in response.headers
    wrong = sqlite_client.get("/data/$batch")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "POST, HEAD"
    assert wrong.json()["error"]["code"] == "MethodNotAllowed"


def test_csrf_probe_needs_credentials(sqlite_client: TestClient) -> None:
    response = sqlite_client.head("/data/$batch", headers={"X-CSRF-Token": "Fetch", "Authorization": ""})
    assert response.status_code == 401
    assert "x-csrf-token" not in response.headers


def test_writes_accept_the_probed_token(sqlite_client: TestClient) -> None:
    token = sqlite_client.head("/data/$batch", headers={"X-CSRF-Token": "Fetch"}).headers["x-csrf-token"]
    body = {"requests": [{"id": "1", "method": "GET", "url": "CustomersV3?$top=1"}]}
    response = sqlite_client.post("/data/$batch", json=body, headers={"X-CSRF-Token": token})
    assert response.status_code == 200 and response.json()["responses"][0]["status"] == 200
