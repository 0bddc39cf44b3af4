"""Per-principal sliding windows, on a fake clock; the expectations are worked out by hand."""

from __future__ import annotations

import math

from gateway.protect.limits import PrincipalLimits
from gateway.protect.window import PrincipalWindows


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_requests_beyond_the_window_limit_are_refused_until_the_oldest_leaves() -> None:
    clock = Clock()
    windows = PrincipalWindows(PrincipalLimits(window_seconds=300, requests=3, execution_seconds=0, concurrency=0),
                               clock)
    admitted_at = []
    for step in (0.0, 10.0, 20.0):
        clock.now += step
        assert windows.admit("alice") is None
        windows.finish("alice", 0.01)
        admitted_at.append(clock.now)
    clock.now += 5
    refusal = windows.admit("alice")
    assert refusal is not None and "3 requests" in refusal.reason
    assert refusal.retry_after == math.ceil(admitted_at[0] + 300 - clock.now)  # 300 - 35 = 265
    assert refusal.retry_after == 265
    assert windows.admit("bob") is None  # another principal has a window of its own
    clock.now = admitted_at[0] + 300.001  # the first request has left the window
    assert windows.admit("alice") is None
    assert windows.admit("alice") is not None  # and only one place was freed


def test_refused_requests_do_not_count() -> None:
    clock = Clock()
    windows = PrincipalWindows(PrincipalLimits(300, 1, 0, 0), clock)
    assert windows.admit("a") is None
    for _ in range(50):
        assert windows.admit("a") is not None
    assert windows.usage("a")[0] == 1


def test_execution_time_is_summed_and_retry_after_waits_for_enough_of_it_to_leave() -> None:
    clock = Clock()
    windows = PrincipalWindows(PrincipalLimits(window_seconds=300, requests=0, execution_seconds=10, concurrency=0),
                               clock)
    ends = []
    for seconds in (4.0, 4.0, 4.0):  # 12 s in all, over the 10 s limit
        assert windows.admit("alice") is None
        clock.now += seconds
        windows.finish("alice", seconds)
        ends.append(clock.now)
    refusal = windows.admit("alice")
    assert refusal is not None and "execution time" in refusal.reason
    # Dropping the first run leaves 8 s < 10 s: admitted again when it leaves the window.
    assert refusal.retry_after == math.ceil(ends[0] + 300 - clock.now)
    clock.now = ends[0] + 300.5
    assert windows.admit("alice") is None


def test_concurrency_limit_counts_requests_in_flight() -> None:
    windows = PrincipalWindows(PrincipalLimits(300, 0, 0, concurrency=2), Clock())
    assert windows.admit("a") is None
    assert windows.admit("a") is None
    refusal = windows.admit("a")
    assert refusal is not None and "2 concurrent" in refusal.reason and refusal.retry_after >= 1
    windows.finish("a", 0.5)
    assert windows.admit("a") is None


def test_idle_principals_are_forgotten() -> None:
    clock = Clock()
    windows = PrincipalWindows(PrincipalLimits(10, 100, 0, 0), clock)
    for index in range(1000):
        assert windows.admit(f"client:{index}") is None
        windows.finish(f"client:{index}", 0.0)
    clock.now += 11
    for _ in range(1000):
        windows.admit("busy")
        windows.finish("busy", 0.0)
    assert len(windows._usage) < 10  # noqa: SLF001 - the memory bound is the point of the test
