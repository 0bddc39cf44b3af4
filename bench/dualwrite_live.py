"""What live sync costs a write: PATCH /data/CustomersV3(...) timed three ways on one demo database.

    python -m bench.dualwrite_live [--writes 300] [--db-dir bench/.data]

1. no Dataverse side at all (`--dualwrite-maps none`): the plain write;
2. dual-write installed, every map Stopped: what the hooks cost (capture suppression, a state read);
3. "Customers V3" Running: the write and its live sync to the Dataverse side, in the same request.
Each case runs in-process (starlette TestClient, SQLite files), alternating customers, after a warm-up;
the table prints the median per write and the ratio to case 1.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import time
from pathlib import Path

from starlette.testclient import TestClient

from bench.auth import BENCH_KEY, gateway_auth
from gateway.app import create_app
from gateway.db import remove_sqlite_database
from gateway.demo.generate import build_demo_database
from gateway.dualwrite import lifecycle
from gateway.settings import Settings


def timed_writes(client: TestClient, accounts: list[str], writes: int) -> list[float]:
    durations = []
    for index in range(writes):
        account = accounts[index % len(accounts)]
        started = time.perf_counter()
        response = client.patch(f"/data/CustomersV3(dataAreaId='usmf',CustomerAccount='{account}')",
                                json={"CreditLimit": 1000 + index})
        durations.append(time.perf_counter() - started)
        assert response.status_code == 204, response.text
    return durations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writes", type=int, default=300)
    parser.add_argument("--db-dir", default="bench/.data")
    arguments = parser.parse_args()
    folder = Path(arguments.db_dir)
    folder.mkdir(parents=True, exist_ok=True)
    template = folder / "dw-live-template.db"
    if not template.exists():
        build_demo_database(f"sqlite:///{template}", scale=0.2, seed=3, progress=False)
    results: dict[str, float] = {}
    for case in ("plain write", "dual-write, maps stopped", "live sync to Dataverse"):
        fo = folder / "dw-live.db"
        for path in (fo, folder / "dw-live-dataverse.db"):
            remove_sqlite_database(path)
        shutil.copy(template, fo)
        settings = Settings(db=f"sqlite:///{fo}", dualwrite_maps="none" if case == "plain write" else Settings.dualwrite_maps,
                            dev_key=str(BENCH_KEY))
        with TestClient(create_app(settings), headers=gateway_auth()) as client:
            if case == "live sync to Dataverse":
                lifecycle.start(client.app.state.dualwrite, ["Customers V3"])  # type: ignore[attr-defined]
            accounts = [row["CustomerAccount"] for row in client.get(
                "/data/CustomersV3?$select=CustomerAccount&$top=50&$filter=PartyType eq "
                "Microsoft.Dynamics.DataEntities.DirPartyType'Organization'").json()["value"]]
            timed_writes(client, accounts, 30)  # warm-up
            results[case] = statistics.median(timed_writes(client, accounts, arguments.writes))
            for service in client.app.state.services.values():  # type: ignore[attr-defined]
                service.engine.dispose()  # the next case deletes these files
    base = results["plain write"]
    print("| case | median per PATCH | ratio to the plain write |")
    print("| --- | --- | --- |")
    for case, seconds in results.items():
        print(f"| {case} | {seconds * 1000:.2f} ms | {seconds / base:.2f} |")


if __name__ == "__main__":
    main()
