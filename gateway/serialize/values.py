"""Database values → OData JSON values, one converter per property chosen once per request.

DateTimeOffset is stored as naive UTC and written with 'Z'; Decimal is written as an exact JSON
number (a string with IEEE754Compatible=true); enums are written as member names.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from gateway.catalog.model import Catalog
from gateway.edm import binary_text, duration_text, flags_text, single_value

Converter = Callable[[Any], Any]


@dataclass(frozen=True)
class JsonFormat:
    metadata: str = "minimal"  # minimal | full | none
    ieee754_compatible: bool = False
    formatted_values: bool = False  # Prefer: odata.include-annotations="...FormattedValue"

    @property
    def annotations(self) -> bool:
        return self.metadata != "none"


def _decimal_text(value: Decimal) -> str:
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def _as_decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        # Databases without a decimal type (SQLite) compute in binary floating point: 15 significant
        # digits undo the binary noise (828918.9399999999 → 828918.94) and are exact for every input.
        return Decimal(format(value, ".15g"))
    return Decimal(str(value))


def _decimal(value: Any) -> Any:
    if value.__class__ is int:  # SQLite keeps whole numbers of a REAL column as integers: exact as they are
        return value
    if isinstance(value, float) and math.isfinite(value) and abs(value) < 1e15:
        # A database without a decimal type hands over its float: orjson writes the shortest text
        # that reads back as it (1188.42), and whole numbers go as integers, as Decimals do.
        return int(value) if value.is_integer() else value
    return None if value is None else orjson.Fragment(_decimal_text(_as_decimal(value)))


def _decimal_string(value: Any) -> Any:
    if value.__class__ is int:
        return str(value)
    if isinstance(value, float) and math.isfinite(value) and abs(value) < 1e15:
        return str(int(value)) if value.is_integer() else repr(value)
    return None if value is None else _decimal_text(_as_decimal(value))


def _datetime(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str):  # drivers without a datetime type hand back text
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    text = value.isoformat(timespec="microseconds" if value.microsecond else "seconds")
    return text + "Z"


def _isoformat(value: Any) -> Any:
    return None if value is None else value.isoformat() if not isinstance(value, str) else value


def _double(value: Any) -> Any:
    if value is None:
        return None
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "INF" if value > 0 else "-INF"
    return value


def _int(value: Any) -> Any:
    return None if value is None else int(value)


def _int_string(value: Any) -> Any:
    return None if value is None else str(int(value))


def _bool(value: Any) -> Any:
    return None if value is None else bool(value)


def _string(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return base64.urlsafe_b64encode(value).decode()
    return str(value)


def _single(value: Any) -> Any:
    """Edm.Single: the shortest number that is the same binary32 (a REAL read as a double is 1.100000023841858)."""
    if value is None:
        return None
    value = float(value)
    return _double(value) if not math.isfinite(value) else single_value(value)


def _duration(value: Any) -> Any:
    return None if value is None else duration_text(value)


def _binary(value: Any) -> Any:
    return None if value is None else binary_text(value)


def _flags(members: dict[int, str]) -> Converter:
    def convert(value: Any) -> Any:
        return None if value is None else flags_text(int(value), members)

    return convert


def _enum(members: dict[int, str]) -> Converter:
    def convert(value: Any) -> Any:
        if value is None:
            return None
        return members.get(int(value), str(value))

    return convert


def converter(type_name: str, catalog: Catalog, json_format: JsonFormat) -> Converter:
    if catalog.is_enum(type_name):
        if catalog.is_flags(type_name):
            return _flags(catalog.service.enums[type_name])
        return _enum(catalog.service.enums[type_name])
    ieee = json_format.ieee754_compatible
    return {
        "Edm.Decimal": _decimal_string if ieee else _decimal,
        "Edm.Int64": _int_string if ieee else _int,
        "Edm.Int32": _int,
        "Edm.Int16": _int,
        "Edm.Byte": _int,
        "Edm.SByte": _int,
        "Edm.Double": _double,
        "Edm.Single": _single,
        "Edm.Duration": _duration,
        "Edm.Binary": _binary,
        "Edm.Boolean": _bool,
        "Edm.Date": _isoformat,
        "Edm.TimeOfDay": _isoformat,
        "Edm.DateTimeOffset": _datetime,
    }.get(type_name, _string)


# For generated row shapers (gateway/execute.py): an expression that gives what `convert(v)` gives
# without the call when the driver already returns the wire form, and calls it otherwise. {v} is a
# local variable holding the value, {c} the converter's name.
_INLINE: dict[Converter, str] = {
    _string: "{v} if {v}.__class__ is str or {v} is None else {c}({v})",
    _isoformat: "{v} if {v}.__class__ is str or {v} is None else {c}({v})",
    _int: "{v} if {v}.__class__ is int else {c}({v})",
    # (a fractional float within ±1e15 is written as it is: _decimal's own first case)
    _decimal: "{v} if {v}.__class__ is int or ({v}.__class__ is float and not {v}.is_integer() and -1e15 < {v} < 1e15)"
              " else {c}({v})",
}


def inline_expression(convert: Converter, value: str, name: str) -> str:
    """`convert` applied to the local `value` as Python source (`name` is the converter's name)."""
    template = _INLINE.get(convert)
    return template.format(v=value, c=name) if template is not None else f"{name}({value})"


def etag_expression(values: Sequence[str]) -> str:
    """`etag(values)` as Python source over local variables, without building a list per row."""
    parts = ' + "," + '.join(f'("0" if {value} is None else str({value}))' for value in values)
    return f"""'W/"' + b2a_base64(({parts}).encode(), newline=False).decode() + '"'"""


def etag(values: Sequence[Any]) -> str:
    """A weak ETag over the RECID/RECVERSION pairs of every table behind the row.

    Any update bumps RECVERSION of the table it touches, so the tag changes with the row's data.
    """
    parts = ",".join(["0" if value is None else str(value) for value in values])
    return 'W/"' + binascii.b2a_base64(parts.encode(), newline=False).decode() + '"'


def etag_row_id(tag: str) -> int | None:
    """The first table's row id (RECID) inside an ETag made by `etag`, or None for any other tag."""
    try:
        first = base64.b64decode(tag.removeprefix("W/").strip('"'), validate=True).decode().split(",", 1)[0]
        return int(first)
    except (ValueError, UnicodeDecodeError):
        return None
