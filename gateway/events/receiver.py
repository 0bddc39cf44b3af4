"""A small local webhook receiver: what the demo starts, and what tests and people use to watch events.

    python -m gateway.events.receiver --port 8090 --secret TEXT --record events.jsonl

`POST /events` (or any other path) takes one event; `GET /events` lists what was received, `DELETE /events`
forgets it. With `--record` every event is also appended to a JSON-lines file, synced to disk before the
answer, so whatever the receiver acknowledged is in the file even if the process is killed right after.

How a subscriber checks that an event comes from the gateway (the secret is the endpoint's shared secret):
the `X-FnoGateway-Signature` header is `sha256=` + the hex HMAC-SHA256 of the raw body bytes, so verify it
on the bytes as received, before parsing them, and in constant time:

    from gateway.events.transports import verify
    if not verify(secret, raw_body, request.headers.get("X-FnoGateway-Signature", "")):
        return 401

(or `hmac.compare_digest("sha256=" + hmac.new(secret, raw_body, hashlib.sha256).hexdigest(), header)`
without this package). Delivery is at least once: deduplicate on `X-FnoGateway-Event-Id` (the EventId).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.events.transports import SIGNATURE_HEADER, verify

# Request headers that say nothing about the event: everything else (the gateway's X-FnoGateway-* headers,
# an endpoint's custom headers) is recorded, so one can see exactly what a subscriber gets.
TRANSPORT_HEADERS = frozenset(
    {"host", "content-length", "connection", "accept", "accept-encoding", "user-agent"})


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def make_receiver(secret: bytes | None, record: Path | None, fail_first: int = 0, fail_status: int = 500,
                  delay: float = 0.0) -> Starlette:
    """The receiver app: the first `fail_first` POSTs answer `fail_status` unrecorded; every POST first
    waits `delay` seconds."""
    events: list[dict[str, Any]] = []
    failures_left = [fail_first]  # a cell: the handlers below count the planned failures down

    async def receive(request: Request) -> Response:
        if delay:
            await asyncio.sleep(delay)  # before anything, so that a sender's timeout fires first
        if failures_left[0] > 0:
            failures_left[0] -= 1
            return _error(fail_status, "PlannedFailure", f"failing as told ({failures_left[0]} more to go)")
        body = await request.body()
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if secret is not None and not verify(secret, body, signature):
            reason = "missing" if not signature else "does not match the body"
            return _error(401, "BadSignature", f"the {SIGNATURE_HEADER} header is {reason}")
        try:
            parsed = json.loads(body)
        except ValueError as error:
            return _error(400, "BadJson", f"the body is not JSON: {error}")
        event = {
            "ReceivedAt": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "Path": request.url.path,
            # The sender's address and port: one port across events shows a kept-alive connection.
            "From": f"{request.client.host}:{request.client.port}" if request.client else "",
            "SignatureVerified": secret is not None,
            "BodySha256": hashlib.sha256(body).hexdigest(),  # lets a test prove the bytes arrived unchanged
            "Headers": {name: value for name, value in request.headers.items()
                        if name not in TRANSPORT_HEADERS},
            "Body": parsed,
        }
        if record is not None:
            # Synced before the 2xx: an acknowledged event must survive the receiver being killed. The handler
            # is async, so events are written one at a time, in the order they are acknowledged.
            with record.open("a", encoding="utf-8") as file:
                file.write(json.dumps(event, ensure_ascii=False) + "\n")
                file.flush()
                os.fsync(file.fileno())
        events.append(event)
        return JSONResponse({"received": event["Headers"].get("x-fnogateway-event-id")}, status_code=200)

    async def listing(request: Request) -> Response:
        return JSONResponse({"value": events})

    async def clear(request: Request) -> Response:
        events.clear()
        return Response(status_code=204)

    return Starlette(routes=[
        Route("/events", listing, methods=["GET"]),
        Route("/events", clear, methods=["DELETE"]),
        Route("/{path:path}", receive, methods=["POST"]),
    ])


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m gateway.events.receiver",
                                     description="A local webhook receiver that shows the events it gets.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--secret", help="shared secret: events without its signature are refused (401)")
    parser.add_argument("--record", type=Path, help="append each event to this JSON-lines file")
    parser.add_argument("--fail-first", type=int, default=0, help="answer the first N requests with an error")
    parser.add_argument("--fail-status", type=int, default=500, help="the status of those errors")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to wait before answering")
    arguments = parser.parse_args(argv)
    secret = arguments.secret.encode("utf-8") if arguments.secret is not None else None
    app = make_receiver(secret, arguments.record, arguments.fail_first, arguments.fail_status,
                        arguments.delay)
    print(f"receiving on http://{arguments.host}:{arguments.port}/events", flush=True)
    uvicorn.run(app, host=arguments.host, port=arguments.port, log_level="warning")


if __name__ == "__main__":
    main()
