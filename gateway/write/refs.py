"""Writes of entity references: add, remove and replace relations with `.../Nav/$ref`.

OData 4.01 Part 1 §11.4.6, Part 2 §4.4:

    POST   Categories(c)/Products/$ref  {"@odata.id": "Products(p)"}     add p to the collection
    DELETE Categories(c)/Products/$ref?$id=Products(p)                   remove it (4.01 also:
    DELETE Categories(c)/Products(p)/$ref                                 the key in the path)
    PUT    Products(p)/Category/$ref    {"@odata.id": "Categories(c)"}   replace a single reference
    DELETE Products(p)/Category/$ref                                     clear it

A relation is stored in one of three places, and a $ref write changes it there, as an ordinary
write of the entity that holds it, with that write's privilege, company scoping, If-Match, audit,
events and dual-write:
- the parent's own link properties (Products.Category: its CategoryID): an update of the parent;
- the target's link properties (Categories.Products: each product's CategoryID): an update of the
  referenced entity;
- a row of a join table (Products.RelatedProducts, `through`): inserted or deleted, as a change of
  the parent's relations: the update privilege on the parent, If-Match against the parent's ETag
  (whose row is held meanwhile), and an audit entry of the parent naming the navigation property.
Clearing a relation sets its link properties to null: 400 when one of them cannot be null.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, exists, insert, literal, select
from sqlalchemy.exc import IntegrityError
from starlette.responses import Response

from gateway.catalog.model import Catalog, Entity, Navigation
from gateway.errors import BadRequest, Conflict, MethodNotAllowed, NotFound
from gateway.plan.keys import Fixed
from gateway.plan.scope import PlanContext
from gateway.plan.through import RELATED, join_table
from gateway.refs import entity_target
from gateway.resource import RowLookup, Target, Via
from gateway.write.entity import EntityWriter
from gateway.write.unit import Change, WriteUnit

_ALLOW_SINGLE = {"Allow": "GET, PUT, DELETE"}
_ALLOW_COLLECTION = {"Allow": "GET, POST, DELETE"}


def is_through_collection(target: Target) -> bool:
    """Whether `target` is the collection of a many-to-many navigation (Products(x)/RelatedProducts)."""
    return target.kind == "collection" and target.via is not None and target.via.nav.through is not None


def reference_written(applied: str) -> Response:
    """A $ref write's answer: 204, no body (Part 1 §11.4.6)."""
    headers = {"OData-Version": "4.0"}
    if "tx=rollback" in applied:
        headers["Preference-Applied"] = "tx=rollback"
    return Response(status_code=204, headers=headers)


class ReferenceWriter:
    """One $ref write inside a write unit (a request's own, or its $batch change set's)."""

    def __init__(self, unit: WriteUnit, context: PlanContext, lookup: RowLookup, prefix: str) -> None:
        self.unit = unit
        self.context = context
        self.catalog: Catalog = context.catalog
        self.lookup = lookup
        self.prefix = prefix

    def write(self, method: str, target: Target, body: Callable[[], Any], entity_id: str | None,
              if_match: list[str] | None) -> None:
        via = target.via
        if via is None:
            raise BadRequest("a $ref write addresses a navigation property of one entity, "
                             "e.g. Categories(key)/Products/$ref")
        nav = via.nav
        if any("/" in theirs for theirs in nav.link.values()):
            raise BadRequest(f"{nav.name} is derived from another navigation and cannot be changed with $ref")
        if not nav.collection:
            if method == "PUT":
                return self._replace(via, self._referenced(body(), nav), if_match)
            if method == "DELETE":
                if entity_id is not None:
                    raise BadRequest(f"{nav.name} is single-valued: DELETE .../{nav.name}/$ref takes no $id")
                return self._clear(via, if_match)
            raise MethodNotAllowed(f"{method} does not apply to the single-valued {nav.name}/$ref: PUT replaces "
                                   "the reference, DELETE removes it", headers=_ALLOW_SINGLE)
        if method == "POST":
            if target.kind != "collection":
                raise MethodNotAllowed(f"POST adds to the collection: POST .../{nav.name}/$ref", headers=_ALLOW_COLLECTION)
            return self._add(via, target, self._referenced(body(), nav), if_match)
        if method == "DELETE":
            return self._remove(via, target, self._removed(target, entity_id, nav), if_match)
        raise MethodNotAllowed(f"{method} does not apply to the collection {nav.name}/$ref: POST adds a "
                               "reference, DELETE removes one", headers=_ALLOW_COLLECTION)

    def link_new(self, target: Target, key: Fixed) -> None:
        """Link the entity just created by POST to a many-to-many collection (`target`) to its parent."""
        assert target.via is not None
        self._link(target.via, target, Target("entity", target.entity, key), None)

    # ------------------------------------------------------------------ which entity is referenced
    def _referenced(self, body: Any, nav: Navigation) -> Target:
        """The entity the body's `{"@odata.id": ...}` names (4.01 also writes `@id`)."""
        if not isinstance(body, dict) or not ({"@odata.id", "@id"} & set(body)):
            raise BadRequest('the body of a $ref write is an entity reference: {"@odata.id": "Set(key)"}')
        label = "@odata.id" if "@odata.id" in body else "@id"
        found = entity_target(self.catalog, body[label], self.prefix, self.lookup, label)
        return self._of_target(found, nav, label)

    def _removed(self, target: Target, entity_id: str | None, nav: Navigation) -> Target:
        """The entity a DELETE removes from a collection: `$id`, or the key in the path."""
        if target.kind == "entity":
            if entity_id is not None:
                raise BadRequest(f"name the {nav.name} to remove once: by its key in the path or by $id")
            key = tuple((name, value) for name, value in target.fixed if name in target.entity.key)
            return Target("entity", target.entity, key, key_text=target.key_text)
        if entity_id is None:
            raise BadRequest(f"DELETE .../{nav.name}/$ref removes one reference: name it with "
                             f"$id=Set(key), or address .../{nav.name}(key)/$ref")
        return self._of_target(entity_target(self.catalog, entity_id, self.prefix, self.lookup, "$id"), nav, "$id")

    def _of_target(self, found: Target, nav: Navigation, label: str) -> Target:
        if found.entity.entity_set != nav.target:
            raise BadRequest(f"{label}: {nav.name} refers to {nav.target}, not to {found.entity.entity_set}",
                             target=label)
        return found

    def _values(self, entity: Entity, fixed: Fixed, names: tuple[str, ...]) -> tuple[Any, ...]:
        row = self.lookup(entity, fixed, names)
        if row is None:
            raise NotFound(f"no {entity.entity_type} with this key")
        return row

    # ------------------------------------------------------------------ single-valued: the parent's links
    def _replace(self, via: Via, referenced: Target, if_match: list[str] | None) -> None:
        nav = via.nav
        values = dict(zip(nav.link, self._values(referenced.entity, referenced.fixed, tuple(nav.link.values()))))
        _settable(via.parent, tuple(nav.link), nav.name)
        self._writer(via.parent).update(via.parent_fixed, values, if_match, replace=False)

    def _clear(self, via: Via, if_match: list[str] | None) -> None:
        nav = via.nav
        values = self._cleared(via.parent, nav.name, tuple(nav.link))
        self._writer(via.parent).update(via.parent_fixed, values, if_match, replace=False)

    def _cleared(self, entity: Entity, nav_name: str, names: tuple[str, ...]) -> dict[str, object]:
        """Null for each link property that is not part of the key; 400 when one cannot be null."""
        cleared = [name for name in names if name not in entity.key]
        if not cleared:
            raise BadRequest(f"{nav_name} is fixed by the key of {entity.entity_type}: it cannot be removed")
        _settable(entity, tuple(cleared), nav_name)
        for name in cleared:
            prop = entity.properties[name]
            if not prop.nullable or prop.required:
                raise BadRequest(f"{nav_name} cannot be removed: {entity.entity_type}.{name} cannot be null; "
                                 "replace the reference instead", target=name)
        return dict.fromkeys(cleared)

    # ------------------------------------------------------------------ collections
    def _add(self, via: Via, target: Target, referenced: Target, if_match: list[str] | None) -> None:
        nav = via.nav
        if nav.through is not None:
            return self._link(via, target, referenced, if_match)
        # The target holds the link: its properties take the parent's values (the path's fixed pairs).
        values = dict(target.fixed)
        _settable(referenced.entity, tuple(values), nav.name)
        self._writer(referenced.entity).update(referenced.fixed, values, if_match, replace=False)

    def _remove(self, via: Via, target: Target, removed: Target, if_match: list[str] | None) -> None:
        nav = via.nav
        if nav.through is not None:
            return self._unlink(via, target, removed, if_match)
        linked = (*target.fixed, *((name, value) for name, value in removed.fixed if name not in dict(target.fixed)))
        values = self._cleared(removed.entity, nav.name, tuple(nav.link.values()))
        writer = self._writer(removed.entity)
        # Held and read as last committed: it is still one of them when its link is cleared.
        if not writer.lock(linked):
            raise NotFound(f"{removed.entity.entity_type} {removed.key_text} is not one of the {nav.name} "
                           f"of this {via.parent.entity_type}")
        writer.update(removed.fixed, values, if_match, replace=False)

    # ------------------------------------------------------------------ many-to-many: the join table
    def _link(self, via: Via, target: Target, referenced: Target, if_match: list[str] | None) -> None:
        row = self._pair(via, target, referenced, if_match)
        nav = via.nav
        assert nav.through is not None
        joined = join_table(nav.through, "j")
        present = select(literal(1)).select_from(joined).where(*(joined.c[name] == value for name, value in row.items()))
        if self.unit.connection.execute(select(exists(present))).scalar():
            return  # already related: a reference is not added twice
        try:
            self.unit.connection.execute(insert(join_table(nav.through)).values(row))
        except IntegrityError as error:
            reason = str(getattr(error, "orig", error)).splitlines()[0][:200]
            raise Conflict(f"{nav.name}: the database refused the new reference ({reason})") from None

    def _unlink(self, via: Via, target: Target, removed: Target, if_match: list[str] | None) -> None:
        row = self._pair(via, target, removed, if_match)
        nav = via.nav
        assert nav.through is not None
        joined = join_table(nav.through)
        statement = delete(joined).where(*(joined.c[name] == value for name, value in row.items()))
        if self.unit.connection.execute(statement).rowcount == 0:
            raise NotFound(f"{removed.entity.entity_type} {removed.key_text} is not one of the {nav.name} "
                           f"of this {via.parent.entity_type}")

    def _pair(self, via: Via, target: Target, other: Target, if_match: list[str] | None) -> dict[str, object]:
        """The join row of the parent and `other`, once the caller may change the parent's relations."""
        nav = via.nav
        assert nav.through is not None
        parent = self._writer(via.parent)
        key = parent.hold(via.parent_fixed, "update", if_match)
        related = dict(target.fixed).get(RELATED)
        parent_values = (related.values if related is not None  # type: ignore[attr-defined]
                         else self._values(via.parent, via.parent_fixed, nav.link_properties))
        other_values = self._values(other.entity, other.fixed, tuple(nav.through.target_link))
        row: dict[str, object] = dict(zip(nav.through.link.values(), parent_values))
        row.update(zip(nav.through.target_link.values(), other_values))
        row.update(nav.through.where)
        self.unit.prepare(via.parent.entity_set, self.context.initiator or self.context.user_id)
        self.unit.record(Change(via.parent.entity_set, "update", key, properties=frozenset({nav.name})))
        return row

    def _writer(self, entity: Entity) -> EntityWriter:
        return EntityWriter(self.unit, self.context, entity)  # 405 for read-only entities



def _settable(entity: Entity, names: tuple[str, ...], nav_name: str) -> None:
    """A relation is changed through its link properties: none of them may be read-only."""
    for name in names:
        if name not in entity.key and entity.properties[name].read_only:
            raise BadRequest(f"{nav_name} cannot be changed: {entity.entity_type}.{name} is read-only", target=name)
