"""Stream properties (Products.Photo) and media entities (MediaItems), against SQL over their tables."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.catalog_example.conftest import sql_rows
from tests.conftest import Backend, bearer


def _one(backend: Backend, statement: str, **parameters: object) -> tuple[object, ...] | None:
    rows = sql_rows(backend, statement, **parameters)
    return rows[0] if rows else None


def _product_with_photo(backend: Backend, has_photo: bool) -> str:
    condition = "photo IS NOT NULL" if has_photo else "photo IS NULL"
    row = _one(backend, f"SELECT product_id FROM product WHERE {condition} ORDER BY product_id")
    assert row is not None
    return str(row[0])


def test_stream_property_is_read_at_its_url_and_not_in_the_entity(catalog_client: TestClient,
                                                                  catalog_backend: Backend) -> None:
    product = _product_with_photo(catalog_backend, True)
    photo, media_type = _one(catalog_backend, "SELECT photo, photo_type FROM product WHERE product_id = :id",
                             id=product) or (None, None)
    response = catalog_client.get(f"/data/Products({product})/Photo")
    assert response.status_code == 200, response.text
    assert response.content == bytes(photo) and response.headers["content-type"] == media_type  # type: ignore[arg-type]
    entity = catalog_client.get(f"/data/Products({product})")
    assert "Photo" not in entity.json() and entity.json()["PhotoType"] == media_type
    assert response.headers["ETag"] == entity.headers["ETag"]
    unchanged = catalog_client.get(f"/data/Products({product})/Photo", headers={"If-None-Match": response.headers["ETag"]})
    assert unchanged.status_code == 304
    empty = catalog_client.get(f"/data/Products({_product_with_photo(catalog_backend, False)})/Photo")
    assert empty.status_code == 204


def test_put_and_delete_a_stream(catalog_client: TestClient, catalog_backend: Backend) -> None:
    product = _product_with_photo(catalog_backend, False)
    etag = catalog_client.get(f"/data/Products({product})").headers["ETag"]
    stale = catalog_client.put(f"/data/Products({product})/Photo", content=b"x", headers={"If-Match": 'W/"old"'})
    assert stale.status_code == 412
    content = bytes(range(256)) * 4  # every byte value survives
    put = catalog_client.put(f"/data/Products({product})/Photo", content=content,
                             headers={"Content-Type": "image/jpeg", "If-Match": etag})
    assert put.status_code == 204, put.text
    stored = _one(catalog_backend, "SELECT photo, photo_type, row_version FROM product WHERE product_id = :id", id=product)
    assert stored is not None and bytes(stored[0]) == content and stored[1] == "image/jpeg"  # type: ignore[arg-type]
    assert catalog_client.get(f"/data/Products({product})/Photo").content == content
    deleted = catalog_client.delete(f"/data/Products({product})/Photo")
    assert deleted.status_code == 204, deleted.text
    assert _one(catalog_backend, "SELECT photo FROM product WHERE product_id = :id", id=product) == (None,)


def test_streams_are_refused_where_they_cannot_go(catalog_client: TestClient, catalog_backend: Backend) -> None:
    product = _product_with_photo(catalog_backend, True)
    in_body = catalog_client.patch(f"/data/Products({product})", json={"Photo": "aGk="})
    assert in_body.status_code == 400 and "PUT its bytes" in in_body.text
    compared = catalog_client.get("/data/Products", params={"$filter": "Photo eq null"})
    assert compared.status_code == 400, compared.text
    patched = catalog_client.patch(f"/data/Products({product})/Photo", content=b"x")
    assert patched.status_code in (204, 405)  # PATCH of a stream replaces it like PUT, or is refused; never 500


def test_media_entity_read_create_replace(catalog_client: TestClient, catalog_backend: Backend) -> None:
    items = catalog_client.get("/data/MediaItems").json()["value"]
    rows = {str(row[0]): (row[1], row[2]) for row in sql_rows(catalog_backend, "SELECT media_id, title, content_type FROM media_item")}
    assert {item["ID"]: (item["Title"], item["ContentType"]) for item in items} == rows
    assert all("Content" not in item for item in items)
    first = items[0]["ID"]
    value = catalog_client.get(f"/data/MediaItems({first})/$value")
    content = _one(catalog_backend, "SELECT content FROM media_item WHERE media_id = :id", id=first)
    assert content is not None and value.content == bytes(content[0])  # type: ignore[arg-type]
    assert value.headers["content-type"] == "application/pdf"
    created = catalog_client.post("/data/MediaItems", content=b"\x89PNG fake", headers={"Content-Type": "image/png"})
    assert created.status_code == 201, created.text
    new = created.json()["ID"]
    assert created.json()["ContentType"] == "image/png" and created.headers["Location"].endswith(f"MediaItems({new})")
    assert _one(catalog_backend, "SELECT content, content_type FROM media_item WHERE media_id = :id",
                id=new) == (b"\x89PNG fake", "image/png")
    titled = catalog_client.patch(f"/data/MediaItems({new})", json={"Title": "Logo"})
    assert titled.status_code == 204, titled.text
    replaced = catalog_client.put(f"/data/MediaItems({new})/$value", content=b"GIF89a", headers={"Content-Type": "image/gif"})
    assert replaced.status_code == 204, replaced.text
    assert _one(catalog_backend, "SELECT title, content, content_type FROM media_item WHERE media_id = :id",
                id=new) == ("Logo", b"GIF89a", "image/gif")
    json_create = catalog_client.post("/data/MediaItems", json={"Title": "x"})
    assert json_create.status_code == 415, json_create.text
    assert catalog_client.delete(f"/data/MediaItems({new})/$value").status_code == 405
    assert catalog_client.delete(f"/data/MediaItems({new})").status_code == 204
    assert _one(catalog_backend, "SELECT media_id FROM media_item WHERE media_id = :id", id=new) is None


def test_stream_writes_need_the_privilege(catalog_client: TestClient, catalog_backend: Backend) -> None:
    product = _product_with_photo(catalog_backend, True)
    before = _one(catalog_backend, "SELECT photo FROM product WHERE product_id = :id", id=product)
    refused = catalog_client.put(f"/data/Products({product})/Photo", content=b"x",
                                 headers={**bearer("reader", ("DataReader",)), "Content-Type": "image/png"})
    assert refused.status_code == 403, refused.text
    assert _one(catalog_backend, "SELECT photo FROM product WHERE product_id = :id", id=product) == before

