"""Several worker processes behind one port, connections dealt out to them in turn.

With `uvicorn --workers N` every worker accepts on one shared socket, and whichever wakes first
takes what is waiting and keeps it (keep-alive): the first benchmark saw one worker at 57 % CPU and
the other at 18 % (README, 2026-11-21); dealing connections out instead took key lookups at
concurrency 8 from 939 to 1,588 req/s (2 workers, 2026-12-07). SO_REUSEPORT would not cure it: the
kernel spreads connections by a hash of their addresses, and by arithmetic eight connections split
4/4 only 70 times in 256.

This is what Node's cluster module does by default (and so SAP CAP with N workers): the parent
process alone accepts, and hands each new connection's socket to the next worker over a Unix socket
(SCM_RIGHTS). A worker is an ordinary uvicorn server whose connections come from that channel
instead of a listening socket of its own: same protocol classes, lifespan, graceful shutdown. The
parent only accepts and forwards; every byte of every request goes straight to the worker.

A worker that dies is started again; the parent stops on SIGINT/SIGTERM, its workers then finish
the requests they have and exit.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import subprocess
import sys
import time
from typing import Any

import uvicorn

# Connections waiting to be accepted by the parent before the kernel refuses more.
BACKLOG = 2048
READY = b"r"  # what a worker sends its parent once its app has started
# How long a stopping parent waits for its workers to finish their requests before killing them.
STOP_SECONDS = 10.0


def available() -> bool:
    """Whether this platform can pass sockets between processes (POSIX)."""
    return hasattr(socket, "send_fds") and hasattr(socket, "AF_UNIX")


class _Worker:
    """One worker process and the parent's end of its channel."""

    def __init__(self, index: int) -> None:
        self.index = index
        parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.channel = parent_end
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gateway.balance", "--channel", str(child_end.fileno())],
            pass_fds=(child_end.fileno(),),
        )
        child_end.close()

    def hand(self, connection: socket.socket) -> bool:
        """Give `connection` to this worker; False when it is gone."""
        try:
            socket.send_fds(self.channel, [b"c"], [connection.fileno()])
            return True
        except OSError:
            return False

    def ready(self) -> bool:
        """Wait until the worker says it serves (its app started); False if it exited instead."""
        return self.channel.recv(1) == READY

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        self.channel.close()


def serve(host: str, port: int, workers: int) -> int:
    """Accept on host:port and deal the connections out to `workers` processes, until signalled.
    The workers read their settings from the environment (gateway.cli.app_from_environment)."""
    listener = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET,
                                    backlog=BACKLOG)
    # The first worker alone, until it serves: starting the app creates what a new database lacks (the
    # audit log, the events' tables, ...), and two workers doing that at once race (table exists). The
    # others then start together and find it all there.
    pool = [_Worker(0)]
    failed = None if pool[0].ready() else pool[0]
    if failed is None:
        pool += [_Worker(index) for index in range(1, workers)]
        failed = next((worker for worker in pool[1:] if not worker.ready()), None)
    if failed is not None:
        print(f"fno-gateway: worker {failed.index} did not start (exit code {failed.process.wait()})", file=sys.stderr)
        _stop(pool)
        return 1
    stopping = False

    def stop(_signal: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True
        listener.close()  # the blocked accept() returns with an error

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    turn = 0
    try:
        while not stopping:
            try:
                connection, _address = listener.accept()
            except OSError:
                if stopping:
                    break
                raise
            with connection:
                # Responses are written in more than one piece: without this each would wait for the
                # client's delayed ACK (~40 ms). The option belongs to the socket, so the worker's copy has it.
                connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                for _ in range(len(pool)):
                    worker = pool[turn % len(pool)]
                    turn += 1
                    if worker.alive() and worker.hand(connection):
                        break
                    _restart(pool, worker)
    finally:
        _stop(pool)
    return 0


def _restart(pool: list[_Worker], worker: _Worker) -> None:
    """Replace a worker that died (its connections died with it; new ones go to the new process)."""
    worker.close()
    if worker.alive():
        worker.process.kill()
    worker.process.wait()
    print(f"fno-gateway: worker {worker.index} exited ({worker.process.returncode}); starting it again",
          file=sys.stderr)
    pool[pool.index(worker)] = _Worker(worker.index)


def _stop(pool: list[_Worker]) -> None:
    for worker in pool:
        worker.close()  # the worker sees its channel end and shuts down gracefully
        if worker.alive():
            worker.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    for worker in pool:
        try:
            worker.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            worker.process.kill()
            worker.process.wait()


class HandedServer(uvicorn.Server):
    """A uvicorn server serving the connections its parent hands over `channel`, not a socket of its own."""

    def __init__(self, config: uvicorn.Config, channel: socket.socket) -> None:
        super().__init__(config)
        self.channel = channel

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=[])  # lifespan, no listener
        loop = asyncio.get_running_loop()
        self.channel.sendall(READY)
        self.channel.setblocking(False)
        loop.add_reader(self.channel.fileno(), self._receive, loop)

    def _receive(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            message, descriptors, _flags, _address = socket.recv_fds(self.channel, 64, 64)
        except (BlockingIOError, InterruptedError):
            return
        if not message:  # the parent closed the channel: stop, as on a signal
            loop.remove_reader(self.channel.fileno())
            self.should_exit = True
        for descriptor in descriptors:
            connection = socket.socket(fileno=descriptor)
            connection.setblocking(False)
            loop.create_task(self._serve_connection(loop, connection))

    async def _serve_connection(self, loop: asyncio.AbstractEventLoop, connection: socket.socket) -> None:
        config = self.config

        def create_protocol() -> asyncio.Protocol:
            # As uvicorn.Server.startup makes it for a listening socket.
            return config.http_protocol_class(  # type: ignore[call-arg]
                config=config, server_state=self.server_state, app_state=self.lifespan.state, _loop=loop)

        try:
            await loop.connect_accepted_socket(create_protocol, connection)
        except OSError:  # the client went away before the worker took its connection
            connection.close()


def worker_main(channel_descriptor: int) -> None:
    # proxy_headers off as in gateway.cli.serve: gateway/edge/forwarded.py trusts per the settings.
    config = uvicorn.Config("gateway.cli:app_from_environment", factory=True, log_level="warning",
                            proxy_headers=False)
    HandedServer(config, socket.socket(fileno=channel_descriptor)).run()


if __name__ == "__main__":
    arguments = argparse.ArgumentParser(description="one worker of `fno-gateway serve --workers N`")
    arguments.add_argument("--channel", type=int, required=True, help="descriptor of the channel from the parent")
    worker_main(arguments.parse_args().channel)
