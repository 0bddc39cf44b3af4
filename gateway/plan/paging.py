"""Keyset paging: the sort keys of a page, the ORDER BY they give and the $skiptoken that resumes.

A nextLink carries the sort-key values of the last row served, not an offset, so walking every
nextLink yields each row exactly once even when rows are inserted or deleted in between. Sorting
follows OData: null comes first in ascending order and last in descending order, on every database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
from sqlalchemy import and_, false, literal, or_, tuple_
from sqlalchemy.sql.elements import ColumnElement

from gateway.errors import InvalidSkipToken
from gateway.plan.dialects import DialectTraits
from gateway.protect import signing


@dataclass(frozen=True)
class SortKey:
    sql: ColumnElement[Any]
    descending: bool
    nullable: bool
    edm_type: str = ""  # what the values of the key are, to check those a $skiptoken brings back


@dataclass(frozen=True)
class SkipToken:
    values: tuple[object, ...]
    remaining_top: int | None
    shape: str


def order_by(keys: list[SortKey], dialect: DialectTraits) -> list[ColumnElement[Any]]:
    clauses: list[ColumnElement[Any]] = []
    for key in keys:
        clause = key.sql.desc() if key.descending else key.sql.asc()
        if key.nullable and not dialect.nulls_sort_first_by_default:
            clause = clause.nulls_last() if key.descending else clause.nulls_first()
        clauses.append(clause)
    return clauses


def after(keys: list[SortKey], values: tuple[object, ...], dialect: DialectTraits) -> ColumnElement[bool]:
    """Rows strictly after `values` in the order of `keys` (lexicographic, null-aware).

    Where the database compares row values through an index, `(a, b) > (x, y)` lets a deep page
    start right at its position instead of scanning every row before it; the OR-of-ANDs form is
    the general case (mixed directions, nullable keys).
    """
    uniform = len({key.descending for key in keys}) == 1 and not any(key.nullable for key in keys)
    if dialect.row_value_keyset and uniform and None not in values and len(keys) > 1:
        left = tuple_(*(key.sql for key in keys))
        right = tuple_(*(literal(value, key.sql.type) for key, value in zip(keys, values)))
        return left < right if keys[0].descending else left > right
    alternatives: list[ColumnElement[bool]] = []
    equal_so_far: list[ColumnElement[bool]] = []
    for key, value in zip(keys, values):
        alternatives.append(and_(*equal_so_far, _beyond(key, value)))
        equal_so_far.append(key.sql.is_(None) if value is None else key.sql == value)
    return or_(*alternatives) if alternatives else false()


def _beyond(key: SortKey, value: object) -> ColumnElement[bool]:
    if key.descending:
        if value is None:
            return false()  # nulls come last in descending order: nothing is beyond them
        return or_(key.sql < value, key.sql.is_(None)) if key.nullable else key.sql < value
    if value is None:
        return key.sql.is_not(None)  # nulls come first in ascending order
    return key.sql > value


def shape_of(*parts: str) -> str:
    """A short fingerprint of what a token belongs to, so a token is not replayed on another query."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:12]


def encode(token: SkipToken, key: bytes) -> str:
    payload = {"k": [tag(value) for value in token.values], "t": token.remaining_top, "s": token.shape}
    return signing.sign(orjson.dumps(payload), key)


def decode(text: str, key: bytes, shape: str, keys: list[SortKey]) -> SkipToken:
    """The token of a nextLink this service issued for this query, its values fit for `keys`."""
    raw = signing.verify(text, key)
    if raw is None:
        raise InvalidSkipToken("the $skiptoken is not one this service issued (or it was changed); "
                               "follow @odata.nextLink as given")
    try:
        payload = orjson.loads(raw)
        values = tuple(untag(item) for item in payload["k"])
        remaining = payload["t"]
        token_shape = payload["s"]
    except (ValueError, KeyError, TypeError, IndexError, InvalidOperation, orjson.JSONDecodeError):
        raise InvalidSkipToken("the $skiptoken is not one this service issued") from None
    if token_shape != shape or len(values) != len(keys):
        raise InvalidSkipToken("the $skiptoken belongs to a different query; follow @odata.nextLink as given")
    if remaining is not None and (not isinstance(remaining, int) or isinstance(remaining, bool) or remaining < 0):
        raise InvalidSkipToken("the $skiptoken is not one this service issued")
    # Signed tokens come from this service, but a key shared with another build (or a bug) must not
    # put a value of the wrong type in front of the database: check each against its sort key.
    for sort_key, value in zip(keys, values):
        if not _fits(sort_key, value):
            raise InvalidSkipToken("the $skiptoken holds a value that does not fit its sort key")
    return SkipToken(values, remaining, token_shape)


# The Python values a sort key of each Edm type may be read back as: the driver's, for the column or
# the expression (booleans sort as 0/1; SQLite gives dates computed by date() as text).
_NUMBERS = (int, float, Decimal)
_TEMPORAL = (dt.date, dt.time, str)
_ACCEPTED: dict[str, tuple[type, ...]] = {
    "Edm.String": (str,),
    "Edm.Guid": (str,),
    "Edm.Boolean": (int,),
    "Edm.Int32": _NUMBERS,
    "Edm.Int64": _NUMBERS,
    "Edm.Decimal": _NUMBERS,
    "Edm.Double": _NUMBERS,
    "Edm.DateTimeOffset": _TEMPORAL,
    "Edm.Date": _TEMPORAL,
    "Edm.TimeOfDay": _TEMPORAL,
    "Edm.Int16": _NUMBERS,
    "Edm.Byte": _NUMBERS,
    "Edm.SByte": _NUMBERS,
    "Edm.Single": _NUMBERS,
    "Edm.Duration": _NUMBERS,  # seconds
    "Edm.Binary": (bytes,),
}
_ANY = (int, float, Decimal, str, dt.date, dt.time)  # an enum (an int), 'null', an unknown type


def _fits(key: SortKey, value: object) -> bool:
    if value is None:
        return key.nullable
    if isinstance(value, bool) or not isinstance(value, _ACCEPTED.get(key.edm_type, _ANY)):
        return False  # booleans are read as 0/1, never as bool
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        return False  # past every database's 64-bit integers
    if isinstance(value, Decimal) and not value.is_finite():
        return False
    return not (isinstance(value, float) and key.edm_type != "Edm.Double" and not math.isfinite(value))


def tag(value: object) -> list[object]:
    """A value as JSON that keeps its Python type (skip tokens, dual-write's durable records)."""
    if value is None:
        return ["n"]
    if isinstance(value, bool):
        return ["b", value]
    if isinstance(value, int):
        return ["i", value]
    if isinstance(value, Decimal):
        return ["d", str(value)]
    if isinstance(value, float):
        return ["f", value] if math.isfinite(value) else ["f", repr(value)]  # 'inf', '-inf', 'nan' as text
    if isinstance(value, dt.datetime):
        return ["t", value.isoformat()]
    if isinstance(value, dt.date):
        return ["a", value.isoformat()]
    if isinstance(value, dt.time):
        return ["h", value.isoformat()]
    if isinstance(value, bytes):
        return ["x", value.hex()]
    return ["s", str(value)]


_UNTAG: dict[str, Callable[[Any], object]] = {
    "b": bool,
    "i": int,
    "d": Decimal,
    "f": float,
    "t": dt.datetime.fromisoformat,
    "a": dt.date.fromisoformat,
    "h": dt.time.fromisoformat,
    "x": bytes.fromhex,
    "s": str,
}


def untag(item: list[Any]) -> object:
    if item[0] == "n":
        return None
    return _UNTAG[item[0]](item[1])


