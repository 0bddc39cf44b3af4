"""Events fixtures: the local webhook receiver as a real process, and a fresh F&O database per test
module on SQLite and PostgreSQL (capture triggers run on these two)."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy import event as sqlalchemy_event

from gateway.catalog.load import load_catalog
from gateway.db import make_engine
from gateway.demo.generate import build_demo_database
from gateway.events.deliver import DeliveryPolicy
from gateway.events.service import Events
from gateway.events.worker import EventsWorker
from gateway.faults import ENVIRONMENT as FAULTS
from tests.conftest import database_url, free_port, repository_root, stop_process


@dataclass
class Receiver:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/events"

    def request(self, method: str, path: str = "/events", body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, Any]:
        """One request on a fresh connection: (status, parsed JSON answer or None)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            data = response.read()
            return response.status, json.loads(data) if data else None
        finally:
            connection.close()

    def events(self) -> list[dict[str, Any]]:
        status, answer = self.request("GET")
        assert status == 200
        return list(answer["value"])


@contextmanager
def running_receiver(directory: Path, *options: str, port: int | None = None) -> Iterator[Receiver]:
    """`python -m gateway.events.receiver` on a free port (or `port`), until the block ends (SIGTERM)."""
    port = port or free_port()
    log = directory / f"receiver-{port}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway.events.receiver", "--host", "127.0.0.1", "--port", str(port),
             *options],
            cwd=repository_root(), stdout=output, stderr=subprocess.STDOUT)
    receiver = Receiver(process, port, log)
    try:
        # conftest's wait_until_serving asks a gateway's /data/; the receiver answers GET /events instead.
        deadline = time.monotonic() + 15
        while True:
            assert process.poll() is None, f"the receiver exited: {log.read_text()}"
            try:
                if receiver.request("GET")[0] == 200:
                    break
            except OSError:
                assert time.monotonic() < deadline, f"the receiver did not serve in 15 s: {log.read_text()}"
                time.sleep(0.05)
        yield receiver
    finally:
        if process.poll() is None:
            stop_process(process)




# ---------------------------------------------------------------------------------------------- databases
EVENT_BACKENDS = ("sqlite", "postgresql", "mariadb")  # change capture (the triggers) runs on all three
SCALE = 0.01


@dataclass
class EventsDb:
    """A fresh F&O demo database with the events' tables, and hand-written SQL over it."""

    name: str
    url: str
    engine: Engine
    events: Events

    def sql(self, statement: str, **parameters: Any) -> list[Any]:
        with self.engine.connect() as connection:
            return list(connection.execute(text(statement), parameters))

    def run(self, statement: str, **parameters: Any) -> None:
        with self.engine.begin() as connection:
            connection.execute(text(statement), parameters)

    def worker(self, policy: DeliveryPolicy | None = None) -> EventsWorker:
        return EventsWorker(self.events, policy or FAST)

    def drain(self, worker: EventsWorker | None = None, seconds: float = 20) -> None:
        """Run worker passes until nothing is captured or pending (or `seconds` pass)."""
        own = worker is None
        worker = worker or self.worker()
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline:
                worker.run_once()
                if self.waiting() == 0:
                    return
                time.sleep(0.05)
            raise AssertionError("events still waiting after the worker ran")
        finally:
            if own:
                worker.release()

    def waiting(self) -> int:
        """Captured changes not yet framed, and events not yet delivered (nor failed)."""
        return int(self.sql('SELECT (SELECT count(*) FROM "EVENTCHANGES") + '
                            '(SELECT count(*) FROM "EVENTOUTBOX" WHERE "STATUS" = \'Pending\')')[0][0])


# Retries within a test's patience: 50 ms, doubling, at most half a second apart.
FAST = DeliveryPolicy(first_retry=0.05, longest_wait=0.5)


def open_events_db(name: str, directory: Path, database: str = "fno_events") -> EventsDb:
    url = database_url(name, database, directory / f"{database}.db")
    build_demo_database(url, scale=SCALE, seed=7, progress=False)
    engine = make_engine(url)
    if name == "mariadb":  # the tests' hand-written SQL quotes names and joins text as the standard does
        sqlalchemy_event.listen(engine, "connect", _ansi_quotes)
    return EventsDb(name, url, engine, Events.open(engine, load_catalog(), policy=FAST))


def _ansi_quotes(dbapi_connection: Any, _record: Any) -> None:
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET SESSION sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES,PIPES_AS_CONCAT')")


@pytest.fixture(params=EVENT_BACKENDS)
def events_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventsDb]:
    db = open_events_db(request.param, tmp_path)
    yield db
    db.engine.dispose()


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    with running_receiver(tmp_path) as running:
        yield running


def dedupe(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a subscriber keeps: each (endpoint's) ControlNumber once, in ControlNumber order."""
    by_number: dict[int, dict[str, Any]] = {}
    for event in events:
        body = event["Body"]
        known = by_number.setdefault(body["ControlNumber"], body)
        assert known["EventId"] == body["EventId"], "one ControlNumber, two different events"
    return [by_number[number] for number in sorted(by_number)]


@contextmanager
def worker_process(db: EventsDb, directory: Path, faults: str = "", *options: str) -> Iterator[subprocess.Popen[bytes]]:
    """`fno-gateway events worker` as a process of its own (FNO_GATEWAY_FAULTS: where it waits to be killed)."""
    log = directory / f"worker-{time.monotonic_ns()}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "events", "worker", "--db", db.url, "--events-first-retry", "0.05",
             "--events-longest-wait", "0.5", *options],
            cwd=repository_root(), stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, FAULTS: faults})
    try:
        yield process
    finally:
        if process.poll() is None:
            stop_process(process)


def wait_for(condition: Callable[[], bool], seconds: float = 30, what: str = "the condition") -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"waited {seconds} s for {what}"
        time.sleep(0.05)


def token_object_id(headers: dict[str, str]) -> str:
    """The oid claim of a bearer token (what events name as InitiatingUserAADObjectId), read with PyJWT."""
    import jwt

    token = headers["Authorization"].removeprefix("Bearer ")
    return str(jwt.decode(token, options={"verify_signature": False})["oid"])


# ---------------------------------------------------------------------------------------------- a server to restart
@dataclass
class PrivateServer:
    """A PostgreSQL server of the test's own (initdb in a temporary folder, its own port), so that a test
    can restart it without touching the server the rest of the suite uses."""

    binaries: Path
    folder: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def ctl(self, *arguments: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", str(self.binaries / "pg_ctl"), "-D", str(self.folder),
                        "-w", "-t", "60", *arguments], check=True, capture_output=True, timeout=90)

    def start(self) -> None:
        self.ctl("-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off",
                 "-l", str(self.folder / "server.log"), "start")

    def restart(self) -> None:
        # -l again: without it the server would write to (and hold open) this call's output pipe.
        self.ctl("-m", "fast", "-l", str(self.folder / "server.log"), "restart")


@pytest.fixture
def private_postgresql() -> Iterator[PrivateServer]:
    """Skipped, saying why, where a PostgreSQL server cannot be made here (no initdb, no postgres user)."""
    import glob
    import shutil
    import tempfile

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found or shutil.which("runuser") is None or os.geteuid() != 0:
        pytest.skip("no PostgreSQL binaries (initdb) or no way to run them as the postgres user here")
    binaries = Path(found[-1]).parent
    folder = Path(tempfile.mkdtemp(prefix="fno-private-pg-"))  # under /tmp: pytest's folders are root's alone
    shutil.chown(folder, "postgres")
    try:
        subprocess.run(["runuser", "-u", "postgres", "--", str(binaries / "initdb"), "-D", str(folder), "-A", "trust",
                        "-U", "postgres", "--no-sync"], check=True, capture_output=True, timeout=120)
    except (subprocess.SubprocessError, OSError) as error:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"initdb failed here: {error}")
    server = PrivateServer(binaries, folder, free_port())
    server.start()
    try:
        yield server
    finally:
        subprocess.run(["runuser", "-u", "postgres", "--", str(binaries / "pg_ctl"), "-D", str(folder), "-m",
                        "immediate", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)
