"""Request bodies → typed property values, checked against the catalog before any SQL.

Every mistake is a 400 whose `target` names the property: unknown or read-only properties, wrong
JSON types, strings over MaxLength, numbers outside their type, unknown enum members, bad dates.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from gateway.catalog.model import Catalog, Entity, Property
from gateway.edm import SINGLE_MAX, flags_value, fraction_digits, parse_binary, parse_duration, to_single
from gateway.errors import BadRequest, InvalidValue, UnknownProperty, did_you_mean
from gateway.plan.types import INTEGER_RANGES

# F&O's empty date: what a date property holds when nothing was given.
EMPTY_DATE = dt.date(1900, 1, 1)



def property_values(catalog: Catalog, entity: Entity, body: object, *, allow_keys: bool = True) -> dict[str, object]:
    """The body's properties as typed values. Annotations (@odata.*) are ignored."""
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object of property values")
    values: dict[str, object] = {}
    for name, raw in body.items():
        if "@" in name:
            continue  # @odata.etag, @odata.type ... (Nav@odata.bind: see bind.py)
        prop = entity.properties.get(name)
        if prop is None and name in entity.structured:  # complex or collection-valued (gateway/write/structured.py)
            from gateway.write.structured import structured_values  # (which parses members with this module)

            values.update(structured_values(catalog, entity, name, raw))
            continue
        if prop is None:
            if name in entity.navigation:
                raise BadRequest(f"{name} is a navigation property: deep inserts are not supported", target=name)
            raise UnknownProperty(
                f"{entity.entity_type} has no property {name}." + did_you_mean(name, entity.properties), target=name
            )
        if prop.read_only:
            raise BadRequest(f"{name} is read-only", target=name)
        if prop.derived is not None and entity.base_type is None:
            raise BadRequest(f"{name} is a property of the derived type {prop.derived}: write it at "
                             f"{entity.entity_set}(key)/<Namespace>.{prop.derived}, or create with "
                             f'"@odata.type": "#<Namespace>.{prop.derived}"', target=name)
        if not allow_keys and name in entity.key:
            continue
        values[name] = parse_value(catalog, prop, raw)
    return values


def parse_value(catalog: Catalog, prop: Property, raw: object) -> object:
    """One JSON value as the Python value the database column takes."""
    name = prop.name
    if prop.type == "Edm.Stream":
        raise InvalidValue(f"{name} is a stream: PUT its bytes to its own URL (.../{name}), not in a JSON body",
                           target=name)
    if raw is None:
        if not prop.nullable:
            raise InvalidValue(f"{name} cannot be null", target=name)
        return None
    if catalog.is_enum(prop.type):
        return _enum(catalog, prop, raw)
    kind = prop.type
    if kind == "Edm.String" or kind == "Edm.Guid":
        if not isinstance(raw, str):
            raise InvalidValue(f"{name} must be a string", target=name)
        if kind == "Edm.Guid":
            return _parse(name, raw, lambda text: str(uuid.UUID(text)), "a Guid like 00000000-0000-0000-0000-000000000001")
        if prop.max_length is not None and len(raw) > prop.max_length:
            raise InvalidValue(f"{name} is longer than its MaxLength {prop.max_length} ({len(raw)})", target=name)
        return raw
    if kind in INTEGER_RANGES:
        value = _number(name, raw)
        low, high = INTEGER_RANGES[kind]
        if value != int(value) or not low <= value <= high:
            raise InvalidValue(f"{name} must be a whole number from {low} to {high}", target=name)
        return int(value)
    if kind == "Edm.Decimal":
        value = _number(name, raw)
        # Digits are counted from the Decimal itself: rounding would overflow its context above 28 digits.
        whole_digits = value.adjusted() + 1 if value else 0
        if prop.precision is not None and whole_digits > prop.precision - (prop.scale or 0):
            raise InvalidValue(f"{name} is too large for Precision {prop.precision}", target=name)
        places = -value.normalize().as_tuple().exponent if value else 0  # type: ignore[operator]
        if prop.scale is not None and places > prop.scale:
            raise InvalidValue(f"{name} has more than {prop.scale} decimal places", target=name)
        return value
    if kind == "Edm.Double":
        return float(_number(name, raw))
    if kind == "Edm.Single":
        number = float(_number(name, raw))
        if abs(number) > SINGLE_MAX:
            raise InvalidValue(f"{name} is beyond the range of Edm.Single (about ±3.4e38)", target=name)
        return to_single(number)  # what a REAL column keeps, whatever the column's width
    if kind == "Edm.Duration":
        seconds = _parse(name, raw, parse_duration, "a duration like P1DT2H30M")
        allowed = prop.precision or 0  # CSDL: a duration's precision (fractional second digits) defaults to 0
        if fraction_digits(seconds) > allowed:
            raise InvalidValue(f"{name} has more than {allowed} digits of fractional seconds", target=name)
        return seconds
    if kind == "Edm.Binary":
        data = _parse(name, raw, parse_binary, "base64url-encoded bytes")
        if prop.max_length is not None and len(data) > prop.max_length:
            raise InvalidValue(f"{name} is longer than its MaxLength {prop.max_length} bytes ({len(data)})",
                               target=name)
        return data
    if kind == "Edm.Boolean":
        if not isinstance(raw, bool):
            raise InvalidValue(f"{name} must be true or false", target=name)
        return raw
    if kind == "Edm.Date":
        return _parse(name, raw, dt.date.fromisoformat, "a date like 2024-01-31")
    if kind == "Edm.DateTimeOffset":
        value = _parse(name, raw, lambda text: dt.datetime.fromisoformat(text.replace("Z", "+00:00")),
                       "a date-time with an offset, like 2024-01-31T12:00:00Z")
        if value.tzinfo is None:
            raise InvalidValue(f"{name} needs an offset (Z or +hh:mm)", target=name)
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    if kind == "Edm.TimeOfDay":
        value = _parse(name, raw, dt.time.fromisoformat, "a time like 08:30:00")
        if value.tzinfo is not None:
            raise InvalidValue(f"{name} is a time of day without an offset, like 08:30:00", target=name)
        allowed = prop.precision or 0  # CSDL: fractional second digits, 0 unless the property says more
        if len(f"{value.microsecond:06d}".rstrip("0")) > allowed:  # (MariaDB's TIME would drop them silently)
            raise InvalidValue(f"{name} has more than {allowed} digits of fractional seconds", target=name)
        return value
    raise InvalidValue(f"{name}: values of {kind} cannot be written yet", target=name)


def empty_value(catalog: Catalog, prop: Property, in_new_row: bool = False) -> object:
    """What a property holds when a create does not give it: its default, or the type's empty value.

    `in_new_row`: the property's table row is being created, so a property that is nullable only
    because its table is optional (outer-joined) still gets a value, as its column needs one.
    """
    if prop.default is not None:
        return parse_value(catalog, prop, prop.default)
    if (prop.nullable and not in_new_row) or prop.type == "Edm.Stream":  # (bytes come at their own URL)
        return None
    if catalog.is_flags(prop.type):
        return 0  # no flag set
    if catalog.is_enum(prop.type):
        return min(catalog.service.enums[prop.type])
    return {
        "Edm.String": "",
        "Edm.Guid": "",
        "Edm.Int32": 0,
        "Edm.Int64": 0,
        "Edm.Decimal": Decimal(0),
        "Edm.Double": 0.0,
        "Edm.Boolean": False,
        "Edm.Date": EMPTY_DATE,
        "Edm.DateTimeOffset": dt.datetime(1900, 1, 1),
        "Edm.TimeOfDay": dt.time(0),
        "Edm.Int16": 0,
        "Edm.Byte": 0,
        "Edm.SByte": 0,
        "Edm.Single": 0.0,
        "Edm.Duration": Decimal(0),
        "Edm.Binary": b"",
    }[prop.type]


def _enum(catalog: Catalog, prop: Property, raw: object) -> int:
    members = {member: value for value, member in catalog.service.enums[prop.type].items()}
    if isinstance(raw, str) and catalog.is_flags(prop.type):
        # OData JSON: "InStock,OnSale" (or member values, "3") is the bitwise OR of its parts.
        try:
            return flags_value(raw.split(","), catalog.service.enums[prop.type])
        except ValueError as error:
            raise InvalidValue(f"{prop.name}: {str(error)!r} is not a member of the flags enum {prop.type} "
                               f"(members: {', '.join(members)})", target=prop.name) from None
    if isinstance(raw, str) and raw in members:
        return members[raw]
    if isinstance(raw, int) and not isinstance(raw, bool) and raw in catalog.service.enums[prop.type]:
        return raw
    raise InvalidValue(
        f"{prop.name}: {raw!r} is not a member of {prop.type} (members: {', '.join(members)})", target=prop.name
    )


def _number(name: str, raw: object) -> Decimal:
    # IEEE754Compatible clients send numbers as strings; both forms are accepted.
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise InvalidValue(f"{name} must be a number", target=name)
    if isinstance(raw, float) and not math.isfinite(raw):
        raise InvalidValue(f"{name} must be a finite number", target=name)
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise InvalidValue(f"{name} must be a number, not {raw!r}", target=name) from None
    if not value.is_finite():
        raise InvalidValue(f"{name} must be a finite number", target=name)
    return value


def _parse(name: str, raw: object, parser: Any, expected: str) -> Any:
    if not isinstance(raw, str):
        raise InvalidValue(f"{name} must be {expected}", target=name)
    try:
        return parser(raw)
    except ValueError:
        raise InvalidValue(f"{name} must be {expected}, not {raw!r}", target=name) from None
