"""An operation's SQL with its named parameters bound, each typed as its Edm type (drivers such as
sqlite3 take no Decimal unless SQLAlchemy's type converts it)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import TextClause, bindparam, text

from gateway.catalog.model import Catalog
from gateway.plan.types import sql_type

# (name, value, Edm type) of each named parameter: hashable, so it can be part of a plan's cache key.
Parameters = tuple[tuple[str, Any, str], ...]


def bound_sql(catalog: Catalog, sql: str, parameters: Parameters) -> TextClause:
    return text(sql).bindparams(*(bindparam(name, value, type_=sql_type(type_name, catalog))
                                  for name, value, type_name in parameters))
