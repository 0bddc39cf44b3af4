"""One FetchXML <condition> → one $filter expression over a member path.

The caller resolves the attribute (and the path to it through link-entities); this module knows the
operators: what each means as OData, which Edm types it applies to, and how many values it takes.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass

from gateway.catalog.model import Catalog, Property
from gateway.errors import BadRequest, TypeMismatch, did_you_mean
from gateway.fetchxml import dates
from gateway.fetchxml.values import to_utc, typed_literal
from grammar import ast


@dataclass(frozen=True)
class Env:
    catalog: Catalog
    today: dt.date
    user_id: str | None


_COMPARISONS = frozenset({"eq", "ne", "gt", "ge", "lt", "le"})
_STRING_FUNCTIONS = {
    "begins-with": ("startswith", False),
    "not-begin-with": ("startswith", True),
    "ends-with": ("endswith", False),
    "not-end-with": ("endswith", True),
}
_ON = frozenset({"on", "on-or-after", "on-or-before"})
_OTHER = frozenset({"like", "not-like", "in", "not-in", "between", "not-between", "null", "not-null",
                    "eq-userid", "ne-userid"})
SUPPORTED = _COMPARISONS | set(_STRING_FUNCTIONS) | _ON | _OTHER | dates.NO_VALUE | dates.COUNTED
# Dataverse operators this gateway knows but cannot serve: hierarchies, teams, business units,
# languages, multi-select choices, fiscal calendars (organization settings the catalog lacks).
_KNOWN_UNSUPPORTED = frozenset({
    "above", "under", "eq-or-above", "eq-or-under", "not-under", "eq-businessid", "ne-businessid",
    "eq-userteams", "eq-useroruserteams", "eq-useroruserhierarchy", "eq-useroruserhierarchyandteams",
    "eq-userlanguage", "contain-values", "not-contain-values", "in-fiscal-period", "in-fiscal-period-and-year",
    "in-fiscal-year", "in-or-after-fiscal-period-and-year", "in-or-before-fiscal-period-and-year",
    "last-fiscal-period", "last-fiscal-year", "next-fiscal-period", "next-fiscal-year", "this-fiscal-period",
    "this-fiscal-year", "last-x-fiscal-periods", "last-x-fiscal-years", "next-x-fiscal-periods",
    "next-x-fiscal-years", "olderthan-x-minutes", "olderthan-x-hours", "last-x-hours", "next-x-hours",
})
_DATE_TYPES = ("Edm.Date", "Edm.DateTimeOffset")


def check_operator(operator: str) -> None:
    if operator in SUPPORTED:
        return
    if operator in _KNOWN_UNSUPPORTED:
        raise BadRequest(f"condition operator '{operator}' is not supported by this service", target=operator)
    raise BadRequest(f"unknown condition operator '{operator}'." + did_you_mean(operator, sorted(SUPPORTED)),
                     target=operator)


def condition_expr(
    operator: str, subject: ast.MemberPath, prop: Property, values: list[str], other: ast.MemberPath | None, env: Env
) -> ast.Expr:
    """`subject operator values` (or `subject operator other` for valueof) as a $filter expression."""
    check_operator(operator)
    if other is not None:
        if operator not in _COMPARISONS:
            raise BadRequest(f"valueof compares columns with eq, ne, gt, ge, lt or le only, not '{operator}'")
        return ast.BinaryOp(operator, subject, other)
    if operator in _COMPARISONS:
        return _compare(operator, subject, prop, _one(operator, values), env)
    if operator in _STRING_FUNCTIONS:
        name, negated = _STRING_FUNCTIONS[operator]
        _expect(operator, prop, ("Edm.String",))
        call = ast.FunctionCall(name, (subject, ast.Literal(_one(operator, values), "Edm.String")))
        return ast.UnaryOp("not", call) if negated else call
    if operator in ("like", "not-like"):
        _expect(operator, prop, ("Edm.String",))
        matched = like(subject, _one(operator, values))
        return ast.UnaryOp("not", matched) if operator == "not-like" else matched
    if operator in ("in", "not-in"):
        if not values:
            raise BadRequest(f"operator '{operator}' on {prop.name} needs at least one <value>", target=prop.name)
        listed = _in(subject, [typed_literal(prop, text, env.catalog) for text in values])
        return ast.UnaryOp("not", listed) if operator == "not-in" else listed
    if operator in ("between", "not-between"):
        return _between(operator, subject, prop, values, env)
    if operator in ("null", "not-null"):
        return ast.BinaryOp("eq" if operator == "null" else "ne", subject, ast.Literal(None, "null"))
    if operator in ("eq-userid", "ne-userid"):
        return _user(operator, subject, prop, env)
    _expect(operator, prop, _DATE_TYPES)
    if operator in _ON:
        day = _day(prop, _one(operator, values), env)
        return _range(subject, prop, dates.on_range(operator, day))
    value = _one(operator, values) if operator in dates.COUNTED else None
    return _range(subject, prop, dates.relative_range(operator, env.today, value))


def _compare(operator: str, subject: ast.MemberPath, prop: Property, text: str, env: Env) -> ast.Expr:
    value = typed_literal(prop, text, env.catalog)
    if operator in ("eq", "ne") and isinstance(value, ast.Literal) and value.type == "Edm.String" and "*" in text:
        # The planner reads `Field eq '*x*'` as an F&O wildcard; FetchXML's eq means the exact text,
        # and an `in` list compares exactly.
        exact = _in(subject, [value])
        return exact if operator == "eq" else ast.UnaryOp("not", exact)
    return ast.BinaryOp(operator, subject, value)


def _between(operator: str, subject: ast.MemberPath, prop: Property, values: list[str], env: Env) -> ast.Expr:
    if len(values) != 2:
        raise BadRequest(f"operator '{operator}' on {prop.name} needs exactly two <value> elements, not {len(values)}",
                         target=prop.name)
    low, high = (typed_literal(prop, text, env.catalog) for text in values)
    if operator == "between":
        return ast.BinaryOp("and", ast.BinaryOp("ge", subject, low), ast.BinaryOp("le", subject, high))
    return ast.BinaryOp("or", ast.BinaryOp("lt", subject, low), ast.BinaryOp("gt", subject, high))


def _user(operator: str, subject: ast.MemberPath, prop: Property, env: Env) -> ast.Expr:
    _expect(operator, prop, ("Edm.Guid",))
    if env.user_id is None:
        raise BadRequest(f"operator '{operator}' needs a signed-in user, and this request has none")
    try:
        user = uuid.UUID(env.user_id)
    except ValueError:
        raise BadRequest(f"operator '{operator}': the caller's user id is not a Guid") from None
    return ast.BinaryOp("eq" if operator == "eq-userid" else "ne", subject, ast.Literal(user, "Edm.Guid"))


def _day(prop: Property, text: str, env: Env) -> dt.date:
    """The date of an on/on-or-after/on-or-before value (a date/time counts by its UTC date)."""
    text = text.strip()
    try:
        return dt.date.fromisoformat(text) if len(text) <= 10 else to_utc(dt.datetime.fromisoformat(text)).date()
    except (ValueError, OverflowError):
        raise TypeMismatch(f"'{text[:40]}' is not a date (yyyy-mm-dd) for {prop.name}", target=prop.name) from None


def _range(subject: ast.MemberPath, prop: Property, bounds: dates.Range) -> ast.Expr:
    """start <= subject < end, in the column's own type (UTC midnights for date/times)."""
    start, end = bounds
    parts: list[ast.Expr] = []
    if start is not None:
        parts.append(ast.BinaryOp("ge", subject, _bound(prop, start)))
    if end is not None:
        parts.append(ast.BinaryOp("lt", subject, _bound(prop, end)))
    if not parts:  # both sides past the calendar: every dated row
        return ast.BinaryOp("ne", subject, ast.Literal(None, "null"))
    return parts[0] if len(parts) == 1 else ast.BinaryOp("and", parts[0], parts[1])


def _bound(prop: Property, day: dt.date) -> ast.Literal:
    if prop.type == "Edm.Date":
        return ast.Literal(day, "Edm.Date")
    return ast.Literal(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC), "Edm.DateTimeOffset")


def _one(operator: str, values: list[str]) -> str:
    if len(values) != 1:
        raise BadRequest(f"operator '{operator}' needs one value (value=\"...\" or one <value>), not {len(values)}")
    return values[0]


def _expect(operator: str, prop: Property, types: tuple[str, ...]) -> None:
    if prop.type not in types:
        raise TypeMismatch(
            f"operator '{operator}' applies to {' or '.join(types)} columns; {prop.name} is {prop.type}",
            target=prop.name,
        )


# ---------------------------------------------------------------------------------------- like
_LIKE_TOKEN = re.compile(r"%|_|\[[^\]]+\]|[^%_\[]+|\[")


def like(subject: ast.MemberPath, pattern: str) -> ast.Expr:
    """SQL LIKE (%, _ and [classes]) as contains/startswith/endswith/eq where the pattern allows,
    else as matchesPattern with an anchored, case-insensitive regular expression."""
    tokens = _LIKE_TOKEN.findall(pattern)
    wild = [token in ("%", "_") or (token.startswith("[") and len(token) > 1) for token in tokens]
    text = "".join(token for token, is_wild in zip(tokens, wild) if not is_wild)
    if not any(wild):  # equality, but as LIKE compares: ignoring case
        lowered = ast.FunctionCall("tolower", (subject,))
        value = ast.Literal(pattern.lower(), "Edm.String")
        return ast.In(lowered, value) if "*" in pattern else ast.BinaryOp("eq", lowered, value)
    if all(token == "%" for token in tokens):
        return ast.BinaryOp("ne", subject, ast.Literal(None, "null"))  # LIKE '%': any non-null text
    inner = [i for i, is_wild in enumerate(wild) if not is_wild]
    if len(inner) == 1:
        before = tokens[: inner[0]]
        after = tokens[inner[0] + 1 :]
        if all(token == "%" for token in before + after):
            name = "contains" if before and after else "startswith" if after else "endswith"
            return ast.FunctionCall(name, (subject, ast.Literal(text, "Edm.String")))
    return ast.FunctionCall("matchesPattern", (subject, ast.Literal(_regex(tokens), "Edm.String")))


def _compare_text(subject: ast.MemberPath, text: str) -> ast.Expr:
    value = ast.Literal(text, "Edm.String")
    return _in(subject, [value]) if "*" in text else ast.BinaryOp("eq", subject, value)


def _in(subject: ast.MemberPath, items: list[ast.Literal | ast.EnumLiteral]) -> ast.In:
    """`subject in (...)`; one item stands alone, as the OData parser reads `x in ('a')`."""
    return ast.In(subject, items[0] if len(items) == 1 else ast.ListExpr(tuple(items)))


def _regex(tokens: list[str]) -> str:
    """Anchored; letters as [xX] pairs: Dataverse's LIKE ignores case, and the databases' regular
    expressions do not share a case-insensitive flag."""
    parts = ["^"]
    for token in tokens:
        if token == "%":
            parts.append(".*")
        elif token == "_":
            parts.append(".")
        elif token.startswith("[") and len(token) > 1:
            # A class's own '[' and '\\' are escaped: LIKE's '[[]' is a literal '['.
            parts.append("[" + token[1:-1].replace("\\", "\\\\").replace("[", "\\[") + "]")
        else:
            parts.extend(_letter(char) for char in token)
    parts.append("$")
    return "".join(parts)


def _letter(char: str) -> str:
    lower, upper = char.lower(), char.upper()
    if lower != upper and len(lower) == 1 and len(upper) == 1:
        return f"[{lower}{upper}]"
    return re.escape(char)
