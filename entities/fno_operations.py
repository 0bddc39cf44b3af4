"""The F&O catalog's operations (entities/fno/operations/): sales order confirmation, cancellation, total.

Each writes through OperationCall, so the header and its lines change exactly as if the caller had
PATCHed them: the caller's privileges and companies apply, the audit log records it, data events are
raised, and dual-write carries the new statuses to the Dataverse side in the same transaction.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import column, func, select, table

from gateway.errors import Conflict
from gateway.operations.call import OperationCall

HEADERS = "SalesOrderHeadersV2"
LINES = "SalesOrderLines"


def confirm_sales_order(call: OperationCall) -> dict[str, Any]:
    """A new order (status None) becomes an open order (Backorder), with its lines; it needs lines."""
    order = _order(call)
    if order["SalesOrderStatus"] != "None":
        raise Conflict(f"only a sales order with status None can be confirmed; "
                       f"{order['SalesOrderNumber']} is {order['SalesOrderStatus']}")
    lines = _lines(call, order)
    if not lines:
        raise Conflict(f"sales order {order['SalesOrderNumber']} has no lines to confirm")
    _set_status(call, order, lines, "Backorder")
    return call.binding or {}


def cancel_sales_order(call: OperationCall) -> dict[str, Any]:
    """An order nothing has been delivered or invoiced of becomes Canceled, with its lines."""
    order = _order(call)
    if order["SalesOrderStatus"] not in ("None", "Backorder"):
        raise Conflict(f"sales order {order['SalesOrderNumber']} is {order['SalesOrderStatus']}: only new and open "
                       "orders can be canceled")
    _set_status(call, order, _lines(call, order), "Canceled")
    return call.binding or {}


# The physical table, named through SQLAlchemy so that each dialect quotes it its way.
_SALESLINE = table("SALESLINE", column("DATAAREAID"), column("SALESID"), column("LINEAMOUNT"))


def order_total(call: OperationCall) -> Decimal:
    """The sum of the bound order's line amounts (0 without lines)."""
    assert call.binding is not None
    total = call.connection.execute(
        select(func.coalesce(func.sum(_SALESLINE.c.LINEAMOUNT), 0)).where(
            _SALESLINE.c.DATAAREAID == call.binding["dataAreaId"],
            _SALESLINE.c.SALESID == call.binding["SalesOrderNumber"])).scalar_one()
    return Decimal(str(total))


def _order(call: OperationCall) -> dict[str, Any]:
    assert call.binding is not None  # bound to one order (the catalog says so)
    order = call.read(HEADERS, call.binding)
    assert order is not None  # the gateway found it before calling
    return order


def _lines(call: OperationCall, order: dict[str, Any]) -> list[dict[str, Any]]:
    return call.keys(LINES, {"dataAreaId": order["dataAreaId"], "SalesOrderNumber": order["SalesOrderNumber"]})


def _set_status(call: OperationCall, order: dict[str, Any], lines: list[dict[str, Any]], status: str) -> None:
    assert call.binding is not None
    call.update(HEADERS, call.binding, {"SalesOrderStatus": status})
    for line in lines:
        call.update(LINES, line, {"SalesOrderLineStatus": status})
