"""$apply's concat, top/bottom count/sum/percent, rollup, join/outerjoin and groupby with any nested
transformations, on every backend, against plain Python over the oracle's physical-table rows.

The expectations follow OData Data Aggregation 4.0 literally (3.2.2 concat, 3.2.3 groupby and
rollup, 3.3.1 the top/bottom loop, 3.5.1 join): `_ranked` below is the spec's loop, run on rows read
by tests/oracle.py. Where the spec lets the service choose (the order that breaks ties, the order of
rows), the gateway's documented choice is spelled out: ties by the entity key, rows of a subset in
key order, groups in the order of their grouping values.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests import oracle
from tests.conftest import Backend
from tests.plan.test_apply import SALES_STATUS_ORDER, _get, _group, _lines_with_orders

Row = dict[str, Any]


def _lines(backend: Backend) -> list[Row]:
    """Sales lines of the default company in key order (dataAreaId, InventoryLotId)."""
    return sorted(oracle.sales_lines(backend.engine, ["usmf"]), key=lambda r: r["InventoryLotId"])


def _ranked(rows: list[Row], kind: str, amount: Decimal, value: Callable[[Row], Any]) -> list[Row]:
    """OData Data Aggregation 4.0, 3.3.1: stable-sort by the value (descending for top...), take rows
    until the condition holds before the next one, keep them in the input's order (`rows`' order)."""
    top = kind.startswith("top")
    measure = kind.removeprefix("top").removeprefix("bottom")
    ranking = sorted(rows, key=value, reverse=top)  # (sorted is stable, also with reverse=True)
    total = sum((value(r) for r in rows), Decimal(0))
    taken: list[Row] = []
    for row in ranking:
        so_far = sum((value(r) for r in taken), Decimal(0))
        if measure == "count" and len(taken) == amount:
            break
        if measure == "sum" and so_far >= amount:
            break
        if measure == "percent" and so_far * 100 >= amount * total:
            break
        taken.append(row)
    kept = {id(row) for row in taken}
    return [row for row in rows if id(row) in kept]


def _amount_rows(body: dict[str, Any]) -> list[tuple[str, Decimal]]:
    return [(row["InventoryLotId"], row["LineAmount"]) for row in body["value"]]


# ---------------------------------------------------------------------- top/bottom


@pytest.mark.parametrize(
    ("kind", "amount"),
    [("topcount", "5"), ("bottomcount", "3"), ("topsum", "700000"), ("bottomsum", "250.5"), ("toppercent", "10"),
     ("bottompercent", "2.5"), ("toppercent", "100")],
)
def test_top_and_bottom(client: TestClient, backend: Backend, kind: str, amount: str) -> None:
    body = _get(client, "SalesOrderLines", {"$apply": f"{kind}({amount},LineAmount)",
                                            "$select": "InventoryLotId,LineAmount"})
    lines = _lines(backend)
    expected = _ranked(lines, kind, Decimal(amount), lambda r: r["LineAmount"])
    assert 0 < len(expected) < len(lines) or (kind, amount) == ("toppercent", "100")
    assert _amount_rows(body) == [(r["InventoryLotId"], r["LineAmount"]) for r in expected]
    assert body["@odata.context"].endswith("$metadata#SalesOrderLines(InventoryLotId,LineAmount)")


def test_whole_entities_are_kept(client: TestClient, backend: Backend) -> None:
    body = _get(client, "SalesOrderLines", {"$apply": "topcount(2,LineAmount)"})
    assert body["@odata.context"].endswith("$metadata#SalesOrderLines")  # still the entity set's entities
    expected = _ranked(_lines(backend), "topcount", Decimal(2), lambda r: r["LineAmount"])
    assert [row["InventoryLotId"] for row in body["value"]] == [r["InventoryLotId"] for r in expected]
    assert {"ItemNumber", "SalesOrderLineStatus", "LineNumber"} <= set(body["value"][0])


def test_sums_stop_exactly_at_the_amount(client: TestClient, backend: Backend) -> None:
    """The row whose value reaches the amount is taken, the next is not: exact on every database
    (decimal sums on SQLite are whole cents)."""
    lines = _lines(backend)
    smallest = sorted(lines, key=lambda r: r["LineAmount"])
    three = sum((r["LineAmount"] for r in smallest[:3]), Decimal(0))
    for amount, count in ((three, 3), (three + Decimal("0.01"), 4), (three - Decimal("0.01"), 3)):
        body = _get(client, "SalesOrderLines", {"$apply": f"bottomsum({amount},LineAmount)", "$select": "InventoryLotId"})
        assert len(body["value"]) == count, amount
        assert len(_ranked(lines, "bottomsum", amount, lambda r: r["LineAmount"])) == count


def test_ranked_by_an_expression_then_aggregated(client: TestClient, backend: Backend) -> None:
    body = _get(client, "SalesOrderLines", {
        "$apply": "filter(ItemNumber ne 'D0001')/topcount(7,LineAmount mul -1)/aggregate($count as N,LineAmount with sum as S)"
    })
    lines = [r for r in _lines(backend) if r["ItemNumber"] != "D0001"]
    expected = _ranked(lines, "topcount", Decimal(7), lambda r: -r["LineAmount"])
    assert body["value"] == [{"N": 7, "S": sum((r["LineAmount"] for r in expected), Decimal(0))}]


@pytest.mark.parametrize(
    ("kind", "amount"),
    [("topcount", "99999999999999999999"), ("topsum", "1e300"), ("bottomsum", "-99999999999999999999999999999"),
     ("toppercent", "1e-30"), ("topsum", "1e-300"), ("bottompercent", "99.99999999999")],
)
def test_extreme_amounts(client: TestClient, backend: Backend, kind: str, amount: str) -> None:
    body = _get(client, "SalesOrderLines", {"$apply": f"{kind}({amount},LineAmount)/aggregate($count as N)"})
    expected = _ranked(_lines(backend), kind, Decimal(amount), lambda r: r["LineAmount"])
    assert body["value"] == [{"N": len(expected)}]


def test_parameter_alias_as_amount(client: TestClient, backend: Backend) -> None:
    body = _get(client, "SalesOrderLines", {"$apply": "topcount(@n,LineAmount)", "@n": "4", "$select": "InventoryLotId"})
    expected = _ranked(_lines(backend), "topcount", Decimal(4), lambda r: r["LineAmount"])
    assert [row["InventoryLotId"] for row in body["value"]] == [r["InventoryLotId"] for r in expected]


# ---------------------------------------------------------------------- groupby with any transformations


def test_topcount_per_group(client: TestClient, backend: Backend) -> None:
    body = _get(client, "SalesOrderLines", {"$apply": "groupby((ItemNumber),topcount(2,LineAmount))",
                                            "$select": "ItemNumber,InventoryLotId,LineAmount"})
    expected = [
        {"ItemNumber": item, "InventoryLotId": r["InventoryLotId"], "LineAmount": r["LineAmount"]}
        for item, rows in sorted(_group(_lines(backend), lambda r: r["ItemNumber"]).items())
        for r in _ranked(rows, "topcount", Decimal(2), lambda r: r["LineAmount"])
    ]
    assert body["value"] == expected


def test_top_then_aggregate_per_group(client: TestClient, backend: Backend) -> None:
    body = _get(client, "SalesOrderLines", {
        "$apply": "groupby((SalesOrderHeader/OrderingCustomerAccountNumber),"
                  "orderby(LineAmount desc)/top(2)/aggregate(LineAmount with sum as TopTwo,$count as N))",
    })
    groups = _group(_lines_with_orders(backend, ["usmf"]), lambda r: r["OrderCustomer"])
    expected = []
    for customer, rows in sorted(groups.items(), key=lambda item: oracle.sort_key_nulls_first(item[0])):
        best = sorted(rows, key=lambda r: (-r["LineAmount"], r["InventoryLotId"]))[:2]
        expected.append({"SalesOrderHeader": {"OrderingCustomerAccountNumber": customer},
                         "TopTwo": sum((r["LineAmount"] for r in best), Decimal(0)), "N": len(best)})
    assert body["value"] == expected
    assert body["@odata.context"].endswith("(SalesOrderHeader(OrderingCustomerAccountNumber),TopTwo,N)")


def test_aggregate_of_a_group_emptied_by_a_filter(client: TestClient, backend: Backend) -> None:
    """3.2.3.1: T applies to each group's rows; aggregate of no rows is one row ($count 0, sum null)."""
    body = _get(client, "SalesOrderHeadersV2", {
        "$apply": "groupby((Customer/CustomerGroupId),filter(OrderingCustomerAccountNumber le 'US-005')"
                  "/aggregate($count as N,RequestedShippingDate with max as Last))",
    })
    groups = {c["CustomerAccount"]: c["CustomerGroupId"] for c in oracle.customers(backend.engine, ["usmf"])}
    orders = _group(oracle.sales_orders(backend.engine, ["usmf"]),
                    lambda o: groups.get(o["OrderingCustomerAccountNumber"]))
    expected: list[dict[str, Any]] = []
    for group, rows in sorted(orders.items(), key=lambda item: oracle.sort_key_nulls_first(item[0])):
        kept = [o for o in rows if o["OrderingCustomerAccountNumber"] <= "US-005"]
        last = max((o["RequestedShippingDate"] for o in kept), default=None)
        expected.append({"Customer": {"CustomerGroupId": group}, "N": len(kept),
                         "Last": None if last is None else last.isoformat()})
    assert any(row["N"] == 0 for row in expected) and any(row["N"] > 0 for row in expected)
    assert body["value"] == expected


def test_nested_groupby(client: TestClient, backend: Backend) -> None:
    body = _get(client, "SalesOrderLines", {
        "$apply": "groupby((SalesOrderNumber),groupby((ItemNumber),aggregate($count as N))/aggregate(N with max as MostLines))",
    })
    groups = _group(_lines(backend), lambda r: r["SalesOrderNumber"])
    expected = [
        {"SalesOrderNumber": number, "MostLines": max(Counter(r["ItemNumber"] for r in rows).values())}
        for number, rows in sorted(groups.items())
    ]
    assert body["value"] == expected
    assert any(row["MostLines"] > 1 for row in expected)


# ---------------------------------------------------------------------- concat


def test_concat_rows_keep_their_own_structure(client: TestClient, backend: Backend) -> None:
    body = _get(client, "SalesOrderLines", {
        "$apply": "concat(topcount(2,LineAmount),aggregate(LineAmount with sum as Total,$count as Lines))",
        "$select": "InventoryLotId,LineAmount,Total,Lines",
    })
    lines = _lines(backend)
    top = _ranked(lines, "topcount", Decimal(2), lambda r: r["LineAmount"])
    assert body["value"] == [
        *({"InventoryLotId": r["InventoryLotId"], "LineAmount": r["LineAmount"]} for r in top),
        {"Total": sum((r["LineAmount"] for r in lines), Decimal(0)), "Lines": len(lines)},
    ]


def test_concat_of_groupings_then_filter_and_orderby(client: TestClient, backend: Backend) -> None:
    apply = ("concat(groupby((ItemNumber),aggregate(LineAmount with sum as Total)),"
             "groupby((LineNumber),aggregate($count as N)))")
    lines = _lines(backend)
    per_item = {item: sum((r["LineAmount"] for r in rows), Decimal(0))
                for item, rows in _group(lines, lambda r: r["ItemNumber"]).items()}
    per_number = Counter(r["LineNumber"] for r in lines)
    body = _get(client, "SalesOrderLines", {"$apply": apply, "$count": "true"})
    assert body["value"] == [
        *({"ItemNumber": item, "Total": total} for item, total in sorted(per_item.items())),
        *({"LineNumber": number, "N": n} for number, n in sorted(per_number.items())),
    ]
    assert body["@odata.count"] == len(per_item) + len(per_number)
    assert body["@odata.context"].endswith("(ItemNumber,Total,LineNumber,N)")
    # Absent properties are null for $filter and $orderby (they are "aggregated away").
    filtered = _get(client, "SalesOrderLines", {"$apply": apply, "$filter": "N ne null or Total gt 400000",
                                                "$orderby": "N desc,Total desc"})
    big = sorted(((item, total) for item, total in per_item.items() if total > 400000), key=lambda i: -i[1])
    assert filtered["value"] == [
        *({"LineNumber": number, "N": n} for number, n in sorted(per_number.items(), key=lambda i: (-i[1], i[0]))),
        *({"ItemNumber": item, "Total": total} for item, total in big),
    ]


def test_concat_inside_groupby(client: TestClient, backend: Backend) -> None:
    body = _get(client, "SalesOrderLines", {
        "$apply": "filter(ItemNumber le 'D0003')/groupby((ItemNumber),concat(topcount(1,LineAmount),"
                  "aggregate(LineAmount with sum as Total)))",
        "$select": "ItemNumber,InventoryLotId,Total",
    })
    expected = []
    for item, rows in sorted(_group([r for r in _lines(backend) if r["ItemNumber"] <= "D0003"],
                                    lambda r: r["ItemNumber"]).items()):
        (best,) = _ranked(rows, "topcount", Decimal(1), lambda r: r["LineAmount"])
        expected.append({"ItemNumber": item, "InventoryLotId": best["InventoryLotId"]})
        expected.append({"ItemNumber": item, "Total": sum((r["LineAmount"] for r in rows), Decimal(0))})
    assert len(expected) >= 4
    assert body["value"] == expected


def test_concat_pages_by_position(client: TestClient, backend: Backend) -> None:
    params = {"$apply": "concat(groupby((ItemNumber),aggregate($count as N)),aggregate($count as N))"}
    prefer = {"Prefer": "odata.maxpagesize=4"}
    response = client.get("/data/SalesOrderLines", params=params, headers=prefer)
    served: list[dict[str, Any]] = []
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        served += body["value"]
        if "@odata.nextLink" not in body:
            break
        response = client.get(body["@odata.nextLink"], headers=prefer)
    lines = _lines(backend)
    counts = Counter(r["ItemNumber"] for r in lines)
    assert served == [*({"ItemNumber": item, "N": n} for item, n in sorted(counts.items())), {"N": len(lines)}]


# ---------------------------------------------------------------------- rollup


def test_rollup_adds_subtotals_without_the_rolled_up_property(client: TestClient, backend: Backend) -> None:
    body = _get(client, "SalesOrderLines", {
        "$apply": "groupby((rollup(SalesOrderHeader/SalesOrderStatus,ItemNumber)),"
                  "aggregate(LineAmount with sum as Total,$count as N))",
    })
    lines = _lines_with_orders(backend, ["usmf"])

    def totals(rows: list[Row]) -> dict[str, Any]:
        return {"Total": sum((r["LineAmount"] for r in rows), Decimal(0)), "N": len(rows)}

    def status_order(status: str | None) -> int:
        return -1 if status is None else SALES_STATUS_ORDER.index(status)

    finest = sorted(_group(lines, lambda r: (r["OrderStatus"], r["ItemNumber"])).items(),
                    key=lambda item: (status_order(item[0][0]), item[0][1]))
    coarse = sorted(_group(lines, lambda r: r["OrderStatus"]).items(), key=lambda item: status_order(item[0]))
    assert body["value"] == [
        *({"SalesOrderHeader": {"SalesOrderStatus": status}, "ItemNumber": item, **totals(rows)}
          for (status, item), rows in finest),
        *({"SalesOrderHeader": {"SalesOrderStatus": status}, **totals(rows)} for status, rows in coarse),
    ]
    assert body["@odata.context"].endswith("(SalesOrderHeader(SalesOrderStatus),ItemNumber,Total,N)")
    subtotals = _get(client, "SalesOrderLines", {
        "$apply": "groupby((rollup(SalesOrderHeader/SalesOrderStatus,ItemNumber)),aggregate($count as N))",
        "$filter": "ItemNumber eq null", "$orderby": "N desc",
    })
    assert [row["N"] for row in subtotals["value"]] == sorted((len(rows) for _, rows in coarse), reverse=True)


def test_two_rollups_give_every_combination_of_levels(client: TestClient, backend: Backend) -> None:
    body = _get(client, "SalesOrderLines", {
        "$apply": "groupby((rollup(SalesOrderHeader/SalesOrderStatus,SalesOrderHeader/OrderingCustomerAccountNumber),"
                  "rollup(ItemNumber,LineNumber),dataAreaId),aggregate(LineAmount with sum as Total))",
    })
    lines = _lines_with_orders(backend, ["usmf"])
    # The spec's example 22: the first rollup's levels vary slowest.
    groupings = [("OrderStatus", "OrderCustomer", "ItemNumber", "LineNumber"),
                 ("OrderStatus", "OrderCustomer", "ItemNumber"), ("OrderStatus", "ItemNumber", "LineNumber"),
                 ("OrderStatus", "ItemNumber")]
    names = {"OrderStatus": ("SalesOrderHeader", "SalesOrderStatus"),
             "OrderCustomer": ("SalesOrderHeader", "OrderingCustomerAccountNumber"),
             "ItemNumber": ("ItemNumber",), "LineNumber": ("LineNumber",)}
    served: dict[tuple[str, ...], Counter[tuple[Any, ...]]] = {}
    structures: list[tuple[str, ...]] = []
    for row in body["value"]:
        present = tuple(name for name, path in names.items()
                        if path[0] in row and (len(path) == 1 or path[1] in row[path[0]]))
        if not structures or structures[-1] != present:
            structures.append(present)
        values = tuple(row[names[n][0]] if len(names[n]) == 1 else row[names[n][0]][names[n][1]] for n in present)
        served.setdefault(present, Counter())[(*values, row["Total"])] += 1
        assert row["dataAreaId"] == "usmf"
    assert structures == groupings  # one block per grouping, in the spec's order
    for grouping in groupings:
        def key(row: Row, grouping: tuple[str, ...] = grouping) -> tuple[Any, ...]:
            return tuple(row[name] for name in grouping)

        expected = Counter((*values, sum((r["LineAmount"] for r in rows), Decimal(0)))
                           for values, rows in _group(lines, key).items())
        assert served[grouping] == expected, grouping


# ---------------------------------------------------------------------- join and outerjoin

SOME_ORDERS = "filter(SalesOrderNumber in ('SO-000001','SO-000003','SO-000004','SO-000010'))"


def _orders_with_lines(backend: Backend, numbers: set[str]) -> list[tuple[Row, list[Row]]]:
    orders = sorted((o for o in oracle.sales_orders(backend.engine, ["usmf"]) if o["SalesOrderNumber"] in numbers),
                    key=lambda o: o["SalesOrderNumber"])
    lines = _group(_lines(backend), lambda r: r["SalesOrderNumber"])
    return [(order, lines.get(order["SalesOrderNumber"], [])) for order in orders]


NUMBERS = {"SO-000001", "SO-000003", "SO-000004", "SO-000010"}


def test_join_gives_a_row_per_related_entity(client: TestClient, backend: Backend) -> None:
    body = _get(client, "SalesOrderHeadersV2", {
        "$apply": f"{SOME_ORDERS}/join(SalesOrderLines as Line)", "$select": "SalesOrderNumber,OrderingCustomerAccountNumber",
        "$expand": "Line($select=InventoryLotId,LineAmount)", "$count": "true",
    })
    expected = [
        {"SalesOrderNumber": order["SalesOrderNumber"], "OrderingCustomerAccountNumber": order["OrderingCustomerAccountNumber"],
         "Line": {"InventoryLotId": line["InventoryLotId"], "LineAmount": line["LineAmount"]}}
        for order, lines in _orders_with_lines(backend, NUMBERS) for line in lines
    ]
    assert len(expected) > len(NUMBERS)
    assert body["value"] == expected
    assert body["@odata.count"] == len(expected)
    assert body["@odata.context"].endswith(
        "$metadata#SalesOrderHeadersV2(SalesOrderNumber,OrderingCustomerAccountNumber,Line(InventoryLotId,LineAmount))"
    )
    # Without $expand the alias is not shown (a navigation property): the input rows, repeated.
    plain = _get(client, "SalesOrderHeadersV2", {"$apply": f"{SOME_ORDERS}/join(SalesOrderLines as Line)",
                                                 "$select": "SalesOrderNumber"})
    assert plain["value"] == [{"SalesOrderNumber": row["SalesOrderNumber"]} for row in expected]


def test_outerjoin_keeps_rows_without_related_rows(client: TestClient, backend: Backend) -> None:
    body = _get(client, "SalesOrderHeadersV2", {
        "$apply": f"{SOME_ORDERS}/outerjoin(SalesOrderLines as Big,filter(LineAmount gt 90000))",
        "$select": "SalesOrderNumber", "$expand": "Big($select=InventoryLotId)",
    })
    expected = []
    for order, lines in _orders_with_lines(backend, NUMBERS):
        big = [line for line in lines if line["LineAmount"] > 90000]
        expected += [{"SalesOrderNumber": order["SalesOrderNumber"], "Big": {"InventoryLotId": line["InventoryLotId"]}}
                     for line in big] or [{"SalesOrderNumber": order["SalesOrderNumber"], "Big": None}]
    assert any(row["Big"] is None for row in expected) and any(row["Big"] for row in expected)
    assert body["value"] == expected
    inner = _get(client, "SalesOrderHeadersV2", {
        "$apply": f"{SOME_ORDERS}/join(SalesOrderLines as Big,filter(LineAmount gt 90000))", "$select": "SalesOrderNumber",
        "$expand": "Big($select=InventoryLotId)"})
    assert inner["value"] == [row for row in expected if row["Big"] is not None]


def test_join_with_aggregate_gives_every_input_row(client: TestClient, backend: Backend) -> None:
    body = _get(client, "SalesOrderHeadersV2", {
        "$apply": f"{SOME_ORDERS}/join(SalesOrderLines as Big,filter(LineAmount gt 90000)"
                  "/aggregate($count as N,LineAmount with sum as Total))",
        "$select": "SalesOrderNumber", "$expand": "Big",
    })
    expected = []
    for order, lines in _orders_with_lines(backend, NUMBERS):
        big = [line["LineAmount"] for line in lines if line["LineAmount"] > 90000]
        expected.append({"SalesOrderNumber": order["SalesOrderNumber"],
                         "Big": {"N": len(big), "Total": sum(big, Decimal(0)) if big else None}})
    assert any(row["Big"]["N"] == 0 for row in expected)  # aggregate of an empty set: one row, count 0
    assert body["value"] == expected


def test_join_with_top_per_input_row(client: TestClient, backend: Backend) -> None:
    body = _get(client, "SalesOrderHeadersV2", {
        "$apply": f"{SOME_ORDERS}/join(SalesOrderLines as Best,orderby(LineAmount desc)/top(2))",
        "$select": "SalesOrderNumber", "$expand": "Best($select=LineAmount)",
    })
    expected = [
        {"SalesOrderNumber": order["SalesOrderNumber"], "Best": {"LineAmount": line["LineAmount"]}}
        for order, lines in _orders_with_lines(backend, NUMBERS)
        for line in sorted(lines, key=lambda r: (-r["LineAmount"], r["InventoryLotId"]))[:2]
    ]
    assert body["value"] == expected


def test_groupby_over_the_joined_rows(client: TestClient, backend: Backend) -> None:
    body = _get(client, "SalesOrderHeadersV2", {
        "$apply": "join(SalesOrderLines as Line)/groupby((OrderingCustomerAccountNumber,Line/ItemNumber),"
                  "aggregate(Line/LineAmount with sum as Total,$count as N))",
    })
    groups = _group(_lines_with_orders(backend, ["usmf"]), lambda r: (r["OrderCustomer"], r["ItemNumber"]))
    assert body["value"] == [
        {"OrderingCustomerAccountNumber": customer, "Line": {"ItemNumber": item},
         "Total": sum((r["LineAmount"] for r in rows), Decimal(0)), "N": len(rows)}
        for (customer, item), rows in sorted(groups.items())
    ]


def test_join_from_customers_through_two_levels(client: TestClient, backend: Backend) -> None:
    body = _get(client, "CustomersV3", {
        "$apply": "join(SalesOrders as Order,join(SalesOrderLines as Line))"
                  "/groupby((CustomerGroupId),aggregate(Order/Line/LineAmount with sum as Total))",
    })
    groups = {c["CustomerAccount"]: c["CustomerGroupId"] for c in oracle.customers(backend.engine, ["usmf"])}
    totals: dict[str | None, Decimal] = {}
    for line in _lines_with_orders(backend, ["usmf"]):
        if line["OrderCustomer"] in groups:  # (join keeps customers with orders, and orders with lines)
            group = groups[line["OrderCustomer"]]
            totals[group] = totals.get(group, Decimal(0)) + line["LineAmount"]
    assert body["value"] == [{"CustomerGroupId": g, "Total": t}
                             for g, t in sorted(totals.items(), key=lambda i: oracle.sort_key_nulls_first(i[0]))]


# ---------------------------------------------------------------------- errors (no database needed)

ERRORS = [
    ("topcount-negative", "SalesOrderLines", "topcount(-1,LineAmount)", "positive whole number of rows, not -1"),
    ("topcount-zero", "SalesOrderLines", "topcount(0,LineAmount)", "positive whole number of rows, not 0"),
    ("topcount-fraction", "SalesOrderLines", "bottomcount(1.5,LineAmount)", "positive whole number of rows"),
    ("toppercent-zero", "SalesOrderLines", "toppercent(0,LineAmount)", "greater than 0 and at most 100"),
    ("toppercent-over", "SalesOrderLines", "bottompercent(100.5,LineAmount)", "greater than 0 and at most 100"),
    ("topsum-of-strings", "SalesOrderLines", "topsum(10,ItemNumber)", "needs numbers, not Edm.String"),
    ("amount-not-a-number", "SalesOrderLines", "topcount(ItemNumber,LineAmount)", "must be a number"),
    ("amount-string", "SalesOrderLines", "topsum('10',LineAmount)", "must be a number"),
    ("ranked-unknown", "SalesOrderLines", "topcount(2,LineAmont)", "Did you mean 'LineAmount'?"),
    ("rollup-named", "SalesOrderLines", "groupby((rollup(Hierarchy)),aggregate($count as N))",
     "names a leveled hierarchy, and this service defines none"),
    ("rollup-unknown", "SalesOrderLines", "groupby((rollup(ItemNumber,LineAmont)))", "Did you mean 'LineAmount'?"),
    ("rollup-collection", "SalesOrderHeadersV2", "groupby((rollup(SalesOrderStatus,SalesOrderLines/ItemNumber)))",
     "SalesOrderLines is a collection"),
    ("rollup-too-many", "SalesOrderLines",
     "groupby((rollup(ItemNumber,LineNumber,LineAmount,SalesPrice,dataAreaId),rollup(ItemNumber,LineNumber,"
     "LineAmount,SalesPrice,dataAreaId),rollup(ItemNumber,LineNumber,LineAmount,SalesPrice)))", "at most 64"),
    ("join-single-valued", "SalesOrderLines", "join(SalesOrderHeader as H)", "SalesOrderHeader is single-valued"),
    ("join-property", "SalesOrderLines", "join(ItemNumber as H)", "collection-valued navigation property"),
    ("join-unknown", "SalesOrderHeadersV2", "join(SalesOrderLine as L)", "Did you mean 'SalesOrderLines'?"),
    ("join-alias-clash", "SalesOrderHeadersV2", "join(SalesOrderLines as CurrencyCode)", "the alias CurrencyCode"),
    ("join-cast", "SalesOrderHeadersV2", "join(SalesOrderLines/Ns.Other as L)", "not a type derived from"),
    ("join-after-aggregate", "SalesOrderHeadersV2", "groupby((SalesOrderStatus))/join(SalesOrderLines as L)",
     "has no navigation property SalesOrderLines"),
    ("concat-too-many", "SalesOrderLines", "concat(" + ",".join(["identity"] * 257) + ")", "more than 256"),
    ("concat-type-clash", "SalesOrderLines", "concat(aggregate($count as X),aggregate(ItemNumber with max as X))",
     "X is Edm.Int64 in one sequence and Edm.String in another"),
]


@pytest.mark.parametrize(("entity_set", "apply", "text"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_bad_input_is_a_bad_request(sqlite_client: TestClient, entity_set: str, apply: str, text: str) -> None:
    response = sqlite_client.get(f"/data/{entity_set}", params={"$apply": apply})
    assert response.status_code == 400, response.text
    assert text in response.json()["error"]["message"]


def test_expand_of_what_is_not_a_join_alias(sqlite_client: TestClient) -> None:
    response = sqlite_client.get("/data/SalesOrderHeadersV2", params={
        "$apply": "join(SalesOrderLines as L)", "$expand": "Customer"})
    assert response.status_code == 501
    assert "aliases of join(...)" in response.json()["error"]["message"]
    response = sqlite_client.get("/data/SalesOrderHeadersV2", params={
        "$apply": "join(SalesOrderLines as L)", "$expand": "L($select=Nope)"})
    assert response.status_code == 400
    assert "L has no property Nope" in response.json()["error"]["message"]
