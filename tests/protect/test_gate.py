"""The fair gate: slots, the per-principal share, the bounded queue and its time limit."""

from __future__ import annotations

import asyncio

import pytest

from gateway.protect.gate import Busy, FairGate
from gateway.protect.limits import GateLimits


def run(coroutine):  # type: ignore[no-untyped-def]
    return asyncio.run(coroutine)


def test_one_principal_holds_at_most_its_share_and_others_get_a_slot_at_once() -> None:
    async def scenario() -> None:
        gate = FairGate(GateLimits(slots=4, queue=8, wait_seconds=0.2, share=0.5))
        await gate.acquire("storm")
        await gate.acquire("storm")
        third = asyncio.create_task(gate.acquire("storm"))  # over its share: waits although slots are free
        await asyncio.sleep(0.01)
        assert not third.done() and gate.free == 2
        await asyncio.wait_for(gate.acquire("cheap"), 0.01)  # another principal is not kept waiting
        gate.release("storm", 0.1)
        await asyncio.wait_for(third, 0.1)  # the freed slot goes to the waiting storm request
        assert gate.held == {"storm": 2, "cheap": 1}

    run(scenario())


def test_freed_slots_go_round_robin_between_waiting_principals() -> None:
    async def scenario() -> None:
        gate = FairGate(GateLimits(slots=2, queue=8, wait_seconds=1, share=1.0))
        await gate.acquire("a")
        await gate.acquire("a")
        order: list[str] = []

        async def wait(key: str) -> None:
            await gate.acquire(key)
            order.append(key)

        tasks = [asyncio.create_task(wait(key)) for key in ("a", "a", "a", "b")]
        await asyncio.sleep(0.01)
        for _ in range(4):
            gate.release(gate_holder(gate), 0.01)
            await asyncio.sleep(0.01)
        await asyncio.gather(*tasks)
        assert order[:2] == ["a", "b"]  # b queued last but is served second

    def gate_holder(gate: FairGate) -> str:
        return next(iter(gate.held))

    run(scenario())


def test_a_full_queue_and_a_long_wait_are_refused_with_retry_after() -> None:
    async def scenario() -> None:
        gate = FairGate(GateLimits(slots=1, queue=2, wait_seconds=0.05, share=1.0))
        await gate.acquire("a")
        waiting = [asyncio.create_task(gate.acquire(key)) for key in ("b", "c")]
        await asyncio.sleep(0.001)
        with pytest.raises(Busy, match="queue is full") as full:
            await gate.acquire("d")
        assert full.value.retry_after >= 1
        for task in waiting:
            with pytest.raises(Busy, match="0.05 seconds"):
                await task
        assert gate.queued == 0 and gate.free == 0  # the waiters left no trace; "a" still holds its slot

    run(scenario())


def test_one_principal_may_fill_only_its_share_of_the_queue() -> None:
    async def scenario() -> None:
        gate = FairGate(GateLimits(slots=1, queue=4, wait_seconds=1, share=0.5))
        await gate.acquire("x")
        storm = [asyncio.create_task(gate.acquire("storm")) for _ in range(2)]
        await asyncio.sleep(0.001)
        with pytest.raises(Busy):
            await gate.acquire("storm")
        other = asyncio.create_task(gate.acquire("cheap"))  # room left in the queue for another principal
        await asyncio.sleep(0.001)
        assert not other.done() and gate.queued == 3
        for task in (*storm, other):
            task.cancel()
        await asyncio.gather(*storm, other, return_exceptions=True)
        assert gate.queued == 0

    run(scenario())


def test_a_slot_freed_on_one_event_loop_wakes_a_waiter_on_another() -> None:
    """TestClients (and any thread with its own loop) share one app: the gate serves every loop."""
    import threading

    gate = FairGate(GateLimits(slots=1, queue=4, wait_seconds=2, share=1.0))
    holding, waited = threading.Event(), {}

    def holder() -> None:
        async def hold() -> None:
            await gate.acquire("a")
            holding.set()
            await asyncio.sleep(0.2)
            gate.release("a", 0.2)

        asyncio.run(hold())

    def waiter() -> None:
        async def wait() -> None:
            holding.wait(1)
            started = asyncio.get_running_loop().time()
            await gate.acquire("b")
            waited["seconds"] = asyncio.get_running_loop().time() - started

        asyncio.run(wait())

    threads = [threading.Thread(target=holder), threading.Thread(target=waiter)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert 0.1 < waited["seconds"] < 1.0  # woken when "a" released, not at the 2 s limit
