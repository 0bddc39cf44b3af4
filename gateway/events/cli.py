"""`fno-gateway events ...`: the catalog, endpoints, activations, the error log and the worker.

Endpoints and activations are written through the same write path as POST /data (the same checks);
the worker command runs the events worker as a process of its own (any number of them may run).
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from gateway.catalog.load import CatalogError, load_catalog
from gateway.db import make_engine
from gateway.errors import ODataError, ServiceMisconfigured
from gateway.events.deliver import SECRET_PREFIX, Budget, resend
from gateway.events.service import (
    ACTIVATIONS,
    DEMO_ENDPOINT,
    DEMO_RECEIVER_PATH,
    ENDPOINTS,
    Events,
    endpoint_body,
)
from gateway.events.store import FAILED, activations, endpoints, outbox
from gateway.events.transports import redact
from gateway.events.worker import EventsWorker
from gateway.progress import print_table
from gateway.settings import Settings


def add_commands(commands: argparse._SubParsersAction, add_settings: Callable[..., None]) -> None:  # type: ignore[type-arg]
    events = commands.add_parser("events", help="business events and data events: catalog, endpoints, "
                                                "activations, errors, resend, test, worker")
    actions = events.add_subparsers(dest="action", required=True)

    def action(name: str, text: str) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = actions.add_parser(name, help=text, description=text)
        add_settings(sub)
        return sub

    catalog = action("catalog", "list the events that can be activated")
    catalog.add_argument("--data", action="store_true", help="list the data events too (three per entity)")
    action("endpoints", "list the endpoints with their backlog, error log and last error")
    add = action("add-endpoint", "add an endpoint (a webhook, a RabbitMQ broker or a Power Automate callback)")
    add.add_argument("endpoint_id")
    add.add_argument("url", help="the webhook URL, or the broker's amqp:// URL")
    add.add_argument("--type", default="Webhook", choices=("Webhook", "RabbitMQ", "PowerAutomate"))
    add.add_argument("--name")
    add.add_argument("--secret-name", help="the signing secret is read from FNO_GATEWAY_SECRET_<NAME>")
    add.add_argument("--timeout", type=int, help="seconds a webhook may take to answer")
    add.add_argument("--header", action="append", default=[], metavar="NAME=VALUE", help="an extra webhook header")
    add.add_argument("--exchange", help="RabbitMQ: the exchange ('' is the default exchange)")
    add.add_argument("--routing-key", help="RabbitMQ: the routing key")
    add.add_argument("--queue", help="RabbitMQ: a durable queue to declare (and route to)")
    remove = action("remove-endpoint", "remove an endpoint (its activations first)")
    remove.add_argument("endpoint_id")
    activate = action("activate", "activate an event for an endpoint, in one legal entity or all")
    activate.add_argument("event_id")
    activate.add_argument("endpoint_id")
    activate.add_argument("--legal-entity", default="", help="a company code (default: every legal entity)")
    deactivate = action("deactivate", "deactivate: remove an activation")
    deactivate.add_argument("activation_id")
    action("activations", "list the activations")
    errors = action("errors", "the error log: events that failed after their retries")
    errors.add_argument("--endpoint")
    again = action("resend", "send failed events again (the same EventId and ControlNumber)")
    again.add_argument("seqs", nargs="*", type=int, help="outbox numbers from `events errors` (default: all)")
    again.add_argument("--endpoint")
    test = action("test", "queue the test event BusinessEventsTestEndpointContract for an endpoint")
    test.add_argument("endpoint_id")
    worker = action("worker", "run the events worker: frame captured changes and deliver them")
    worker.add_argument("--once", action="store_true", help="one pass, then exit")


def run(arguments: argparse.Namespace, settings: Settings) -> int:
    engine = make_engine(settings.db)
    try:
        events = Events.from_settings(settings, engine, load_catalog(settings.entities))
        if events is None:
            raise ServiceMisconfigured("events are switched off (--events none)")
        return _ACTIONS[arguments.action](events, arguments)
    except (ODataError, CatalogError) as error:
        print(f"fno-gateway events {arguments.action}: {getattr(error, 'message', error)}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()


def _catalog(events: Events, arguments: argparse.Namespace) -> int:
    rows = [(e.id, e.kind, e.entity.entity_set, ",".join(sorted(e.operations)), e.category)
            for e in events.definitions.events.values() if arguments.data or e.kind != "DataEvent"]
    print_table(("event", "kind", "entity", "operations", "category"), rows)
    return 0


def _endpoints(events: Events, arguments: argparse.Namespace) -> int:
    rows = [(s.endpoint_id, s.endpoint_type, redact(s.url), s.next_control_number, s.pending, s.failed, s.delivered,
             s.oldest_pending or "-", s.last_error or "-") for s in events.states()]
    print_table(("endpoint", "type", "url", "next control", "backlog", "failed", "delivered", "oldest waiting",
                 "last error"), rows)
    five, hour = Budget(events.engine, events.policy).used()
    policy = events.policy
    print(f"data-event budget: {five:,} of {policy.budget_5_minutes:,} in the last 5 minutes, "
          f"{hour:,} of {policy.budget_hour:,} in the last hour (beyond it, data events wait queued)")
    return 0


def _add_endpoint(events: Events, arguments: argparse.Namespace) -> int:
    headers = dict(header.split("=", 1) for header in arguments.header)
    body = endpoint_body(arguments.endpoint_id, arguments.url, arguments.type, Name=arguments.name,
                         SecretName=arguments.secret_name, TimeoutSeconds=arguments.timeout,
                         Headers=headers or None, Exchange=arguments.exchange, RoutingKey=arguments.routing_key,
                         QueueName=arguments.queue)
    events.create(ENDPOINTS, body)
    print(f"endpoint {arguments.endpoint_id}: {arguments.type} {redact(arguments.url)}")
    return 0


def _remove_endpoint(events: Events, arguments: argparse.Namespace) -> int:
    removed = events.remove_endpoint(arguments.endpoint_id)
    print(f"endpoint {arguments.endpoint_id} removed ({removed} activations with it)")
    return 0


def _activate(events: Events, arguments: argparse.Namespace) -> int:
    ((_, activation_id),) = events.create(ACTIVATIONS, {
        "BusinessEventId": arguments.event_id, "EndpointId": arguments.endpoint_id,
        "LegalEntity": arguments.legal_entity.lower()})
    where = arguments.legal_entity.lower() or "every legal entity"
    print(f"{activation_id}: {arguments.event_id} -> {arguments.endpoint_id} ({where})")
    return 0


def _deactivate(events: Events, arguments: argparse.Namespace) -> int:
    events.delete(ACTIVATIONS, arguments.activation_id)
    print(f"{arguments.activation_id}: deactivated")
    return 0


def _activations(events: Events, arguments: argparse.Namespace) -> int:
    with events.engine.connect() as connection:
        rows: list[tuple[Any, ...]] = [tuple(row) for row in connection.execute(
            select(activations.c.ACTIVATIONID, activations.c.BUSINESSEVENTID, activations.c.ENDPOINTID,
                   activations.c.LEGALENTITY, activations.c.CREATEDDATETIME).order_by(activations.c.ACTIVATIONID))]
    print_table(("activation", "event", "endpoint", "legal entity", "created"),
                [(*row[:3], row[3] or "(all)", row[4]) for row in rows])
    return 0


def _errors(events: Events, arguments: argparse.Namespace) -> int:
    query = (select(outbox.c.SEQ, outbox.c.ENDPOINTID, outbox.c.CONTROLNUMBER, outbox.c.BUSINESSEVENTID,
                    outbox.c.SUBJECT, outbox.c.ATTEMPTS, outbox.c.LASTERROR)
             .where(outbox.c.STATUS == FAILED).order_by(outbox.c.ENDPOINTID, outbox.c.CONTROLNUMBER))
    if arguments.endpoint:
        query = query.where(outbox.c.ENDPOINTID == arguments.endpoint)
    with events.engine.connect() as connection:
        rows = [tuple(row) for row in connection.execute(query)]
    print_table(("seq", "endpoint", "control", "event", "record", "attempts", "error"), rows)
    return 0


def _resend(events: Events, arguments: argparse.Namespace) -> int:
    count = resend(events.engine, arguments.endpoint, arguments.seqs or None)
    print(f"{count} failed events queued again")
    return 0


def _test(events: Events, arguments: argparse.Namespace) -> int:
    number = events.test_event(arguments.endpoint_id)
    print(f"test event queued for {arguments.endpoint_id} with ControlNumber {number} (a worker delivers it)")
    return 0


def _worker(events: Events, arguments: argparse.Namespace) -> int:
    worker = EventsWorker(events)
    if arguments.once:
        print(f"{worker.run_once()} captured changes and events handled")
        worker.release()
        return 0
    stop = {"now": False}

    def ask_to_stop(_signal: int, _frame: object) -> None:
        stop["now"] = True

    signal.signal(signal.SIGTERM, ask_to_stop)
    signal.signal(signal.SIGINT, ask_to_stop)
    print("events worker running (Ctrl+C stops it)", file=sys.stderr, flush=True)
    worker.start()
    while not stop["now"]:
        time.sleep(0.2)
    worker.stop()
    return 0


_ACTIONS: dict[str, Callable[[Events, argparse.Namespace], int]] = {
    "catalog": _catalog, "endpoints": _endpoints, "add-endpoint": _add_endpoint, "remove-endpoint": _remove_endpoint,
    "activate": _activate, "deactivate": _deactivate, "activations": _activations, "errors": _errors,
    "resend": _resend, "test": _test, "worker": _worker,
}


def ensure_demo_endpoint(settings: Settings) -> None:
    """The demo's endpoint: a webhook to the receiver the demo serves at /receiver/events, signed with a
    secret made now unless the environment has one (the server's workers inherit it)."""
    name = SECRET_PREFIX + DEMO_ENDPOINT.upper().replace("-", "_")
    os.environ.setdefault(name, secrets.token_urlsafe(24))
    engine = make_engine(settings.db)
    try:
        events = Events.from_settings(settings, engine, load_catalog(settings.entities))
        if events is None:
            return
        with engine.connect() as connection:
            present = connection.execute(select(endpoints.c.URL).where(endpoints.c.ENDPOINTID == DEMO_ENDPOINT)).scalar()
        url = f"http://127.0.0.1:{settings.port}{DEMO_RECEIVER_PATH}/events"
        if present is None:
            events.create(ENDPOINTS, endpoint_body(DEMO_ENDPOINT, url, Name="The demo's webhook receiver",
                                                   SecretName=DEMO_ENDPOINT))
        elif present != url:  # the demo runs on another port this time
            with engine.begin() as connection:
                connection.execute(endpoints.update().where(endpoints.c.ENDPOINTID == DEMO_ENDPOINT).values(URL=url))
    finally:
        engine.dispose()
