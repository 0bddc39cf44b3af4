"""Values of the example's complex and collection-valued properties: a manufacturer with a nested
address, a size, tags, scores and package dimensions (service.yaml complex_types, entities/Products.yaml).

Drawn from a generator of their own, so that adding them changed none of the other values the seed gives.
"""

from __future__ import annotations

import random
from decimal import Decimal

MANUFACTURERS = ("Acme", "Globex", "Initech", "Umbrella", "Wonka")
CITIES = (("Paris", "FR"), ("Lyon", "FR"), ("Berlin", "DE"), ("Porto", "PT"), ("Austin", "US"))
TAGS = ("eco", "new", "sale", "gift", "outdoor", "kids", "premium")


def _centimetres(rng: random.Random) -> Decimal:
    return Decimal(rng.randrange(50, 20_000)) / 100


def add_structured_values(rows: list[dict[str, object]], rng: random.Random) -> None:
    for row in rows:
        row.update({"mfr_name": None, "mfr_street": None, "mfr_city": None, "mfr_postal_code": None,
                    "mfr_country": None})
        if rng.random() < 0.8:  # the others have no manufacturer at all (every column null)
            row["mfr_name"] = rng.choice(MANUFACTURERS)
            if rng.random() < 0.8:  # and some have one without an address
                city, country = rng.choice(CITIES)
                row.update({"mfr_city": city, "mfr_country": country,
                            "mfr_street": None if rng.random() < 0.2 else f"{rng.randrange(1, 200)} Main Street",
                            "mfr_postal_code": None if rng.random() < 0.3 else f"{rng.randrange(10000, 99999)}"})
        row.update({"height": _centimetres(rng), "width": _centimetres(rng), "depth": _centimetres(rng)})
        # JSON arrays (NULL for a few rows: read as the empty collection); decimals as JSON numbers.
        row["tags"] = None if rng.random() < 0.1 else rng.sample(TAGS, rng.randrange(0, 5))
        row["scores"] = [rng.randrange(0, 101) for _ in range(rng.randrange(0, 6))]
        row["packages"] = [{"Height": float(_centimetres(rng)), "Width": float(_centimetres(rng)),
                            "Depth": float(_centimetres(rng))} for _ in range(rng.choice((0, 1, 1, 2, 3)))]
