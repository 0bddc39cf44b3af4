"""The unit of work: one connection, one transaction, for a write and everything that goes with it.

A request's writes (or a whole $batch change set) share one WriteUnit. It commits once at the end,
or rolls everything back on any failure, or on purpose for a dry run (`Prefer: tx=rollback`).
Numbers (RECIDs, party numbers) come from SYSTEMSEQUENCES inside the same transaction.
"""

from __future__ import annotations

import datetime as dt
from types import TracebackType

from sqlalchemy import BigInteger, Connection, Engine, String, column, select, table, update

from gateway.catalog.model import Catalog
from gateway.errors import ServiceMisconfigured


class WriteUnit:
    def __init__(self, engine: Engine, catalog: Catalog, dry_run: bool = False) -> None:
        self.catalog = catalog
        self.dry_run = dry_run
        self.now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
        self.connection: Connection = engine.connect()
        self._transaction = self.connection.begin()

    def __enter__(self) -> WriteUnit:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        try:
            if kind is None and not self.dry_run:
                self._transaction.commit()
            else:
                self._transaction.rollback()
        finally:
            self.connection.close()

    def allocate(self, name: str, count: int = 1) -> int:
        """The first of `count` fresh numbers of sequence `name`."""
        spec = self.catalog.service.sequences
        if spec is None:
            raise ServiceMisconfigured("the catalog names no sequence table (service.yaml: sequences)")
        sequences = table(spec.table, column(spec.name_column, String()), column(spec.value_column, BigInteger()))
        name_column, value_column = sequences.c[spec.name_column], sequences.c[spec.value_column]
        # The UPDATE takes the row lock first, so concurrent writers never get the same numbers.
        bumped = self.connection.execute(
            update(sequences).where(name_column == name).values({spec.value_column: value_column + count})
        )
        if bumped.rowcount != 1:
            raise ServiceMisconfigured(f"{spec.table} has no row for the sequence {name}")
        after = self.connection.execute(select(value_column).where(name_column == name)).scalar_one()
        return int(after) - count
