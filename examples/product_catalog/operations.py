"""Python implementations of the example catalog's operations (operations/*.yaml name them)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import text

from gateway.errors import BadRequest
from gateway.operations.call import OperationCall


def most_expensive(call: OperationCall) -> dict[str, Any] | None:
    """The key of the most expensive product (ties: the smallest ID)."""
    row = call.connection.execute(text("SELECT product_id FROM product ORDER BY price DESC, product_id LIMIT 1")).first()
    return None if row is None else {"ID": row[0]}


def discount(call: OperationCall) -> dict[str, Any]:
    """Lower the bound product's price by `percent` (1 to 90), to the cent."""
    percent = call.parameters["percent"]
    if not 1 <= percent <= 90:
        raise BadRequest(f"percent must be from 1 to 90, not {percent}", target="percent")
    assert call.binding is not None
    product = call.read("Products", call.binding)
    assert product is not None
    price = Decimal(str(product["Price"])) * (100 - percent) / 100
    call.update("Products", call.binding, {"Price": str(price.quantize(Decimal("0.01"), ROUND_HALF_UP))})
    return call.binding
