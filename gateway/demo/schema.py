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


# --- Organization hierarchy (issue 13) ---
# Operating units have a table of their own here (in F&O they are DirPartyTable rows of a derived
# type): the entities that join DIRPARTYTABLE (customers, vendors) must not see them.
OMOPERATINGUNIT = Table(
    "OMOPERATINGUNIT",
    metadata,
    *_system_columns(),
    Column("OPERATINGUNITNUMBER", String(8), nullable=False),
    Column("NAME", String(100), nullable=False),
    Column("NAMEALIAS", String(20), nullable=False, default=""),
    Column("OPERATINGUNITTYPE", Integer, nullable=False),  # enum OMOperatingUnitType
    Column("LANGUAGEID", String(7), nullable=False, default="en-us"),
    UniqueConstraint("OPERATINGUNITNUMBER", name="UQ_OMOPERATINGUNIT_NUMBER"),
    **MARIADB_TABLE_OPTIONS,
)

OMHIERARCHYTYPE = Table(
    "OMHIERARCHYTYPE",
    metadata,
    *_system_columns(),
    Column("NAME", String(60), nullable=False),
    Column("DESCRIPTION", String(255), nullable=False, default=""),
    UniqueConstraint("NAME", name="UQ_OMHIERARCHYTYPE_NAME"),
    **MARIADB_TABLE_OPTIONS,
)

# The purposes a hierarchy type serves (organization chart, security, ...); one default per purpose.
OMHIERARCHYPURPOSE = Table(
    "OMHIERARCHYPURPOSE",
    metadata,
    *_system_columns(),
    Column("HIERARCHYTYPE", BigInteger, nullable=False),  # → OMHIERARCHYTYPE.RECID
    Column("HIERARCHYPURPOSE", Integer, nullable=False),  # enum HierarchyPurpose
    Column("ISDEFAULT", Integer, nullable=False, default=0),  # enum NoYes
    UniqueConstraint("HIERARCHYTYPE", "HIERARCHYPURPOSE", name="UQ_OMHIERARCHYPURPOSE"),
    **MARIADB_TABLE_OPTIONS,
)

# One edge of a hierarchy, valid from VALIDFROM to VALIDTO (UTC); a root has no PARENTORGANIZATION.
# A unit moved to another parent keeps its old, expired edge beside the new one.
OMHIERARCHYRELATIONSHIP = Table(
    "OMHIERARCHYRELATIONSHIP",
    metadata,
    *_system_columns(),
    Column("HIERARCHYTYPE", BigInteger, nullable=False),  # → OMHIERARCHYTYPE.RECID
    Column("CHILDORGANIZATION", BigInteger, nullable=False),  # → OMOPERATINGUNIT.RECID
    Column("PARENTORGANIZATION", BigInteger, nullable=True),  # → OMOPERATINGUNIT.RECID
    Column("VALIDFROM", DateTime, nullable=False),
    Column("VALIDTO", DateTime, nullable=False),
    UniqueConstraint("HIERARCHYTYPE", "CHILDORGANIZATION", "VALIDFROM", name="UQ_OMHIERARCHYRELATIONSHIP"),
    Index("IX_OMHIERARCHYRELATIONSHIP_PARENT", "HIERARCHYTYPE", "PARENTORGANIZATION"),
    **MARIADB_TABLE_OPTIONS,
)


# --- Product master breadth (issue 13) ---
# Category hierarchies, their roles, categories and product assignments; the three dimension groups
# (shared, as in F&O); default order settings, unit conversions and barcodes of released products.
# Where F&O spreads a concept over setup tables (dimension group field setups, category translations),
# the flags and texts sit on the main row here: the entities read the same either way.

ECORESCATEGORYHIERARCHY = Table(
    "ECORESCATEGORYHIERARCHY",
    metadata,
    *_system_columns(),
    Column("NAME", String(128), nullable=False),
    Column("DESCRIPTION", String(255), nullable=False, default=""),
    UniqueConstraint("NAME", name="UQ_ECORESCATEGORYHIERARCHY"),
    **MARIADB_TABLE_OPTIONS,
)

# A hierarchy plays a role (EcoResCategoryNamedHierarchyRole): each role names at most one hierarchy.
ECORESCATEGORYHIERARCHYROLE = Table(
    "ECORESCATEGORYHIERARCHYROLE",
    metadata,
    *_system_columns(),
    Column("CATEGORYHIERARCHY", BigInteger, nullable=False),
    Column("NAMEDCATEGORYHIERARCHYROLE", Integer, nullable=False),
    UniqueConstraint("NAMEDCATEGORYHIERARCHYROLE", name="UQ_ECORESCATEGORYHIERARCHYROLE"),
    **MARIADB_TABLE_OPTIONS,
)

ECORESCATEGORY = Table(
    "ECORESCATEGORY",
    metadata,
    *_system_columns(),
    Column("CATEGORYHIERARCHY", BigInteger, nullable=False),
    Column("PARENTCATEGORY", BigInteger, nullable=False, default=0),  # 0: the hierarchy's root
    Column("NAME", String(254), nullable=False),
    Column("CODE", String(20), nullable=False, default=""),
    Column("LEVEL_", Integer, nullable=False, default=1),
    Column("DESCRIPTION", String(255), nullable=False, default=""),
    UniqueConstraint("CATEGORYHIERARCHY", "NAME", name="UQ_ECORESCATEGORY"),
    Index("IX_ECORESCATEGORY_PARENT", "PARENTCATEGORY"),
    **MARIADB_TABLE_OPTIONS,
)

# A product's category in one hierarchy (at most one per hierarchy).
ECORESPRODUCTCATEGORY = Table(
    "ECORESPRODUCTCATEGORY",
    metadata,
    *_system_columns(),
    Column("PRODUCT", BigInteger, nullable=False),
    Column("CATEGORYHIERARCHY", BigInteger, nullable=False),
    Column("CATEGORY", BigInteger, nullable=False),
    UniqueConstraint("PRODUCT", "CATEGORYHIERARCHY", name="UQ_ECORESPRODUCTCATEGORY"),
    Index("IX_ECORESPRODUCTCATEGORY_CATEGORY", "CATEGORY"),
    **MARIADB_TABLE_OPTIONS,
)

ECORESPRODUCTDIMENSIONGROUP = Table(
    "ECORESPRODUCTDIMENSIONGROUP",
    metadata,
    *_system_columns(),
    Column("NAME", String(10), nullable=False),
    Column("DESCRIPTION", String(60), nullable=False, default=""),
    Column("ISCOLORACTIVE", Integer, nullable=False, default=0),
    Column("ISSIZEACTIVE", Integer, nullable=False, default=0),
    Column("ISSTYLEACTIVE", Integer, nullable=False, default=0),
    Column("ISCONFIGURATIONACTIVE", Integer, nullable=False, default=0),
    UniqueConstraint("NAME", name="UQ_ECORESPRODUCTDIMENSIONGROUP"),
    **MARIADB_TABLE_OPTIONS,
)

# Which product dimension group a product master uses.
ECORESPRODUCTDIMENSIONGROUPPRODUCT = Table(
    "ECORESPRODUCTDIMENSIONGROUPPRODUCT",
    metadata,
    *_system_columns(),
    Column("PRODUCT", BigInteger, nullable=False),
    Column("PRODUCTDIMENSIONGROUP", BigInteger, nullable=False),
    UniqueConstraint("PRODUCT", name="UQ_ECORESPRODUCTDIMENSIONGROUPPRODUCT"),
    **MARIADB_TABLE_OPTIONS,
)

ECORESSTORAGEDIMENSIONGROUP = Table(
    "ECORESSTORAGEDIMENSIONGROUP",
    metadata,
    *_system_columns(),
    Column("NAME", String(10), nullable=False),
    Column("DESCRIPTION", String(60), nullable=False, default=""),
    Column("ISWAREHOUSEMANDATORY", Integer, nullable=False, default=0),
    Column("ISLOCATIONACTIVE", Integer, nullable=False, default=0),
    Column("ISWAREHOUSEWHSENABLED", Integer, nullable=False, default=0),
    UniqueConstraint("NAME", name="UQ_ECORESSTORAGEDIMENSIONGROUP"),
    **MARIADB_TABLE_OPTIONS,
)

ECORESTRACKINGDIMENSIONGROUP = Table(
    "ECORESTRACKINGDIMENSIONGROUP",
    metadata,
    *_system_columns(),
    Column("NAME", String(10), nullable=False),
    Column("DESCRIPTION", String(60), nullable=False, default=""),
    Column("ISBATCHACTIVE", Integer, nullable=False, default=0),
    Column("ISSERIALACTIVE", Integer, nullable=False, default=0),
    UniqueConstraint("NAME", name="UQ_ECORESTRACKINGDIMENSIONGROUP"),
    **MARIADB_TABLE_OPTIONS,
)


def _order_setup_table(name: str) -> Table:
    """INVENTITEMSALESSETUP / PURCHSETUP / INVENTSETUP: a released item's default order settings for one
    kind of order; the row with INVENTDIMID 'AllBlank' is the item's default (others are per site)."""
    return Table(
        name,
        metadata,
        *_system_columns(),
        Column("DATAAREAID", String(4), nullable=False),
        Column("ITEMID", String(20), nullable=False),
        Column("INVENTDIMID", String(20), nullable=False, default="AllBlank"),
        Column("LOWESTQTY", Amount, nullable=False, default=0),
        Column("HIGHESTQTY", Amount, nullable=False, default=0),
        Column("STANDARDQTY", Amount, nullable=False, default=0),
        Column("MULTIPLEQTY", Amount, nullable=False, default=0),
        Column("LEADTIME", Integer, nullable=False, default=0),
        Column("STOPPED", Integer, nullable=False, default=0),
        UniqueConstraint("DATAAREAID", "ITEMID", "INVENTDIMID", name=f"UQ_{name}"),
        **MARIADB_TABLE_OPTIONS,
    )


INVENTITEMSALESSETUP = _order_setup_table("INVENTITEMSALESSETUP")
INVENTITEMPURCHSETUP = _order_setup_table("INVENTITEMPURCHSETUP")
INVENTITEMINVENTSETUP = _order_setup_table("INVENTITEMINVENTSETUP")

# PRODUCT 0: a general conversion; otherwise the ECORESPRODUCT it is specific to.
UNITOFMEASURECONVERSION = Table(
    "UNITOFMEASURECONVERSION",
    metadata,
    *_system_columns(),
    Column("FROMUNITOFMEASURE", BigInteger, nullable=False),
    Column("TOUNITOFMEASURE", BigInteger, nullable=False),
    Column("PRODUCT", BigInteger, nullable=False, default=0),
    Column("FACTOR", Numeric(32, 12), nullable=False, default=1),
    Column("NUMERATOR", Integer, nullable=False, default=1),
    Column("DENOMINATOR", Integer, nullable=False, default=1),
    Column("INNEROFFSET", Amount, nullable=False, default=0),
    Column("OUTEROFFSET", Amount, nullable=False, default=0),
    Column("ROUNDING", Integer, nullable=False, default=0),
    UniqueConstraint("FROMUNITOFMEASURE", "TOUNITOFMEASURE", "PRODUCT", name="UQ_UNITOFMEASURECONVERSION"),
    Index("IX_UNITOFMEASURECONVERSION_PRODUCT", "PRODUCT"),
    **MARIADB_TABLE_OPTIONS,
)

INVENTITEMBARCODE = Table(
    "INVENTITEMBARCODE",
    metadata,
    *_system_columns(),
    Column("DATAAREAID", String(4), nullable=False),
    Column("ITEMBARCODE", String(80), nullable=False),
    Column("ITEMID", String(20), nullable=False),
    Column("INVENTDIMID", String(20), nullable=False, default="AllBlank"),
    Column("BARCODESETUPID", String(10), nullable=False, default=""),
    Column("QTY", Amount, nullable=False, default=1),
    Column("UNITID", String(10), nullable=False, default=""),
    Column("DESCRIPTION", String(60), nullable=False, default=""),
    Column("USEFORINPUT", Integer, nullable=False, default=0),
    Column("USEFORPRINTING", Integer, nullable=False, default=0),
    UniqueConstraint("DATAAREAID", "ITEMBARCODE", name="UQ_INVENTITEMBARCODE"),
    Index("IX_INVENTITEMBARCODE_ITEM", "DATAAREAID", "ITEMID"),
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
