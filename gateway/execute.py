"""Run a read plan on a connection and shape its rows into OData JSON objects (with expansions).

Expanded navigation is read in batches: one statement per navigation property per batch of parent
rows, matched back to parents by their link values. A page of N rows never costs N queries.
"""

from __future__ import annotations

import binascii
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, Engine, select

from gateway import direct
from gateway.catalog.model import Catalog, Entity
from gateway.direct import RowSource
from gateway.errors import ResultTooLarge
from gateway.negotiate import FORMATTED_VALUE
from gateway.plan.derived import type_shape
from gateway.plan.query import (
    ExpandPlan,
    Layout,
    ReadPlan,
    child_count_statement,
    child_statement,
    next_token,
)
from gateway.plan.scope import EntityScope, PlanContext
from gateway.protect.budget import ExpandBudget
from gateway.resource import key_url
from gateway.serialize.structured import field_converter, nested, nests
from gateway.serialize.values import JsonFormat, converter, etag, etag_expression, inline_expression

# Parents per batch of expand statements; the IN list stays far below every driver's parameter limit.
EXPAND_BATCH = 1000
# Rows fetched from the cursor at a time (and shaped, expanded and written as one piece).
CHUNK_ROWS = 1000
# The most rows a server database's client-side cursor may hold at once (gateway/direct.py): a page of
# the default size and the row after it. Larger results stream from a server-side cursor.
HELD_ROWS = 10_001


class RowShaper:
    """Turns one result row into the JSON object of an entity, as the layout says."""

    def __init__(
        self, entity: Entity, layout: Layout, catalog: Catalog, json_format: JsonFormat, service_root: str = "",
        generated: bool = False,
    ) -> None:
        self.entity = entity
        self.names = layout.visible
        self.converters = [
            converter(layout.computed_types[name], catalog, json_format)
            if name in layout.computed_types
            else field_converter(entity, name, catalog, json_format)  # (complex members, collections)
            for name in layout.visible
        ]
        # Prefer: odata.include-annotations="OData.Community.Display.V1.FormattedValue": the label of
        # every option-set (and boolean) value, beside the value, as Dataverse writes it.
        self.labels = [
            (index, name + "@" + FORMATTED_VALUE, entity.properties[name].labels)
            for index, name in enumerate(layout.visible)
            if json_format.formatted_values and name in entity.properties and entity.properties[name].labels
        ]
        self.etag_slice = slice(layout.etag_start, layout.etag_start + layout.etag_width)
        self.with_etag = json_format.annotations and layout.etag_width > 0  # tables without versions: none
        # odata.metadata=full: type, id and edit link of every entity, computed from its key.
        self.full = json_format.metadata == "full"
        self.type_annotation = "#" + catalog.qualified(entity.entity_type)
        self.key_positions = [(name, layout.read.index(name)) for name in entity.key]
        self.service_root = service_root
        self.links = [(name + "@odata.navigationLink", "/" + name) for name in layout.links] if self.full else []
        # Generating the function costs a compile: worth it for a shaper kept with a plan (shaper_for), not
        # for one row (read_one after a write).
        self._plain = self._compiled() if generated and not self.full and not self.labels else None
        # What callers apply to each row: the generated function itself where there is one (no call
        # through __call__ per row).
        self.shape: Callable[[Sequence[Any]], dict[str, Any]] = self._plain or self.general
        if nests(self.names):  # complex members, written flat by path: nested into their objects
            self.shape = nested(self.shape, entity, layout, catalog)
        if entity.derived_types:  # @odata.type and the own properties of rows of derived types
            self.shape = type_shape(entity, catalog, layout.read, self.shape)

    def _compiled(self) -> Callable[[Sequence[Any]], dict[str, Any]]:
        """The common shape (minimal metadata, no labels) as one generated function, as dataclasses
        and namedtuple generate their methods: a dict display with the property names as constants,
        each value converted inline where the driver already gives its wire form (a str, an int) and
        by its converter otherwise. Per row it costs a third of the general loop below;
        tests/test_row_shaper.py holds the two to the same output."""
        namespace: dict[str, Any] = {"b2a_base64": binascii.b2a_base64}
        lines = [f"    v{index} = row[{index}]" for index in range(len(self.names))]
        parts = []
        if self.with_etag:
            tags = [f"row[{index}]" for index in range(self.etag_slice.start, self.etag_slice.stop)]
            parts.append(f"'@odata.etag': {etag_expression(tags)}")
        for index, (name, convert) in enumerate(zip(self.names, self.converters)):
            namespace[f"c{index}"] = convert
            # (repr: a property name is never code)
            parts.append(f"{name!r}: {inline_expression(convert, f'v{index}', f'c{index}')}")
        source = "def shape(row):\n" + "".join(line + "\n" for line in lines) + "    return {" + ", ".join(parts) + "}\n"
        exec(compile(source, f"<row shaper of {self.entity.entity_set}>", "exec"), namespace)
        return namespace["shape"]  # type: ignore[no-any-return]

    def reference(self, row: Sequence[Any]) -> dict[str, Any]:
        """The entity reference of a row ($ref): its canonical id and nothing else."""
        key = key_url(self.entity, {name: row[position] for name, position in self.key_positions})
        return {"@odata.id": f"{self.service_root}{self.entity.entity_set}{key}"}

    def __call__(self, row: Sequence[Any]) -> dict[str, Any]:
        return self.shape(row)

    def general(self, row: Sequence[Any]) -> dict[str, Any]:
        """Every shape, property by property (the generated function's reference)."""
        shaped: dict[str, Any] = {}
        if self.full:
            key = key_url(self.entity, {name: row[position] for name, position in self.key_positions})
            shaped["@odata.type"] = self.type_annotation
            shaped["@odata.id"] = f"{self.service_root}{self.entity.entity_set}{key}"
            shaped["@odata.editLink"] = f"{self.entity.entity_set}{key}"
        if self.with_etag:
            shaped["@odata.etag"] = etag(row[self.etag_slice])
        if self.labels:
            self._with_labels(row, shaped)
        else:
            for index, (name, convert) in enumerate(zip(self.names, self.converters)):
                shaped[name] = convert(row[index])
        if self.links:  # relative to the context URL, like the edit link
            for annotation, suffix in self.links:
                shaped[annotation] = shaped["@odata.editLink"] + suffix
        return shaped

    def _with_labels(self, row: Sequence[Any], shaped: dict[str, Any]) -> dict[str, Any]:
        """Each FormattedValue goes just before its property, as OData JSON places annotations."""
        labelled = {index: (annotation, labels) for index, annotation, labels in self.labels}
        for index, (name, convert) in enumerate(zip(self.names, self.converters)):
            if index in labelled and row[index] is not None:
                annotation, labels = labelled[index]
                shaped[annotation] = labels.get(int(row[index]), str(row[index]))
            shaped[name] = convert(row[index])
        return shaped


def shaper_for(shapers: dict[Hashable, Any], entity: Entity, layout: Layout, catalog: Catalog,
               json_format: JsonFormat, service_root: str) -> RowShaper:
    """The shaper of a plan (`shapers`: the plan's own) for this output format, made once per cached plan."""
    key = (json_format, service_root)
    shaper = shapers.get(key)
    if shaper is None:
        shaper = shapers[key] = RowShaper(entity, layout, catalog, json_format, service_root, generated=True)
    return shaper


def read_one(
    connection: Connection, context: PlanContext, plan: ReadPlan, json_format: JsonFormat, service_root: str = ""
) -> dict[str, Any] | None:
    """The first row of a plan, shaped and expanded, read on a connection the caller owns
    (a write reads its result back inside its own transaction, before a dry run rolls it back)."""
    row = connection.execute(plan.statement).first()
    if row is None:
        return None
    shaped = RowShaper(plan.entity, plan.layout, context.catalog, json_format, service_root)(row)
    for expand in plan.expands:
        _expand(connection, context, expand, plan.layout, [row], [shaped], json_format, service_root)
    if json_format.formatted_values:
        label_lookups(connection, context, plan.entity, [shaped])
    return shaped


class PageReader:
    """One page of a collection, read from the cursor in chunks as the response is written.

    The count and the first chunk are read when the reader is made, so that database errors still
    become proper error responses; the rest streams. Memory holds one chunk, whatever the page size.
    Expanded rows are read on a second connection (a streaming cursor may own the first).
    """

    def __init__(
        self, engine: Engine, context: PlanContext, plan: ReadPlan, json_format: JsonFormat, service_root: str = "",
        budget: ExpandBudget | None = None, references: bool = False,
    ) -> None:
        self.plan = plan
        self.references = references  # .../$ref: each row as its entity reference ({"@odata.id": ...})
        self.budget = budget
        self.context = context
        self.json_format = json_format
        self.service_root = service_root
        self.next_skiptoken: str | None = None
        self._engine = engine
        self._expand_connection: Connection | None = None
        self._rows: RowSource | None = None
        try:
            statement = plan.count_statement
            self.count = None if statement is None else direct.scalar(engine, plan.prepared, "count", statement)
            # Results larger than a default page stream from a server-side cursor (SQLite's streams anyway);
            # a page (of up to 10,000 rows) is held by the driver's client-side cursor: fewer round trips.
            stream = plan.max_rows is None or plan.max_rows > HELD_ROWS
            self._rows = direct.run(engine, plan.prepared, "rows", plan.statement, stream)
            self._first = self._rows.fetchmany(CHUNK_ROWS)
            self._shaper = shaper_for(plan.shapers, plan.entity, plan.layout, context.catalog, json_format,
                                      service_root)
            # The first chunk is expanded now, so that a refused expansion is still an error response.
            room = len(self._first) if plan.page_size is None else plan.page_size
            self._first_shaped = self._shape(self._first[:room]) if plan.expands and self._first else None
        except BaseException:
            self.close()
            raise

    def _shape(self, taken: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
        shape = self._shaper.reference if self.references else self._shaper.shape
        shaped = [shape(row) for row in taken]
        for expand in self.plan.expands:
            _expand(self._expander(), self.context, expand, self.plan.layout, taken, shaped, self.json_format,
                    self.service_root, self.budget)
        if self.json_format.formatted_values:
            label_lookups(self._expander(), self.context, self.plan.entity, shaped)
        return shaped

    def chunks(self) -> Iterator[list[dict[str, Any]]]:
        """Shaped rows, a chunk at a time; sets `next_skiptoken` when the page is full and more rows exist."""
        plan = self.plan
        served = 0
        last_row: Sequence[Any] | None = None
        rows = self._first
        try:
            while rows:
                room = len(rows) if plan.page_size is None else plan.page_size - served
                if room <= 0:  # the row after a full page exists: resume after the last one served
                    self.next_skiptoken = next_token(plan, last_row, self.context.signing_key)
                    break
                taken = rows[:room]
                if served == 0 and self._first_shaped is not None:
                    shaped = self._first_shaped
                else:
                    try:
                        shaped = self._shape(taken)
                    except ResultTooLarge:
                        if last_row is None:
                            raise
                        # Over the expand budget after the first chunk: the page ends here, and its
                        # nextLink resumes after the last row served.
                        self.next_skiptoken = next_token(plan, last_row, self.context.signing_key)
                        break
                served += len(taken)
                last_row = taken[-1]
                yield shaped
                if len(taken) < len(rows):
                    self.next_skiptoken = next_token(plan, last_row, self.context.signing_key)
                    break
                assert self._rows is not None
                rows = self._rows.fetchmany(CHUNK_ROWS)
        finally:
            self.close()

    @property
    def fits_in_first_chunk(self) -> bool:
        """Whether the first fetch already holds the whole page (then streaming would only cost)."""
        page_size = self.plan.page_size
        return len(self._first) < CHUNK_ROWS or (page_size is not None and page_size < CHUNK_ROWS)

    def all_rows(self) -> list[dict[str, Any]]:
        return [row for chunk in self.chunks() for row in chunk]

    def _expander(self) -> Connection:
        if self._expand_connection is None:
            self._expand_connection = self._engine.connect()
        return self._expand_connection

    def close(self) -> None:
        """Close the cursor and give both connections back to the pool (safe to call more than once)."""
        rows, self._rows = self._rows, None
        try:
            if rows is not None:
                rows.close()  # a page that stops early leaves a server-side cursor open
        finally:
            if self._expand_connection is not None and not self._expand_connection.closed:
                self._expand_connection.close()


def label_lookups(connection: Connection, context: PlanContext, entity: Entity, shaped: list[dict[str, Any]]) -> None:
    """Dataverse's lookup annotations, when FormattedValue is asked for: beside each `_x_value` the
    name of the row it points at and that row's table, one query per lookup per chunk."""
    catalog = context.catalog
    for nav in entity.navigation.values():
        target = catalog.entities[nav.target]
        if nav.collection or len(nav.link) != 1 or target.primary_name is None:
            continue
        if not context.access.may(target.entity_set, "read"):
            continue  # a label is a read of the lookup's table: none without its privilege (and no 403)
        (mine, theirs), = nav.link.items()
        ids = {row[mine] for row in shaped if row.get(mine) is not None}
        if not ids:
            continue
        scope = EntityScope(target, context)
        statement = select(scope.column(theirs), scope.column(target.primary_name)).select_from(scope.from_clause())
        names = dict(connection.execute(statement.where(scope.where(), scope.column(theirs).in_(sorted(ids)))).all())
        for index, row in enumerate(shaped):
            if row.get(mine) in names:
                shaped[index] = _before(row, mine, {
                    f"{mine}@{FORMATTED_VALUE}": names[row[mine]],
                    f"{mine}@Microsoft.Dynamics.CRM.lookuplogicalname": target.entity_type,
                })


def _before(row: dict[str, Any], name: str, annotations: dict[str, Any]) -> dict[str, Any]:
    """The row with `annotations` just before property `name` (where OData JSON puts them)."""
    result: dict[str, Any] = {}
    for key, value in row.items():
        if key == name:
            result.update(annotations)
        result[key] = value
    return result


def _expand(
    connection: Connection,
    context: PlanContext,
    plan: ExpandPlan,
    parent_layout: Layout,
    parent_rows: Sequence[Sequence[Any]],
    parent_objects: list[dict[str, Any]],
    json_format: JsonFormat,
    service_root: str,
    budget: ExpandBudget | None = None,
    weights: Sequence[int] | None = None,
    path: str = "",
) -> None:
    """Expand `plan.nav` under the parents. With a budget, every child row counts as often as it will
    be written (`weights`: how often each parent is), before the level below is read."""
    if plan.elsewhere is not None:  # a table of another database: read there, in that service's terms
        with plan.elsewhere.engine.connect() as other:
            _expand(other, plan.elsewhere.context, replace(plan, elsewhere=None), parent_layout, parent_rows,
                    parent_objects, json_format, service_root, budget, weights, path)
        return
    positions = [parent_layout.read.index(name) for name in plan.nav.link_properties]
    links = [tuple(row[position] for position in positions) for row in parent_rows]
    path = f"{path}/{plan.nav.name}" if path else plan.nav.name
    link_weights: dict[tuple[Any, ...], int] = defaultdict(int)
    for link, weight in zip(links, weights if weights is not None else [1] * len(links)):
        link_weights[link] += weight
    unique_links = list(dict.fromkeys(links))
    children: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    counts: dict[tuple[Any, ...], int] = {}
    shaper = shaper_for(plan.shapers, plan.target, plan.layout, context.catalog, json_format, service_root)
    link_start = plan.layout.etag_start + plan.layout.etag_width
    with_count = plan.mode == "count" or bool(plan.options.count)
    for start in range(0, len(unique_links), EXPAND_BATCH):
        batch = unique_links[start : start + EXPAND_BATCH]
        if with_count:
            for row in connection.execute(*child_count_statement(context, plan, batch)):
                counts[tuple(row[:-1])] = row[-1]
        if plan.mode == "count":
            continue  # Nav/$count: the count is all that is asked for
        child_rows = connection.execute(*child_statement(context, plan, batch)).all()
        child_weights = [link_weights[tuple(row[link_start : link_start + len(positions)])] for row in child_rows]
        if budget is not None:
            budget.take(sum(child_weights), path)
        if plan.mode == "ref":
            child_objects = [shaper.reference(row) for row in child_rows]
        else:
            shape = shaper.shape
            child_objects = [shape(row) for row in child_rows]
            for nested in plan.children:
                _expand(connection, context, nested, plan.layout, child_rows, child_objects, json_format, service_root,
                        budget, child_weights, path)
        for row, shaped in zip(child_rows, child_objects):
            children[tuple(row[link_start : link_start + len(positions)])].append(shaped)
    name = plan.nav.name
    for link, shaped_parent in zip(links, parent_objects):
        if with_count and plan.nav.collection:
            shaped_parent[f"{name}@odata.count"] = counts.get(link, 0)
        if plan.mode == "count":
            continue
        matched = children.get(link, [])
        shaped_parent[name] = matched if plan.nav.collection else (matched[0] if matched else None)
