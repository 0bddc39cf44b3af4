"""Every property of CustomersV3 and SalesOrderLines, read straight from the physical tables.

Like tests/oracle.py (whose enum maps it reuses) this never imports the gateway's catalog or planner:
the joins are written by hand from DOMAIN.md, and values come back as plain Python (Decimal for
amounts, naive UTC datetimes, enum member names, None for a missing outer-joined address).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select

from gateway.demo import schema as s
from tests.oracle import CUST_VENDOR_BLOCKED, DIR_PARTY_TYPE, SALES_STATUS

Row = dict[str, Any]

CUSTOMER_KEY = ("dataAreaId", "CustomerAccount")
SALES_LINE_KEY = ("dataAreaId", "InventoryLotId")


def _rows(engine: Engine, statement: Any) -> list[Row]:
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(statement)]


def _decimal(value: Any) -> Decimal:
    # SQLite hands back floats for NUMERIC columns; str() gives their shortest exact decimal text.
    return value if isinstance(value, Decimal) else Decimal(str(value))


def customers(engine: Engine) -> list[Row]:
    """CustomersV3 of every company: CUSTTABLE ⋈ DIRPARTYTABLE ⟕ LOGISTICSPOSTALADDRESS."""
    c, p, a = s.CUSTTABLE, s.DIRPARTYTABLE, s.LOGISTICSPOSTALADDRESS
    statement = select(
        c.c.DATAAREAID.label("dataAreaId"),
        c.c.ACCOUNTNUM.label("CustomerAccount"),
        p.c.PARTYNUMBER.label("PartyNumber"),
        p.c.NAME.label("OrganizationName"),
        p.c.PARTYTYPE.label("PartyType"),
        c.c.CUSTGROUP.label("CustomerGroupId"),
        c.c.CURRENCY.label("SalesCurrencyCode"),
        c.c.CREDITMAX.label("CreditLimit"),
        c.c.BLOCKED.label("OnHoldStatus"),
        p.c.LANGUAGEID.label("LanguageId"),
        a.c.STREET.label("AddressStreet"),
        a.c.CITY.label("AddressCity"),
        a.c.STATE.label("AddressState"),
        a.c.ZIPCODE.label("AddressZipCode"),
        a.c.COUNTRYREGIONID.label("AddressCountryRegionId"),
        c.c.CREATEDDATETIME.label("CreatedDateTime"),
    ).select_from(c.join(p, p.c.RECID == c.c.PARTY).outerjoin(a, a.c.RECID == p.c.PRIMARYADDRESS))
    rows = _rows(engine, statement)
    for row in rows:
        row["PartyType"] = DIR_PARTY_TYPE[row["PartyType"]]
        row["OnHoldStatus"] = CUST_VENDOR_BLOCKED[row["OnHoldStatus"]]
        row["CreditLimit"] = _decimal(row["CreditLimit"])
    return rows


def sales_lines(engine: Engine) -> list[Row]:
    """SalesOrderLines of every company: SALESLINE alone."""
    line = s.SALESLINE
    statement = select(
        line.c.DATAAREAID.label("dataAreaId"),
        line.c.INVENTTRANSID.label("InventoryLotId"),
        line.c.SALESID.label("SalesOrderNumber"),
        line.c.LINENUM.label("LineNumber"),
        line.c.ITEMID.label("ItemNumber"),
        line.c.SALESQTY.label("OrderedSalesQuantity"),
        line.c.SALESPRICE.label("SalesPrice"),
        line.c.LINEAMOUNT.label("LineAmount"),
        line.c.SALESUNIT.label("SalesUnitSymbol"),
        line.c.SALESSTATUS.label("SalesOrderLineStatus"),
        line.c.INVENTCOLORID.label("ProductColorId"),
        line.c.INVENTSIZEID.label("ProductSizeId"),
    )
    rows = _rows(engine, statement)
    for row in rows:
        row["SalesOrderLineStatus"] = SALES_STATUS[row["SalesOrderLineStatus"]]
        for name in ("LineNumber", "OrderedSalesQuantity", "SalesPrice", "LineAmount"):
            row[name] = _decimal(row[name])
    return rows
