"""Print the OASIS ABNF conformance of the grammar as markdown tables, one row per ABNF rule.

    python -m tests.grammar.conformance_report [--failures]
    python tests/grammar/conformance_report.py [--failures]

"failed" includes the known deviations (listed in conformance_cases.KNOWN_DEVIATIONS, shown in
parentheses); "pass rate" is passed / (cases - skipped); "FailAt" counts the negative cases rejected
exactly at the published position.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.grammar.conformance_cases import SOURCES, Tally, available, load_cases, tally


def _rate(passed: int, run: int) -> str:
    return f"{100 * passed / run:.1f} %" if run else "-"


def _row(name: str, entry: Tally) -> str:
    run = entry.cases - entry.skipped
    failed = f"{entry.failed} ({entry.known})" if entry.known else str(entry.failed)
    fail_at = f"{entry.fail_at_exact}/{entry.negatives}" if entry.negatives else "-"
    return (
        f"| {name} | {entry.cases} | {entry.passed} | {failed} | {entry.skipped} "
        f"| {_rate(entry.passed, run)} | {fail_at} |"
    )


def report(show_failures: bool = False) -> str:
    lines: list[str] = []
    for source in SOURCES:
        results = tally(load_cases(source))
        total = Tally()
        lines += [
            f"### {source}: {SOURCES[source]}",
            "",
            "| rule | cases | passed | failed (known) | skipped | pass rate | FailAt exact |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for (_, rule), entry in sorted(results.items(), key=lambda item: (-item[1].cases, item[0][1])):
            lines.append(_row(rule, entry))
            for name in ("cases", "passed", "failed", "known", "skipped", "negatives", "fail_at_exact"):
                setattr(total, name, getattr(total, name) + getattr(entry, name))
            total.failures += entry.failures
        lines += [_row("**total**", total), ""]
        if show_failures and total.failures:
            lines += ["Failing cases:", ""] + [f"- {failure}" for failure in total.failures] + [""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--failures", action="store_true", help="list the failing cases after each table")
    args = parser.parse_args(argv)
    if not available():
        print("OASIS ABNF test cases not found (set ODATA_ABNF_DIR)", file=sys.stderr)
        return 1
    print(report(args.failures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
