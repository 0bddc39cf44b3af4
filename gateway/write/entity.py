"""Create, update and delete one entity: its values spread over the physical tables it maps.

Multi-table entities write every table in one transaction, in link order: a table whose RECID
another row points at is written first (CustomersV3: address, then party, then customer).
Updates are conditional on RECVERSION, and every update bumps the first table's RECVERSION, so
of two writers holding the same ETag exactly one succeeds.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import replace
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Numeric,
    String,
    Time,
    column,
    delete,
    insert,
    select,
    table,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.selectable import TableClause
from sqlalchemy.types import TypeEngine

from gateway.catalog.model import Entity, SequenceSpec, Source
from gateway.conditional import etag_matches
from gateway.errors import BadRequest, Conflict, Forbidden, MethodNotAllowed, NotFound, PreconditionFailed
from gateway.identity.access import SYSTEM
from gateway.identity.config import Operation
from gateway.plan.keys import Fixed
from gateway.plan.scope import EntityScope, PlanContext, company_lookup
from gateway.plan.types import sql_type
from gateway.resource import canonical_key
from gateway.serialize.values import etag
from gateway.write.structured import column_of, column_types, fill_missing
from gateway.write.unit import Change, WriteUnit
from gateway.write.values import empty_value

NOW = "$now"
# A write without If-Match that meets a newer version reads it again and retries (at most this often).
_UNCONDITIONAL_ATTEMPTS = 3




class EntityWriter:
    def __init__(self, unit: WriteUnit, context: PlanContext, entity: Entity) -> None:
        if not entity.writable:
            raise MethodNotAllowed(f"{entity.entity_set} is read-only", headers={"Allow": "GET, HEAD"})
        self.unit = unit
        self.context = context
        self.entity = entity
        self.catalog = context.catalog
        self.version = self.catalog.service.row_version
        self.guid_keys = self.catalog.service.row_ids == "guid"

    def _id(self, source: Source) -> str:
        return self.catalog.row_id(self.entity, source)

    def _ids(self, source: Source, recid: Any) -> dict[str, Any]:
        """{column: value} that identify a table's row: its RECID, or with Guid row ids the first table's
        key columns (a composite key's row id is the tuple of its parts, in key order)."""
        columns = self.catalog.row_id_columns(self.entity, source)
        return {columns[0]: recid} if len(columns) == 1 else dict(zip(columns, recid))

    # ------------------------------------------------------------------ create
    def create(self, values: dict[str, object]) -> Fixed:
        entity = self.entity
        given = frozenset(values)  # before defaults fill the rest: what the caller set
        values = dict(values)
        company_property = self.catalog.service.company_property
        if entity.company_specific:
            company = str(values.get(company_property) or self.context.current_company).lower()
            if company not in (self.context.writable_companies or self.context.companies):
                raise Forbidden(f"you may not write to company '{company}'", target=company_property)
            self.context.access.require(entity, "create", company)
            values[company_property] = company
        else:
            self.context.access.require(entity, "create")
        if self.guid_keys and len(entity.key) == 1 and values.get(entity.key[0]) in (None, ""):
            values[entity.key[0]] = str(uuid.uuid4())  # like Dataverse: the client may bring its own id
        for name in entity.key:
            if values.get(name) in (None, "") and (spec := self._numbered(name)) is not None:
                values[name] = _numbered_value(spec, self.unit.allocate(spec.name))  # ACT-000042
            if values.get(name) in (None, ""):
                raise BadRequest(f"{name} is required: it is part of the key", target=name)
        for prop in entity.properties.values():
            if prop.required and values.get(prop.name) in (None, ""):
                raise BadRequest(f"{prop.name} is required", target=prop.name)
            if prop.name not in values and (not prop.read_only or prop.default is not None):
                # (a read-only property with a default is the server's to set: a derived type's discriminator)
                values[prop.name] = empty_value(self.catalog, prop)
        fill_missing(self.catalog, entity, values)  # complex and collection-valued (gateway/write/structured.py)
        self._check_references(values)
        self._require_lookup_company("create", values.get(self._lookup_property()))
        rows = self._rows_by_alias(values)
        present = [source for source in entity.sources if source.join != "left" or _has_values(rows[source.alias])]
        numbered = [source for source in present if not (self.guid_keys and source is entity.sources[0])]
        first = self.unit.allocate("RECID", len(numbered)) if numbered else 0
        recids: dict[str, Any] = {source.alias: first + index for index, source in enumerate(numbered)}
        if self.guid_keys:
            parts = tuple(values[name] for name in entity.key)
            recids[entity.sources[0].alias] = parts[0] if len(parts) == 1 else parts
        for source in present:
            row = rows[source.alias]
            self._fill_optional(source, row)
            for column_name, value in source.defaults.items():
                row.setdefault(column_name, self._value(value))
            for column_name, spec in source.sequences.items():
                if row.get(column_name) not in (None, ""):
                    continue  # given by the client (or by dual-write from the other side)
                row[column_name] = _numbered_value(spec, self.unit.allocate(spec.name))
            row.update(self._ids(source, recids[source.alias]))
            row[self.version] = 1
            self._link(source, row, rows, recids)
        for source in _insert_order(present, self.catalog.service.row_id):
            self._execute(insert(self._table(source, rows[source.alias])).values(rows[source.alias]))
        key = tuple((name, values[name]) for name in entity.key)
        self.unit.record(Change(entity.entity_set, "create", key, given=given))
        return key

    def _numbered(self, name: str) -> SequenceSpec | None:
        """The sequence that numbers property `name` when a create does not give it, if any."""
        prop = self.entity.properties[name]
        return self.entity.source_by_alias[prop.alias].sequences.get(prop.column_name)

    # ------------------------------------------------------------------ update and delete
    def update(self, fixed: Fixed, values: dict[str, object], if_match: list[str] | None, replace: bool) -> None:
        self._require(fixed, "update")
        current = self._current(fixed, if_match)
        if (lookup := self._lookup_property()) is not None:
            self._require_lookup_company("update", self._values(fixed)[lookup])  # where the row is
            if lookup in values:
                self._require_lookup_company("update", values[lookup])  # and where it would go
        for name, value in values.items():
            if name in self.entity.key and value != dict(fixed)[name]:
                raise BadRequest(f"{name} is part of the key and cannot change", target=name)
        values = {name: value for name, value in values.items() if name not in self.entity.key}
        if replace:
            for prop in self.entity.properties.values():
                if prop.name not in values and not prop.read_only and prop.name not in self.entity.key:
                    if prop.required:
                        raise BadRequest(f"{prop.name} is required: PUT replaces every property", target=prop.name)
                    values[prop.name] = empty_value(self.catalog, prop)
            fill_missing(self.catalog, self.entity, values)  # (complex and collection-valued properties)
        for name, value in values.items():
            if name in self.entity.properties and self.entity.properties[name].required and value in (None, ""):
                raise BadRequest(f"{name} is required and cannot be empty", target=name)
        self._check_references({**dict(fixed), **values})
        for attempt in range(_UNCONDITIONAL_ATTEMPTS):
            if self._write_update(current, values):
                break
            if if_match is not None or attempt == _UNCONDITIONAL_ATTEMPTS - 1:
                raise PreconditionFailed("the entity was changed by someone else meanwhile; read it again")
            # No If-Match: the caller asked for its values whatever the row holds. Another writer committed
            # between our read and our write; read it again, locked (SQLite: this transaction holds the
            # database since its first write), so the version read is the last one.
            current = self._current(fixed, None, locking=True)
        self.unit.record(Change(self.entity.entity_set, "update", self._own_key(fixed), properties=frozenset(values)))

    def _write_update(self, current: dict[str, tuple[Any, Any]], values: dict[str, object]) -> bool:
        """Write `values` over the rows read as `current`; False if a row's version moved on meanwhile."""
        changes = self._rows_by_alias(values)
        recids = {alias: current[alias][0] for alias in current}
        root = self.entity.sources[0]
        for source in reversed(self.entity.sources):
            row = changes[source.alias]
            if source.join == "left":
                row = self._optional_changes(source, row, exists=recids[source.alias] is not None)
            if recids[source.alias] is None:
                if row:  # an optional row (e.g. the address) that does not exist yet
                    self._create_optional(source, row, changes, recids)
                continue
            if not row and source is not root:
                continue
            row.update({name: self._value(value) for name, value in source.on_update.items()})
            version = current[source.alias][1]
            row[self.version] = _next_version(version)
            ids = self._ids(source, recids[source.alias])
            target = self._table(source, {**row, **ids})
            statement = update(target).where(
                *(target.c[name] == value for name, value in ids.items()), target.c[self.version] == version
            )
            if self._execute(statement.values(row)).rowcount != 1:
                return False
        return True

    def delete(self, fixed: Fixed, if_match: list[str] | None) -> None:
        self._require(fixed, "delete")
        current = self._current(fixed, if_match)
        if (lookup := self._lookup_property()) is not None:
            self._require_lookup_company("delete", self._values(fixed)[lookup])
        # Dual-write needs the row's last values (its integration key is gone after); the audit only the key.
        before = self._values(fixed) if self.unit.tracks(self.entity.entity_set) else None
        self.unit.record(Change(self.entity.entity_set, "delete", self._own_key(fixed), before))
        root = self.entity.sources[0]
        for attempt in range(_UNCONDITIONAL_ATTEMPTS):
            recid, version = current[root.alias]
            ids = self._ids(root, recid)
            target = self._table(root, {**ids, self.version: 0})
            statement = delete(target).where(*(target.c[name] == value for name, value in ids.items()),
                                             target.c[self.version] == version)
            if self._execute(statement).rowcount == 1:
                break
            if if_match is not None or attempt == _UNCONDITIONAL_ATTEMPTS - 1:
                raise PreconditionFailed("the entity was changed by someone else meanwhile; read it again")
            current = self._current(fixed, None, locking=True)  # no If-Match: whatever it holds now (see update)

    def _require(self, fixed: Fixed, operation: Operation) -> None:
        """Forbidden unless the caller holds the privilege in the row's company (or in one it may see)."""
        company = dict(fixed).get(self.catalog.service.company_property)
        if self.entity.company_specific and company is None:
            self.context.access.scope(self.entity, operation, self.context.companies)
        else:
            self.context.access.require(self.entity, operation, None if company is None else str(company).lower())

    def _lookup_property(self) -> str | None:
        """The property by which this entity's rows name their company (Dataverse: _msdyn_company_value)."""
        lookup = company_lookup(self.entity, self.catalog)
        return None if lookup is None else next(iter(lookup.link))

    def _require_lookup_company(self, operation: Operation, value: object) -> None:
        """Forbidden unless the privilege covers the company the lookup `value` names (a role granted
        in some companies writes no row of another company, nor one without a company)."""
        lookup = company_lookup(self.entity, self.catalog)
        granted = self.context.access.companies(self.entity.entity_set, operation)
        if lookup is None or granted is None:
            return
        code = None
        if value is not None:
            (_, theirs), = lookup.link.items()
            target = EntityScope(self.catalog.entities[lookup.target], replace(self.context, access=SYSTEM))
            statement = select(target.column(self.catalog.service.company_code or "")).select_from(target.from_clause())
            code = self.unit.connection.execute(statement.where(target.where(((theirs, value),))).limit(1)).scalar()
        if code is None or str(code).lower() not in granted:
            where = f"company '{code}'" if code is not None else "rows without a company"
            raise Forbidden(f"you lack the {operation} privilege on {self.entity.entity_set} in {where} "
                            f"(you have it in {', '.join(sorted(granted)) or 'none'})", target=self.entity.entity_set)

    def _values(self, fixed: Fixed) -> dict[str, Any]:
        scope = EntityScope(self.entity, self.context)
        names = list(self.entity.properties)
        statement = select(*(scope.column(name) for name in names)).select_from(scope.from_clause())
        row = self.unit.connection.execute(statement.where(scope.where(fixed)).limit(1)).one()
        return dict(zip(names, row))

    def _own_key(self, fixed: Fixed) -> Fixed:
        """The entity's own key for `fixed` (which may be an alternate key)."""
        if {name for name, _ in fixed} == set(self.entity.key):
            return tuple((name, dict(fixed)[name]) for name in self.entity.key)
        values = self._values(fixed)
        return tuple((name, values[name]) for name in self.entity.key)

    def lock(self, fixed: Fixed) -> bool:
        """Hold the entity's row until the transaction ends, as every update of it does (each bumps its
        first table's version): a writer of this row waits for us, and we for it. Returns whether the
        row exists. (SQLite has no row locks: its one writer at a time holds the whole database.)"""
        return self._read(fixed, locking=True) is not None

    def hold(self, fixed: Fixed, operation: Operation, if_match: list[str] | None) -> Fixed:
        """For a write that changes this entity's relations but none of its rows (a join table row,
        gateway/write/refs.py): the privilege, company and If-Match checks of an update, its row held
        to the end of the transaction; returns the entity's own key (for the audit)."""
        self._require(fixed, operation)
        if (lookup := self._lookup_property()) is not None:
            self._require_lookup_company(operation, self._values(fixed)[lookup])
        self._current(fixed, if_match, locking=True)
        return self._own_key(fixed)

    def current_etag(self, fixed: Fixed) -> str | None:
        state = self._read(fixed)
        return None if state is None else state[1]

    # ------------------------------------------------------------------ helpers
    def _read(self, fixed: Fixed, locking: bool = False) -> tuple[dict[str, tuple[Any, Any]], str] | None:
        """{alias: (RECID, RECVERSION)} of the entity's rows, and its ETag; None when it does not exist.
        `locking`: the row is held to the end of the transaction, and read as last committed (MariaDB's
        repeatable read would otherwise show the transaction's first snapshot again)."""
        scope = EntityScope(self.entity, self.context)
        columns = scope.etag_columns()
        statement = select(*columns).select_from(scope.from_clause()).where(scope.where(fixed))
        if locking:  # PostgreSQL: the first table's row (not the nullable side of an outer join)
            statement = statement.with_for_update(of=scope.tables[self.entity.sources[0].alias])
        row = self.unit.connection.execute(statement.limit(1)).first()
        if row is None:
            return None
        pairs: dict[str, tuple[Any, Any]] = {}
        position = 0
        for source in self.entity.sources:  # (row id, or a composite key's parts), then the version
            width = len(self.catalog.row_id_columns(self.entity, source))
            ids = row[position:position + width]
            pairs[source.alias] = (ids[0] if width == 1 else tuple(ids), row[position + width])
            position += width + 1
        return pairs, etag(tuple(row))

    def _current(self, fixed: Fixed, if_match: list[str] | None, locking: bool = False) -> dict[str, tuple[Any, Any]]:
        state = self._read(fixed, locking)
        if state is None:
            raise NotFound(f"no {self.entity.entity_type} with key {canonical_key(self.entity, dict(fixed))}")
        pairs, current_etag = state
        if if_match is not None and not etag_matches(if_match, current_etag):
            raise PreconditionFailed(
                f"If-Match {', '.join(if_match)} does not match the current ETag {current_etag}: "
                "the entity changed since you read it"
            )
        return pairs

    def _rows_by_alias(self, values: dict[str, object]) -> dict[str, dict[str, object]]:
        rows: dict[str, dict[str, object]] = {source.alias: {} for source in self.entity.sources}
        for name, value in values.items():
            alias, column_name = column_of(self.entity, name).split(".", 1)  # (complex members, collections too)
            rows[alias][column_name] = value
        return rows

    def _link(
        self, source: Source, row: dict[str, object], rows: dict[str, dict[str, object]], recids: dict[str, int]
    ) -> None:
        """Fill the columns that join this table to an earlier one (one side of each link is a RECID)."""
        row_id = self.catalog.service.row_id  # (the service's row id column: RECID in F&O)
        for mine, reference in source.link.items():
            alias, theirs = reference.split(".", 1)
            if mine == row_id:
                rows[alias][theirs] = recids[source.alias]  # the earlier row points at this one
            elif theirs == row_id:
                row[mine] = recids[alias]  # this row points at the earlier one

    def _optional_changes(self, source: Source, row: dict[str, object], exists: bool) -> dict[str, object]:
        """Changes to an optional (outer-joined) table's row. Its columns hold values, never null: a
        null property means "empty" on a row that exists, and nothing to create on one that does not."""
        if not exists:
            return {name: value for name, value in row.items() if value is not None}
        empties = {
            prop.column_name: empty_value(self.catalog, prop, in_new_row=True)
            for prop in self.entity.properties.values()
            if prop.alias == source.alias
        }
        return {name: empties.get(name, "") if value is None else value for name, value in row.items()}

    def _fill_optional(self, source: Source, row: dict[str, object]) -> None:
        """A new row of an optional (outer-joined) table: its unset columns get their empty values."""
        if source.join != "left":
            return
        for prop in self.entity.properties.values():
            if prop.alias == source.alias and row.get(prop.column_name) is None:
                row[prop.column_name] = empty_value(self.catalog, prop, in_new_row=True)

    def _create_optional(
        self, source: Source, row: dict[str, object], changes: dict[str, dict[str, object]], recids: dict[str, Any]
    ) -> None:
        self._fill_optional(source, row)
        recid = self.unit.allocate("RECID")
        recids[source.alias] = recid
        row = {**{name: self._value(value) for name, value in source.defaults.items()}, **row}
        row[self._id(source)], row[self.version] = recid, 1
        self._execute(insert(self._table(source, row)).values(row))
        for mine, reference in source.link.items():
            alias, theirs = reference.split(".", 1)
            if mine == self.catalog.service.row_id:
                changes[alias][theirs] = recid  # e.g. party.PRIMARYADDRESS = the new address

    def _check_references(self, values: dict[str, object]) -> None:
        """Single-valued navigation must lead somewhere: CustomerGroupId must name an existing group."""
        for nav in self.entity.navigation.values():
            if nav.collection or not all(values.get(mine) not in (None, "") for mine in nav.link):
                continue
            if not any(mine in values and mine not in self.entity.key for mine in nav.link):
                continue
            target = self.catalog.entities[nav.target]
            fixed = tuple((theirs, values[mine]) for mine, theirs in nav.link.items())
            # An existence check, not a read: creating a customer needs no privilege on customer groups;
            # and it looks in the row's own company (a create may name another than the caller's current one).
            company = dict(fixed).get(self.catalog.service.company_property) if target.company_specific else None
            companies = (str(company),) if company is not None else self.context.companies
            scope = EntityScope(target, replace(self.context, access=SYSTEM, companies=companies))
            found = self.unit.connection.execute(
                select(scope.column(target.key[0])).select_from(scope.from_clause()).where(scope.where(fixed)).limit(1)
            ).first()
            if found is None:
                first = next(name for name in nav.link if name not in self.entity.key)
                shown = ", ".join(f"{theirs}={values[mine]!r}" for mine, theirs in nav.link.items())
                raise BadRequest(f"{nav.name}: no {target.entity_type} with {shown}", target=first)

    def _table(self, source: Source, row: dict[str, object]) -> TableClause:
        """The table with typed columns: a property's own type (so NULL binds as it), else the value's."""
        types = {prop.column_name: sql_type(prop.type, self.catalog)
                 for prop in self.entity.properties.values() if prop.alias == source.alias}
        types.update(column_types(self.entity, self.catalog, source.alias))  # member and JSON columns
        return table(source.table, *(column(key, types.get(key) or _type_of(value)) for key, value in row.items()))

    def _value(self, value: object) -> object:
        return self.unit.now if value == NOW else value

    def _execute(self, statement: Any) -> Any:
        # Dual-write acts before the first change, not before reads; events learn who writes.
        self.unit.prepare(self.entity.entity_set, self.context.initiator or self.context.user_id)
        try:
            return self.unit.connection.execute(statement)
        except IntegrityError as error:
            reason = _first_line(error)
            if any(word in reason.lower() for word in ("unique", "duplicate")):
                raise Conflict(
                    f"{self.entity.entity_type}: an entity with this key already exists ({reason})"
                ) from None
            raise BadRequest(f"{self.entity.entity_type}: the database refused the values ({reason})") from None


def _numbered_value(spec: SequenceSpec, number: int) -> object:
    return f"{spec.prefix}{number:0{spec.width}d}" if spec.width or spec.prefix else number


def _next_version(current: int) -> int:
    """Like F&O: a new random positive 32-bit RECVERSION on every update (never the one it replaces)."""
    while (version := secrets.randbelow(2**31 - 2) + 1) == current:
        pass
    return version


def _has_values(row: dict[str, object]) -> bool:
    return any(value not in (None, "") for value in row.values())


def _insert_order(sources: list[Source], row_id: str = "RECID") -> list[Source]:
    """Tables that others point at by their row id (RECID) come before the tables that point at them."""
    present = {source.alias for source in sources}
    before: dict[str, set[str]] = {source.alias: set() for source in sources}  # alias -> aliases to write first
    for source in sources:
        for mine, reference in source.link.items():
            alias, theirs = reference.split(".", 1)
            if alias not in present:
                continue
            if mine == row_id:
                before[alias].add(source.alias)  # the earlier row points at this one
            elif theirs == row_id:
                before[source.alias].add(alias)  # this row points at the earlier one
    order: list[Source] = []
    while len(order) < len(sources):
        done = {source.alias for source in order}
        ready = [s for s in sources if s.alias not in done and before[s.alias] <= done]
        if not ready:
            raise BadRequest("the entity's tables link in a circle and cannot be written")
        order.append(ready[0])
    return order


def _type_of(value: object) -> TypeEngine[Any]:
    if isinstance(value, dt.datetime):
        return DateTime()
    if isinstance(value, dt.date):
        return Date()
    if isinstance(value, dt.time):
        return Time()
    if isinstance(value, Decimal):
        return Numeric()
    if isinstance(value, bool):
        return Boolean()  # Dataverse-side booleans (F&O has none: NoYes is an enum of integers)
    if isinstance(value, int):
        return BigInteger()
    return String()


def _first_line(error: Exception) -> str:
    original = getattr(error, "orig", None) or error
    return str(original).splitlines()[0][:200]
