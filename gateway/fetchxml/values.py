"""FetchXML condition values (always text) → AST literals typed by the attribute they compare with.

OData literals carry their type in their syntax; FetchXML values do not, so the attribute's Edm type
decides. The literals built here are the ones grammar/parser.py builds for the same value written
in OData syntax (integers typed by magnitude, decimals as Decimal, date/times in UTC), so that the
binder and planner treat a FetchXML query exactly like the equivalent $filter.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import uuid
from collections.abc import Callable
from decimal import Decimal

from gateway.catalog.model import Catalog, Property
from gateway.errors import TypeMismatch
from grammar import ast

_INTEGER = re.compile(r"[+-]?[0-9]{1,19}")
_RANGES = {"Edm.Int32": 2**31, "Edm.Int64": 2**63}
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


def typed_literal(prop: Property, text: str, catalog: Catalog) -> ast.Literal | ast.EnumLiteral:
    """`text` as a value of `prop`'s type, or a TypeMismatch that names the attribute and the type."""
    edm = prop.type
    if catalog.is_enum(edm):
        return _enum(prop, text, catalog)
    try:
        literal = _PARSERS[edm](text.strip() if edm != "Edm.String" else text)
    except (ValueError, ArithmeticError, KeyError):
        literal = None
    if literal is None:
        raise TypeMismatch(f"'{_short(text)}' is not a value of {prop.name} ({_describe(edm)})", target=prop.name)
    return literal


def _integer(edm: str) -> Callable[[str], ast.Literal | None]:
    def parse(text: str) -> ast.Literal | None:
        if not _INTEGER.fullmatch(text):
            return None
        value = int(text)
        low, high = -_RANGES[edm], _RANGES[edm] - 1
        if not low <= value <= high:
            return None
        # Typed as the OData parser types an integer literal: by its magnitude, not by the column.
        return ast.Literal(value, "Edm.Int32" if abs(value) <= 2**31 - 1 else "Edm.Int64")

    return parse


def _decimal(text: str) -> ast.Literal | None:
    value = Decimal(text)  # InvalidOperation (an ArithmeticError) for anything that is no number
    return ast.Literal(value, "Edm.Decimal") if value.is_finite() else None


def _double(text: str) -> ast.Literal | None:
    value = float(text)
    return ast.Literal(value, "Edm.Double") if math.isfinite(value) else None


def _boolean(text: str) -> ast.Literal | None:
    value = _BOOLEANS.get(text.lower())
    return None if value is None else ast.Literal(value, "Edm.Boolean")


def _date(text: str) -> ast.Literal:
    # Dataverse accepts a date/time for a date-only column and compares its date part.
    if len(text) > 10:
        return ast.Literal(to_utc(dt.datetime.fromisoformat(text)).date(), "Edm.Date")
    return ast.Literal(dt.date.fromisoformat(text), "Edm.Date")


def _datetime(text: str) -> ast.Literal:
    return ast.Literal(to_utc(dt.datetime.fromisoformat(text)), "Edm.DateTimeOffset")


def to_utc(value: dt.datetime) -> dt.datetime:
    """A date/time in UTC. One without an offset is taken as UTC: the gateway knows no user time zone."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _guid(text: str) -> ast.Literal:
    # Dataverse writes Guids in braces as often as without ({...} from the SDK, bare from the Web API).
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    if len(text) != 36:
        raise ValueError("not a Guid")
    return ast.Literal(uuid.UUID(text), "Edm.Guid")


def _time(text: str) -> ast.Literal:
    return ast.Literal(dt.time.fromisoformat(text), "Edm.TimeOfDay")


_PARSERS: dict[str, Callable[[str], ast.Literal | None]] = {
    "Edm.String": lambda text: ast.Literal(text, "Edm.String"),  # the text as it is, spaces included
    "Edm.Int32": _integer("Edm.Int32"),
    "Edm.Int64": _integer("Edm.Int64"),
    "Edm.Decimal": _decimal,
    "Edm.Double": _double,
    "Edm.Boolean": _boolean,
    "Edm.Date": _date,
    "Edm.DateTimeOffset": _datetime,
    "Edm.Guid": _guid,
    "Edm.TimeOfDay": _time,
}


def _enum(prop: Property, text: str, catalog: Catalog) -> ast.EnumLiteral:
    """An enum value by member name or by its stored integer, always written as the member name."""
    members = catalog.service.enums[prop.type]
    value = text.strip()
    if value in members.values():
        return ast.EnumLiteral(catalog.qualified(prop.type), (value,))
    if _INTEGER.fullmatch(value) and int(value) in members:
        return ast.EnumLiteral(catalog.qualified(prop.type), (members[int(value)],))
    listed = ", ".join(f"{name} ({number})" for number, name in members.items())
    raise TypeMismatch(f"'{_short(text)}' is not a member of {prop.type} for {prop.name} (members: {listed})",
                       target=prop.name)


def _describe(edm: str) -> str:
    return {
        "Edm.Int32": "Edm.Int32: a whole number from -2147483648 to 2147483647",
        "Edm.Int64": "Edm.Int64: a whole number",
        "Edm.Decimal": "Edm.Decimal: a number such as 12.50",
        "Edm.Double": "Edm.Double: a number such as 1.5",
        "Edm.Boolean": "Edm.Boolean: 1, 0, true or false",
        "Edm.Date": "Edm.Date: yyyy-mm-dd",
        "Edm.DateTimeOffset": "Edm.DateTimeOffset: yyyy-mm-ddThh:mm:ssZ",
        "Edm.Guid": "Edm.Guid: 8-4-4-4-12 hexadecimal digits",
        "Edm.TimeOfDay": "Edm.TimeOfDay: hh:mm:ss",
    }.get(edm, edm)


def _short(text: str) -> str:
    return text if len(text) <= 40 else text[:40] + "..."

