"""The benchmark calls the gateway as users do: with a bearer token on every request (minted once
from the bench's own development key, which the served gateway is told to trust). CAP gets none."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from gateway.identity.tokens import mint_token
from gateway.settings import Settings

BENCH_KEY = Path(__file__).resolve().parent / ".data" / "dev-key.pem"
# The $skiptoken signing key of the served gateway and of the in-process one that builds the deep
# page's token: a token signed by one is valid at the other (a benchmark secret, nothing else).
BENCH_SIGNING_KEY = "bench-signing-key"


@cache
def gateway_auth() -> dict[str, str]:
    token = mint_token(BENCH_KEY, Settings.auth_issuer, Settings.auth_audience, "bench", ["SystemAdministrator"],
                       minutes=12 * 60)
    return {"Authorization": f"Bearer {token}"}


def server_arguments() -> list[str]:
    # The per-principal request and execution-time budgets are off: the bench is one principal
    # asking thousands of requests a second, which is what they exist to refuse. The worker's slots,
    # the queue and every other protection stay as shipped.
    return ["--dev-key", str(BENCH_KEY), "--signing-key", BENCH_SIGNING_KEY,
            "--rate-requests", "0", "--rate-execution-seconds", "0"]
