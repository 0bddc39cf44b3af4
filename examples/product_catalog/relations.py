"""Rows of the example's relation tables: descriptions per language and related products.

Drawn from a generator of their own, after the products exist, so that adding them changed none
of the other rows the seed gives.
"""

from __future__ import annotations

import random

from sqlalchemy import Connection, insert, select

from examples.product_catalog.schema import PRODUCT, PRODUCT_DESCRIPTION, RELATED_PRODUCT

LANGUAGES = ("en", "de", "fr", "pt-BR")


def fill_relations(connection: Connection, rng: random.Random) -> None:
    products = connection.execute(select(PRODUCT.c.product_id, PRODUCT.c.name).order_by(PRODUCT.c.product_id)).all()
    descriptions: list[dict[str, object]] = []
    related: list[dict[str, object]] = []
    ids = [product_id for product_id, _ in products]
    for product_id, name in products:
        for language in LANGUAGES:
            if rng.random() < (0.9 if language == "en" else 0.35):
                descriptions.append({"product_id": product_id, "language_code": language,
                                     "text": f"{name} [{language}] #{rng.randrange(1000)}", "row_version": 1})
        # Up to three related products, never the product itself; the relation has a direction.
        others = rng.sample([other for other in ids if other != product_id], rng.choice((0, 0, 1, 2, 3)))
        related.extend({"product_id": product_id, "related_product_id": other} for other in others)
    if descriptions:
        connection.execute(insert(PRODUCT_DESCRIPTION), descriptions)
    if related:
        connection.execute(insert(RELATED_PRODUCT), related)
