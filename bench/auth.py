"""The benchmark calls the gateway as users do: with a bearer token on every request (minted once
from the bench's own development key, which the served gateway is told to trust). CAP gets none."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from gateway.identity.tokens import mint_token
from gateway.settings import Settings

BENCH_KEY = Path(__file__).resolve().parent / ".data" / "dev-key.pem"


@cache
def gateway_auth() -> dict[str, str]:
    token = mint_token(BENCH_KEY, Settings.auth_issuer, Settings.auth_audience, "bench", ["SystemAdministrator"],
                       minutes=12 * 60)
    return {"Authorization": f"Bearer {token}"}


def server_arguments() -> list[str]:
    return ["--dev-key", str(BENCH_KEY)]
