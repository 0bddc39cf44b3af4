"""Fill the example product catalog's tables with deterministic rows.

    python -m examples.product_catalog.generate --db sqlite:///catalog.db [--products 200]
    fno-gateway serve --db sqlite:///catalog.db --entities examples/product_catalog --events none

The same seed always gives the same rows; Guids come from the seeded generator too.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import uuid
from decimal import Decimal

from sqlalchemy import Connection, create_engine, insert

from examples.product_catalog.relations import fill_relations
from examples.product_catalog.schema import CATEGORY, COMPANY, MEDIA_ITEM, PRODUCT, metadata
from examples.product_catalog.structured import add_structured_values
from gateway.edm import to_single

CATEGORY_NAMES = ("Beverages", "Books", "Cameras", "Garden", "Kitchen", "Music", "Outdoor", "Toys")
ADJECTIVES = ("Classic", "Compact", "Deluxe", "Eco", "Mini", "Pro", "Smart", "Ultra")
NOUNS = ("Bottle", "Camera", "Chair", "Guide", "Kettle", "Lamp", "Speaker", "Tent", "Train")
EPOCH = dt.date(2020, 1, 1)


def _guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def build_catalog_database(url: str, products: int = 200, seed: int = 7) -> None:
    """Drop, re-create and fill every table of the example on the SQLAlchemy `url`."""
    engine = create_engine(url)
    try:
        metadata.drop_all(engine)
        metadata.create_all(engine)
        with engine.begin() as connection:
            _fill(connection, random.Random(seed), products)
            fill_relations(connection, random.Random(seed * 7919 + 1))  # (relations.py)
    finally:
        engine.dispose()


COMPANY_ID = "7f0c9a52-3b1e-4d6a-9c2f-1e5b8d4a6c01"


def _fill(connection: Connection, rng: random.Random, products: int) -> None:
    connection.execute(insert(COMPANY), [{"company_id": COMPANY_ID, "name": "Contoso Supplies",
                                          "currency_code": "EUR", "vat_rate": Decimal("0.2"), "row_version": 1}])
    categories = [{"category_id": _guid(rng), "name": name, "row_version": 1} for name in CATEGORY_NAMES]
    connection.execute(insert(CATEGORY), categories)
    rows = []
    for index in range(products):
        category = rng.choice(categories)
        rows.append({
            "product_id": _guid(rng),
            "name": f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {index + 1}",
            "description": None if rng.random() < 0.2 else f"A {rng.choice(ADJECTIVES).lower()} thing",
            "price": Decimal(rng.randrange(99, 99_999)) / 100,
            "release_date": None if rng.random() < 0.1 else EPOCH + dt.timedelta(days=rng.randrange(2000)),
            "modified_at": dt.datetime(2026, 1, 1) + dt.timedelta(seconds=rng.randrange(10_000_000)),
            "category_id": None if rng.random() < 0.05 else category["category_id"],
            "row_version": 1,
        })
    _add_typed_values(rows, random.Random(seed_of_types(rng)))
    add_structured_values(rows, random.Random(f"structured {len(rows)}"))  # (structured.py: its own generator)
    for index, row in enumerate(rows):  # no draws here: the values above stay as they were
        # A photo for every tenth product; every seventh is a DigitalProduct (kind 2).
        digital = index % 7 == 3
        row.update({"photo": f"PNG photo of product {index + 1}".encode() if index % 10 == 0 else None,
                    "photo_type": "image/png" if index % 10 == 0 else None,
                    "kind": 2 if digital else 1,
                    "download_url": f"https://downloads.example.com/p{index + 1}.zip" if digital else None,
                    "file_size_mb": Decimal(index * 3 % 500) / 4 + 1 if digital else None})
    connection.execute(insert(PRODUCT), rows)
    connection.execute(insert(MEDIA_ITEM), [
        {"media_id": f"00000000-0000-4000-8000-00000000000{number}", "title": f"Brochure {number}",
         "content": f"%PDF-1.7 brochure {number}".encode(), "content_type": "application/pdf", "row_version": 1}
        for number in range(1, 4)])


def seed_of_types(rng: random.Random) -> int:
    """The seed of the typed columns' own generator: drawn after every other value, so adding those
    columns changed none of the values the rows had before."""
    return rng.getrandbits(32)


def _add_typed_values(rows: list[dict[str, object]], rng: random.Random) -> None:
    """One value of each remaining primitive type per product (Int16 to Binary, a flags enum)."""
    for index, row in enumerate(rows):
        row.update({
            "stock_level": rng.randrange(-20, 3000),  # Int16: a backorder is negative
            "rating": None if rng.random() < 0.1 else rng.randrange(0, 6),  # Byte
            "min_temperature": rng.randrange(-40, 30),  # SByte, in degrees
            # Single: rounded to binary32 here, so SQLite's 8-byte REAL holds what a 4-byte one would.
            "weight": None if rng.random() < 0.1 else to_single(rng.randrange(1, 5000) / 100),
            "shelf_life": None if rng.random() < 0.2  # Duration, in seconds, some to the millisecond
            else Decimal(rng.randrange(3600, 3 * 365 * 86400)) + Decimal(rng.choice((0, 0, 250, 500))) / 1000,
            "thumbnail": None if rng.random() < 0.3 else rng.randbytes(rng.randrange(0, 24)),
            "opens_at": None if rng.random() < 0.2 else dt.time(rng.randrange(6, 11), rng.choice((0, 15, 30, 45))),
            "sku": f"SKU-{index + 1:06d}",  # the Sku type definition: at most 12 characters
            # ProductStatus flags: InStock=1, OnSale=2, Discontinued=4 (0: none, 3: in stock and on sale)
            "status": rng.choice((0, 1, 1, 1, 2, 3, 3, 4, 5)),
        })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="SQLAlchemy URL of the database to (re)create")
    parser.add_argument("--products", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    arguments = parser.parse_args()
    build_catalog_database(arguments.db, arguments.products, arguments.seed)


if __name__ == "__main__":
    main()
