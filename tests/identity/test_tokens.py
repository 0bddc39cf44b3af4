"""Bearer tokens as an attacker sends them: every forged, stale or misdirected token is a 401 with the
RFC 6750 challenge, never a 500 and never a 200. Tokens are built here with PyJWT and raw base64,
independently of the gateway's own minting."""

from __future__ import annotations

import base64
import http.server
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from starlette.testclient import TestClient

from gateway.identity.tokens import DEV_KEY_ID, ensure_dev_key
from gateway.settings import Settings
from tests.conftest import TEST_DEV_KEY, Backend, bearer, make_client

ISSUER, AUDIENCE = Settings.auth_issuer, Settings.auth_audience


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "mallory", "roles": ["SystemAdministrator"],
              "iat": now, "nbf": now, "exp": now + 600}
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def _signed(claims: dict[str, Any], kid: str | None = DEV_KEY_ID) -> str:
    headers = {"kid": kid} if kid is not None else {}
    return jwt.encode(claims, TEST_DEV_KEY.read_bytes(), algorithm="RS256", headers=headers)


def _unsigned(claims: dict[str, Any]) -> str:
    return f"{_b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{_b64(json.dumps(claims).encode())}."


def _hs_with_public_key(claims: dict[str, Any]) -> str:
    """The classic HS/RS confusion: an HMAC 'signature' keyed with the server's public key."""
    jwks = json.loads(ensure_dev_key(TEST_DEV_KEY).read_text())
    public_pem = jwt.algorithms.RSAAlgorithm.from_jwk(jwks["keys"][0]).public_bytes(  # type: ignore[union-attr]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = _b64(json.dumps({"alg": "HS256", "kid": DEV_KEY_ID}).encode())
    body = _b64(json.dumps(claims).encode())
    import hashlib
    import hmac

    signature = hmac.new(public_pem, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{_b64(signature)}"


def _tampered(claims: dict[str, Any]) -> str:
    header, body, signature = _signed(claims).split(".")
    forged = _b64(json.dumps({**claims, "roles": ["SystemAdministrator"], "sub": "root"}).encode())
    return f"{header}.{forged}.{signature}"


def _other_key(claims: dict[str, Any]) -> str:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims, stranger, algorithm="RS256", headers={"kid": DEV_KEY_ID})


FORGERIES: dict[str, Callable[[], str]] = {
    "expired": lambda: _signed(_claims(exp=int(time.time()) - 3600, iat=int(time.time()) - 7200,
                                       nbf=int(time.time()) - 7200)),
    "not-yet-valid": lambda: _signed(_claims(nbf=int(time.time()) + 3600)),
    "wrong-audience": lambda: _signed(_claims(aud="https://someone-else.example")),
    "wrong-issuer": lambda: _signed(_claims(iss="https://evil.example")),
    "no-expiry": lambda: _signed(_claims(exp=None)),
    "alg-none": lambda: _unsigned(_claims()),
    "hs-rs-confusion": lambda: _hs_with_public_key(_claims()),
    "unknown-kid": lambda: _signed(_claims(), kid="rotated-away"),
    "tampered-payload": lambda: _tampered(_claims(roles=["DataReader"])),
    "signed-by-another-key": lambda: _other_key(_claims()),
    "not-a-jwt": lambda: "hello",
    "three-dots-of-junk": lambda: "a.b.c",
    "huge": lambda: "x" * 20000,
}


@pytest.fixture(scope="module")
def guarded(sqlite_backend: Backend) -> Iterator[TestClient]:
    with make_client(sqlite_backend, headers={}) as client:
        yield client


@pytest.mark.parametrize("forgery", FORGERIES, ids=list(FORGERIES))
def test_forged_or_stale_tokens_are_401(guarded: TestClient, forgery: str) -> None:
    token = FORGERIES[forgery]()
    response = guarded.get("/data/CustomersV3?$top=1", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "Unauthorized"
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer authorization_uri="') and 'error="invalid_token"' in challenge


def test_the_same_claims_properly_signed_pass(guarded: TestClient) -> None:
    """The control case: the forgeries fail for what they forge, not because the claims are wrong."""
    response = guarded.get("/data/CustomersV3?$top=1", headers={"Authorization": f"Bearer {_signed(_claims())}"})
    assert response.status_code == 200, response.text


def test_no_credentials_get_the_power_query_challenge(guarded: TestClient) -> None:
    for path in ("/data/", "/data/$metadata", "/data/CustomersV3", "/api/data/v9.2/accounts"):
        response = guarded.get(path)
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"] == (
            f'Bearer authorization_uri="{Settings.auth_authorization_uri}", resource_id="{AUDIENCE}"')
        assert "error=" not in response.headers["www-authenticate"]  # nothing was wrong: nothing was sent


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", "token abc"])
def test_other_authorization_schemes_are_401(guarded: TestClient, header: str) -> None:
    response = guarded.get("/data/CustomersV3", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "Unauthorized"


def test_clock_skew_is_tolerated_within_the_setting(guarded: TestClient) -> None:
    just_expired = _signed(_claims(exp=int(time.time()) - 20))  # default skew: 60 s
    assert guarded.get("/data/", headers={"Authorization": f"Bearer {just_expired}"}).status_code == 200


def test_a_cached_token_stops_working_when_it_expires(sqlite_backend: Backend) -> None:
    with make_client(sqlite_backend, headers={}, auth_clock_skew=0.0) as client:
        token = _signed(_claims(exp=int(time.time()) + 2))
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get("/data/", headers=headers).status_code == 200  # verified, then cached
        time.sleep(2.5)
        assert client.get("/data/", headers=headers).status_code == 401


class _JwksHandler(http.server.BaseHTTPRequestHandler):
    document = b""

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.document)

    def log_message(self, *args: object) -> None:
        pass


def test_keys_from_a_jwks_url_with_an_ec_key(sqlite_backend: Backend, tmp_path: Path) -> None:
    """A production-shaped issuer: keys fetched from an https-style JWKS URL (served on 127.0.0.1), ES256."""
    private = ec.generate_private_key(ec.SECP256R1())
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private.public_key()))
    public.update({"kid": "ec-1", "use": "sig", "alg": "ES256"})
    _JwksHandler.document = json.dumps({"keys": [public]}).encode()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _JwksHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/keys"
        with make_client(sqlite_backend, headers={}, auth_jwks=url, auth_issuer="https://issuer.example/",
                         auth_audience="api://fno") as client:
            claims = _claims(iss="https://issuer.example/", aud="api://fno")
            good = jwt.encode(claims, private, algorithm="ES256", headers={"kid": "ec-1"})
            assert client.get("/data/", headers={"Authorization": f"Bearer {good}"}).status_code == 200
            # The development key is not trusted once a JWKS is configured.
            dev = _signed(claims)
            assert client.get("/data/", headers={"Authorization": f"Bearer {dev}"}).status_code == 401
            # ES256 key, token claiming ES384 with the same key: refused (the key's alg decides).
            wrong_alg = jwt.encode(claims, ec.generate_private_key(ec.SECP384R1()), algorithm="ES384",
                                   headers={"kid": "ec-1"})
            assert client.get("/data/", headers={"Authorization": f"Bearer {wrong_alg}"}).status_code == 401
    finally:
        server.shutdown()
        server.server_close()


def test_api_keys_are_matched_by_hash(sqlite_backend: Backend, tmp_path: Path) -> None:
    import hashlib
    import shutil

    from gateway.identity.config import DEFAULT_SECURITY

    folder = tmp_path / "security"
    shutil.copytree(DEFAULT_SECURITY, folder)
    key = "fgk_" + "s3cret-for-the-test-only-0123456789"
    digest = hashlib.sha256(key.encode()).hexdigest()
    (folder / "keys.yaml").write_text(f"api_keys:\n  - name: etl\n    sha256: {digest}\n    roles: [VendorReader]\n")
    with make_client(sqlite_backend, headers={}, security=str(folder)) as client:
        assert client.get("/data/VendorsV2?$top=1", headers={"X-API-Key": key}).status_code == 200
        refused = client.get("/data/CustomersV3?$top=1", headers={"X-API-Key": key})
        assert refused.status_code == 403 and "read privilege on CustomersV3" in refused.json()["error"]["message"]
        assert client.get("/data/VendorsV2", headers={"X-API-Key": key + "x"}).status_code == 401
    assert digest in (folder / "keys.yaml").read_text() and key not in (folder / "keys.yaml").read_text()


def test_the_suite_token_helper_is_what_users_get(guarded: TestClient) -> None:
    assert guarded.get("/data/", headers=bearer()).status_code == 200
