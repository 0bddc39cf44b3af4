"""Run an $apply plan: its count, then its rows streamed in chunks and shaped into JSON objects.

Aggregated rows are not entities: no @odata.etag, no key. Each column is written with the converter
of its Edm type (decimals as exact JSON numbers, counts as integers, enums as member names), at its
path: grouping through navigation nests (`{"SalesOrderHeader": {"OrderingCustomerAccountNumber": ...}}`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Engine

from gateway import direct
from gateway.catalog.model import Catalog
from gateway.direct import RowSource
from gateway.execute import CHUNK_ROWS, HELD_ROWS
from gateway.plan.apply import ApplyPlan, ResultColumn, RowShape
from gateway.serialize.values import JsonFormat, converter


class ResultShaper:
    """One result row → its JSON object, nested along the columns' paths.

    Rows of concat (and rollup) differ in structure: a row leaves out the properties its variant
    does not have. After outerjoin, an alias whose marker column is null is written as null.
    """

    def __init__(self, columns: Sequence[ResultColumn], catalog: Catalog, json_format: JsonFormat,
                 shape: RowShape | None = None) -> None:
        self.columns = [(column.path, converter(column.type, catalog, json_format)) for column in columns]
        self.shape = shape or RowShape()

    def __call__(self, row: Sequence[Any]) -> dict[str, Any]:
        shaped: dict[str, Any] = {}
        shape = self.shape
        present = None if shape.variant_column is None else shape.variants[int(row[shape.variant_column])]
        nulls = [prefix for prefix, column in shape.null_groups if row[column] is None]
        for index, ((path, convert), value) in enumerate(zip(self.columns, row)):
            if present is not None and index not in present:
                continue
            null_prefix = next((prefix for prefix in nulls if path[: len(prefix)] == prefix), None)
            if null_prefix is not None:
                path, value, convert = null_prefix, None, _none
            target = shaped
            for name in path[:-1]:
                target = target.setdefault(name, {})
                if target is None:  # below an alias that is null
                    break
            else:
                target[path[-1]] = convert(value)
        return shaped


def _none(value: Any) -> None:
    return None


class ApplyReader:
    """One page of an $apply result, read from the cursor a chunk at a time as the response is written.

    The count and the first chunk are read when the reader is made, so that database errors still
    become error responses; `next_skip` is set once a full page turns out to have a successor.
    """

    def __init__(self, engine: Engine, catalog: Catalog, plan: ApplyPlan, json_format: JsonFormat) -> None:
        self.plan = plan
        self.next_skip: int | None = None
        self._shape = ResultShaper(plan.columns, catalog, json_format, plan.shape)
        self._rows: RowSource | None = None
        try:
            statement = plan.count_statement
            self.count: int | None = None if statement is None else direct.scalar(engine, plan.prepared, "count", statement)
            # Pages are bounded (page size + 1 rows; without a page size, $top within it): held unless large.
            stream = plan.page_size is not None and plan.page_size + 1 > HELD_ROWS
            self._rows = direct.run(engine, plan.prepared, "rows", plan.statement, stream)
            self._first = self._rows.fetchmany(CHUNK_ROWS)
        except BaseException:
            self.close()
            raise

    def chunks(self) -> Iterator[list[dict[str, Any]]]:
        page_size = self.plan.page_size
        served = 0
        rows = self._first
        try:
            while rows:
                room = len(rows) if page_size is None else page_size - served
                taken = rows[: max(room, 0)]
                if taken:
                    yield [self._shape(row) for row in taken]
                served += len(taken)
                if len(taken) < len(rows):  # the row after a full page exists
                    self.next_skip = self.plan.next_skip
                    break
                assert self._rows is not None
                rows = self._rows.fetchmany(CHUNK_ROWS)
        finally:
            self.close()

    @property
    def fits_in_first_chunk(self) -> bool:
        """Whether the first fetch already holds every row (then streaming would only cost)."""
        return len(self._first) < CHUNK_ROWS

    def close(self) -> None:
        """Close the cursor (a server-side one on PostgreSQL) and give the connection back to the pool
        (safe to call more than once)."""
        rows, self._rows = self._rows, None
        if rows is not None:
            rows.close()
