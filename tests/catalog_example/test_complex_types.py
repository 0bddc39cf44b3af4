"""Complex types stored as column groups (issue 14): the example catalog's Products.Manufacturer (a
nullable Manufacturer whose Address is a nested, nullable complex value) and Products.Size (a
Dimensions that is never null), on every backend.

Reads, `$select` of members, `$filter` and `$orderby` on member paths and the property paths
(/Manufacturer, /Manufacturer/Address/City, /$value) are compared with the `product` table's columns
read by hand-written SQL, whose nesting is rebuilt here by the rules of OData JSON 4.01 §7.4 (a nullable
complex value whose columns are all null is null). Writes (POST, PATCH of a part per Part 1 §11.4.3,
PUT, DELETE of a value) are checked by reading the columns back with SQL. Also: $metadata's
ComplexType against the OASIS schemas, the loader's file:line problems, and bad input answering 400.
"""

from __future__ import annotations

import shutil
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from gateway.catalog.check import check_catalog
from gateway.catalog.load import CatalogError, load_catalog
from tests.catalog_example.conftest import CATALOG_FOLDER, sql_rows
from tests.clients.test_csdl_conformance import _json_errors, _xml_errors
from tests.conftest import Backend, every_page

EDM = "{http://docs.oasis-open.org/odata/ns/edm}"
ADDRESS = ("Street", "City", "PostalCode", "Country")
COLUMNS = ("product_id", "name", "mfr_name", "mfr_street", "mfr_city", "mfr_postal_code", "mfr_country",
           "height", "width", "depth")


def _rows(backend: Backend, where: str = "", **parameters: object) -> dict[str, dict[str, Any]]:
    statement = f"SELECT {', '.join(COLUMNS)} FROM product" + (f" WHERE {where}" if where else "")
    return {str(row[0]): dict(zip(COLUMNS, row)) for row in sql_rows(backend, statement, **parameters)}


def _cents(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def expected_manufacturer(row: dict[str, Any]) -> dict[str, Any] | None:
    """The Manufacturer a row's columns hold: null when all five are null, its Address null when its four are."""
    address = dict(zip(ADDRESS, (row["mfr_street"], row["mfr_city"], row["mfr_postal_code"], row["mfr_country"])))
    if row["mfr_name"] is None and all(value is None for value in address.values()):
        return None
    return {"Name": row["mfr_name"], "Address": None if all(v is None for v in address.values()) else address}


def expected_size(row: dict[str, Any]) -> dict[str, Decimal]:
    return {"Height": _cents(row["height"]), "Width": _cents(row["width"]), "Depth": _cents(row["depth"])}


def _size_of(value: dict[str, Any]) -> dict[str, Decimal]:
    return {name: _cents(number) for name, number in value.items()}


def _all(client: TestClient, url: str, page: int | None = None, **params: str) -> list[dict[str, Any]]:
    """Every row of a collection, following nextLinks (pages of `page` rows when given)."""
    return every_page(client, url, params, page)


@pytest.fixture
def product(catalog_client: TestClient, catalog_backend: Backend) -> Iterator[str]:
    """A product of the test's own, with a manufacturer and an address, deleted afterwards."""
    body = {"Name": f"Complex {uuid.uuid4().hex[:8]}", "Price": 12.5,
            "Manufacturer": {"Name": "Acme", "Address": {"Street": "1 Rue", "City": "Paris", "PostalCode": "75001",
                                                         "Country": "FR"}},
            "Size": {"Height": 10.5, "Width": 20, "Depth": 30.25}}
    created = catalog_client.post("/data/Products", json=body)
    assert created.status_code == 201, created.text
    key = created.json()["ID"]
    yield key
    catalog_client.delete(f"/data/Products({key})")


# ---------------------------------------------------------------------------------------------- reads
def test_every_product_reads_its_columns_nested(catalog_client: TestClient, catalog_backend: Backend) -> None:
    rows = _rows(catalog_backend)
    served = _all(catalog_client, "/data/Products", **{"$select": "ID,Manufacturer,Size"})
    assert len(served) == len(rows)
    nulls = 0
    for entity in served:
        row = rows[entity["ID"]]
        assert entity["Manufacturer"] == expected_manufacturer(row), entity
        assert _size_of(entity["Size"]) == expected_size(row)
        nulls += entity["Manufacturer"] is None
    assert 0 < nulls < len(rows)  # the data has both kinds
    assert any(m is not None and m["Address"] is None for m in map(expected_manufacturer, rows.values()))


def test_default_selection_includes_complex_properties(catalog_client: TestClient, catalog_backend: Backend) -> None:
    rows = _rows(catalog_backend)
    first = catalog_client.get("/data/Products", params={"$top": "3"}).json()["value"]
    for entity in first:
        assert entity["Manufacturer"] == expected_manufacturer(rows[entity["ID"]])
        assert "Manufacturer/Name" not in entity and "Size" in entity


def test_select_a_nested_member(catalog_client: TestClient, catalog_backend: Backend) -> None:
    rows = _rows(catalog_backend)
    response = catalog_client.get("/data/Products", params={"$select": "ID,Manufacturer/Address/City"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["@odata.context"].endswith("$metadata#Products(ID,Manufacturer/Address/City)")
    for entity in body["value"]:
        whole = expected_manufacturer(rows[entity["ID"]])
        if whole is None:
            assert entity["Manufacturer"] is None
        elif whole["Address"] is None:
            assert entity["Manufacturer"] == {"Address": None}
        else:
            assert entity["Manufacturer"] == {"Address": {"City": whole["Address"]["City"]}}
    sizes = catalog_client.get("/data/Products", params={"$select": "ID,Size/Height", "$top": "5"}).json()["value"]
    assert all(set(entity["Size"]) == {"Height"} for entity in sizes)
    # 4.01: nested $select inside a complex property.
    nested = _all(catalog_client, "/data/Products", **{"$select": "ID,Manufacturer($select=Name,Address($select=City))"})
    for entity in nested:
        whole = expected_manufacturer(rows[entity["ID"]])
        assert entity["Manufacturer"] == (None if whole is None else {
            "Name": whole["Name"], "Address": None if whole["Address"] is None else {"City": whole["Address"]["City"]}})


@pytest.mark.parametrize(("condition", "where", "parameters"), [
    ("Manufacturer/Address/City eq 'Paris'", "mfr_city = :city", {"city": "Paris"}),
    ("Manufacturer/Name eq null", "mfr_name IS NULL", {}),
    ("Manufacturer/Address/Country ne 'FR'", "(mfr_country IS NULL OR mfr_country <> 'FR')", {}),
    ("Size/Height gt 100 and Size/Depth le 50.5", "height > 100 AND depth <= 50.5", {}),
    ("startswith(Manufacturer/Name, 'U') or Manufacturer/Address/PostalCode eq null",
     "mfr_name LIKE 'U%' OR mfr_postal_code IS NULL", {}),
])
def test_filter_on_member_paths(catalog_client: TestClient, catalog_backend: Backend, condition: str, where: str,
                                parameters: dict[str, object]) -> None:
    expected = set(_rows(catalog_backend, where, **parameters))
    served = _all(catalog_client, "/data/Products", **{"$filter": condition, "$select": "ID"})
    assert {entity["ID"] for entity in served} == expected
    assert expected  # each condition matches something


def test_orderby_member_paths(catalog_client: TestClient, catalog_backend: Backend) -> None:
    rows = _rows(catalog_backend)
    served = _all(catalog_client, "/data/Products", page=37, **{
        "$orderby": "Manufacturer/Address/City,Size/Height desc", "$select": "ID"})  # (resumed by $skiptoken)
    # OData: null sorts first in ascending order; ties broken by the key (the gateway's total order).
    order = sorted(rows.values(), key=lambda row: (row["mfr_city"] is not None, row["mfr_city"] or "",
                                                   -_cents(row["height"]), row["product_id"]))
    assert [entity["ID"] for entity in served] == [str(row["product_id"]) for row in order]


def test_property_paths(catalog_client: TestClient, catalog_backend: Backend) -> None:
    rows = _rows(catalog_backend)
    with_address = next(key for key, row in sorted(rows.items()) if row["mfr_city"] is not None)
    without = next(key for key, row in sorted(rows.items()) if expected_manufacturer(row) is None)
    whole = expected_manufacturer(rows[with_address])
    assert whole is not None
    response = catalog_client.get(f"/data/Products({with_address})/Manufacturer")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body.pop("@odata.context").endswith(f"$metadata#Products({with_address})/Manufacturer")
    assert body == whole
    assert "ETag" in response.headers
    address = catalog_client.get(f"/data/Products({with_address})/Manufacturer/Address").json()
    assert {k: v for k, v in address.items() if not k.startswith("@")} == whole["Address"]
    city = catalog_client.get(f"/data/Products({with_address})/Manufacturer/Address/City").json()
    assert city["value"] == rows[with_address]["mfr_city"]
    assert city["@odata.context"].endswith(f"Products({with_address})/Manufacturer/Address/City")
    raw = catalog_client.get(f"/data/Products({with_address})/Manufacturer/Address/City/$value")
    assert raw.status_code == 200 and raw.text == rows[with_address]["mfr_city"]
    assert raw.headers["content-type"].startswith("text/plain")
    height = catalog_client.get(f"/data/Products({with_address})/Size/Height/$value")
    assert _cents(height.text) == _cents(rows[with_address]["height"])
    assert catalog_client.get(f"/data/Products({without})/Manufacturer").status_code == 204
    assert catalog_client.get(f"/data/Products({without})/Manufacturer/Name").status_code == 204
    size = catalog_client.get(f"/data/Products({without})/Size").json()
    assert _size_of({k: v for k, v in size.items() if not k.startswith("@")}) == expected_size(rows[without])


# ---------------------------------------------------------------------------------------------- writes
def test_create_with_complex_values(catalog_client: TestClient, catalog_backend: Backend, product: str) -> None:
    row = _rows(catalog_backend, "product_id = :key", key=product)[product]
    assert expected_manufacturer(row) == {"Name": "Acme", "Address": {"Street": "1 Rue", "City": "Paris",
                                                                      "PostalCode": "75001", "Country": "FR"}}
    assert expected_size(row) == {"Height": _cents(10.5), "Width": _cents(20), "Depth": _cents(30.25)}
    # Left out: a nullable complex value is null, a non-nullable one gets its members' defaults.
    plain = catalog_client.post("/data/Products", json={"Name": "No complex values", "Price": 1})
    assert plain.status_code == 201, plain.text
    key = plain.json()["ID"]
    try:
        assert plain.json()["Manufacturer"] is None and _size_of(plain.json()["Size"]) == expected_size(
            {"height": 0, "width": 0, "depth": 0})
        stored = _rows(catalog_backend, "product_id = :key", key=key)[key]
        assert expected_manufacturer(stored) is None and _cents(stored["height"]) == 0
        # A given value's left-out members: null where nullable, else their empty value.
        partial = catalog_client.post("/data/Products", json={"Name": "Partial", "Price": 1,
                                                              "Manufacturer": {"Address": {"City": "Lyon"}}})
        assert partial.status_code == 201, partial.text
        made = partial.json()["ID"]
        assert partial.json()["Manufacturer"] == {"Name": "", "Address": {"Street": None, "City": "Lyon",
                                                                          "PostalCode": None, "Country": ""}}
        catalog_client.delete(f"/data/Products({made})")
    finally:
        catalog_client.delete(f"/data/Products({key})")


def test_patch_of_a_part_changes_only_that_part(catalog_client: TestClient, catalog_backend: Backend,
                                                product: str) -> None:
    before = _rows(catalog_backend, "product_id = :key", key=product)[product]
    response = catalog_client.patch(f"/data/Products({product})", json={"Manufacturer": {"Address": {"City": "Lyon"}}})
    assert response.status_code == 204, response.text
    after = _rows(catalog_backend, "product_id = :key", key=product)[product]
    assert after == {**before, "mfr_city": "Lyon"}
    # PATCH at the property's own URL: the same recursive PATCH semantics.
    at_path = catalog_client.patch(f"/data/Products({product})/Manufacturer", json={"Name": "Globex"})
    assert at_path.status_code == 204, at_path.text
    assert "ETag" in at_path.headers
    assert _rows(catalog_backend, "product_id = :key", key=product)[product] == {**after, "mfr_name": "Globex"}
    sized = catalog_client.patch(f"/data/Products({product})/Size", json={"Width": 7.25},
                                 headers={"Prefer": "return=representation"})
    assert sized.status_code == 200, sized.text
    assert _size_of({k: v for k, v in sized.json().items() if not k.startswith("@")}) == {
        "Height": _cents(10.5), "Width": _cents(7.25), "Depth": _cents(30.25)}


def test_put_replaces_and_delete_nulls(catalog_client: TestClient, catalog_backend: Backend, product: str) -> None:
    put = catalog_client.put(f"/data/Products({product})/Manufacturer/Address", json={"City": "Nice", "Country": "FR"})
    assert put.status_code == 204, put.text
    row = _rows(catalog_backend, "product_id = :key", key=product)[product]
    assert (row["mfr_street"], row["mfr_city"], row["mfr_postal_code"], row["mfr_country"]) == (None, "Nice", None, "FR")
    assert row["mfr_name"] == "Acme"
    member = catalog_client.put(f"/data/Products({product})/Manufacturer/Address/Street", json={"value": "2 Quai"})
    assert member.status_code == 204, member.text
    assert _rows(catalog_backend, "product_id = :key", key=product)[product]["mfr_street"] == "2 Quai"
    assert catalog_client.delete(f"/data/Products({product})/Manufacturer/Address/Street").status_code == 204
    assert _rows(catalog_backend, "product_id = :key", key=product)[product]["mfr_street"] is None
    assert catalog_client.delete(f"/data/Products({product})/Manufacturer/Address").status_code == 204
    row = _rows(catalog_backend, "product_id = :key", key=product)[product]
    assert expected_manufacturer(row) == {"Name": "Acme", "Address": None}
    assert catalog_client.get(f"/data/Products({product})").json()["Manufacturer"] == {"Name": "Acme", "Address": None}
    assert catalog_client.delete(f"/data/Products({product})/Manufacturer").status_code == 204
    assert expected_manufacturer(_rows(catalog_backend, "product_id = :key", key=product)[product]) is None
    # PATCH of a null value sets the members it gives; the others stay null.
    assert catalog_client.patch(f"/data/Products({product})", json={"Manufacturer": {"Name": "Wonka"}}).status_code == 204
    assert catalog_client.get(f"/data/Products({product})/Manufacturer").json()["Name"] == "Wonka"
    # PUT of the entity replaces every property: the complex ones left out get their defaults.
    whole = catalog_client.put(f"/data/Products({product})", json={"Name": "Replaced", "Price": 2})
    assert whole.status_code == 204, whole.text
    row = _rows(catalog_backend, "product_id = :key", key=product)[product]
    assert expected_manufacturer(row) is None and expected_size(row) == expected_size({"height": 0, "width": 0,
                                                                                         "depth": 0})


@pytest.mark.parametrize(("method", "path", "body", "status"), [
    ("PATCH", "", {"Manufacturer": {"Name": None}}, 400),  # a non-nullable member
    ("PATCH", "", {"Size": None}, 400),  # a non-nullable complex value
    ("PATCH", "", {"Manufacturer": {"Founded": 1900}}, 400),  # no such member
    ("PATCH", "", {"Manufacturer": "Acme"}, 400),  # not an object
    ("PATCH", "", {"Size": {"Height": 1234567.5}}, 400),  # beyond Precision 8, Scale 2
    ("PATCH", "", {"Manufacturer": {"Address": {"Country": 33}}}, 400),
    ("PATCH", "", {"Manufacturer": {"Address": {"City": "x" * 61}}}, 400),  # MaxLength 60
    ("DELETE", "/Size", None, 400),
    ("DELETE", "/Manufacturer/Name", None, 400),
    ("POST", "/Manufacturer", {"Name": "x"}, 405),
    ("PATCH", "/Manufacturer/Name", {"value": "x"}, 405),
    ("PUT", "/Manufacturer/Name", {"Name": "x"}, 400),
    ("PUT", "/Manufacturer/Name/$value", {"value": "x"}, 405),
    ("PATCH", "/Manufacturer/Founded", {"value": "x"}, 400),
])
def test_bad_writes(catalog_client: TestClient, catalog_backend: Backend, product: str, method: str, path: str,
                    body: object, status: int) -> None:
    before = _rows(catalog_backend, "product_id = :key", key=product)[product]
    response = catalog_client.request(method, f"/data/Products({product}){path}", json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["message"]
    assert _rows(catalog_backend, "product_id = :key", key=product)[product] == before


@pytest.mark.parametrize(("params", "fragment"), [
    ({"$filter": "Manufacturer eq null"}, "complex value"),
    ({"$filter": "Manufacturer/Founded eq 1"}, "no member Founded"),
    ({"$filter": "Manufacturer/Name/Length eq 1"}, "primitive"),
    ({"$orderby": "Size"}, "complex value"),
    ({"$select": "Manufacturer/Founded"}, "not a member"),
    ({"$filter": "Size/Height eq 'x'"}, "cannot compare"),
    ({"$expand": "Manufacturer"}, "navigation property"),
    ({"$select": "Manufacturer($top=1)"}, "only $select applies"),
])
def test_bad_queries(catalog_client: TestClient, params: dict[str, str], fragment: str) -> None:
    response = catalog_client.get("/data/Products", params=params)
    assert response.status_code == 400, response.text
    assert fragment in response.json()["error"]["message"]


def test_bad_paths(catalog_client: TestClient, catalog_backend: Backend) -> None:
    key = sorted(_rows(catalog_backend))[0]
    for path, status in ((f"Products({key})/Manufacturer/Founded", 400), (f"Products({key})/Manufacturer(1)", 400),
                         (f"Products({key})/Manufacturer/$value", 400), (f"Products({key})/Size/Height/Width", 400),
                         (f"Products({uuid.uuid4()})/Manufacturer", 404)):
        assert catalog_client.get(f"/data/{path}").status_code == status, path


def test_expand_of_a_complex_property_star_is_empty(catalog_client: TestClient) -> None:
    """Part 2 §5.1.2: $expand=Manufacturer/* expands the navigation properties of Manufacturer, which has none."""
    response = catalog_client.get("/data/Products", params={"$expand": "Manufacturer/*", "$select": "ID", "$top": "1"})
    assert response.status_code == 200, response.text
    assert set(response.json()["value"][0]) - {"@odata.etag", "@odata.type"} == {"ID"}
    assert catalog_client.get("/data/Products", params={"$expand": "Name/*"}).status_code == 400


# ---------------------------------------------------------------------------------------------- $metadata
def test_metadata_declares_complex_types(catalog_client: TestClient) -> None:
    document = catalog_client.get("/data/$metadata").content
    assert _xml_errors(document) == []
    schema = ET.fromstring(document).find(f".//{EDM}Schema")
    assert schema is not None
    types = {element.get("Name"): element for element in schema.findall(f"{EDM}ComplexType")}
    assert {"Address", "Manufacturer", "Dimensions"} <= set(types)
    members = {p.get("Name"): p.attrib for p in types["Manufacturer"].findall(f"{EDM}Property")}
    assert members["Address"]["Type"] == "Example.Catalog.Address" and members["Address"]["Nullable"] == "true"
    assert members["Name"]["MaxLength"] == "100" and members["Name"]["Nullable"] == "false"
    height = next(p for p in types["Dimensions"].findall(f"{EDM}Property") if p.get("Name") == "Height")
    assert (height.get("Type"), height.get("Precision"), height.get("Scale")) == ("Edm.Decimal", "8", "2")
    product = next(e for e in schema.findall(f"{EDM}EntityType") if e.get("Name") == "Product")
    properties = {p.get("Name"): p.attrib for p in product.findall(f"{EDM}Property")}
    assert properties["Manufacturer"]["Type"] == "Example.Catalog.Manufacturer"
    assert properties["Manufacturer"]["Nullable"] == "true" and properties["Size"]["Nullable"] == "false"
    json_document = catalog_client.get("/data/$metadata", headers={"Accept": "application/json"}).json()
    assert _json_errors(json_document) == []
    namespace = json_document["Example.Catalog"]
    assert namespace["Address"]["$Kind"] == "ComplexType"
    assert namespace["Address"]["Street"] == {"$Type": "Edm.String", "$Nullable": True, "$MaxLength": 100}
    assert namespace["Product"]["Manufacturer"] == {"$Type": "Example.Catalog.Manufacturer", "$Nullable": True}


# ---------------------------------------------------------------------------------------------- the catalog
def test_catalog_matches_the_database(catalog_backend: Backend) -> None:
    assert check_catalog(load_catalog(CATALOG_FOLDER), catalog_backend.engine) == []


def _broken(tmp_path: Path, file: str, old: str, new: str) -> list[str]:
    folder = tmp_path / "catalog"
    shutil.copytree(CATALOG_FOLDER, folder)
    path = folder / file
    content = path.read_text()
    assert old in content
    path.write_text(content.replace(old, new, 1))
    with pytest.raises(CatalogError) as caught:
        load_catalog(folder)
    return [str(problem).replace(str(folder) + "/", "") for problem in caught.value.problems]


def _line(file: Path, fragment: str) -> int:
    return next(number for number, line in enumerate(file.read_text().splitlines(), 1) if fragment in line)


@pytest.mark.parametrize(("file", "old", "new", "message", "at"), [
    ("entities/Products.yaml", "Name: p.mfr_name", "Name: q.mfr_name", "'q.mfr_name' must be alias.COLUMN",
     ("Name: q.mfr_name", 0)),
    ("entities/Products.yaml", "      Name: p.mfr_name\n", "", "map the member Name of Manufacturer to a column",
     ("Address: {Street: p.mfr_street", 0)),  # (the line where the mapping of columns starts)
    ("entities/Products.yaml", "Name: p.mfr_name", "Name: p.mfr_name\n      Founded: p.founded",
     "Manufacturer has no member Founded", ("Founded: p.founded", 0)),
    ("entities/Products.yaml", "Manufacturer:\n    type: Manufacturer", "Manufacturer:\n    type: Maker",
     "Maker is not a complex type", ("type: Maker", 0)),
    ("entities/Products.yaml", "Size: {type: Dimensions, columns:", "Size: {type: Dimensions, column: p.x, columns:",
     "not column:", ("Size: {type: Dimensions, column: p.x", 0)),
    ("entities/Products.yaml", "Address: {Street: p.mfr_street", "Address: p.mfr_street\n      Other: {Street: p.x",
     "map its members with a nested mapping", ("Address: p.mfr_street", 0)),
    ("service.yaml", "Address: {type: Address, nullable: true}", "Address: {type: Adress, nullable: true}",
     "unknown type Adress", ("Address: {type: Adress", 0)),
    ("service.yaml", "Address: {type: Address, nullable: true}",
     "Address: {type: Address, nullable: true}\n      Parent: {type: Manufacturer, nullable: true}",
     "Manufacturer contains itself", ("  Manufacturer:", 1)),
    ("entities/Products.yaml", "Tags: {type: Edm.String, collection: true",
     "Tags: {type: Edm.String, collection: true, unknown: 1", "properties.Tags.unknown", ("Tags: {type:", 0)),
])
def test_catalog_mistakes_name_file_and_line(tmp_path: Path, file: str, old: str, new: str, message: str,
                                             at: tuple[str, int]) -> None:
    problems = _broken(tmp_path, file, old, new)
    found = [problem for problem in problems if message in problem]
    assert found, problems
    fragment, offset = at
    assert found[0].startswith(f"{file}:{_line(tmp_path / 'catalog' / file, fragment) + offset}:"), found
