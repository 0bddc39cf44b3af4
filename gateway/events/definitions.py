"""The events catalog: business events as data (entities/events/*.yaml) plus a data event for each
create, update and delete of every F&O entity; checked against the entity catalog at start-up and
written to BUSINESSEVENTCATALOG, which /data serves as BusinessEventsCatalog.

A business event names its entity, the operations that may raise it, the properties whose change
raises it (any of them; none: every change), and OData conditions on the committed record and on
the record before. Its contract lists the payload's fields after the envelope, each taken from the
record after the change or (`image: before`) before it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError

from gateway.catalog.load import CatalogError, CatalogProblem
from gateway.catalog.model import Catalog, Entity
from gateway.errors import ODataError
from gateway.events.condition import Condition, compile_condition
from gateway.events.store import event_catalog
from gateway.settings import DEFAULT_EVENTS

Operation = Literal["create", "update", "delete"]
OPERATIONS: tuple[Operation, ...] = ("create", "update", "delete")
# A data event's id: the entity set and what happened, as F&O's data event catalog names them.
DATA_EVENT_TYPES: dict[Operation, str] = {"create": "Created", "update": "Updated", "delete": "Deleted"}
BUSINESS, DATA, TEST = "BusinessEvent", "DataEvent", "TestEvent"
TEST_EVENT_ID = "BusinessEventsTestEndpointContract"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class ContractField(_Frozen):
    source: str = Field(alias="from")  # a property of the event's entity
    image: Literal["after", "before"] = "after"


class BusinessEventSpec(_Frozen):
    id: str
    name: str
    category: str
    description: str
    entity: str
    operations: list[Operation] = Field(min_length=1)
    changed: list[str] = Field(default_factory=list)
    condition: str | None = None
    before: str | None = None
    major_version: int = 1
    minor_version: int = 0
    contract: dict[str, ContractField]


class _EventsFile(_Frozen):
    events: list[BusinessEventSpec]


@dataclass(frozen=True)
class EventDefinition:
    """One business event or data event, ready to be matched against captured changes."""

    id: str
    kind: str  # BUSINESS | DATA
    name: str
    category: str
    description: str
    entity: Entity
    operations: frozenset[Operation]
    changed: tuple[str, ...] = ()
    condition: Condition | None = None
    before: Condition | None = None
    major_version: int = 1
    minor_version: int = 0
    contract: tuple[tuple[str, ContractField], ...] = ()

    def row(self) -> dict[str, object]:
        """Its BUSINESSEVENTCATALOG row (without RECID and RECVERSION)."""
        types = {name: self.entity.properties[field.source].type for name, field in self.contract}
        return {
            "BUSINESSEVENTID": self.id, "NAME": self.name, "KIND": self.kind, "CATEGORY": self.category,
            "DESCRIPTION": self.description, "ENTITYSET": self.entity.entity_set,
            "ENTITYNAME": self.entity.physical_name or self.entity.entity_type + "Entity",
            "OPERATIONS": ",".join(op for op in OPERATIONS if op in self.operations),
            "CHANGEDFIELDS": ",".join(self.changed),
            "CONDITIONTEXT": self.condition.text if self.condition else "",
            "BEFORECONDITION": self.before.text if self.before else "",
            "MAJORVERSION": self.major_version, "MINORVERSION": self.minor_version,
            "CONTRACT": json.dumps(types),
        }


@dataclass(frozen=True)
class EventCatalog:
    events: dict[str, EventDefinition]  # by id

    @cached_property
    def by_entity(self) -> dict[str, list[EventDefinition]]:
        found: dict[str, list[EventDefinition]] = {}
        for event in self.events.values():
            found.setdefault(event.entity.entity_set, []).append(event)
        return found


def data_event_id(entity_set: str, operation: Operation) -> str:
    return f"{entity_set}_{DATA_EVENT_TYPES[operation]}"


def load_events(catalog: Catalog, folder: str | Path = DEFAULT_EVENTS) -> EventCatalog:
    """Business events from `folder` and the data events of `catalog`; CatalogError lists every mistake."""
    events: dict[str, EventDefinition] = {}
    problems: list[CatalogProblem] = []
    for entity in catalog.entities.values():
        if not entity.data_events:
            continue
        for operation in OPERATIONS:
            event_id = data_event_id(entity.entity_set, operation)
            label = entity.label or entity.entity_set
            events[event_id] = EventDefinition(
                event_id, DATA, f"{label} {DATA_EVENT_TYPES[operation].lower()}", "Data events",
                f"A record of {entity.entity_set} was {DATA_EVENT_TYPES[operation].lower()}; the payload is "
                "the record (Target) and, for updates and deletes, the record before (PreImage).",
                entity, frozenset([operation]))
    for path in sorted(Path(folder).glob("*.yaml")):
        try:
            document = _EventsFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
        except (ValidationError, yaml.YAMLError) as error:
            problems.append(CatalogProblem(path.name, 0, " ".join(str(error).split())))
            continue
        for spec in document.events:
            try:
                if spec.id in events:
                    raise ValueError(f"{spec.id}: defined twice")
                events[spec.id] = _business_event(catalog, spec)
            except (ValueError, ODataError) as error:
                problems.append(CatalogProblem(path.name, 0, f"{spec.id}: {_message(error)}"))
    if problems:
        raise CatalogError(problems)
    return EventCatalog(events)


def _business_event(catalog: Catalog, spec: BusinessEventSpec) -> EventDefinition:
    entity = catalog.entities.get(spec.entity)
    if entity is None:
        raise ValueError(f"no entity set {spec.entity}")
    for name in [*spec.changed, *(field.source for field in spec.contract.values())]:
        if name not in entity.properties:
            raise ValueError(f"{spec.entity} has no property {name}")
    if "create" in spec.operations and any(field.image == "before" for field in spec.contract.values()):
        raise ValueError("a create has no record before: no contract field may take `image: before`")
    return EventDefinition(
        spec.id, BUSINESS, spec.name, spec.category, spec.description, entity, frozenset(spec.operations),
        tuple(spec.changed),
        compile_condition(catalog, entity, spec.condition) if spec.condition else None,
        compile_condition(catalog, entity, spec.before) if spec.before else None,
        spec.major_version, spec.minor_version, tuple(spec.contract.items()))


def _message(error: Exception) -> str:
    return error.message if isinstance(error, ODataError) else str(error)


def publish_catalog(engine: Engine, events: EventCatalog) -> None:
    """BUSINESSEVENTCATALOG holds exactly `events` (rewritten only when it differs; idempotent)."""
    wanted = {event.id: event.row() for event in events.events.values()}
    columns = [event_catalog.c[name] for name in next(iter(wanted.values()))] if wanted else []
    with engine.connect() as connection:
        present = {row.BUSINESSEVENTID: dict(row._mapping)
                   for row in connection.execute(select(*columns))}
    if present == wanted:
        return
    try:
        with engine.begin() as connection:
            connection.execute(delete(event_catalog))
            if wanted:  # RECIDs of their own: the rows are rewritten whole, never referenced by RECID
                connection.execute(insert(event_catalog), [
                    {**row, "RECID": 5_000_000_000 + index, "RECVERSION": 1}
                    for index, row in enumerate(wanted.values())])
    except IntegrityError:  # another process published the same catalog at the same time
        pass
