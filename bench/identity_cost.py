"""What identity costs a request: the same key lookup as an anonymous reader, with a bearer token
(verified once, then cached), with an API key, and with a fresh token every time (no cache help).

    python -m bench.identity_cost [--requests 2000]

In-process (starlette's TestClient, one thread), so the numbers are the gateway's own work per
request, not the network's. Prints medians and ratios to the anonymous case.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from starlette.testclient import TestClient

from bench.auth import BENCH_KEY
from gateway.app import create_app
from gateway.demo.generate import build_demo_database
from gateway.identity.config import DEFAULT_SECURITY
from gateway.identity.tokens import mint_token
from gateway.settings import Settings

KEY_URL = "/data/CustomersV3(dataAreaId='usmf',CustomerAccount='US-001')"


def _median_ms(client: TestClient, requests: int, headers: Callable[[], dict[str, str]]) -> float:
    timings = []
    for _ in range(requests):
        sent = headers()
        began = time.perf_counter()
        response = client.get(KEY_URL, headers=sent)
        timings.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, response.text
    return statistics.median(timings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="fno-identity-cost-"))
    build_demo_database(f"sqlite:///{work / 'fno.db'}", scale=0.1, progress=False)
    security = work / "security"
    shutil.copytree(DEFAULT_SECURITY, security)
    api_key = "fgk_bench-only-key-0123456789abcdefghijklmnop"
    (security / "keys.yaml").write_text(
        f"api_keys:\n  - name: bench\n    sha256: {hashlib.sha256(api_key.encode()).hexdigest()}\n    roles: [DataReader]\n")
    settings = Settings(db=f"sqlite:///{work / 'fno.db'}", dataverse_db="none", dev_key=str(BENCH_KEY),
                        security=str(security), anonymous_role="DataReader")
    token = mint_token(BENCH_KEY, settings.auth_issuer, settings.auth_audience, "bench", ["DataReader"], 600)
    fresh_count = min(args.requests, 300)
    minted = iter([mint_token(BENCH_KEY, settings.auth_issuer, settings.auth_audience, f"u{index}", ["DataReader"], 10)
                   for index in range(fresh_count + 50)])

    def fresh() -> dict[str, str]:  # a new token (new subject) every request: the signature check each time
        return {"Authorization": f"Bearer {next(minted)}"}

    cases: dict[str, Callable[[], dict[str, str]]] = {
        "anonymous (DataReader)": lambda: {},
        "bearer token, cached verification": lambda: {"Authorization": f"Bearer {token}"},
        "API key": lambda: {"X-API-Key": api_key},
    }
    with TestClient(create_app(settings)) as client:
        for headers in [*cases.values(), fresh]:
            _median_ms(client, 50, headers)  # warm plans and caches
        results = {name: _median_ms(client, args.requests, headers) for name, headers in cases.items()}
        # Tokens are minted before the timed loop; each timed request verifies a new signature.
        results["fresh token every request (RS256 verify)"] = _median_ms(client, fresh_count, fresh)
    base = results["anonymous (DataReader)"]
    print(f"| key lookup, in-process, {args.requests} requests | median ms | ratio to anonymous |")
    print("| --- | ---: | ---: |")
    for name, value in results.items():
        print(f"| {name} | {value:.3f} | {value / base:.2f}× |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
