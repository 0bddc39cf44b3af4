"""The markdown report of one benchmark run: medians with spread, ratios against the targets."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from statistics import median
from typing import Any

# Targets of issue 12 (performance, round two), each from one run.
THROUGHPUT_VS_CAP = 2.0
PAGE_VS_RAW = 1.5  # pages and $expand at concurrency 1: p50 within 1.5× the raw loop's
PAGE_KINDS = ("page", "expand", "first", "deep", "skip")
OVER_RAW_MS = 0.3  # key lookups and $count at concurrency 1: p50 at most this over the raw loop's
LOOKUP_KINDS = ("key", "count")
EXPORT_VS_RAW = 0.7
EXPORT_RSS_MB = 150.0
PARSE_US = 150.0  # a new $filter text: parse + bind + compile, µs
PARSE_VS_ODATA_QUERY = 1.0  # and at least as fast as odata-query's parse alone
FLAT_MB = 20.0  # "memory stays flat": the larger case's peak within this of the smaller one's


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def pooled(runs: list[Any]) -> list[float]:
    return [latency for run in runs for latency in run.latencies_ms]


def _ms(values: list[float]) -> str:
    if not values:
        return "–"
    return f"{percentile(values, 0.5):.2f} [{percentile(values, 0.25):.2f}–{percentile(values, 0.75):.2f}]"


def _rate(runs: list[Any]) -> tuple[float | None, str]:
    rates = [run.throughput for run in runs]
    if not rates:
        return None, "–"
    return median(rates), f"{median(rates):,.0f} [{min(rates):,.0f}–{max(rates):,.0f}]"


def _ratio(value: float | None, goal: float, higher_is_better: bool) -> str:
    if value is None:
        return "–"
    met = value >= goal if higher_is_better else value <= goal
    return f"{value:.2f}× {'✅' if met else '❌'}"


def _met(value: float | None, goal: float, higher_is_better: bool) -> str:
    if value is None:
        return "n/a"
    return "met" if (value >= goal if higher_is_better else value <= goal) else "missed"


def write_report(*, path: Path, args: Any, samples: Any, results: list[Any], exports: dict[str, list[Any]],
                 raw_export: tuple[int, float], parse: Any, memory: dict[str, Any], server_rss: dict[str, float],
                 cap_reason: str | None, environment: dict[str, str], seconds: float) -> str:
    lines: list[str] = []
    add = lines.append
    command = "python -m bench.run " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    add(f"# Benchmark: scale {args.scale:g} ({samples.rows:,} sales lines)")
    add("")
    add(f"`{command.strip()}` — {args.workers} workers per server, load generator at concurrency "
        f"{args.concurrency} and 1, {args.rounds} A/B rounds of {args.duration:g} s per kind (order alternating), "
        f"took {seconds / 60:.1f} min.")
    add("")
    add("Gateway served exactly as shipped (`python -m gateway.cli serve --workers N`).")
    add("")
    for name, value in environment.items():
        add(f"- {name}: {value}")
    if cap_reason:
        add(f"- **CAP not measured**: {cap_reason}")
    add("")

    targets: list[tuple[str, str, str, str]] = []

    # ---------------------------------------------------------------- throughput
    add(f"## Throughput at concurrency {args.concurrency}")
    add("")
    add("req/s: median of the rounds [min–max]; latency: p50 [p25–p75] of every request of every round.")
    add("")
    add("| request kind | gateway req/s | CAP req/s | gateway ÷ CAP (≥ 2) | gateway ms | CAP ms | gateway peak RSS MB |")
    add("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    worst: tuple[float, str] | None = None
    for result in results:
        kind = result.kind
        if result.gateway_status != 200:
            add(f"| {kind.title} | not available (gateway answers {result.gateway_status}) | "
                f"{_rate(result.loaded['cap'])[1]} | – | – | {_ms(pooled(result.loaded['cap']))} | – |")
            targets.append((f"throughput ≥ 2× CAP: {kind.name}", "not available on the gateway", "", "n/a"))
            continue
        gateway_rate, gateway_text = _rate(result.loaded["gateway"])
        cap_rate, cap_text = _rate(result.loaded["cap"])
        if result.cap_status not in (None, 200):
            cap_text = f"fails ({result.cap_status})"
        ratio = gateway_rate / cap_rate if gateway_rate and cap_rate else None
        if ratio is not None and (worst is None or ratio < worst[0]):
            worst = (ratio, kind.name)
        peak = max((run.peak_rss_mb for run in result.loaded["gateway"]), default=0.0)
        add(f"| {kind.title} | {gateway_text} | {cap_text} | {_ratio(ratio, THROUGHPUT_VS_CAP, True)} | "
            f"{_ms(pooled(result.loaded['gateway']))} | {_ms(pooled(result.loaded['cap']))} | {peak:.0f} |")
        targets.append((f"throughput ≥ 2× CAP: {kind.name}", f"{ratio:.2f}×" if ratio else "–", "≥ 2×",
                        _met(ratio, THROUGHPUT_VS_CAP, True)))
    add("")

    # ---------------------------------------------------------------- latency
    add("## Latency at concurrency 1, against the raw SQL + JSON loop")
    add("")
    add("p50 [p25–p75] ms. Raw: the gateway's own SQL (captured) through the same driver (`sqlite3`, `psycopg`), rows "
        "as dicts, `orjson.dumps`, one thread in the benchmark process, no HTTP (bench/raw.py).")
    add("")
    add("| request kind | raw SQL + JSON | gateway | gateway ÷ raw | CAP | CAP ÷ raw | rows (gateway / CAP) |")
    add("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for result in results:
        kind = result.kind
        raw = percentile(result.raw_ms, 0.5)
        gateway = pooled(result.single["gateway"])
        cap = pooled(result.single["cap"])
        gateway_p50 = percentile(gateway, 0.5) if gateway else None
        cap_p50 = percentile(cap, 0.5) if cap else None
        source = "" if result.raw_source == "captured" else f" ({result.raw_source})"
        rows = " / ".join(str(result.rows.get(name, "–")) for name in ("gateway", "cap"))
        add(f"| {kind.title} | {_ms(result.raw_ms)}{source} | {_ms(gateway)} | "
            f"{f'{gateway_p50 / raw:.2f}×' if gateway_p50 else '–'} | {_ms(cap)} | "
            f"{f'{cap_p50 / raw:.2f}×' if cap_p50 else '–'} | {rows} |")
        if kind.name in PAGE_KINDS and gateway_p50 is not None:
            measured = f"{gateway_p50 / raw:.2f}× ({gateway_p50:.2f} vs {raw:.2f} ms)"
            targets.append((f"latency ≤ 1.5× raw: {kind.name}", measured, "≤ 1.5×",
                            _met(gateway_p50 / raw, PAGE_VS_RAW, False)))
        if kind.name in LOOKUP_KINDS and gateway_p50 is not None:
            measured = f"+{gateway_p50 - raw:.2f} ms ({gateway_p50:.2f} vs {raw:.2f} ms)"
            targets.append((f"latency ≤ raw + 0.3 ms: {kind.name}", measured, "≤ +0.3 ms",
                            _met(gateway_p50 - raw, OVER_RAW_MS, False)))
    notes = [f"- {result.kind.name}: {result.kind.note}" for result in results if result.kind.note]
    notes += [f"- {result.kind.name}: CAP answers {result.cap_status}: `{result.cap_problem[:200]}`"
              for result in results if result.cap_status not in (None, 200)]
    if notes:
        add("")
        lines.extend(notes)
    add("")

    # ---------------------------------------------------------------- export
    raw_rows, raw_seconds = raw_export
    raw_rate = raw_rows / raw_seconds
    add(f"## Export of every SalesOrderLines row ({samples.rows:,}) through nextLinks, 10,000 rows a page")
    add("")
    add("| who | rows/s median [min–max] | seconds | pages | ÷ raw | peak RSS MB (any worker) |")
    add("| --- | ---: | ---: | ---: | ---: | ---: |")
    add(f"| raw SQL + JSON (one SELECT, fetchmany 10,000) | {raw_rate:,.0f} | {raw_seconds:.2f} | – | 1.00× | – |")
    gateway_export_rate = None
    for name in ("gateway", "cap"):
        runs = exports.get(name, [])
        if not runs:
            continue
        rates = [samples.rows / run.elapsed for run in runs if run.complete]
        if not rates:
            add(f"| {name} | incomplete: {runs[0].errors[:1]} | | | | |")
            continue
        rate = median(rates)
        if name == "gateway":
            gateway_export_rate = rate
        add(f"| {name} | {rate:,.0f} [{min(rates):,.0f}–{max(rates):,.0f}] | "
            f"{median(run.elapsed for run in runs):.2f} | {runs[0].pages} | {rate / raw_rate:.2f}× | "
            f"{max(run.peak_rss_mb for run in runs):.0f} |")
    if gateway_export_rate is not None:
        measured = f"{gateway_export_rate / raw_rate:.0%} ({gateway_export_rate:,.0f} vs {raw_rate:,.0f} rows/s)"
        targets.append(("export rate ≥ 70 % of raw", measured, "≥ 70 %",
                        _met(gateway_export_rate / raw_rate, EXPORT_VS_RAW, True)))
    add("")

    # ---------------------------------------------------------------- memory
    if memory:
        add("## Memory: a fresh gateway per case, peak RSS (VmHWM) of its busiest worker")
        add("")
        add("| case | idle MB | peak MB | requests/pages | seconds |")
        add("| --- | ---: | ---: | ---: | ---: |")
        for case in memory.values():
            add(f"| {case.name} | {case.idle_mb:.0f} | {case.peak_mb:.0f} | {case.requests} | {case.seconds:.1f} |")
        add("")
        cases = list(memory.values())
        if len(cases) == 4:
            page_growth = cases[1].peak_mb - cases[0].peak_mb
            export_growth = cases[3].peak_mb - cases[2].peak_mb
            measured = f"{page_growth:+.0f} MB ({cases[0].peak_mb:.0f} → {cases[1].peak_mb:.0f})"
            targets.append(("memory flat: page 10,000 vs 100 rows", measured, f"≤ +{FLAT_MB:.0f} MB",
                            _met(page_growth, FLAT_MB, False)))
            measured = f"{export_growth:+.0f} MB ({cases[2].peak_mb:.0f} → {cases[3].peak_mb:.0f})"
            targets.append((f"memory flat: export {samples.rows:,} vs 10,000 rows", measured, f"≤ +{FLAT_MB:.0f} MB",
                            _met(export_growth, FLAT_MB, False)))
            targets.append(("export peak RSS < 150 MB", f"{cases[3].peak_mb:.0f} MB", "< 150 MB",
                            _met(cases[3].peak_mb, EXPORT_RSS_MB, False)))
    if server_rss:
        add("Peak RSS over the whole load phase (VmHWM, busiest worker): " + ", ".join(
            f"{name} {value:.0f} MB" for name, value in server_rss.items()) + ".")
        add("")

    # ---------------------------------------------------------------- parse
    add(f"## $filter front end: {parse.expressions:,} fresh expressions")
    add("")
    add("| who | µs per expression (median of 3 passes) |")
    add("| --- | ---: |")
    add(f"| gateway: Lark parse (cache bypassed) + bind + SQLAlchemy compile to SQL text | {parse.gateway_us:,.0f} |")
    if parse.odata_query_us is not None:
        add(f"| odata-query: ODataLexer + ODataParser only | {parse.odata_query_us:,.0f} |")
        targets.append(("new $filter: parse+bind+compile ≤ 150 µs", f"{parse.gateway_us:,.0f} µs", "≤ 150 µs",
                        _met(parse.gateway_us, PARSE_US, False)))
        targets.append(("new $filter: as fast as odata-query's parse alone",
                        f"{parse.speedup:.2f}× ({parse.gateway_us:,.0f} vs {parse.odata_query_us:,.0f} µs)", "≥ 1×",
                        _met(parse.speedup, PARSE_VS_ODATA_QUERY, True)))
    else:
        add(f"| odata-query | {parse.error} |")
    add("")

    # ---------------------------------------------------------------- targets
    summary = ["## Targets", "", "| target | measured | goal | |", "| --- | --- | --- | --- |"]
    summary += [f"| {name} | {measured} | {goal} | {verdict} |" for name, measured, goal, verdict in targets]
    if worst is not None:
        summary += ["", f"Lowest gateway ÷ CAP throughput: {worst[0]:.2f}× ({worst[1]})."]
    summary.append("")
    text = "\n".join(lines[:_after_header(lines)] + summary + lines[_after_header(lines):]) + _setup_notes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return text


def _after_header(lines: list[str]) -> int:
    for index, line in enumerate(lines):
        if line.startswith("## "):
            return index
    return len(lines)


def _setup_notes() -> str:
    return """
## How it was measured

- Database: `fno-gateway demo-db` at the given scale into `bench/.data/` (SQLite, WAL mode for both
  servers), or with `--db postgresql` into the PostgreSQL database `fno_bench_s<scale>` (same generator,
  same seed: the same rows).
- Gateway: `python -m gateway.cli serve --workers N` (uvicorn workers fed by gateway/balance.py), default
  settings (10,000 rows a page) except the per-principal request budget, lifted for the one bench user.
- CAP: `bench/cap/server.js`, `@sap/cds` 9 with `@cap-js/sqlite` 2 (or `@cap-js/postgres` 2), N node
  cluster workers, the same data: `@cds.persistence.exists` entities over the physical tables; the
  service's projections are CAP's own generated view SQL, created as TEMP views per connection on
  SQLite (nothing is written to the file), as views in a schema `cap` on PostgreSQL (bench/cap/pg-views.js).
  Same entity sets and property names under `/data`; 10,000 rows a page (`@cds.query.limit`);
  default (offset) server-driven paging.
- Load generator: `bench/load.py` in its own process, minimal HTTP/1.1 keep-alive client on asyncio;
  each kind rotates through up to 50 URL variants. Both servers run all the time; only one is loaded
  at once. 2 cores are shared by the server under load and the load generator.
- Raw baseline: statements captured from the gateway (SQLAlchemy `before_cursor_execute`) and
  replayed through the same driver with a dict per row and `orjson.dumps`, one thread, no HTTP.
- Deep page: the gateway's `$skiptoken` is built with `gateway.plan.paging.encode` from the sort-key
  values of the row before the page (the token's shape is taken from a real nextLink of the query);
  CAP gets `$top`/`$skip`, which is what its own nextLinks do.
"""
