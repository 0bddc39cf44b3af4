"""gateway/threads.py: blocking work on a thread (context carried, cancellation waits), or inline
when it was quick the last time. Which thread ran the work is read from `threading`, not the module."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time

from gateway.threads import QuickInline, in_thread

request_name: contextvars.ContextVar[str] = contextvars.ContextVar("request_name", default="none")


def test_in_thread_runs_elsewhere_with_the_callers_context() -> None:
    async def scenario() -> tuple[int, int, str]:
        request_name.set("req-1")
        loop_thread = threading.get_ident()
        worker, seen = await in_thread(lambda: (threading.get_ident(), request_name.get()))
        return loop_thread, worker, seen

    loop_thread, worker, seen = asyncio.run(scenario())
    assert worker != loop_thread and seen == "req-1"


def test_a_cancelled_caller_waits_for_its_thread() -> None:
    finished: list[float] = []

    def slow() -> None:
        time.sleep(0.3)
        finished.append(time.monotonic())

    async def scenario() -> float:
        task = asyncio.create_task(in_thread(slow))
        await asyncio.sleep(0.05)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            return time.monotonic()
        raise AssertionError("not cancelled")

    cancelled_at = asyncio.run(scenario())
    assert finished and finished[0] <= cancelled_at  # the request ended only after its work did


def test_quick_work_runs_inline_and_slow_work_goes_back_to_a_thread() -> None:
    quick = QuickInline(quick_seconds=0.05)
    delays = {"key": 0.0}

    def work() -> int:
        time.sleep(delays["key"])
        return threading.get_ident()

    async def scenario() -> list[bool]:
        loop_thread = threading.get_ident()
        inline = []
        for delay in (0.0, 0.0, 0.1, 0.0, 0.0):
            delays["key"] = delay
            inline.append(await quick.run("key", work) == loop_thread)
        return inline

    # New work on a thread; quick last time: inline; the slow inline run sends the next to a thread.
    assert asyncio.run(scenario()) == [False, True, True, False, True]


def test_what_it_remembers_is_bounded() -> None:
    quick = QuickInline(remembered=3)

    async def scenario() -> None:
        for key in range(10):
            await quick.run(key, lambda: None)

    asyncio.run(scenario())
    assert len(quick._last) <= 3
