"""Unit tests of grammar.parser: the AST of representative inputs of every start rule, and the exact
position of syntax errors. Expected trees are written by hand (positions are not compared by ==;
test_positions checks a few)."""

from __future__ import annotations

import datetime as dt
import io
import logging
import math
import uuid
from decimal import Decimal
from typing import Any

import pytest
from lark import Lark
from lark import logger as lark_logger

from grammar import ast
from grammar.parser import GRAMMAR_FILE, START_RULES, ODataSyntaxError, parse

# ------------------------------------------------------------------ shorthand for expected trees


def prop(*names: str) -> ast.MemberPath:
    return ast.MemberPath(tuple(ast.PropertyStep(name) for name in names))


def path(*steps: ast.Step) -> ast.MemberPath:
    return ast.MemberPath(steps)


def P(name: str) -> ast.PropertyStep:
    return ast.PropertyStep(name)


def s(value: str) -> ast.Literal:
    return ast.Literal(value, "Edm.String")


def i32(value: int) -> ast.Literal:
    return ast.Literal(value, "Edm.Int32")


def dec(value: str) -> ast.Literal:
    return ast.Literal(Decimal(value), "Edm.Decimal")


def dbl(value: float) -> ast.Literal:
    return ast.Literal(value, "Edm.Double")


TRUE = ast.Literal(True, "Edm.Boolean")
FALSE = ast.Literal(False, "Edm.Boolean")
NULL = ast.Literal(None, "null")


def op(name: str, left: ast.Expr, right: ast.Expr) -> ast.BinaryOp:
    return ast.BinaryOp(name, left, right)


def eq(left: ast.Expr, right: ast.Expr) -> ast.BinaryOp:
    return op("eq", left, right)


def fn(name: str, *args: Any) -> ast.FunctionCall:
    return ast.FunctionCall(name, args)


def enum(type_name: str, *members: str) -> ast.EnumLiteral:
    return ast.EnumLiteral(type_name, members)


def word(text: str) -> ast.Search:
    return ast.Search("word", text)


def phrase(text: str) -> ast.Search:
    return ast.Search("phrase", text)


def search(kind: str, *children: ast.Search) -> ast.Search:
    return ast.Search(kind, children=children)


def key(value: ast.Expr, name: str | None = None) -> ast.KeyValue:
    return ast.KeyValue(name, value)


def seg(name: str, *keys: ast.KeyValue) -> ast.NamedSegment:
    return ast.NamedSegment(name, tuple(keys) if keys else None)


def special(kind: str, name: str = "") -> ast.SpecialSegment:
    return ast.SpecialSegment(kind, name)


def sel(*names: str, options: ast.QueryOptions | None = None) -> ast.SelectItem:
    return ast.SelectItem(tuple(names), options=options)


def exp(*names: str, **fields: Any) -> ast.ExpandItem:
    return ast.ExpandItem(tuple(names), **fields)


Q = ast.QueryOptions
CUST_VEND_BLOCKED = "Microsoft.Dynamics.DataEntities.CustVendorBlocked"


def cases(*items: tuple[str, str, Any]) -> list[Any]:
    return [pytest.param(text, expected, id=case_id) for case_id, text, expected in items]


# ------------------------------------------------------------------ $filter: operators and precedence

PRECEDENCE = cases(
    (
        "or-of-ands",
        "a and b or c and d",
        op("or", op("and", prop("a"), prop("b")), op("and", prop("c"), prop("d"))),
    ),
    ("and-binds-tighter", "a or b and c", op("or", prop("a"), op("and", prop("b"), prop("c")))),
    ("or-left-assoc", "a or b or c", op("or", op("or", prop("a"), prop("b")), prop("c"))),
    ("eq-under-and", "A eq 1 and B ne 'x'", op("and", eq(prop("A"), i32(1)), op("ne", prop("B"), s("x")))),
    (
        "relational",
        "A lt 1 or A le 2 or A gt 3 or A ge 4",
        op(
            "or",
            op(
                "or",
                op("or", op("lt", prop("A"), i32(1)), op("le", prop("A"), i32(2))),
                op("gt", prop("A"), i32(3)),
            ),
            op("ge", prop("A"), i32(4)),
        ),
    ),
    (
        "mul-over-add",
        "a add b mul c eq d",
        eq(op("add", prop("a"), op("mul", prop("b"), prop("c"))), prop("d")),
    ),
    ("sub-left-assoc", "a sub b sub c", op("sub", op("sub", prop("a"), prop("b")), prop("c"))),
    (
        "div-divby-mod",
        "a div b divby c mod d",
        op("mod", op("divby", op("div", prop("a"), prop("b")), prop("c")), prop("d")),
    ),
    ("parentheses", "(a or b) and c", op("and", op("or", prop("a"), prop("b")), prop("c"))),
    (
        "parenthesized-arithmetic",
        "(Price add 2.45) mod 2",
        op("mod", op("add", prop("Price"), dec("2.45")), i32(2)),
    ),
    ("not-binds-tighter-than-eq", "not a eq b", eq(ast.UnaryOp("not", prop("a")), prop("b"))),
    ("not-of-group", "not (a eq b)", ast.UnaryOp("not", eq(prop("a"), prop("b")))),
    ("not-function", "not endswith(Name,'ilk')", ast.UnaryOp("not", fn("endswith", prop("Name"), s("ilk")))),
    ("negate-path", "-Price mul 2", op("mul", ast.UnaryOp("negate", prop("Price")), i32(2))),
    ("negate-number-folds", "Price gt -5", op("gt", prop("Price"), i32(-5))),
    ("double-negation", "- -Price", ast.UnaryOp("negate", ast.UnaryOp("negate", prop("Price")))),
    (
        "has-enum",
        f"CustomerBlocked has {CUST_VEND_BLOCKED}'No'",
        op("has", prop("CustomerBlocked"), enum(CUST_VEND_BLOCKED, "No")),
    ),
    (
        "has-binds-tighter-than-not",
        "not Style has Sales.Pattern'Red'",
        ast.UnaryOp("not", op("has", prop("Style"), enum("Sales.Pattern", "Red"))),
    ),
    (
        "has-under-eq",
        "Style has Sales.Pattern'Red' eq true",
        eq(op("has", prop("Style"), enum("Sales.Pattern", "Red")), TRUE),
    ),
    (
        "in-list",
        "City in ('Oslo','Bergen') or A",
        op("or", ast.In(prop("City"), ast.ListExpr((s("Oslo"), s("Bergen")))), prop("A")),
    ),
    (
        "in-binds-tighter-than-not",
        "not City in ('Oslo','Bergen')",
        ast.UnaryOp("not", ast.In(prop("City"), ast.ListExpr((s("Oslo"), s("Bergen"))))),
    ),
    ("in-negative-numbers", "A in (-1, 2, +3)", ast.In(prop("A"), ast.ListExpr((i32(-1), i32(2), i32(3))))),
    ("in-empty-list", "A in ()", ast.In(prop("A"), ast.ListExpr(()))),
    ("in-one-is-parenthesized", "A in ('x')", ast.In(prop("A"), s("x"))),
    ("in-json-array", "A in [\"x\", 'y', 3]", ast.In(prop("A"), ast.ListExpr((s("x"), s("y"), i32(3))))),
    ("in-collection-path", "'x' in Tags", ast.In(s("x"), prop("Tags"))),
    (
        "keywords-any-case",
        "A EQ 1 AnD B Ne 2 OR not C",
        op(
            "or", op("and", eq(prop("A"), i32(1)), op("ne", prop("B"), i32(2))), ast.UnaryOp("not", prop("C"))
        ),
    ),
    (
        "keyword-prefixed-names",
        "notes eq order and android",
        op("and", eq(prop("notes"), prop("order")), prop("android")),
    ),
    ("whitespace-tabs", "A\teq\t1", eq(prop("A"), i32(1))),
)


@pytest.mark.parametrize(("text", "expected"), PRECEDENCE)
def test_filter_precedence(text: str, expected: ast.Expr) -> None:
    assert parse("filter_option", text) == expected


# ------------------------------------------------------------------ literals

UTC = dt.UTC

LITERALS = cases(
    ("string", "'Milk'", s("Milk")),
    ("string-escaped-quote", "'O''Neil'", s("O'Neil")),
    ("string-only-quotes", "''''", s("'")),
    ("string-empty", "''", s("")),
    ("string-with-specials", "'a&b;c=d/(e)'", s("a&b;c=d/(e)")),
    ("int32", "42", i32(42)),
    ("int32-max", "2147483647", i32(2147483647)),
    ("int64", "2147483648", ast.Literal(2147483648, "Edm.Int64")),
    ("beyond-int64-is-decimal", "9223372036854775808", dec("9223372036854775808")),
    ("plus-sign", "+42", i32(42)),
    ("negative-int", "-42", i32(-42)),
    ("decimal", "3.14", dec("3.14")),
    ("negative-decimal", "-0.5", dec("-0.5")),
    ("double", "1.5e3", dbl(1500.0)),
    ("double-signed-exponent", "+0.314e+1", dbl(3.14)),
    ("double-negative-exponent", "1E-2", dbl(0.01)),
    ("inf", "INF", dbl(math.inf)),
    ("minus-inf", "-INF", dbl(-math.inf)),
    ("true", "true", TRUE),
    ("false-any-case", "FALSE", FALSE),
    ("null", "null", NULL),
    ("date", "2024-02-29", ast.Literal(dt.date(2024, 2, 29), "Edm.Date")),
    (
        "datetimeoffset-utc",
        "2012-09-03T13:52Z",
        ast.Literal(dt.datetime(2012, 9, 3, 13, 52, tzinfo=UTC), "Edm.DateTimeOffset"),
    ),
    (
        "datetimeoffset-offset-fraction",
        "2012-09-03T14:53:01.25+02:00",
        ast.Literal(
            dt.datetime(2012, 9, 3, 14, 53, 1, 250000, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            "Edm.DateTimeOffset",
        ),
    ),
    (
        "datetimeoffset-lowercase-z",
        "2012-09-03T13:52:00z",
        ast.Literal(dt.datetime(2012, 9, 3, 13, 52, tzinfo=UTC), "Edm.DateTimeOffset"),
    ),
    ("timeofday", "11:22:33", ast.Literal(dt.time(11, 22, 33), "Edm.TimeOfDay")),
    ("timeofday-no-seconds", "11:22", ast.Literal(dt.time(11, 22), "Edm.TimeOfDay")),
    (
        "guid",
        "01234567-89ab-cdef-0123-456789abcdef",
        ast.Literal(uuid.UUID("01234567-89ab-cdef-0123-456789abcdef"), "Edm.Guid"),
    ),
    ("duration", "duration'P6DT23H59M59.9999S'", ast.Literal("P6DT23H59M59.9999S", "Edm.Duration")),
    ("duration-negative", "duration'-PT1H'", ast.Literal("-PT1H", "Edm.Duration")),
    ("binary", "binary'Zm9vYg'", ast.Literal(b"foob", "Edm.Binary")),
    ("binary-empty", "binary''", ast.Literal(b"", "Edm.Binary")),
    ("enum-fno", f"{CUST_VEND_BLOCKED}'No'", enum(CUST_VEND_BLOCKED, "No")),
    ("enum-flags", "Sales.Pattern'Solid, Yellow'", enum("Sales.Pattern", "Solid", "Yellow")),
    ("enum-numeric", "Sales.Pattern'32'", enum("Sales.Pattern", "32")),
    (
        "geography-point",
        "geography'SRID=4326;Point(142.1 64.1)'",
        ast.Literal("SRID=4326;Point(142.1 64.1)", "Edm.GeographyPoint"),
    ),
    (
        "geometry-collection",
        "geometry'SRID=0;GeometryCollection(Point(1 2))'",
        ast.Literal("SRID=0;GeometryCollection(Point(1 2))", "Edm.GeometryCollection"),
    ),
    ("alias", "@p1", ast.Alias("p1")),
    ("json-array", '["a",1,null,[true]]', ast.ListExpr((s("a"), i32(1), NULL, ast.ListExpr((TRUE,))))),
    ("json-array-empty", "[]", ast.ListExpr(())),
    ("json-string-escapes", r'["a\"b\\c\u0041"]', ast.ListExpr((s('a"b\\cA'),))),
    (
        "json-object",
        '{"Name":"x","Price":3.5,"Tags":["a"],"Ref":Customer/Name}',
        ast.Literal(
            (
                ("Name", s("x")),
                ("Price", dec("3.5")),
                ("Tags", ast.ListExpr((s("a"),))),
                ("Ref", prop("Customer", "Name")),
            ),
            "object",
        ),
    ),
    ("json-object-empty", "{}", ast.Literal((), "object")),
)


@pytest.mark.parametrize(("text", "expected"), LITERALS)
def test_literals(text: str, expected: ast.Expr) -> None:
    assert parse("filter_option", text) == expected


def test_nan_literal() -> None:
    result = parse("filter_option", "NaN")
    assert result.type == "Edm.Double" and math.isnan(result.value)


def test_huge_integer_literal_is_a_decimal() -> None:
    assert parse("filter_option", "1" * 5000) == ast.Literal(Decimal("1" * 5000), "Edm.Decimal")


# ------------------------------------------------------------------ $filter: paths, lambdas, functions

EXPRESSIONS = cases(
    ("property", "Name", prop("Name")),
    ("navigation", "Customer/Address/City eq 'Oslo'", eq(prop("Customer", "Address", "City"), s("Oslo"))),
    ("it", "$it/Name", path(ast.VariableStep("$it"), P("Name"))),
    ("this", "$this eq 'Hugo'", eq(path(ast.VariableStep("$this")), s("Hugo"))),
    (
        "type-cast",
        "Customer/Ns.VipCustomer/Rating",
        path(P("Customer"), ast.TypeStep("Ns.VipCustomer"), P("Rating")),
    ),
    (
        "type-cast-first",
        "Ns.VipCustomer/Rating gt 2",
        op("gt", path(ast.TypeStep("Ns.VipCustomer"), P("Rating")), i32(2)),
    ),
    ("count", "Lines/$count gt 2", op("gt", path(P("Lines"), ast.CountStep()), i32(2))),
    (
        "any",
        "Lines/any(l:l/Amount gt 100)",
        path(P("Lines"), ast.LambdaStep("any", "l", op("gt", prop("l", "Amount"), i32(100)))),
    ),
    (
        "any-spaces",
        "Lines/any( l : l/Done )",
        path(P("Lines"), ast.LambdaStep("any", "l", prop("l", "Done"))),
    ),
    ("any-empty", "Lines/any()", path(P("Lines"), ast.LambdaStep("any", None, None))),
    (
        "all-nested-any",
        "Orders/all(o:o/Lines/any(l:l/Qty ge 1))",
        path(
            P("Orders"),
            ast.LambdaStep(
                "all",
                "o",
                path(P("o"), P("Lines"), ast.LambdaStep("any", "l", op("ge", prop("l", "Qty"), i32(1)))),
            ),
        ),
    ),
    (
        "lambda-it",
        "Lines/any(l:l/Name eq $it/Name)",
        path(
            P("Lines"),
            ast.LambdaStep("any", "l", eq(prop("l", "Name"), path(ast.VariableStep("$it"), P("Name")))),
        ),
    ),
    (
        "cast-then-any",
        "DirectReports/Sales.Manager/any()",
        path(P("DirectReports"), ast.TypeStep("Sales.Manager"), ast.LambdaStep("any", None, None)),
    ),
    ("function-two-args", "contains(Name,'lfreds')", fn("contains", prop("Name"), s("lfreds"))),
    ("function-no-args", "now()", fn("now")),
    (
        "function-nested",
        "concat(concat(Street,'-'),City)",
        fn("concat", fn("concat", prop("Street"), s("-")), prop("City")),
    ),
    (
        "function-three-args",
        "substring(Name, 1, 2) eq 'ab'",
        eq(fn("substring", prop("Name"), i32(1), i32(2)), s("ab")),
    ),
    (
        "function-on-path",
        "startswith(Supplier/Name,'Fu')",
        fn("startswith", prop("Supplier", "Name"), s("Fu")),
    ),
    (
        "function-json-arrays",
        'hassubset(["Milk", "Cheese"],Names)',
        fn("hassubset", ast.ListExpr((s("Milk"), s("Cheese"))), prop("Names")),
    ),
    ("qualified-function", "geo.distance(A,B)", fn("geo.distance", prop("A"), prop("B"))),
    (
        "named-arguments",
        "Model.Similar(Word1=Name,Word2=Supplier/Name)",
        fn(
            "Model.Similar",
            ast.KeyValue("Word1", prop("Name")),
            ast.KeyValue("Word2", prop("Supplier", "Name")),
        ),
    ),
    (
        "named-argument-alias",
        "Model.Similar(Word=@w)",
        fn("Model.Similar", ast.KeyValue("Word", ast.Alias("w"))),
    ),
    ("key-access-is-a-call", "Items(1)", fn("Items", i32(1))),
    ("isof-type", "isof(Model.Customer)", fn("isof", path(ast.TypeStep("Model.Customer")))),
    (
        "isof-expr-type",
        "isof(Category,Model.Customer)",
        fn("isof", prop("Category"), path(ast.TypeStep("Model.Customer"))),
    ),
    (
        "cast-primitive",
        "cast(Price,Edm.Int32) gt 2",
        op("gt", fn("cast", prop("Price"), path(ast.TypeStep("Edm.Int32"))), i32(2)),
    ),
    ("cast-unqualified", "cast(Customer)", fn("cast", prop("Customer"))),
    (
        "bound-function-step",
        "Lines/Ns.Total() gt 5",
        op("gt", path(P("Lines"), ast.FunctionStep("Ns.Total", ())), i32(5)),
    ),
    (
        "bound-function-then-path",
        "Products/Model.BestProduct()/Name",
        path(P("Products"), ast.FunctionStep("Model.BestProduct", ()), P("Name")),
    ),
    (
        "function-call-then-path",
        "Model.Best(Rank=2)/Name",
        path(ast.FunctionStep("Model.Best", (ast.KeyValue("Rank", i32(2)),)), P("Name")),
    ),
    (
        "bound-function-named-args",
        "Products/Model.ByColor(color='red')/$count",
        path(
            P("Products"),
            ast.FunctionStep("Model.ByColor", (ast.KeyValue("color", s("red")),)),
            ast.CountStep(),
        ),
    ),
    (
        "filter-segment",
        "Lines/$filter(Qty gt 1)/$count lt 10",
        op(
            "lt",
            path(P("Lines"), ast.FunctionStep("$filter", (op("gt", prop("Qty"), i32(1)),)), ast.CountStep()),
            i32(10),
        ),
    ),
    (
        "root",
        "Name eq $root/Customers('US-001')/Name",
        eq(prop("Name"), ast.RootPath(path(ast.FunctionStep("Customers", (s("US-001"),)), P("Name")))),
    ),
    ("root-entity", "$root/Customers(1)", ast.RootPath(path(ast.FunctionStep("Customers", (i32(1),))))),
    ("root-set", "$root/Customers", ast.RootPath(prop("Customers"))),
    ("annotation", "Price/@Measures.Currency eq 'EUR'", eq(prop("Price", "@Measures.Currency"), s("EUR"))),
    ("annotation-qualifier", "Price/@Currency#Reporting", prop("Price", "@Currency#Reporting")),
    (
        "annotation-first",
        "@Core.Messages/any(m:m/severity eq 'error')",
        path(P("@Core.Messages"), ast.LambdaStep("any", "m", eq(prop("m", "severity"), s("error")))),
    ),
    ("alias-then-path", "endswith(@a/Street,'gasse')", fn("endswith", prop("@a", "Street"), s("gasse"))),
    (
        "case",
        "case(X gt 0:1,X lt 0:-1,true:0)",
        fn(
            "case",
            ast.ListExpr((op("gt", prop("X"), i32(0)), i32(1))),
            ast.ListExpr((op("lt", prop("X"), i32(0)), i32(-1))),
            ast.ListExpr((TRUE, i32(0))),
        ),
    ),
    (
        "array-of-paths",
        "[FirstName,LastName] in [['John','Doe']]",
        ast.In(
            ast.ListExpr((prop("FirstName"), prop("LastName"))),
            ast.ListExpr((ast.ListExpr((s("John"), s("Doe"))),)),
        ),
    ),
    (
        "complex-comparison",
        'Address eq {"City":"Oslo"}',
        eq(prop("Address"), ast.Literal((("City", s("Oslo")),), "object")),
    ),
)


@pytest.mark.parametrize(("text", "expected"), EXPRESSIONS)
def test_filter_expressions(text: str, expected: ast.Expr) -> None:
    assert parse("filter_option", text) == expected


# ------------------------------------------------------------------ $orderby, $select, $expand, $compute

ORDERBY = cases(
    ("one", "Name", (ast.OrderItem(prop("Name")),)),
    (
        "directions",
        "Name asc, Price desc,Rating",
        (ast.OrderItem(prop("Name")), ast.OrderItem(prop("Price"), True), ast.OrderItem(prop("Rating"))),
    ),
    ("direction-any-case", "Name DESC", (ast.OrderItem(prop("Name"), True),)),
    ("tab-before-direction", "Name\tasc", (ast.OrderItem(prop("Name")),)),
    ("count", "Lines/$count desc", (ast.OrderItem(path(P("Lines"), ast.CountStep()), True),)),
    ("expression", "Cost ge Revenue asc", (ast.OrderItem(op("ge", prop("Cost"), prop("Revenue"))),)),
    ("function", "length(Name) desc", (ast.OrderItem(fn("length", prop("Name")), True),)),
    ("annotation", "Price/@Measures.Currency", (ast.OrderItem(prop("Price", "@Measures.Currency")),)),
)


@pytest.mark.parametrize(("text", "expected"), ORDERBY)
def test_orderby(text: str, expected: tuple[ast.OrderItem, ...]) -> None:
    assert parse("orderby_option", text) == expected


SELECT = cases(
    ("star", "*", (ast.SelectItem((), star=True),)),
    ("properties", "Name,Price", (sel("Name"), sel("Price"))),
    ("complex-path", "Address/City", (sel("Address", "City"),)),
    (
        "cast",
        "Address/Model.AddressWithLocation/Location",
        (sel("Address", "Model.AddressWithLocation", "Location"),),
    ),
    (
        "all-operations",
        "Model.*,Ns.Sub.*",
        (ast.SelectItem(("Model.*",), star=True), ast.SelectItem(("Ns.Sub.*",), star=True)),
    ),
    (
        "function-overload",
        "Model.MostPopularName(Location,Kind)",
        (sel("Model.MostPopularName(Location,Kind)"),),
    ),
    (
        "annotation",
        "@Measures.Currency,Address/@Core.Messages",
        (sel("@Measures.Currency"), sel("Address", "@Core.Messages")),
    ),
    (
        "nested-options",
        "Addresses($filter=City eq 'Oslo';$top=5;$skip=1;$count=true;$orderby=City desc;$search=blue)",
        (
            sel(
                "Addresses",
                options=Q(
                    filter=eq(prop("City"), s("Oslo")),
                    top=5,
                    skip=1,
                    count=True,
                    orderby=(ast.OrderItem(prop("City"), True),),
                    search=word("blue"),
                ),
            ),
        ),
    ),
    (
        "nested-select-two-levels",
        "Address($select=Street,Geo($select=Lat))",
        (sel("Address", options=Q(select=(sel("Street"), sel("Geo", options=Q(select=(sel("Lat"),)))))),),
    ),
    (
        "nested-without-dollar",
        "Addresses(top=2;Select=City)",
        (sel("Addresses", options=Q(top=2, select=(sel("City"),))),),
    ),
)


@pytest.mark.parametrize(("text", "expected"), SELECT)
def test_select(text: str, expected: tuple[ast.SelectItem, ...]) -> None:
    assert parse("select_option", text) == expected


EXPAND = cases(
    ("one", "Lines", (exp("Lines"),)),
    ("several", "Customer,Lines", (exp("Customer"), exp("Lines"))),
    ("star", "*", (exp(star=True),)),
    ("star-ref", "*/$ref", (exp(star=True, ref=True),)),
    ("star-levels", "*($levels=max)", (exp(star=True, levels=-1),)),
    ("ref", "Lines/$ref", (exp("Lines", ref=True),)),
    (
        "ref-options",
        "Lines/$ref($filter=Qty gt 1;$top=2)",
        (exp("Lines", ref=True, options=Q(filter=op("gt", prop("Qty"), i32(1)), top=2)),),
    ),
    ("count", "Lines/$count", (exp("Lines", count=True),)),
    (
        "count-options",
        "Lines/$count($search=Hugo)",
        (exp("Lines", count=True, options=Q(search=word("Hugo"))),),
    ),
    ("levels-alone-is-item-levels", "Manager($levels=4)", (exp("Manager", levels=4),)),
    (
        "levels-among-options",
        "Manager($levels=2;$select=Name)",
        (exp("Manager", options=Q(levels=2, select=(sel("Name"),))),),
    ),
    (
        "path-with-cast",
        "Products/Model.BestSellingProduct($select=Name)",
        (exp("Products", "Model.BestSellingProduct", options=Q(select=(sel("Name"),))),),
    ),
    (
        "complex-star",
        "Address/*,Address/*/$ref",
        (exp("Address", star=True), exp("Address", star=True, ref=True)),
    ),
    ("stream-value", "$value", (exp("$value"),)),
    ("annotation", "@Namespace.EntityTerm($top=2)", (exp("@Namespace.EntityTerm", options=Q(top=2)),)),
    (
        "two-levels",
        "Lines($select=Item,Qty;$expand=Item($select=Name;$filter=Active eq true;$expand=Vendor/$ref);"
        "$top=5;$orderby=Qty desc)",
        (
            exp(
                "Lines",
                options=Q(
                    select=(sel("Item"), sel("Qty")),
                    expand=(
                        exp(
                            "Item",
                            options=Q(
                                select=(sel("Name"),),
                                filter=eq(prop("Active"), TRUE),
                                expand=(exp("Vendor", ref=True),),
                            ),
                        ),
                    ),
                    top=5,
                    orderby=(ast.OrderItem(prop("Qty"), True),),
                ),
            ),
        ),
    ),
    (
        "nested-compute",
        "Sales($compute=Amount mul 2 as Twice)",
        (exp("Sales", options=Q(compute=(ast.ComputeItem(op("mul", prop("Amount"), i32(2)), "Twice"),))),),
    ),
    (
        "nested-search-stops-at-semicolon",
        "Manager($search=blue green;$top=1)",
        (exp("Manager", options=Q(search=search("and", word("blue"), word("green")), top=1)),),
    ),
    (
        "nested-search-quoted",
        "Manager($search='gr(een;')",
        (exp("Manager", options=Q(search=phrase("gr(een;"))),),
    ),
)


@pytest.mark.parametrize(("text", "expected"), EXPAND)
def test_expand(text: str, expected: tuple[ast.ExpandItem, ...]) -> None:
    assert parse("expand_option", text) == expected


COMPUTE = cases(
    (
        "one",
        "Amount mul Product/TaxRate as Tax",
        (ast.ComputeItem(op("mul", prop("Amount"), prop("Product", "TaxRate")), "Tax"),),
    ),
    (
        "two",
        "day(Time/Date) as Day, 1 AS One",
        (ast.ComputeItem(fn("day", prop("Time", "Date")), "Day"), ast.ComputeItem(i32(1), "One")),
    ),
    (
        "case",
        "case(X gt 0:1,true:0) as Sign",
        (
            ast.ComputeItem(
                fn("case", ast.ListExpr((op("gt", prop("X"), i32(0)), i32(1))), ast.ListExpr((TRUE, i32(0)))),
                "Sign",
            ),
        ),
    ),
)


@pytest.mark.parametrize(("text", "expected"), COMPUTE)
def test_compute(text: str, expected: tuple[ast.ComputeItem, ...]) -> None:
    assert parse("compute_option", text) == expected


# ------------------------------------------------------------------ $apply


def agg(expr: ast.Expr | None, method: str | None, alias: str, *from_: ast.AggregateFrom) -> ast.AggregateItem:
    return ast.AggregateItem(expr, method, alias, from_)


APPLY = cases(
    (
        "groupby-aggregate",
        "groupby((ItemNumber),aggregate(LineAmount with sum as Total))",
        (ast.ApplyGroupBy((prop("ItemNumber"),), (ast.ApplyAggregate((agg(prop("LineAmount"), "sum", "Total"),)),)),),
    ),
    ("count", "aggregate($count as N)", (ast.ApplyAggregate((agg(None, None, "N"),)),)),
    (
        "path-count-and-methods",
        "aggregate(Lines/$count as L, Amount with average as A,Name with countdistinct as D)",
        (
            ast.ApplyAggregate(
                (
                    agg(path(P("Lines"), ast.CountStep()), None, "L"),
                    agg(prop("Amount"), "average", "A"),
                    agg(prop("Name"), "countdistinct", "D"),
                )
            ),
        ),
    ),
    (
        "expression-with-custom-method",
        "aggregate((Amount sub Cost) mul Rate with Custom.weighted as W)",
        (ast.ApplyAggregate((agg(op("mul", op("sub", prop("Amount"), prop("Cost")), prop("Rate")), "Custom.weighted", "W"),)),),
    ),
    (
        "from",
        "aggregate(Amount with sum from Time with average from Product/Name with max as X)",
        (
            ast.ApplyAggregate(
                (
                    agg(
                        prop("Amount"),
                        "sum",
                        "X",
                        ast.AggregateFrom((prop("Time"),), "average"),
                        ast.AggregateFrom((prop("Product", "Name"),), "max"),
                    ),
                )
            ),
        ),
    ),
    (
        "groupby-navigation-no-aggregate",
        "groupby((Customer/Country, Product/Name))",
        (ast.ApplyGroupBy((prop("Customer", "Country"), prop("Product", "Name"))),),
    ),
    (
        "groupby-cast",
        "groupby((Self.Digital/Region))",
        (ast.ApplyGroupBy((path(ast.TypeStep("Self.Digital"), P("Region")),)),),
    ),
    (
        "chain",
        "filter(Amount gt 3)/compute(Amount mul 2 as D)/orderby(D desc,Name)/skip(1)/top(5)/identity",
        (
            ast.ApplyFilter(op("gt", prop("Amount"), i32(3))),
            ast.ApplyCompute((ast.ComputeItem(op("mul", prop("Amount"), i32(2)), "D"),)),
            ast.ApplyOrderBy((ast.OrderItem(prop("D"), True), ast.OrderItem(prop("Name")))),
            ast.ApplySkip(1),
            ast.ApplyTop(5),
            ast.ApplyIdentity(),
        ),
    ),
    (
        "groupby-then-chain",
        "groupby((A),aggregate(B with max as M)/filter(M gt 1))",
        (
            ast.ApplyGroupBy(
                (prop("A"),),
                (ast.ApplyAggregate((agg(prop("B"), "max", "M"),)), ast.ApplyFilter(op("gt", prop("M"), i32(1)))),
            ),
        ),
    ),
    ("search", "search(blue OR green)", (ast.ApplySearch(ast.Search("or", children=(word("blue"), word("green")))),)),
    (
        "search-incomplete",
        "search(')/top(1')/top(1)",
        (ast.ApplySearch(ast.Search("phrase", ")/top(1")), ast.ApplyTop(1)),
    ),
    (
        "concat-and-ranked",
        "concat(topcount(2,Amount),bottomsum(10,Amount))",
        (
            ast.ApplyConcat(
                (
                    (ast.ApplyRanked("topcount", i32(2), prop("Amount")),),
                    (ast.ApplyRanked("bottomsum", i32(10), prop("Amount")),),
                )
            ),
        ),
    ),
    ("spaces", "aggregate( $count  as  N )", (ast.ApplyAggregate((agg(None, None, "N"),)),)),
    (
        "rollup",
        "groupby((rollup(Customer/Country,Customer/Name),Currency),aggregate($count as N))",
        (
            ast.ApplyGroupBy(
                (ast.Rollup((prop("Customer", "Country"), prop("Customer", "Name"))), prop("Currency")),
                (ast.ApplyAggregate((agg(None, None, "N"),)),),
            ),
        ),
    ),
    ("rollup-named-hierarchy", "groupby((rollup(H)))", (ast.ApplyGroupBy((ast.Rollup((prop("H"),)),)),)),
    ("rollup-as-a-property-name", "groupby((rollup))", (ast.ApplyGroupBy((prop("rollup"),)),)),
    ("join", "join(Sales as S)", (ast.ApplyJoin(("Sales",), "S"),)),
    (
        "outerjoin-with-transformations",
        "outerjoin(Sales/Self.Sale as S,filter(Amount gt 1)/top(1))",
        (
            ast.ApplyJoin(
                ("Sales", "Self.Sale"), "S", (ast.ApplyFilter(op("gt", prop("Amount"), i32(1))), ast.ApplyTop(1)), True
            ),
        ),
    ),
)


@pytest.mark.parametrize(("text", "expected"), APPLY)
def test_apply(text: str, expected: tuple[ast.ApplyStep, ...]) -> None:
    assert parse("apply_option", text) == expected


def test_apply_inside_expand() -> None:
    (item,) = parse("expand_option", "Lines($apply=aggregate($count as N);$top=1)")
    assert item.options == ast.QueryOptions(apply=(ast.ApplyAggregate((agg(None, None, "N"),)),), top=1)


def test_rollup_of_one_path_names_a_hierarchy() -> None:
    with pytest.raises(ODataSyntaxError) as raised:
        parse("apply_option", "groupby((rollup(Customer/Country)))")
    assert raised.value.position == 16
    assert "two or more grouping paths, or the name of a leveled hierarchy" in raised.value.reason


def test_apply_positions() -> None:
    (groupby, top) = parse("apply_option", "groupby((A/B),aggregate(C with sum as D))/top(2)")
    assert (groupby.pos, groupby.properties[0].pos, groupby.properties[0].steps[1].pos, top.pos) == (0, 9, 11, 42)
    (item,) = groupby.then[0].items
    assert item.pos == 24 and item.expr.pos == 24


# ------------------------------------------------------------------ $search

SEARCH = cases(
    ("word", "blue", word("blue")),
    ("word-with-punctuation", "Daniel's", word("Daniel's")),
    ("word-digits-dots", "3.14", word("3.14")),
    ("word-semicolon-top-level", "a;b", word("a;b")),
    ("phrase", '"blue green"', phrase("blue green")),
    ("phrase-escaped-quote", r'"say \"hi\""', phrase('say "hi"')),
    ("implicit-and", "blue green red", search("and", word("blue"), word("green"), word("red"))),
    ("explicit-and", "blue AND green", search("and", word("blue"), word("green"))),
    ("or", "blue OR green", search("or", word("blue"), word("green"))),
    ("not", "NOT blue", search("not", word("blue"))),
    (
        "and-before-or",
        "a AND b OR c d",
        search("or", search("and", word("a"), word("b")), search("and", word("c"), word("d"))),
    ),
    ("not-in-and", "blue NOT green", search("and", word("blue"), search("not", word("green")))),
    (
        "group",
        "(foo OR bar) AND NOT baz",
        search("and", search("or", word("foo"), word("bar")), search("not", word("baz"))),
    ),
    ("lowercase-operators-are-words", "a or b", search("and", word("a"), word("or"), word("b"))),
    ("AND-alone-is-a-word", "AND", word("AND")),
    ("AND-OR-are-words", "AND OR", search("and", word("AND"), word("OR"))),
    ("OR-between-words", "AND OR NOT", search("or", word("AND"), word("NOT"))),
    ("NOT-of-the-word-NOT", "NOT NOT", search("not", word("NOT"))),
    ("trailing-AND-is-a-word", "blue AND", search("and", word("blue"), word("AND"))),
    ("incomplete-single-quoted", "'\"blue'", phrase('"blue')),
    ("incomplete-escaped-quote", "'O''Neil ('", phrase("O'Neil (")),
)


@pytest.mark.parametrize(("text", "expected"), SEARCH)
def test_search(text: str, expected: ast.Search) -> None:
    assert parse("search_option", text) == expected


# ------------------------------------------------------------------ resource paths

RESOURCE_PATHS = cases(
    ("entity-set", "Customers", (seg("Customers"),)),
    ("leading-and-trailing-slash", "/Customers/", (seg("Customers"),)),
    ("single-key-string", "Customers('US-001')", (seg("Customers", key(s("US-001"))),)),
    ("single-key-escaped-quote", "Customers('O''Neil')", (seg("Customers", key(s("O'Neil"))),)),
    ("single-key-int", "Orders(42)", (seg("Orders", key(i32(42))),)),
    ("single-key-negative", "Orders(-1)", (seg("Orders", key(i32(-1))),)),
    (
        "single-key-guid",
        "Docs(01234567-89ab-cdef-0123-456789abcdef)",
        (seg("Docs", key(ast.Literal(uuid.UUID("01234567-89ab-cdef-0123-456789abcdef"), "Edm.Guid"))),),
    ),
    (
        "single-key-datetimeoffset",
        "Events(2018-02-13T23:59:59Z)",
        (
            seg(
                "Events",
                key(ast.Literal(dt.datetime(2018, 2, 13, 23, 59, 59, tzinfo=UTC), "Edm.DateTimeOffset")),
            ),
        ),
    ),
    (
        "single-key-enum",
        f"Blocks({CUST_VEND_BLOCKED}'No')",
        (seg("Blocks", key(enum(CUST_VEND_BLOCKED, "No"))),),
    ),
    (
        "compound-key",
        "Customers(dataAreaId='usmf',CustomerAccount='US-001')",
        (seg("Customers", key(s("usmf"), "dataAreaId"), key(s("US-001"), "CustomerAccount")),),
    ),
    (
        "compound-key-spaces",
        "Lines( OrderID = 1 , ItemID = 'a' )",
        (seg("Lines", key(i32(1), "OrderID"), key(s("a"), "ItemID")),),
    ),
    ("key-alias", "Categories(@key)", (seg("Categories", key(ast.Alias("key"))),)),
    ("named-key-alias", "Categories(ID=@key)", (seg("Categories", key(ast.Alias("key"), "ID")),)),
    ("property", "Customers('US-001')/Name", (seg("Customers", key(s("US-001"))), seg("Name"))),
    (
        "property-value",
        "Customers('US-001')/Name/$value",
        (seg("Customers", key(s("US-001"))), seg("Name"), special("$value")),
    ),
    ("count", "Customers/$count", (seg("Customers"), special("$count"))),
    (
        "navigation-count",
        "Customers('x')/Orders/$count",
        (seg("Customers", key(s("x"))), seg("Orders"), special("$count")),
    ),
    (
        "navigation-key",
        "Customers('x')/Orders(3)/Lines",
        (seg("Customers", key(s("x"))), seg("Orders", key(i32(3))), seg("Lines")),
    ),
    (
        "ref",
        "Categories(1)/Products/$ref",
        (seg("Categories", key(i32(1))), seg("Products"), special("$ref")),
    ),
    ("type-cast", "Customers/Ns.VipCustomer", (seg("Customers"), special("type", "Ns.VipCustomer"))),
    ("cast-then-key", "Products/Model.Special(1)", (seg("Products"), seg("Model.Special", key(i32(1))))),
    ("function-import-no-params", "TheBestProduct()", (ast.NamedSegment("TheBestProduct", ()),)),
    (
        "function-import-params",
        "ProductsByColor(color='red',size=@s)",
        (seg("ProductsByColor", key(s("red"), "color"), key(ast.Alias("s"), "size")),),
    ),
    (
        "bound-function",
        "Customers/Model.MostPopularNames()/$count",
        (seg("Customers"), ast.NamedSegment("Model.MostPopularNames", ()), special("$count")),
    ),
    ("key-as-segment-number", "Customers/1", (seg("Customers"), seg("1"))),
    ("key-as-segment-text", "People/O'Neil/Orders", (seg("People"), seg("O'Neil"), seg("Orders"))),
    (
        "ordinal-index",
        "Suppliers(1)/Addresses/-1",
        (seg("Suppliers", key(i32(1))), seg("Addresses"), seg("-1")),
    ),
    (
        "filter-segment",
        "Products/$filter(Age gt 3)/$count",
        (seg("Products"), special("$filter", "Age gt 3"), special("$count")),
    ),
    ("each", "Products/$filter(@f)/$each", (seg("Products"), special("$filter", "@f"), special("$each"))),
    ("query", "People(42)/$query", (seg("People", key(i32(42))), special("$query"))),
    ("all", "$all/Model.Customer", (special("$all"), special("type", "Model.Customer"))),
    ("crossjoin", "$crossjoin(Customers,Countries)", (special("$crossjoin", "Customers,Countries"),)),
    ("entity", "$entity/Model.Customer", (special("$entity"), special("type", "Model.Customer"))),
)


@pytest.mark.parametrize(("text", "expected"), RESOURCE_PATHS)
def test_resource_path(text: str, expected: tuple[ast.Segment, ...]) -> None:
    assert parse("resource_path", text) == expected


# ------------------------------------------------------------------ the other start rules

OTHER_RULES = [
    pytest.param("alias_value_option", "5 add 3", op("add", i32(5), i32(3)), id="alias-expression"),
    pytest.param(
        "alias_value_option", '["red","green"]', ast.ListExpr((s("red"), s("green"))), id="alias-array"
    ),
    pytest.param(
        "alias_value_option",
        '{"@odata.id":"Customers(1)"}',
        ast.Literal((("@odata.id", s("Customers(1)")),), "object"),
        id="alias-object",
    ),
    pytest.param(
        "alias_value_option",
        "$root/Customers(1)",
        ast.RootPath(path(ast.FunctionStep("Customers", (i32(1),)))),
        id="alias-root",
    ),
    pytest.param("key_predicate_option", "('US-001')", (key(s("US-001")),), id="key-single"),
    pytest.param(
        "key_predicate_option", "(a=1,b='x')", (key(i32(1), "a"), key(s("x"), "b")), id="key-compound"
    ),
    pytest.param("top_option", "5", 5, id="top"),
    pytest.param("skip_option", "0", 0, id="skip"),
    pytest.param("count_option", "true", True, id="count-true"),
    pytest.param("count_option", "False", False, id="count-false-any-case"),
    pytest.param("index_option", "42", 42, id="index"),
    pytest.param("index_option", "-42", -42, id="index-negative"),
    pytest.param("format_option", "JSON", "JSON", id="format-name"),
    pytest.param(
        "format_option",
        "application/json;odata.metadata=minimal",
        "application/json;odata.metadata=minimal",
        id="format-media-type",
    ),
    pytest.param("schemaversion_option", "*", "*", id="schemaversion-star"),
    pytest.param("schemaversion_option", "1.42.2", "1.42.2", id="schemaversion"),
    pytest.param(
        "skiptoken_option", "Start@Next_Chunk:From?=Here!", "Start@Next_Chunk:From?=Here!", id="skiptoken"
    ),
    pytest.param(
        "deltatoken_option", "A@Lot_Has:Changed?=Here!", "A@Lot_Has:Changed?=Here!", id="deltatoken"
    ),
    pytest.param("id_option", "http://host/service/Products(0)", "http://host/service/Products(0)", id="id"),
]


@pytest.mark.parametrize(("rule", "text", "expected"), OTHER_RULES)
def test_other_start_rules(rule: str, text: str, expected: Any) -> None:
    assert parse(rule, text) == expected


def test_every_start_rule_is_covered() -> None:
    covered = {
        "filter_option",
        "orderby_option",
        "select_option",
        "expand_option",
        "compute_option",
        "apply_option",
        "search_option",
        "resource_path",
    }
    covered |= {param.values[0] for param in OTHER_RULES}
    assert covered == set(START_RULES)


# ------------------------------------------------------------------ syntax errors and their positions

ERRORS = [
    # (rule, text, position)
    pytest.param("filter_option", "", 0, id="filter-empty"),
    pytest.param("filter_option", "Name eq", 7, id="filter-missing-operand"),
    pytest.param("filter_option", "Name eq 'abc", 8, id="filter-unterminated-string"),
    pytest.param("filter_option", "Name eq 'O'Neil'", 11, id="filter-unescaped-quote"),
    pytest.param("filter_option", "Name eqName", 5, id="filter-operator-glued-to-name"),
    pytest.param("filter_option", "Name eq 'x')", 11, id="filter-unbalanced-close"),
    pytest.param("filter_option", "(Name eq 'x'", 12, id="filter-unbalanced-open"),
    pytest.param("filter_option", "Name eq #", 8, id="filter-bad-character"),
    pytest.param("filter_option", "Name eq 2023-02-30", 8, id="filter-impossible-date"),
    pytest.param("filter_option", "Start lt 24:00:01", 9, id="filter-impossible-time"),
    pytest.param("filter_option", "Model.Available", 15, id="filter-bare-type-name"),
    pytest.param("filter_option", "any()", 3, id="filter-any-without-path"),
    pytest.param("filter_option", "Lines/all()", 10, id="filter-all-without-lambda"),
    pytest.param("filter_option", "A eq ('x','y')", 9, id="filter-list-outside-in"),
    pytest.param("filter_option", "A in (B,C)", 7, id="filter-list-of-paths"),
    pytest.param("filter_option", "Lines/$count($filter=Qty gt 1) gt 2", 12, id="filter-count-options"),
    pytest.param("filter_option", "duration'P1Y'", 0, id="filter-duration-years"),
    pytest.param("filter_option", "Sales.Pattern'a b'", 0, id="filter-enum-bad-member"),
    pytest.param("filter_option", "X gt 42.", 5, id="filter-trailing-dot"),
    pytest.param("orderby_option", "Name asc desc", 9, id="orderby-two-directions"),
    pytest.param("orderby_option", "Name,", 5, id="orderby-trailing-comma"),
    pytest.param("select_option", "Name(", 5, id="select-open-paren"),
    pytest.param("select_option", "Name,,Price", 5, id="select-empty-item"),
    pytest.param("expand_option", "Lines/$ref($select=Name)", 11, id="expand-select-after-ref"),
    pytest.param("expand_option", "Lines/$count($top=1)", 13, id="expand-top-after-count"),
    pytest.param("expand_option", "*/$count", 1, id="expand-star-count"),
    pytest.param("expand_option", "Manager($levels=04)", 16, id="expand-levels-leading-zero"),
    pytest.param("expand_option", "Lines($top=1;$top=2)", 6, id="expand-option-twice"),
    pytest.param("expand_option", "Lines($search=a;b)", 16, id="expand-semicolon-ends-search"),
    pytest.param("search_option", '"blue', 0, id="search-unterminated-phrase"),
    pytest.param("search_option", '"blue"green', 6, id="search-phrase-glued-to-word"),
    pytest.param("search_option", "(blue", 5, id="search-unbalanced-open"),
    pytest.param("search_option", "blue)", 4, id="search-unbalanced-close"),
    pytest.param("search_option", "'x' y", 4, id="search-incomplete-must-be-alone"),
    pytest.param("compute_option", "Amount as", 9, id="compute-missing-name"),
    pytest.param("apply_option", "aggregate()", 10, id="apply-aggregate-empty"),
    pytest.param("apply_option", "aggregate(Amount with sum)", 25, id="apply-aggregate-no-alias"),
    pytest.param("apply_option", "aggregate(Amount as Total)", 17, id="apply-aggregate-no-method"),
    pytest.param("apply_option", "aggregate(Amount from Time with sum as T)", 17, id="apply-aggregate-from-no-method"),
    pytest.param("apply_option", "aggregate(Amount with summe as T)", 22, id="apply-unknown-method"),
    pytest.param("apply_option", "aggregate($count with sum as N)", 17, id="apply-count-with-method"),
    pytest.param("apply_option", "groupby(A)", 8, id="apply-groupby-needs-parens"),
    pytest.param("apply_option", "groupby((A/@Core.X))", 11, id="apply-groupby-annotation"),
    pytest.param("apply_option", "groupby((Self.Digital))", 21, id="apply-groupby-ends-in-cast"),
    pytest.param("apply_option", "Filter(A)", 0, id="apply-transformations-are-case-sensitive"),
    pytest.param("apply_option", "top(5)/", 7, id="apply-trailing-slash"),
    pytest.param("apply_option", "top(-1)", 4, id="apply-top-negative"),
    pytest.param("apply_option", "concat(top(1))", 13, id="apply-concat-needs-two"),
    pytest.param("resource_path", "Customers(", 10, id="path-open-key"),
    pytest.param("resource_path", "Customers('x'", 13, id="path-unclosed-key"),
    pytest.param("resource_path", "Customers(ID=wrong)", 13, id="path-key-not-a-literal"),
    pytest.param("resource_path", "Lines(OrderID=1;ItemID='a')", 15, id="path-key-semicolon"),
    pytest.param("resource_path", "Customers/$count/Name", 16, id="path-after-count"),
    pytest.param("resource_path", "Customers/$count/", 16, id="path-slash-after-count"),
    pytest.param("resource_path", "Customers/$ref/$count", 14, id="path-count-after-ref"),
    pytest.param("resource_path", "Model.Rejection", 5, id="path-qualified-first"),
    pytest.param("resource_path", "$count", 0, id="path-count-first"),
    pytest.param("resource_path", ".Products('foo')", 0, id="path-leading-dot"),
    pytest.param("top_option", "-1", 0, id="top-negative"),
    pytest.param("top_option", "five", 0, id="top-word"),
    pytest.param("count_option", "yes", 0, id="count-not-boolean"),
    pytest.param("index_option", "fortytwo", 0, id="index-word"),
    pytest.param("alias_value_option", "1 2", 2, id="alias-two-values"),
]


@pytest.mark.parametrize(("rule", "text", "position"), ERRORS)
def test_syntax_error_position(rule: str, text: str, position: int) -> None:
    with pytest.raises(ODataSyntaxError) as caught:
        parse(rule, text)
    assert caught.value.position == position
    assert caught.value.text == text
    assert str(caught.value).endswith("\n" + text + "\n" + " " * position + "^")


def test_error_messages() -> None:
    with pytest.raises(ODataSyntaxError, match="unterminated string literal"):
        parse("filter_option", "Name eq 'abc")
    with pytest.raises(ODataSyntaxError, match="invalid date literal 2023-02-30"):
        parse("filter_option", "2023-02-30")
    with pytest.raises(ODataSyntaxError, match=r"unexpected end of text; expected .*'\)'"):
        parse("filter_option", "(Name eq 'x'")
    with pytest.raises(ODataSyntaxError, match=r"\$top is given twice"):
        parse("expand_option", "Lines($top=1;$top=2)")
    with pytest.raises(ODataSyntaxError, match="any\\(\\) must follow a collection path"):
        parse("filter_option", "any()")
    with pytest.raises(ODataSyntaxError, match="unknown aggregation method 'Sum'.*did you mean 'sum'"):
        parse("apply_option", "aggregate(A with Sum as S)")
    with pytest.raises(ODataSyntaxError, match=r"expected 'with' and an aggregation method"):
        parse("apply_option", "aggregate(A as S)")
    with pytest.raises(ODataSyntaxError, match=r"expected a transformation \('aggregate', 'compute', 'filter'"):
        parse("apply_option", "groupby((A))/")


# ------------------------------------------------------------------ positions and caching


def test_positions() -> None:
    tree = parse("filter_option", "Name eq 'x' and Lines/any(l:l/Qty gt 1)")
    assert tree.pos == 0
    assert tree.left.right.pos == 8  # 'x'
    any_path = tree.right
    assert any_path.pos == 16 and any_path.steps[1].pos == 22
    assert any_path.steps[1].predicate.right.pos == 37
    (item,) = parse("expand_option", "A,Lines($top=1)")[1:]
    assert item.pos == 2
    segments = parse("resource_path", "Customers('x')/Orders")
    assert [segment.pos for segment in segments] == [0, 15]


def test_equal_whatever_the_spacing() -> None:
    assert parse("filter_option", "A  eq  1") == parse("filter_option", "A eq 1")


def test_deep_expressions_do_not_hit_the_recursion_limit() -> None:
    # Clients send long "or" chains for lookups; the transformer is not recursive.
    tree = parse("filter_option", " or ".join(f"Id eq {n}" for n in range(3000)))
    depth = 0
    while isinstance(tree, ast.BinaryOp) and tree.op == "or":
        tree, depth = tree.left, depth + 1
    assert depth == 2999 and tree == eq(prop("Id"), i32(0))
    negated = parse("search_option", "NOT " * 3000 + "x")
    for _ in range(3000):
        assert negated.kind == "not"
        (negated,) = negated.children
    assert negated == word("x")


def test_results_are_cached() -> None:
    assert parse("filter_option", "A eq 1") is parse("filter_option", "A eq 1")


# ------------------------------------------------------------------ the grammar itself


def test_only_the_intended_lalr_conflict() -> None:
    """Lark resolves shift/reduce conflicts as shift, silently; only X($levels=n) may rely on it."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    level = lark_logger.level
    lark_logger.addHandler(handler)
    lark_logger.setLevel(logging.DEBUG)
    try:
        Lark(GRAMMAR_FILE.read_text(encoding="utf-8"), parser="lalr", start=list(START_RULES), debug=True)
    finally:
        lark_logger.removeHandler(handler)
        lark_logger.setLevel(level)
    lines = buffer.getvalue().splitlines()
    conflicts = {
        (line, lines[index + 1].strip()) for index, line in enumerate(lines) if "conflict" in line.lower()
    }
    assert conflicts == {
        (
            "Shift/Reduce conflict for terminal RPAR: (resolving as shift)",
            "* <nested_option : LEVELS_OPTION EQUAL INTEGER>",
        ),
        (
            "Shift/Reduce conflict for terminal RPAR: (resolving as shift)",
            "* <nested_option : LEVELS_OPTION EQUAL MAX>",
        ),
    }
    assert not [line for line in lines if line.startswith("Unused")]
