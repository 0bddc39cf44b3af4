"""Events as the gateway and the CLI use them: the tables, the published catalog, the capture
triggers the activations need, configuration writes (through the same write path as /data), the
caller's stamp on gateway transactions, the test event, and the state of every endpoint.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, and_, case, delete, func, insert, select

from gateway.catalog.model import Catalog
from gateway.errors import NotFound
from gateway.events.capture import Trigger, entity_triggers, reconcile
from gateway.events.definitions import (
    TEST,
    TEST_EVENT_ID,
    EventCatalog,
    load_events,
    publish_catalog,
)
from gateway.events.deliver import DeliveryPolicy
from gateway.events.frame import envelope_text
from gateway.events.records import payload_value
from gateway.events.store import (
    DELIVERED,
    FAILED,
    PENDING,
    activations,
    context,
    create_event_tables,
    endpoints,
    now,
    outbox,
)
from gateway.identity.access import SYSTEM
from gateway.plan.dialects import dialect_traits
from gateway.plan.keys import Fixed
from gateway.plan.scope import PlanContext
from gateway.settings import DEFAULT_EVENTS, Settings
from gateway.write.entity import EntityWriter
from gateway.write.unit import WriteUnit
from gateway.write.values import property_values

ENDPOINTS, ACTIVATIONS = "BusinessEventsEndpoints", "BusinessEventsActivations"
# `fno-gateway demo`: an endpoint delivering to the receiver the demo serves itself, signed with a secret
# of the same name (FNO_GATEWAY_SECRET_DEMO_RECEIVER).
DEMO_ENDPOINT, DEMO_RECEIVER_PATH = "demo-receiver", "/receiver"


@dataclass(frozen=True)
class EndpointState:
    endpoint_id: str
    endpoint_type: str
    url: str
    next_control_number: int
    pending: int  # the backlog: framed, not yet acknowledged
    failed: int  # in the error log
    delivered: int  # still kept (the last two hours)
    oldest_pending: Any  # when the oldest waiting event was queued
    last_error: str | None


class Events:
    def __init__(self, engine: Engine, catalog: Catalog, definitions: EventCatalog,
                 policy: DeliveryPolicy | None = None) -> None:
        self.engine = engine
        self.catalog = catalog
        self.definitions = definitions
        self.policy = policy or DeliveryPolicy()
        self._compiled: dict[str, list[Trigger]] = {}

    @staticmethod
    def from_settings(settings: Settings, engine: Engine, catalog: Catalog) -> Events | None:
        """Events as configured (None: switched off with --events none)."""
        if settings.events.lower() == "none":
            return None
        policy = DeliveryPolicy(first_retry=settings.events_first_retry, longest_wait=settings.events_longest_wait,
                                retry_window=settings.events_retry_window,
                                budget_5_minutes=settings.events_budget_5_minutes,
                                budget_hour=settings.events_budget_hour)
        return Events.open(engine, catalog, settings.events, policy)

    @staticmethod
    def open(engine: Engine, catalog: Catalog, folder: str | Path = DEFAULT_EVENTS,
             policy: DeliveryPolicy | None = None) -> Events:
        """The tables (made if missing) and the catalog published to BUSINESSEVENTCATALOG."""
        definitions = load_events(catalog, folder)
        create_event_tables(engine, catalog)
        publish_catalog(engine, definitions)
        return Events(engine, catalog, definitions, policy)

    # ------------------------------------------------------------------ capture
    def activated_entities(self, connection: Connection) -> list[str]:
        ids = set(connection.execute(select(activations.c.BUSINESSEVENTID).distinct()).scalars())
        return sorted({self.definitions.events[event_id].entity.entity_set
                       for event_id in ids if event_id in self.definitions.events})

    def wanted_triggers(self) -> list[Trigger]:
        with self.engine.connect() as connection:
            entity_sets = self.activated_entities(connection)
        return [trigger for name in entity_sets for trigger in self._triggers(name)]

    def _triggers(self, entity_set: str) -> list[Trigger]:
        """An entity's capture triggers, compiled once (the worker asks every few seconds)."""
        if entity_set not in self._compiled:
            self._compiled[entity_set] = entity_triggers(self.catalog, self.catalog.entities[entity_set],
                                                         self.engine.dialect.name)
        return self._compiled[entity_set]

    def reconcile(self) -> tuple[int, int]:
        """Capture exactly the entities some activation needs; returns (installed, dropped) triggers."""
        return reconcile(self.engine, self.wanted_triggers())

    # ------------------------------------------------------------------ who writes (gateway transactions)
    @staticmethod
    def stamp(connection: Connection, user_id: str | None) -> str:
        """Inside this transaction, captured changes name `user_id` (and one transaction id)."""
        token = str(uuid.uuid4())
        connection.execute(insert(context).values(TOKEN=token, USERID=user_id))
        return token

    @staticmethod
    def unstamp(connection: Connection, token: str) -> None:
        connection.execute(delete(context).where(context.c.TOKEN == token))

    def committed(self, written: frozenset[str]) -> None:
        """After a gateway transaction: activations it wrote start (or stop) capturing at once."""
        if ACTIVATIONS in written:
            self.reconcile()

    # ------------------------------------------------------------------ configuration (CLI)
    def _plan_context(self) -> PlanContext:
        return PlanContext(self.catalog, (), dialect_traits(self.engine.dialect.name), access=SYSTEM)

    def create(self, entity_set: str, body: dict[str, object]) -> Fixed:
        """Create an endpoint or activation exactly as POST /data would (validation included)."""
        return self.create_together([(entity_set, body)])[0]

    def create_together(self, bodies: list[tuple[str, dict[str, object]]],
                        context: PlanContext | None = None) -> list[Fixed]:
        """Several creates in one transaction, with `context`'s privileges (default: the system's)."""
        context = context or self._plan_context()
        with WriteUnit(self.engine, self.catalog, events=self) as unit:
            return [EntityWriter(unit, context, self.catalog.entities[name]).create(
                property_values(self.catalog, self.catalog.entities[name], body)) for name, body in bodies]

    def remove_endpoint(self, endpoint_id: str, context: PlanContext | None = None) -> int:
        """Remove an endpoint and its activations in one transaction; returns how many activations went."""
        context = context or self._plan_context()
        with self.engine.connect() as connection:
            ids = list(connection.execute(select(activations.c.ACTIVATIONID)
                                          .where(activations.c.ENDPOINTID == endpoint_id)).scalars())
        with WriteUnit(self.engine, self.catalog, events=self) as unit:
            for activation_id in ids:
                EntityWriter(unit, context, self.catalog.entities[ACTIVATIONS]).delete(
                    (("ActivationId", activation_id),), None)
            EntityWriter(unit, context, self.catalog.entities[ENDPOINTS]).delete((("EndpointId", endpoint_id),), None)
        return len(ids)

    def delete(self, entity_set: str, key: str) -> None:
        entity = self.catalog.entities[entity_set]
        with WriteUnit(self.engine, self.catalog, events=self) as unit:
            EntityWriter(unit, self._plan_context(), entity).delete(((entity.key[0], key),), None)

    def test_event(self, endpoint_id: str) -> int:
        """Queue BusinessEventsTestEndpointContract for one endpoint; returns its ControlNumber."""
        with self.engine.begin() as connection:
            query = select(endpoints.c.NEXTCONTROLNUMBER).where(endpoints.c.ENDPOINTID == endpoint_id)
            if connection.dialect.name == "postgresql":
                query = query.with_for_update()
            number = connection.execute(query).scalar()
            if number is None:
                raise NotFound(f"no endpoint {endpoint_id}")
            moment = now()
            event_id = str(uuid.uuid4())
            payload = {"BusinessEventId": TEST_EVENT_ID, "BusinessEventLegalEntity": "",
                       "ContextRecordSubject": "", "ControlNumber": int(number), "EventId": event_id,
                       "EventTime": payload_value(self.catalog, "Edm.DateTimeOffset", moment),
                       "MajorVersion": 1, "MinorVersion": 0, "InitiatingUserAADObjectId": None,
                       "Message": f"A test event for the endpoint {endpoint_id}."}
            connection.execute(insert(outbox).values(
                ENDPOINTID=endpoint_id, CONTROLNUMBER=int(number), EVENTID=event_id, BUSINESSEVENTID=TEST_EVENT_ID,
                KIND=TEST, LEGALENTITY="", SUBJECT="", PAYLOAD=envelope_text(payload), STATUS=PENDING,
                ATTEMPTS=0, EVENTTIME=moment, QUEUEDAT=moment))
            connection.execute(endpoints.update().where(endpoints.c.ENDPOINTID == endpoint_id)
                               .values(NEXTCONTROLNUMBER=int(number) + 1))
        return int(number)

    # ------------------------------------------------------------------ state
    def states(self) -> list[EndpointState]:
        """Every endpoint with its backlog, error log and last error."""
        def count(status: str) -> Any:
            return func.coalesce(func.sum(case((outbox.c.STATUS == status, 1), else_=0)), 0)

        per_endpoint = (select(outbox.c.ENDPOINTID, count(PENDING).label("pending"), count(FAILED).label("failed"),
                               count(DELIVERED).label("delivered"),
                               func.min(case((outbox.c.STATUS == PENDING, outbox.c.QUEUEDAT))).label("oldest"))
                        .group_by(outbox.c.ENDPOINTID).subquery())
        last_error = (select(outbox.c.LASTERROR).where(outbox.c.ENDPOINTID == endpoints.c.ENDPOINTID,
                                                       outbox.c.LASTERROR.is_not(None))
                      .order_by(outbox.c.SEQ.desc()).limit(1).scalar_subquery())
        query = (select(endpoints.c.ENDPOINTID, endpoints.c.ENDPOINTTYPE, endpoints.c.URL, endpoints.c.NEXTCONTROLNUMBER,
                        per_endpoint.c.pending, per_endpoint.c.failed, per_endpoint.c.delivered, per_endpoint.c.oldest,
                        last_error)
                 .outerjoin(per_endpoint, and_(per_endpoint.c.ENDPOINTID == endpoints.c.ENDPOINTID))
                 .order_by(endpoints.c.ENDPOINTID))
        types = self.catalog.service.enums["BusinessEventsEndpointType"]
        with self.engine.connect() as connection:
            return [EndpointState(row[0], types.get(row[1], str(row[1])), row[2], int(row[3]), int(row[4] or 0),
                                  int(row[5] or 0), int(row[6] or 0), row[7], row[8])
                    for row in connection.execute(query)]


def endpoint_body(endpoint_id: str, url: str, endpoint_type: str = "Webhook", **more: object) -> dict[str, object]:
    """A BusinessEventsEndpoints body (None values left out)."""
    body: dict[str, object] = {"EndpointId": endpoint_id, "Url": url, "EndpointType": endpoint_type}
    body.update({name: value for name, value in more.items() if value is not None})
    if isinstance(body.get("Headers"), dict):
        body["Headers"] = json.dumps(body["Headers"])
    return body
