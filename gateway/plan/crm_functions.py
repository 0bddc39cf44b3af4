"""The Dataverse Web API query functions in $filter: Microsoft.Dynamics.CRM.In(PropertyName='name',...).

Dataverse offers, beside OData's operators, one function per condition operator of its query engine
("Web API Query Function Reference"). Each names the compared property by a string (PropertyName),
gives values as strings (PropertyValue, PropertyValues: '1' even for numbers) and returns a boolean.
They are served where the catalog's namespace is Microsoft.Dynamics.CRM (/api/data/v9.2); the F&O
service answers a call with a 400 saying so.

Dates are relative to the moment the query is planned, in UTC (Dataverse uses the caller's time zone;
the gateway stores UTC and has no user time zones), and bound as parameters. The windows, inclusive:

  Today, Yesterday, Tomorrow           that day
  On / OnOrAfter / OnOrBefore (D)      day D / from day D on / up to and including day D
  LastXDays(X), Last7Days (X=7)        the X days before today, and today
  NextXDays(X), Next7Days (X=7)        today and the X days after it
  LastXMonths(X), LastXYears(X)        from the same day X months (years) ago to today
  NextXMonths(X), NextXYears(X)        from today to the same day X months (years) ahead
  ThisMonth, ThisYear                  the calendar month (year) of today
  LastMonth, LastYear                  the calendar month (year) before it
  OlderThanXDays(X)                    before the first of the X days that LastXDays(X) covers
  LastXHours(X), NextXHours(X)         from now back (on) X hours, to the second (date-times only)

A day of an Edm.DateTimeOffset property is [midnight, next midnight) UTC; of an Edm.Date property,
the date itself. Every function is false for a null property value (so `not` makes it true).
A plan holding such bounds (or the caller's id, for EqualUserId) must not be cached across requests.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, false, literal, or_, true
from sqlalchemy.sql.elements import ColumnElement

from gateway.catalog.model import Catalog
from gateway.errors import BadRequest, UnknownProperty, did_you_mean
from gateway.plan.typed import BOOLEAN, STRING, Typed
from gateway.plan.types import INTEGER_RANGES, is_primitive
from grammar import ast

if TYPE_CHECKING:
    from gateway.plan.expressions import ExpressionCompiler

CRM_NAMESPACE = "Microsoft.Dynamics.CRM"
DATAVERSE_ROOT = "/api/data/v9.2"
_PREFIX = CRM_NAMESPACE + "."
_DATES = ("Edm.Date", "Edm.DateTimeOffset")


def is_dataverse(catalog: Catalog) -> bool:
    """Whether the catalog is served with Dataverse's conventions (query functions, case-insensitive text)."""
    return catalog.service.namespace == CRM_NAMESPACE


def is_crm_function(name: str) -> bool:
    """A call in the Microsoft.Dynamics.CRM namespace (any case: a wrong case gets a 'did you mean')."""
    return name.lower().startswith(_PREFIX.lower())


def utc_now() -> dt.datetime:
    """The planning moment (tests replace it to fix 'today')."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


# ---------------------------------------------------------------------------- one call being compiled


@dataclass
class _Call:
    compiler: ExpressionCompiler
    node: ast.FunctionCall
    name: str  # without the namespace
    params: dict[str, ast.Expr]  # by parameter name, aliases resolved
    subject: Typed  # the property named by PropertyName
    property_name: str
    now: dt.datetime

    @property
    def today(self) -> dt.date:
        return self.now.date()

    def fail(self, node: Any, message: str) -> BadRequest:
        return self.compiler.invalid(node, f"{_PREFIX}{self.name}: {message}")

    def mismatch(self, node: Any, message: str) -> BadRequest:
        return self.compiler.mismatch(node, f"{_PREFIX}{self.name}: {message}")

    def bind(self, value: object) -> ColumnElement[Any]:
        """A value compared with the property, bound with the property's own column type (so that a
        virtual table's Guid key binds as its RECID)."""
        return literal(value, self.subject.sql.type)

    def defined(self, condition: ColumnElement[bool]) -> ColumnElement[bool]:
        """The condition, false (not null) where the property is null."""
        if not self.subject.nullable:
            return condition
        return and_(self.subject.sql.is_not(None), condition)

    def needs(self, types: tuple[str, ...], what: str) -> None:
        if self.subject.type not in types:
            raise self.mismatch(
                self.params["PropertyName"],
                f"{what}, but {self.property_name} is of type {self.subject.type}",
            )


Builder = Callable[[_Call], ColumnElement[bool]]


# ---------------------------------------------------------------------------- values


def _value_text(call: _Call, node: ast.Expr, parameter: str) -> str:
    """A parameter value as the text Dataverse would receive: a string literal, or a literal's own text."""
    if isinstance(node, ast.Literal) and node.type != "null" and is_primitive(node.type):
        value = node.value
        if node.type == STRING:
            return str(value)
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (dt.date, dt.time)):
            return value.isoformat()
        return str(value)
    if isinstance(node, ast.Literal) and node.type == "null":
        raise call.fail(node, f"{parameter} cannot hold null")
    raise call.mismatch(node, f"{parameter} must hold literal values such as '42' or 'text'")


def _convert(call: _Call, node: ast.Expr, parameter: str) -> object:
    """A value of PropertyValue(s) as a value of the property's type, or a 400 naming the value."""
    text = _value_text(call, node, parameter)
    kind = call.subject.type
    catalog = call.compiler.catalog
    try:
        value = _parse(catalog, kind, text)
    except (ValueError, ArithmeticError):
        value = None
    if value is None:
        example = _EXAMPLES.get(kind, "")
        raise call.mismatch(
            node,
            f"'{text}' in {parameter} is not a value of {call.property_name} ({kind}{example})",
        )
    if isinstance(value, (Decimal, float)):
        digits = call.subject.digits
        if not math.isfinite(value) or digits is not None and abs(value) >= 10**digits:
            raise call.mismatch(node, f"'{text}' in {parameter} is outside the range of {call.property_name} ({kind})")
    if kind == "Edm.Decimal" and not call.compiler.context.dialect.native_decimal:
        value = float(value)  # type: ignore[arg-type]
    return value


_EXAMPLES = {
    "Edm.Int32": ", a whole number",
    "Edm.Int64": ", a whole number",
    "Edm.Decimal": ", a number like 12.5",
    "Edm.Double": ", a number like 12.5",
    "Edm.Boolean": ", true or false",
    "Edm.Date": ", a date like 2024-01-31",
    "Edm.DateTimeOffset": ", a date-time like 2024-01-31T12:00:00Z or a date",
    "Edm.TimeOfDay": ", a time like 08:30:00",
    "Edm.Guid": ", a Guid like 00000000-0000-0000-0000-000000000001",
}
_INTEGER = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")


def _parse(catalog: Catalog, kind: str, text: str) -> object:
    """`text` as a value of the Edm type `kind`; None when it is not one."""
    if catalog.is_enum(kind):
        members = {member: value for value, member in catalog.service.enums[kind].items()}
        if text in members:
            return members[text]
        return int(text) if _INTEGER.fullmatch(text) else None
    if kind == STRING:
        return text
    if kind in INTEGER_RANGES:
        if not _INTEGER.fullmatch(text.strip()):
            return None
        number = int(text)
        low, high = INTEGER_RANGES[kind]
        return number if low <= number <= high else None
    if kind in ("Edm.Decimal", "Edm.Double"):
        if not _NUMBER.fullmatch(text.strip()):
            return None
        return Decimal(text.strip()) if kind == "Edm.Decimal" else float(text)
    if kind == "Edm.Boolean":
        return {"true": True, "false": False, "1": True, "0": False}.get(text.strip().lower())
    if kind == "Edm.Guid":
        return str(uuid.UUID(text.strip()))
    if kind == "Edm.Date":
        return _date(text)
    if kind == "Edm.DateTimeOffset":
        return _datetime(text)
    if kind == "Edm.TimeOfDay":
        return dt.time.fromisoformat(text.strip())
    return None


def _date(text: str) -> dt.date | None:
    """A date, or the UTC date of a date-time."""
    text = text.strip()
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        return dt.date.fromisoformat(text)
    moment = _datetime(text)
    return None if moment is None else moment.date()


def _datetime(text: str) -> dt.datetime | None:
    """A date-time in UTC without offset (as stored); a date alone is its midnight, no offset means UTC."""
    text = text.strip()
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        return dt.datetime.combine(dt.date.fromisoformat(text), dt.time())
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9:.]+([Zz]|[+-][0-9]{2}:[0-9]{2})?", text):
        return None
    moment = dt.datetime.fromisoformat(text.replace("z", "Z"))
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def _count(call: _Call) -> int:
    """PropertyValue of the X functions: a whole number, 0 or more (42 or '42')."""
    node = call.params["PropertyValue"]
    text = _value_text(call, node, "PropertyValue")
    if not re.fullmatch(r"\+?[0-9]{1,18}", text.strip()):
        raise call.mismatch(node, f"PropertyValue must be a whole number (0 or more), not '{text}'")
    return int(text)


def _values(call: _Call) -> list[ColumnElement[Any]]:
    node = call.params["PropertyValues"]
    if not isinstance(node, ast.ListExpr):
        raise call.mismatch(node, "PropertyValues must be a list of values, like PropertyValues=['1','2']")
    return [call.bind(_convert(call, item, "PropertyValues")) for item in node.items]


# ---------------------------------------------------------------------------- comparisons


def _membership(negated: bool) -> Builder:
    def build(call: _Call) -> ColumnElement[bool]:
        values = _values(call)
        if not values:
            raise call.fail(call.params["PropertyValues"], "PropertyValues needs at least one value")
        column = call.subject.sql
        return call.defined(column.not_in(values) if negated else column.in_(values))

    return build


def _between(negated: bool) -> Builder:
    def build(call: _Call) -> ColumnElement[bool]:
        values = _values(call)
        if len(values) != 2:
            raise call.fail(
                call.params["PropertyValues"],
                f"PropertyValues needs exactly two values (the low and the high end), not {len(values)}",
            )
        low, high = values
        column = call.subject.sql
        if negated:
            return call.defined(or_(column < low, column > high))
        return call.defined(and_(column >= low, column <= high))

    return build


def _user(negated: bool) -> Builder:
    def build(call: _Call) -> ColumnElement[bool]:
        call.needs(("Edm.Guid", STRING), "it compares a Guid or string property with the caller's id")
        user_id = call.compiler.context.user_id
        if user_id is None:
            raise call.fail(call.node, "this request has no user id to compare with (no signed-in user)")
        if call.subject.type == "Edm.Guid":
            try:
                user_id = str(uuid.UUID(user_id))
            except ValueError:
                # The caller's id is not a Guid: no Guid property holds it.
                return call.defined(true()) if negated else false()
        column = call.subject.sql
        return call.defined(column != call.bind(user_id) if negated else column == call.bind(user_id))

    return build


# ---------------------------------------------------------------------------- dates

# A window of whole days, both ends inclusive (None: open), computed from today.
DayWindow = tuple[dt.date | None, dt.date | None]


def _days(call: _Call, first: dt.date | None, last: dt.date | None) -> ColumnElement[bool]:
    call.needs(_DATES, "it needs a date or date-time property")
    column = call.subject.sql
    conditions: list[ColumnElement[bool]] = []
    if call.subject.type == "Edm.Date":
        if first is not None:
            conditions.append(column >= call.bind(first))
        if last is not None:
            conditions.append(column <= call.bind(last))
    else:
        if first is not None:
            conditions.append(column >= call.bind(dt.datetime.combine(first, dt.time())))
        if last is not None and last < dt.date.max:
            conditions.append(column < call.bind(dt.datetime.combine(last + dt.timedelta(days=1), dt.time())))
    return call.defined(and_(true(), *conditions))


def _window(compute: Callable[[dt.date], DayWindow]) -> Builder:
    """A function without PropertyValue: a window around today."""

    def build(call: _Call) -> ColumnElement[bool]:
        first, last = compute(call.today)
        return _days(call, first, last)

    return build


def _x_window(compute: Callable[[dt.date, int], DayWindow]) -> Builder:
    """A function of PropertyValue=X (days, months, years)."""

    def build(call: _Call) -> ColumnElement[bool]:
        call.needs(_DATES, "it needs a date or date-time property")
        count = _count(call)
        try:
            first, last = compute(call.today, count)
        except (OverflowError, ValueError):
            raise call.fail(call.params["PropertyValue"], f"{count} reaches beyond the range of dates") from None
        return _days(call, first, last)

    return build


def _on(kind: str) -> Builder:
    def build(call: _Call) -> ColumnElement[bool]:
        call.needs(_DATES, "it needs a date or date-time property")
        node = call.params["PropertyValue"]
        text = _value_text(call, node, "PropertyValue")
        try:
            day = _date(text)
        except ValueError:
            day = None
        if day is None:
            raise call.mismatch(node, f"PropertyValue must be a date like 2024-01-31, not '{text}'")
        return _days(call, day if kind in ("on", "after") else None, day if kind in ("on", "before") else None)

    return build


def _hours(sign: int) -> Builder:
    def build(call: _Call) -> ColumnElement[bool]:
        call.needs(("Edm.DateTimeOffset",), "hours need a date-time property")
        count = _count(call)
        try:
            other = call.now + sign * dt.timedelta(hours=count)
        except OverflowError:
            raise call.fail(call.params["PropertyValue"], f"{count} hours reach beyond the range of dates") from None
        low, high = sorted((call.now, other))
        column = call.subject.sql
        return call.defined(and_(column >= call.bind(low), column <= call.bind(high)))

    return build


def _add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later (earlier if negative), the month's last day where it is shorter."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    if not dt.MINYEAR <= year <= dt.MAXYEAR:
        raise OverflowError("year out of range")
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _month_of(day: dt.date) -> DayWindow:
    start = day.replace(day=1)
    return start, _add_months(start, 1) - dt.timedelta(days=1)


def _days_back(day: dt.date, count: int) -> dt.date:
    return day - dt.timedelta(days=count)


def _days_ahead(day: dt.date, count: int) -> dt.date:
    return day + dt.timedelta(days=count)


_ONE_DAY = dt.timedelta(days=1)

_NAME = ("PropertyName",)
_VALUE = ("PropertyName", "PropertyValue")
_VALUES = ("PropertyName", "PropertyValues")

# Each function: its parameters (all required) and how it builds its condition.
CRM_FUNCTIONS: dict[str, tuple[tuple[str, ...], Builder]] = {
    "In": (_VALUES, _membership(negated=False)),
    "NotIn": (_VALUES, _membership(negated=True)),
    "Between": (_VALUES, _between(negated=False)),
    "NotBetween": (_VALUES, _between(negated=True)),
    "Today": (_NAME, _window(lambda today: (today, today))),
    "Yesterday": (_NAME, _window(lambda today: (today - _ONE_DAY, today - _ONE_DAY))),
    "Tomorrow": (_NAME, _window(lambda today: (today + _ONE_DAY, today + _ONE_DAY))),
    "On": (_VALUE, _on("on")),
    "OnOrAfter": (_VALUE, _on("after")),
    "OnOrBefore": (_VALUE, _on("before")),
    "Last7Days": (_NAME, _window(lambda today: (_days_back(today, 7), today))),
    "Next7Days": (_NAME, _window(lambda today: (today, _days_ahead(today, 7)))),
    "LastXDays": (_VALUE, _x_window(lambda today, x: (_days_back(today, x), today))),
    "NextXDays": (_VALUE, _x_window(lambda today, x: (today, _days_ahead(today, x)))),
    "LastXHours": (_VALUE, _hours(-1)),
    "NextXHours": (_VALUE, _hours(+1)),
    "LastXMonths": (_VALUE, _x_window(lambda today, x: (_add_months(today, -x), today))),
    "NextXMonths": (_VALUE, _x_window(lambda today, x: (today, _add_months(today, x)))),
    "LastXYears": (_VALUE, _x_window(lambda today, x: (_add_months(today, -12 * x), today))),
    "NextXYears": (_VALUE, _x_window(lambda today, x: (today, _add_months(today, 12 * x)))),
    "OlderThanXDays": (_VALUE, _x_window(lambda today, x: (None, _days_back(today, x + 1)))),
    "ThisMonth": (_NAME, _window(_month_of)),
    "LastMonth": (_NAME, _window(lambda today: _month_of(today.replace(day=1) - _ONE_DAY))),
    "ThisYear": (_NAME, _window(lambda today: (today.replace(month=1, day=1), today.replace(month=12, day=31)))),
    "LastYear": (
        _NAME,
        _window(lambda today: (dt.date(today.year - 1, 1, 1), dt.date(today.year - 1, 12, 31))),
    ),
    "EqualUserId": (_NAME, _user(negated=False)),
    "NotEqualUserId": (_NAME, _user(negated=True)),
}


# ---------------------------------------------------------------------------- entry point


def crm_function(compiler: ExpressionCompiler, node: ast.FunctionCall) -> Typed:
    """Compile a Microsoft.Dynamics.CRM.* call (the caller checked `is_crm_function`)."""
    short = node.name[len(_PREFIX) :]
    if not is_dataverse(compiler.catalog):
        raise compiler.invalid(
            node,
            f"{node.name} is a Dataverse query function: these are served by the Dataverse Web API at "
            f"{DATAVERSE_ROOT}, not by this service (namespace {compiler.catalog.service.namespace})",
        )
    spec = CRM_FUNCTIONS.get(short) if node.name.startswith(_PREFIX) else None
    if spec is None:
        raise compiler.invalid(
            node,
            f"unknown query function {node.name}."
            + did_you_mean(short, CRM_FUNCTIONS)
            + f" Supported: {', '.join(CRM_FUNCTIONS)}",
        )
    parameters, build = spec
    params = _parameters(compiler, node, short, parameters)
    subject, property_name = _property(compiler, node, short, params["PropertyName"])
    call = _Call(compiler, node, short, params, subject, property_name, utc_now())
    return Typed(build(call), BOOLEAN, False)


def _parameters(
    compiler: ExpressionCompiler, node: ast.FunctionCall, short: str, expected: tuple[str, ...]
) -> dict[str, ast.Expr]:
    """The named parameters of the call, each given once, parameter aliases resolved."""
    signature = f"{_PREFIX}{short}({','.join(f'{name}=...' for name in expected)})"
    given: dict[str, ast.Expr] = {}
    for arg in node.args:
        if not isinstance(arg, ast.KeyValue) or arg.name is None:
            raise compiler.invalid(arg, f"{node.name} takes named parameters: {signature}")
        value = arg.value
        if arg.name not in expected:
            raise compiler.invalid(
                value,
                f"{node.name} has no parameter {arg.name}." + did_you_mean(arg.name, expected)
                + f" It takes {signature}",
            )
        if arg.name in given:
            raise compiler.invalid(value, f"{node.name}: the parameter {arg.name} is given twice")
        given[arg.name] = _resolve(compiler, arg.name, value)
    missing = [name for name in expected if name not in given]
    if missing:
        raise compiler.invalid(node, f"{node.name} needs the parameter {' and '.join(missing)}: {signature}")
    return given


def _resolve(compiler: ExpressionCompiler, name: str, value: ast.Expr) -> ast.Expr:
    if not isinstance(value, ast.Alias):
        return value
    resolved = compiler.context.aliases.get(value.name)
    if resolved is None or isinstance(resolved, ast.Alias):
        raise compiler.invalid(value, f"the parameter alias @{value.name} given for {name} has no value")
    return resolved  # type: ignore[return-value]


def _property(
    compiler: ExpressionCompiler, node: ast.FunctionCall, short: str, name_node: ast.Expr
) -> tuple[Typed, str]:
    if not (isinstance(name_node, ast.Literal) and name_node.type == STRING):
        raise compiler.mismatch(
            name_node, f"{node.name}: PropertyName must be a string naming a property, like PropertyName='name'"
        )
    name = str(name_node.value)
    position = name_node.pos + 1  # inside the quote
    if not re.fullmatch(r"[^\W\d]\w*", name):
        entity = compiler.scope.entity
        raise UnknownProperty(
            compiler.invalid(
                ast.Literal(name, STRING, position),
                f"{entity.entity_type} has no property '{name}'." + did_you_mean(name, entity.properties),
            ).message,
            target=name,
        )
    # Compiled as the path `name`: an unknown name gets UnknownProperty with a suggestion.
    subject = compiler.compile(ast.MemberPath((ast.PropertyStep(name, position),), position))
    if not (is_primitive(subject.type) or compiler.catalog.is_enum(subject.type)):
        raise compiler.mismatch(name_node, f"{node.name}: {name} is not a property of a primitive type")
    return subject, name


__all__ = ["CRM_FUNCTIONS", "CRM_NAMESPACE", "crm_function", "is_crm_function", "is_dataverse", "utc_now"]
