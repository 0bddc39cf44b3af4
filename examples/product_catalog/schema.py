"""The physical tables of the example product catalog, as SQLAlchemy Core metadata.

Only the generator and the tests use this module: the gateway serves the tables through the catalog
folder beside it (service.yaml, entities/) and never imports it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Column, Date, DateTime, Index, MetaData, Numeric, String, Table

metadata = MetaData()

# Byte-order comparison on MariaDB, as on the other two (OData's `eq` is case-sensitive).
TABLE_OPTIONS: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_nopad_bin"}
GUID = String(36)


def _row_version() -> Column[Any]:
    return Column("row_version", BigInteger, nullable=False, default=1)


CATEGORY = Table(
    "category",
    metadata,
    Column("category_id", GUID, primary_key=True),
    Column("name", String(60), nullable=False),
    _row_version(),
    **TABLE_OPTIONS,
)

PRODUCT = Table(
    "product",
    metadata,
    Column("product_id", GUID, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("description", String(1000)),
    Column("price", Numeric(12, 2), nullable=False),
    Column("release_date", Date),
    Column("modified_at", DateTime),
    Column("category_id", GUID),
    _row_version(),
    Index("ix_product_category", "category_id"),
    **TABLE_OPTIONS,
)
