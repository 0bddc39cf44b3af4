"""Framing: captured changes (EVENTCHANGES) become events in the outbox (EVENTOUTBOX).

One transaction per batch takes the captured rows, matches each change against the catalog's
events and the activations, writes one outbox row per event and endpoint with that endpoint's next
ControlNumber, and deletes the captured rows: nothing is framed twice or lost, whatever fails.

Changes of one record in one transaction (a customer's table and its party's, written by one PATCH)
are one change: the first record before, the last after. Only one worker frames at a time (a lease),
so ControlNumbers follow capture order: per endpoint, per record, events keep the order of commits.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, delete, insert, select, true, update

from gateway.catalog.model import Catalog, Entity
from gateway.events.definitions import (
    BUSINESS,
    DATA,
    DATA_EVENT_TYPES,
    EventCatalog,
    EventDefinition,
    Operation,
    data_event_id,
)
from gateway.events.records import Record, changed_properties, decode, payload_record, payload_value
from gateway.events.store import PENDING, activations, changes, endpoints, now, outbox
from gateway.faults import fault_point
from gateway.resource import canonical_key

BATCH = 1000
_OPERATIONS: dict[str, Operation] = {"C": "create", "U": "update", "D": "delete"}


@dataclass
class Change:
    """One record's change in one transaction (several captured rows merged)."""

    entity: Entity
    operation: Operation
    user_id: str | None
    time: dt.datetime
    target: str | None
    preimage: str | None


@dataclass(frozen=True)
class Framed:
    endpoint: str
    event: EventDefinition
    legal_entity: str
    subject: str
    payload: dict[str, Any]  # the envelope without ControlNumber (added per endpoint)
    time: dt.datetime


def frame_once(engine: Engine, catalog: Catalog, events: EventCatalog) -> int:
    """Frame one batch; returns how many captured rows it consumed."""
    with engine.begin() as connection:
        rows = _batch(connection)
        if not rows:
            return 0
        routes = _routes(connection)
        framed = [item for change in merge(catalog, rows) for item in _frame(catalog, events, routes, change)]
        if framed:
            _queue(connection, framed)
        connection.execute(delete(changes).where(changes.c.SEQ.in_([row.SEQ for row in rows])))
        fault_point("events-frame-commit")  # framed, not committed: crash tests kill here
        return len(rows)


def _batch(connection: Connection) -> list[Any]:
    statement = select(changes).order_by(changes.c.SEQ).limit(BATCH)
    if connection.dialect.name == "postgresql":  # a second framer (its lease lost meanwhile) waits
        statement = statement.with_for_update()
    rows = list(connection.execute(statement))
    if len(rows) == BATCH and rows[-1].TXID is not None:
        # A full batch may cut a transaction's rows in two: leave its rows for the next batch.
        kept = [row for row in rows if row.TXID != rows[-1].TXID]
        rows = kept or rows
    return rows


def merge(catalog: Catalog, rows: Iterable[Any]) -> list[Change]:
    """Captured rows as changes of records: rows of one record in one transaction merge."""
    merged: dict[tuple[Any, ...], Change] = {}
    order: list[tuple[Any, ...]] = []
    for row in rows:
        entity = catalog.entities.get(row.ENTITYSET)
        if entity is None:  # an entity no longer in the catalog: nothing to say about it
            continue
        key = (row.TXID, row.ENTITYSET, row.RECORDID) if row.TXID is not None else (row.SEQ,)
        operation = _OPERATIONS[row.OP]
        current = merged.get(key)
        if current is None:
            merged[key] = Change(entity, operation, row.USERID, row.CREATEDAT, row.TARGET, row.PREIMAGE)
            order.append(key)
            continue
        current.target = row.TARGET  # the first record before, the last after
        if operation == "delete" and current.operation == "create":  # created and deleted: nothing happened
            merged.pop(key)
            order.remove(key)
        elif operation == "delete":
            current.operation = "delete"
    return [merged[key] for key in order]


Routes = dict[str, list[tuple[str, str]]]  # event id -> [(endpoint, legal entity or "")]


def _routes(connection: Connection) -> Routes:
    found: Routes = {}
    query = (select(activations.c.BUSINESSEVENTID, activations.c.ENDPOINTID, activations.c.LEGALENTITY)
             .join_from(activations, endpoints, endpoints.c.ENDPOINTID == activations.c.ENDPOINTID)
             .where(endpoints.c.ENABLED.is_(true())))
    for event_id, endpoint, legal_entity in connection.execute(query):
        found.setdefault(event_id, []).append((endpoint, (legal_entity or "").lower()))
    return found


def _frame(catalog: Catalog, events: EventCatalog, routes: Routes, change: Change) -> list[Framed]:
    entity = change.entity
    after = decode(catalog, entity, change.target) if change.operation != "delete" else None
    before = decode(catalog, entity, change.preimage) if change.operation != "create" else None
    record = after if after is not None else before
    if record is None:
        return []
    touched = changed_properties(before, after) if change.operation == "update" else frozenset(record)
    if change.operation == "update" and not touched:
        return []  # a table of the entity changed, but nothing the entity shows (a row version, a link)
    company = catalog.service.company_property
    legal_entity = str(record.get(company) or "") if company in entity.properties else ""
    subject = entity.entity_set + canonical_key(entity, {name: record[name] for name in entity.key})
    framed: list[Framed] = []
    for event in _raised(events, entity, change.operation, before, after, touched):
        targets = {endpoint for endpoint, only in routes.get(event.id, ())
                   if not only or only == legal_entity.lower()}
        if not targets:
            continue
        payload = {
            "BusinessEventId": event.id,
            "BusinessEventLegalEntity": legal_entity,
            "ContextRecordSubject": subject,
            "EventId": str(uuid.uuid4()),  # one per event: the same at every endpoint
            "EventTime": payload_value(catalog, "Edm.DateTimeOffset", change.time),
            "MajorVersion": event.major_version,
            "MinorVersion": event.minor_version,
            "InitiatingUserAADObjectId": change.user_id,
            **_body(catalog, event, before, after),
        }
        framed.extend(Framed(endpoint, event, legal_entity, subject, payload, change.time)
                      for endpoint in sorted(targets))
    return framed


def _raised(events: EventCatalog, entity: Entity, operation: Operation, before: Record | None,
            after: Record | None, touched: frozenset[str]) -> list[EventDefinition]:
    raised: list[EventDefinition] = []
    data = events.events.get(data_event_id(entity.entity_set, operation))
    if data is not None:
        raised.append(data)
    for event in events.by_entity.get(entity.entity_set, ()):
        if event.kind != BUSINESS or operation not in event.operations:
            continue
        if operation == "update" and event.changed and not touched.intersection(event.changed):
            continue
        committed = after if after is not None else before
        if event.condition is not None and (committed is None or not event.condition.evaluate(committed)):
            continue
        if event.before is not None and (before is None or not event.before.evaluate(before)):
            continue
        raised.append(event)
    return raised


def _body(catalog: Catalog, event: EventDefinition, before: Record | None, after: Record | None) -> dict[str, Any]:
    entity = event.entity
    if event.kind == DATA:
        (operation,) = event.operations
        body: dict[str, Any] = {"EntityName": entity.physical_name or entity.entity_type + "Entity",
                                "EntitySet": entity.entity_set, "EventType": DATA_EVENT_TYPES[operation]}
        if after is not None:
            body["Target"] = payload_record(catalog, entity, after)
        if before is not None:
            body["PreImage"] = payload_record(catalog, entity, before)
        return body
    fields: dict[str, Any] = {}
    for name, spec in event.contract:
        image = before if spec.image == "before" else (after if after is not None else before)
        value = None if image is None else image.get(spec.source)
        fields[name] = payload_value(catalog, entity.properties[spec.source].type, value)
    return fields


def _queue(connection: Connection, framed: list[Framed]) -> None:
    """Outbox rows for `framed`, each with its endpoint's next ControlNumber (taken under the row lock)."""
    names = sorted({item.endpoint for item in framed})
    query = select(endpoints.c.ENDPOINTID, endpoints.c.NEXTCONTROLNUMBER).where(endpoints.c.ENDPOINTID.in_(names))
    if connection.dialect.name == "postgresql":
        query = query.with_for_update()
    numbers = {name: int(number) for name, number in connection.execute(query)}
    queued_at = now()
    rows = []
    for item in framed:
        control = numbers[item.endpoint]
        numbers[item.endpoint] = control + 1
        payload = {**item.payload, "ControlNumber": control}
        rows.append({
            "ENDPOINTID": item.endpoint, "CONTROLNUMBER": control, "EVENTID": payload["EventId"],
            "BUSINESSEVENTID": item.event.id, "KIND": item.event.kind, "LEGALENTITY": item.legal_entity[:4],
            "SUBJECT": item.subject[:400], "PAYLOAD": envelope_text(payload), "STATUS": PENDING,
            "ATTEMPTS": 0, "EVENTTIME": item.time or queued_at, "QUEUEDAT": queued_at,
        })
    connection.execute(insert(outbox), rows)
    for name, number in numbers.items():
        connection.execute(update(endpoints).where(endpoints.c.ENDPOINTID == name).values(NEXTCONTROLNUMBER=number))


# The envelope's fields first, in F&O's order, then the contract's (or the data event's record).
_ENVELOPE = ("BusinessEventId", "BusinessEventLegalEntity", "ContextRecordSubject", "ControlNumber", "EventId",
             "EventTime", "MajorVersion", "MinorVersion", "InitiatingUserAADObjectId")


def envelope_text(payload: dict[str, Any]) -> str:
    ordered = {name: payload[name] for name in _ENVELOPE if name in payload}
    ordered.update((name, value) for name, value in payload.items() if name not in ordered)
    return orjson.dumps(ordered).decode()
