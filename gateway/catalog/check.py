"""Check a catalog against a live database: every table, column and type it maps must be there."""

from __future__ import annotations

from sqlalchemy import Engine, inspect
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
            versions = (catalog.row_id(entity, source), catalog.service.row_version) if catalog.service.row_version else ()
            needed = {*versions, *source.link, *source.where}
            for name in sorted(needed):
                if name.upper() not in columns_of[actual]:
                    problems.append(f"{where}: column {source.table}.{name} does not exist")
        for prop in entity.properties.values():
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
    return problems
