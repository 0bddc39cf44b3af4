"""Every primitive type of OData 4.01 but geo and streams, served from the example catalog's Products:
Int16, Byte, SByte, Single, Duration, Binary, TimeOfDay and a type definition (Sku), on each backend.

Reads, filters and orders are compared with the `product` table read by hand-written SQL and evaluated
in plain Python; the JSON values are decoded here by their OData JSON Format 4.01 rules (§7.1), with
code of this file's own (ISO 8601 durations, base64url, binary32), not the gateway's.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import shutil
import struct
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from gateway.catalog.check import check_catalog
from gateway.catalog.load import CatalogError, load_catalog
from tests.catalog_example.conftest import CATALOG_FOLDER
from tests.conftest import Backend, every_page

COLUMNS = ("product_id", "stock_level", "rating", "min_temperature", "weight", "shelf_life", "thumbnail",
           "opens_at", "sku", "status")
PROPERTIES = ("ID", "StockLevel", "Rating", "MinTemperature", "Weight", "ShelfLife", "Thumbnail", "OpensAt",
              "Sku", "Status")
STATUS = {"InStock": 1, "OnSale": 2, "Discontinued": 4}
Row = dict[str, Any]


# ---------------------------------------------------------------------- independent decoders
def f32(value: float) -> float:
    """The binary32 a float stands for (what a REAL column holds)."""
    result: float = struct.unpack("<f", struct.pack("<f", value))[0]
    return result


_ISO_DURATION = re.compile(r"(-)?P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(\.\d+)?S)?)?")


def seconds_of(duration: str) -> Decimal:
    match = _ISO_DURATION.fullmatch(duration)
    assert match is not None and duration not in ("P", "-P") and not duration.endswith("T"), duration
    sign, days, hours, minutes, whole, fraction = match.groups()
    # canonical: each unit below its next one, so a value has one spelling
    assert int(hours or 0) < 24 and int(minutes or 0) < 60 and int(whole or 0) < 60, duration
    total = (int(days or 0) * 86400 + int(hours or 0) * 3600 + int(minutes or 0) * 60 + int(whole or 0)
             + Decimal("0" + (fraction or "")))
    return -total if sign else total


def bytes_of(encoded: str) -> bytes:
    assert "=" not in encoded and "+" not in encoded and "/" not in encoded, encoded  # base64url, unpadded
    return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))


def status_of(text_value: str) -> int:
    if text_value.isdigit():
        return int(text_value)
    names = text_value.split(",")
    assert [STATUS[name] for name in names] == sorted(STATUS[name] for name in names)  # ascending values
    return sum(STATUS[name] for name in names)


# ---------------------------------------------------------------------- the oracle
def sql_rows(backend: Backend, where: str = "") -> dict[str, Row]:
    """The product table's typed columns by product id, as plain Python values."""
    with backend.engine.connect() as connection:
        rows = connection.execute(text(f"SELECT {', '.join(COLUMNS)} FROM product {where}")).mappings().all()
    result = {}
    for row in rows:
        values = dict(row)
        if values["thumbnail"] is not None:
            values["thumbnail"] = bytes(values["thumbnail"])  # (a memoryview from some drivers)
        opens = values["opens_at"]
        if isinstance(opens, dt.timedelta):  # PyMySQL reads TIME as a timedelta
            values["opens_at"] = (dt.datetime.min + opens).time()
        elif isinstance(opens, str):  # SQLite keeps it as text
            values["opens_at"] = dt.time.fromisoformat(opens)
        if values["shelf_life"] is not None:  # SQLite's NUMERIC is a float: three places are what it holds
            values["shelf_life"] = Decimal(str(values["shelf_life"])).quantize(Decimal("0.001"))
        result[str(values["product_id"])] = values
    return result


def read_all(client: TestClient, params: dict[str, str], page_size: int | None = None) -> list[Row]:
    return every_page(client, "/data/Products", params, page_size)


def assert_same(got: Row, row: Row) -> None:
    """One entity as served against its row as read by SQL."""
    assert got["StockLevel"] == row["stock_level"] and type(got["StockLevel"]) is int
    assert got["Rating"] == row["rating"]
    assert got["MinTemperature"] == row["min_temperature"]
    if row["weight"] is None:
        assert got["Weight"] is None
    else:  # the same binary32, written with no more digits than it needs
        assert isinstance(got["Weight"], (int, float)) and f32(got["Weight"]) == f32(row["weight"])
        assert len(repr(float(got["Weight"])).removesuffix(".0")) <= 10, got["Weight"]
    shelf_life = got["ShelfLife"]
    assert (shelf_life is None) == (row["shelf_life"] is None)
    if shelf_life is not None:
        assert seconds_of(shelf_life) == row["shelf_life"]
    assert (None if got["Thumbnail"] is None else bytes_of(got["Thumbnail"])) == row["thumbnail"]
    assert (None if got["OpensAt"] is None else dt.time.fromisoformat(got["OpensAt"])) == row["opens_at"]
    assert got["Sku"] == row["sku"]
    assert status_of(got["Status"]) == row["status"]


# ---------------------------------------------------------------------- reads
def test_every_type_reads_as_stored(catalog_client: TestClient, catalog_backend: Backend) -> None:
    rows = sql_rows(catalog_backend)
    served = read_all(catalog_client, {"$select": ",".join(PROPERTIES)})
    assert {row["ID"] for row in served} == set(rows)
    for got in served:
        assert_same(got, rows[got["ID"]])
    # the generator gives every kind of value somewhere: nulls, fractions of seconds, empty bytes
    assert any(row["thumbnail"] == b"" for row in rows.values())
    assert any(row["shelf_life"] is not None and row["shelf_life"] % 1 for row in rows.values())
    assert any(row["stock_level"] < 0 for row in rows.values())


def test_single_property_and_raw_values(catalog_client: TestClient, catalog_backend: Backend) -> None:
    rows = sql_rows(catalog_backend)
    product, row = next((key, row) for key, row in rows.items() if row["thumbnail"] and row["shelf_life"])
    thumbnail = catalog_client.get(f"/data/Products({product})/Thumbnail")
    assert thumbnail.status_code == 200 and bytes_of(thumbnail.json()["value"]) == row["thumbnail"]
    raw = catalog_client.get(f"/data/Products({product})/Thumbnail/$value")
    assert raw.status_code == 200 and raw.content == row["thumbnail"]
    assert raw.headers["content-type"] == "application/octet-stream"
    shelf = catalog_client.get(f"/data/Products({product})/ShelfLife/$value")
    assert shelf.status_code == 200 and seconds_of(shelf.text) == row["shelf_life"]
    assert shelf.headers["content-type"].startswith("text/plain")


# ---------------------------------------------------------------------- $filter
def _weight(row: Row) -> float | None:
    return None if row["weight"] is None else f32(row["weight"])


FILTERS: list[tuple[str, Callable[[Row], bool]]] = [
    ("StockLevel lt 0", lambda r: r["stock_level"] < 0),
    ("StockLevel ge 2990 or StockLevel eq -20", lambda r: r["stock_level"] >= 2990 or r["stock_level"] == -20),
    # computed past smallint: no overflow on PostgreSQL, where smallint + smallint is a smallint
    ("StockLevel add 32767 gt 35000", lambda r: r["stock_level"] + 32767 > 35000),
    ("StockLevel mul 20 gt 40000", lambda r: r["stock_level"] * 20 > 40000),
    ("Rating eq 5", lambda r: r["rating"] == 5),
    ("Rating in (0, 1)", lambda r: r["rating"] in (0, 1)),
    ("Rating eq null", lambda r: r["rating"] is None),
    ("Rating gt 3.5", lambda r: r["rating"] is not None and r["rating"] > 3.5),
    ("MinTemperature le -30", lambda r: r["min_temperature"] <= -30),
    ("-MinTemperature gt 30", lambda r: -r["min_temperature"] > 30),
    ("Weight gt 25.5", lambda r: r["weight"] is not None and f32(r["weight"]) > 25.5),
    ("Weight le 1", lambda r: r["weight"] is not None and f32(r["weight"]) <= 1),
    ("Weight ne null and Weight lt 0.5", lambda r: r["weight"] is not None and f32(r["weight"]) < 0.5),
    ("ShelfLife gt duration'P365D'", lambda r: r["shelf_life"] is not None and r["shelf_life"] > 365 * 86400),
    ("ShelfLife le 'P30DT12H'", lambda r: r["shelf_life"] is not None and r["shelf_life"] <= 30 * 86400 + 43200),
    ("ShelfLife eq null", lambda r: r["shelf_life"] is None),
    ("totalseconds(ShelfLife) lt 2000000", lambda r: r["shelf_life"] is not None and r["shelf_life"] < 2000000),
    ("ShelfLife sub duration'P1D' ge duration'P700DT12H'",
     lambda r: r["shelf_life"] is not None and r["shelf_life"] - 86400 >= 700 * 86400 + 43200),
    ("-ShelfLife gt duration'-P10D'", lambda r: r["shelf_life"] is not None and -r["shelf_life"] > -864000),
    ("Thumbnail eq null", lambda r: r["thumbnail"] is None),
    ("Thumbnail eq binary''", lambda r: r["thumbnail"] == b""),
    ("OpensAt lt 08:00:00", lambda r: r["opens_at"] is not None and r["opens_at"] < dt.time(8)),
    ("OpensAt eq 10:15", lambda r: r["opens_at"] == dt.time(10, 15)),
    ("hour(OpensAt) eq 9", lambda r: r["opens_at"] is not None and r["opens_at"].hour == 9),
    ("Sku eq 'SKU-000010'", lambda r: r["sku"] == "SKU-000010"),
    ("startswith(Sku, 'SKU-00019')", lambda r: r["sku"].startswith("SKU-00019")),
]


@pytest.mark.parametrize(("expression", "predicate"), FILTERS, ids=[f for f, _ in FILTERS])
def test_filter_matches_python(catalog_client: TestClient, catalog_backend: Backend, expression: str,
                               predicate: Callable[[Row], bool]) -> None:
    rows = sql_rows(catalog_backend)
    served = read_all(catalog_client, {"$filter": expression, "$select": "ID"})
    assert {row["ID"] for row in served} == {key for key, row in rows.items() if predicate(row)}


def test_filter_by_values_of_the_data(catalog_client: TestClient, catalog_backend: Backend) -> None:
    """Literals equal to stored values find their rows: a Single that binary32 cannot hold exactly
    (19.82), a duration with milliseconds, bytes in base64url."""
    rows = sql_rows(catalog_backend)
    weight = next(f32(row["weight"]) for row in rows.values()
                  if row["weight"] is not None and f32(row["weight"]) != float(f"{f32(row['weight']):.7g}"))
    shown = float(f"{weight:.7g}")  # as a client writes it: 19.82, not 19.81999969482422
    shelf = next(row["shelf_life"] for row in rows.values() if row["shelf_life"] is not None and row["shelf_life"] % 1)
    thumbnail = next(row["thumbnail"] for row in rows.values() if row["thumbnail"] and len(row["thumbnail"]) % 3)
    encoded = base64.urlsafe_b64encode(thumbnail).decode().rstrip("=")
    days, rest = divmod(shelf, 86400)
    cases = {
        f"Weight eq {shown}": {k for k, r in rows.items() if _weight(r) == weight},
        f"Weight in ({shown}, 0.1)": {k for k, r in rows.items() if _weight(r) in (weight, f32(0.1))},
        f"ShelfLife eq duration'P{days}DT{rest}S'": {k for k, r in rows.items() if r["shelf_life"] == shelf},
        f"Thumbnail eq binary'{encoded}'": {k for k, r in rows.items() if r["thumbnail"] == thumbnail},
        f"Thumbnail ne binary'{encoded}'": {k for k, r in rows.items() if r["thumbnail"] != thumbnail},
    }
    for expression, expected in cases.items():
        served = read_all(catalog_client, {"$filter": expression, "$select": "ID"})
        assert {row["ID"] for row in served} == expected, expression
        assert expected, expression


# ---------------------------------------------------------------------- $orderby (and paging by it)
ORDERS: list[tuple[str, str, bool]] = [  # property, column, descending
    ("StockLevel", "stock_level", False),
    ("Rating", "rating", True),
    ("MinTemperature", "min_temperature", False),
    ("Weight", "weight", False),
    ("Weight", "weight", True),
    ("ShelfLife", "shelf_life", False),
    ("Thumbnail", "thumbnail", False),
    ("OpensAt", "opens_at", True),
    ("Sku", "sku", True),
]


@pytest.mark.parametrize(("prop", "column", "descending"), ORDERS,
                         ids=[f"{p}{' desc' if d else ''}" for p, _, d in ORDERS])
def test_orderby_matches_python(catalog_client: TestClient, catalog_backend: Backend, prop: str, column: str,
                                descending: bool) -> None:
    """Ordered, and read in pages of 23 through @odata.nextLink: each $skiptoken carries a value of the
    type (bytes, a binary32, seconds) and resumes exactly after its row."""
    rows = sql_rows(catalog_backend)

    def value(row: Row) -> Any:
        return f32(row[column]) if column == "weight" and row[column] is not None else row[column]

    # OData: null is the smallest value (first ascending, last descending); ties go by the key.
    present = sorted((row for row in rows.values() if value(row) is not None),
                     key=lambda row: (value(row), row["product_id"]), reverse=descending)
    nulls = sorted((row for row in rows.values() if value(row) is None), key=lambda row: row["product_id"])
    if descending:  # `Prop desc,ID desc`: the ties of the descending order go by descending key too
        expected = [row["product_id"] for row in present + nulls[::-1]]
    else:
        expected = [row["product_id"] for row in nulls + present]
    order = f"{prop} desc,ID desc" if descending else f"{prop},ID"
    served = read_all(catalog_client, {"$orderby": order, "$select": f"ID,{prop}"}, page_size=23)
    assert [row["ID"] for row in served] == expected


# ---------------------------------------------------------------------- writes
PROBE = bytes([0xFB, 0xFF, 0x00]) + b"probe"  # base64url "-_8AcHJvYmU": both URL-safe characters


def test_create_update_read_back(catalog_client: TestClient, catalog_backend: Backend) -> None:
    body = {"Name": "Typed probe", "StockLevel": -32768, "Rating": 255, "MinTemperature": -128, "Weight": 1.1,
            "ShelfLife": "P1DT2H30M0.5S", "Thumbnail": "-_8AcHJvYmU", "OpensAt": "07:45:30", "Sku": "SKU-PROBE-1",
            "Status": "OnSale,InStock"}
    created = catalog_client.post("/data/Products", json=body)
    assert created.status_code == 201, created.text
    product = created.json()["ID"]
    try:
        row = sql_rows(catalog_backend, f"WHERE product_id = '{uuid.UUID(product)}'")[product]
        assert (row["stock_level"], row["rating"], row["min_temperature"]) == (-32768, 255, -128)
        assert f32(row["weight"]) == f32(1.1)
        assert row["shelf_life"] == Decimal("95400.5")
        assert row["thumbnail"] == PROBE
        assert row["opens_at"] == dt.time(7, 45, 30)
        assert (row["sku"], row["status"]) == ("SKU-PROBE-1", 3)
        answered = created.json()
        assert_same(answered, row)
        assert answered["Weight"] == 1.1 and answered["ShelfLife"] == "P1DT2H30M0.5S"
        assert answered["Thumbnail"] == "-_8AcHJvYmU" and answered["Status"] == "InStock,OnSale"

        patch = {"StockLevel": 32767, "Rating": None, "MinTemperature": 127, "Weight": 0.1, "ShelfLife": "-PT1M",
                 "Thumbnail": "+/8=", "OpensAt": "23:59:59", "Status": "Discontinued"}  # (base64 with padding)
        patched = catalog_client.patch(f"/data/Products({product})", json=patch)
        assert patched.status_code == 204, patched.text
        row = sql_rows(catalog_backend, f"WHERE product_id = '{uuid.UUID(product)}'")[product]
        assert (row["stock_level"], row["rating"], row["min_temperature"]) == (32767, None, 127)
        assert f32(row["weight"]) == f32(0.1) and row["shelf_life"] == Decimal(-60)
        assert row["thumbnail"] == bytes([0xFB, 0xFF]) and row["status"] == 4
        assert row["opens_at"] == dt.time(23, 59, 59)
        read = catalog_client.get(f"/data/Products({product})", params={"$select": ",".join(PROPERTIES)})
        assert read.status_code == 200, read.text
        assert_same(read.json(), row)
        assert read.json()["ShelfLife"] == "-PT1M" and read.json()["Weight"] == 0.1
    finally:
        assert catalog_client.delete(f"/data/Products({product})").status_code == 204


BAD_VALUES: list[tuple[str, object]] = [
    ("StockLevel", 32768),
    ("StockLevel", -32769),
    ("StockLevel", 1.5),
    ("Rating", -1),
    ("Rating", 256),
    ("MinTemperature", 128),
    ("MinTemperature", -129),
    ("MinTemperature", "ten"),
    ("Weight", 1e39),
    ("Weight", "heavy"),
    ("ShelfLife", "1 day"),
    ("ShelfLife", "P1Y"),  # years and months have no fixed length: not an Edm.Duration
    ("ShelfLife", "PT"),
    ("ShelfLife", "PT0.0005S"),  # finer than the property's Precision 3
    ("ShelfLife", 86400),
    ("Thumbnail", "not base64!"),
    ("Thumbnail", "QUJD="),
    ("Thumbnail", "A" * 1368),  # 1,026 bytes: over MaxLength 1024
    ("Thumbnail", 12),
    ("OpensAt", "25:00:00"),
    ("OpensAt", "08:00:00.5"),  # finer than the property's Precision (none: whole seconds)
    ("OpensAt", "08:00:00+01:00"),
    ("Sku", "SKU-TOO-LONG-1"),  # 14 characters: over the type definition's MaxLength 12
    ("Status", "Sold"),
    ("Status", "InStock,Sold"),
]


@pytest.mark.parametrize(("prop", "value"), BAD_VALUES, ids=[f"{p}={v!r}"[:40] for p, v in BAD_VALUES])
def test_bad_values_are_refused(catalog_client: TestClient, catalog_backend: Backend, prop: str,
                                value: object) -> None:
    name = f"Refused {prop} {uuid.uuid4().hex[:8]}"
    response = catalog_client.post("/data/Products", json={"Name": name, prop: value})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["target"] == prop and prop in error["message"]
    with catalog_backend.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM product WHERE name = :n"), {"n": name}).scalar() == 0
    existing = next(iter(sql_rows(catalog_backend)))
    patched = catalog_client.patch(f"/data/Products({existing})", json={prop: value})
    assert patched.status_code == 400 and patched.json()["error"]["target"] == prop


BAD_LITERALS = [
    "Rating eq 256",
    "Rating eq -1",
    "MinTemperature eq -129",
    "StockLevel eq 40000",
    "Weight eq 1e39",
    "ShelfLife eq duration'P1Y'",
    "ShelfLife eq duration'P'",
    "ShelfLife eq duration'PT1D'",
    "ShelfLife eq 'tomorrow'",
    "ShelfLife eq 86400",
    "ShelfLife add 1 gt duration'P1D'",
    "ShelfLife gt Weight",
    "totalseconds(Weight) gt 1",
    "Thumbnail eq binary'A'",
    "Thumbnail eq binary'QUJD='",
    "Thumbnail eq 'AQID'",
    "Thumbnail add Thumbnail eq null",
    "OpensAt eq 25:00:00",
    "Sku eq 12",
]


@pytest.mark.parametrize("expression", BAD_LITERALS)
def test_bad_literals_are_refused(catalog_client: TestClient, expression: str) -> None:
    response = catalog_client.get("/data/Products", params={"$filter": expression})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] and response.json()["error"]["message"]


# ---------------------------------------------------------------------- $metadata and the catalog
def test_metadata_declares_each_type(catalog_client: TestClient) -> None:
    from tests.clients.test_csdl_conformance import CSDL_DIR, EDM, _json_errors, _xml_errors

    xml = catalog_client.get("/data/$metadata", params={"$format": "xml"})
    assert xml.status_code == 200
    document = catalog_client.get("/data/$metadata", params={"$format": "json"}).json()
    if (CSDL_DIR / "edmx.xsd").is_file():  # the OASIS schemas, where the workplace has them
        assert _xml_errors(xml.content) == []
        assert _json_errors(document) == []
    import xml.etree.ElementTree as ET

    root = ET.fromstring(xml.content)
    product = next(e for e in root.iter(f"{EDM}EntityType") if e.get("Name") == "Product")
    properties = {e.get("Name"): e.attrib for e in product.iter(f"{EDM}Property")}
    assert {name: properties[name]["Type"] for name in PROPERTIES[1:]} == {
        "StockLevel": "Edm.Int16", "Rating": "Edm.Byte", "MinTemperature": "Edm.SByte", "Weight": "Edm.Single",
        "ShelfLife": "Edm.Duration", "Thumbnail": "Edm.Binary", "OpensAt": "Edm.TimeOfDay",
        "Sku": "Example.Catalog.Sku", "Status": "Example.Catalog.ProductStatus"}
    assert properties["ShelfLife"]["Precision"] == "3" and properties["Thumbnail"]["MaxLength"] == "1024"
    assert "MaxLength" not in properties["Sku"]  # the type definition gives it (CSDL: not re-specified)
    definition = next(root.iter(f"{EDM}TypeDefinition"))
    assert definition.attrib == {"Name": "Sku", "UnderlyingType": "Edm.String", "MaxLength": "12"}

    schema = document["Example.Catalog"]
    assert schema["Sku"] == {"$Kind": "TypeDefinition", "$UnderlyingType": "Edm.String", "$MaxLength": 12}
    assert schema["Product"]["Sku"] == {"$Type": "Example.Catalog.Sku"}
    assert schema["Product"]["ShelfLife"] == {"$Type": "Edm.Duration", "$Nullable": True, "$Precision": 3}
    assert schema["Product"]["Weight"] == {"$Type": "Edm.Single", "$Nullable": True}


def test_the_checker_accepts_the_columns(catalog_backend: Backend) -> None:
    """`fno-gateway check`: SMALLINT, a binary32 float, NUMERIC seconds, BLOB/bytea and TIME carry the types."""
    assert check_catalog(load_catalog(CATALOG_FOLDER), catalog_backend.engine) == []


def _catalog_copy(tmp_path: Path, service: tuple[str, str] | None = None,
                  products: tuple[str, str] | None = None) -> Path:
    folder = tmp_path / "catalog"
    shutil.copytree(CATALOG_FOLDER, folder, ignore=shutil.ignore_patterns("__pycache__"))
    for file, change in (("service.yaml", service), ("entities/Products.yaml", products)):
        if change is not None:
            path = folder / file
            original = path.read_text()
            assert change[0] in original
            path.write_text(original.replace(change[0], change[1]))
    return folder


TYPE_DEFINITION_MISTAKES = [
    (("Sku: {underlying: Edm.String, max_length: 12}", "Sku: {underlying: Edm.Text, max_length: 12}"), None,
     "service.yaml", "the underlying type must be a primitive type"),
    (("Sku: {underlying: Edm.String, max_length: 12}", "Sku: {underlying: Edm.Int32, max_length: 12}"), None,
     "service.yaml", "max_length does not apply to Edm.Int32"),
    (("Sku: {underlying: Edm.String, max_length: 12}", "ProductStatus: {underlying: Edm.String}"), None,
     "service.yaml", "ProductStatus is both an enum and a type definition"),
    (None, ("Sku: {column: p.sku, type: Sku}", "Sku: {column: p.sku, type: Sku, max_length: 20}"),
     "Products.yaml", "max_length is given by the type definition Sku already"),
    (None, ("Sku: {column: p.sku, type: Sku}", "Sku: {column: p.sku, type: Skew}"),
     "Products.yaml", "unknown type Skew"),
]


@pytest.mark.parametrize(("service", "products", "file", "message"), TYPE_DEFINITION_MISTAKES,
                         ids=[m[3][:30] for m in TYPE_DEFINITION_MISTAKES])
def test_type_definition_mistakes_name_file_and_line(tmp_path: Path, service: tuple[str, str] | None,
                                                     products: tuple[str, str] | None, file: str,
                                                     message: str) -> None:
    folder = _catalog_copy(tmp_path, service, products)
    with pytest.raises(CatalogError) as raised:
        load_catalog(folder)
    problems = [problem for problem in raised.value.problems if message in problem.message]
    assert problems, raised.value
    problem = problems[0]
    assert problem.file.endswith(file)
    changed = (service or products or ("", ""))[1]
    lines = (folder / ("service.yaml" if service else "entities/Products.yaml")).read_text().splitlines()
    assert changed.split(":")[0] in lines[problem.line - 1]  # the line that holds the mistake


def test_type_definition_is_its_underlying_type_elsewhere() -> None:
    catalog = load_catalog(CATALOG_FOLDER)
    sku = catalog.entities["Products"].properties["Sku"]
    assert (sku.type, sku.type_definition, sku.max_length) == ("Edm.String", "Sku", 12)
    assert catalog.entities["Products"].properties["Name"].type_definition is None
