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

from examples.product_catalog.schema import CATEGORY, PRODUCT, metadata

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
    finally:
        engine.dispose()


def _fill(connection: Connection, rng: random.Random, products: int) -> None:
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
    connection.execute(insert(PRODUCT), rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="SQLAlchemy URL of the database to (re)create")
    parser.add_argument("--products", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    arguments = parser.parse_args()
    build_catalog_database(arguments.db, arguments.products, arguments.seed)


if __name__ == "__main__":
    main()
