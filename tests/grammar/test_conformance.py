"""The OASIS OData ABNF test cases (core, aggregation, temporal) against the Lark grammar.

One test per case: a positive case must parse, a negative one must fail. Rules the grammar does not
implement, and cases using unimplemented extensions, are skipped with the reason from the tables in
conformance_cases.py; known deviations are strict xfails. `python -m tests.grammar.conformance_report`
prints the per-rule pass rates.
"""

from __future__ import annotations

import pytest

from tests.grammar.conformance_cases import (
    FEATURE_SKIPS,
    KNOWN_DEVIATIONS,
    RULES,
    Handled,
    Skipped,
    all_cases,
    available,
    deviation,
    load_cases,
    percent_decode,
    run,
    skip_reason,
    split_query,
    tally,
)

pytestmark = pytest.mark.skipif(
    not available(), reason="OASIS ABNF test cases not found (set ODATA_ABNF_DIR)"
)

CASES = all_cases() if available() else ()


def _param(case):  # type: ignore[no-untyped-def]
    marks = []
    reason = skip_reason(case)
    if reason is not None:
        marks.append(pytest.mark.skip(reason=reason))
    elif deviation(case) is not None:
        marks.append(pytest.mark.xfail(strict=True, reason=deviation(case)))
    return pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("case", [_param(case) for case in CASES])
def test_case(case, record_property) -> None:  # type: ignore[no-untyped-def]
    outcome = run(case)
    if not case.positive:  # in the JUnit XML: whether the error is exactly where the ABNF says
        record_property("fail_at", case.fail_at)
        record_property("failed_at", outcome.position)
    if case.positive:
        assert outcome.accepted, (
            f"{case.name}: {case.input!r} rejected at {outcome.position}: {outcome.detail}"
        )
    else:
        assert not outcome.accepted, (
            f"{case.name}: {case.input!r} accepted, expected to fail at {case.fail_at}"
        )


# ------------------------------------------------------------------ the tables themselves


def test_every_rule_is_in_the_table() -> None:
    missing = sorted({case.rule for case in CASES} - set(RULES))
    assert not missing, f"rules without an entry in RULES: {missing}"


def test_every_skip_has_a_reason() -> None:
    assert all(entry.reason.strip() for entry in RULES.values() if isinstance(entry, Skipped))
    assert all(entry.how.strip() for entry in RULES.values() if isinstance(entry, Handled))
    assert all(reason.strip() for _, _, reason in FEATURE_SKIPS)
    assert all(reason.strip() for reason in KNOWN_DEVIATIONS.values())


def test_every_known_deviation_names_a_case() -> None:
    inputs = {(case.source, case.rule, case.input) for case in CASES}
    stale = [key for key in KNOWN_DEVIATIONS if key not in inputs]
    assert not stale, f"known deviations that match no case: {stale}"


def test_known_deviations_are_not_skipped() -> None:
    skipped = [case.id for case in CASES if deviation(case) is not None and skip_reason(case) is not None]
    assert not skipped


@pytest.mark.parametrize("source", ["core", "aggregation"])
def test_implemented_rules_pass_at_least_95_percent(source: str) -> None:
    """The issue's requirement: over the rules the grammar implements (cases not skipped)."""
    results = tally(load_cases(source))
    run_cases = sum(entry.cases - entry.skipped for entry in results.values())
    passed = sum(entry.passed for entry in results.values())
    assert passed / run_cases >= 0.95, f"{passed}/{run_cases}"


def test_the_negative_cases_that_fail_do_so_for_a_reason() -> None:
    """Every rejected case reports a position inside (or just after) its input."""
    for case in CASES:
        if skip_reason(case) is None and not case.positive:
            outcome = run(case)
            if not outcome.accepted:
                assert outcome.position is not None and 0 <= outcome.position <= len(case.input), case.id


# ------------------------------------------------------------------ the query string helpers


@pytest.mark.parametrize(
    ("raw", "text", "positions"),
    [
        pytest.param("abc", "abc", [0, 1, 2, 3], id="plain"),
        pytest.param("a%20b", "a b", [0, 1, 4, 5], id="escape"),
        pytest.param("%CE%94x", "\u0394x", [0, 6, 7], id="utf8-two-bytes"),
        pytest.param("1+2", "1+2", [0, 1, 2, 3], id="plus-stays"),
        pytest.param("100%", "100%", [0, 1, 2, 3, 4], id="lone-percent"),
    ],
)
def test_percent_decode(raw: str, text: str, positions: list[int]) -> None:
    decoded = percent_decode(raw)
    assert decoded.text == text
    assert list(decoded.offsets) == positions


def test_split_query() -> None:
    options = split_query("$filter=a%26b eq 1&!special&@p=%27x%27&$top=")
    assert [(o.name, None if o.value is None else o.value.text) for o in options] == [
        ("$filter", "a&b eq 1"),
        ("!special", None),
        ("@p", "'x'"),
        ("$top", ""),
    ]
    assert [(o.start, o.end) for o in options] == [(0, 18), (19, 27), (28, 38), (39, 44)]
    assert options[0].value is not None and options[0].value.raw_pos(1) == 9  # the decoded '&' is %26
    assert split_query("") == []
