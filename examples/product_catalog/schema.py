"""The physical tables of the example product catalog, as SQLAlchemy Core metadata.

Only the generator and the tests use this module: the gateway serves the tables through the catalog
folder beside it (service.yaml, entities/) and never imports it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Table,
    Time,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

# Byte-order comparison on MariaDB, as on the other two (OData's `eq` is case-sensitive).
TABLE_OPTIONS: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_nopad_bin"}
GUID = String(36)
# A collection-valued property's column: jsonb on PostgreSQL, JSON (LONGTEXT checked by json_valid) on
# MariaDB, JSON text on SQLite.
JSON_ARRAY = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


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
    # One column of each remaining primitive type; defaults keep inserts that do not name them valid.
    Column("stock_level", SmallInteger, nullable=False, server_default="0"),
    Column("rating", SmallInteger),
    Column("min_temperature", SmallInteger, nullable=False, server_default="0"),
    Column("weight", Float(24)),  # binary32: REAL on PostgreSQL, FLOAT on MariaDB
    Column("shelf_life", Numeric(15, 3)),  # seconds
    Column("thumbnail", LargeBinary),
    Column("opens_at", Time),
    Column("sku", String(12), nullable=False, server_default=""),
    Column("status", Integer, nullable=False, server_default="0"),  # ProductStatus flags
    # The derived type DigitalProduct: kind 2, with a download URL and a file size.
    Column("kind", Integer, nullable=False, server_default="1"),
    Column("download_url", String(200)),
    Column("file_size_mb", Numeric(10, 2)),
    # A stream property (Photo) and the media type its last PUT gave.
    Column("photo", LargeBinary(2**24)),
    Column("photo_type", String(100)),
    # The complex property Manufacturer (its Address nested) and Size: one column per member.
    Column("mfr_name", String(100)),
    Column("mfr_street", String(100)),
    Column("mfr_city", String(60)),
    Column("mfr_postal_code", String(10)),
    Column("mfr_country", String(2)),
    Column("height", Numeric(8, 2), nullable=False, server_default="0"),
    Column("width", Numeric(8, 2), nullable=False, server_default="0"),
    Column("depth", Numeric(8, 2), nullable=False, server_default="0"),
    # Collection-valued properties: JSON arrays (Tags, Scores, Packages of Dimensions values).
    Column("tags", JSON_ARRAY),
    Column("scores", JSON_ARRAY),
    Column("packages", JSON_ARRAY),
    _row_version(),
    Index("ix_product_category", "category_id"),
    **TABLE_OPTIONS,
)

# The one row behind the Company singleton.
COMPANY = Table(
    "company_profile",
    metadata,
    Column("company_id", GUID, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("currency_code", String(3), nullable=False),
    Column("vat_rate", Numeric(5, 4), nullable=False),
    _row_version(),
    **TABLE_OPTIONS,
)

# Descriptions per language: a composite key (a product's Guid and a language code) in a Guid service.
PRODUCT_DESCRIPTION = Table(
    "product_description",
    metadata,
    Column("product_id", GUID, primary_key=True),
    Column("language_code", String(10), primary_key=True),
    Column("text", String(2000), nullable=False),
    _row_version(),
    **TABLE_OPTIONS,
)

# Related products: a join table, one row per (product, related product) pair (Products.RelatedProducts).
RELATED_PRODUCT = Table(
    "related_product",
    metadata,
    Column("product_id", GUID, primary_key=True),
    Column("related_product_id", GUID, primary_key=True),
    Index("ix_related_product_related", "related_product_id"),
    **TABLE_OPTIONS,
)

# Media entities: each row's bytes are the entity's media resource (/MediaItems(ID)/$value).
MEDIA_ITEM = Table(
    "media_item",
    metadata,
    Column("media_id", GUID, primary_key=True),
    Column("title", String(100)),
    Column("content", LargeBinary(2**24), nullable=False),
    Column("content_type", String(100), nullable=False),
    _row_version(),
    **TABLE_OPTIONS,
)
