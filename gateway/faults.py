"""Fault points: where crash tests stop a real gateway process at a chosen moment, to kill it there.

`FNO_GATEWAY_FAULTS="before-origin-commit=20"` makes a write unit whose live sync has just committed the
other side wait 20 s before its own commit, so that a test can SIGKILL the process between the two
commits, the moment dual-write's recovery exists for. (A database cannot hold a COMMIT open from outside
on every engine: with SQLite's write-ahead log nothing makes a commit wait.) Unset, as everywhere outside
those tests, a fault point costs one dictionary lookup.
"""

from __future__ import annotations

import os
import time

ENVIRONMENT = "FNO_GATEWAY_FAULTS"


def _parse(text: str) -> dict[str, float]:
    points: dict[str, float] = {}
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        name, _, seconds = part.partition("=")
        points[name.strip()] = float(seconds or 0)
    return points


_POINTS = _parse(os.environ.get(ENVIRONMENT, ""))


def fault_point(name: str) -> None:
    """Wait here as long as the environment says (normally: not at all)."""
    seconds = _POINTS.get(name)
    if seconds:
        time.sleep(seconds)
