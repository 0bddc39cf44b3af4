"""sqlmap (level 3) against a served gateway: every place a request puts text into SQL.

    python -m bench.sqlmap_scan [--level 3] [--risk 1] [--out bench/results/<date>-sqlmap.md]

Starts `fno-gateway serve` on a small demo database (127.0.0.1 only), then runs sqlmap once per
injection point, marked `*` in the URL: string and number literals of `$filter`, key predicates,
`$orderby`, `$select`, `$search`, `$apply`, the `company` custom option, and the Dataverse side's
`$filter`. Every request carries a bearer token, so sqlmap tests the authenticated paths users
reach. A point passes when sqlmap finds no injection and the gateway answered no 5xx.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.auth import gateway_auth, server_arguments
from bench.servers import BENCH, ROOT, Server, free_port

POINTS: dict[str, str] = {
    "$filter string literal": "/data/CustomersV3?$filter=CustomerAccount%20eq%20'US-001*'&$select=CustomerAccount",
    "$filter number literal": "/data/CustomersV3?$filter=CreditLimit%20gt%201000*&$select=CustomerAccount",
    "$filter function argument": "/data/CustomersV3?$filter=contains(OrganizationName,'Con*')&$top=3",
    "$filter lambda": "/data/SalesOrderHeadersV2?$filter=SalesOrderLines/any(l:l/ItemNumber%20eq%20'A*')&$top=2",
    "key predicate": "/data/CustomersV3(dataAreaId='usmf',CustomerAccount='US-001*')",
    "$orderby": "/data/CustomersV3?$orderby=CreditLimit*&$top=3",
    "$select": "/data/CustomersV3?$select=CustomerAccount*&$top=3",
    "$search": "/data/CustomersV3?$search=Contoso*&$top=3",
    "$apply": "/data/SalesOrderLines?$apply=groupby((ItemNumber*),aggregate(LineAmount%20with%20sum%20as%20T))",
    "company option": "/data/CustomersV3?company=usmf*&$top=3",
    "Dataverse $filter": "/api/data/v9.2/accounts?$filter=accountnumber%20eq%20'US-001*'&$select=name",
}


@dataclass
class Outcome:
    point: str
    injectable: bool
    server_errors: int
    requests: int
    seconds: float


def scan(port: int, path: str, level: int, risk: int, output: Path) -> tuple[bool, int, int, str]:
    token = gateway_auth()["Authorization"]
    command = [
        shutil.which("sqlmap") or "sqlmap", "-u", f"http://127.0.0.1:{port}{path}", "--headers",
        f"Authorization: {token}", "--level", str(level), "--risk", str(risk), "--batch", "--flush-session",
        "--time-sec", "1", "--output-dir", str(output), "--disable-coloring",
    ]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    text = completed.stdout + completed.stderr
    injectable = bool(re.search(r"(is vulnerable|appears to be injectable|identified the following injection)",
                                text, re.IGNORECASE))
    codes = {int(code): int(count) for code, count in re.findall(r"^(\d{3}) \([^)]*\) - (\d+) times", text, re.MULTILINE)}
    if codes.get(401):  # (403 is a real answer: e.g. company=usmf<junk> is a company one may not see)
        raise RuntimeError(f"sqlmap was refused ({codes}): its token did not reach the query paths")
    server_errors = sum(count for code, count in codes.items() if code >= 500)
    return injectable, server_errors, sum(codes.values()), text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--level", type=int, default=3)
    parser.add_argument("--risk", type=int, default=1)
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--out", default=str(BENCH / "results" / f"{dt.date.today()}-sqlmap.md"))
    args = parser.parse_args(argv)
    if shutil.which("sqlmap") is None:
        print("sqlmap is not installed: pip install -e '.[bench]'", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="fno-sqlmap-"))
    db = work / "fno.db"
    subprocess.run([sys.executable, "-m", "gateway.cli", "demo-db", "--url", f"sqlite:///{db}", "--scale",
                    str(args.scale)], check=True, cwd=ROOT, capture_output=True, timeout=600)
    port = free_port()
    server = Server("gateway-sqlmap", [sys.executable, "-m", "gateway.cli", "serve", "--db", f"sqlite:///{db}",
                                       "--port", str(port), *server_arguments()], ROOT, port,
                    ready_headers=gateway_auth())
    outcomes: list[Outcome] = []
    try:
        server.start()
        for point, path in POINTS.items():
            began = time.perf_counter()
            injectable, errors, requests, text = scan(port, path, args.level, args.risk, work / "sqlmap")
            outcomes.append(Outcome(point, injectable, errors, requests, time.perf_counter() - began))
            print(f"{point}: {'INJECTABLE' if injectable else 'not injectable'}, {requests} 4xx answers, "
                  f"{errors} 5xx ({time.perf_counter() - began:.0f} s)", file=sys.stderr)
            if injectable or errors:
                (work / f"{point.replace(' ', '_').replace('$', '')}.log").write_text(text)
    finally:
        server.stop()
    passed = all(not o.injectable and not o.server_errors for o in outcomes)
    lines = [
        f"# sqlmap scan, {dt.date.today()}", "",
        f"`python -m bench.sqlmap_scan --level {args.level} --risk {args.risk}`: sqlmap "
        f"{subprocess.run(['sqlmap', '--version'], capture_output=True, text=True).stdout.strip()} against "
        f"`fno-gateway serve` (SQLite, demo scale {args.scale}), with a bearer token on every request.", "",
        "| injection point | URL (`*` marks it) | sqlmap verdict | 4xx answers (sqlmap's count) | 5xx | seconds |",
        "| --- | --- | --- | ---: | ---: | ---: |",
    ]
    for outcome in outcomes:
        lines.append(f"| {outcome.point} | `{POINTS[outcome.point]}` | "
                     f"{'**injectable**' if outcome.injectable else 'not injectable'} | {outcome.requests} | "
                     f"{outcome.server_errors} | {outcome.seconds:.0f} |")
    lines += ["", f"Result: {'nothing found, no 5xx' if passed else 'FINDINGS: see the logs in ' + str(work)}.", ""]
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
