"""Hostile input found by fuzzing the demo: each was a 500 (or a wrong 200) and is a clear 400 now.

Expectations are written by hand: the status, the code and what the message must name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from gateway.db import make_engine
from tests.conftest import Backend, make_client
from tests.test_errors import assert_odata_error

CUSTOMERS = "/data/CustomersV3"
UNITS = "/data/UnitsOfMeasure"
NINES = "9" * 30


def case(id: str, path: str, params: dict[str, str], code: str, *named: str) -> Any:
    return pytest.param(path, params, code, named, id=id)


# fmt: off
CASES = [
    # matchesPattern with a pattern no regular-expression engine compiles
    case("regex-open-bracket", CUSTOMERS, {"$filter": "matchesPattern(OrganizationName,'[')"}, "BadRequest", "'['"),
    case("regex-unbalanced", CUSTOMERS, {"$filter": "matchesPattern(OrganizationName,'^C.)(*s$')"}, "BadRequest",
         "'^C.)(*s$'"),
    case("regex-through-alias", CUSTOMERS, {"$filter": "matchesPattern(OrganizationName,@p)", "@p": "'(('"},
         "BadRequest", "'(('"),
    case("regex-too-long", CUSTOMERS, {"$filter": f"matchesPattern(OrganizationName,'{'a' * 1001}')"},
         "BadRequest", "1000 characters"),
    # counts past 64 bits
    case("apply-skip-beyond-64-bits", CUSTOMERS, {"$apply": f"skip({NINES})"}, "SyntaxError", "skip(", "at most"),
    case("apply-top-beyond-64-bits", CUSTOMERS, {"$apply": f"top({NINES})"}, "SyntaxError", "top(", "at most"),
    case("top-beyond-64-bits", CUSTOMERS, {"$top": NINES}, "InvalidQueryOption", "$top"),
    case("skip-beyond-64-bits", CUSTOMERS, {"$skip": NINES}, "InvalidQueryOption", "$skip"),
    # literals the property's type cannot hold
    case("double-overflow", CUSTOMERS, {"$filter": "CreditLimit eq 1e999999"}, "SyntaxError", "1e999999"),
    case("nan-for-decimal", CUSTOMERS, {"$filter": "CreditLimit eq NaN"}, "TypeMismatch", "NaN", "Edm.Decimal"),
    case("inf-for-decimal", CUSTOMERS, {"$filter": "CreditLimit lt INF"}, "TypeMismatch", "INF", "Edm.Decimal"),
    case("inf-literal-first", CUSTOMERS, {"$filter": "INF gt CreditLimit"}, "TypeMismatch", "INF"),
    case("nan-in-list", CUSTOMERS, {"$filter": "CreditLimit in (1,NaN)"}, "TypeMismatch", "NaN"),
    case("decimal-beyond-precision", CUSTOMERS, {"$filter": "CreditLimit eq " + "9" * 27},
         "TypeMismatch", "26 digits"),  # DECIMAL(32,6): 26 digits before the point
    case("int32-beyond", UNITS, {"$filter": "DecimalPrecision eq 2147483648"}, "TypeMismatch", "2147483648",
         "Edm.Int32"),
    case("int32-below", UNITS, {"$filter": "DecimalPrecision gt -2147483649"}, "TypeMismatch", "-2147483649"),
    case("int32-beyond-64-bits", UNITS, {"$filter": f"DecimalPrecision eq {NINES}"}, "TypeMismatch", "Edm.Int32"),
    case("nan-for-int32", UNITS, {"$filter": "DecimalPrecision eq NaN"}, "TypeMismatch", "NaN"),
]
# fmt: on


@pytest.mark.parametrize(("path", "params", "code", "named"), CASES)
def test_hostile_input_is_a_clear_400(
    sqlite_client: TestClient, path: str, params: dict[str, str], code: str, named: tuple[str, ...]
) -> None:
    error = assert_odata_error(sqlite_client.get(path, params=params), 400, code)
    for text_ in named:
        assert text_ in error["message"], error


@pytest.mark.parametrize(
    ("path", "params"),
    [
        (UNITS, {"$filter": "DecimalPrecision eq 2147483647"}),
        (UNITS, {"$filter": "DecimalPrecision gt -2147483648"}),
        (CUSTOMERS, {"$filter": "CreditLimit eq " + "9" * 26}),
        (CUSTOMERS, {"$filter": "CreditLimit divby 3 lt INF"}),  # divby gives a Double: INF is one of its values
        (CUSTOMERS, {"$filter": "matchesPattern(OrganizationName,'^C.*s$')"}),
        (CUSTOMERS, {"$apply": "skip(999999999999999999)"}),
    ],
    ids=["int32-max", "int32-min", "decimal-26-digits", "inf-for-double", "valid-regex", "apply-skip-max"],
)
def test_the_edge_values_themselves_are_fine(sqlite_client: TestClient, path: str, params: dict[str, str]) -> None:
    response = sqlite_client.get(path, params=params)
    assert response.status_code == 200, response.text


def test_sqlite_regexp_never_raises_on_a_pattern_from_a_column(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'regexp.db'}")
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT 'abc' REGEXP '[', 'abc' REGEXP 'b', 'abc' REGEXP NULL, 5 REGEXP 'a'"
        )).one()
    assert tuple(rows) == (0, 1, None, None)
    # Without it, SQLAlchemy's own REGEXP fails the whole statement.
    plain = create_engine("sqlite://")
    with plain.connect() as connection, pytest.raises(Exception, match="user-defined function raised"):
        connection.execute(text("SELECT 'abc' REGEXP '['")).one()
    engine.dispose()
    plain.dispose()


def test_a_column_holding_an_invalid_pattern_matches_nothing(sqlite_client: TestClient) -> None:
    # The address city as a pattern: '[' appended makes every one invalid; no row matches, no error.
    response = sqlite_client.get(CUSTOMERS, params={"$filter": "matchesPattern(OrganizationName,concat(AddressCity,'['))"})
    assert response.status_code == 200, response.text
    assert response.json()["value"] == []


def test_an_apply_chain_too_deep_for_sqlite_is_a_400(sqlite_client: TestClient) -> None:
    # 20 groupbys are 20 nested subqueries: within --max-expression-depth, beyond SQLite's parser stack.
    response = sqlite_client.get(CUSTOMERS, params={"$apply": "/".join(["groupby((CustomerGroupId))"] * 20)})
    error = assert_odata_error(response, 400, "BadRequest")
    assert "parser stack overflow" in error["message"]


DEEP_EXPAND = "SalesOrders($top=1;$expand=Customer($expand=" * 100 + "SalesOrders($top=1)" + "))" * 100


def test_expand_deeper_than_json_can_be_written_is_a_400(sqlite_backend: Backend) -> None:
    """With the limits raised, 200 levels of $expand reach orjson's 255 levels (a TypeError inside)."""
    with make_client(sqlite_backend, max_expression_depth=10**6, max_expression_nodes=10**7,
                     max_expand_depth=10**6, max_url_length=10**6) as client:
        one = CUSTOMERS + "(dataAreaId='usmf',CustomerAccount='US-001')"
        error = assert_odata_error(client.get(one, params={"$expand": DEEP_EXPAND}), 400, "BadRequest")
        assert "255 levels" in error["message"]
        batch = {"requests": [{"id": "1", "method": "GET", "url": "CustomersV3?$top=1&$expand=" + DEEP_EXPAND}]}
        response = client.post("/data/$batch", json=batch)
        assert response.status_code == 200, response.text
        assert response.json()["responses"][0]["status"] == 400
        deeper = "SalesOrders($expand=Customer($expand=" * 400 + "SalesOrders" + "))" * 400  # Python's stack
        assert_odata_error(client.get(CUSTOMERS, params={"$expand": deeper}), 400, "BadRequest")
        client.app.state.engine.dispose()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("headers", "Content-Type: application/json", '"headers"'),
        ("headers", 5, '"headers"'),
        ("headers", {"Prefer": "é€"}, "Latin-1"),
        ("dependsOn", 5, '"dependsOn"'),
        ("dependsOn", "1", '"dependsOn"'),
    ],
    ids=["headers-text", "headers-number", "headers-not-latin-1", "depends-on-number", "depends-on-text"],
)
def test_json_batch_requests_of_the_wrong_shape_are_400(
    sqlite_client: TestClient, field: str, value: Any, named: str
) -> None:
    batch = {"requests": [{"id": "1", "method": "GET", "url": "LegalEntities('usmf')", field: value}]}
    error = assert_odata_error(sqlite_client.post("/data/$batch", json=batch), 400, "BadRequest")
    assert named in error["message"]


def test_a_body_nested_deeper_than_json_can_be_written_is_a_400(sqlite_client: TestClient) -> None:
    body = '{"requests":[{"id":"1","method":"POST","url":"CustomersV3","body":' + '{"a":' * 300 + "1" + "}" * 300 + "}]}"
    response = sqlite_client.post("/data/$batch", content=body, headers={"Content-Type": "application/json"})
    assert_odata_error(response, 400, "BadRequest")


@pytest.mark.parametrize(
    ("header", "named"),
    [("X-Note: \u202e".encode(), "Latin-1"), (b"X-Note: \xff\xfe", "UTF-8")],
    ids=["not-latin-1", "not-utf-8"],
)
def test_multipart_batch_headers_http_cannot_carry_are_400(
    sqlite_client: TestClient, header: bytes, named: str
) -> None:
    body = (b"--b\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
            b"GET LegalEntities('usmf') HTTP/1.1\r\n" + header + b"\r\n\r\n\r\n--b--\r\n")
    response = sqlite_client.post("/data/$batch", content=body, headers={"Content-Type": "multipart/mixed; boundary=b"})
    error = assert_odata_error(response, 400, "BadRequest")
    assert named in error["message"]
