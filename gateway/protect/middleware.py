"""The service-protection middleware: every request to a service passes here after authentication.

In order: the URL length (414); the principal's windows (429 with Retry-After); a slot of the fair
gate (503 ServerBusy with Retry-After); then the request runs under a QueryGuard, and a client that
disconnects meanwhile has its queries cancelled. The time the slot was held is the request's
execution time in its principal's window.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from gateway.errors import ServerBusy, TooManyRequests, UriTooLong
from gateway.principal import request_principal
from gateway.protect.cancel import QueryGuard, current_guard
from gateway.protect.cost import check_url_length
from gateway.protect.gate import Busy, FairGate
from gateway.protect.limits import ProtectionLimits
from gateway.protect.respond import is_served, send_error
from gateway.protect.window import PrincipalWindows

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def principal_key(scope: dict[str, Any]) -> str:
    """Whose limits a request counts against: its principal's name, else its client address
    (anonymous callers share one principal, so they are told apart by address too)."""
    principal = request_principal(scope)
    if principal is not None and principal.kind != "anonymous":
        return f"{principal.kind}:{principal.name}"
    client = scope.get("client")
    return f"client:{client[0] if client else 'unknown'}"


class ProtectionMiddleware:
    def __init__(self, app: ASGIApp, limits: ProtectionLimits, prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.limits = limits
        self.prefixes = prefixes
        self.windows = PrincipalWindows(limits.principal)
        self.gate = FairGate(limits.gate)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or "fno.unit" in scope or not is_served(scope["path"], self.prefixes):
            await self.app(scope, receive, send)  # $batch sub-requests run inside their batch's slot
            return
        try:
            check_url_length(scope.get("raw_path") or scope["path"].encode(), scope.get("query_string", b""),
                             self.limits.request)
        except UriTooLong as error:
            await send_error(send, error, scope["path"])
            return
        key = principal_key(scope)
        refusal = self.windows.admit(key)
        if refusal is not None:
            await send_error(send, TooManyRequests(
                f"too many requests: {refusal.reason} (service protection); retry after {refusal.retry_after} "
                f"seconds", headers={"Retry-After": str(refusal.retry_after)}), scope["path"])
            return
        started: float | None = None  # when the request got its slot: its execution time starts there
        try:
            try:
                await self.gate.acquire(key)
            except Busy as busy:
                await send_error(send, ServerBusy(f"{busy.reason}; retry after {busy.retry_after} seconds",
                                                  headers={"Retry-After": str(busy.retry_after)}), scope["path"])
                return
            started = time.monotonic()
            try:
                await self._guarded(scope, receive, send)
            finally:
                self.gate.release(key, time.monotonic() - started)
        finally:
            self.windows.finish(key, 0.0 if started is None else time.monotonic() - started)

    async def _guarded(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Run the request with a QueryGuard; one task reads the client's messages, so that a
        disconnect is seen (and the queries cancelled) even while a handler runs in a thread."""
        guard = QueryGuard()
        messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

        async def pump() -> None:
            while True:
                message = await receive()
                await messages.put(message)
                if message["type"] == "http.disconnect":
                    # Servers also say "disconnect" once the response is complete: only a client
                    # that left before that has queries worth cancelling (and a late cancel could
                    # hit the next query on a pooled connection).
                    if not answered:
                        await anyio.to_thread.run_sync(guard.cancel)
                    return

        async def app_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                answered.append(True)
            await send(message)

        async def app_receive() -> dict[str, Any]:
            if gone:
                return {"type": "http.disconnect"}
            message = await messages.get()
            if message["type"] == "http.disconnect":
                gone.append(True)
            return message

        answered: list[bool] = []
        gone: list[bool] = []
        token = current_guard.set(guard)
        reader = asyncio.create_task(pump())
        try:
            await self.app(scope, app_receive, app_send)
        finally:
            answered.append(True)
            current_guard.reset(token)
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
