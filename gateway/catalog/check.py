"""Check a catalog against a live database: every table, column and type it maps must be there."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, column, inspect, select, table
from sqlalchemy import types as sqltypes

from gateway.catalog.model import Catalog

# Which reflected column types can carry each Edm type (enums are stored as integers).
_COMPATIBLE: dict[str, tuple[type, ...]] = {
    "Edm.String": (sqltypes.String, sqltypes.Text),
    "Edm.Guid": (sqltypes.String, sqltypes.Uuid),
    "Edm.Int32": (sqltypes.Integer,),
    "Edm.Int64": (sqltypes.Integer,),
    "Edm.Decimal": (sqltypes.Numeric, sqltypes.Integer),
    "Edm.Double": (sqltypes.Float, sqltypes.Numeric),
    "Edm.Boolean": (sqltypes.Boolean, sqltypes.Integer),
    "Edm.Date": (sqltypes.Date, sqltypes.DateTime),
    "Edm.DateTimeOffset": (sqltypes.DateTime,),
    "Edm.TimeOfDay": (sqltypes.Time,),
    "Edm.Int16": (sqltypes.Integer,),
    "Edm.Byte": (sqltypes.Integer,),
    "Edm.SByte": (sqltypes.Integer,),
    "Edm.Single": (sqltypes.Float, sqltypes.Numeric),
    "Edm.Duration": (sqltypes.Integer, sqltypes.Numeric),  # seconds (gateway/edm.py)
    # BLOB, bytea, VARBINARY, MariaDB's LONGBLOB (which is not a LargeBinary): every bytes type.
    "Edm.Binary": (sqltypes._Binary,),
    "Edm.Stream": (sqltypes._Binary,),
}


def check_catalog(catalog: Catalog, engine: Engine) -> list[str]:
    """Every mismatch between the catalog and the database, as readable lines (empty when all is well)."""
    inspector = inspect(engine)
    tables = {name.upper(): name for name in inspector.get_table_names()}
    columns_of: dict[str, dict[str, sqltypes.TypeEngine[object]]] = {}
    problems: list[str] = []
    for entity in catalog.entities.values():
        where = f"{entity.entity_set}"
        for source in entity.sources:
            actual = tables.get(source.table.upper())
            if actual is None:
                problems.append(f"{where}: table {source.table} does not exist")
                continue
            if actual not in columns_of:
                columns_of[actual] = {column["name"].upper(): column["type"] for column in inspector.get_columns(actual)}
            versions = ((*catalog.row_id_columns(entity, source), catalog.service.row_version)
                        if catalog.service.row_version else ())
            needed = {*versions, *source.link, *source.where}
            if entity.writable:  # the columns its creates and updates fill without a property
                needed |= {*source.defaults, *source.on_update, *source.sequences}
            for name in sorted(needed):
                if name.upper() not in columns_of[actual]:
                    problems.append(f"{where}: column {source.table}.{name} does not exist")
        for prop in (*entity.properties.values(), *entity.members.values()):  # (complex members: columns too)
            source = entity.source_by_alias[prop.alias]
            actual = tables.get(source.table.upper())
            if actual is None:
                continue
            column_type = columns_of[actual].get(prop.column_name.upper())
            if column_type is None:
                problems.append(f"{where}.{prop.name}: column {source.table}.{prop.column_name} does not exist")
                continue
            edm = "Edm.Int32" if catalog.is_enum(prop.type) else prop.type
            if not isinstance(column_type, _COMPATIBLE[edm]):
                problems.append(
                    f"{where}.{prop.name}: column {source.table}.{prop.column_name} is {column_type}, "
                    f"which cannot hold {prop.type}"
                )
            length = getattr(column_type, "length", None)
            if prop.max_length is not None and length is not None and length < prop.max_length:
                problems.append(
                    f"{where}.{prop.name}: MaxLength {prop.max_length} exceeds {source.table}.{prop.column_name} "
                    f"length {length}"
                )
    sequences = catalog.service.sequences
    if sequences is not None and any(entity.writable for entity in catalog.entities.values()):
        actual = tables.get(sequences.table.upper())
        if actual is None:
            problems.append(f"service: the sequence table {sequences.table} does not exist (writes take row ids from it)")
        else:
            present = {column["name"].upper() for column in inspector.get_columns(actual)}
            missing = [name for name in (sequences.name_column, sequences.value_column) if name.upper() not in present]
            problems.extend(f"service: column {sequences.table}.{name} of the sequence table does not exist"
                            for name in missing)
            if not missing:
                problems.extend(_missing_sequences(catalog, engine, actual))
    problems.extend(_join_table_problems(catalog, inspector, tables))
    problems.extend(_json_column_problems(catalog, inspector, tables))
    return problems


def _json_column_problems(catalog: Catalog, inspector: Any, tables: dict[str, str]) -> list[str]:
    """Collection-valued properties: each JSON column must exist and hold text or JSON (jsonb, JSON)."""
    problems: list[str] = []
    for entity in catalog.entities.values():
        for prop in entity.structured.values():
            if not prop.collection or prop.column is None:
                continue
            alias, name = prop.column.split(".", 1)
            source = entity.source_by_alias[alias]
            actual = tables.get(source.table.upper())
            if actual is None:
                continue
            types = {column["name"].upper(): column["type"] for column in inspector.get_columns(actual)}
            column_type = types.get(name.upper())
            if column_type is None:
                problems.append(f"{entity.entity_set}.{prop.name}: column {source.table}.{name} does not exist")
            elif not isinstance(column_type, (sqltypes.JSON, sqltypes.String, sqltypes.Text)):
                problems.append(f"{entity.entity_set}.{prop.name}: column {source.table}.{name} is {column_type}, "
                                "which cannot hold a JSON array")
    return problems


def _missing_sequences(catalog: Catalog, engine: Engine, actual: str) -> list[str]:
    """The sequences writes number from (RECID, and each source's own) that have no row to count in."""
    spec = catalog.service.sequences
    assert spec is not None
    wanted: dict[str, str] = {}  # sequence name -> the entity set that needs it
    for entity in catalog.entities.values():
        if not entity.writable:
            continue
        for index, source in enumerate(entity.sources):
            if not (catalog.service.row_ids == "guid" and index == 0):
                wanted.setdefault("RECID", entity.entity_set)
            for numbered in source.sequences.values():
                wanted.setdefault(numbered.name, entity.entity_set)
    sequence_table = table(actual, column(spec.name_column))
    with engine.connect() as connection:
        present = {str(name) for name in connection.execute(select(sequence_table.c[spec.name_column])).scalars()}
    return [f"{entity_set}: the sequence table {spec.table} has no row {name!r} (its creates number from it)"
            for name, entity_set in sorted(wanted.items()) if name not in present]


def _join_table_problems(catalog: Catalog, inspector: Any, tables: dict[str, str]) -> list[str]:
    """Many-to-many navigation: its join table and the columns it pairs rows by must exist."""
    problems: list[str] = []
    for entity in catalog.entities.values():
        for nav in entity.navigation.values():
            if nav.through is None:
                continue
            where = f"{entity.entity_set}.{nav.name}"
            actual = tables.get(nav.through.table.upper())
            if actual is None:
                problems.append(f"{where}: join table {nav.through.table} does not exist")
                continue
            present = {column["name"].upper() for column in inspector.get_columns(actual)}
            needed = {*nav.through.link.values(), *nav.through.target_link.values(), *nav.through.where}
            problems.extend(f"{where}: column {nav.through.table}.{name} does not exist"
                            for name in sorted(needed) if name.upper() not in present)
    return problems
