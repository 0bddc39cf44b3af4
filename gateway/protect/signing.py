"""Signed tokens: what the gateway hands out (a $skiptoken) comes back unchanged or is refused.

A token is `<payload>.<mac>`, both base64url: the MAC is HMAC-SHA256 over the payload with a server
key, so a client can neither edit the values inside a token nor make one up. The key is the
`signing_key` setting; without one each process draws a random key at start, and `fno-gateway
serve --workers N` draws one in the parent and hands it to every worker (settings travel to workers
through the environment), so a nextLink served by one worker is valid at all of them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

_PROCESS_KEY = secrets.token_bytes(32)


def process_key() -> bytes:
    """This process's key when the settings give none (drawn once, at import)."""
    return _PROCESS_KEY


def new_key_text() -> str:
    """A fresh key as settings text, for the parent of several workers to share."""
    return secrets.token_urlsafe(32)


def key_from_setting(text: str) -> bytes:
    return text.encode("utf-8") if text else process_key()


def sign(payload: bytes, key: bytes) -> str:
    mac = hmac.new(key, payload, hashlib.sha256).digest()
    return _b64(payload) + "." + _b64(mac)


def verify(token: str, key: bytes) -> bytes | None:
    """The payload of a token signed with `key`, or None for anything else (edited, foreign, junk)."""
    body, dot, mac_text = token.partition(".")
    if not dot:
        return None
    try:
        payload, mac = _unb64(body), _unb64(mac_text)
    except (binascii.Error, ValueError):
        return None
    expected = hmac.new(key, payload, hashlib.sha256).digest()
    return payload if hmac.compare_digest(mac, expected) else None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text.encode("ascii") + b"=" * (-len(text) % 4))
