"""Delivery transports: how one encoded event reaches one endpoint (a webhook or a RabbitMQ broker).

A transport's `send` returns only once the endpoint has acknowledged the message (a 2xx answer, a
publisher confirm); anything else raises `DeliveryError`, whose `retryable` tells the outbox whether
to try again later or to park the message. Delivery is at least once: a message whose acknowledgment
was lost is sent again, so subscribers deduplicate on `event_id` (the envelope's EventId).

A transport is used by one worker thread at a time (pika's BlockingConnection is not thread-safe).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import pika
import pika.exceptions

SIGNATURE_HEADER = "X-FnoGateway-Signature"
SIGNATURE_PREFIX = "sha256="


@dataclass(frozen=True)
class Message:
    body: bytes  # the JSON envelope, already encoded (UTF-8)
    event_id: str  # the EventId Guid: subscribers' idempotency key
    control_number: int  # monotonic per endpoint
    business_event_id: str  # e.g. CustomerCreditLimitChangedBusinessEvent or CustomersV3_Updated
    legal_entity: str  # e.g. "usmf" ("" when none)


class DeliveryError(Exception):
    """The endpoint did not acknowledge the message; `message` says why in one line (kept in the error log).

    `retryable` is False only when trying again cannot help without a change of configuration."""

    def __init__(self, message: str, retryable: bool = True) -> None:
        # Exception texts (pika's, a response body) may span lines; the error log keeps one line per failure.
        self.message = " ".join(message.split())[:500]
        self.retryable = retryable
        super().__init__(self.message)


class Transport(Protocol):
    def send(self, message: Message) -> None: ...

    def close(self) -> None: ...


def sign(secret: bytes, body: bytes) -> str:
    """The signature header's value: HMAC-SHA256 of the exact body bytes, as the subscriber recomputes it."""
    return SIGNATURE_PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(secret: bytes, body: bytes, header: str) -> bool:
    """Whether `header` is `sign(secret, body)`, compared in constant time (no timing oracle)."""
    expected = sign(secret, body).encode("ascii")
    # Bytes on both sides: compare_digest refuses non-ASCII str, and a forged header may hold anything.
    return hmac.compare_digest(expected, header.strip().lower().encode("utf-8", "replace"))


def redact(url: str) -> str:
    """`url` without credentials or query: a Power Automate trigger URL carries its key in `sig=`, and a
    broker URL its password, while error messages end up in a log that operators read."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _describe(error: BaseException) -> str:
    """`Type: text`; pika's connection errors have an empty str() and keep their cause in args, whose own
    str() may be empty too (their repr says it)."""
    text = str(error) or "; ".join(str(argument) or repr(argument) for argument in error.args)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _refused(error: BaseException) -> bool:
    """Whether a refused TCP connection is at the root of `error` (httpx chains it, pika keeps it as text)."""
    seen: BaseException | None = error
    while seen is not None:
        text = _describe(seen).lower()
        if isinstance(seen, ConnectionRefusedError) or "connection refused" in text \
                or "connectionrefusederror" in text:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class WebhookTransport:
    """POST to an HTTP endpoint (a webhook, a Power Automate trigger); any 2xx answer acknowledges."""

    def __init__(self, url: str, secret: bytes | None, timeout: float = 10.0,
                 headers: Mapping[str, str] | None = None) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            # Checked here, where the endpoint is configured, rather than failing on every message later.
            raise ValueError(f"a webhook URL must be http:// or https:// with a host, not {redact(url)!r}")
        self.url = url
        self.secret = secret
        self.timeout = timeout
        self._shown = redact(url)
        # One client per endpoint keeps its connection alive between messages. Redirects are never followed:
        # a 3xx could send the signed event to another host. The timeout bounds each phase (connect, every
        # read), which is what stops a silent endpoint from holding a worker.
        self._client = httpx.Client(timeout=timeout, follow_redirects=False, headers=dict(headers or {}))

    def send(self, message: Message) -> None:
        headers = {
            "Content-Type": "application/json",
            "X-FnoGateway-Event-Id": message.event_id,
            "X-FnoGateway-Control-Number": str(message.control_number),
            "X-FnoGateway-Business-Event-Id": message.business_event_id,
        }
        if self.secret is not None:
            headers[SIGNATURE_HEADER] = sign(self.secret, message.body)
        try:
            response = self._client.post(self.url, content=message.body, headers=headers)
        except httpx.TimeoutException as error:
            raise DeliveryError(f"timed out after {self.timeout} s ({type(error).__name__}) posting to "
                                f"{self._shown}") from error
        except httpx.TransportError as error:
            reason = "connection refused" if _refused(error) else _describe(error)
            raise DeliveryError(f"{reason} ({self._shown})") from error
        status = response.status_code
        if 200 <= status < 300:
            return
        if 300 <= status < 400:
            location = redact(response.headers.get("location", ""))
            raise DeliveryError(f"HTTP {status} from {self._shown} redirects to {location!r}: redirects are "
                                "not followed (configure the final URL)", retryable=False)
        # A short excerpt of the answer says why far better than the status alone (e.g. "signature mismatch").
        excerpt = response.text[:200]
        reason = f"HTTP {status} from {self._shown}" + (f": {excerpt}" if excerpt.strip() else "")
        # 408 and 429 say "not now"; 5xx is the endpoint's own failure: all may pass. Another 4xx will not.
        raise DeliveryError(reason, retryable=status >= 500 or status in (408, 429))

    def close(self) -> None:
        self._client.close()


# Bounds on every wait of a connection, so that a dead or stalled broker fails a send instead of hanging its
# worker; values given in the URL's query (amqp://...?socket_timeout=3) win over these.
AMQP_DEFAULTS = {
    "socket_timeout": 5.0,  # TCP connect
    "stack_timeout": 10.0,  # TCP + AMQP handshake as a whole
    "blocked_connection_timeout": 10.0,  # broker in a resource alarm (Connection.Blocked)
    "heartbeat": 30,  # a silent peer (lost network) is noticed while waiting for a confirm
    "connection_attempts": 1,  # the outbox retries, with its own back-off
}


class RabbitMqTransport:
    """Publish to a RabbitMQ exchange with publisher confirms: `send` returns once the broker has the message.

    Messages are persistent and published `mandatory`: a message no queue would take comes back as an
    error instead of vanishing. That error is retryable although it is a configuration mistake (a missing
    binding): the outbox keeps the message until someone adds the binding, and nothing is lost.
    """

    def __init__(self, url: str, exchange: str = "", routing_key: str = "", queue: str | None = None) -> None:
        self.parameters = pika.URLParameters(url)
        given = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
        for name, value in AMQP_DEFAULTS.items():
            if name not in given:
                setattr(self.parameters, name, value)
        self.parameters.client_properties = {"connection_name": "fno-gateway events"}
        self.exchange = exchange
        self.queue = queue
        # On the default exchange the routing key is the queue's name.
        self.routing_key = queue if exchange == "" and queue else routing_key
        if exchange == "" and not self.routing_key:
            raise ValueError("RabbitMQ: the default exchange needs a queue or a routing key")
        self._shown = redact(url)
        self._connection: Any = None  # pika.BlockingConnection (pika has no type hints)
        self._channel: Any = None

    def _connect(self) -> Any:
        """The open channel, connecting (and declaring the queue) on first use or after a failure."""
        if self._connection is not None and self._connection.is_open and self._channel.is_open:
            return self._channel
        self._drop()
        self._connection = pika.BlockingConnection(self.parameters)
        channel = self._connection.channel()
        if self.queue:
            channel = self._declare(channel, self.queue)
        channel.confirm_delivery()
        self._channel = channel
        return channel

    def _declare(self, channel: Any, queue: str) -> Any:
        """Make sure `queue` exists (and, on a named exchange, is bound to it); returns a usable channel."""
        try:
            # A queue that exists is used as it is: redeclaring it with other arguments (a quorum queue, a
            # TTL) would fail with PRECONDITION_FAILED.
            channel.queue_declare(queue, passive=True)
        except pika.exceptions.ChannelClosedByBroker as error:
            if error.reply_code != 404:
                raise
            channel = self._connection.channel()  # the failed passive declare closed the channel
            channel.queue_declare(queue, durable=True)
        if self.exchange:
            channel.queue_bind(queue, self.exchange, routing_key=self.routing_key)
        return channel

    def send(self, message: Message) -> None:
        properties = pika.BasicProperties(
            content_type="application/json",
            delivery_mode=pika.DeliveryMode.Persistent,  # written to disk by a durable queue
            message_id=message.event_id,
            type=message.business_event_id,
            headers={
                "ControlNumber": message.control_number,
                "BusinessEventId": message.business_event_id,
                "LegalEntity": message.legal_entity,
            },
        )
        try:
            kept = self._connection is not None
            try:
                self._publish(message.body, properties)
            except (pika.exceptions.AMQPConnectionError, OSError):
                if not kept:
                    raise
                # A kept connection may have died while idle (the broker closed it, restarted, or timed out
                # its heartbeats since no one served them between sends): one more try on a new connection.
                # At worst the broker had the message already and it arrives twice, which at-least-once
                # delivery allows.
                self._drop()
                self._publish(message.body, properties)
        except pika.exceptions.UnroutableError as error:
            # The channel stays usable after a returned message: only the binding is missing.
            raise DeliveryError(f"unroutable: no queue is bound to exchange {self.exchange!r} with routing "
                                f"key {self.routing_key!r} on {self._shown}") from error
        except (pika.exceptions.AMQPError, OSError) as error:
            # Whatever failed, the connection may be half-open: drop it so the next send starts afresh.
            self._drop()
            reason = "connection refused" if _refused(error) else _describe(error)
            raise DeliveryError(f"{reason} ({self._shown})") from error

    def _publish(self, body: bytes, properties: Any) -> None:
        # With confirm_delivery this blocks until the broker acks; it raises on nack or return (unroutable).
        self._connect().basic_publish(self.exchange, self.routing_key, body, properties, mandatory=True)

    def _drop(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            # Closing a broken connection may fail in any way; it is being dropped all the same.
            with contextlib.suppress(Exception):
                connection.close()

    def close(self) -> None:
        self._drop()


def transport_for(kind: str, url: str, secret: bytes | None, timeout: float, headers: Mapping[str, str],
                  exchange: str, routing_key: str, queue: str | None) -> Transport:
    """The transport of an endpoint of `kind` (a Power Automate flow's HTTP trigger is a webhook)."""
    if kind in ("Webhook", "PowerAutomate"):
        return WebhookTransport(url, secret, timeout, headers)
    if kind == "RabbitMQ":
        return RabbitMqTransport(url, exchange, routing_key, queue)
    raise ValueError(f"unknown endpoint kind {kind!r}: expected Webhook, PowerAutomate or RabbitMQ")
