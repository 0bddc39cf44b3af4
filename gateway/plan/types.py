"""Edm types: their SQLAlchemy column types and the families that decide what may be compared."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    Numeric,
    SmallInteger,
    String,
    Time,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from gateway.catalog.model import Catalog
from gateway.edm import to_single


class Single(TypeDecorator[float]):
    """Edm.Single: every value read or bound is the binary32 it stands for, widened to a double. A REAL
    read back as text (PostgreSQL, MariaDB) is 1.1, which is not the 1.100000023841858 the column compares
    as; rounded here, a value read (a $skiptoken's sort key) compares equal to its own row on every database."""

    impl = Float
    cache_ok = True

    def process_bind_param(self, value: float | None, dialect: Dialect) -> float | None:
        return None if value is None else to_single(float(value))

    def process_result_value(self, value: object, dialect: Dialect) -> float | None:
        return None if value is None else to_single(float(value))  # type: ignore[arg-type]


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
    "Edm.Int16": SmallInteger(),
    "Edm.Byte": SmallInteger(),
    "Edm.SByte": SmallInteger(),
    "Edm.Single": Single(),
    # Seconds (gateway/edm.py), read as the driver gives them (int, float, Decimal): SQLite has no decimals.
    "Edm.Duration": Numeric(asdecimal=False),
    "Edm.Binary": LargeBinary(),
}

# In OData's order of numeric promotion (Part 2 §5.1.1.4): the wider type is the later one.
NUMERIC_TYPES = ("Edm.SByte", "Edm.Byte", "Edm.Int16", "Edm.Int32", "Edm.Int64", "Edm.Decimal", "Edm.Single",
                 "Edm.Double")
INTEGER_RANGES = {
    "Edm.SByte": (-128, 127),
    "Edm.Byte": (0, 255),
    "Edm.Int16": (-(2**15), 2**15 - 1),
    "Edm.Int32": (-(2**31), 2**31 - 1),
    "Edm.Int64": (-(2**63), 2**63 - 1),
}
# Wider of two numeric types, as OData's numeric promotion rules give it.
_NUMERIC_RANK = {name: rank for rank, name in enumerate(NUMERIC_TYPES)}


def sql_type(edm_type: str, catalog: Catalog) -> TypeEngine[Any]:
    """The column type a property of `edm_type` is read with (enums are stored as integers)."""
    if catalog.is_enum(edm_type):
        return Integer()
    if edm_type == "Edm.Stream":  # bytes, but not a primitive value: is_primitive() says no
        return LargeBinary()
    return _SQL_TYPES[edm_type]


def is_primitive(edm_type: str) -> bool:
    """Whether the catalog's primitive types include `edm_type` (geo and streams: not)."""
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
