"""Dual-write's durable records keep Python types, and its two commit-order locks are one lock."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from gateway.dualwrite.capture import ADVISORY_LOCK
from gateway.dualwrite.store import decode_values, encode_values
from gateway.plan.dialects import dialect_traits


def test_values_round_trip_with_their_types() -> None:
    values = {"credit": Decimal("1234.500000"), "day": dt.date(2026, 11, 21), "at": dt.datetime(2026, 1, 2, 3, 4, 5),
              "name": "Ünïcode 'quoted'", "count": 7, "flag": True, "nothing": None}
    decoded = decode_values(encode_values(values))
    assert decoded == values
    assert {name: type(value) for name, value in decoded.items()} == {name: type(value) for name, value in values.items()}


def test_triggers_and_gateway_take_the_same_change_log_lock() -> None:
    assert dialect_traits("postgresql").change_log_lock == f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK})"
    assert dialect_traits("sqlite").change_log_lock == ""  # one writer at a time already
