"""End to end: the real `fno-gateway serve` console script under uvicorn, spoken to over HTTP.

The expectations come from SQLAlchemy Core queries over the physical tables (gateway.demo.schema),
never from the gateway itself.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import Engine, create_engine, select

from gateway.demo import schema
from gateway.demo.generate import build_demo_database
from tests.conftest import bearer, server_arguments, stop_process
from tests.contract import FNO_ENTITY_SETS

pytestmark = pytest.mark.e2e

STARTUP_LIMIT_SECONDS = 30
ENTITY_SETS = sorted(FNO_ENTITY_SETS)


@dataclass
class Server:
    base: str  # http://127.0.0.1:port/data/
    engine: Engine  # the physical database, for the expectations
    log: Path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _command() -> list[str]:
    """The installed console script of this interpreter, or the module when it is not installed."""
    script = Path(sys.executable).parent / "fno-gateway"
    if script.is_file():
        return [str(script)]
    found = shutil.which("fno-gateway")
    return [found] if found else [sys.executable, "-m", "gateway.cli"]


def _wait_until_up(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_LIMIT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"fno-gateway serve exited with {process.returncode}:\n{log.read_text(errors='replace')}"
            )
        try:
            if httpx2.get(url, headers=bearer(), timeout=2).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(
        f"fno-gateway serve did not answer {url} within {STARTUP_LIMIT_SECONDS}s:\n{log.read_text(errors='replace')}"
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("e2e")
    url = f"sqlite:///{folder / 'fno.db'}"
    build_demo_database(url, scale=0.05, seed=42, progress=False)
    port = _free_port()
    log = folder / "server.log"
    environment = {key: value for key, value in os.environ.items() if not key.startswith("FNO_GATEWAY_")}
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*_command(), "serve", "--db", url, "--port", str(port), "--host", "127.0.0.1", *server_arguments()],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=environment,
        )
    engine = create_engine(url)
    try:
        base = f"http://127.0.0.1:{port}/data/"
        _wait_until_up(process, base, log)
        yield Server(base, engine, log)
    finally:
        stop_process(process)
        engine.dispose()


@pytest.fixture(scope="module")
def http(server: Server) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=server.base, headers=bearer(), timeout=30) as client:
        yield client


def _one_odata_version(response: httpx2.Response) -> None:
    assert response.headers.get_list("odata-version") == ["4.0"], response.headers


def _decimal_json(response: httpx2.Response) -> Any:
    return json.loads(response.text, parse_float=Decimal)


# ------------------------------------------------------------------------------------------------ tests
def test_service_document(http: httpx2.Client) -> None:
    response = http.get("")
    assert response.status_code == 200
    _one_odata_version(response)
    assert sorted(entry["name"] for entry in response.json()["value"]) == ENTITY_SETS


def test_metadata(http: httpx2.Client) -> None:
    response = http.get("$metadata")
    assert response.status_code == 200
    _one_odata_version(response)
    assert response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    edm = "{http://docs.oasis-open.org/odata/ns/edm}"
    schema_element = root.find(f"{{http://docs.oasis-open.org/odata/ns/edmx}}DataServices/{edm}Schema")
    assert schema_element is not None
    assert schema_element.get("Namespace") == "Microsoft.Dynamics.DataEntities"
    container = schema_element.find(f"{edm}EntityContainer")
    assert container is not None and container.get("Name") == "Resources"
    assert sorted(e.get("Name") or "" for e in container.findall(f"{edm}EntitySet")) == ENTITY_SETS


def test_top_select_orderby_matches_custtable(http: httpx2.Client, server: Server) -> None:
    response = http.get(
        "CustomersV3",
        params={"$top": "5", "$select": "CustomerAccount,CreditLimit", "$orderby": "CustomerAccount"},
    )
    assert response.status_code == 200, response.text
    _one_odata_version(response)
    assert "server-timing" in response.headers
    assert response.headers["content-type"].startswith("application/json")
    rows = _decimal_json(response)["value"]

    table = schema.CUSTTABLE
    with server.engine.connect() as connection:
        expected = connection.execute(
            select(table.c.ACCOUNTNUM, table.c.CREDITMAX)
            .where(table.c.DATAAREAID == "usmf")
            .order_by(table.c.ACCOUNTNUM)
            .limit(5)
        ).all()
    assert len(expected) == 5
    assert [row["CustomerAccount"] for row in rows] == [account for account, _ in expected]
    assert [Decimal(str(row["CreditLimit"])) for row in rows] == [
        Decimal(str(limit)) for _, limit in expected
    ]
    for row in rows:
        assert set(row) - {"@odata.etag"} == {"CustomerAccount", "CreditLimit"}


def test_key_lookup(http: httpx2.Client, server: Server) -> None:
    cust, party = schema.CUSTTABLE, schema.DIRPARTYTABLE
    with server.engine.connect() as connection:
        account, name, limit, group = connection.execute(
            select(cust.c.ACCOUNTNUM, party.c.NAME, cust.c.CREDITMAX, cust.c.CUSTGROUP)
            .select_from(cust.join(party, party.c.RECID == cust.c.PARTY))
            .where(cust.c.DATAAREAID == "usmf")
            .order_by(cust.c.ACCOUNTNUM.desc())
            .limit(1)
        ).one()
    quoted = account.replace("'", "''")
    response = http.get(f"CustomersV3(CustomerAccount='{quoted}',dataAreaId='usmf')")
    assert response.status_code == 200, response.text
    _one_odata_version(response)
    assert "etag" in response.headers
    body = _decimal_json(response)
    assert body["dataAreaId"] == "usmf"
    assert body["CustomerAccount"] == account
    assert body["OrganizationName"] == name
    assert body["CustomerGroupId"] == group
    assert Decimal(str(body["CreditLimit"])) == Decimal(str(limit))
    assert body["@odata.context"].startswith(server.base + "$metadata#CustomersV3")


def test_next_link_walk_of_sales_order_lines(http: httpx2.Client, server: Server) -> None:
    line = schema.SALESLINE
    with server.engine.connect() as connection:
        expected = [
            row[0]
            for row in connection.execute(select(line.c.INVENTTRANSID).where(line.c.DATAAREAID == "usmf"))
        ]
    assert len(expected) > 700, "the walk must need more than one page"
    prefer = {"Prefer": "odata.maxpagesize=700"}
    served: list[str] = []
    response = http.get("SalesOrderLines", params={"$select": "InventoryLotId"}, headers=prefer)
    pages = 0
    while True:
        assert response.status_code == 200, response.text
        _one_odata_version(response)
        assert response.headers.get_list("preference-applied") == ["odata.maxpagesize=700"]
        assert "server-timing" in response.headers
        body = response.json()
        assert len(body["value"]) <= 700
        served.extend(row["InventoryLotId"] for row in body["value"])
        pages += 1
        next_link = body.get("@odata.nextLink")
        if next_link is None:
            break
        assert len(body["value"]) == 700, "only the last page may be short"
        assert next_link.startswith(server.base + "SalesOrderLines"), next_link
        assert pages < 100, "runaway paging"
        response = http.get(next_link, headers=prefer)
    assert pages == -(-len(expected) // 700)
    assert len(served) == len(set(served)), "a row was served twice"
    assert sorted(served) == sorted(expected)


def test_error_over_http(http: httpx2.Client) -> None:
    response = http.get("CustomersV3", params={"$filter": "CreditLimt gt 5"})
    assert response.status_code == 400
    _one_odata_version(response)
    error = response.json()["error"]
    assert error["code"] == "UnknownProperty"
    assert isinstance(error["details"], list)
