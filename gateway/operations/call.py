"""What a Python implementation of a function or action gets: its arguments, the entity it is bound
to, and entity-level reads and writes inside the request's transaction.

Writes go through the same EntityWriter a PATCH does, so an action's changes are authorized for the
caller, company-scoped, audited, raised as data events and synchronized by dual-write exactly like a
client's own writes. Values are given as a client would send them in a body (enums by member name).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from gateway.catalog.model import Catalog, Entity
from gateway.errors import BadRequest, NotFound
from gateway.plan.keys import Fixed
from gateway.plan.scope import EntityScope, PlanContext
from gateway.write.entity import EntityWriter
from gateway.write.unit import WriteUnit
from gateway.write.values import property_values


@dataclass
class OperationCall:
    name: str
    parameters: dict[str, Any]  # every parameter (None where a nullable one was not given)
    binding: dict[str, Any] | None  # the bound entity's key values; None when unbound or bound to a set
    connection: Connection  # the request's transaction (actions) or a read connection (functions)
    context: PlanContext
    unit: WriteUnit | None = None  # actions only
    if_match: list[str] | None = None  # the request's If-Match, applied to the bound entity's first write

    @property
    def catalog(self) -> Catalog:
        return self.context.catalog

    def entity(self, entity_set: str) -> Entity:
        entity = self.catalog.entities.get(entity_set)
        if entity is None:
            raise LookupError(f"{self.name}: the catalog has no entity set {entity_set}")
        return entity

    def read(self, entity_set: str, key: Mapping[str, Any]) -> dict[str, Any] | None:
        """The entity's properties as stored (enums as member names), or None when it does not exist or
        the caller may not see it."""
        entity = self.entity(entity_set)
        scope = EntityScope(entity, self.context)
        names = list(entity.properties)
        statement = select(*(scope.column(name) for name in names)).select_from(scope.from_clause())
        row = self.connection.execute(statement.where(scope.where(_fixed(entity, key))).limit(1)).first()
        if row is None:
            return None
        values = dict(zip(names, row))
        for name, value in values.items():
            type_name = entity.properties[name].type
            if self.catalog.is_enum(type_name) and value is not None:
                values[name] = self.catalog.service.enums[type_name].get(int(value), str(value))
        return values

    def keys(self, entity_set: str, where: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The keys of the entities whose properties equal `where` (stored values), in key order, among
        those the caller may see."""
        entity = self.entity(entity_set)
        scope = EntityScope(entity, self.context)
        statement = select(*(scope.column(name) for name in entity.key)).select_from(scope.from_clause())
        statement = statement.where(scope.where(tuple(where.items()))).order_by(*(scope.column(n) for n in entity.key))
        return [dict(zip(entity.key, row)) for row in self.connection.execute(statement)]

    def update(self, entity_set: str, key: Mapping[str, Any], values: Mapping[str, Any]) -> None:
        entity = self.entity(entity_set)
        fixed = _fixed(entity, key)
        writer = self._writer(entity)
        if writer.current_etag(fixed) is None:
            raise NotFound(f"no {entity.entity_type} with key {dict(fixed)}")
        if_match, self.if_match = self.if_match, None  # the request's precondition: its first write only
        writer.update(fixed, property_values(self.catalog, entity, dict(values)), if_match, replace=False)

    def create(self, entity_set: str, values: Mapping[str, Any]) -> dict[str, Any]:
        entity = self.entity(entity_set)
        return dict(self._writer(entity).create(property_values(self.catalog, entity, dict(values))))

    def delete(self, entity_set: str, key: Mapping[str, Any]) -> None:
        entity = self.entity(entity_set)
        if_match, self.if_match = self.if_match, None
        self._writer(entity).delete(_fixed(entity, key), if_match)

    def _writer(self, entity: Entity) -> EntityWriter:
        if self.unit is None:
            raise BadRequest(f"{self.name} is a function: functions do not change data")
        return EntityWriter(self.unit, self.context, entity)


def _fixed(entity: Entity, key: Mapping[str, Any]) -> Fixed:
    missing = [name for name in entity.key if name not in key]
    if missing:
        raise LookupError(f"the key of {entity.entity_set} is missing {', '.join(missing)}")
    return tuple((name, key[name]) for name in entity.key)
