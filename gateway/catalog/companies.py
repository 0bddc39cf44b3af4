"""The companies a database holds, from the table the catalog names (F&O: DATAAREA)."""

from __future__ import annotations

from sqlalchemy import Engine, column, select
from sqlalchemy import table as table_clause
from sqlalchemy.sql.elements import ColumnClause

from gateway.catalog.model import Catalog


def database_companies(catalog: Catalog, engine: Engine) -> tuple[str, ...] | None:
    """Every company id, lower-case and sorted; None when the catalog names no company table."""
    table = catalog.service.companies
    if table is None:
        return None
    company: ColumnClause[str] = column(table.column)
    statement = select(company).select_from(table_clause(table.table, company)).order_by(company)
    with engine.connect() as connection:
        return tuple(str(row[0]).lower() for row in connection.execute(statement))
