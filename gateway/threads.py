"""A request's blocking work (SQL through a synchronous driver) on a thread, at the least cost.

Starlette's `run_in_threadpool` goes through anyio: it asks sniffio which library runs the loop,
takes a capacity-limiter token and opens a cancel scope on every call, which was a tenth of the
event loop's busy time for a key lookup (py-spy on a served worker, 2026-12-07). This is the
plain asyncio way: the loop's `run_in_executor` on one pool per process, the caller's context
variables carried into the thread (the request's QueryGuard lives in one), and, as anyio does, a
cancelled caller still waits for its thread to finish, so a request never ends while its SQL runs.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import time
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

# As many threads as anyio's default limiter allowed; the protection gate admits far fewer requests
# at once (twice the cores by default), so this bounds only unprotected paths.
_POOL = ThreadPoolExecutor(max_workers=40, thread_name_prefix="fno-db")


async def in_thread(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`function(*args, **kwargs)` on a pool thread, in a copy of the caller's context."""
    call = functools.partial(contextvars.copy_context().run, function, *args, **kwargs)
    future = asyncio.get_running_loop().run_in_executor(_POOL, call)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        # The thread cannot be stopped (its queries are, by the QueryGuard): wait for it to give its
        # connections back, then let the cancellation through.
        await asyncio.wait([future])
        raise


class QuickInline:
    """Work that was quick the last time runs on the event loop itself; the rest on a thread.

    A hop to a thread and back costs ~0.1-0.25 ms (two wake-ups and two GIL hand-overs), more than a
    cached key lookup or count takes on SQLite. So each kind of work (a key: for reads, the request's
    path and query string) remembers how long it took last time; under `quick_seconds` the next one
    runs inline, blocking the loop that long at most, and a slow run sends the next back to a
    thread. New work always starts on a thread: nothing unmeasured blocks the loop.
    """

    def __init__(self, quick_seconds: float = 0.002, remembered: int = 4096) -> None:
        self.quick_seconds = quick_seconds
        self.remembered = remembered
        self._last: dict[Hashable, float] = {}

    async def run(self, key: Hashable, function: Callable[[], T]) -> T:
        if self._last.get(key, self.quick_seconds) < self.quick_seconds:
            return self._timed(key, function)
        return await in_thread(self._timed, key, function)

    def _timed(self, key: Hashable, function: Callable[[], T]) -> T:
        started = time.perf_counter()
        try:
            return function()
        finally:
            if len(self._last) >= self.remembered:
                self._last.clear()  # (bounded; the next requests measure again)
            self._last[key] = time.perf_counter() - started
