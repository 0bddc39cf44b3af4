"""Differential test: the gateway against the `odata-query` package (PyPI) on the same physical tables.

odata-query parses a $filter and turns it into a SQLAlchemy ORM where-clause for a mapped class.
Here the mapped classes are minimal declarative models over hand-written selects of the physical
F&O tables, labelled with the entity property names (CustomersV3: CUSTTABLE ⋈ DIRPARTYTABLE ⟕
LOGISTICSPOSTALADDRESS; SalesOrderLines: SALESLINE), enums as CASE expressions giving member names,
and ORM relationships for the navigation properties. Each filter of FILTERS runs through
`odata_query.sqlalchemy.apply_odata_query` and through the gateway (GET /data/<set>?cross-company=true),
and the key sets must agree — and agree with a plain-Python predicate over the rows.

Where odata-query is known to be wrong (ODATA_QUERY_DEVIATIONS) the gateway is checked against the
plain-Python truth alone, and odata-query must still differ from it (so the table stays accurate).
The SQLite engine used for odata-query gets `PRAGMA case_sensitive_like = ON`, as the gateway's does,
so that LIKE differences are about translation, not about the connection's settings.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, and_, case, create_engine, event, select
from sqlalchemy.orm import DeclarativeBase, Session, foreign, relationship
from starlette.testclient import TestClient

from gateway.demo import schema as s
from tests.conftest import Backend
from tests.oracle import CUST_VENDOR_BLOCKED, DIR_PARTY_TYPE, SALES_STATUS
from tests.property import rows as physical

odata_query = pytest.importorskip(
    "odata_query.sqlalchemy", reason="pip install -e '.[test]' installs odata-query"
)

NS = "Microsoft.Dynamics.DataEntities"
Row = dict[str, Any]
Key = tuple[Any, ...]

# odata-query logs "Failed to infer type for Identifier(...)" for every property it cannot type.
logging.getLogger("odata_query").setLevel(logging.ERROR)


# ------------------------------------------------------------------------------ ORM models
class Base(DeclarativeBase):
    pass


_c, _p, _a, _g, _h, _l = (
    s.CUSTTABLE,
    s.DIRPARTYTABLE,
    s.LOGISTICSPOSTALADDRESS,
    s.CUSTGROUP,
    s.SALESTABLE,
    s.SALESLINE,
)

_customers = (
    select(
        _c.c.DATAAREAID.label("dataAreaId"),
        _c.c.ACCOUNTNUM.label("CustomerAccount"),
        _p.c.PARTYNUMBER.label("PartyNumber"),
        _p.c.NAME.label("OrganizationName"),
        case(DIR_PARTY_TYPE, value=_p.c.PARTYTYPE).label("PartyType"),
        _c.c.CUSTGROUP.label("CustomerGroupId"),
        _c.c.CURRENCY.label("SalesCurrencyCode"),
        _c.c.CREDITMAX.label("CreditLimit"),
        case(CUST_VENDOR_BLOCKED, value=_c.c.BLOCKED).label("OnHoldStatus"),
        _a.c.CITY.label("AddressCity"),
        _a.c.STATE.label("AddressState"),
        _c.c.CREATEDDATETIME.label("CreatedDateTime"),
    )
    .select_from(_c.join(_p, _p.c.RECID == _c.c.PARTY).outerjoin(_a, _a.c.RECID == _p.c.PRIMARYADDRESS))
    .subquery("customers_v3")
)
_groups = select(
    _g.c.DATAAREAID.label("dataAreaId"),
    _g.c.CUSTGROUP.label("CustomerGroupId"),
    _g.c.NAME.label("Description"),
).subquery("customer_groups")
_orders = select(
    _h.c.DATAAREAID.label("dataAreaId"),
    _h.c.SALESID.label("SalesOrderNumber"),
    _h.c.CUSTACCOUNT.label("OrderingCustomerAccountNumber"),
    case(SALES_STATUS, value=_h.c.SALESSTATUS).label("SalesOrderStatus"),
).subquery("sales_order_headers")
_lines = select(
    _l.c.DATAAREAID.label("dataAreaId"),
    _l.c.INVENTTRANSID.label("InventoryLotId"),
    _l.c.SALESID.label("SalesOrderNumber"),
    _l.c.LINENUM.label("LineNumber"),
    _l.c.ITEMID.label("ItemNumber"),
    _l.c.SALESQTY.label("OrderedSalesQuantity"),
    _l.c.SALESPRICE.label("SalesPrice"),
    _l.c.LINEAMOUNT.label("LineAmount"),
    _l.c.SALESUNIT.label("SalesUnitSymbol"),
    case(SALES_STATUS, value=_l.c.SALESSTATUS).label("SalesOrderLineStatus"),
    _l.c.INVENTCOLORID.label("ProductColorId"),
    _l.c.INVENTSIZEID.label("ProductSizeId"),
).subquery("sales_order_lines")


class CustomerGroup(Base):
    __table__ = _groups
    __mapper_args__ = {  # noqa: RUF012 - SQLAlchemy reads it once
        "primary_key": [_groups.c.dataAreaId, _groups.c.CustomerGroupId]
    }


class SalesOrderHeader(Base):
    __table__ = _orders
    __mapper_args__ = {  # noqa: RUF012 - SQLAlchemy reads it once
        "primary_key": [_orders.c.dataAreaId, _orders.c.SalesOrderNumber]
    }


class Customer(Base):
    __table__ = _customers
    __mapper_args__ = {  # noqa: RUF012 - SQLAlchemy reads it once
        "primary_key": [_customers.c.dataAreaId, _customers.c.CustomerAccount]
    }

    CustomerGroup = relationship(
        CustomerGroup,
        primaryjoin=lambda: and_(
            foreign(Customer.dataAreaId) == CustomerGroup.dataAreaId,
            foreign(Customer.CustomerGroupId) == CustomerGroup.CustomerGroupId,
        ),
        uselist=False,
        viewonly=True,
    )
    SalesOrders = relationship(
        SalesOrderHeader,
        primaryjoin=lambda: and_(
            foreign(SalesOrderHeader.dataAreaId) == Customer.dataAreaId,
            foreign(SalesOrderHeader.OrderingCustomerAccountNumber) == Customer.CustomerAccount,
        ),
        viewonly=True,
    )


class SalesOrderLine(Base):
    __table__ = _lines
    __mapper_args__ = {  # noqa: RUF012 - SQLAlchemy reads it once
        "primary_key": [_lines.c.dataAreaId, _lines.c.InventoryLotId]
    }

    SalesOrderHeader = relationship(
        SalesOrderHeader,
        primaryjoin=lambda: and_(
            foreign(SalesOrderLine.dataAreaId) == SalesOrderHeader.dataAreaId,
            foreign(SalesOrderLine.SalesOrderNumber) == SalesOrderHeader.SalesOrderNumber,
        ),
        uselist=False,
        viewonly=True,
    )


@dataclass(frozen=True)
class EntityMapping:
    model: type[Base]
    key: tuple[str, ...]
    rows: Callable[[Engine], list[Row]]


ENTITIES = {
    "CustomersV3": EntityMapping(Customer, ("dataAreaId", "CustomerAccount"), physical.customers),
    "SalesOrderLines": EntityMapping(SalesOrderLine, ("dataAreaId", "InventoryLotId"), physical.sales_lines),
}


# ------------------------------------------------------------------------------ the filters
def _orders_by_customer(engine: Engine) -> dict[tuple[str, str], list[str]]:
    statuses: dict[tuple[str, str], list[str]] = {}
    with engine.connect() as connection:
        for area, account, status in connection.execute(
            select(_h.c.DATAAREAID, _h.c.CUSTACCOUNT, _h.c.SALESSTATUS)
        ):
            statuses.setdefault((area, account), []).append(SALES_STATUS[status])
    return statuses


def _lookup(engine: Engine, statement: Any) -> dict[tuple[str, str], Any]:
    with engine.connect() as connection:
        return {(area, code): value for area, code, value in connection.execute(statement)}


def _extra(engine: Engine) -> dict[str, Any]:
    return {
        "orders": _orders_by_customer(engine),
        "groups": _lookup(engine, select(_g.c.DATAAREAID, _g.c.CUSTGROUP, _g.c.NAME)),
        "order_status": {
            key: SALES_STATUS[value]
            for key, value in _lookup(engine, select(_h.c.DATAAREAID, _h.c.SALESID, _h.c.SALESSTATUS)).items()
        },
    }


def _order_statuses(r: Row, x: dict[str, Any]) -> list[str]:
    statuses: list[str] = x["orders"].get((r["dataAreaId"], r["CustomerAccount"]), [])
    return statuses


D = Decimal
Predicate = Callable[[Row, dict[str, Any]], bool]

# (id, entity set, $filter, plain-Python truth)
FILTERS: list[tuple[str, str, str, Predicate]] = [
    ("decimal-gt", "CustomersV3", "CreditLimit gt 100000", lambda r, x: r["CreditLimit"] > 100000),
    ("decimal-le", "CustomersV3", "CreditLimit le 2500.50", lambda r, x: r["CreditLimit"] <= D("2500.50")),
    ("decimal-eq-int", "CustomersV3", "CreditLimit eq 2000", lambda r, x: r["CreditLimit"] == 2000),
    (
        "arithmetic",
        "CustomersV3",
        "CreditLimit mul 2 sub 1000 gt 300000",
        lambda r, x: r["CreditLimit"] * 2 - 1000 > 300000,
    ),
    (
        "enum-member-string",
        "CustomersV3",
        "OnHoldStatus eq 'Invoice'",
        lambda r, x: r["OnHoldStatus"] == "Invoice",
    ),
    (
        "enum-in",
        "CustomersV3",
        "OnHoldStatus in ('All','Never')",
        lambda r, x: r["OnHoldStatus"] in ("All", "Never"),
    ),
    (
        "enum-qualified",
        "CustomersV3",
        f"OnHoldStatus eq {NS}.CustVendorBlocked'No'",
        lambda r, x: r["OnHoldStatus"] == "No",
    ),
    (
        "enum-has",
        "CustomersV3",
        f"PartyType has {NS}.DirPartyType'Person'",
        lambda r, x: r["PartyType"] == "Person",
    ),
    (
        "string-quote",
        "CustomersV3",
        "OrganizationName eq 'O''Brien & Sons'",
        lambda r, x: r["OrganizationName"] == "O'Brien & Sons",
    ),
    (
        "startswith-umlaut",
        "CustomersV3",
        "startswith(OrganizationName,'Müller')",
        lambda r, x: r["OrganizationName"].startswith("Müller"),
    ),
    (
        "contains",
        "CustomersV3",
        "contains(OrganizationName,'Contoso')",
        lambda r, x: "Contoso" in r["OrganizationName"],
    ),
    (
        "contains-case",
        "CustomersV3",
        "contains(OrganizationName,'contoso')",
        lambda r, x: "contoso" in r["OrganizationName"],
    ),
    (
        "contains-percent",
        "CustomersV3",
        "contains(OrganizationName,'%')",
        lambda r, x: "%" in r["OrganizationName"],
    ),
    (
        "contains-underscore",
        "CustomersV3",
        "contains(OrganizationName,'_')",
        lambda r, x: "_" in r["OrganizationName"],
    ),
    (
        "startswith-underscore",
        "CustomersV3",
        "startswith(OrganizationName,'_')",
        lambda r, x: r["OrganizationName"].startswith("_"),
    ),
    (
        "endswith-percent-dot",
        "CustomersV3",
        "endswith(OrganizationName,'%.')",
        lambda r, x: r["OrganizationName"].endswith("%."),
    ),
    (
        "contains-bracket",
        "CustomersV3",
        "contains(OrganizationName,'[West]')",
        lambda r, x: "[West]" in r["OrganizationName"],
    ),
    (
        "tolower",
        "CustomersV3",
        "contains(tolower(OrganizationName),'contoso')",
        lambda r, x: "contoso" in r["OrganizationName"].lower(),
    ),
    (
        "toupper-eq",
        "CustomersV3",
        "toupper(AddressState) eq 'WA'",
        lambda r, x: r["AddressState"] is not None and r["AddressState"].upper() == "WA",
    ),
    (
        "trim",
        "CustomersV3",
        "trim(AddressCity) eq 'Seattle'",
        lambda r, x: r["AddressCity"] is not None and r["AddressCity"].strip() == "Seattle",
    ),
    (
        "length-umlaut",
        "CustomersV3",
        "length(OrganizationName) eq 11",
        lambda r, x: len(r["OrganizationName"]) == 11,
    ),
    (
        "concat",
        "CustomersV3",
        "concat(concat(AddressCity,', '),AddressState) eq 'Seattle, WA'",
        lambda r, x: (
            r["AddressCity"] is not None and f"{r['AddressCity']}, {r['AddressState']}" == "Seattle, WA"
        ),
    ),
    (
        "concat-null",
        "CustomersV3",
        "concat(AddressCity,'x') eq 'x'",
        lambda r, x: r["AddressCity"] is not None and r["AddressCity"] + "x" == "x",
    ),
    (
        "in-list",
        "CustomersV3",
        "CustomerGroupId in ('10','20')",
        lambda r, x: r["CustomerGroupId"] in ("10", "20"),
    ),
    (
        "in-with-null",
        "CustomersV3",
        "AddressCity in ('Seattle',null)",
        lambda r, x: r["AddressCity"] in ("Seattle", None),
    ),
    ("eq-null", "CustomersV3", "AddressCity eq null", lambda r, x: r["AddressCity"] is None),
    ("ne-null", "CustomersV3", "AddressCity ne null", lambda r, x: r["AddressCity"] is not None),
    ("ne-keeps-null", "CustomersV3", "AddressCity ne 'Seattle'", lambda r, x: r["AddressCity"] != "Seattle"),
    (
        "gt-drops-null",
        "CustomersV3",
        "AddressCity gt 'M'",
        lambda r, x: r["AddressCity"] is not None and r["AddressCity"] > "M",
    ),
    (
        "and-or-parens",
        "CustomersV3",
        "(CreditLimit ge 1000 and CreditLimit le 5000) or OnHoldStatus eq 'All'",
        lambda r, x: 1000 <= r["CreditLimit"] <= 5000 or r["OnHoldStatus"] == "All",
    ),
    ("not", "CustomersV3", "not (CustomerGroupId eq '10')", lambda r, x: r["CustomerGroupId"] != "10"),
    (
        "not-contains",
        "CustomersV3",
        "not contains(OrganizationName,'e')",
        lambda r, x: "e" not in r["OrganizationName"],
    ),
    (
        "datetime-z",
        "CustomersV3",
        "CreatedDateTime lt 2020-01-01T00:00:00Z",
        lambda r, x: r["CreatedDateTime"] < dt.datetime(2020, 1, 1),
    ),
    # DE-001 was created 2018-08-26T07:15:32Z, i.e. 09:15:32+02:00: this bound is 06:15:32Z.
    (
        "datetime-offset",
        "CustomersV3",
        "CreatedDateTime ge 2018-08-26T08:15:32+02:00",
        lambda r, x: r["CreatedDateTime"] >= dt.datetime(2018, 8, 26, 6, 15, 32),
    ),
    ("year", "CustomersV3", "year(CreatedDateTime) eq 2019", lambda r, x: r["CreatedDateTime"].year == 2019),
    (
        "fno-wildcard",
        "CustomersV3",
        "OrganizationName eq '*Outlet*'",
        lambda r, x: "Outlet" in r["OrganizationName"],
    ),
    (
        "nav-single",
        "CustomersV3",
        "CustomerGroup/Description eq 'Wholesale customers'",
        lambda r, x: x["groups"].get((r["dataAreaId"], r["CustomerGroupId"])) == "Wholesale customers",
    ),
    (
        "nav-any",
        "CustomersV3",
        "SalesOrders/any(o:o/SalesOrderStatus eq 'Invoiced')",
        lambda r, x: "Invoiced" in _order_statuses(r, x),
    ),
    (
        "nav-all",
        "CustomersV3",
        "SalesOrders/all(o:o/SalesOrderStatus eq 'Invoiced')",
        lambda r, x: all(status == "Invoiced" for status in _order_statuses(r, x)),
    ),
    (
        "nav-any-enum-qualified",
        "CustomersV3",
        f"SalesOrders/any(o:o/SalesOrderStatus eq {NS}.SalesStatus'Canceled')",
        lambda r, x: "Canceled" in _order_statuses(r, x),
    ),
    (
        "line-amount",
        "SalesOrderLines",
        "LineAmount gt 1000 and SalesUnitSymbol eq 'ea'",
        lambda r, x: r["LineAmount"] > 1000 and r["SalesUnitSymbol"] == "ea",
    ),
    (
        "line-status",
        "SalesOrderLines",
        "SalesOrderLineStatus eq 'Backorder'",
        lambda r, x: r["SalesOrderLineStatus"] == "Backorder",
    ),
    (
        "line-empty-string",
        "SalesOrderLines",
        "ProductSizeId eq '' and ProductColorId ne ''",
        lambda r, x: r["ProductSizeId"] == "" and r["ProductColorId"] != "",
    ),
    (
        "line-in",
        "SalesOrderLines",
        "ItemNumber in ('D0001','M0001')",
        lambda r, x: r["ItemNumber"] in ("D0001", "M0001"),
    ),
    (
        "line-endswith",
        "SalesOrderLines",
        "endswith(InventoryLotId,'17')",
        lambda r, x: r["InventoryLotId"].endswith("17"),
    ),
    (
        "line-decimal-eq",
        "SalesOrderLines",
        "LineNumber eq 1 and OrderedSalesQuantity ge 50.5",
        lambda r, x: r["LineNumber"] == 1 and r["OrderedSalesQuantity"] >= D("50.5"),
    ),
    (
        "line-product",
        "SalesOrderLines",
        "SalesPrice mul OrderedSalesQuantity eq LineAmount",
        lambda r, x: r["SalesPrice"] * r["OrderedSalesQuantity"] == r["LineAmount"],
    ),
    (
        "line-nav",
        "SalesOrderLines",
        "SalesOrderHeader/SalesOrderStatus eq 'Delivered' and LineAmount lt 500",
        lambda r, x: (
            x["order_status"][(r["dataAreaId"], r["SalesOrderNumber"])] == "Delivered"
            and r["LineAmount"] < 500
        ),
    ),
]


ALL = ("sqlite", "postgresql", "mariadb")

# Filters whose right answer is "no row" on purpose: a translation that gets them wrong selects rows.
EMPTY_BY_DESIGN = {"contains-case", "startswith-underscore", "endswith-percent-dot", "concat-null"}

# filter id -> (backends where odata-query is wrong, why). The gateway is checked against the
# plain-Python truth there; odata-query must really differ from it.
ODATA_QUERY_DEVIATIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "enum-qualified": (
        ALL,
        "no enum literals: the lexer rejects Namespace.EnumType'Member' (ParsingException)",
    ),
    "nav-any-enum-qualified": (ALL, "no enum literals inside a lambda either (ParsingException)"),
    "enum-has": (ALL, "no `has` operator (ParsingException)"),
    "contains-percent": (
        ALL,
        "LIKE wildcards in the value are not escaped: contains(x,'%') is LIKE '%%%', true for every row",
    ),
    "contains-underscore": (ALL, "LIKE wildcards not escaped: contains(x,'_') matches every non-empty value"),
    "startswith-underscore": (
        ALL,
        "LIKE wildcards not escaped: startswith(x,'_') matches every non-empty value",
    ),
    "endswith-percent-dot": (
        ALL,
        "LIKE wildcards not escaped: endswith(x,'%.') is LIKE '%%.', any value ending in '.'",
    ),
    "ne-keeps-null": (
        ALL,
        "ne is a plain SQL !=, so rows where the property is null are dropped (OData: null ne 'x' is true)",
    ),
    "in-with-null": (
        ALL,
        "in (..., null) is a plain SQL IN, which never matches a null (OData: null in (null) is true)",
    ),
    "fno-wildcard": (
        ALL,
        "F&O's `eq '*text*'` wildcard is a gateway extension; odata-query compares the text literally",
    ),
    "concat-null": (
        ("sqlite", "postgresql"),
        (
            "concat() is SQL CONCAT: missing on this SQLite (OperationalError), and on PostgreSQL it treats null "
            "as '' (concat(null,'x') eq 'x' is true; OData: concat of null is null)"
        ),
    ),
    "concat": (
        ("sqlite",),
        "concat() is SQL CONCAT, which this SQLite lacks (OperationalError: no such function)",
    ),
    "datetime-offset": (
        ("sqlite", "mariadb"),
        "the offset of a date-time literal is dropped when the driver binds it (the wall-clock time is compared as UTC)",
    ),
    "line-product": (
        ("sqlite",),
        "decimal arithmetic in SQLite's binary floating point: 20.49 * 58 = 1188.4199999999998, not 1188.42",
    ),
}

# filter id -> (backends, reason): the gateway itself is wrong there (see test_filter_properties.KNOWN_BUGS).
GATEWAY_KNOWN_BUGS: dict[str, tuple[tuple[str, ...], str]] = {
}


# ------------------------------------------------------------------------------ fixtures and test
@pytest.fixture(scope="module")
def odata_query_engine(backend: Backend) -> Iterator[Engine]:
    """An engine for odata-query's statements; SQLite gets the gateway's case-sensitive LIKE."""
    engine = create_engine(backend.url)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _case_sensitive_like(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA case_sensitive_like = ON")
            cursor.close()

    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def truth_data(backend: Backend) -> dict[str, Any]:
    return {
        "rows": {name: mapping.rows(backend.engine) for name, mapping in ENTITIES.items()},
        "extra": _extra(backend.engine),
    }


def _gateway_keys(client: TestClient, entity_set: str, filter_text: str) -> set[Key]:
    key = ENTITIES[entity_set].key
    response = client.get(
        f"/data/{entity_set}",
        params={"$filter": filter_text, "$select": ",".join(key), "cross-company": "true"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "@odata.nextLink" not in body
    return {tuple(item[k] for k in key) for item in body["value"]}


def _odata_query_keys(engine: Engine, entity_set: str, filter_text: str) -> set[Key] | Exception:
    mapping = ENTITIES[entity_set]
    try:
        statement = odata_query.apply_odata_query(select(mapping.model), filter_text)
        with Session(engine) as session:
            return {
                tuple(getattr(obj, k) for k in mapping.key) for obj in session.execute(statement).scalars()
            }
    except Exception as error:  # noqa: BLE001 - a parse or database error is a result to compare too
        return error


@pytest.mark.parametrize(
    ("filter_id", "entity_set", "filter_text", "predicate"), FILTERS, ids=[f[0] for f in FILTERS]
)
def test_gateway_agrees_with_odata_query(
    request: pytest.FixtureRequest,
    client: TestClient,
    backend: Backend,
    odata_query_engine: Engine,
    truth_data: dict[str, Any],
    filter_id: str,
    entity_set: str,
    filter_text: str,
    predicate: Predicate,
) -> None:
    key = ENTITIES[entity_set].key
    rows = truth_data["rows"][entity_set]
    truth = {tuple(r[k] for k in key) for r in rows if predicate(r, truth_data["extra"])}
    assert len(truth) < len(rows), "the filter should not select every row"
    assert (len(truth) == 0) == (filter_id in EMPTY_BY_DESIGN), "the filter should select some rows"

    gateway_bug = GATEWAY_KNOWN_BUGS.get(filter_id)
    if gateway_bug is not None and backend.name in gateway_bug[0]:
        request.applymarker(pytest.mark.xfail(strict=True, reason=gateway_bug[1]))

    gateway = _gateway_keys(client, entity_set, filter_text)
    reference = _odata_query_keys(odata_query_engine, entity_set, filter_text)
    deviation = ODATA_QUERY_DEVIATIONS.get(filter_id)
    if deviation is not None and backend.name in deviation[0]:
        assert gateway == truth, (
            f"gateway vs plain Python: missing {sorted(truth - gateway)[:5]}, extra {sorted(gateway - truth)[:5]}"
        )
        assert reference != truth, f"odata-query is listed as wrong here ({deviation[1]}) but got it right"
        return
    assert not isinstance(reference, Exception), f"odata-query failed: {reference!r}"
    assert gateway == reference, (
        f"gateway vs odata-query: missing {sorted(reference - gateway)[:5]}, extra {sorted(gateway - reference)[:5]}"
    )
    assert gateway == truth, (
        f"both vs plain Python: missing {sorted(truth - gateway)[:5]}, extra {sorted(gateway - truth)[:5]}"
    )


def test_deviation_table_names_known_filters() -> None:
    names = {f[0] for f in FILTERS}
    assert set(ODATA_QUERY_DEVIATIONS) <= names
    assert set(GATEWAY_KNOWN_BUGS) <= names
