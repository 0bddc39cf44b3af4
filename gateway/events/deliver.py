"""Delivery: one endpoint's outbox, in ControlNumber order, at least once.

An event is marked Delivered only after its endpoint acknowledged it (a 2xx answer, a publisher
confirm), each one as soon as it is acknowledged: a worker killed in between sends that one event
again (same EventId and ControlNumber), and nothing else. A failure that may pass (5xx, timeout, the
broker away) holds the endpoint's queue behind it and is retried with exponential back-off until
`retry_window` has passed since it was queued; then, or at once for a refusal (4xx), the event goes
to the error log (status Failed) and the queue moves on. `resend` puts failed events back.

Data events obey F&O's documented budget (5,000 per 5 minutes, 50,000 per hour, across endpoints):
beyond it they wait in the outbox, counted as backlog, and are never dropped.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
import re
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, and_, case, func, or_, select, true, update

from gateway.events.definitions import DATA
from gateway.events.store import DELIVERED, FAILED, PENDING, endpoints, now, outbox
from gateway.events.transports import DeliveryError, Message, Transport, transport_for
from gateway.faults import fault_point

log = logging.getLogger("fno_gateway.events")
ENDPOINT_TYPES = {0: "Webhook", 1: "RabbitMQ", 2: "PowerAutomate"}
SECRET_PREFIX = "FNO_GATEWAY_SECRET_"


@dataclass(frozen=True)
class DeliveryPolicy:
    first_retry: float = 1.0  # seconds before the first retry; doubled each time
    longest_wait: float = 60.0  # back-off never waits longer than this between attempts
    retry_window: float = 24 * 3600.0  # a failing event is retried this long, then parked in the error log
    budget_5_minutes: int = 5_000  # data events delivered per 5 minutes (F&O's documented budget)
    budget_hour: int = 50_000  # and per hour
    batch: int = 200  # events delivered per endpoint before the worker looks at the others

    def wait(self, attempts: int) -> float:
        return float(min(self.first_retry * 2 ** max(attempts - 1, 0), self.longest_wait))


def secret(name: str | None) -> bytes | None:
    """An endpoint's signing secret, by name, from the environment (FNO_GATEWAY_SECRET_<NAME>)."""
    if not name:
        return None
    value = os.environ.get(SECRET_PREFIX + re.sub(r"[^A-Za-z0-9]", "_", name).upper())
    return value.encode() if value else None


@dataclass(frozen=True)
class EndpointConfig:
    endpoint_id: str
    kind: str
    url: str
    secret_name: str | None
    timeout: float
    headers: tuple[tuple[str, str], ...]
    exchange: str
    routing_key: str
    queue: str | None

    @staticmethod
    def of(row: Any) -> EndpointConfig:
        headers = json.loads(row.HEADERS) if row.HEADERS else {}
        return EndpointConfig(row.ENDPOINTID, ENDPOINT_TYPES.get(row.ENDPOINTTYPE, "Webhook"), row.URL,
                              row.SECRETNAME, float(row.TIMEOUTSECONDS or 10),
                              tuple(sorted((str(k), str(v)) for k, v in headers.items())),
                              row.EXCHANGE or "", row.ROUTINGKEY or "", row.QUEUENAME or None)

    def transport(self) -> Transport:
        key = secret(self.secret_name)
        url = self.url
        if self.kind == "RabbitMQ" and key is not None:  # the broker password lives with the secrets too
            parts = urllib.parse.urlsplit(url)
            user = urllib.parse.unquote(parts.username or "guest")
            netloc = f"{urllib.parse.quote(user)}:{urllib.parse.quote(key.decode())}@{parts.hostname}"
            url = urllib.parse.urlunsplit(parts._replace(netloc=netloc + (f":{parts.port}" if parts.port else "")))
        return transport_for(self.kind, url, key, self.timeout, dict(self.headers), self.exchange,
                             self.routing_key, self.queue)


class Budget:
    """How many more data events may go now (counted from the outbox's delivery times)."""

    def __init__(self, engine: Engine, policy: DeliveryPolicy) -> None:
        self.engine = engine
        self.policy = policy

    def remaining(self) -> int:
        five, hour = self.used()
        return max(0, min(self.policy.budget_5_minutes - five, self.policy.budget_hour - hour))

    def used(self) -> tuple[int, int]:
        """Data events delivered in the last 5 minutes and in the last hour."""
        moment = now()
        recent = case((outbox.c.DELIVEREDAT >= moment - dt.timedelta(minutes=5), 1), else_=0)
        with self.engine.connect() as connection:
            five, hour = connection.execute(select(
                func.coalesce(func.sum(recent), 0), func.count()).where(outbox.c.KIND == DATA,
                                    outbox.c.DELIVEREDAT >= moment - dt.timedelta(hours=1))).one()
        return int(five), int(hour)


class Deliverer:
    """Sends outbox rows of endpoints; keeps one transport per endpoint (reconnecting as needed)."""

    def __init__(self, engine: Engine, policy: DeliveryPolicy) -> None:
        self.engine = engine
        self.policy = policy
        self.budget = Budget(engine, policy)
        self._transports: dict[str, tuple[EndpointConfig, Transport]] = {}
        self.throttled = False  # the last pass left data events waiting for the budget
        self._warned = -math.inf

    def due_endpoints(self) -> list[Any]:
        """Enabled endpoints with pending events whose next attempt is due."""
        moment = now()
        due = (select(outbox.c.ENDPOINTID).where(
            outbox.c.STATUS == PENDING, or_(outbox.c.NEXTATTEMPTAT.is_(None), outbox.c.NEXTATTEMPTAT <= moment))
            .distinct().subquery())
        with self.engine.connect() as connection:
            return list(connection.execute(
                select(endpoints).where(endpoints.c.ENDPOINTID.in_(select(due.c.ENDPOINTID)), endpoints.c.ENABLED.is_(true()))
                .order_by(endpoints.c.ENDPOINTID)))

    def deliver(self, endpoint_row: Any, still_held: Callable[[], bool]) -> int:
        """Send the endpoint's due events in order; returns how many were acknowledged."""
        config = EndpointConfig.of(endpoint_row)
        with self.engine.connect() as connection:
            rows = list(connection.execute(
                select(outbox.c.SEQ, outbox.c.CONTROLNUMBER, outbox.c.EVENTID, outbox.c.BUSINESSEVENTID,
                       outbox.c.KIND, outbox.c.LEGALENTITY, outbox.c.PAYLOAD, outbox.c.ATTEMPTS,
                       outbox.c.NEXTATTEMPTAT, outbox.c.QUEUEDAT)
                .where(outbox.c.ENDPOINTID == config.endpoint_id, outbox.c.STATUS == PENDING)
                .order_by(outbox.c.CONTROLNUMBER).limit(self.policy.batch)))
        budget: int | None = None
        sent = 0
        # One connection for the batch: each event is marked in a transaction of its own, right after its
        # acknowledgment, without a pool checkout (and its ping) per event.
        with self.engine.connect() as connection:
            for row in rows:
                if row.NEXTATTEMPTAT is not None and row.NEXTATTEMPTAT > now():
                    break  # the head of the queue waits for its retry: so does everything behind it
                if row.KIND == DATA:
                    budget = self.budget.remaining() if budget is None else budget
                    if budget <= 0:
                        self._report_throttled(config.endpoint_id)
                        break
                    budget -= 1
                if not still_held():  # another worker took the endpoint over: it sends from here on
                    break
                try:
                    self._transport(config).send(Message(row.PAYLOAD.encode(), row.EVENTID, row.CONTROLNUMBER,
                                                         row.BUSINESSEVENTID, row.LEGALENTITY))
                except DeliveryError as error:
                    self._failed(connection, config, row, error)
                    if error.retryable and not self._expired(row):
                        break
                    continue
                fault_point("events-after-send")  # acknowledged, not yet marked: crash tests kill here
                with connection.begin():
                    connection.execute(update(outbox).where(outbox.c.SEQ == row.SEQ).values(
                        STATUS=DELIVERED, DELIVEREDAT=now(), ATTEMPTS=row.ATTEMPTS + 1, LASTERROR=None,
                        NEXTATTEMPTAT=None))
                sent += 1
        return sent

    def _report_throttled(self, endpoint_id: str) -> None:
        """The budget is spent: data events wait (never dropped); said in the log once a minute."""
        self.throttled = True
        if time.monotonic() - self._warned >= 60:
            self._warned = time.monotonic()
            log.warning("data-event budget spent (%d per 5 minutes, %d per hour): %s's data events wait queued",
                        self.policy.budget_5_minutes, self.policy.budget_hour, endpoint_id)

    def _expired(self, row: Any) -> bool:
        return bool((now() - row.QUEUEDAT).total_seconds() >= self.policy.retry_window)

    def _failed(self, connection: Connection, config: EndpointConfig, row: Any, error: DeliveryError) -> None:
        attempts = row.ATTEMPTS + 1
        parked = not error.retryable or self._expired(row)
        values: dict[str, Any] = {"ATTEMPTS": attempts, "LASTERROR": error.message[:1000]}
        if parked:
            values.update(STATUS=FAILED, NEXTATTEMPTAT=None)
            log.warning("event %s to %s failed after %d attempts: %s", row.EVENTID, config.endpoint_id, attempts,
                        error.message)
        else:
            values["NEXTATTEMPTAT"] = now() + dt.timedelta(seconds=self.policy.wait(attempts))
        with connection.begin():
            connection.execute(update(outbox).where(outbox.c.SEQ == row.SEQ).values(**values))

    def _transport(self, config: EndpointConfig) -> Transport:
        known = self._transports.get(config.endpoint_id)
        if known is not None and known[0] == config:
            return known[1]
        if known is not None:  # the endpoint was changed: connect anew
            known[1].close()
        transport = config.transport()
        self._transports[config.endpoint_id] = (config, transport)
        return transport

    def close(self) -> None:
        for _, transport in self._transports.values():
            transport.close()
        self._transports.clear()


def resend(engine: Engine, endpoint_id: str | None = None, seqs: list[int] | None = None) -> int:
    """Failed events back to Pending (the same EventId and ControlNumber); returns how many."""
    conditions = [outbox.c.STATUS == FAILED]
    if endpoint_id is not None:
        conditions.append(outbox.c.ENDPOINTID == endpoint_id)
    if seqs:
        conditions.append(outbox.c.SEQ.in_(seqs))
    with engine.begin() as connection:
        result = connection.execute(update(outbox).where(and_(*conditions)).values(
            STATUS=PENDING, ATTEMPTS=0, NEXTATTEMPTAT=None, QUEUEDAT=now()))
    return int(result.rowcount)
