"""Captured records (the JSON a capture trigger wrote) as typed Python values and as payload JSON.

Typed values are what conditions compare: Decimal, int, bool, date, naive UTC datetime, enum member
names, str. Payload values are OData JSON: enums as member names, Decimals as exact numbers,
date-times in UTC with 'Z'. F&O leaves null date-times (and its 1900-01-01 "no date") out of a data
event's record; so does the payload here.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from gateway.catalog.model import Catalog, Entity
from gateway.edm import flags_text
from gateway.serialize.values import JsonFormat, converter

Record = dict[str, Any]
_NO_DATE_YEAR = 1900  # F&O's "no date" (1900-01-01) is a null
_DATE_TYPES = ("Edm.Date", "Edm.DateTimeOffset")


def decode(catalog: Catalog, entity: Entity, document: str | None) -> Record | None:
    """A trigger's JSON record as typed values (None when there is no such image)."""
    if document is None:
        return None
    raw: dict[str, Any] = json.loads(document, parse_float=Decimal)
    return {name: _typed(catalog, entity.properties[name].type, raw.get(name)) for name in entity.properties}


def _typed(catalog: Catalog, type_name: str, value: Any) -> Any:
    if value is None:
        return None
    if catalog.is_flags(type_name):
        return flags_text(int(value), catalog.service.enums[type_name])  # "InStock,OnSale"
    if catalog.is_enum(type_name):
        return catalog.service.enums[type_name].get(int(value), str(value))
    if type_name == "Edm.Decimal":
        # SQLite computes in binary floating point: 15 significant digits undo the noise.
        return Decimal(format(value, ".15g")) if isinstance(value, float) else Decimal(value)
    if type_name in ("Edm.Int32", "Edm.Int64", "Edm.Int16", "Edm.Byte", "Edm.SByte"):
        return int(value)
    if type_name == "Edm.Duration":  # seconds
        return Decimal(format(value, ".15g")) if isinstance(value, float) else Decimal(str(value))
    if type_name == "Edm.Boolean":
        return bool(value)
    if type_name in ("Edm.Double", "Edm.Single"):
        return float(value)
    if type_name == "Edm.Date":
        return dt.date.fromisoformat(str(value)[:10])
    if type_name == "Edm.DateTimeOffset":
        moment = dt.datetime.fromisoformat(str(value).replace(" ", "T"))
        return moment.astimezone(dt.UTC).replace(tzinfo=None) if moment.tzinfo else moment
    return value if isinstance(value, str) else str(value)


def payload_value(catalog: Catalog, type_name: str, value: Any) -> Any:
    """One typed value as OData JSON (an enum's member name is already its payload value)."""
    if catalog.is_enum(type_name) or value is None:
        return value
    return converter(type_name, catalog, _FORMAT)(value)


_FORMAT = JsonFormat()


def payload_record(catalog: Catalog, entity: Entity, record: Record) -> dict[str, Any]:
    """The entity record of a data event: OData JSON values, null date-times left out."""
    result: dict[str, Any] = {}
    for name, value in record.items():
        type_name = entity.properties[name].type
        if type_name in _DATE_TYPES and (value is None or value.year == _NO_DATE_YEAR):
            continue
        result[name] = payload_value(catalog, type_name, value)
    return result


def changed_properties(before: Record | None, after: Record | None) -> frozenset[str]:
    if before is None or after is None:
        return frozenset((before or after or {}).keys())
    return frozenset(name for name in after if after[name] != before.get(name))
