"""Keyset paging: the sort keys of a page, the ORDER BY they give and the $skiptoken that resumes.

A nextLink carries the sort-key values of the last row served, not an offset, so walking every
nextLink yields each row exactly once even when rows are inserted or deleted in between. Sorting
follows OData: null comes first in ascending order and last in descending order, on every database.
"""

from __future__ import annotations

import base64
import binascii
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


@dataclass(frozen=True)
class SortKey:
    sql: ColumnElement[Any]
    descending: bool
    nullable: bool


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


def encode(token: SkipToken) -> str:
    payload = {"k": [tag(value) for value in token.values], "t": token.remaining_top, "s": token.shape}
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


def decode(text: str, shape: str, key_count: int) -> SkipToken:
    try:
        payload = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        values = tuple(untag(item) for item in payload["k"])
        remaining = payload["t"]
        token_shape = payload["s"]
    except (ValueError, KeyError, TypeError, IndexError, binascii.Error, InvalidOperation, orjson.JSONDecodeError):
        raise InvalidSkipToken("the $skiptoken is not one this service issued") from None
    if token_shape != shape or len(values) != key_count:
        raise InvalidSkipToken("the $skiptoken belongs to a different query; follow @odata.nextLink as given")
    if remaining is not None and (not isinstance(remaining, int) or remaining < 0):
        raise InvalidSkipToken("the $skiptoken is not one this service issued")
    return SkipToken(values, remaining, token_shape)


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
    return ["s", str(value)]


_UNTAG: dict[str, Callable[[Any], object]] = {
    "b": bool,
    "i": int,
    "d": Decimal,
    "f": float,
    "t": dt.datetime.fromisoformat,
    "a": dt.date.fromisoformat,
    "h": dt.time.fromisoformat,
    "s": str,
}


def untag(item: list[Any]) -> object:
    if item[0] == "n":
        return None
    return _UNTAG[item[0]](item[1])


