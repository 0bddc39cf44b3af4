"""The physical F&O tables of the demo database (DOMAIN.md §1), as SQLAlchemy Core metadata.

Only the demo generator and the tests use this module: the gateway itself serves whatever database
a catalog describes and never imports it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    UniqueConstraint,
)

metadata = MetaData()

# MariaDB compares strings with its connection collation unless told otherwise; a binary NO PAD
# collation makes `eq` and LIKE case-sensitive and trailing spaces significant there, as they are on
# PostgreSQL and SQLite (OData semantics).
MARIADB_TABLE_OPTIONS: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_nopad_bin"}

# F&O stores amounts as numeric(32,16); six places are plenty for the demo and keep MariaDB happy.
Amount = Numeric(32, 6)


def _system_columns() -> list[Column[object]]:
    """RECID (unique, never reused) and RECVERSION (changes on every update), on every table."""
    return [
        Column("RECID", BigInteger, primary_key=True, autoincrement=False),
        Column("RECVERSION", Integer, nullable=False, default=1),
    ]


DATAAREA = Table(
    "DATAAREA",
    metadata,
    *_system_columns(),
    Column("ID", String(4), nullable=False),
    Column("NAME", String(60), nullable=False),
    UniqueConstraint("ID", name="UQ_DATAAREA_ID"),
    **MARIADB_TABLE_OPTIONS,
)

LOGISTICSPOSTALADDRESS = Table(
    "LOGISTICSPOSTALADDRESS",
    metadata,
    *_system_columns(),
    Column("STREET", String(250), nullable=False, default=""),
    Column("CITY", String(60), nullable=False, default=""),
    Column("STATE", String(10), nullable=False, default=""),
    Column("ZIPCODE", String(10), nullable=False, default=""),
    Column("COUNTRYREGIONID", String(10), nullable=False, default=""),
    **MARIADB_TABLE_OPTIONS,
)

DIRPARTYTABLE = Table(
    "DIRPARTYTABLE",
    metadata,
    *_system_columns(),
    Column("PARTYNUMBER", String(40), nullable=False),
    Column("NAME", String(100), nullable=False),
    Column("PARTYTYPE", Integer, nullable=False),
    Column("LANGUAGEID", String(7), nullable=False, default="en-us"),
    Column("PRIMARYADDRESS", BigInteger, nullable=True),
    UniqueConstraint("PARTYNUMBER", name="UQ_DIRPARTYTABLE_PARTYNUMBER"),
    **MARIADB_TABLE_OPTIONS,
)

CUSTGROUP = Table(
    "CUSTGROUP",
    metadata,
    *_system_columns(),
    Column("DATAAREAID", String(4), nullable=False),
    Column("CUSTGROUP", String(10), nullable=False),
    Column("NAME", String(60), nullable=False, default=""),
    Column("PAYMTERMID", String(10), nullable=False, default=""),
    UniqueConstraint("DATAAREAID", "CUSTGROUP", name="UQ_CUSTGROUP"),
    **MARIADB_TABLE_OPTIONS,
)

CUSTTABLE = Table(
    "CUSTTABLE",
    metadata,
    *_system_columns(),
    Column("DATAAREAID", String(4), nullable=False),
    Column("ACCOUNTNUM", String(20), nullable=False),
    Column("PARTY", BigInteger, nullable=False),
    Column("CUSTGROUP", String(10), nullable=False, default=""),
    Column("CURRENCY", String(3), nullable=False, default=""),
    Column("CREDITMAX", Amount, nullable=False, default=0),
    Column("BLOCKED", Integer, nullable=False, default=0),
    Column("CREATEDDATETIME", DateTime, nullable=False),
    Column("MODIFIEDDATETIME", DateTime, nullable=False),
    UniqueConstraint("DATAAREAID", "ACCOUNTNUM", name="UQ_CUSTTABLE"),
    Index("IX_CUSTTABLE_PARTY", "PARTY"),
    Index("IX_CUSTTABLE_GROUP", "DATAAREAID", "CUSTGROUP"),
    **MARIADB_TABLE_OPTIONS,
)

VENDGROUP = Table(
    "VENDGROUP",
    metadata,
    *_system_columns(),
    Column("DATAAREAID", String(4), nullable=False),
    Column("VENDGROUP", String(10), nullable=False),
    Column("NAME", String(60), nullable=False, default=""),
    UniqueConstraint("DATAAREAID", "VENDGROUP", name="UQ_VENDGROUP"),
    **MARIADB_TABLE_OPTIONS,
)

VENDTABLE = Table(
    "VENDTABLE",
    metadata,
    *_system_columns(),
    Column("DATAAREAID", String(4), nullable=False),
    Column("ACCOUNTNUM", String(20), nullable=False),
    Column("PARTY", BigInteger, nullable=False),
    Column("VENDGROUP", String(10), nullable=False, default=""),
    Column("CURRENCY", String(3), nullable=False, default=""),
    Column("BLOCKED", Integer, nullable=False, default=0),
    UniqueConstraint("DATAAREAID", "ACCOUNTNUM", name="UQ_VENDTABLE"),
    Index("IX_VENDTABLE_PARTY", "PARTY"),
    **MARIADB_TABLE_OPTIONS,
)

ECORESPRODUCT = Table(
    "ECORESPRODUCT",
    metadata,
    *_system_columns(),
    Column("DISPLAYPRODUCTNUMBER", String(70), nullable=False),
    Column("SEARCHNAME", String(60), nullable=False, default=""),
    Column("PRODUCTTYPE", Integer, nullable=False),
    Column("PRODUCTSUBTYPE", Integer, nullable=False),
    Column("PRODUCTMASTER", BigInteger, nullable=True),
    Column("COLOR", String(10), nullable=False, default=""),
    Column("SIZE_", String(10), nullable=False, default=""),
    Column("STYLE", String(10), nullable=False, default=""),
    Column("CONFIG", String(10), nullable=False, default=""),
    UniqueConstraint("DISPLAYPRODUCTNUMBER", name="UQ_ECORESPRODUCT"),
    Index("IX_ECORESPRODUCT_MASTER", "PRODUCTMASTER"),
    **MARIADB_TABLE_OPTIONS,
)


def _dimension_table(name: str) -> Table:
    return Table(
        name,
        metadata,
        *_system_columns(),
        Column("NAME", String(10), nullable=False),
        Column("DESCRIPTION", String(60), nullable=False, default=""),
        UniqueConstraint("NAME", name=f"UQ_{name}"),
        **MARIADB_TABLE_OPTIONS,
    )


ECORESCOLOR = _dimension_table("ECORESCOLOR")
ECORESSIZE = _dimension_table("ECORESSIZE")
ECORESSTYLE = _dimension_table("ECORESSTYLE")
ECORESCONFIGURATION = _dimension_table("ECORESCONFIGURATION")

UNITOFMEASURE = Table(
    "UNITOFMEASURE",
    metadata,
    *_system_columns(),
    Column("SYMBOL", String(10), nullable=False),
    Column("UNITOFMEASURECLASS", Integer, nullable=False),
    Column("DECIMALPRECISION", Integer, nullable=False, default=0),
    UniqueConstraint("SYMBOL", name="UQ_UNITOFMEASURE"),
    **MARIADB_TABLE_OPTIONS,
)

INVENTTABLE = Table(
    "INVENTTABLE",
    metadata,
    *_system_columns(),
    Column("DATAAREAID", String(4), nullable=False),
    Column("ITEMID", String(20), nullable=False),
    Column("PRODUCT", BigInteger, nullable=False),
    Column("NAMEALIAS", String(20), nullable=False, default=""),
    Column("PRIMARYVENDORID", String(20), nullable=False, default=""),
    Column("NETWEIGHT", Amount, nullable=False, default=0),
    Column("SALESPRICE", Amount, nullable=False, default=0),
    Column("SALESUNIT", String(10), nullable=False, default=""),
    Column("CREATEDDATETIME", DateTime, nullable=False),
    UniqueConstraint("DATAAREAID", "ITEMID", name="UQ_INVENTTABLE"),
    Index("IX_INVENTTABLE_PRODUCT", "PRODUCT"),
    **MARIADB_TABLE_OPTIONS,
)

SALESTABLE = Table(
    "SALESTABLE",
    metadata,
    *_system_columns(),
    Column("DATAAREAID", String(4), nullable=False),
    Column("SALESID", String(20), nullable=False),
    Column("CUSTACCOUNT", String(20), nullable=False),
    Column("SALESSTATUS", Integer, nullable=False, default=0),
    Column("CURRENCYCODE", String(3), nullable=False, default=""),
    Column("SHIPPINGDATEREQUESTED", Date, nullable=False),
    Column("CUSTOMERREF", String(60), nullable=False, default=""),
    Column("CREATEDDATETIME", DateTime, nullable=False),
    UniqueConstraint("DATAAREAID", "SALESID", name="UQ_SALESTABLE"),
    Index("IX_SALESTABLE_CUST", "DATAAREAID", "CUSTACCOUNT"),
    **MARIADB_TABLE_OPTIONS,
)

SALESLINE = Table(
    "SALESLINE",
    metadata,
    *_system_columns(),
    Column("DATAAREAID", String(4), nullable=False),
    Column("SALESID", String(20), nullable=False),
    Column("LINENUM", Amount, nullable=False),
    Column("INVENTTRANSID", String(20), nullable=False),
    Column("ITEMID", String(20), nullable=False),
    Column("SALESQTY", Amount, nullable=False, default=0),
    Column("SALESPRICE", Amount, nullable=False, default=0),
    Column("LINEAMOUNT", Amount, nullable=False, default=0),
    Column("SALESUNIT", String(10), nullable=False, default=""),
    Column("SALESSTATUS", Integer, nullable=False, default=0),
    Column("INVENTCOLORID", String(10), nullable=False, default=""),
    Column("INVENTSIZEID", String(10), nullable=False, default=""),
    UniqueConstraint("DATAAREAID", "INVENTTRANSID", name="UQ_SALESLINE"),
    Index("IX_SALESLINE_ORDER", "DATAAREAID", "SALESID", "LINENUM"),
    Index("IX_SALESLINE_ITEM", "DATAAREAID", "ITEMID"),
    **MARIADB_TABLE_OPTIONS,
)


# Like F&O's SYSTEMSEQUENCES: the next RECID (one counter for every table) and other number sequences.
# Writers take numbers from here in short transactions of their own, so numbers are never reused.
SYSTEMSEQUENCES = Table(
    "SYSTEMSEQUENCES",
    metadata,
    Column("NAME", String(40), primary_key=True),
    Column("NEXTVAL", BigInteger, nullable=False),
    **MARIADB_TABLE_OPTIONS,
)

# --- Currencies and exchange rates (issue 13) ---------------------------------------------------
# F&O's CURRENCY and its exchange rates: a rate type (Default, Budget) has currency pairs, a pair
# has date-effective rates (VALIDFROM..VALIDTO inclusive; the rate is per EXCHANGERATEDISPLAYFACTOR
# units of the from-currency, e.g. 100 JPY).

CURRENCY = Table(
    "CURRENCY",
    metadata,
    *_system_columns(),
    Column("CURRENCYCODE", String(3), nullable=False),
    Column("TXT", String(120), nullable=False, default=""),
    Column("SYMBOL", String(5), nullable=False, default=""),
    Column("ROUNDINGPRECISION", Amount, nullable=False, default=Decimal("0.01")),
    UniqueConstraint("CURRENCYCODE", name="UQ_CURRENCY"),
    **MARIADB_TABLE_OPTIONS,
)

EXCHANGERATETYPE = Table(
    "EXCHANGERATETYPE",
    metadata,
    *_system_columns(),
    Column("NAME", String(20), nullable=False),
    Column("DESCRIPTION", String(60), nullable=False, default=""),
    UniqueConstraint("NAME", name="UQ_EXCHANGERATETYPE"),
    **MARIADB_TABLE_OPTIONS,
)

EXCHANGERATECURRENCYPAIR = Table(
    "EXCHANGERATECURRENCYPAIR",
    metadata,
    *_system_columns(),
    Column("EXCHANGERATETYPE", BigInteger, nullable=False),
    Column("FROMCURRENCYCODE", String(3), nullable=False),
    Column("TOCURRENCYCODE", String(3), nullable=False),
    Column("EXCHANGERATEDISPLAYFACTOR", Integer, nullable=False, default=0),
    UniqueConstraint("EXCHANGERATETYPE", "FROMCURRENCYCODE", "TOCURRENCYCODE", name="UQ_EXCHANGERATECURRENCYPAIR"),
    **MARIADB_TABLE_OPTIONS,
)

EXCHANGERATE = Table(
    "EXCHANGERATE",
    metadata,
    *_system_columns(),
    Column("EXCHANGERATECURRENCYPAIR", BigInteger, nullable=False),
    Column("VALIDFROM", Date, nullable=False),
    Column("VALIDTO", Date, nullable=False),
    Column("EXCHANGERATE", Numeric(32, 12), nullable=False),
    UniqueConstraint("EXCHANGERATECURRENCYPAIR", "VALIDFROM", name="UQ_EXCHANGERATE"),
    **MARIADB_TABLE_OPTIONS,
)
