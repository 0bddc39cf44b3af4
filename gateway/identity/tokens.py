"""OAuth 2.0 bearer tokens: verified like Entra ID's (issuer, audience, signature by a JWKS key,
expiry with clock skew), and minted from a local development key so the demo and the tests go
through exactly the path production tokens take.

Only asymmetric algorithms are accepted, chosen by the key, never by the token's header: `alg: none`
and HS256-signed-with-the-public-key (HS/RS confusion) cannot pass. Verified tokens are cached by
their text (bounded by bytes) until they expire, so a client that sends the same token on every
request pays for the signature check once.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway.errors import Unauthorized
from grammar.cache import BoundedCache, text_weight

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
DEV_KEY_ID = "fno-gateway-dev"


@dataclass(frozen=True)
class TokenPolicy:
    issuer: str
    audience: str
    jwks: str  # a JWKS file's path, or an http(s) URL
    clock_skew: float = 60.0


class KeySet:
    """The signing keys: read from a JWKS file (again when it changes) or fetched from a URL (cached)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._client = jwt.PyJWKClient(source, cache_keys=True, lifespan=300) if _is_url(source) else None
        self._file_keys: jwt.PyJWKSet | None = None
        self._file_mtime = -1.0
        self._lock = threading.Lock()

    def key_for(self, token: str, header: dict[str, Any]) -> jwt.PyJWK:
        kid = header.get("kid")
        if self._client is not None:
            try:
                return self._client.get_signing_key_from_jwt(token)
            except jwt.PyJWKClientError as error:
                raise Unauthorized(f"the token's signing key is unknown: {error}", error_code="invalid_token") from None
        keys = self._keys_from_file().keys
        matching = [key for key in keys if kid is None or key.key_id == kid]
        if kid is None and len(matching) != 1:
            raise Unauthorized("the token names no signing key (kid)", error_code="invalid_token")
        if not matching:
            raise Unauthorized(f"the token's signing key '{kid}' is unknown", error_code="invalid_token")
        return matching[0]

    def _keys_from_file(self) -> jwt.PyJWKSet:
        path = Path(self.source)
        mtime = path.stat().st_mtime
        with self._lock:
            if self._file_keys is None or mtime != self._file_mtime:
                self._file_keys = jwt.PyJWKSet.from_json(path.read_text(encoding="utf-8"))
                self._file_mtime = mtime
            return self._file_keys


class TokenVerifier:
    def __init__(self, policy: TokenPolicy, cache_bytes: int = 4 << 20) -> None:
        self.policy = policy
        self.keys = KeySet(policy.jwks)
        # Verified claims by token text (a refused token raises, so it is never kept).
        self._verified: BoundedCache[dict[str, Any]] = BoundedCache(10_000, cache_bytes, text_weight(2))

    def claims(self, token: str) -> dict[str, Any]:
        """The verified claims of a token, or Unauthorized saying what is wrong with it."""
        claims = self._verified.get(token, lambda: self._verify(token))
        if float(claims.get("exp", 0)) + self.policy.clock_skew <= time.time():
            return self._verify(token)  # expired since it was kept: raises, saying so
        return claims

    def _verify(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as error:
            raise Unauthorized(f"the bearer token is not a JWT: {error}", error_code="invalid_token") from None
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            raise Unauthorized(f"the token's algorithm '{algorithm}' is not accepted "
                               f"(accepted: {', '.join(ALGORITHMS)})", error_code="invalid_token")
        key = self.keys.key_for(token, header)
        if not _fits(key, algorithm):
            raise Unauthorized(f"the token's algorithm '{algorithm}' does not fit its key", error_code="invalid_token")
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key.key, algorithms=[algorithm], audience=self.policy.audience, issuer=self.policy.issuer,
                leeway=self.policy.clock_skew, options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the token has expired", error_code="invalid_token") from None
        except jwt.ImmatureSignatureError:
            raise Unauthorized("the token is not valid yet (nbf/iat in the future)", error_code="invalid_token") from None
        except jwt.InvalidAudienceError:
            raise Unauthorized(f"the token is not for this service (audience must be '{self.policy.audience}')",
                               error_code="invalid_token") from None
        except jwt.InvalidIssuerError:
            raise Unauthorized(f"the token's issuer is not trusted (issuer must be '{self.policy.issuer}')",
                               error_code="invalid_token") from None
        except jwt.InvalidTokenError as error:
            raise Unauthorized(f"the token is invalid: {error}", error_code="invalid_token") from None
        return claims


def _fits(key: jwt.PyJWK, algorithm: str) -> bool:
    """A JWK's own `alg` member decides; a JWK without one signs with any algorithm of its key type."""
    declared = getattr(key, "_jwk_data", {}).get("alg")
    if declared:
        return bool(declared == algorithm)
    family = {"RSA": ("RS", "PS"), "EC": ("ES",), "OKP": ("EdDSA",)}.get(key.key_type, ())
    return any(algorithm.startswith(prefix) for prefix in family)


def _is_url(source: str) -> bool:
    return urlsplit(source).scheme in ("http", "https")


# ---------------------------------------------------------------- the development key
def ensure_dev_key(path: Path) -> Path:
    """A local RSA key for development tokens (made once, readable by its owner only); returns the
    JWKS file beside it that the gateway trusts."""
    path = path.expanduser()
    jwks_path = path.with_suffix(".jwks.json")
    if not path.exists():
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_bytes(pem)
    if not jwks_path.exists() or jwks_path.stat().st_mtime < path.stat().st_mtime:
        private_key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key()))  # type: ignore[arg-type]
        public.update({"kid": DEV_KEY_ID, "use": "sig", "alg": "RS256"})
        jwks_path.write_text(json.dumps({"keys": [public]}, indent=2), encoding="utf-8")
    return jwks_path


def mint_token(key_path: Path, issuer: str, audience: str, subject: str, roles: list[str] | None = None,
               minutes: float = 60.0, claims: dict[str, Any] | None = None) -> str:
    """A development token signed by the local key, shaped like an Entra ID access token."""
    key_path = key_path.expanduser()
    ensure_dev_key(key_path)
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": issuer, "aud": audience, "sub": subject, "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, subject)),
        "name": subject, "iat": now, "nbf": now, "exp": now + int(minutes * 60),
    }
    if roles:
        payload["roles"] = roles
    payload.update(claims or {})
    return jwt.encode(payload, key_path.read_bytes(), algorithm="RS256", headers={"kid": DEV_KEY_ID})
