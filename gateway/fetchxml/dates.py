"""FetchXML's relative date operators → half-open day ranges [start, end), computed from `today`.

The bounds are computed once, at translation, from the date the caller passes in: the resulting
query holds literal dates, so a plan never reads the clock and two translations on the same day
are equal (cacheable, testable).

Dataverse evaluates these in the user's time zone and some of them up to "now" (last-x-days ends at
the current time, next-x-days starts at it); the gateway knows no user time zone and keeps plans
clock-free, so every range here is made of whole UTC days: last-x-days runs to the end of today and
next-x-days from the start of today. Weeks start on Sunday (Dataverse's default).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable

from gateway.errors import BadRequest

Range = tuple[dt.date | None, dt.date | None]  # [start, end): None is unbounded on that side

_COUNT = re.compile(r"[0-9]{1,6}")


def _add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later (or earlier), clamped to the end of a shorter month."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    if not 1 <= year <= 9999:
        raise ValueError("year out of range")
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=(day.weekday() + 1) % 7)  # Sunday


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _year_start(day: dt.date) -> dt.date:
    return day.replace(month=1, day=1)


def _days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


# operator → range from (today, x); x is 0 for the operators that take no value.
_FIXED: dict[str, Callable[[dt.date], Range]] = {
    "today": lambda t: (t, t + _days(1)),
    "yesterday": lambda t: (t - _days(1), t),
    "tomorrow": lambda t: (t + _days(1), t + _days(2)),
    "last-seven-days": lambda t: (t - _days(7), t + _days(1)),
    "next-seven-days": lambda t: (t, t + _days(8)),
    "this-week": lambda t: (_week_start(t), _week_start(t) + _days(7)),
    "last-week": lambda t: (_week_start(t) - _days(7), _week_start(t)),
    "next-week": lambda t: (_week_start(t) + _days(7), _week_start(t) + _days(14)),
    "this-month": lambda t: (_month_start(t), _add_months(_month_start(t), 1)),
    "last-month": lambda t: (_add_months(_month_start(t), -1), _month_start(t)),
    "next-month": lambda t: (_add_months(_month_start(t), 1), _add_months(_month_start(t), 2)),
    "this-year": lambda t: (_year_start(t), _year_start(t).replace(year=t.year + 1)),
    "last-year": lambda t: (_year_start(t).replace(year=t.year - 1), _year_start(t)),
    "next-year": lambda t: (_year_start(t).replace(year=t.year + 1), _year_start(t).replace(year=t.year + 2)),
}

_BACK: dict[str, Callable[[dt.date, int], dt.date]] = {
    "days": lambda t, x: t - _days(x),
    "weeks": lambda t, x: t - _days(7 * x),
    "months": lambda t, x: _add_months(t, -x),
    "years": lambda t, x: _add_months(t, -12 * x),
}
_FORWARD: dict[str, Callable[[dt.date, int], dt.date]] = {
    "days": lambda t, x: t + _days(x),
    "weeks": lambda t, x: t + _days(7 * x),
    "months": lambda t, x: _add_months(t, x),
    "years": lambda t, x: _add_months(t, 12 * x),
}

# Operators that take a count x (the condition's value).
COUNTED = frozenset(
    [f"last-x-{unit}" for unit in _BACK]
    + [f"next-x-{unit}" for unit in _FORWARD]
    + [f"olderthan-x-{unit}" for unit in _BACK]
    + ["older-x-days"]
)
NO_VALUE = frozenset(_FIXED)
# Operators that need the time of day ("now"), which a clock-free plan cannot hold.
CLOCKED = frozenset({"last-x-hours", "next-x-hours", "olderthan-x-minutes", "olderthan-x-hours"})


def relative_range(operator: str, today: dt.date, value: str | None) -> Range:
    """The day range of a relative date operator (one of NO_VALUE or COUNTED)."""
    try:
        if operator in _FIXED:
            return _FIXED[operator](today)
        x = _count(operator, value)
        kind, _, unit = operator.rpartition("-")
        if kind == "last-x":
            return _BACK[unit](today, x), today + _days(1)
        if kind == "next-x":
            return today, _FORWARD[unit](today, x) + _days(1)
        # olderthan-x-<unit> (and the short spelling older-x-days): before the start of that day.
        return None, _BACK[unit](today, x)
    except (OverflowError, ValueError):
        raise BadRequest(f"operator '{operator}': the dates it stands for are outside years 1 to 9999") from None


def on_range(operator: str, day: dt.date) -> Range:
    """on, on-or-after, on-or-before: whole days around the given date."""
    try:
        if operator == "on":
            return day, day + _days(1)
        if operator == "on-or-after":
            return day, None
        return None, day + _days(1)  # on-or-before
    except OverflowError:
        return (day, None) if operator == "on" else (None, None)  # the last representable day


def _count(operator: str, value: str | None) -> int:
    text = (value or "").strip()
    if not _COUNT.fullmatch(text):
        raise BadRequest(f"operator '{operator}' needs a whole number of at most 6 digits as its value, "
                         f"not '{text[:40]}'")
    return int(text)
