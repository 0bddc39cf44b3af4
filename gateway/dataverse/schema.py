"""The Dataverse-side store's physical tables, made from its catalog.

Dataverse tables are native: one table per entity, one column per property. So the catalog is the
schema, and this module only turns it into DDL: a Guid primary key, a row version, the alternate
keys as unique constraints and an index on every lookup column.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Float,
    Index,
    MetaData,
    Numeric,
    String,
    Table,
    UniqueConstraint,
    insert,
    select,
)
from sqlalchemy.types import TypeEngine

from gateway.catalog.model import Catalog, Property
from gateway.plan.types import sql_type

GUID_LENGTH = 36


def column_type(prop: Property, catalog: Catalog) -> TypeEngine[Any]:
    if prop.type == "Edm.Guid":
        return String(GUID_LENGTH)
    if prop.type == "Edm.String":
        return String(prop.max_length or 4000)
    if prop.type == "Edm.Decimal":
        return Numeric(prop.precision or 32, prop.scale or 6)
    if prop.type == "Edm.Duration":  # seconds: whole, or with `precision` fractional digits (gateway/edm.py)
        return Numeric(18 + prop.precision, prop.precision) if prop.precision else BigInteger()
    if prop.type == "Edm.Single":
        return Float(24)  # binary32: REAL on PostgreSQL, FLOAT on MariaDB
    return sql_type(prop.type, catalog)


def store_metadata(catalog: Catalog) -> MetaData:
    """The store's tables (built once per catalog: catalogs are immutable)."""
    cached = _BUILT.get(id(catalog))
    if cached is None or cached[0] is not catalog:
        cached = _BUILT[id(catalog)] = (catalog, _build(catalog))
    return cached[1]


_BUILT: dict[int, tuple[Catalog, MetaData]] = {}


def _build(catalog: Catalog) -> MetaData:
    metadata = MetaData()
    version = catalog.service.row_version
    for entity in catalog.entities.values():
        source = entity.sources[0]
        key_column = catalog.row_id(entity, source)
        columns = [
            Column(prop.column_name, column_type(prop, catalog), primary_key=prop.column_name == key_column,
                   nullable=prop.nullable or prop.column_name == key_column)
            for prop in entity.properties.values()
        ]
        table = Table(source.table, metadata, *columns, Column(version, BigInteger, nullable=False))
        for names in entity.alternate_keys:
            columns_of_key = [entity.properties[name].column_name for name in names]
            table.append_constraint(UniqueConstraint(*columns_of_key, name=f"ak_{source.table}_{'_'.join(names)}"[:60]))
        for name, prop in entity.properties.items():
            if name.startswith("_") and name.endswith("_value"):  # a lookup: joins and $expand use it
                Index(f"ix_{source.table}_{prop.column_name}"[:60], table.c[prop.column_name])
    spec = catalog.service.sequences
    if spec is not None:
        Table(spec.table, metadata, Column(spec.name_column, String(40), primary_key=True),
              Column(spec.value_column, BigInteger, nullable=False))
    return metadata


def create_store(engine: Engine, catalog: Catalog) -> None:
    """Create the store's tables that do not exist yet, and start every autonumber sequence at 1."""
    metadata = store_metadata(catalog)
    metadata.create_all(engine)
    spec = catalog.service.sequences
    if spec is None:
        return
    sequences = metadata.tables[spec.table]
    names = {sequence.name for entity in catalog.entities.values() for source in entity.sources
             for sequence in source.sequences.values()}
    with engine.begin() as connection:
        present = set(connection.execute(select(sequences.c[spec.name_column])).scalars())
        for name in sorted(names - present):
            connection.execute(insert(sequences).values({spec.name_column: name, spec.value_column: 1}))
