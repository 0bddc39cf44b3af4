"""Delivery transports against real endpoints: the webhook receiver as its own process, and the RabbitMQ
broker on 127.0.0.1:5672 (skipped, saying why, when it is not there).

What arrived is checked independently of the transport: digests and HMACs computed here with
hashlib/hmac, and for RabbitMQ a separate pika connection that reads the queue.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pika
import pika.exceptions
import pytest

from gateway.events.transports import (
    DeliveryError,
    Message,
    RabbitMqTransport,
    WebhookTransport,
    redact,
    sign,
    transport_for,
    verify,
)
from tests.conftest import free_port
from tests.events.conftest import running_receiver

SECRET = b"transport-test-secret"
AMQP_URL = os.environ.get("FNO_TEST_AMQP", "amqp://guest:guest@127.0.0.1:5672/%2F")


def message(number: int, entity: str = "usmf") -> Message:
    event_id = str(uuid.uuid4())
    envelope = {"BusinessEventId": "CustomerCreditLimitChangedBusinessEvent", "ControlNumber": number,
                "EventId": event_id, "LegalEntity": entity, "CustomerName": "Ærø Kunde ✓"}
    return Message(json.dumps(envelope, ensure_ascii=False).encode("utf-8"), event_id, number,
                   "CustomerCreditLimitChangedBusinessEvent", entity)


def failure(transport: Any, sent: Message) -> DeliveryError:
    with pytest.raises(DeliveryError) as raised:
        transport.send(sent)
    assert "\n" not in raised.value.message
    return raised.value


# ---- signing -------------------------------------------------------------------------------------------

def test_sign_and_verify_match_an_independent_hmac() -> None:
    body = message(1).body
    expected = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    assert sign(SECRET, body) == expected
    assert verify(SECRET, body, expected)
    assert not verify(SECRET, body + b" ", expected)
    assert not verify(b"other", body, expected)
    assert not verify(SECRET, body, "")
    assert not verify(SECRET, body, "sha256=ü")  # a forged non-ASCII header is refused, not an exception


# ---- webhooks ------------------------------------------------------------------------------------------

def test_webhook_delivers_the_exact_bytes_signed(tmp_path: Path) -> None:
    record = tmp_path / "events.jsonl"
    with running_receiver(tmp_path, "--secret", SECRET.decode(), "--record", str(record)) as receiver:
        transport = WebhookTransport(receiver.url, SECRET, timeout=5, headers={"X-Api-Key": "key-123"})
        sent = [message(number) for number in (1, 2, 3)]
        for each in sent:
            transport.send(each)
        transport.close()
        events = receiver.events()
    assert len(events) == 3
    assert len({event["From"] for event in events}) == 1  # one client port: the connection was kept alive
    for each, event in zip(sent, events, strict=True):
        assert event["BodySha256"] == hashlib.sha256(each.body).hexdigest()  # byte-identical
        assert event["SignatureVerified"] is True
        headers = event["Headers"]
        expected = "sha256=" + hmac.new(SECRET, each.body, hashlib.sha256).hexdigest()
        assert headers["x-fnogateway-signature"] == expected
        assert headers["content-type"] == "application/json"
        assert headers["x-fnogateway-event-id"] == each.event_id
        assert headers["x-fnogateway-control-number"] == str(each.control_number)
        assert headers["x-fnogateway-business-event-id"] == each.business_event_id
        assert headers["x-api-key"] == "key-123"
    assert [json.loads(line)["Body"] for line in record.read_text(encoding="utf-8").splitlines()] == [
        json.loads(each.body) for each in sent]


def test_webhook_without_secret_sends_no_signature(tmp_path: Path) -> None:
    with running_receiver(tmp_path) as receiver:
        transport = WebhookTransport(receiver.url, None, timeout=5)
        transport.send(message(1))
        transport.close()
        [event] = receiver.events()
    assert "x-fnogateway-signature" not in event["Headers"]


def test_webhook_wrong_secret_is_not_retryable(tmp_path: Path) -> None:
    with running_receiver(tmp_path, "--secret", SECRET.decode()) as receiver:
        transport = WebhookTransport(receiver.url, b"not the receiver's secret", timeout=5)
        error = failure(transport, message(1))
        transport.close()
        assert receiver.events() == []
    assert not error.retryable
    assert error.message.startswith(f"HTTP 401 from {receiver.url}") and "does not match" in error.message


def test_webhook_server_errors_are_retried_until_acknowledged(tmp_path: Path) -> None:
    with running_receiver(tmp_path, "--fail-first", "2") as receiver:
        transport = WebhookTransport(receiver.url, None, timeout=5)
        sent = message(1)
        errors = [failure(transport, sent) for _ in range(2)]
        transport.send(sent)  # the third try is acknowledged
        transport.close()
        [event] = receiver.events()
    assert [(e.retryable, e.message.split(":")[0]) for e in errors] == [(True, "HTTP 500 from http")] * 2
    assert event["Headers"]["x-fnogateway-event-id"] == sent.event_id


@pytest.mark.parametrize(("status", "retryable"), [(408, True), (429, True), (503, True), (404, False),
                                                   (410, False), (307, False)])
def test_webhook_status_decides_retry(tmp_path: Path, status: int, retryable: bool) -> None:
    with running_receiver(tmp_path, "--fail-first", "1", "--fail-status", str(status)) as receiver:
        transport = WebhookTransport(receiver.url, None, timeout=5)
        error = failure(transport, message(1))
        transport.close()
        assert receiver.events() == []  # a 3xx is not followed either
    assert error.retryable is retryable
    assert error.message.startswith(f"HTTP {status} from {receiver.url}")


def test_webhook_timeout_is_retryable(tmp_path: Path) -> None:
    with running_receiver(tmp_path, "--delay", "4") as receiver:
        transport = WebhookTransport(receiver.url, None, timeout=1.0)
        started = time.monotonic()
        error = failure(transport, message(1))
        elapsed = time.monotonic() - started
        transport.close()
    assert error.retryable and error.message.startswith("timed out after 1.0 s")
    assert 0.9 <= elapsed < 3.5


def test_webhook_nothing_listening_is_retryable_and_hides_the_query() -> None:
    # A Power Automate trigger URL carries its key in the query: it must not reach the error log.
    url = f"http://127.0.0.1:{free_port()}/workflows/1/triggers/manual?api-version=2016-06-01&sig=TOPSECRET"
    transport = transport_for("PowerAutomate", url, None, 2.0, {}, "", "", None)
    assert isinstance(transport, WebhookTransport)
    error = failure(transport, message(1))
    transport.close()
    assert error.retryable and error.message.startswith("connection refused")
    assert "TOPSECRET" not in error.message and "/workflows/1/triggers/manual" in error.message


def test_webhook_connection_reset_is_retryable() -> None:
    """A server that accepts the connection and resets it without answering."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        server.settimeout(10)
        transport = WebhookTransport(f"http://127.0.0.1:{server.getsockname()[1]}/events", None, timeout=5)
        def reset_one() -> None:
            connection, _ = server.accept()
            connection.recv(65536)
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            connection.close()  # linger 0: RST instead of FIN

        thread = threading.Thread(target=reset_one)
        thread.start()
        error = failure(transport, message(1))
        thread.join(timeout=10)
        transport.close()
    assert error.retryable


def test_transport_for_kinds() -> None:
    assert isinstance(transport_for("Webhook", "https://example.invalid/x", b"s", 5, {}, "", "", None),
                      WebhookTransport)
    rabbit = transport_for("RabbitMQ", AMQP_URL, None, 5, {}, "", "", "some-queue")
    assert isinstance(rabbit, RabbitMqTransport)
    rabbit.close()  # never connected: closing is a no-op
    with pytest.raises(ValueError, match="unknown endpoint kind"):
        transport_for("Kafka", "kafka://127.0.0.1", None, 5, {}, "", "", None)
    with pytest.raises(ValueError, match="http"):
        WebhookTransport("ftp://127.0.0.1/x", None)
    with pytest.raises(ValueError, match="queue or a routing key"):
        RabbitMqTransport(AMQP_URL)


# ---- RabbitMQ ------------------------------------------------------------------------------------------

def connect(url: str = AMQP_URL) -> Any:
    separator = "&" if "?" in url else "?"
    options = "socket_timeout=3&connection_attempts=1"
    return pika.BlockingConnection(pika.URLParameters(f"{url}{separator}{options}"))


@pytest.fixture
def broker() -> Iterator[Any]:
    """A test-side connection to the broker (independent of the transport's), or skip saying why."""
    try:
        connection = connect()
    except pika.exceptions.AMQPError as error:
        pytest.skip(f"RabbitMQ not reachable at {redact(AMQP_URL)} ({error!r})")
    yield connection
    connection.close()


@pytest.fixture
def queue(broker: Any) -> Iterator[str]:
    """A fresh queue name; the queue (declared by the transport) is deleted afterwards."""
    name = f"fno-test-events-{uuid.uuid4().hex[:12]}"
    yield name
    channel = broker.channel()
    channel.queue_delete(name)
    channel.close()


def drain(broker: Any, queue: str) -> list[tuple[Any, bytes]]:
    """Every message in `queue` as (properties, body), read with the test's own connection."""
    channel = broker.channel()
    messages = []
    while True:
        method, properties, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            break
        messages.append((properties, body))
    channel.close()
    return messages


def test_rabbitmq_publishes_confirmed_persistent_messages(broker: Any, queue: str) -> None:
    transport = transport_for("RabbitMQ", AMQP_URL, None, 5, {}, "", "", queue)
    sent = [message(number, "usmf" if number % 2 else "") for number in range(1, 26)]
    for each in sent:
        transport.send(each)
    transport.close()
    # Confirmed means enqueued: the messages are there now, in order, without waiting.
    received = drain(broker, queue)
    assert [body for _, body in received] == [each.body for each in sent]
    for (properties, _), each in zip(received, sent, strict=True):
        assert properties.message_id == each.event_id
        assert properties.delivery_mode == 2
        assert properties.content_type == "application/json"
        assert properties.headers == {"ControlNumber": each.control_number, "LegalEntity": each.legal_entity,
                                      "BusinessEventId": each.business_event_id}
    # The transport declared the queue durable: it would outlive a broker restart.
    assert broker.channel().queue_declare(queue, passive=True).method.message_count == 0


def test_rabbitmq_unroutable_is_retryable_until_bound(broker: Any, queue: str) -> None:
    exchange = f"{queue}-exchange"
    channel = broker.channel()
    channel.exchange_declare(exchange, "direct", auto_delete=False)
    try:
        unbound = RabbitMqTransport(AMQP_URL, exchange, "credit-limit")
        error = failure(unbound, message(1))
        assert error.retryable and error.message.startswith("unroutable")
        bound = RabbitMqTransport(AMQP_URL, exchange, "credit-limit", queue)  # declares and binds the queue
        sent = message(3)
        bound.send(sent)
        # Now that a queue is bound, the first transport's next send goes through on its same connection.
        again = message(4)
        unbound.send(again)
        bound.close()
        unbound.close()
        assert [body for _, body in drain(broker, queue)] == [sent.body, again.body]
    finally:
        channel.exchange_delete(exchange)
        channel.close()


def test_rabbitmq_nothing_listening_fails_fast_and_retryable() -> None:
    transport = RabbitMqTransport(f"amqp://guest:guest@127.0.0.1:{free_port()}/%2F", queue="never")
    started = time.monotonic()
    error = failure(transport, message(1))
    transport.close()
    assert time.monotonic() - started < 15
    assert error.retryable and error.message.startswith("connection refused")


def test_rabbitmq_bad_credentials_are_retryable_and_not_shown(broker: Any) -> None:
    transport = RabbitMqTransport("amqp://guest:Wrong-Password-42@127.0.0.1:5672/%2F", queue="never")
    error = failure(transport, message(1))
    transport.close()
    assert error.retryable and "Wrong-Password-42" not in error.message


def local_port(transport: RabbitMqTransport) -> int:
    """The client port of the transport's AMQP connection (a test-only probe of pika's internals)."""
    return int(transport._connection._impl._transport._sock.getsockname()[1])


def close_from_broker(transport: RabbitMqTransport) -> str:
    """Drop the transport's connection from outside; returns how. Prefers the broker closing it
    (`rabbitmqctl close_connection`, only this connection, found by its client port), else shuts the socket
    down under pika; skips the test when neither can be done."""
    port = local_port(transport)
    rabbitmqctl = shutil.which("rabbitmqctl")
    if rabbitmqctl:
        try:
            command = [rabbitmqctl, "list_connections", "pid", "peer_port", "-q", "--no-table-headers"]
            listed = subprocess.run(command, capture_output=True, text=True, timeout=15, check=True).stdout
            [pid] = [line.split("\t")[0] for line in listed.splitlines() if line.split("\t")[-1] == str(port)]
            subprocess.run([rabbitmqctl, "close_connection", pid, "test"], capture_output=True, timeout=15,
                           check=True)
            time.sleep(0.2)  # the broker's Connection.Close reaches the client's socket
            return "rabbitmqctl"
        except (subprocess.SubprocessError, OSError, ValueError):
            pass
    try:
        transport._connection._impl._transport._sock.shutdown(socket.SHUT_RDWR)
        return "socket shutdown"
    except (AttributeError, OSError) as error:
        pytest.skip(f"cannot drop the AMQP connection: rabbitmqctl unusable and no socket ({error})")


def test_rabbitmq_connection_dropped_midstream_loses_nothing(broker: Any, queue: str) -> None:
    transport = RabbitMqTransport(AMQP_URL, queue=queue)
    attempted: list[Message] = []
    confirmed: list[Message] = []
    outcomes: list[str] = []

    def send(each: Message) -> None:
        attempted.append(each)
        try:
            transport.send(each)
        except DeliveryError as error:
            assert error.retryable, error.message
            outcomes.append(f"retryable: {error.message}")
        else:
            confirmed.append(each)

    number = 0
    for _round in range(3):
        for _ in range(5):
            number += 1
            send(message(number))
        dropped = local_port(transport)
        how = close_from_broker(transport)
        number += 1
        send(message(number))  # fails retryably or reconnects first
        number += 1
        transport.send(following := message(number))  # the one after must go through
        attempted.append(following)
        confirmed.append(following)
        assert local_port(transport) != dropped  # it did go through a new connection
    transport.close()

    received = {properties.message_id for properties, _ in drain(broker, queue)}
    assert {each.event_id for each in confirmed} <= received, (how, outcomes)
    assert received <= {each.event_id for each in attempted}
    assert len(confirmed) >= 18
