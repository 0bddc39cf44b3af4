"""Flags enums (CSDL IsFlags): the example's ProductStatus {1: InStock, 2: OnSale, 4: Discontinued}.

A value combines members bitwise and is written as their names in ascending value order, "0" when no
flag is set (there is no zero member): OData JSON Format 4.01 §7.1. `has` tests bits (Part 2
§5.1.1.1.10), `eq` compares the whole value; writes take "InStock,OnSale" or member values. Compared
with SQL over the `product` table using the databases' own `&`, and with a plain-Python spelling.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from gateway.catalog.load import CatalogError, load_catalog
from tests.catalog_example.conftest import catalog_app_client
from tests.catalog_example.test_types import _catalog_copy, read_all
from tests.conftest import Backend

MEMBERS = {1: "InStock", 2: "OnSale", 4: "Discontinued"}
ENUM = "Example.Catalog.ProductStatus"
EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


def spelled(value: int) -> str:
    """A stored status as OData JSON writes it (written here without the gateway's code)."""
    names = [name for bit, name in sorted(MEMBERS.items()) if value & bit]
    rest = value & ~sum(MEMBERS)
    return str(value) if rest or not names else ",".join(names)


def statuses(backend: Backend, where: str = "") -> dict[str, int]:
    with backend.engine.connect() as connection:
        rows = connection.execute(text(f"SELECT product_id, status FROM product {where}")).all()
    return {str(product): int(status) for product, status in rows}


def test_values_are_member_names(catalog_client: TestClient, catalog_backend: Backend) -> None:
    stored = statuses(catalog_backend)
    served = {row["ID"]: row["Status"] for row in read_all(catalog_client, {"$select": "ID,Status"})}
    assert served == {product: spelled(value) for product, value in stored.items()}
    # the data has no flag, one flag and two flags at once
    assert {"0", "InStock", "InStock,OnSale", "InStock,Discontinued"} <= set(served.values())


FILTERS = [  # OData, then the same condition in SQL
    (f"Status has {ENUM}'OnSale'", "(status & 2) = 2"),
    ("Status has 'InStock'", "(status & 1) = 1"),  # 4.01: the enum type is known from the left side
    (f"Status has {ENUM}'InStock,Discontinued'", "(status & 5) = 5"),
    (f"Status has {ENUM}'Discontinued,InStock'", "(status & 5) = 5"),
    (f"Status has {ENUM}'4'", "(status & 4) = 4"),  # a member's value
    (f"not (Status has {ENUM}'InStock')", "(status & 1) <> 1"),
    (f"Status has {ENUM}'InStock' and not (Status has {ENUM}'OnSale')", "(status & 3) = 1"),
    (f"Status eq {ENUM}'InStock,OnSale'", "status = 3"),  # eq compares the whole value
    ("Status eq 'OnSale,InStock'", "status = 3"),
    (f"Status eq {ENUM}'InStock'", "status = 1"),
    (f"Status ne {ENUM}'0'", "status <> 0"),
    (f"Status in ({ENUM}'OnSale', {ENUM}'Discontinued')", "status IN (2, 4)"),
    (f"Status gt {ENUM}'OnSale'", "status > 2"),
]


@pytest.mark.parametrize(("expression", "where"), FILTERS, ids=[f for f, _ in FILTERS])
def test_has_tests_bits(catalog_client: TestClient, catalog_backend: Backend, expression: str, where: str) -> None:
    served = read_all(catalog_client, {"$filter": expression, "$select": "ID"})
    expected = statuses(catalog_backend, f"WHERE {where}")
    assert {row["ID"] for row in served} == set(expected)
    assert expected, "every condition matches some products"


def test_orderby_status_is_by_value(catalog_client: TestClient, catalog_backend: Backend) -> None:
    with catalog_backend.engine.connect() as connection:
        expected = [str(row[0]) for row in connection.execute(text(
            "SELECT product_id FROM product ORDER BY status DESC, product_id"))]
    served = read_all(catalog_client, {"$orderby": "Status desc,ID", "$select": "ID"}, page_size=50)
    assert [row["ID"] for row in served] == expected


def test_writes_take_combined_values(catalog_client: TestClient, catalog_backend: Backend) -> None:
    created = catalog_client.post("/data/Products", json={"Name": "Flag probe", "Status": "OnSale,InStock"})
    assert created.status_code == 201, created.text
    product = created.json()["ID"]
    where = f"WHERE product_id = '{uuid.UUID(product)}'"
    try:
        assert statuses(catalog_backend, where)[product] == 3 and created.json()["Status"] == "InStock,OnSale"
        for given, stored in (("Discontinued", 4), ("OnSale, Discontinued", 6), ("3", 3), ("1,4", 5), ("0", 0),
                              ("InStock,InStock", 1)):
            patched = catalog_client.patch(f"/data/Products({product})", json={"Status": given})
            assert patched.status_code == 204, (given, patched.text)
            assert statuses(catalog_backend, where)[product] == stored, given
            read = catalog_client.get(f"/data/Products({product})/Status")
            assert read.status_code == 200 and read.json()["value"] == spelled(stored)
        for refused in ("Sold", "InStock,Sold", "8", "-1", "", "InStock;OnSale", 3.5, True):
            patched = catalog_client.patch(f"/data/Products({product})", json={"Status": refused})
            assert patched.status_code == 400, (refused, patched.text)
            assert patched.json()["error"]["target"] == "Status"
        assert statuses(catalog_backend, where)[product] == 1
        # a create that does not give it: no flag set
        bare = catalog_client.post("/data/Products", json={"Name": "Flag probe 2"})
        assert bare.status_code == 201 and bare.json()["Status"] == "0"
        assert catalog_client.delete(f"/data/Products({bare.json()['ID']})").status_code == 204
    finally:
        assert catalog_client.delete(f"/data/Products({product})").status_code == 204


@pytest.mark.parametrize("expression", [
    f"Status has {ENUM}'Sold'",
    f"Status has {ENUM}'InStock,Sold'",
    "Status has 'InStock;OnSale'",
    "Status has 1",
    f"Name has {ENUM}'InStock'",
    "Status has Example.Catalog.Colour'Red'",
])
def test_bad_flags_literals_are_refused(catalog_client: TestClient, expression: str) -> None:
    response = catalog_client.get("/data/Products", params={"$filter": expression})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["message"]


def test_metadata_says_is_flags(catalog_client: TestClient) -> None:
    root = ET.fromstring(catalog_client.get("/data/$metadata", params={"$format": "xml"}).content)
    enum = next(element for element in root.iter(f"{EDM}EnumType") if element.get("Name") == "ProductStatus")
    assert enum.get("IsFlags") == "true"
    assert {member.get("Name"): member.get("Value") for member in enum} == {"InStock": "1", "OnSale": "2",
                                                                          "Discontinued": "4"}
    schema = catalog_client.get("/data/$metadata", params={"$format": "json"}).json()["Example.Catalog"]
    assert schema["ProductStatus"] == {"$Kind": "EnumType", "$UnderlyingType": "Edm.Int32", "$IsFlags": True,
                                       "InStock": 1, "OnSale": 2, "Discontinued": 4}


def test_an_enum_that_is_not_flags_keeps_equality(catalog_backend: Backend, tmp_path: Path) -> None:
    """The same column served with ProductStatus not marked as flags: `has` is equality, as before, a
    combined literal is refused, and values are single members (3 has no name: "3")."""
    folder = _catalog_copy(tmp_path, ("flags_enums: [ProductStatus]\n", ""))
    with catalog_app_client(catalog_backend, folder) as client:
        served = read_all(client, {"$filter": f"Status has {ENUM}'InStock'", "$select": "ID"})
        assert {row["ID"] for row in served} == set(statuses(catalog_backend, "WHERE status = 1"))
        combined = client.get("/data/Products", params={"$filter": f"Status has {ENUM}'InStock,OnSale'"})
        assert combined.status_code == 400 and "not a flags enum" in combined.json()["error"]["message"]
        values = {row["ID"]: row["Status"] for row in read_all(client, {"$select": "ID,Status"})}
        stored = statuses(catalog_backend)
        assert values == {product: MEMBERS.get(value, str(value)) for product, value in stored.items()}
        client.app.state.engine.dispose()  # type: ignore[attr-defined]


@pytest.mark.parametrize(("service", "message", "line_holds"), [
    (("flags_enums: [ProductStatus]", "flags_enums: [ProductState]"), "flags enum ProductState is not one of the enums",
     "flags_enums"),
    (("ProductStatus: {1: InStock", "ProductStatus: {-1: Unknown, 1: InStock"),
     "a flags enum's members are non-negative (-1)", "ProductStatus"),
])
def test_flags_mistakes_name_file_and_line(tmp_path: Path, service: tuple[str, str], message: str,
                                           line_holds: str) -> None:
    folder = _catalog_copy(tmp_path, service)
    with pytest.raises(CatalogError) as raised:
        load_catalog(folder)
    problem = next(problem for problem in raised.value.problems if message in problem.message)
    assert problem.file.endswith("service.yaml")
    assert line_holds in (folder / "service.yaml").read_text().splitlines()[problem.line - 1]
