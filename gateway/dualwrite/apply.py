"""Apply one row's state to the other side of a map: convert, resolve lookups, upsert or delete.

Sync is state-based: the source row as it is now is converted and compared with the target row
found by the integration key; only differing properties are written. Applying the same change
twice therefore writes nothing the second time (exactly-once effect under at-least-once delivery),
and replaying a queue in order always ends at the source's latest state.
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from gateway.catalog.model import Catalog, Entity, Property
from gateway.dualwrite.maps import ANY, FieldMap, Side, TableMap, lookup_navigation, other, source_value
from gateway.dualwrite.rows import Endpoint, Values
from gateway.errors import BadRequest, ODataError
from gateway.plan.keys import Fixed
from gateway.write.entity import EntityWriter
from gateway.write.unit import WriteUnit
from gateway.write.values import EMPTY_DATE, empty_value, parse_value


class SyncError(ODataError):
    """The other side refused a change: names the map, the direction and the reason."""

    status = 400
    code = "DualWriteFailed"

    def __init__(self, table_map: TableMap, towards: Side, reason: str, status: int = 400) -> None:
        arrow = "F&O → Dataverse" if towards == "dv" else "Dataverse → F&O"
        super().__init__(f"dual-write map '{table_map.name}' ({arrow}): {reason}", target=table_map.name)
        self.status = status
        self.reason = reason
        self.map_name = table_map.name


@dataclass(frozen=True)
class Applied:
    """What one apply did to the target, enough to undo it (compensation)."""

    entity_set: str
    key: Fixed  # the target row's own key
    before: Values | None  # the target row before (None: it did not exist)
    operation: str  # "create" | "update" | "delete" | "none"
    written: Values | None = None  # an update's new values: only these are put back, and only if unchanged since


class LookupCache(dict[tuple[str, Fixed], Values]):
    """Rows found by lookups, kept for one batch or one request (only hits: a miss may be created
    later in the same batch, e.g. the header a line points at)."""


class RowSync:
    def __init__(self, fo: Endpoint, dv: Endpoint) -> None:
        self.endpoints = {"fo": fo, "dv": dv}

    def target_unit(self, endpoint: Endpoint, dry_run: bool = False) -> WriteUnit:
        return WriteUnit(endpoint.engine, endpoint.catalog, dry_run=dry_run)

    def endpoint(self, side: Side) -> Endpoint:
        return self.endpoints[side]

    # ------------------------------------------------------------------ reading the source
    def source_row(self, connection: Connection, table_map: TableMap, side: Side, fixed: Fixed) -> Values | None:
        """The source row if it exists and passes the map's filter on its side."""
        endpoint = self.endpoint(side)
        return endpoint.read(connection, table_map.entity_set(side), fixed, getattr(table_map.filter, side))

    def exists(self, connection: Connection, table_map: TableMap, side: Side, fixed: Fixed) -> bool:
        return self.endpoint(side).read(connection, table_map.entity_set(side), fixed) is not None

    def key_properties(self, table_map: TableMap, side: Side) -> frozenset[str]:
        """The properties on `side` that make up the map's integration key."""
        names: set[str] = set()
        for field in table_map.key_fields:
            if side == "fo" and field.fo is not None:
                names.add(field.fo)
            elif side == "dv" and field.dv is not None:
                names.update(lookup_navigation(self.endpoint("dv").catalog, table_map, field).link
                             if field.lookup is not None else {field.dv})
        return frozenset(names)

    def field_property(self, table_map: TableMap, field: FieldMap, side: Side) -> str | None:
        """The property `field` is on `side` (a lookup: its link property), or None (a one-sided field)."""
        if side == "fo" or field.lookup is None:
            return field.fo if side == "fo" else field.dv
        return next(iter(lookup_navigation(self.endpoint("dv").catalog, table_map, field).link))

    # ------------------------------------------------------------------ applying to the target
    def apply(
        self,
        table_map: TableMap,
        towards: Side,
        source: Values | None,
        source_key: Values,
        source_connection: Connection,
        target: WriteUnit,
        cache: LookupCache | None = None,
        only: frozenset[str] | None = None,
        fields: Sequence[FieldMap] | None = None,
    ) -> Applied:
        """Make the target row match `source` (None: the source row is gone, so delete it).

        `only`: the source properties this change touched (None: all). An existing target row gets
        just those fields, so concurrent changes of other fields on the other side are not undone.
        `fields`: an existing target row gets only these of the map's fields (a missing one is
        created whole)."""
        converter = Converter(self, table_map, towards, source_connection, target.connection,
                               LookupCache() if cache is None else cache)
        if source is not None and only is not None:
            moved = sorted(only & self.key_properties(table_map, other(towards)))
            if moved:  # DOMAIN.md §4: the company (and the rest of the key) cannot change after create
                raise SyncError(table_map, towards, f"{', '.join(moved)} belongs to the integration key: it cannot "
                                                    "change once the row is synchronized (create a new row instead)")
        try:
            key = converter.key(source if source is not None else source_key)
            return self._apply(table_map, towards, converter, source, key, target, only, fields)
        except SyncError:
            raise
        except ODataError as error:
            raise SyncError(table_map, towards, error.message, error.status if error.status < 500 else 400) from None

    def _apply(self, table_map: TableMap, towards: Side, converter: Converter, source: Values | None,
               key: Fixed | None, target: WriteUnit, only: frozenset[str] | None,
               fields: Sequence[FieldMap] | None = None) -> Applied:
        endpoint = self.endpoint(towards)
        entity_set = table_map.entity_set(towards)
        entity = endpoint.entity(entity_set)
        writer = EntityWriter(target, endpoint.context(), entity)
        if key is None:  # a lookup in the key names a row the target does not have: nothing to match
            if source is None:
                return Applied(entity_set, (), None, "none")
            raise SyncError(table_map, towards, converter.unresolved_key())
        current = endpoint.read(target.connection, entity_set, key)
        own_key = tuple((name, current[name]) for name in entity.key) if current is not None else ()
        if source is None:
            if current is None:
                return Applied(entity_set, (), None, "none")
            writer.delete(own_key, None)
            return Applied(entity_set, own_key, current, "delete")
        if current is None:
            created = writer.create({**converter.values(source, None), **dict(key)})
            return Applied(entity_set, created, None, "create")
        changed = changed_values(entity, converter.values(source, only, current, fields), current)
        if not changed:
            return Applied(entity_set, own_key, current, "none")
        writer.update(own_key, changed, None, replace=False)
        return Applied(entity_set, own_key, current, "update", changed)

    def undo(self, applied: Applied, towards: Side, target: WriteUnit) -> None:
        """Compensation: put the target row back as it was before `applied`."""
        if applied.operation == "none":
            return
        endpoint = self.endpoint(towards)
        entity = endpoint.entity(applied.entity_set)
        writer = EntityWriter(target, endpoint.context(), entity)
        exists = writer.current_etag(applied.key) is not None
        if applied.before is None:
            if exists:
                writer.delete(applied.key, None)
            return
        if exists and applied.written is not None:  # an update: undo what it wrote, not what others wrote since
            now = self.endpoint(towards).read(target.connection, applied.entity_set, applied.key) or {}
            restore = {name: applied.before[name] for name, value in applied.written.items()
                       if name in applied.before and same_value(now.get(name), value)}
            if restore:
                writer.update(applied.key, restore, None, replace=False)
            return
        restorable = {
            name: value for name, value in applied.before.items()
            if not entity.properties[name].read_only
        }
        if exists:
            writer.update(applied.key, {k: v for k, v in restorable.items() if k not in entity.key}, None, replace=False)
        else:
            writer.create(restorable)


class Converter:
    """Source values → target values for one map and direction, with lookups resolved on either side."""

    def __init__(self, sync: RowSync, table_map: TableMap, towards: Side, source: Connection, target: Connection,
                 cache: LookupCache) -> None:
        self.sync = sync
        self.cache = cache
        self.map = table_map
        self.towards = towards
        self.connections = {other(towards): source, towards: target}
        self.fo = sync.endpoint("fo")
        self.dv = sync.endpoint("dv")
        self.target_entity = sync.endpoint(towards).entity(table_map.entity_set(towards))
        self.current: Values | None = None
        self.source_entity = sync.endpoint(other(towards)).entity(table_map.entity_set(other(towards)))
        self._company: Any = None
        self.unresolved = ""

    def key(self, source: Values) -> Fixed | None:
        """The integration key on the target side (Dataverse lookups as Guids), or None if unresolvable
        (`unresolved` then says which lookup found nothing, when one did)."""
        pairs: list[tuple[str, object]] = []
        for field in self.map.key_fields:
            name, value = self._convert(field, source, required=False)
            if value is None:
                self.unresolved = self._missing_lookup(field, source)
                return None
            pairs.append((name, value))
        return tuple(pairs)

    def unresolved_key(self) -> str:
        """Why `key` gave None, for the error log: a missing prerequisite row is named."""
        reason = "the integration key cannot be resolved on the target"
        return f"{reason} ({self.unresolved})" if self.unresolved else reason

    def _missing_lookup(self, field: FieldMap, source: Values) -> str:
        if self.towards != "dv" or field.lookup is None or field.fo is None or source.get(field.fo) in (None, ""):
            return ""
        target = self.dv.entity(lookup_navigation(self.dv.catalog, self.map, field).target)
        return f"{field.dv}: Dataverse has no {target.entity_type} with {field.lookup[1]}={source[field.fo]!r}"

    def values(self, source: Values, only: frozenset[str] | None, current: Values | None = None,
               fields: Sequence[FieldMap] | None = None) -> Values:
        """The target's values; `current` (the target row as it is) keeps a value a lossy value map
        would overwrite: F&O's OnHoldStatus Invoice stays Invoice while the account says on hold.
        `fields`: only these (of the fields that flow this way) instead of all of them."""
        self.current = current
        values: Values = {}
        for field in self.map.flowing(self.towards) if fields is None else fields:
            if only is not None and not self._touched(field, only):
                continue
            name, value = self._convert(field, source, required=True)
            values[name] = value
        return values

    def _touched(self, field: FieldMap, only: frozenset[str]) -> bool:
        """Whether the change touched the source properties this field reads (defaults: never)."""
        if self.towards == "dv":
            if field.template is not None:
                return any(name in only for _, name, _, _ in string.Formatter().parse(field.template) if name)
            return field.fo is not None and field.fo in only
        if field.dv is None:
            return False
        lookup = field.lookup
        if lookup is None:
            return field.dv in only
        return any(name in only for name in lookup_navigation(self.dv.catalog, self.map, field).link)

    def _convert(self, field: FieldMap, source: Values, required: bool) -> tuple[str, object]:
        towards = self.towards
        if towards == "dv":
            assert field.dv is not None
            if field.template is not None:
                text = string.Formatter().vformat(field.template, (), _Missing(source))
                return field.dv, text
            raw = field.default if field.fo is None else source.get(field.fo)
            value = self._map_value(field, raw, field.fo is None)
            lookup = field.lookup
            if lookup is None:
                return field.dv, _coerce(self.dv.catalog, self.target_entity.properties[field.dv], value, "dv")
            return self._find_lookup(field, value, required)
        assert field.fo is not None
        if field.dv is None:
            prop = self.target_entity.properties[field.fo]
            return field.fo, _coerce(self.fo.catalog, prop, parse_value(self.fo.catalog, prop, field.default), "fo")
        lookup = field.lookup
        raw = self.read_lookup(field, source) if lookup is not None else source.get(field.dv)
        if self._still_maps_to(field, raw):
            return field.fo, self.current[field.fo]  # type: ignore[index]
        value = self._map_value(field, raw, False)
        return field.fo, _coerce(self.fo.catalog, self.target_entity.properties[field.fo], value, "fo")

    def _still_maps_to(self, field: FieldMap, raw: object) -> bool:
        """Whether the F&O row's current value already maps to this Dataverse value (then it stays)."""
        current = self.current
        if current is None or not field.to_dv or field.fo not in current or current[field.fo] is None:
            return False
        back = self._to_dv_value(field, current[field.fo])
        return back is not None and same_value(back, raw)

    def _map_value(self, field: FieldMap, raw: object, is_default: bool) -> object:
        """Apply the value map of this direction; defaults are written in the target's JSON form."""
        towards = self.towards
        target_catalog = self.sync.endpoint(towards).catalog
        name = field.dv if towards == "dv" else field.fo
        if is_default:
            if field.lookup is None and name is not None:
                return parse_value(target_catalog, self.target_entity.properties[name], field.default)
            return field.default
        table = field.to_dv if towards == "dv" else field.to_fo or _inverse(field.to_dv)
        if not table or raw is None:
            return raw
        source_name = field.fo if towards == "dv" else field.dv
        source_catalog = self.sync.endpoint(other(towards)).catalog
        assert source_name is not None and name is not None
        for key, mapped in table.items():
            if key != ANY and same_value(source_value(source_catalog, self.source_entity, source_name, key), raw):
                return parse_value(target_catalog, self.target_entity.properties[name], mapped)
        if ANY in table:
            return parse_value(target_catalog, self.target_entity.properties[name], table[ANY])
        raise BadRequest(f"{source_name}: no value map entry for {raw!r}", target=source_name)

    def _to_dv_value(self, field: FieldMap, value: object) -> object:
        """`value` of the F&O property as the map sends it to Dataverse."""
        assert field.fo is not None and field.dv is not None
        for key, mapped in field.to_dv.items():
            if key != ANY and same_value(source_value(self.fo.catalog, self.fo.entity(self.map.fo), field.fo, key), value):
                return parse_value(self.dv.catalog, self.dv.entity(self.map.dv).properties[field.dv], mapped)
        if ANY in field.to_dv:
            return parse_value(self.dv.catalog, self.dv.entity(self.map.dv).properties[field.dv], field.to_dv[ANY])
        return None

    # ------------------------------------------------------------------ lookups
    def _find_lookup(self, field: FieldMap, value: object, required: bool) -> tuple[str, object]:
        """F&O value → the Guid of the Dataverse row it names (within the row's company)."""
        navigation = lookup_navigation(self.dv.catalog, self.map, field)
        link_property = next(iter(navigation.link))
        if value in (None, ""):
            return link_property, None
        assert field.lookup is not None
        target_entity = self.dv.entity(navigation.target)
        fixed: list[tuple[str, object]] = [(field.lookup[1], value)]
        if field is not self.map.company and self.map.company is not None:
            company_link = next(iter(lookup_navigation(self.dv.catalog, self.map, self.map.company).link))
            if company_link in target_entity.properties:
                fixed.append((company_link, self._company_guid()))
        row = self._lookup(navigation.target, tuple(fixed))
        if row is None:
            if not required:
                return link_property, None
            shown = ", ".join(f"{name}={value!r}" for name, value in fixed)
            raise BadRequest(f"{field.dv}: Dataverse has no {target_entity.entity_type} with {shown}", target=field.dv)
        guid = row[target_entity.key[0]]
        if field is self.map.company:
            self._company = guid
        return link_property, guid

    def _lookup(self, entity_set: str, fixed: Fixed) -> Values | None:
        found = self.cache.get((entity_set, fixed))
        if found is None:
            found = self.dv.read(self.connections["dv"], entity_set, fixed)
            if found is not None:
                self.cache[(entity_set, fixed)] = found
        return found

    def _company_guid(self) -> object:
        if self._company is None:
            raise BadRequest("the row has no company")
        return self._company

    def read_lookup(self, field: FieldMap, source: Values) -> object:
        """Dataverse lookup Guid → the value of the named column of the row it points at."""
        navigation = lookup_navigation(self.dv.catalog, self.map, field)
        link_property, target_property = next(iter(navigation.link.items()))
        guid = source.get(link_property)
        if guid in (None, ""):
            return None
        row = self._lookup(navigation.target, ((target_property, guid),))
        assert field.lookup is not None
        return None if row is None else row[field.lookup[1]]


class _Missing(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def _coerce(catalog: Catalog, prop: Property, value: object, side: Side) -> object:
    """A value in the target property's stored form; empties follow the side's habit
    (F&O stores '' and 0 where Dataverse stores null)."""
    if side == "dv" and _fo_empty(value):
        value = None  # F&O's empty date (1900-01-01) is Dataverse's null
    if value is None or value == "":
        if side == "fo":
            return None if prop.nullable else empty_value(catalog, prop)
        return None if prop.type in ("Edm.String", "Edm.Guid") or prop.nullable else value
    kind = prop.type
    if catalog.is_enum(kind) or kind in ("Edm.Int32", "Edm.Int64"):
        return int(value)  # type: ignore[call-overload]
    if kind == "Edm.Decimal":
        return value if isinstance(value, Decimal) else Decimal(str(value))
    if kind == "Edm.Boolean":
        return bool(value)
    if kind == "Edm.String":
        text = str(value)
        if prop.max_length is not None and len(text) > prop.max_length:
            raise BadRequest(f"{prop.name}: {text!r} is longer than {prop.max_length}", target=prop.name)
        return text
    return value


def _fo_empty(value: object) -> bool:
    if isinstance(value, dt.datetime):
        return value.date() == EMPTY_DATE
    return isinstance(value, dt.date) and value == EMPTY_DATE


def changed_values(entity: Entity, values: Values, current: Values) -> Values:
    """The values (not the row's own key) that differ from the target row's `current` ones."""
    return {name: value for name, value in values.items()
            if name not in entity.key and not same_value(value, current.get(name))}


def same_value(left: object, right: object) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return left == right
    if isinstance(left, (int, float, Decimal)) and isinstance(right, (int, float, Decimal)):
        return Decimal(str(left)) == Decimal(str(right))
    if left is None or right is None:
        return left == right or left in ("", None) and right in ("", None)
    return str(left) == str(right) if type(left) is not type(right) else left == right


def _inverse(to_dv: dict[str, Any]) -> dict[str, Any]:
    """A one-to-one value map read backwards (Dataverse value → F&O member), for a field with no `to_fo`:
    what a one-way map's integration key converts back with (verify finds the F&O row of a Dataverse
    row). A map with a catch-all ("*") is not one-to-one and has no inverse."""
    if ANY in to_dv:
        return {}
    return {(str(value).lower() if isinstance(value, bool) else str(value)): member for member, value in to_dv.items()}
