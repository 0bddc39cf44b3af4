"""A composite key in a Guid-keyed service (issue 14): ProductDescriptions, keyed by the product's
Guid and a language code, read, addressed, navigated and written on every backend, compared with
SQL over product_description. The key identifies the row: a write of one description never
touches another description of the same product (same ProductID, same row_version)."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from gateway.catalog.load import CatalogError, load_catalog
from tests.catalog_example.conftest import CATALOG_FOLDER, sql_rows
from tests.conftest import Backend


def _key(product: object, language: str) -> str:
    quoted = language.replace("'", "''")
    return f"ProductDescriptions(ProductID={product},LanguageCode='{quoted}')"


def _product_with_languages(backend: Backend, at_least: int = 2) -> tuple[str, list[str]]:
    """A product with several descriptions, and its language codes."""
    product = sql_rows(backend, "SELECT product_id FROM product_description GROUP BY product_id "
                            "HAVING count(*) >= :n ORDER BY product_id", n=at_least)[0][0]
    languages = [str(row[0]) for row in sql_rows(
        backend, "SELECT language_code FROM product_description WHERE product_id = :p ORDER BY language_code",
        p=product)]
    return str(product), languages


@pytest.fixture
def cleanup(catalog_backend: Backend) -> Iterator[list[tuple[str, str]]]:
    """Descriptions a test creates, deleted afterwards whatever the outcome (the database is shared)."""
    created: list[tuple[str, str]] = []
    yield created
    with catalog_backend.engine.begin() as connection:
        for product, language in created:
            connection.execute(text("DELETE FROM product_description WHERE product_id = :p AND language_code = :l"),
                               {"p": product, "l": language})


# ---------------------------------------------------------------------------------------------- reads
def test_collection_matchessql_rows(catalog_client: TestClient, catalog_backend: Backend) -> None:
    response = catalog_client.get("/data/ProductDescriptions", params={
        "$filter": "LanguageCode eq 'de'", "$orderby": "ProductID", "$count": "true"})
    assert response.status_code == 200, response.text
    expected = sql_rows(catalog_backend, "SELECT product_id, language_code, text FROM product_description "
                                     "WHERE language_code = 'de' ORDER BY product_id")
    body = response.json()
    assert [(row["ProductID"], row["LanguageCode"], row["Text"]) for row in body["value"]] == expected
    assert body["@odata.count"] == len(expected) > 0


def test_key_predicate_reads_one_row(catalog_client: TestClient, catalog_backend: Backend) -> None:
    product, languages = _product_with_languages(catalog_backend)
    for language in languages:
        response = catalog_client.get(f"/data/{_key(product, language)}")
        assert response.status_code == 200, response.text
        body = response.json()
        expected = sql_rows(catalog_backend, "SELECT text, row_version FROM product_description "
                                         "WHERE product_id = :p AND language_code = :l", p=product, l=language)
        assert (body["ProductID"], body["LanguageCode"], body["Text"]) == (product, language, expected[0][0])
        assert body["@odata.context"].endswith("$metadata#ProductDescriptions/$entity")
        assert response.headers["ETag"] == body["@odata.etag"]
    # Named parts in any order; the canonical order in ids and Location headers is the key's.
    swapped = catalog_client.get(f"/data/ProductDescriptions(LanguageCode='{languages[0]}',ProductID={product})")
    assert swapped.status_code == 200 and swapped.json()["LanguageCode"] == languages[0]


def test_key_predicate_mistakes_are_400_or_404(catalog_client: TestClient, catalog_backend: Backend) -> None:
    product, _ = _product_with_languages(catalog_backend)
    bare = catalog_client.get(f"/data/ProductDescriptions({product})")
    assert bare.status_code == 400 and "composite key" in bare.json()["error"]["message"]
    partial = catalog_client.get(f"/data/ProductDescriptions(ProductID={product})")
    assert partial.status_code == 400 and "LanguageCode" in partial.json()["error"]["message"]
    wrong_type = catalog_client.get(f"/data/ProductDescriptions(ProductID='{product}',LanguageCode='en')")
    assert wrong_type.status_code == 400
    missing = catalog_client.get(f"/data/{_key(product, 'xx')}")
    assert missing.status_code == 404


def test_navigation_both_ways_matchessql_rows(catalog_client: TestClient, catalog_backend: Backend) -> None:
    product, languages = _product_with_languages(catalog_backend)
    response = catalog_client.get(f"/data/Products({product})/Descriptions", params={"$orderby": "LanguageCode"})
    assert response.status_code == 200, response.text
    assert response.json()["@odata.context"].endswith("$metadata#ProductDescriptions")
    assert [row["LanguageCode"] for row in response.json()["value"]] == languages
    one = catalog_client.get(f"/data/Products({product})/Descriptions(ProductID={product},LanguageCode='{languages[0]}')")
    assert one.status_code == 200 and one.json()["LanguageCode"] == languages[0]
    count = catalog_client.get(f"/data/Products({product})/Descriptions/$count")
    assert count.text == str(len(languages))
    back = catalog_client.get(f"/data/{_key(product, languages[0])}/Product", params={"$select": "ID,Name"})
    assert back.status_code == 200, back.text
    name = sql_rows(catalog_backend, "SELECT name FROM product WHERE product_id = :p", p=product)[0][0]
    assert (back.json()["ID"], back.json()["Name"]) == (product, name)


def test_expand_both_ways_matchessql_rows(catalog_client: TestClient, catalog_backend: Backend) -> None:
    page = catalog_client.get("/data/Products", params={
        "$select": "ID", "$orderby": "ID", "$top": "40",
        "$expand": "Descriptions($select=LanguageCode,Text;$orderby=LanguageCode)"})
    assert page.status_code == 200, page.text
    rows = sql_rows(catalog_backend, "SELECT p.product_id, d.language_code, d.text FROM product p "
                                 "LEFT JOIN product_description d ON d.product_id = p.product_id")
    expected: dict[str, list[tuple[object, object]]] = {}
    for product, language, description in rows:
        expected.setdefault(str(product), [])
        if language is not None:
            expected[str(product)].append((language, description))
    got = {row["ID"]: [(d["LanguageCode"], d["Text"]) for d in row["Descriptions"]] for row in page.json()["value"]}
    assert got == {product: sorted(expected[product]) for product in got}
    assert any(got.values()) and any(not value for value in got.values())  # products with and without
    reverse = catalog_client.get("/data/ProductDescriptions", params={
        "$filter": "LanguageCode eq 'fr'", "$expand": "Product($select=Name,Price)", "$select": "ProductID"})
    assert reverse.status_code == 200, reverse.text
    names = dict(sql_rows(catalog_backend, "SELECT d.product_id, p.name FROM product_description d "
                                       "JOIN product p ON p.product_id = d.product_id WHERE d.language_code = 'fr'"))
    assert {row["ProductID"]: row["Product"]["Name"] for row in reverse.json()["value"]} == names


def test_filter_through_the_composite_navigation(catalog_client: TestClient, catalog_backend: Backend) -> None:
    response = catalog_client.get("/data/Products", params={
        "$filter": "Descriptions/any(d: d/LanguageCode eq 'pt-BR') and not Descriptions/any(d: d/LanguageCode eq 'en')",
        "$select": "ID"})
    assert response.status_code == 200, response.text
    expected = sql_rows(catalog_backend, """
        SELECT p.product_id FROM product p
        WHERE p.product_id IN (SELECT product_id FROM product_description WHERE language_code = 'pt-BR')
          AND p.product_id NOT IN (SELECT product_id FROM product_description WHERE language_code = 'en')""")
    assert sorted(row["ID"] for row in response.json()["value"]) == sorted(str(row[0]) for row in expected)


# ---------------------------------------------------------------------------------------------- writes
def test_create_needs_every_key_part(catalog_client: TestClient, catalog_backend: Backend,
                                     cleanup: list[tuple[str, str]]) -> None:
    product, _ = _product_with_languages(catalog_backend)
    missing = catalog_client.post("/data/ProductDescriptions", json={"LanguageCode": "it", "Text": "Ciao"})
    assert missing.status_code == 400 and missing.json()["error"]["target"] == "ProductID"
    cleanup.append((product, "it"))
    created = catalog_client.post("/data/ProductDescriptions",
                                  json={"ProductID": product, "LanguageCode": "it", "Text": "Ciao"})
    assert created.status_code == 201, created.text
    assert created.headers["Location"].endswith(f"/data/ProductDescriptions(ProductID={product},LanguageCode='it')")
    assert sql_rows(catalog_backend, "SELECT text, row_version FROM product_description "
                                 "WHERE product_id = :p AND language_code = 'it'", p=product) == [("Ciao", 1)]
    again = catalog_client.post("/data/ProductDescriptions",
                                json={"ProductID": product, "LanguageCode": "it", "Text": "Ancora"})
    assert again.status_code == 409, again.text


def test_update_and_delete_touch_only_their_row(catalog_client: TestClient, catalog_backend: Backend,
                                                cleanup: list[tuple[str, str]]) -> None:
    product, languages = _product_with_languages(catalog_backend)
    cleanup.extend([(product, "o'k"), (product, "zz")])
    for language in ("o'k", "zz"):  # two new siblings, both at row_version 1
        response = catalog_client.post("/data/ProductDescriptions",
                                       json={"ProductID": product, "LanguageCode": language, "Text": language})
        assert response.status_code == 201, response.text
    sibling_rows = "SELECT language_code, text, row_version FROM product_description WHERE product_id = :p " \
                   "AND language_code <> :l ORDER BY language_code"
    before = sql_rows(catalog_backend, sibling_rows, p=product, l="o'k")
    url = "/data/" + _key(product, "o'k")  # ProductDescriptions(ProductID=...,LanguageCode='o''k')
    etag = catalog_client.get(url).headers["ETag"]
    patched = catalog_client.patch(url, json={"Text": "changed"},
                                   headers={"If-Match": etag})
    assert patched.status_code == 204, patched.text
    text_now, version = sql_rows(catalog_backend, "SELECT text, row_version FROM product_description "
                                              "WHERE product_id = :p AND language_code = :l", p=product, l="o'k")[0]
    assert text_now == "changed" and version != 1 and patched.headers["ETag"] != etag
    assert sql_rows(catalog_backend, sibling_rows, p=product, l="o'k") == before  # siblings untouched
    stale = catalog_client.patch(url, json={"Text": "lost"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    replaced = catalog_client.put(url, json={"Text": "whole"})
    assert replaced.status_code == 204, replaced.text
    key_change = catalog_client.patch(url, json={"LanguageCode": "en"})
    assert key_change.status_code == 400
    deleted = catalog_client.delete(f"/data/{_key(product, 'zz')}")
    assert deleted.status_code == 204, deleted.text
    remaining = sql_rows(catalog_backend, "SELECT language_code, text FROM product_description WHERE product_id = :p "
                                      "ORDER BY language_code", p=product)
    assert remaining == sorted([*((lang, t) for lang, t, _ in before if lang != "zz"), ("o'k", "whole")])
    assert {language for language, _ in remaining} == {*languages, "o'k"}


def test_post_through_the_navigation_fills_the_key_part(catalog_client: TestClient, catalog_backend: Backend,
                                                        cleanup: list[tuple[str, str]]) -> None:
    product, _ = _product_with_languages(catalog_backend)
    cleanup.append((product, "nl"))
    created = catalog_client.post(f"/data/Products({product})/Descriptions", json={"LanguageCode": "nl", "Text": "Hoi"})
    assert created.status_code == 201, created.text
    assert created.json()["ProductID"] == product
    assert sql_rows(catalog_backend, "SELECT text FROM product_description WHERE product_id = :p AND language_code = 'nl'",
                p=product) == [("Hoi",)]
    other = str(uuid.uuid4())
    contradicting = catalog_client.post(f"/data/Products({product})/Descriptions",
                                        json={"ProductID": other, "LanguageCode": "nl", "Text": "x"})
    assert contradicting.status_code == 400


# ---------------------------------------------------------------------------------------------- the loader
def _catalog_with(tmp_path: Path, entity_file: str, content: str) -> Path:
    folder = tmp_path / "catalog"
    shutil.copytree(CATALOG_FOLDER, folder, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    (folder / "entities" / entity_file).write_text(content, encoding="utf-8")
    return folder


def _problems(folder: Path) -> list[str]:
    with pytest.raises(CatalogError) as caught:
        load_catalog(folder)
    return [str(problem) for problem in caught.value.problems]


def test_guid_service_loads_composite_keys() -> None:
    catalog = load_catalog(CATALOG_FOLDER)
    descriptions = catalog.entities["ProductDescriptions"]
    assert descriptions.key == ["ProductID", "LanguageCode"]
    assert catalog.row_id_columns(descriptions, descriptions.sources[0]) == ("product_id", "language_code")


def test_guid_service_refuses_a_single_key_that_is_not_a_guid(tmp_path: Path) -> None:
    folder = _catalog_with(tmp_path, "Codes.yaml", """entity_set: Codes
entity_type: Code
sources:
  - {alias: c, table: code}
key: [Code]
properties:
  Code: {column: c.code, type: Edm.String}
""")
    problems = _problems(folder)
    assert any(problem.endswith("Codes.yaml:5: with row_ids: guid a single key is an Edm.Guid property "
                                "(a composite key may mix types)") for problem in problems), problems


def test_guid_service_refuses_a_key_on_a_joined_table(tmp_path: Path) -> None:
    folder = _catalog_with(tmp_path, "Notes.yaml", """entity_set: Notes
entity_type: Note
sources:
  - {alias: n, table: note}
  - {alias: x, table: note_extra, join: inner, link: {note_id: n.note_id}}
key: [NoteID, Part]
properties:
  NoteID: {column: n.note_id, type: Edm.Guid}
  Part: {column: x.part, type: Edm.Int32}
""")
    problems = _problems(folder)
    assert any("Notes.yaml:6: with row_ids: guid the key property Part must be a column of the first source (n)"
               in problem for problem in problems), problems
