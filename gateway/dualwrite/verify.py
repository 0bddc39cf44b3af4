"""`fno-gateway dualwrite verify`: compare both sides of each map, and repair what differs.

Why: sync applies each change once and never looks back at what it wrote. After an incident (a
database restored from a backup, a fix made by hand while capture was off, a map started with
`--no-initial-sync`, refused rows nobody retried, a `resume --discard`) the two sides can be apart
with nothing in any log to say so. Verify reads every row of a map on both sides, matches them by
integration key, converts them with the map (sync's own Converter, given the other side's row, so
that a lossy value map such as OnHoldStatus Invoice ↔ creditonhold true is no difference) and
compares them with sync's own test. With `repair` it applies the side that is the truth with sync's
own machinery (a transaction a batch, a savepoint a row, capture suppressed), so a repair is what
sync would have written, and a refused row is noted while the others go on.

The truth: F&O for a one-way map. For a both-ways map, `master` for the rows both sides have, except
for a field that flows one way only, which is compared (and repaired) in the way it flows. A row only
one side has: a both-ways map creates it on the other side (it is real data); a one-way map creates a
missing copy, and deletes a Dataverse row no F&O row has (it is only a copy).

Rows are read in key order a batch at a time, and the other side's rows are found by integration key
a batch at a time: never a query per row, and memory stays that of a batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

import orjson
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, OperationalError

from gateway.catalog.model import Property
from gateway.dualwrite.apply import Applied, Converter, LookupCache, SyncError, changed_values
from gateway.dualwrite.maps import FieldMap, Side, TableMap, lookup_navigation, other
from gateway.dualwrite.rows import Batch, Endpoint, Values, identity
from gateway.dualwrite.service import DualWrite
from gateway.dualwrite.store import RUNNING, end_suppression, suppress_capture
from gateway.errors import ODataError
from gateway.plan.keys import Fixed
from gateway.serialize.values import JsonFormat
from gateway.serialize.values import converter as json_converter
from gateway.write.unit import WriteUnit

BATCH_ROWS = 1000
SHOWN = 20  # differences kept per map to show (all are counted)
_DONE = {"create": "created", "update": "updated", "delete": "deleted"}

Repair = Callable[[WriteUnit], Applied]


@dataclass(frozen=True)
class FieldDifference:
    field: str  # the map's field: "CreditLimit ↔ creditlimit"
    fo: str  # F&O's value as JSON; a field F&O does not have: what the map gives it
    dv: str  # Dataverse's value as JSON (a lookup: the value of the row it names)


@dataclass
class Difference:
    key: str  # the integration key as F&O writes it: "usmf/US-001"
    kind: Literal["fields", "only", "unconvertible"]
    side: Side  # "only": the side that has the row; else the side it was converted from
    fields: list[FieldDifference] = field(default_factory=list)
    reason: str = ""  # "unconvertible": why
    done: list[str] = field(default_factory=list)  # what repairs did: "updated on Dataverse"
    refused: str | None = None  # a repair that was refused (or found nothing to write): why

    @property
    def repaired(self) -> bool:
        return bool(self.done) and self.refused is None


@dataclass
class MapCheck:
    map_name: str
    truth: Side  # the side taken as the truth for rows both sides have
    limit: int = SHOWN
    compared: int = 0  # rows of the truth side, and rows only the other side has
    differing: int = 0
    repaired: int = 0
    refused: int = 0
    shown: list[Difference] = field(default_factory=list)  # the first `limit` differences
    refusals: list[Difference] = field(default_factory=list)  # refused ones past those (`limit` at most)

    @property
    def remaining(self) -> int:
        return self.differing - self.repaired

    def add(self, difference: Difference) -> None:
        self.differing += 1
        self.repaired += difference.repaired
        self.refused += difference.refused is not None
        if len(self.shown) < self.limit:
            self.shown.append(difference)
        elif difference.refused is not None and len(self.refusals) < self.limit:
            self.refusals.append(difference)


@dataclass
class VerifyResult:
    maps: list[MapCheck]
    repair: bool

    @property
    def clean(self) -> bool:
        """No difference is left (none was found, or every one was repaired)."""
        return all(check.remaining == 0 for check in self.maps)


def verify(dual: DualWrite, names: Sequence[str] | None = None, repair: bool = False, master: Side = "fo",
           batch_rows: int = BATCH_ROWS, limit: int = SHOWN) -> VerifyResult:
    """Compare (with `repair`: and repair) the maps named (in any state), or every Running map, with
    prerequisites first: groups are repaired before the customers that name them."""
    if names is None:
        states = dual.states()
        chosen = [table_map for table_map in dual.maps.ordered() if states.get(table_map.name) == RUNNING]
    else:
        wanted = {dual.table_map(name).name for name in names}
        chosen = [table_map for table_map in dual.maps.ordered() if table_map.name in wanted]
    return VerifyResult([_MapVerifier(dual, table_map, master, repair, batch_rows, limit).run()
                         for table_map in chosen], repair)


@dataclass
class _Pending:
    """A difference of a batch and how to repair it (before it is counted)."""

    difference: Difference
    row: Values  # the row of the side that has it (or of the truth side)
    current: Values | None = None  # the other side's row, when both have it
    key: Fixed | None = None  # a row only the other side has: its key on the truth side
    forward: bool = True  # repair the other side from the truth side's row
    backward: bool = False  # repair the truth side's one-way fields from the other side's row


class _MapVerifier:
    def __init__(self, dual: DualWrite, table_map: TableMap, master: Side, repair: bool, batch_rows: int,
                 limit: int) -> None:
        self.dual = dual
        self.map = table_map
        self.repair = repair
        self.batch_rows = batch_rows
        self.truth: Side = master if table_map.direction == "both" else "fo"
        self.other: Side = other(self.truth)
        # Fields that flow only towards the truth side: compared and repaired the way they flow.
        self.backward: list[FieldMap] = [f for f in table_map.flowing(self.truth) if not f.flows(self.other)]
        self.cache = LookupCache()
        self.check = MapCheck(table_map.name, self.truth, limit)

    def run(self) -> MapCheck:
        self._truth_rows()
        self._other_rows()
        return self.check

    # ------------------------------------------------------------------ the truth side's rows
    def _truth_rows(self) -> None:
        """Each row of the truth side (within its filter) against the other side's row with its key
        (wherever it is: sync would update it)."""
        there = self.dual.endpoint(self.other)
        for batch in self._batches(self.truth):
            with there.engine.connect() as connection:
                forward = self._converter(self.other, batch.connection, connection)
                backward = self._converter(self.truth, connection, batch.connection)
                keys = [self._key(forward, row) for row in batch.rows]
                found = there.read_keys(connection, self.map.entity_set(self.other),
                                        [key for key, _ in keys if key is not None])
                pending = [item for row, (key, problem) in zip(batch.rows, keys)
                           if (item := self._compare_row(forward, backward, row, key, problem, found)) is not None]
            self.check.compared += len(batch.rows)
            if self.repair:
                self._repair(self.other, [(item.difference, self._write(self.other, item.row, item.row, batch.connection))
                                          for item in pending if item.forward])
                behind = [(item.difference, item.current) for item in pending if item.backward and item.current]
                if behind:
                    with there.engine.connect() as connection:
                        self._repair(self.truth, [(difference, self._write(self.truth, row, row, connection,
                                                                           self.backward))
                                                  for difference, row in behind])
            for item in pending:
                self.check.add(item.difference)

    def _compare_row(self, forward: Converter, backward: Converter, row: Values, key: Fixed | None,
                     problem: str | None, found: dict[tuple[object, ...], Values]) -> _Pending | None:
        text = self._key_text(self.truth, row, key)
        if problem is not None:
            return _Pending(Difference(text, "unconvertible", self.truth, reason=problem), row)
        current = None if key is None else found.get(identity(value for _, value in key))
        if current is None:
            return _Pending(Difference(text, "only", self.truth), row)
        try:
            ahead = self._fields(forward, self.other, row, current)
        except ODataError as error:
            return _Pending(Difference(text, "unconvertible", self.truth, reason=error.message), row)
        try:
            behind = self._fields(backward, self.truth, current, row, self.backward) if self.backward else []
        except ODataError as error:
            return _Pending(Difference(text, "unconvertible", self.other, reason=error.message), row, current,
                            forward=bool(ahead), backward=True)
        if not ahead and not behind:
            return None
        return _Pending(Difference(text, "fields", self.truth, ahead + behind), row, current, forward=bool(ahead),
                        backward=bool(behind))

    def _fields(self, converter: Converter, towards: Side, source: Values, target: Values,
                fields: list[FieldMap] | None = None) -> list[FieldDifference]:
        """The fields whose value on `towards` is not what the map makes of `source` (sync's own test:
        a repair writes exactly these)."""
        endpoint = self.dual.endpoint(towards)
        entity = endpoint.entity(self.map.entity_set(towards))
        changed = changed_values(entity, converter.values(source, None, target, fields), target)
        by_property: dict[str | None, FieldMap] = {}
        for field_map in self.map.flowing(towards) if fields is None else fields:
            by_property.setdefault(self.dual.rows.field_property(self.map, field_map, towards), field_map)
        rows = {towards: target, other(towards): source}
        differences = []
        for name, value in changed.items():
            field_map = by_property[name]
            shown = {side: self._shown(converter, field_map, side, rows[side], towards, value) for side in ("fo", "dv")}
            differences.append(FieldDifference(_label(field_map), shown["fo"], shown["dv"]))
        return differences

    def _shown(self, converter: Converter, field_map: FieldMap, side: Side, row: Values, towards: Side,
               expected: object) -> str:
        """`field_map`'s value on `side` as JSON: the row's (a lookup: the value of the row it names); a
        field this side does not have (a default, a template): what the map gives the other side."""
        name = field_map.fo if side == "fo" else field_map.dv
        if name is None:
            endpoint = self.dual.endpoint(towards)
            target = self.dual.rows.field_property(self.map, field_map, towards)
            return _json(endpoint.entity(self.map.entity_set(towards)).properties[str(target)], expected, endpoint)
        endpoint = self.dual.endpoint(side)
        if side == "dv" and field_map.lookup is not None:
            navigation = lookup_navigation(endpoint.catalog, self.map, field_map)
            guid = row.get(next(iter(navigation.link)))
            value = converter.read_lookup(field_map, row)
            if value is None and guid is not None:
                return f"{guid} (names no {navigation.target} row)"
            return _json(endpoint.entity(navigation.target).properties[field_map.lookup[1]], value, endpoint)
        return _json(endpoint.entity(self.map.entity_set(side)).properties[name], row.get(name), endpoint)

    # ------------------------------------------------------------------ rows only the other side has
    def _other_rows(self) -> None:
        """The other side's rows (within its filter) whose key no truth-side row has. Where maps share
        the table (released products and their variants are both products), a row another of them
        has a source row for is that map's, not a stray."""
        truth_end = self.dual.endpoint(self.truth)
        sharing = [self.map] + [table_map for table_map in self.dual.maps.on(self.other, self.map.entity_set(self.other))
                                if table_map is not self.map]
        for batch in self._batches(self.other):
            with truth_end.engine.connect() as connection:
                keys = self._unclaimed(sharing, batch, connection)
            alone = [_Pending(Difference(self._key_text(self.other, row, key), "only", self.other), row, key=key)
                     for row, key in keys]
            self.check.compared += len(alone)
            if self.repair and alone:
                self._repair_alone(batch, alone)
            for item in alone:
                self.check.add(item.difference)

    def _unclaimed(self, sharing: list[TableMap], batch: Batch,
                   connection: Connection) -> list[tuple[Values, Fixed | None]]:
        """The batch's rows no map of `sharing` has a truth-side row for, each with its key on the truth
        side for this map (None: it cannot be converted)."""
        truth_end = self.dual.endpoint(self.truth)
        own: list[tuple[Values, Fixed | None]] = []
        pending = batch.rows
        for table_map in sharing:
            converter = Converter(self.dual.rows, table_map, self.truth, batch.connection, connection, self.cache)
            keys = [self._key(converter, row)[0] for row in pending]
            found = truth_end.read_keys(connection, table_map.entity_set(self.truth),
                                        [key for key in keys if key is not None], getattr(table_map.filter, self.truth))
            left = [(row, key) for row, key in zip(pending, keys)
                    if key is None or identity(value for _, value in key) not in found]
            if table_map is self.map:
                own = left
            pending = [row for row, _ in left]
        kept = {id(row) for row in pending}
        return [(row, key) for row, key in own if id(row) in kept]

    def _repair_alone(self, batch: Batch, alone: list[_Pending]) -> None:
        if self.map.direction == "both":  # real data: the truth side gets it too
            self._repair(self.truth, [(item.difference, self._write(self.truth, item.row, item.row, batch.connection))
                                      for item in alone])
            return
        with self.dual.endpoint(self.truth).engine.connect() as connection:  # only a copy: it goes
            self._repair(self.other, [(item.difference, self._delete(item.key, connection)) for item in alone])

    def _write(self, towards: Side, source: Values | None, key: Values | None, connection: Connection,
               fields: list[FieldMap] | None = None) -> Repair:
        """Sync's apply of `source` (read in `connection`) to `towards`; None: delete the row `key` names."""
        rows = self.dual.rows
        return lambda unit: rows.apply(self.map, towards, source, key or {}, connection, unit, self.cache,
                                       fields=fields)

    def _delete(self, key: Fixed | None, connection: Connection) -> Repair:
        if key is None:
            def refuse(unit: WriteUnit) -> Applied:
                raise SyncError(self.map, self.other, "its integration key cannot be converted: delete it by hand")
            return refuse
        return self._write(self.other, None, dict(key), connection)

    # ------------------------------------------------------------------ shared
    def _batches(self, side: Side) -> Iterator[Batch]:
        return self.dual.endpoint(side).batches(self.map.entity_set(side), getattr(self.map.filter, side),
                                                self.batch_rows)

    def _converter(self, towards: Side, source: Connection, target: Connection) -> Converter:
        return Converter(self.dual.rows, self.map, towards, source, target, self.cache)

    @staticmethod
    def _key(converter: Converter, row: Values) -> tuple[Fixed | None, str | None]:
        """The row's integration key on the converter's side (None: no row there can have it), or why
        it cannot be converted."""
        try:
            return converter.key(row), None
        except ODataError as error:
            return None, error.message

    def _key_text(self, side: Side, row: Values, key: Fixed | None) -> str:
        """The integration key as F&O writes it: the F&O row's values, or the F&O values a Dataverse row
        converts to (`key`, when converted towards F&O); failing that, the Dataverse row's own."""
        if side == "fo":
            values = [row.get(str(key_field.fo)) for key_field in self.map.key_fields]
        elif key is not None:  # a Dataverse row's key is converted towards F&O
            values = [value for _, value in key]
        else:
            values = [row.get(name) for name in sorted(self.dual.rows.key_properties(self.map, "dv"))]
        return "/".join("" if value is None else str(value) for value in values)

    def _repair(self, towards: Side, repairs: list[tuple[Difference, Repair]]) -> None:
        """Each repair in a savepoint of one transaction on `towards` that no trigger captures: a refused
        row is noted on its difference and the others go on."""
        if not repairs:
            return
        endpoint = self.dual.endpoint(towards)
        with self.dual.rows.target_unit(endpoint) as unit:
            suppressed = suppress_capture(unit.connection)
            for difference, repair in repairs:
                savepoint = unit.connection.begin_nested()
                try:
                    applied = repair(unit)
                    savepoint.commit()
                except SyncError as error:
                    savepoint.rollback()
                    difference.refused = error.reason
                    continue
                except OperationalError:
                    raise  # a database is down or a lock wait ended: nothing more can be repaired now
                except DBAPIError as error:  # a constraint: this row is refused, the others go on
                    savepoint.rollback()
                    difference.refused = str(error.orig).splitlines()[0] if error.orig is not None else str(error)
                    continue
                if applied.operation == "none":
                    difference.refused = f"nothing to write on {endpoint.label} (changed since it was compared?)"
                else:
                    difference.done.append(f"{_DONE[applied.operation]} on {endpoint.label}")
            end_suppression(unit.connection, suppressed)


def _label(field_map: FieldMap) -> str:
    if field_map.fo is not None and field_map.dv is not None:
        return f"{field_map.fo} ↔ {field_map.dv}"
    return str(field_map.fo or field_map.dv)


def _json(prop: Property, value: object, endpoint: Endpoint) -> str:
    """A stored value as the side's OData JSON writes it: 100009, "Invoice", true, null."""
    return orjson.dumps(json_converter(prop.type, endpoint.catalog, JsonFormat())(value)).decode()
