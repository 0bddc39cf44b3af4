"""The canonical functions of OData 4.01 (Part 2 §5.1.1.5–5.1.1.11): type rules and SQL for each.

Each entry checks its arguments' Edm types and builds SQL through the dialect table
(`DialectTraits.sql`), so a function is written once and every database gets its own spelling.
A function of null is null: such rows never satisfy a filter.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Double, Numeric, String, case, cast, extract, false, func, literal, null, true
from sqlalchemy.types import BigInteger, Integer

from gateway.plan.crm_functions import is_dataverse
from gateway.plan.derived import derived_type, is_of
from gateway.plan.typed import BOOLEAN, STRING, Typed
from gateway.plan.types import is_numeric
from grammar import ast

if TYPE_CHECKING:
    from gateway.plan.expressions import ExpressionCompiler

Builder = Callable[["ExpressionCompiler", ast.FunctionCall, list[Typed]], Typed]

# Every canonical function of OData 4.01 Part 2 §5.1.1: a name outside this list is a client mistake.
CANONICAL_FUNCTIONS = (
    "concat", "contains", "endswith", "indexof", "length", "matchesPattern", "startswith", "substring",
    "tolower", "toupper", "trim", "day", "date", "fractionalseconds", "hour", "maxdatetime", "mindatetime",
    "minute", "month", "now", "second", "time", "totaloffsetminutes", "totalseconds", "year", "ceiling",
    "floor", "round", "cast", "isof", "geo.distance", "geo.intersects", "geo.length", "hassubset",
    "hassubsequence", "case",
)

_DATES = ("Edm.Date", "Edm.DateTimeOffset")
MAX_PATTERN = 1000  # characters of a matchesPattern regular expression
_TIMES = ("Edm.DateTimeOffset", "Edm.TimeOfDay")
_WHOLE = ("Edm.SByte", "Edm.Byte", "Edm.Int16", "Edm.Int32", "Edm.Int64")
_NUMBERS = (*_WHOLE, "Edm.Decimal", "Edm.Single", "Edm.Double")


def _nullable(args: list[Typed]) -> bool:
    return any(arg.nullable for arg in args)


def _has_null(args: list[Typed]) -> bool:
    return any(arg.type == "null" for arg in args)


def _string_match(kind: str) -> Builder:
    def build(compiler: ExpressionCompiler, node: ast.FunctionCall, args: list[Typed]) -> Typed:
        compiler.expect(node, args, (STRING,), (STRING,))
        subject, pattern = args
        if _has_null(args):
            return Typed(null(), BOOLEAN)
        # Dataverse compares text case-insensitively (its collation): icontains is lower() LIKE lower(),
        # or ILIKE on PostgreSQL.
        method = getattr(subject.sql, "i" + kind if is_dataverse(compiler.catalog) else kind)
        if pattern.literal is not None and pattern.type == STRING:
            # autoescape: % and _ in the user's text match themselves, not any character.
            return Typed(method(str(pattern.literal.value), autoescape=True), BOOLEAN, subject.nullable)
        return Typed(method(pattern.sql), BOOLEAN, _nullable(args))

    return build


def _matches_pattern(compiler: ExpressionCompiler, node: ast.FunctionCall, args: list[Typed]) -> Typed:
    compiler.expect(node, args, (STRING,), (STRING,))
    if _has_null(args):
        return Typed(null(), BOOLEAN)
    pattern = args[1].literal
    if pattern is not None and pattern.type == STRING:
        if len(str(pattern.value)) > MAX_PATTERN:
            # Compiled patterns stay in re's cache (and a long one is costly to run on every row).
            raise compiler.invalid(node.args[1], f"matchesPattern: the pattern is longer than {MAX_PATTERN} characters")
        # The databases' regular expressions differ in detail, but a pattern that Python cannot
        # compile is broken everywhere: refuse it here rather than as a database error mid-query.
        try:
            re.compile(str(pattern.value))
        except (re.error, RecursionError, OverflowError) as error:
            raise compiler.invalid(node.args[1], f"matchesPattern: '{pattern.value}' is not a valid regular "
                                                  f"expression ({error})") from None
    # regexp_match has a spelling per dialect (REGEXP, ~); SQLAlchemy registers Python's re on SQLite.
    return Typed(args[0].sql.regexp_match(args[1].sql), BOOLEAN, _nullable(args))


def _unary(sql: Callable[[Any], Any], accepts: tuple[str, ...], result: str | None = None) -> Builder:
    """A one-argument function; `result` None keeps the argument's own type."""

    def build(compiler: ExpressionCompiler, node: ast.FunctionCall, args: list[Typed]) -> Typed:
        compiler.expect(node, args, accepts)
        if _has_null(args):
            return Typed(null(), result or "null")
        return Typed(sql(args[0].sql), result or args[0].type, args[0].nullable)

    return build


def _dialect(operation: str, accepts: tuple[str, ...], result: str | None = None) -> Builder:
    def build(compiler: ExpressionCompiler, node: ast.FunctionCall, args: list[Typed]) -> Typed:
        return _unary(compiler.context.dialect.sql(operation), accepts, result)(compiler, node, args)

    return build


def _date_part(part: str, accepts: tuple[str, ...]) -> Builder:
    return _unary(lambda value: cast(extract(part, value), Integer()), accepts, "Edm.Int32")


def _concat(compiler: ExpressionCompiler, node: ast.FunctionCall, args: list[Typed]) -> Typed:
    compiler.expect(node, args, (STRING,), (STRING,))
    if _has_null(args):
        return Typed(null(), STRING)
    return Typed(args[0].sql.concat(args[1].sql), STRING, _nullable(args))


def _indexof(compiler: ExpressionCompiler, node: ast.FunctionCall, args: list[Typed]) -> Typed:
    compiler.expect(node, args, (STRING,), (STRING,))
    if _has_null(args):
        return Typed(null(), "Edm.Int32")
    return Typed(compiler.context.dialect.sql("indexof")(args[0].sql, args[1].sql), "Edm.Int32", _nullable(args))


def _substring(compiler: ExpressionCompiler, node: ast.FunctionCall, args: list[Typed]) -> Typed:
    compiler.expect(node, args, (STRING,), ("Edm.Int32", "Edm.Int64"), ("Edm.Int32", "Edm.Int64"))
    if _has_null(args):
        return Typed(null(), STRING)
    sql = compiler.context.dialect.sql("substring")(*(arg.sql for arg in args))
    return Typed(sql, STRING, _nullable(args))


def _rounding(operation: str) -> Builder:
    def build(compiler: ExpressionCompiler, node: ast.FunctionCall, args: list[Typed]) -> Typed:
        compiler.expect(node, args, _NUMBERS)
        if _has_null(args):
            return Typed(null(), "null")
        kind = args[0].type
        if kind in _WHOLE:
            return args[0]  # already whole
        sql = compiler.context.dialect.sql(operation)(args[0].sql)
        return Typed(sql if kind in ("Edm.Double", "Edm.Single") else cast(sql, Numeric()), kind, args[0].nullable)

    return build


def _totaloffsetminutes(compiler: ExpressionCompiler, node: ast.FunctionCall, args: list[Typed]) -> Typed:
    compiler.expect(node, args, ("Edm.DateTimeOffset",))
    if _has_null(args):
        return Typed(null(), "Edm.Int32")
    # Values are stored in UTC, so every offset is 0 (null stays null).
    return Typed(case((args[0].sql.is_(None), null()), else_=literal(0)), "Edm.Int32", args[0].nullable)


def _totalseconds(compiler: ExpressionCompiler, node: ast.FunctionCall, args: list[Typed]) -> Typed:
    compiler.expect(node, args, ("Edm.Duration",))
    if _has_null(args):
        return Typed(null(), "Edm.Decimal")
    return Typed(args[0].sql, "Edm.Decimal", args[0].nullable)  # a duration is stored as its seconds


def _constant_datetime(value: Callable[[], dt.datetime]) -> Builder:
    def build(compiler: ExpressionCompiler, node: ast.FunctionCall, args: list[Typed]) -> Typed:
        return Typed(literal(value(), compiler.sql_type("Edm.DateTimeOffset")), "Edm.DateTimeOffset", False)

    return build


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


# cast targets and the SQL type each is computed as.
_CAST_TARGETS: dict[str, Any] = {
    "Edm.String": String(),
    "Edm.Decimal": Numeric(),
    "Edm.Double": Double(),  # Float is single precision on MariaDB
    "Edm.Int32": Integer(),
    "Edm.Int64": BigInteger(),
}


def _cast(compiler: ExpressionCompiler, node: ast.FunctionCall, args: list[Typed]) -> Typed:
    if len(args) == 1:
        # The current entity as a derived type: itself where it is of that type, null elsewhere. Only a
        # comparison with null can use it (cast(NS.Derived) ne null is isof); its properties are reached
        # with a type cast in the path (NS.Derived/Property).
        entity = compiler.scope.entity
        qualified = args[0].type_name
        derived = derived_type(entity, qualified) if qualified else None
        if derived is None:
            raise compiler.mismatch(node, f"{qualified} is not a type derived from "
                                          f"{compiler.catalog.qualified(entity.entity_type)}")
        return Typed(case((is_of(compiler.scope.column, entity, derived), literal(1))), qualified or "", True)
    value, target = args
    name = target.type_name
    if name is None:
        raise compiler.mismatch(node.args[1], "the second argument of cast must be a type name such as Edm.String")
    if name not in _CAST_TARGETS:
        raise compiler.not_supported(node.args[1], f"cast to {name}")
    if value.type == "null":
        return Typed(null(), name)
    if value.type == STRING and name != STRING:
        raise compiler.not_supported(node, "cast from Edm.String to a number (the databases disagree on bad text)")
    if name in ("Edm.Int32", "Edm.Int64") and value.type in ("Edm.Decimal", "Edm.Double"):
        # Truncate toward zero everywhere (a plain CAST rounds on some databases, truncates on others).
        return Typed(compiler.context.dialect.sql("truncate_to_int")(value.sql), name, value.nullable)
    if name == STRING and not (value.type == STRING or value.type in ("Edm.Int32", "Edm.Int64")):
        raise compiler.not_supported(node, f"cast from {value.type} to Edm.String (formats differ by database)")
    if not (is_numeric(value.type) or value.type == STRING or compiler.catalog.is_enum(value.type)):
        raise compiler.mismatch(node, f"cannot cast {value.type} to {name}")
    return Typed(cast(value.sql, _CAST_TARGETS[name]), name, value.nullable)


def _isof(compiler: ExpressionCompiler, node: ast.FunctionCall, args: list[Typed]) -> Typed:
    target = args[-1].type_name
    if target is None:
        raise compiler.mismatch(node.args[-1], "the last argument of isof must be a type name")
    if len(args) == 1:
        # The current entity: of its own type (and of the type it derives from), or of a derived type
        # when its discriminators say so.
        entity = compiler.scope.entity
        own = compiler.catalog.qualified(entity.entity_type)
        base = compiler.catalog.qualified(entity.base_type) if entity.base_type else None
        derived = derived_type(entity, target)
        if derived is not None:
            return Typed(is_of(compiler.scope.column, entity, derived), BOOLEAN, False)
        return Typed(true() if target in (own, base) else false(), BOOLEAN, False)
    value = args[0]
    declared = compiler.catalog.qualified(value.type) if compiler.catalog.is_enum(value.type) else value.type
    if value.type == "null":
        return Typed(false(), BOOLEAN, False)
    matches = declared == target
    return Typed(case((value.sql.is_(None), false()), else_=true() if matches else false()), BOOLEAN, False)


FUNCTIONS: dict[str, tuple[tuple[int, ...], Builder]] = {
    "contains": ((2,), _string_match("contains")),
    "startswith": ((2,), _string_match("startswith")),
    "endswith": ((2,), _string_match("endswith")),
    "matchesPattern": ((2,), _matches_pattern),
    "tolower": ((1,), _unary(func.lower, (STRING,))),
    "toupper": ((1,), _unary(func.upper, (STRING,))),
    "trim": ((1,), _unary(func.trim, (STRING,))),
    "length": ((1,), _dialect("length", (STRING,), "Edm.Int32")),
    "concat": ((2,), _concat),
    "indexof": ((2,), _indexof),
    "substring": ((2, 3), _substring),
    "year": ((1,), _date_part("year", _DATES)),
    "month": ((1,), _date_part("month", _DATES)),
    "day": ((1,), _date_part("day", _DATES)),
    "hour": ((1,), _date_part("hour", _TIMES)),
    "minute": ((1,), _date_part("minute", _TIMES)),
    "second": ((1,), _date_part("second", _TIMES)),
    "fractionalseconds": ((1,), _dialect("fractionalseconds", _TIMES, "Edm.Decimal")),
    "date": ((1,), _dialect("date", ("Edm.DateTimeOffset",), "Edm.Date")),
    "time": ((1,), _dialect("time", ("Edm.DateTimeOffset",), "Edm.TimeOfDay")),
    "totaloffsetminutes": ((1,), _totaloffsetminutes),
    "totalseconds": ((1,), _totalseconds),
    "now": ((0,), _constant_datetime(_utc_now)),
    "maxdatetime": ((0,), _constant_datetime(lambda: dt.datetime(9999, 12, 31, 23, 59, 59))),
    "mindatetime": ((0,), _constant_datetime(lambda: dt.datetime(1, 1, 1))),
    "round": ((1,), _rounding("round")),
    "floor": ((1,), _rounding("floor")),
    "ceiling": ((1,), _rounding("ceiling")),
    "cast": ((1, 2), _cast),
    "isof": ((1, 2), _isof),
}
