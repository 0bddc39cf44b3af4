"""The independent side of every comparison: hand-written joins over the physical F&O tables.

Nothing here imports the gateway's catalog or planner. Each function reads the physical rows the way
DOMAIN.md describes the entity and returns plain dicts keyed by the entity's property names, with
enums as member names; tests then filter and sort them in plain Python.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select

from gateway.demo import schema as s

CUST_VENDOR_BLOCKED = {0: "No", 1: "Invoice", 2: "All", 3: "Payment", 4: "Requisition", 5: "Never"}
DIR_PARTY_TYPE = {1: "Person", 2: "Organization"}
SALES_STATUS = {0: "None", 1: "Backorder", 2: "Delivered", 3: "Invoiced", 4: "Canceled"}


def _rows(engine: Engine, statement: Any) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(statement)]


def customers(engine: Engine, companies: Sequence[str]) -> list[dict[str, Any]]:
    c, p, a, g = s.CUSTTABLE, s.DIRPARTYTABLE, s.LOGISTICSPOSTALADDRESS, s.CUSTGROUP
    statement = (
        select(
            c.c.DATAAREAID.label("dataAreaId"),
            c.c.ACCOUNTNUM.label("CustomerAccount"),
            p.c.PARTYNUMBER.label("PartyNumber"),
            p.c.NAME.label("OrganizationName"),
            p.c.PARTYTYPE.label("PartyType"),
            c.c.CUSTGROUP.label("CustomerGroupId"),
            c.c.CURRENCY.label("SalesCurrencyCode"),
            c.c.CREDITMAX.label("CreditLimit"),
            c.c.BLOCKED.label("OnHoldStatus"),
            a.c.CITY.label("AddressCity"),
            a.c.STATE.label("AddressState"),
            c.c.CREATEDDATETIME.label("CreatedDateTime"),
            g.c.NAME.label("GroupDescription"),
        )
        .select_from(
            c.join(p, p.c.RECID == c.c.PARTY)
            .outerjoin(a, a.c.RECID == p.c.PRIMARYADDRESS)
            .outerjoin(g, (g.c.DATAAREAID == c.c.DATAAREAID) & (g.c.CUSTGROUP == c.c.CUSTGROUP))
        )
        .where(c.c.DATAAREAID.in_(list(companies)))
    )
    rows = _rows(engine, statement)
    for row in rows:
        row["PartyType"] = DIR_PARTY_TYPE[row["PartyType"]]
        row["OnHoldStatus"] = CUST_VENDOR_BLOCKED[row["OnHoldStatus"]]
        row["CreditLimit"] = Decimal(str(row["CreditLimit"]))
    return rows


def sales_orders(engine: Engine, companies: Sequence[str]) -> list[dict[str, Any]]:
    h = s.SALESTABLE
    statement = select(
        h.c.DATAAREAID.label("dataAreaId"),
        h.c.SALESID.label("SalesOrderNumber"),
        h.c.CUSTACCOUNT.label("OrderingCustomerAccountNumber"),
        h.c.SALESSTATUS.label("SalesOrderStatus"),
        h.c.SHIPPINGDATEREQUESTED.label("RequestedShippingDate"),
        h.c.CREATEDDATETIME.label("OrderCreationDateTime"),
    ).where(h.c.DATAAREAID.in_(list(companies)))
    rows = _rows(engine, statement)
    for row in rows:
        row["SalesOrderStatus"] = SALES_STATUS[row["SalesOrderStatus"]]
    return rows


def sales_lines(engine: Engine, companies: Sequence[str]) -> list[dict[str, Any]]:
    line = s.SALESLINE
    statement = select(
        line.c.DATAAREAID.label("dataAreaId"),
        line.c.INVENTTRANSID.label("InventoryLotId"),
        line.c.SALESID.label("SalesOrderNumber"),
        line.c.LINENUM.label("LineNumber"),
        line.c.ITEMID.label("ItemNumber"),
        line.c.LINEAMOUNT.label("LineAmount"),
        line.c.SALESQTY.label("OrderedSalesQuantity"),
    ).where(line.c.DATAAREAID.in_(list(companies)))
    rows = _rows(engine, statement)
    for row in rows:
        for name in ("LineNumber", "LineAmount", "OrderedSalesQuantity"):
            row[name] = Decimal(str(row[name]))
    return rows


def as_utc_text(value: dt.datetime) -> str:
    return value.replace(microsecond=0).isoformat() + "Z"


def sort_key_nulls_first(value: Any) -> tuple[int, Any]:
    """OData order: null before every value in ascending order."""
    return (0, "") if value is None else (1, value)
