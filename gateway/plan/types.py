"""Edm types: their SQLAlchemy column types and the families that decide what may be compared."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, DateTime, Float, Integer, Numeric, String, Time
from sqlalchemy.types import TypeEngine

from gateway.catalog.model import Catalog

_SQL_TYPES: dict[str, TypeEngine[Any]] = {
    "Edm.String": String(),
    "Edm.Int32": Integer(),
    "Edm.Int64": BigInteger(),
    "Edm.Decimal": Numeric(asdecimal=True),
    "Edm.Double": Float(),
    "Edm.Boolean": Boolean(),
    "Edm.Date": Date(),
    "Edm.DateTimeOffset": DateTime(),
    "Edm.TimeOfDay": Time(),
    "Edm.Guid": String(),
}

NUMERIC_TYPES = ("Edm.Int32", "Edm.Int64", "Edm.Decimal", "Edm.Double")
INTEGER_RANGES = {"Edm.Int32": (-(2**31), 2**31 - 1), "Edm.Int64": (-(2**63), 2**63 - 1)}
# Wider of two numeric types, as OData's numeric promotion rules give it.
_NUMERIC_RANK = {name: rank for rank, name in enumerate(NUMERIC_TYPES)}


def sql_type(edm_type: str, catalog: Catalog) -> TypeEngine[Any]:
    """The column type a property of `edm_type` is read with (enums are stored as integers)."""
    if catalog.is_enum(edm_type):
        return Integer()
    return _SQL_TYPES[edm_type]


def is_primitive(edm_type: str) -> bool:
    """Whether the catalog's primitive types include `edm_type` (geo, binary, duration: not yet)."""
    return edm_type in _SQL_TYPES


def is_numeric(edm_type: str) -> bool:
    return edm_type in _NUMERIC_RANK


def wider_numeric(left: str, right: str) -> str:
    return left if _NUMERIC_RANK[left] >= _NUMERIC_RANK[right] else right


def comparable(left: str, right: str) -> bool:
    """Whether values of the two types may be compared with eq/lt/... ('null' fits anything)."""
    if "null" in (left, right) or left == right:
        return True
    return is_numeric(left) and is_numeric(right)
