"""Per-principal sliding windows: requests and execution time per window, and requests in flight.

A request is admitted or refused with the number of seconds after which it would be admitted
(Retry-After), computed from the window: when the oldest requests (or enough execution time) leave
it. Refused requests are not counted. The state is this worker's only.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.protect.limits import PrincipalLimits


@dataclass
class _Usage:
    starts: deque[float] = field(default_factory=deque)  # admission times in the window
    runs: deque[tuple[float, float]] = field(default_factory=deque)  # (end, seconds) in the window
    run_seconds: float = 0.0  # the sum of `runs`
    in_flight: int = 0

    def forget_before(self, horizon: float) -> None:
        while self.starts and self.starts[0] <= horizon:
            self.starts.popleft()
        while self.runs and self.runs[0][0] <= horizon:
            self.run_seconds -= self.runs.popleft()[1]
        if not self.runs:
            self.run_seconds = 0.0  # no drift from float sums


@dataclass(frozen=True)
class Refusal:
    reason: str
    retry_after: int  # seconds


class PrincipalWindows:
    """Admission by principal key. Call `admit` before a request, `finish` after it (if admitted)."""

    def __init__(self, limits: PrincipalLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self._usage: dict[str, _Usage] = {}
        self._since_sweep = 0
        self._lock = threading.Lock()  # one worker may run several event loops (threads)

    def admit(self, key: str) -> Refusal | None:
        with self._lock:
            return self._admit(key)

    def _admit(self, key: str) -> Refusal | None:
        now = self.clock()
        limits = self.limits
        self._sweep(now)
        usage = self._usage.setdefault(key, _Usage())
        usage.forget_before(now - limits.window_seconds)
        if limits.concurrency and usage.in_flight >= limits.concurrency:
            return Refusal(f"more than {limits.concurrency} concurrent requests", self._concurrency_retry(usage))
        if limits.requests and len(usage.starts) >= limits.requests:
            # Admitted again once the request that makes the count reach the limit leaves the window.
            leaving = usage.starts[len(usage.starts) - limits.requests]
            return Refusal(f"more than {limits.requests} requests in {limits.window_seconds:g} seconds",
                           _seconds(leaving + limits.window_seconds - now))
        if limits.execution_seconds and usage.run_seconds >= limits.execution_seconds:
            remaining = usage.run_seconds
            leaving_at = now
            for end, seconds in usage.runs:
                remaining -= seconds
                leaving_at = end
                if remaining < limits.execution_seconds:
                    break
            return Refusal(f"more than {limits.execution_seconds:g} seconds of combined execution time in "
                           f"{limits.window_seconds:g} seconds", _seconds(leaving_at + limits.window_seconds - now))
        usage.starts.append(now)
        usage.in_flight += 1
        return None

    def finish(self, key: str, seconds: float) -> None:
        with self._lock:
            usage = self._usage.setdefault(key, _Usage())
            usage.in_flight = max(0, usage.in_flight - 1)
            usage.runs.append((self.clock(), seconds))
            usage.run_seconds += seconds

    def usage(self, key: str) -> tuple[int, float, int]:
        """(requests, execution seconds, in flight) of `key` in the current window."""
        usage = self._usage.get(key)
        if usage is None:
            return 0, 0.0, 0
        usage.forget_before(self.clock() - self.limits.window_seconds)
        return len(usage.starts), usage.run_seconds, usage.in_flight

    def _concurrency_retry(self, usage: _Usage) -> int:
        """About when one of the requests in flight ends: their mean duration in the window."""
        if not usage.runs:
            return 1
        return _seconds(usage.run_seconds / len(usage.runs))

    def _sweep(self, now: float) -> None:
        """Principals idle for a whole window are forgotten, so client addresses do not pile up."""
        self._since_sweep += 1
        if self._since_sweep < 1000:
            return
        self._since_sweep = 0
        horizon = now - self.limits.window_seconds
        for key in list(self._usage):
            usage = self._usage[key]
            usage.forget_before(horizon)
            if not usage.starts and not usage.runs and not usage.in_flight:
                del self._usage[key]


def _seconds(value: float) -> int:
    return max(1, math.ceil(value))
