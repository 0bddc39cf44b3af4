"""What a virtual table costs over /data: the same rows read as a Dataverse virtual table, as FetchXML,
and by the virtual Guid key, against the same request on /data (target: at most 1.1×).

    python -m bench.virtual_tables [--requests 1000] [--scale 0.1] [--db URL --dataverse-db URL]

In-process (starlette's TestClient, one thread), SQLite, plans and caches warm: the numbers are the
gateway's own work per request. The two requests of a pair alternate, so drift hits both alike.
Prints medians and the ratio of each virtual form to its /data twin.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import MetaData, create_engine
from starlette.testclient import TestClient

from bench.auth import BENCH_KEY
from gateway.app import create_app
from gateway.demo.generate import build_demo_database
from gateway.settings import Settings
from gateway.virtual import cli as virtual_cli

COLUMNS = ("CustomerAccount", "OrganizationName", "CreditLimit", "OnHoldStatus", "AddressCity")
LINE_COLUMNS = ("dataAreaId", "InventoryLotId", "SalesOrderNumber", "LineNumber", "ItemNumber", "OrderedSalesQuantity",
                "SalesPrice", "LineAmount", "SalesUnitSymbol", "SalesOrderLineStatus", "ProductColorId", "ProductSizeId")
FETCH = ('<fetch top="100"><entity name="mserp_custcustomerv3entity">'
         + "".join(f'<attribute name="mserp_{name.lower()}"/>' for name in COLUMNS)
         + '<filter><condition attribute="mserp_creditlimit" operator="gt" value="1000"/></filter>'
         + '<order attribute="mserp_customeraccount"/></entity></fetch>')


def _pairs(guid: str) -> dict[str, tuple[str, str]]:
    select = ",".join(COLUMNS)
    virtual_select = ",".join(f"mserp_{name.lower()}" for name in COLUMNS)
    return {
        "page of 100 rows ($select, $filter, $orderby)": (
            f"/data/CustomersV3?cross-company=true&$top=100&$select={select}&$filter=CreditLimit gt 1000"
            "&$orderby=CustomerAccount",
            f"/api/data/v9.2/mserp_custcustomerv3entities?$top=100&$select={virtual_select}"
            "&$filter=mserp_creditlimit gt 1000&$orderby=mserp_customeraccount"),
        "the same page as FetchXML": (
            f"/data/CustomersV3?cross-company=true&$top=100&$select={select}&$filter=CreditLimit gt 1000"
            "&$orderby=CustomerAccount",
            f"/api/data/v9.2/mserp_custcustomerv3entities?fetchXml={quote(FETCH)}"),
        "page of 1,000 sales lines, the same 12 columns": (
            "/data/SalesOrderLines?cross-company=true&$top=1000",
            "/api/data/v9.2/mserp_salesorderlineentities?$top=1000&$select=" + ",".join(
                f"mserp_{name.lower()}" for name in LINE_COLUMNS)),
        "page of 1,000 sales lines, no $select (virtual: + Guid, primary field)": (
            "/data/SalesOrderLines?cross-company=true&$top=1000",
            "/api/data/v9.2/mserp_salesorderlineentities?$top=1000"),
        "key read (F&O key / virtual Guid)": (
            "/data/CustomersV3(dataAreaId='usmf',CustomerAccount='US-001')",
            f"/api/data/v9.2/mserp_custcustomerv3entities({guid})"),
    }


def _median_pair(client: TestClient, first: str, second: str, requests: int) -> tuple[float, float]:
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(requests):
        for index, url in enumerate((first, second)):
            began = time.perf_counter()
            response = client.get(url)
            times[index].append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, response.text
    return statistics.median(times[0]), statistics.median(times[1])


def _empty(url: str) -> None:
    """A server store starts empty (its tables are made anew from the catalog)."""
    engine = create_engine(url)
    metadata = MetaData()
    metadata.reflect(engine)
    metadata.drop_all(engine)
    engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--db", help="the F&O database to build the demo into (default: a SQLite file)")
    parser.add_argument("--dataverse-db", help="the Dataverse-side store (default: a SQLite file); emptied first")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="fno-virtual-bench-"))
    db = args.db or f"sqlite:///{work / 'fno.db'}"
    build_demo_database(db, scale=args.scale, progress=False)
    dataverse = args.dataverse_db or f"sqlite:///{work / 'dv.db'}"
    if args.dataverse_db:
        _empty(dataverse)
    settings = Settings(db=db, dataverse_db=dataverse, dualwrite_maps="none",
                        dev_key=str(BENCH_KEY), anonymous_role="DataReader", rate_requests=0,
                        rate_execution_seconds=0.0)
    virtual_cli.enable_all(settings)
    with TestClient(create_app(settings)) as client:
        guid = client.get("/api/data/v9.2/mserp_custcustomerv3entities(mserp_dataareaid='usmf',"
                          "mserp_customeraccount='US-001')").json()["mserp_custcustomerv3entityid"]
        pairs = _pairs(guid)
        for first, second in pairs.values():  # same rows on both sides, then warm plans and caches
            one, other = client.get(first).json(), client.get(second).json()
            assert len(one.get("value", [one])) == len(other.get("value", [other])), (first, second)
            _median_pair(client, first, second, 50)
        engine = create_engine(db).dialect.name
        print(f"| {args.requests} requests each, scale {args.scale}, {engine} | /data ms | virtual ms | ratio |")
        print("| --- | ---: | ---: | ---: |")
        for name, (first, second) in pairs.items():
            data, virtual = _median_pair(client, first, second, args.requests)
            print(f"| {name} | {data:.3f} | {virtual:.3f} | {virtual / data:.2f}× |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
