"""$compute inside $expand (OData 4.01 Part 2, 5.1.3 and 5.1.9): computed properties of the expanded
entities, shown with them and usable in the nested $select, $filter, $orderby and $count; on every
backend, against plain Python over tests/oracle.py's rows."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from starlette.testclient import TestClient

from tests import oracle
from tests.conftest import Backend


def _get(client: TestClient, path: str, params: dict[str, str]) -> dict[str, Any]:
    response = client.get(f"/data/{path}", params=params)
    assert response.status_code == 200, response.text
    return response.json(parse_float=Decimal)  # type: ignore[no-any-return]


def _lines_by_order(backend: Backend) -> dict[str, list[dict[str, Any]]]:
    lines: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in oracle.sales_lines(backend.engine, ["usmf"]):
        lines[line["SalesOrderNumber"]].append(line)
    return lines


def test_computed_property_selected_filtered_and_sorted(client: TestClient, backend: Backend) -> None:
    body = _get(client, "SalesOrderHeadersV2", {
        "$select": "SalesOrderNumber", "$orderby": "SalesOrderNumber", "$top": "6",
        "$expand": "SalesOrderLines($compute=LineAmount mul 2 as Double,OrderedSalesQuantity add 1 as More;"
                   "$select=InventoryLotId,Double,More;$filter=Double gt 20000;$orderby=Double desc;$top=3;$count=true)",
    })
    lines = _lines_by_order(backend)
    orders = sorted(o["SalesOrderNumber"] for o in oracle.sales_orders(backend.engine, ["usmf"]))[:6]
    assert [row["SalesOrderNumber"] for row in body["value"]] == orders
    for row in body["value"]:
        matching = [line for line in lines[row["SalesOrderNumber"]] if line["LineAmount"] * 2 > 20000]
        ranked = sorted(matching, key=lambda line: (-line["LineAmount"], line["InventoryLotId"]))[:3]
        assert row["SalesOrderLines@odata.count"] == len(matching)
        assert [{key: value for key, value in line.items() if key != "@odata.etag"} for line in row["SalesOrderLines"]] == [
            {"InventoryLotId": line["InventoryLotId"], "Double": line["LineAmount"] * 2,
             "More": line["OrderedSalesQuantity"] + 1}
            for line in ranked
        ]
    assert any(row["SalesOrderLines"] for row in body["value"])


def test_computed_property_of_a_single_valued_expansion(client: TestClient, backend: Backend) -> None:
    body = _get(client, "SalesOrderLines", {
        "$select": "InventoryLotId", "$orderby": "InventoryLotId", "$top": "5",
        "$expand": "SalesOrderHeader($compute=year(OrderCreationDateTime) as Year,"
                   "concat(SalesOrderNumber,'-x') as Label;$select=Year,Label)",
    })
    orders = {o["SalesOrderNumber"]: o for o in oracle.sales_orders(backend.engine, ["usmf"])}
    lines = sorted(oracle.sales_lines(backend.engine, ["usmf"]), key=lambda line: line["InventoryLotId"])[:5]
    assert [
        (row["InventoryLotId"], row["SalesOrderHeader"]["Year"], row["SalesOrderHeader"]["Label"]) for row in body["value"]
    ] == [
        (line["InventoryLotId"], orders[line["SalesOrderNumber"]]["OrderCreationDateTime"].year,
         line["SalesOrderNumber"] + "-x")
        for line in lines
    ]


def test_computed_property_without_select_comes_after_the_properties(client: TestClient, backend: Backend) -> None:
    body = _get(client, "CustomersV3", {
        "$select": "CustomerAccount", "$top": "1", "$orderby": "CustomerAccount",
        "$expand": "SalesOrders($compute=SalesOrderNumber eq 'none' as Never;$top=1;$orderby=SalesOrderNumber)",
    })
    for row in body["value"]:
        for order in row["SalesOrders"]:
            assert list(order)[-1] == "Never" and order["Never"] is False


def test_errors(sqlite_client: TestClient) -> None:
    for expand, status, text in (
        ("SalesOrderLines($compute=LineAmount mul 2 as LineAmount)", 400, "LineAmount is already a property name"),
        ("SalesOrderLines($compute=LineAmont mul 2 as D)", 400, "Did you mean 'LineAmount'?"),
        ("SalesOrderLines($compute=null as D)", 400, "D has no type"),
        ("SalesOrderLines($compute=LineAmount mul 2 as D;$select=E)", 400, "has no property E"),
        ("SalesOrderLines($filter=D gt 1)", 400, "has no property D"),
    ):
        response = sqlite_client.get("/data/SalesOrderHeadersV2", params={"$expand": expand})
        assert response.status_code == status, (expand, response.text)
        assert text in response.json()["error"]["message"], expand
