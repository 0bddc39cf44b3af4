"""The worker's request slots, shared fairly between principals.

At most `slots` requests run at once; the rest wait in a short queue, and a request that cannot
wait (the queue is full) or has waited `wait_seconds` gets 503 ServerBusy with a Retry-After. Fair:
one principal holds at most `share` of the slots and of the queue, so a storm of expensive requests
from one caller leaves free slots for everybody else's cheap ones; a freed slot goes to the waiting
principals in turn (round robin), not to whoever queued first.

The slot is held by the middleware for the whole request: routing, the thread-pool work of reads
and writes, and the streaming of the body, so a slot stands for a thread and a database connection.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections import OrderedDict, deque

from gateway.protect.limits import GateLimits


class Busy(Exception):
    def __init__(self, reason: str, retry_after: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class _Waiter:
    """One queued request. `granted` is set (under the gate's lock) when a slot is handed to it; the
    wake-up is posted to the waiter's own event loop, so one gate may serve several loops (threads)."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.future: asyncio.Future[None] = self.loop.create_future()
        self.granted = False

    def wake(self) -> None:
        if not self.future.done():
            self.future.set_result(None)


class FairGate:
    def __init__(self, limits: GateLimits) -> None:
        self.limits = limits
        self.free = limits.slots
        self.per_principal = max(1, math.floor(limits.slots * limits.share))
        self.queue_per_principal = max(1, math.floor(limits.queue * limits.share))
        self.held: dict[str, int] = {}
        self._waiting: OrderedDict[str, deque[_Waiter]] = OrderedDict()  # in turn order
        self._queued = 0
        self._mean_seconds = 0.05  # a running mean of how long a slot is held, for Retry-After
        self._lock = threading.Lock()

    @property
    def queued(self) -> int:
        return self._queued

    async def acquire(self, key: str) -> None:
        if self.limits.slots <= 0:
            return
        with self._lock:
            if self.free > 0 and self.held.get(key, 0) < self.per_principal and key not in self._waiting:
                self._take(key)
                return
            mine = len(self._waiting.get(key, ()))
            if self._queued >= self.limits.queue or mine >= self.queue_per_principal:
                raise Busy("the server is busy: every request slot is taken and the queue is full",
                           self._retry_after())
            waiter = _Waiter()
            self._waiting.setdefault(key, deque()).append(waiter)
            self._queued += 1
        try:
            await asyncio.wait_for(asyncio.shield(waiter.future), self.limits.wait_seconds)
        except (TimeoutError, asyncio.CancelledError) as stopped:
            with self._lock:
                granted = waiter.granted
                if not granted:
                    self._drop(key, waiter)
            if granted:
                self.release(key, 0.0)  # the slot came just as the wait ended: pass it on
            if isinstance(stopped, asyncio.CancelledError):
                raise
            raise Busy(f"the server is busy: no request slot within {self.limits.wait_seconds:g} seconds",
                       self._retry_after()) from None

    def release(self, key: str, seconds: float) -> None:
        if self.limits.slots <= 0:
            return
        with self._lock:
            self._mean_seconds += (seconds - self._mean_seconds) * 0.1
            count = self.held.get(key, 0) - 1
            if count > 0:
                self.held[key] = count
            else:
                self.held.pop(key, None)
            self.free += 1
            granted = self._dispatch()
        for waiter in granted:
            waiter.loop.call_soon_threadsafe(waiter.wake)

    def _take(self, key: str) -> None:
        self.free -= 1
        self.held[key] = self.held.get(key, 0) + 1

    def _dispatch(self) -> list[_Waiter]:
        """Hand free slots to waiting principals in turn, skipping those at their share."""
        granted: list[_Waiter] = []
        progressed = True
        while self.free > 0 and self._waiting and progressed:
            progressed = False
            for key in list(self._waiting):
                if self.free <= 0:
                    break
                if self.held.get(key, 0) >= self.per_principal:
                    continue
                waiters = self._waiting[key]
                waiter = waiters.popleft()
                self._queued -= 1
                if not waiters:
                    del self._waiting[key]
                else:
                    self._waiting.move_to_end(key)  # its next request waits for the others' turn
                self._take(key)
                waiter.granted = True
                granted.append(waiter)
                progressed = True
        return granted

    def _drop(self, key: str, waiter: _Waiter) -> None:
        waiters = self._waiting.get(key)
        if waiters is not None and waiter in waiters:
            waiters.remove(waiter)
            self._queued -= 1
            if not waiters:
                del self._waiting[key]

    def _retry_after(self) -> int:
        """When a slot is likely free for a new request: the queue ahead, drained at the mean slot time."""
        slots = max(1, self.limits.slots)
        return max(1, math.ceil(self._mean_seconds * (self._queued + 1) / slots))
