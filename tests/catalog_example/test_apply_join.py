"""$apply over the example product catalog (a schema unlike F&O's): join through a many-to-many
navigation (a join table), join to a derived type, topcount over decimals, rollup over a complex
property's members; on every backend, against hand-written SQL over the physical tables."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

from starlette.testclient import TestClient

from tests.catalog_example.conftest import sql_rows
from tests.conftest import Backend


def _get(client: TestClient, entity_set: str, params: dict[str, str]) -> dict[str, Any]:
    response = client.get(f"/data/{entity_set}", params=params)
    assert response.status_code == 200, response.text
    return response.json(parse_float=Decimal)  # type: ignore[no-any-return]


def test_join_through_a_join_table(catalog_client: TestClient, catalog_backend: Backend) -> None:
    body = _get(catalog_client, "Products", {
        "$apply": "join(RelatedProducts as Related)", "$select": "ID", "$expand": "Related($select=ID,Name)",
        "$count": "true"})
    pairs = sql_rows(catalog_backend, "SELECT r.product_id, q.product_id, q.name FROM related_product r "
                                  "JOIN product q ON q.product_id = r.related_product_id")
    assert body["@odata.count"] == len(pairs) > 0
    served = Counter((row["ID"], row["Related"]["ID"], row["Related"]["Name"]) for row in body["value"])
    assert served == Counter((str(a), str(b), name) for a, b, name in pairs)
    ids = [row["ID"] for row in body["value"]]
    assert ids == sorted(ids)  # the input rows' order (by key), each followed by its related rows


def test_outerjoin_with_a_count_per_product(catalog_client: TestClient, catalog_backend: Backend) -> None:
    body = _get(catalog_client, "Products", {
        "$apply": "join(RelatedProducts as Related,aggregate($count as N))/groupby((Related/N),aggregate($count as Products))"})
    related = Counter(str(row[0]) for row in sql_rows(catalog_backend, "SELECT product_id FROM related_product"))
    products = [str(row[0]) for row in sql_rows(catalog_backend, "SELECT product_id FROM product")]
    expected = Counter(related.get(product, 0) for product in products)
    assert body["value"] == [{"Related": {"N": n}, "Products": count} for n, count in sorted(expected.items())]
    assert expected[0] > 0  # products without related products count too (aggregate of none: 0)


def test_join_to_a_derived_type(catalog_client: TestClient, catalog_backend: Backend) -> None:
    body = _get(catalog_client, "Categories", {
        "$apply": "join(Products/Example.Catalog.DigitalProduct as Digital)"
                  "/groupby((Name),aggregate(Digital/FileSizeMB with sum as MB,$count as N))"})
    rows = sql_rows(catalog_backend, "SELECT c.name, p.file_size_mb FROM category c JOIN product p "
                                 "ON p.category_id = c.category_id WHERE p.kind = 2")
    expected: dict[str, list[Decimal | None]] = {}
    for name, size in rows:
        expected.setdefault(name, []).append(None if size is None else Decimal(str(size)))
    assert body["value"] == [
        {"Name": name, "MB": sum((s for s in sizes if s is not None), Decimal(0)) if any(s is not None for s in sizes) else None,
         "N": len(sizes)}
        for name, sizes in sorted(expected.items())
    ]


def test_topcount_of_decimals(catalog_client: TestClient, catalog_backend: Backend) -> None:
    body = _get(catalog_client, "Products", {"$apply": "bottomcount(3,Price)", "$select": "ID,Price"})
    prices = sorted((Decimal(str(price)), str(product)) for product, price in
                    sql_rows(catalog_backend, "SELECT product_id, price FROM product"))
    cheapest = sorted(prices[:3], key=lambda pair: pair[1])  # shown in key order
    assert [(row["ID"], row["Price"]) for row in body["value"]] == [(product, price) for price, product in cheapest]


def test_rollup_over_members_of_a_complex_property(catalog_client: TestClient, catalog_backend: Backend) -> None:
    body = _get(catalog_client, "Products", {
        "$apply": "groupby((rollup(Manufacturer/Address/Country,Manufacturer/Address/City)),aggregate($count as N))"})
    rows = sql_rows(catalog_backend, "SELECT mfr_country, mfr_city FROM product")
    cities = Counter(rows)
    countries = Counter(country for country, _ in rows)

    def order(value: str | None) -> tuple[int, str]:
        return (0, "") if value is None else (1, value)

    assert body["value"] == [
        *({"Manufacturer": {"Address": {"Country": country, "City": city}}, "N": n}
          for (country, city), n in sorted(cities.items(), key=lambda item: (order(item[0][0]), order(item[0][1])))),
        *({"Manufacturer": {"Address": {"Country": country}}, "N": n}
          for country, n in sorted(countries.items(), key=lambda item: order(item[0]))),
    ]


def test_join_over_a_complex_collection_is_not_yet_served(catalog_client: TestClient) -> None:
    response = catalog_client.get("/data/Products", params={"$apply": "join(Packages as Package)"})
    assert response.status_code == 501
    assert "collection-valued property Packages" in response.json()["error"]["message"]
