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
# `FNO_GATEWAY_FAIL="link:initial-sync"` makes that fail point raise instead: a step that fails on
# purpose, so that a test can prove what a second run resumes. Read at each call (fail points sit on
# paths run once, like `fno-gateway link`'s steps), so an in-process test can set it for one run.
FAIL_ENVIRONMENT = "FNO_GATEWAY_FAIL"


class InjectedFailure(RuntimeError):
    """Raised by a fail point the environment names."""


def fault_point(name: str) -> None:
    """Wait here as long as the environment says (normally: not at all)."""
    seconds = _POINTS.get(name)
    if seconds:
        time.sleep(seconds)


def fail_point(name: str) -> None:
    """Raise InjectedFailure here if the environment names this point (normally: it does not)."""
    if name in (piece.strip() for piece in os.environ.get(FAIL_ENVIRONMENT, "").split(",")):
        raise InjectedFailure(f"injected failure at {name} ({FAIL_ENVIRONMENT})")
