"""The load generator: a separate process that sends GET requests to one server on 127.0.0.1.

    python -m bench.load < spec.json > result.json

It speaks just enough HTTP/1.1 (keep-alive, Content-Length or chunked bodies) over asyncio streams
to stay cheap on the client side: on a 2-core machine every cycle the client spends is a cycle the
server does not get, and the same client is used for the gateway and for CAP.

Spec (JSON on stdin):
  mode         "requests": `concurrency` connections send `requests` round-robin until `duration`
               seconds or `max_requests` requests, whichever comes first (after `warmup` seconds
               whose requests are not counted);
               "export": one connection follows @odata.nextLink from `requests[0]` until there is
               none, at most `max_requests` pages and `duration` seconds.
  port, requests: [{"path": "/data/...", "headers": {...}}], concurrency, duration, max_requests, warmup
Result (JSON on stdout): count, errors, statuses, elapsed, latencies_ms (sorted), bytes, pages, complete.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import sys
import time
from typing import Any

_NEXT_LINK = re.compile(rb'"@odata\.nextLink"\s*:\s*"([^"]*)"')


class Connection:
    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port, limit=1 << 20)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
        self.reader = self.writer = None

    async def get(self, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
        for attempt in range(2):  # a keep-alive connection the server closed meanwhile is reopened once
            if self.writer is None:
                await self._open()
            try:
                return await self._get(path, headers)
            except (ConnectionError, asyncio.IncompleteReadError):
                await self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    async def _get(self, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
        assert self.reader is not None and self.writer is not None
        lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}", "Accept: application/json"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        length = None
        chunked = False
        close = False
        for line in header_lines:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            value = value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value:
                chunked = True
            elif name == "connection" and value == "close":
                close = True
        if chunked:
            parts = []
            while True:
                size = int((await self.reader.readline()).split(b";")[0].strip(), 16)
                if size == 0:
                    while (await self.reader.readline()) not in (b"\r\n", b""):
                        pass  # trailers
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            body = b"".join(parts)
        elif length is not None:
            body = await self.reader.readexactly(length)
        else:
            body = await self.reader.read()
            close = True
        if close:
            await self.close()
        return status, body


def next_link(body: bytes, base: str) -> str | None:
    """The @odata.nextLink of a collection body as a path (the gateway writes it last, CAP first)."""
    match = _NEXT_LINK.search(body, max(0, len(body) - 4096)) or _NEXT_LINK.search(body, 0, 4096)
    if match is None:
        return None
    link = match.group(1).decode()
    if "://" in link:
        return "/" + link.split("://", 1)[1].split("/", 1)[1]
    return link if link.startswith("/") else base + link  # CAP: relative to the service root


async def run_requests(spec: dict[str, Any]) -> dict[str, Any]:
    requests = spec["requests"]
    concurrency = int(spec.get("concurrency", 1))
    duration = float(spec.get("duration", 5))
    warmup = float(spec.get("warmup", 0))
    max_requests = int(spec.get("max_requests", 1_000_000))
    picks = itertools.cycle(range(len(requests)))
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors: list[str] = []
    received = 0
    start = time.perf_counter()
    measure_from = start + warmup
    stop_at = measure_from + duration

    async def worker() -> None:
        nonlocal received
        connection = Connection(spec["port"])
        try:
            while True:
                now = time.perf_counter()
                if now >= stop_at or len(latencies) >= max_requests:
                    return
                request = requests[next(picks)]
                began = time.perf_counter()
                try:
                    status, body = await connection.get(request["path"], request.get("headers", {}))
                except (OSError, asyncio.IncompleteReadError, ValueError) as error:
                    errors.append(f"{type(error).__name__}: {error}")
                    await connection.close()
                    if len(errors) > 100:
                        return
                    continue
                ended = time.perf_counter()
                if began < measure_from:
                    continue
                statuses[status] = statuses.get(status, 0) + 1
                if status != 200:
                    if len(errors) < 5:
                        errors.append(f"{status} {request['path'][:200]}: {body[:300]!r}")
                    continue
                latencies.append((ended - began) * 1000)
                received += len(body)
        finally:
            await connection.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - measure_from
    latencies.sort()
    return {
        "count": len(latencies),
        "errors": errors,
        "statuses": statuses,
        "elapsed": elapsed,
        "latencies_ms": latencies,
        "bytes": received,
    }


async def run_export(spec: dict[str, Any]) -> dict[str, Any]:
    first = spec["requests"][0]
    headers = first.get("headers", {})
    base = first["path"].split("?", 1)[0].rsplit("/", 1)[0] + "/"
    max_pages = int(spec.get("max_requests", 100_000))
    deadline = time.perf_counter() + float(spec.get("duration", 600))
    connection = Connection(spec["port"])
    path: str | None = first["path"]
    pages = 0
    received = 0
    latencies: list[float] = []
    errors: list[str] = []
    start = time.perf_counter()
    try:
        while path is not None and pages < max_pages and time.perf_counter() < deadline:
            began = time.perf_counter()
            status, body = await connection.get(path, headers)
            latencies.append((time.perf_counter() - began) * 1000)
            if status != 200:
                errors.append(f"{status} {path[:200]}: {body[:300]!r}")
                break
            pages += 1
            received += len(body)
            path = next_link(body, base)
    finally:
        await connection.close()
    return {
        "count": pages,
        "pages": pages,
        "errors": errors,
        "statuses": {},
        "elapsed": time.perf_counter() - start,
        "latencies_ms": sorted(latencies),
        "bytes": received,
        "complete": path is None and not errors,
    }


def main() -> int:
    spec = json.load(sys.stdin)
    runner = run_export if spec.get("mode") == "export" else run_requests
    result = asyncio.run(runner(spec))
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
