"""Delivery under faults, with real processes: a webhook receiver that answers 500, times out or is
down; the retry window running out (the error log, then resend); a worker SIGKILLed between an
endpoint's acknowledgment and its bookkeeping, or in the middle of framing; two workers at once; the
database connections cut; RabbitMQ's connection dropped mid-stream; the data-event budget.
Nothing is lost; a duplicate appears only where an acknowledgment was not yet recorded."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from gateway.catalog.load import load_catalog
from gateway.cli import main
from gateway.db import make_engine
from gateway.demo.generate import build_demo_database
from gateway.events.deliver import DeliveryPolicy
from gateway.events.service import ACTIVATIONS, ENDPOINTS, Events, endpoint_body
from gateway.events.transports import RabbitMqTransport
from tests.conftest import free_port
from tests.events.conftest import (
    FAST,
    EventsDb,
    PrivateServer,
    Receiver,
    dedupe,
    open_events_db,
    running_receiver,
    wait_for,
    worker_process,
)


def activate(db: EventsDb, endpoint: str, url: str, *event_ids: str, **more: Any) -> None:
    db.events.create(ENDPOINTS, endpoint_body(endpoint, url, **more))
    for event_id in event_ids:
        db.events.create(ACTIVATIONS, {"BusinessEventId": event_id, "EndpointId": endpoint})


def raise_limits(db: EventsDb, count: int, start: int = 10_000) -> list[tuple[str, int]]:
    """`count` credit limit changes by plain SQL, one transaction each, spread over a few customers:
    returns (account, new limit) in commit order."""
    accounts = [row[0] for row in db.sql('SELECT "ACCOUNTNUM" FROM "CUSTTABLE" WHERE "DATAAREAID" = \'usmf\' '
                                         'ORDER BY "ACCOUNTNUM"')][:5]
    done = []
    for index in range(count):
        account = accounts[index % len(accounts)]
        db.run('UPDATE "CUSTTABLE" SET "CREDITMAX" = :limit WHERE "DATAAREAID" = \'usmf\' AND "ACCOUNTNUM" = :a',
               limit=start + index, a=account)
        done.append((account, start + index))
    return done


def limits(events: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(event["CustomerAccount"], int(event["NewCreditLimit"])) for event in events]


CREDIT = "CustomerCreditLimitChangedBusinessEvent"


def outbox_status(db: EventsDb) -> dict[str, int]:
    return {status: count for status, count in db.sql('SELECT "STATUS", count(*) FROM "EVENTOUTBOX" GROUP BY "STATUS"')}


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Any:
    db = open_events_db("sqlite", tmp_path)
    yield db
    db.engine.dispose()


def test_a_failing_receiver_is_retried_in_order_until_it_answers(sqlite_db: EventsDb, tmp_path: Path) -> None:
    db = sqlite_db
    with running_receiver(tmp_path, "--fail-first", "3", "--fail-status", "500") as receiver:
        activate(db, "hook", receiver.url, CREDIT)
        changes = raise_limits(db, 6)
        db.drain()
        received = receiver.events()
    assert limits([event["Body"] for event in received]) == changes  # once each (500s record nothing), in order
    assert [event["Body"]["ControlNumber"] for event in received] == [1, 2, 3, 4, 5, 6]
    attempts = db.sql('SELECT "ATTEMPTS" FROM "EVENTOUTBOX" ORDER BY "CONTROLNUMBER"')
    assert [row[0] for row in attempts] == [4, 1, 1, 1, 1, 1]  # three 500s, then the fourth attempt


def test_an_endpoint_that_times_out_or_is_down_loses_nothing(sqlite_db: EventsDb, tmp_path: Path) -> None:
    db = sqlite_db
    port = free_port()
    activate(db, "hook", f"http://127.0.0.1:{port}/events", CREDIT, TimeoutSeconds=1)
    changes = raise_limits(db, 4)
    worker = db.worker()
    try:
        worker.run_once()  # nobody listens
        state = db.events.states()[0]
        assert state.pending == 4 and "refused" in (state.last_error or ""), state
        with running_receiver(tmp_path, "--delay", "2.5", port=port):
            worker.run_once()  # the receiver answers too late
            assert "timed out" in (db.events.states()[0].last_error or "")
        assert outbox_status(db) == {"Pending": 4}
        with running_receiver(tmp_path, port=port) as receiver:
            db.drain(worker)
            received = dedupe(receiver.events())
    finally:
        worker.release()
    assert limits(received) == changes
    assert db.events.states()[0].pending == 0


def test_after_the_retry_window_events_wait_in_the_error_log_for_resend(sqlite_db: EventsDb, tmp_path: Path) -> None:
    db = sqlite_db
    port = free_port()
    activate(db, "hook", f"http://127.0.0.1:{port}/events", CREDIT)
    changes = raise_limits(db, 3)
    worker = db.worker(DeliveryPolicy(first_retry=0.05, longest_wait=0.1, retry_window=0.3))
    try:
        wait_for(lambda: worker.run_once() >= 0 and outbox_status(db) == {"Failed": 3}, 10, "the error log")
        assert db.events.states()[0].failed == 3
        assert main(["events", "resend", "--endpoint", "hook", "--db", db.url]) == 0
        assert outbox_status(db) == {"Pending": 3}
        with running_receiver(tmp_path, port=port) as receiver:
            db.drain(worker)
            received = receiver.events()
    finally:
        worker.release()
    assert limits([event["Body"] for event in received]) == changes  # the same events: same ControlNumbers
    assert [event["Body"]["ControlNumber"] for event in received] == [1, 2, 3]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_worker_killed_between_acknowledgment_and_bookkeeping_duplicates_only_that_event(
        backend: str, tmp_path: Path, receiver: Receiver) -> None:
    db = open_events_db(backend, tmp_path)
    try:
        activate(db, "hook", receiver.url, CREDIT)
        changes = raise_limits(db, 5)
        with worker_process(db, tmp_path, "events-after-send=60") as doomed:
            wait_for(lambda: len(receiver.events()) == 1, 30, "the first delivery")
            os.killpg(doomed.pid, signal.SIGKILL)
            doomed.wait(timeout=10)
        assert outbox_status(db) == {"Pending": 5}  # acknowledged, never recorded as delivered
        with worker_process(db, tmp_path):
            wait_for(lambda: db.waiting() == 0, 30, "the second worker")
        raw = [event["Body"] for event in receiver.events()]
    finally:
        db.engine.dispose()
    assert [event["ControlNumber"] for event in raw] == [1, 1, 2, 3, 4, 5]  # the one unrecorded, twice
    assert raw[0]["EventId"] == raw[1]["EventId"]
    assert limits(dedupe(receiver.events())) == changes


def test_a_worker_killed_while_framing_frames_nothing_twice(sqlite_db: EventsDb, tmp_path: Path,
                                                            receiver: Receiver) -> None:
    db = sqlite_db
    activate(db, "hook", receiver.url, CREDIT)
    changes = raise_limits(db, 5)
    with worker_process(db, tmp_path, "events-frame-commit=60") as doomed:
        # Inside its framing transaction (the fault point holds it 60 s) once it holds SQLite's write lock
        # for a while (a lease renewal holds it for milliseconds).
        wait_for(lambda: _write_locked(db) and not time.sleep(0.5) and _write_locked(db), 30,
                 "the worker inside its framing transaction")
        assert doomed.poll() is None
        os.killpg(doomed.pid, signal.SIGKILL)
        doomed.wait(timeout=10)
    assert db.sql('SELECT count(*) FROM "EVENTOUTBOX"')[0][0] == 0  # rolled back with the process
    assert db.sql('SELECT count(*) FROM "EVENTCHANGES"')[0][0] == 5
    db.drain()
    raw = [event["Body"] for event in receiver.events()]
    assert limits(raw) == changes and [event["ControlNumber"] for event in raw] == [1, 2, 3, 4, 5]


def _write_locked(db: EventsDb) -> bool:
    """Whether another connection holds the SQLite database's write lock (a write transaction is open)."""
    import sqlite3

    connection = sqlite3.connect(db.url.removeprefix("sqlite:///"), timeout=0.05, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        connection.close()


def test_two_workers_share_the_endpoints_and_each_gets_every_event_in_record_order(
        tmp_path: Path) -> None:
    db = open_events_db("postgresql", tmp_path)
    try:
        with running_receiver(tmp_path) as first, running_receiver(tmp_path) as second:
            activate(db, "one", first.url, CREDIT, "CustomersV3_Updated")
            activate(db, "two", second.url, "CustomersV3_Updated")
            with worker_process(db, tmp_path), worker_process(db, tmp_path):
                changes = raise_limits(db, 40)
                wait_for(lambda: db.waiting() == 0 and len(first.events()) >= 80 and len(second.events()) >= 40,
                         60, "both workers")
            one, two = dedupe(first.events()), dedupe(second.events())
    finally:
        db.engine.dispose()
    assert [event["ControlNumber"] for event in one] == list(range(1, 81))
    assert [event["ControlNumber"] for event in two] == list(range(1, 41))
    assert limits([event for event in one if event["BusinessEventId"] == CREDIT]) == changes
    for received in (one, two):
        updates = [event for event in received if event["BusinessEventId"] == "CustomersV3_Updated"]
        assert len(updates) == 40
        last: dict[str, Any] = {}
        for event in updates:  # per record, each event starts where the one before ended
            account = event["Target"]["CustomerAccount"]
            if account in last:
                assert event["PreImage"] == last[account]
            last[account] = event["Target"]


def test_cut_database_connections_lose_nothing(tmp_path: Path, receiver: Receiver) -> None:
    db = open_events_db("postgresql", tmp_path)
    try:
        activate(db, "hook", receiver.url, CREDIT)
        worker = db.worker()
        worker.start(interval=0.05)
        try:
            changes = raise_limits(db, 10)
            database = db.url.rsplit("/", 1)[1]
            db.run("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d "
                   "AND pid <> pg_backend_pid()", d=database)  # as a restart does to every session
            changes += raise_limits(db, 10, start=20_000)
            wait_for(lambda: db.waiting() == 0 and len(dedupe(receiver.events())) == 20, 60, "the worker")
        finally:
            worker.stop()
    finally:
        db.engine.dispose()
    assert limits(dedupe(receiver.events())) == changes


def test_rabbitmq_connection_dropped_mid_stream_loses_nothing(sqlite_db: EventsDb) -> None:
    from tests.events.test_transports import AMQP_URL, close_from_broker, connect

    db = sqlite_db
    consumer = connect()  # skips, saying why, when the broker is not there
    queue = f"fno-events-test-{os.getpid()}-{threading.get_ident()}"
    try:
        activate(db, "rabbit", AMQP_URL, CREDIT, EndpointType="RabbitMQ", QueueName=queue)
        worker = db.worker()
        worker.start(interval=0.01)
        try:
            changes = raise_limits(db, 5)
            wait_for(lambda: "rabbit" in worker.deliverer._transports, 30, "the first publish")
            transport = worker.deliverer._transports["rabbit"][1]
            assert isinstance(transport, RabbitMqTransport)
            # While the worker publishes a stream of changes, the broker drops its connection.
            publishing = threading.Thread(target=lambda: changes.extend(raise_limits(db, 40, start=30_000)))
            publishing.start()
            wait_for(lambda: outbox_status(db).get("Delivered", 0) >= 15, 30, "publishing under way")
            close_from_broker(transport)
            publishing.join(timeout=60)
            wait_for(lambda: db.waiting() == 0, 60, "every event published")
        finally:
            worker.stop()
        channel = consumer.channel()
        bodies = []
        while (message := channel.basic_get(queue, auto_ack=True))[0] is not None:
            bodies.append(message[2])
    finally:
        with_channel = consumer.channel()
        with_channel.queue_delete(queue)
        consumer.close()
    received = [json.loads(body) for body in bodies]
    assert limits(dedupe([{"Body": event} for event in received])) == changes


def test_data_events_beyond_the_budget_wait_queued(sqlite_db: EventsDb, tmp_path: Path) -> None:
    db = sqlite_db
    with running_receiver(tmp_path) as data, running_receiver(tmp_path) as business:
        activate(db, "data", data.url, "CustomersV3_Updated")
        activate(db, "business", business.url, CREDIT)
        changes = raise_limits(db, 7)
        worker = db.worker(DeliveryPolicy(first_retry=0.05, longest_wait=0.5, budget_5_minutes=3))
        try:
            for _ in range(3):
                worker.run_once()
            assert worker.deliverer.throttled
            assert len(data.events()) == 3 and len(business.events()) == 7  # business events have no budget
            states = {state.endpoint_id: state for state in db.events.states()}
            assert states["data"].pending == 4 and states["business"].pending == 0
            worker.deliverer.policy = FAST  # the budget frees up (here: raised)
            worker.deliverer.budget.policy = FAST
            db.drain(worker)
        finally:
            worker.release()
        assert [(event["Target"]["CustomerAccount"], int(event["Target"]["CreditLimit"]))
                for event in dedupe(data.events())] == changes


def test_the_database_restarted_under_a_running_worker_loses_nothing(private_postgresql: PrivateServer,
                                                                      tmp_path: Path, receiver: Receiver) -> None:
    """A real restart (pg_ctl restart) of the events' database while a worker process runs and changes
    keep coming: the worker reconnects, and every committed change arrives once (after de-duplication)."""
    build_demo_database(private_postgresql.url, scale=0.01, seed=7, progress=False)
    engine = make_engine(private_postgresql.url)
    db = EventsDb("postgresql", private_postgresql.url, engine, Events.open(engine, load_catalog(), policy=FAST))
    try:
        activate(db, "hook", receiver.url, CREDIT)
        with worker_process(db, tmp_path):
            changes = raise_limits(db, 10)
            wait_for(lambda: len(dedupe(receiver.events())) >= 5, 30, "deliveries before the restart")
            engine.dispose()
            private_postgresql.restart()
            changes += raise_limits(db, 10, start=40_000)
            wait_for(lambda: len(dedupe(receiver.events())) == 20, 60, "every change after the restart")
    finally:
        engine.dispose()
    assert limits(dedupe(receiver.events())) == changes
