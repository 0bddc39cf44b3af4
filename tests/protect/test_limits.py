"""Size and depth limits of query options: counted by hand here, refused with a 400 naming the limit."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from gateway.errors import InvalidQueryOption
from gateway.protect.expressions import ExpressionLimits, check_limits
from grammar.parser import parse
from tests.conftest import Backend, make_client
from tests.test_errors import assert_odata_error

CUSTOMERS = "/data/CustomersV3"


def nested(depth: int) -> str:
    """`tolower(` `depth` times: the comparison, `depth` calls, the path and its step: depth + 3 levels."""
    return "tolower(" * depth + "OrganizationName" + ")" * depth + " eq 'a'"


@pytest.mark.parametrize(("depth", "allowed"), [(7, True), (8, False)], ids=["at-the-limit", "one-beyond"])
def test_depth_counts_each_level(depth: int, allowed: bool) -> None:
    limits = ExpressionLimits(max_nodes=1000, max_depth=10)  # nested(7) is 10 levels deep
    tree = parse("filter_option", nested(depth))
    if allowed:
        check_limits("$filter", tree, limits)
    else:
        with pytest.raises(InvalidQueryOption, match="max-expression-depth"):
            check_limits("$filter", tree, limits)


def test_a_long_or_chain_is_flat_but_counts_its_nodes() -> None:
    # 500 comparisons: 500 × (eq, member path, property step, literal) + 499 'or' nodes = 2,499 nodes.
    text = " or ".join(f"CreditLimit eq {n}" for n in range(500))
    tree = parse("filter_option", text)
    check_limits("$filter", tree, ExpressionLimits(max_nodes=2499, max_depth=5))
    with pytest.raises(InvalidQueryOption, match="max-expression-nodes"):
        check_limits("$filter", tree, ExpressionLimits(max_nodes=2498, max_depth=5))


def test_each_apply_transformation_is_one_level_deeper() -> None:
    tree = parse("apply_option", "/".join(["filter(true)"] * 6))
    check_limits("$apply", tree, ExpressionLimits(max_depth=7))  # the last filter: 6th level, its literal 7th
    with pytest.raises(InvalidQueryOption):
        check_limits("$apply", tree, ExpressionLimits(max_depth=6))


def test_an_alias_counts_where_it_is_used() -> None:
    aliases = {"p": parse("alias_value_option", nested(20))}
    tree = parse("filter_option", "@p or @p")
    with pytest.raises(InvalidQueryOption, match="nested too deeply"):
        check_limits("$filter", tree, ExpressionLimits(max_depth=10), aliases)


@pytest.mark.parametrize(
    ("option", "text"),
    [
        ("$filter", nested(300)),
        ("$filter", "CreditLimit" + " add 1" * 300 + " gt 1"),
        ("$filter", "not " * 3000 + "(CreditLimit gt 1)"),
        ("$orderby", "tolower(" * 100 + "OrganizationName" + ")" * 100),
        ("$compute", "tolower(" * 100 + "OrganizationName" + ")" * 100 + " as X"),
        ("$apply", "/".join(["groupby((CustomerGroupId))"] * 300)),
        ("$expand", "SalesOrders($expand=Customer($expand=" * 40 + "SalesOrders" + "))" * 40),
    ],
    ids=["functions", "additions", "nots", "orderby", "compute", "apply-chain", "expand"],
)
def test_deep_options_are_refused_naming_the_limit(sqlite_backend: Backend, option: str, text: str) -> None:
    with make_client(sqlite_backend, max_url_length=10**6) as client:  # not refused as too long first
        error = assert_odata_error(client.get(CUSTOMERS, params={option: text}), 400, "InvalidQueryOption")
    assert "--max-expression-depth" in error["message"] and error["target"] == option


def test_a_huge_option_is_refused_naming_the_limit(sqlite_client: TestClient) -> None:
    # An alias counts wherever it is used: 11 uses of a list of 1,000 values are over 11,000 nodes.
    alias = "CustomerAccount in (" + ",".join(str(n) for n in range(1000)) + ")"
    params = {"$filter": " or ".join(["@p"] * 11), "@p": alias}
    error = assert_odata_error(sqlite_client.get(CUSTOMERS, params=params), 400, "InvalidQueryOption")
    assert "--max-expression-nodes" in error["message"]


def test_the_limits_are_settings(sqlite_backend: Backend) -> None:
    with make_client(sqlite_backend, max_expression_depth=5, max_expression_nodes=50, max_url_length=10**6) as client:
        assert client.get(CUSTOMERS, params={"$filter": nested(2), "$top": "1"}).status_code == 200
        assert_odata_error(client.get(CUSTOMERS, params={"$filter": nested(3)}), 400, "InvalidQueryOption")
        many = " or ".join(f"CreditLimit eq {n}" for n in range(13))  # 13 × 4 + 12 = 64 nodes
        assert_odata_error(client.get(CUSTOMERS, params={"$filter": many}), 400, "InvalidQueryOption")
        client.app.state.engine.dispose()  # type: ignore[attr-defined]


def test_the_database_refusing_a_query_as_too_deep_is_a_400(sqlite_backend: Backend) -> None:
    # Beyond the default limits, SQLite's own parser stack (about 40 nested calls) gives up.
    with make_client(sqlite_backend, max_expression_depth=1000, max_url_length=10**6) as client:
        response = client.get(CUSTOMERS, params={"$filter": nested(60)})
        error = assert_odata_error(response, 400, "BadRequest")
        assert "parser stack overflow" in error["message"]
        client.app.state.engine.dispose()  # type: ignore[attr-defined]
