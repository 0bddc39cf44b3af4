"""Edm primitive values the database has no type for, as the gateway stores and writes them.

One place for the conventions that parsing, planning, writing and serializing share:

- Edm.Duration is stored as a number of seconds (an integer column for whole seconds, a decimal column
  where the property's `precision` allows fractions) and written as an ISO 8601 dayTimeDuration,
  `P1DT2H30M`, as OData's durationValue has it (no years or months: their length varies).
- Edm.Binary is stored as bytes and written base64url without padding (OData JSON Format §7.1,
  RFC 4648 §5); a request may send either base64 alphabet, with or without padding.
- Edm.Single is IEEE 754 binary32: values are rounded to it before they reach the database, so a
  column of any float width holds exactly what a binary32 REAL column would, and comparisons agree.
- Flags enums: a value is the bitwise OR of members, written as their names in ascending value order,
  `"InStock,OnSale"` (OData JSON Format §7.1: the enumeration member names, else the number).
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import struct
from decimal import Decimal, InvalidOperation

SMALL_INTEGERS = ("Edm.SByte", "Edm.Byte", "Edm.Int16")
SINGLE_MAX = 3.4028234663852886e38  # the largest finite binary32

_DURATION = re.compile(r"([+-])?P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?")
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]*={0,2}")


# ---------------------------------------------------------------------- Duration
def parse_duration(text: str) -> Decimal:
    """`P1DT2H` → 93600 seconds; ValueError for anything that is not a dayTimeDuration."""
    match = _DURATION.fullmatch(text)
    if match is None or text.endswith(("P", "T")):  # "P", "PT", "P1DT": a designator with nothing after it
        raise ValueError(f"not a duration like P1DT2H30M: {text!r}")
    sign, days, hours, minutes, seconds = match.groups()
    total = (Decimal(days or 0) * 86400 + Decimal(hours or 0) * 3600 + Decimal(minutes or 0) * 60
             + Decimal(seconds or 0))
    return -total if sign == "-" else total


def duration_text(seconds: object) -> str:
    """A number of seconds as the canonical dayTimeDuration: 93600 → `P1DT2H`, 0 → `PT0S`."""
    value = seconds if isinstance(seconds, Decimal) else _decimal(seconds)
    sign = "-" if value < 0 else ""
    value = abs(value)
    whole = int(value)
    fraction = value - whole
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, whole_seconds = divmod(rest, 60)
    text = sign + "P" + (f"{days}D" if days else "")
    clock = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    if whole_seconds or fraction:
        digits = format(fraction.normalize(), "f")[1:] if fraction else ""  # ".5" from "0.5"
        clock += f"{whole_seconds}{digits}S"
    if clock:
        text += "T" + clock
    return text if days or clock else "PT0S"


def fraction_digits(seconds: Decimal) -> int:
    """How many digits a number of seconds has after the point (0 for whole seconds)."""
    exponent = seconds.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _decimal(value: object) -> Decimal:
    if isinstance(value, float):
        # A database without a decimal type gives a float: 15 significant digits undo its binary noise.
        return Decimal(format(value, ".15g"))
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"not a number of seconds: {value!r}") from None


# ---------------------------------------------------------------------- Binary
def parse_binary(text: str) -> bytes:
    """base64url (or base64), padding optional → bytes; ValueError for anything else."""
    stripped = text.rstrip("=")
    if not _BASE64.fullmatch(text) or ("=" in text and len(text) != len(stripped) + (-len(stripped) % 4)):
        raise ValueError("not base64url")
    body = text.rstrip("=").replace("-", "+").replace("_", "/")
    try:
        value = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except binascii.Error:
        raise ValueError("not base64url") from None
    if base64.b64encode(value).decode().rstrip("=") != body:  # unused low bits set: 'QUJ' for 'QUI'
        raise ValueError("not base64url")
    return value


def binary_text(value: bytes | bytearray | memoryview) -> str:
    return base64.urlsafe_b64encode(bytes(value)).decode().rstrip("=")


# ---------------------------------------------------------------------- Single
def to_single(value: float) -> float:
    """The binary32 nearest to `value` (as a Python float); OverflowError beyond binary32's range."""
    if not math.isfinite(value):
        return value
    result: float = struct.unpack("<f", struct.pack("<f", value))[0]
    return result


def single_value(value: float) -> float:
    """The shortest decimal that reads back as the same binary32: 1.100000023841858 (binary32 1.1
    widened to a double, as SQLite or a DOUBLE column holds it) → 1.1."""
    single = to_single(value)
    if not math.isfinite(single) or single == 0:
        return single
    for digits in range(6, 10):  # 9 significant digits always identify a binary32
        shorter = float(f"{single:.{digits}g}")
        if to_single(shorter) == single:
            return shorter
    return single


# ---------------------------------------------------------------------- flags enums
def flags_text(value: int, members: dict[int, str]) -> str:
    """A flags value as member names in ascending value order, `InStock,OnSale`; a value that is not a
    combination of members is written as its number (OData JSON Format §7.1)."""
    if value in members:
        return members[value]
    chosen: list[int] = []
    remaining = value
    for member in sorted((m for m in members if m > 0), reverse=True):  # the widest members first
        if member & remaining == member:
            chosen.append(member)
            remaining &= ~member
    if remaining or value <= 0:  # (0 without a zero member: "0")
        return str(value)
    return ",".join(members[member] for member in sorted(chosen))


def flags_value(parts: list[str], members: dict[int, str]) -> int:
    """`["InStock", "OnSale"]` or `["3"]` → the combined integer; ValueError naming the first part
    that is neither a member nor a value made of members' bits."""
    by_name = {name: value for value, name in members.items()}
    every_bit = 0
    for member in members:
        every_bit |= member
    total = 0
    for part in parts:
        part = part.strip()
        if part in by_name:
            total |= by_name[part]
        elif re.fullmatch(r"[0-9]{1,19}", part) and int(part) & ~every_bit == 0:
            total |= int(part)
        else:
            raise ValueError(part)
    return total
