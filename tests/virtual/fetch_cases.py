"""The FetchXML corpus: each query beside the OData request that means the same (test_fetchxml_corpus.py).

The OData side is written by hand from the meaning of the FetchXML (Dataverse's), not from what
gateway/fetchxml/translate.py makes of it: `like '%x%'` is `contains`, `between` is `ge and le`,
`last-x-days` is a pair of date bounds computed here, an inner 1:n link is `any()` plus the expanded
rows filtered alike, `not any` is `not ...any()`. Where the two disagree the gateway is wrong.

`links` says how the OData answer's expanded navigation properties become FetchXML's flattened
`alias.column` names: {navigation: alias} or {navigation: (alias, {nested navigation: alias})}.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

# ------------------------------------------------------------------ names
CUST, CUSTS = "mserp_custcustomerv3entity", "mserp_custcustomerv3entities"
HEAD, HEADS = "mserp_salesorderheaderv2entity", "mserp_salesorderheaderv2entities"
LINE, LINES = "mserp_salesorderlineentity", "mserp_salesorderlineentities"
PROD, PRODS = "mserp_ecoresreleasedproductv2entity", "mserp_ecoresreleasedproductv2entities"
VEND, VENDS = "mserp_vendvendorv2entity", "mserp_vendvendorv2entities"
GRP, GRPS = "mserp_custcustomergroupentity", "mserp_custcustomergroupentities"
UNIT, UNITS = "mserp_unitofmeasureentity", "mserp_unitofmeasureentities"

CUST_GROUP = "mserp_fk_custcustomergroupentity_id"  # customer -> group (n:1)
CUST_ORDERS = "mserp_FK_CustCustomerV3Entity_SalesOrders"  # customer -> headers (1:n)
HEAD_CUST = "mserp_fk_custcustomerv3entity_id"  # header -> customer (n:1)
HEAD_LINES = "mserp_FK_SalesOrderHeaderV2Entity_SalesOrderLines"  # header -> lines (1:n)
LINE_HEAD = "mserp_fk_salesorderheaderv2entity_id"  # line -> header (n:1)
LINE_PROD = "mserp_fk_ecoresreleasedproductv2entity_id"  # line -> released product (n:1)
PROD_LINES = "mserp_FK_EcoResReleasedProductV2Entity_SalesOrderLines"  # product -> lines (1:n)
GRP_CUSTS = "mserp_FK_CustCustomerGroupEntity_Customers"  # group -> customers (1:n)

# link-entity from/to pairs (from = the linked table's column, to = the parent's)
TO_GROUP = (GRP, "mserp_customergroupid", "mserp_customergroupid")
TO_ORDERS = (HEAD, "mserp_orderingcustomeraccountnumber", "mserp_customeraccount")
TO_CUSTOMER = (CUST, "mserp_customeraccount", "mserp_orderingcustomeraccountnumber")
TO_HEADER = (HEAD, "mserp_salesordernumber", "mserp_salesordernumber")
TO_LINES = (LINE, "mserp_salesordernumber", "mserp_salesordernumber")
TO_PRODUCT = (PROD, "mserp_itemnumber", "mserp_itemnumber")
PRODUCT_TO_LINES = (LINE, "mserp_itemnumber", "mserp_itemnumber")
GROUP_TO_CUSTOMERS = (CUST, "mserp_customergroupid", "mserp_customergroupid")

# ------------------------------------------------------------------ dates (relative operators)
TODAY = dt.datetime.now(dt.UTC).date()


def day(offset: int) -> dt.date:
    return TODAY + dt.timedelta(days=offset)


def months_back(months: int) -> dt.date:
    year, month = divmod(TODAY.year * 12 + TODAY.month - 1 - months, 12)
    return dt.date(year, month + 1, min(TODAY.day, calendar.monthrange(year, month + 1)[1]))


def midnight(date: dt.date) -> str:
    return f"{date.isoformat()}T00:00:00Z"


# ------------------------------------------------------------------ FetchXML builders
def fetch(entity: str, *body: str, **options: str) -> str:
    attributes = "".join(f' {name}="{value}"' for name, value in options.items())
    return f'<fetch{attributes}><entity name="{entity}">{"".join(body)}</entity></fetch>'


def attrs(*names: str) -> str:
    return "".join(f'<attribute name="{name}"/>' for name in names)


def agg(name: str, alias: str, aggregate: str | None = None, **extra: str) -> str:
    parts = [f'name="{name}"', f'alias="{alias}"']
    if aggregate is None:
        parts.append('groupby="true"')
    else:
        parts.append(f'aggregate="{aggregate}"')
    parts += [f'{key}="{value}"' for key, value in extra.items()]
    return f'<attribute {" ".join(parts)}/>'


def cond(attribute: str, operator: str, *values: str, entityname: str | None = None) -> str:
    where = f' entityname="{entityname}"' if entityname else ""
    if len(values) == 1 and operator not in ("in", "not-in"):
        return f'<condition{where} attribute="{attribute}" operator="{operator}" value="{values[0]}"/>'
    inner = "".join(f"<value>{value}</value>" for value in values)
    return f'<condition{where} attribute="{attribute}" operator="{operator}">{inner}</condition>'


def filt(*parts: str, kind: str = "and") -> str:
    return f'<filter type="{kind}">{"".join(parts)}</filter>'


def order(attribute: str, descending: bool = False, alias: bool = False, entityname: str | None = None) -> str:
    name = "alias" if alias else "attribute"
    descend = ' descending="true"' if descending else ""
    linked = f' entityname="{entityname}"' if entityname else ""
    return f'<order{linked} {name}="{attribute}"{descend}/>'


def link(target: tuple[str, str, str], alias: str, *body: str, kind: str = "outer") -> str:
    name, from_, to = target
    return (f'<link-entity name="{name}" from="{from_}" to="{to}" alias="{alias}" link-type="{kind}">'
            f'{"".join(body)}</link-entity>')


# ------------------------------------------------------------------ cases
@dataclass(frozen=True)
class Case:
    id: str
    entity_set: str
    fetch: str
    odata: dict[str, str]
    links: dict[str, Any] = field(default_factory=dict)
    ordered: bool = False  # the FetchXML orders the rows completely: compare as lists
    native: bool = False  # a native Dataverse table (the seeded store), not a virtual one
    window: tuple[int, int] | None = None  # page/count: (skip, count) of the OData answer
    bug: str | None = None  # a known gateway bug: the case is expected to fail (strict)


CUST_COLUMNS = ("mserp_customeraccount", "mserp_organizationname", "mserp_creditlimit")
C_SELECT = ",".join(CUST_COLUMNS)





VIRTUAL_CASES: list[Case] = [
    # ---- columns
    Case("attributes", CUSTS,
         fetch(CUST, attrs("mserp_custcustomerv3entityid", *CUST_COLUMNS, "mserp_onholdstatus")),
         {"$select": f"mserp_custcustomerv3entityid,{C_SELECT},mserp_onholdstatus"}),
    Case("all-attributes", CUSTS,
         fetch(CUST, "<all-attributes/>", filt(cond("mserp_dataareaid", "eq", "demf"))),
         {"$filter": "mserp_dataareaid eq 'demf'"}),
    Case("no-attribute-is-every-column", GRPS, fetch(GRP), {}),
    Case("all-attributes-ordered", UNITS, fetch(UNIT, "<all-attributes/>", order("mserp_unitsymbol")),
         {"$orderby": "mserp_unitsymbol"}, ordered=True),
    Case("attribute-twice-and-primaryfield", VENDS,
         fetch(VEND, attrs("mserp_primaryfield", "mserp_vendoraccountnumber", "mserp_primaryfield")),
         {"$select": "mserp_primaryfield,mserp_vendoraccountnumber"}),
    # ---- comparison operators
    Case("eq-string", CUSTS, fetch(CUST, attrs(*CUST_COLUMNS), filt(cond("mserp_customergroupid", "eq", "30"))),
         {"$select": C_SELECT, "$filter": "mserp_customergroupid eq '30'"}),
    Case("eq-text-with-asterisk-is-exact", CUSTS,
         fetch(CUST, attrs(*CUST_COLUMNS), filt(cond("mserp_customeraccount", "eq", "US-00*"))),
         {"$select": C_SELECT, "$filter": "mserp_customeraccount in ('US-00*')"}),
    Case("ne-option-set", CUSTS, fetch(CUST, attrs(*CUST_COLUMNS, "mserp_onholdstatus"),
                                       filt(cond("mserp_onholdstatus", "ne", "0"))),
         {"$select": f"{C_SELECT},mserp_onholdstatus", "$filter": "mserp_onholdstatus ne 0"}),
    Case("gt-decimal", CUSTS, fetch(CUST, attrs(*CUST_COLUMNS), filt(cond("mserp_creditlimit", "gt", "100000"))),
         {"$select": C_SELECT, "$filter": "mserp_creditlimit gt 100000"}),
    Case("ge-decimal", CUSTS, fetch(CUST, attrs(*CUST_COLUMNS), filt(cond("mserp_creditlimit", "ge", "93500"))),
         {"$select": C_SELECT, "$filter": "mserp_creditlimit ge 93500"}),
    Case("lt-decimal", CUSTS, fetch(CUST, attrs(*CUST_COLUMNS), filt(cond("mserp_creditlimit", "lt", "2000"))),
         {"$select": C_SELECT, "$filter": "mserp_creditlimit lt 2000"}),
    Case("le-decimal-fraction", LINES,
         fetch(LINE, attrs("mserp_inventorylotid", "mserp_salesprice"), filt(cond("mserp_salesprice", "le", "4.99"))),
         {"$select": "mserp_inventorylotid,mserp_salesprice", "$filter": "mserp_salesprice le 4.99"}),
    Case("gt-integer", UNITS, fetch(UNIT, attrs("mserp_unitsymbol"), filt(cond("mserp_decimalprecision", "gt", "1"))),
         {"$select": "mserp_unitsymbol", "$filter": "mserp_decimalprecision gt 1"}),
    Case("eq-guid-key", CUSTS,
         fetch(CUST, attrs("mserp_customeraccount"),
               filt(cond("mserp_custcustomerv3entityid", "eq", "{ea6d30d3-0000-0000-0000-000150000056}"))),
         {"$select": "mserp_customeraccount",
          "$filter": "mserp_custcustomerv3entityid eq ea6d30d3-0000-0000-0000-000150000056"}),
    Case("valueof-compares-columns", LINES,
         fetch(LINE, attrs("mserp_inventorylotid", "mserp_lineamount", "mserp_salesprice"),
               filt(cond("mserp_dataareaid", "eq", "usrt"),
                    '<condition attribute="mserp_lineamount" operator="le" valueof="mserp_salesprice"/>')),
         {"$select": "mserp_inventorylotid,mserp_lineamount,mserp_salesprice",
          "$filter": "mserp_dataareaid eq 'usrt' and mserp_lineamount le mserp_salesprice"}),
    # ---- and / or, nested
    Case("and-or-nested", CUSTS,
         fetch(CUST, attrs(*CUST_COLUMNS, "mserp_customergroupid"),
               filt(cond("mserp_dataareaid", "eq", "usmf"),
                    filt(cond("mserp_customergroupid", "eq", "10"), cond("mserp_customergroupid", "eq", "20"),
                         filt(cond("mserp_creditlimit", "gt", "100000"), cond("mserp_onholdstatus", "eq", "0")),
                         kind="or"))),
         {"$select": f"{C_SELECT},mserp_customergroupid",
          "$filter": "mserp_dataareaid eq 'usmf' and (mserp_customergroupid eq '10' or mserp_customergroupid eq '20' "
                     "or (mserp_creditlimit gt 100000 and mserp_onholdstatus eq 0))"}),
    Case("or-of-ands", VENDS,
         fetch(VEND, attrs("mserp_vendoraccountnumber", "mserp_dataareaid", "mserp_currencycode"),
               filt(filt(cond("mserp_currencycode", "eq", "EUR"), cond("mserp_dataareaid", "eq", "usrt")),
                    filt(cond("mserp_onholdstatus", "ne", "0")), kind="or"),
               order("mserp_vendoraccountnumber"), order("mserp_dataareaid")),
         {"$select": "mserp_vendoraccountnumber,mserp_dataareaid,mserp_currencycode",
          "$filter": "(mserp_currencycode eq 'EUR' and mserp_dataareaid eq 'usrt') or mserp_onholdstatus ne 0",
          "$orderby": "mserp_vendoraccountnumber,mserp_dataareaid"}, ordered=True),
    Case("two-filters-are-and", HEADS,
         fetch(HEAD, attrs("mserp_salesordernumber"), filt(cond("mserp_dataareaid", "eq", "usrt")),
               filt(cond("mserp_salesorderstatus", "eq", "1"))),
         {"$select": "mserp_salesordernumber", "$filter": "mserp_dataareaid eq 'usrt' and mserp_salesorderstatus eq 1"}),
    # ---- text operators
    Case("like-contains", CUSTS,
         fetch(CUST, attrs(*CUST_COLUMNS), filt(cond("mserp_organizationname", "like", "%Supplies%"))),
         {"$select": C_SELECT, "$filter": "contains(mserp_organizationname,'Supplies')"}),
    Case("like-ignores-case", CUSTS,
         fetch(CUST, attrs(*CUST_COLUMNS), filt(cond("mserp_organizationname", "like", "contoso%"))),
         {"$select": C_SELECT, "$filter": "startswith(mserp_organizationname,'Contoso')"}),
    Case("like-underscore-class", CUSTS,
         fetch(CUST, attrs(*CUST_COLUMNS), filt(cond("mserp_organizationname", "like", "%[_]%"))),
         {"$select": C_SELECT, "$filter": "contains(mserp_organizationname,'_')"}),
    Case("like-percent-class", CUSTS,
         fetch(CUST, attrs(*CUST_COLUMNS), filt(cond("mserp_organizationname", "like", "50[%]%"))),
         {"$select": C_SELECT, "$filter": "startswith(mserp_organizationname,'50%')"}),
    Case("like-bracket-class", CUSTS,
         fetch(CUST, attrs(*CUST_COLUMNS), filt(cond("mserp_organizationname", "like", "%[[]West]"))),
         {"$select": C_SELECT, "$filter": "endswith(mserp_organizationname,'[West]')"}),
    Case("like-without-wildcard-ignores-case", CUSTS,
         fetch(CUST, attrs(*CUST_COLUMNS), filt(cond("mserp_organizationname", "like", "pioneer supplies corp."))),
         {"$select": C_SELECT, "$filter": "tolower(mserp_organizationname) eq 'pioneer supplies corp.'"},
         ),
    Case("like-character-range", CUSTS,
         fetch(CUST, attrs(*CUST_COLUMNS), filt(cond("mserp_customeraccount", "like", "US-00[1-3]"))),
         {"$select": C_SELECT, "$filter": "mserp_customeraccount in ('US-001','US-002','US-003')"}),
    Case("like-single-character", CUSTS,
         fetch(CUST, attrs(*CUST_COLUMNS), filt(cond("mserp_customeraccount", "like", "US-0_1"))),
         {"$select": C_SELECT, "$filter": "startswith(mserp_customeraccount,'US-0') and "
                                         "endswith(mserp_customeraccount,'1') and length(mserp_customeraccount) eq 6"}),
    Case("not-like", CUSTS,
         fetch(CUST, attrs(*CUST_COLUMNS), filt(cond("mserp_organizationname", "not-like", "%Corp.%"))),
         {"$select": C_SELECT, "$filter": "not contains(mserp_organizationname,'Corp.')"}),
    Case("begins-with", CUSTS,
         fetch(CUST, attrs(*CUST_COLUMNS), filt(cond("mserp_organizationname", "begins-with", "Pioneer"))),
         {"$select": C_SELECT, "$filter": "startswith(mserp_organizationname,'Pioneer')"}),
    Case("not-begin-with", CUSTS,
         fetch(CUST, attrs(*CUST_COLUMNS), filt(cond("mserp_customeraccount", "not-begin-with", "US"))),
         {"$select": C_SELECT, "$filter": "not startswith(mserp_customeraccount,'US')"}),
    Case("ends-with", CUSTS,
         fetch(CUST, attrs(*CUST_COLUMNS), filt(cond("mserp_organizationname", "ends-with", "LLC"))),
         {"$select": C_SELECT, "$filter": "endswith(mserp_organizationname,'LLC')"}),
    Case("not-end-with", PRODS,
         fetch(PROD, attrs("mserp_itemnumber", "mserp_dataareaid", "mserp_salesunitsymbol"),
               filt(cond("mserp_salesunitsymbol", "not-end-with", "a"))),
         {"$select": "mserp_itemnumber,mserp_dataareaid,mserp_salesunitsymbol",
          "$filter": "not endswith(mserp_salesunitsymbol,'a')"}),
    # ---- lists, ranges, null
    Case("in-strings", CUSTS,
         fetch(CUST, attrs(*CUST_COLUMNS, "mserp_customergroupid"),
               filt(cond("mserp_customergroupid", "in", "10", "80"))),
         {"$select": f"{C_SELECT},mserp_customergroupid", "$filter": "mserp_customergroupid in ('10','80')"}),
    Case("not-in-option-set", CUSTS,
         fetch(CUST, attrs(*CUST_COLUMNS, "mserp_onholdstatus"), filt(cond("mserp_onholdstatus", "not-in", "0", "2"))),
         {"$select": f"{C_SELECT},mserp_onholdstatus",
          "$filter": "mserp_onholdstatus ne 0 and mserp_onholdstatus ne 2"}),
    Case("in-one-value", UNITS, fetch(UNIT, attrs("mserp_unitsymbol"), filt(cond("mserp_unitclass", "in", "2"))),
         {"$select": "mserp_unitsymbol", "$filter": "mserp_unitclass eq 2"}),
    Case("between", CUSTS,
         fetch(CUST, attrs(*CUST_COLUMNS), filt(cond("mserp_creditlimit", "between", "50000", "100000"))),
         {"$select": C_SELECT, "$filter": "mserp_creditlimit ge 50000 and mserp_creditlimit le 100000"}),
    Case("not-between", LINES,
         fetch(LINE, attrs("mserp_inventorylotid", "mserp_orderedsalesquantity"),
               filt(cond("mserp_orderedsalesquantity", "not-between", "2", "99"),
                    cond("mserp_dataareaid", "eq", "usmf"))),
         {"$select": "mserp_inventorylotid,mserp_orderedsalesquantity",
          "$filter": "(mserp_orderedsalesquantity lt 2 or mserp_orderedsalesquantity gt 99) "
                     "and mserp_dataareaid eq 'usmf'"}),
    Case("null", CUSTS, fetch(CUST, attrs(*CUST_COLUMNS, "mserp_addresscity"),
                              filt(cond("mserp_addresscity", "null"))),
         {"$select": f"{C_SELECT},mserp_addresscity", "$filter": "mserp_addresscity eq null"}),
    Case("not-null", CUSTS, fetch(CUST, attrs("mserp_customeraccount", "mserp_addresscity"),
                                  filt(cond("mserp_addresscity", "not-null"))),
         {"$select": "mserp_customeraccount,mserp_addresscity", "$filter": "mserp_addresscity ne null"}),
    # ---- dates (RequestedShippingDate is a date, OrderCreationDateTime a date/time)
    Case("on-date", HEADS, fetch(HEAD, attrs("mserp_salesordernumber", "mserp_requestedshippingdate"),
                                 filt(cond("mserp_requestedshippingdate", "on", "2026-02-20"))),
         {"$select": "mserp_salesordernumber,mserp_requestedshippingdate",
          "$filter": "mserp_requestedshippingdate eq 2026-02-20"}),
    Case("on-or-after-date", HEADS, fetch(HEAD, attrs("mserp_salesordernumber", "mserp_requestedshippingdate"),
                                          filt(cond("mserp_requestedshippingdate", "on-or-after", "2024-01-01"))),
         {"$select": "mserp_salesordernumber,mserp_requestedshippingdate",
          "$filter": "mserp_requestedshippingdate ge 2024-01-01"}),
    Case("on-or-before-date", HEADS, fetch(HEAD, attrs("mserp_salesordernumber", "mserp_requestedshippingdate"),
                                           filt(cond("mserp_requestedshippingdate", "on-or-before", "2021-06-30"))),
         {"$select": "mserp_salesordernumber,mserp_requestedshippingdate",
          "$filter": "mserp_requestedshippingdate le 2021-06-30"}),
    Case("on-or-after-datetime", HEADS, fetch(HEAD, attrs("mserp_salesordernumber", "mserp_ordercreationdatetime"),
                                              filt(cond("mserp_ordercreationdatetime", "on-or-after", "2025-01-01"))),
         {"$select": "mserp_salesordernumber,mserp_ordercreationdatetime",
          "$filter": "mserp_ordercreationdatetime ge 2025-01-01T00:00:00Z"}),
    Case("gt-datetime", HEADS, fetch(HEAD, attrs("mserp_salesordernumber"),
                                     filt(cond("mserp_ordercreationdatetime", "gt", "2024-06-30T12:00:00Z"))),
         {"$select": "mserp_salesordernumber", "$filter": "mserp_ordercreationdatetime gt 2024-06-30T12:00:00Z"}),
    Case("last-x-days-date", HEADS, fetch(HEAD, attrs("mserp_salesordernumber", "mserp_requestedshippingdate"),
                                          filt(cond("mserp_requestedshippingdate", "last-x-days", "400"))),
         {"$select": "mserp_salesordernumber,mserp_requestedshippingdate",
          "$filter": f"mserp_requestedshippingdate ge {day(-400)} and mserp_requestedshippingdate le {TODAY}"}),
    Case("next-x-days-date", HEADS, fetch(HEAD, attrs("mserp_salesordernumber", "mserp_requestedshippingdate"),
                                          filt(cond("mserp_requestedshippingdate", "next-x-days", "30"))),
         {"$select": "mserp_salesordernumber,mserp_requestedshippingdate",
          "$filter": f"mserp_requestedshippingdate ge {TODAY} and mserp_requestedshippingdate le {day(30)}"}),
    Case("today-datetime", HEADS, fetch(HEAD, attrs("mserp_salesordernumber"),
                                        filt(cond("mserp_ordercreationdatetime", "today"))),
         {"$select": "mserp_salesordernumber", "$filter": f"mserp_ordercreationdatetime ge {midnight(TODAY)} "
                                                         f"and mserp_ordercreationdatetime lt {midnight(day(1))}"}),
    Case("last-x-months-datetime", HEADS,
         fetch(HEAD, attrs("mserp_salesordernumber", "mserp_ordercreationdatetime"),
               filt(cond("mserp_ordercreationdatetime", "last-x-months", "24"))),
         {"$select": "mserp_salesordernumber,mserp_ordercreationdatetime",
          "$filter": f"mserp_ordercreationdatetime ge {midnight(months_back(24))} "
                     f"and mserp_ordercreationdatetime lt {midnight(day(1))}"}),
    # ---- order and top
    Case("order-asc-desc-multiple-top", CUSTS,
         fetch(CUST, attrs(*CUST_COLUMNS, "mserp_customergroupid"), order("mserp_customergroupid"),
               order("mserp_creditlimit", descending=True), order("mserp_customeraccount"), top="20"),
         {"$select": f"{C_SELECT},mserp_customergroupid",
          "$orderby": "mserp_customergroupid,mserp_creditlimit desc,mserp_customeraccount", "$top": "20"},
         ordered=True),
    Case("order-desc-top-lines", LINES,
         fetch(LINE, attrs("mserp_inventorylotid", "mserp_lineamount", "mserp_dataareaid"),
               order("mserp_lineamount", descending=True), order("mserp_inventorylotid"),
               order("mserp_dataareaid"), top="25"),
         {"$select": "mserp_inventorylotid,mserp_lineamount,mserp_dataareaid",
          "$orderby": "mserp_lineamount desc,mserp_inventorylotid,mserp_dataareaid", "$top": "25"}, ordered=True),
    Case("order-option-set-and-date", HEADS,
         fetch(HEAD, attrs("mserp_salesordernumber", "mserp_salesorderstatus", "mserp_requestedshippingdate"),
               filt(cond("mserp_salesorderstatus", "in", "1", "3")), order("mserp_salesorderstatus", descending=True),
               order("mserp_requestedshippingdate", descending=True), order("mserp_salesordernumber")),
         {"$select": "mserp_salesordernumber,mserp_salesorderstatus,mserp_requestedshippingdate",
          "$filter": "mserp_salesorderstatus eq 1 or mserp_salesorderstatus eq 3",
          "$orderby": "mserp_salesorderstatus desc,mserp_requestedshippingdate desc,mserp_salesordernumber"},
         ordered=True),
    Case("top-filtered-products", PRODS,
         fetch(PROD, attrs("mserp_itemnumber", "mserp_dataareaid", "mserp_salesprice", "mserp_producttype"),
               filt(cond("mserp_producttype", "eq", "1")), order("mserp_salesprice", descending=True),
               order("mserp_itemnumber"), order("mserp_dataareaid"), top="10"),
         {"$select": "mserp_itemnumber,mserp_dataareaid,mserp_salesprice,mserp_producttype",
          "$filter": "mserp_producttype eq 1", "$orderby": "mserp_salesprice desc,mserp_itemnumber,mserp_dataareaid",
          "$top": "10"}, ordered=True),
    # ---- link-entity n:1
    Case("link-outer-n1", CUSTS,
         fetch(CUST, attrs("mserp_customeraccount", "mserp_dataareaid"), order("mserp_customeraccount"),
               order("mserp_dataareaid"), link(TO_GROUP, "g", attrs("mserp_description", "mserp_paymenttermid"))),
         {"$select": "mserp_customeraccount,mserp_dataareaid", "$orderby": "mserp_customeraccount,mserp_dataareaid",
          "$expand": f"{CUST_GROUP}($select=mserp_description,mserp_paymenttermid)"},
         links={CUST_GROUP: "g"}, ordered=True),
    Case("link-inner-n1-filter-inside", CUSTS,
         fetch(CUST, attrs("mserp_customeraccount", "mserp_dataareaid"),
               link(TO_GROUP, "g", attrs("mserp_description"), filt(cond("mserp_paymenttermid", "eq", "Net30")),
                    kind="inner")),
         {"$select": "mserp_customeraccount,mserp_dataareaid",
          "$filter": f"{CUST_GROUP}/mserp_paymenttermid eq 'Net30'",
          "$expand": f"{CUST_GROUP}($select=mserp_description)"}, links={CUST_GROUP: "g"}),
    Case("link-orders-come-after-entity-orders", HEADS,
         fetch(HEAD, attrs("mserp_salesordernumber", "mserp_salesorderstatus"),
               filt(cond("mserp_dataareaid", "eq", "demf")),
               link(TO_CUSTOMER, "c", attrs("mserp_organizationname"), order("mserp_organizationname"),
                    kind="inner"),
               order("mserp_salesorderstatus")),
         {"$select": "mserp_salesordernumber,mserp_salesorderstatus", "$filter": "mserp_dataareaid eq 'demf'",
          "$orderby": f"mserp_salesorderstatus,{HEAD_CUST}/mserp_organizationname,mserp_salesordernumber",
          "$expand": f"{HEAD_CUST}($select=mserp_organizationname)"}, links={HEAD_CUST: "c"}, ordered=True),
    Case("order-entityname-applies-link-order-first", HEADS,
         fetch(HEAD, attrs("mserp_salesordernumber"), filt(cond("mserp_dataareaid", "eq", "usrt")),
               order("mserp_organizationname", descending=True, entityname="c"), order("mserp_salesordernumber"),
               link(TO_CUSTOMER, "c", attrs("mserp_organizationname"))),
         {"$select": "mserp_salesordernumber", "$filter": "mserp_dataareaid eq 'usrt'",
          "$orderby": f"{HEAD_CUST}/mserp_organizationname desc,mserp_salesordernumber",
          "$expand": f"{HEAD_CUST}($select=mserp_organizationname)"}, links={HEAD_CUST: "c"}, ordered=True),
    Case("link-n1-two-levels", LINES,
         fetch(LINE, attrs("mserp_inventorylotid", "mserp_itemnumber"),
               filt(cond("mserp_salesordernumber", "in", "SO-000001", "SO-000002", "SO-000040")),
               link(TO_HEADER, "h", attrs("mserp_salesorderstatus", "mserp_requestedshippingdate"),
                    link(TO_CUSTOMER, "c", attrs("mserp_organizationname", "mserp_addresscity")))),
         {"$select": "mserp_inventorylotid,mserp_itemnumber",
          "$filter": "mserp_salesordernumber in ('SO-000001','SO-000002','SO-000040')",
          "$expand": f"{LINE_HEAD}($select=mserp_salesorderstatus,mserp_requestedshippingdate;"
                     f"$expand={HEAD_CUST}($select=mserp_organizationname,mserp_addresscity))"},
         links={LINE_HEAD: ("h", {HEAD_CUST: "c"})}),
    Case("link-inner-n1-product", LINES,
         fetch(LINE, attrs("mserp_inventorylotid", "mserp_dataareaid", "mserp_lineamount"),
               link(TO_PRODUCT, "p", attrs("mserp_productname", "mserp_salesprice"),
                    filt(cond("mserp_salesprice", "gt", "2000")), kind="inner")),
         {"$select": "mserp_inventorylotid,mserp_dataareaid,mserp_lineamount",
          "$filter": f"{LINE_PROD}/mserp_salesprice gt 2000",
          "$expand": f"{LINE_PROD}($select=mserp_productname,mserp_salesprice)"}, links={LINE_PROD: "p"}),
    Case("entityname-n1-condition", CUSTS,
         fetch(CUST, attrs("mserp_customeraccount", "mserp_dataareaid"),
               filt(cond("mserp_paymenttermid", "eq", "COD", entityname="g")),
               link(TO_GROUP, "g", attrs("mserp_description"))),
         {"$select": "mserp_customeraccount,mserp_dataareaid",
          "$filter": f"{CUST_GROUP}/mserp_paymenttermid eq 'COD'",
          "$expand": f"{CUST_GROUP}($select=mserp_description)"}, links={CUST_GROUP: "g"}),
    Case("entityname-in-or", CUSTS,
         fetch(CUST, attrs("mserp_customeraccount", "mserp_dataareaid"),
               filt(cond("mserp_paymenttermid", "eq", "Net45", entityname="g"),
                    cond("mserp_creditlimit", "gt", "300000"), kind="or"),
               link(TO_GROUP, "g")),
         {"$select": "mserp_customeraccount,mserp_dataareaid",
          "$filter": f"{CUST_GROUP}/mserp_paymenttermid eq 'Net45' or mserp_creditlimit gt 300000"}),
    # ---- link-entity 1:n
    Case("link-outer-1n", CUSTS,
         fetch(CUST, attrs("mserp_customeraccount"),
               filt(cond("mserp_dataareaid", "eq", "usmf"), cond("mserp_customeraccount", "le", "US-012")),
               order("mserp_customeraccount"),
               link(TO_ORDERS, "so", attrs("mserp_salesordernumber", "mserp_salesorderstatus"),
                    order("mserp_salesordernumber"))),
         {"$select": "mserp_customeraccount",
          "$filter": "mserp_dataareaid eq 'usmf' and mserp_customeraccount le 'US-012'",
          "$orderby": "mserp_customeraccount",
          "$expand": f"{CUST_ORDERS}($select=mserp_salesordernumber,mserp_salesorderstatus;"
                     "$orderby=mserp_salesordernumber)"}, links={CUST_ORDERS: "so"}, ordered=True),
    Case("link-inner-1n-filter-inside", CUSTS,
         fetch(CUST, attrs("mserp_customeraccount", "mserp_dataareaid"),
               link(TO_ORDERS, "so", attrs("mserp_salesordernumber", "mserp_requestedshippingdate"),
                    filt(cond("mserp_salesorderstatus", "eq", "3"),
                         cond("mserp_requestedshippingdate", "on-or-after", "2023-01-01")), kind="inner")),
         {"$select": "mserp_customeraccount,mserp_dataareaid",
          "$filter": f"{CUST_ORDERS}/any(o:o/mserp_salesorderstatus eq 3 and "
                     "o/mserp_requestedshippingdate ge 2023-01-01)",
          "$expand": f"{CUST_ORDERS}($select=mserp_salesordernumber,mserp_requestedshippingdate;"
                     "$filter=mserp_salesorderstatus eq 3 and mserp_requestedshippingdate ge 2023-01-01)"},
         links={CUST_ORDERS: "so"}),
    Case("link-inner-1n-groups", GRPS,
         fetch(GRP, attrs("mserp_customergroupid", "mserp_dataareaid"),
               link(GROUP_TO_CUSTOMERS, "c", attrs("mserp_customeraccount", "mserp_creditlimit"),
                    filt(cond("mserp_creditlimit", "gt", "200000")), kind="inner")),
         {"$select": "mserp_customergroupid,mserp_dataareaid",
          "$filter": f"{GRP_CUSTS}/any(c:c/mserp_creditlimit gt 200000)",
          "$expand": f"{GRP_CUSTS}($select=mserp_customeraccount,mserp_creditlimit;$filter=mserp_creditlimit gt 200000)"},
         links={GRP_CUSTS: "c"}),
    Case("link-1n-then-n1", HEADS,
         fetch(HEAD, attrs("mserp_salesordernumber"), filt(cond("mserp_salesordernumber", "in", "SO-000003", "SO-000050")),
               link(TO_LINES, "l", attrs("mserp_inventorylotid"), filt(cond("mserp_linenumber", "le", "3")),
                    link(TO_PRODUCT, "p", attrs("mserp_productname")), kind="inner")),
         {"$select": "mserp_salesordernumber",
          "$filter": f"mserp_salesordernumber in ('SO-000003','SO-000050') and "
                     f"{HEAD_LINES}/any(l:l/mserp_linenumber le 3)",
          "$expand": f"{HEAD_LINES}($select=mserp_inventorylotid;$filter=mserp_linenumber le 3;"
                     f"$expand={LINE_PROD}($select=mserp_productname))"},
         links={HEAD_LINES: ("l", {LINE_PROD: "p"})}),
    Case("link-not-any", PRODS,
         fetch(PROD, attrs("mserp_itemnumber", "mserp_dataareaid"),
               link(PRODUCT_TO_LINES, "l", filt(cond("mserp_orderedsalesquantity", "gt", "98")), kind="not any")),
         {"$select": "mserp_itemnumber,mserp_dataareaid",
          "$filter": f"not {PROD_LINES}/any(l:l/mserp_orderedsalesquantity gt 98)"}),
    Case("link-exists-filter", CUSTS,
         fetch(CUST, attrs("mserp_customeraccount", "mserp_dataareaid"),
               link(TO_ORDERS, "so", filt(cond("mserp_salesorderstatus", "eq", "4")), kind="exists")),
         {"$select": "mserp_customeraccount,mserp_dataareaid",
          "$filter": f"{CUST_ORDERS}/any(o:o/mserp_salesorderstatus eq 4)"}),
    Case("link-in-filter", PRODS,
         fetch(PROD, attrs("mserp_itemnumber", "mserp_dataareaid"),
               link(PRODUCT_TO_LINES, "l", filt(cond("mserp_orderedsalesquantity", "gt", "99")), kind="in")),
         {"$select": "mserp_itemnumber,mserp_dataareaid",
          "$filter": f"{PROD_LINES}/any(l:l/mserp_orderedsalesquantity gt 99)"}),
    Case("link-any-inside-or-filter", CUSTS,
         fetch(CUST, attrs("mserp_customeraccount", "mserp_dataareaid"),
               filt(cond("mserp_customergroupid", "eq", "40"),
                    link(TO_ORDERS, "so", filt(cond("mserp_salesorderstatus", "eq", "4")), kind="any"), kind="or")),
         {"$select": "mserp_customeraccount,mserp_dataareaid",
          "$filter": f"mserp_customergroupid eq '40' or {CUST_ORDERS}/any(o:o/mserp_salesorderstatus eq 4)"}),
    Case("entityname-1n-outer-condition", CUSTS,
         fetch(CUST, attrs("mserp_customeraccount"),
               filt(cond("mserp_salesorderstatus", "eq", "4", entityname="so")),
               link(TO_ORDERS, "so", attrs("mserp_salesordernumber", "mserp_salesorderstatus"))),
         {"$select": "mserp_customeraccount",
          "$filter": f"{CUST_ORDERS}/any(o:o/mserp_salesorderstatus eq 4)",
          "$expand": f"{CUST_ORDERS}($select=mserp_salesordernumber,mserp_salesorderstatus;"
                     "$filter=mserp_salesorderstatus eq 4)"},
         links={CUST_ORDERS: "so"}),
    Case("entityname-1n-outer-null-means-none", CUSTS,
         fetch(CUST, attrs("mserp_customeraccount", "mserp_dataareaid"),
               filt(cond("mserp_salesordernumber", "null", entityname="so")), link(TO_ORDERS, "so")),
         {"$select": "mserp_customeraccount,mserp_dataareaid", "$filter": f"not {CUST_ORDERS}/any()"}),
    # ---- aggregates
    Case("aggregate-groupby-count-sum-avg", CUSTS,
         fetch(CUST, agg("mserp_customergroupid", "grp"), agg("mserp_custcustomerv3entityid", "n", "count"),
               agg("mserp_creditlimit", "total", "sum"), agg("mserp_creditlimit", "average", "avg"),
               order("total", descending=True, alias=True), aggregate="true"),
         {"$apply": "compute(mserp_customergroupid as grp)/groupby((grp),aggregate($count as n,"
                    "mserp_creditlimit with sum as total,mserp_creditlimit with average as average))",
          "$orderby": "total desc"}, ordered=True),
    Case("aggregate-no-groupby", CUSTS,
         fetch(CUST, agg("mserp_customeraccount", "n", "countcolumn"), agg("mserp_creditlimit", "lo", "min"),
               agg("mserp_creditlimit", "hi", "max"), agg("mserp_creditlimit", "mean", "avg"),
               filt(cond("mserp_salescurrencycode", "eq", "USD")), aggregate="true"),
         {"$apply": "filter(mserp_salescurrencycode eq 'USD')/aggregate($count as n,mserp_creditlimit with min as lo,"
                    "mserp_creditlimit with max as hi,mserp_creditlimit with average as mean)"}),
    Case("aggregate-countcolumn-distinct", CUSTS,
         fetch(CUST, agg("mserp_dataareaid", "mserp_dataareaid"),
               agg("mserp_customergroupid", "groups", "countcolumn", distinct="true"),
               agg("mserp_addresscity", "cities", "countcolumn", distinct="true"),
               order("mserp_dataareaid"), aggregate="true"),
         {"$apply": "groupby((mserp_dataareaid),aggregate(mserp_customergroupid with countdistinct as groups,"
                    "mserp_addresscity with countdistinct as cities))", "$orderby": "mserp_dataareaid"},
         ordered=True),
    Case("aggregate-lines-by-status", LINES,
         fetch(LINE, agg("mserp_salesorderlinestatus", "status"), agg("mserp_lineamount", "amount", "sum"),
               agg("mserp_orderedsalesquantity", "qty", "sum"), agg("mserp_salesprice", "maxprice", "max"),
               agg("mserp_salesorderlineentityid", "n", "count"), order("status", alias=True), aggregate="true"),
         {"$apply": "compute(mserp_salesorderlinestatus as status)/groupby((status),aggregate(mserp_lineamount "
                    "with sum as amount,mserp_orderedsalesquantity with sum as qty,mserp_salesprice with max as "
                    "maxprice,$count as n))",
          "$orderby": "status"}, ordered=True),
    Case("aggregate-two-groups-filter-top", LINES,
         fetch(LINE, agg("mserp_dataareaid", "company"), agg("mserp_itemnumber", "item"),
               agg("mserp_orderedsalesquantity", "qty", "sum"), filt(cond("mserp_salesunitsymbol", "eq", "ea")),
               order("qty", descending=True, alias=True), order("company", alias=True), order("item", alias=True),
               aggregate="true", top="7"),
         {"$apply": "filter(mserp_salesunitsymbol eq 'ea')/compute(mserp_dataareaid as company,mserp_itemnumber as "
                    "item)/groupby((company,item),aggregate(mserp_orderedsalesquantity with sum as qty))",
          "$orderby": "qty desc,company,item", "$top": "7"}, ordered=True),
    Case("aggregate-dategrouping-year", HEADS,
         fetch(HEAD, agg("mserp_ordercreationdatetime", "yr", dategrouping="year"),
               agg("mserp_salesorderheaderv2entityid", "n", "count"), order("yr", alias=True), aggregate="true"),
         {"$apply": "compute(year(mserp_ordercreationdatetime) as yr)/groupby((yr),aggregate($count as n))",
          "$orderby": "yr"}, ordered=True),
    Case("aggregate-dategrouping-month-of-date", HEADS,
         fetch(HEAD, agg("mserp_requestedshippingdate", "m", dategrouping="month"),
               agg("mserp_salesorderheaderv2entityid", "n", "count"),
               filt(cond("mserp_requestedshippingdate", "on-or-after", "2025-01-01")), aggregate="true"),
         {"$apply": "filter(mserp_requestedshippingdate ge 2025-01-01)"
                    "/compute(month(mserp_requestedshippingdate) as m)/groupby((m),aggregate($count as n))"}),
    Case("aggregate-group-by-linked-column", CUSTS,
         fetch(CUST, agg("mserp_creditlimit", "mx", "max"),
               link(TO_GROUP, "g", agg("mserp_description", "gdesc"), kind="inner"), aggregate="true"),
         {"$apply": f"compute({CUST_GROUP}/mserp_description as gdesc)/groupby((gdesc),"
                    "aggregate(mserp_creditlimit with max as mx))"}),
    Case("aggregate-inner-link-filter", LINES,
         fetch(LINE, agg("mserp_itemnumber", "item"), agg("mserp_lineamount", "amount", "sum"),
               link(TO_HEADER, "h", filt(cond("mserp_salesorderstatus", "eq", "4")), kind="inner"),
               aggregate="true"),
         {"$apply": f"filter({LINE_HEAD}/mserp_salesorderstatus eq 4)/compute(mserp_itemnumber as item)"
                    "/groupby((item),aggregate(mserp_lineamount with sum as amount))"}),
    # ---- page/count
    Case("page-2-of-customers", CUSTS,
         fetch(CUST, attrs("mserp_customeraccount", "mserp_dataareaid"), order("mserp_customeraccount"),
               order("mserp_dataareaid"), count="10", page="2"),
         {"$select": "mserp_customeraccount,mserp_dataareaid", "$orderby": "mserp_customeraccount,mserp_dataareaid",
          "$top": "20"}, ordered=True, window=(10, 10)),
    Case("page-3-of-lines-with-total", LINES,
         fetch(LINE, attrs("mserp_inventorylotid", "mserp_dataareaid"), order("mserp_inventorylotid"),
               order("mserp_dataareaid"), count="50", page="3", returntotalrecordcount="true"),
         {"$select": "mserp_inventorylotid,mserp_dataareaid", "$orderby": "mserp_inventorylotid,mserp_dataareaid",
          "$top": "150"}, ordered=True, window=(100, 50)),
    Case("last-partial-page", HEADS,
         fetch(HEAD, attrs("mserp_salesordernumber", "mserp_dataareaid"), order("mserp_salesordernumber"),
               order("mserp_dataareaid"), count="20", page="4"),
         {"$select": "mserp_salesordernumber,mserp_dataareaid", "$orderby": "mserp_salesordernumber,mserp_dataareaid"},
         ordered=True, window=(60, 20)),
    Case("page-with-link", CUSTS,
         fetch(CUST, attrs("mserp_customeraccount"), order("mserp_customeraccount"), order("mserp_dataareaid"),
               link(TO_GROUP, "g", attrs("mserp_description")), count="15", page="3"),
         {"$select": "mserp_customeraccount", "$orderby": "mserp_customeraccount,mserp_dataareaid",
          "$expand": f"{CUST_GROUP}($select=mserp_description)", "$top": "45"},
         links={CUST_GROUP: "g"}, ordered=True, window=(30, 15)),
]

# ------------------------------------------------------------------ native Dataverse tables (seeded by the test)
ACCOUNT, ACCOUNTS = "account", "accounts"
ORDER, ORDERS = "salesorder", "salesorders"
PRODUCT, PRODUCTS = "product", "products"
ORDER_TO_ACCOUNT = (ACCOUNT, "accountid", "customerid")
ACCOUNT_TO_ORDERS = (ORDER, "customerid", "accountid")

NATIVE_CASES: list[Case] = [
    Case("native-attributes-ge-order", ACCOUNTS,
         fetch(ACCOUNT, attrs("name", "creditlimit", "address1_city"), filt(cond("creditlimit", "ge", "5000")),
               order("name")),
         {"$select": "name,creditlimit,address1_city", "$filter": "creditlimit ge 5000", "$orderby": "name"},
         ordered=True),
    Case("native-like-ignores-case", ACCOUNTS, fetch(ACCOUNT, attrs("name"), filt(cond("name", "like", "%WARE%"))),
         {"$select": "name", "$filter": "contains(name,'ware')"}),
    Case("native-null-or-boolean", ACCOUNTS,
         fetch(ACCOUNT, attrs("name", "address1_city", "creditonhold"),
               filt(cond("address1_city", "null"), cond("creditonhold", "eq", "1"), kind="or")),
         {"$select": "name,address1_city,creditonhold", "$filter": "address1_city eq null or creditonhold eq true"}),
    Case("native-between-not-in", ACCOUNTS,
         fetch(ACCOUNT, attrs("name", "creditlimit", "customertypecode"),
               filt(cond("creditlimit", "between", "1000", "20000"), cond("customertypecode", "not-in", "8"))),
         {"$select": "name,creditlimit,customertypecode",
          "$filter": "creditlimit ge 1000 and creditlimit le 20000 and customertypecode ne 8"}),
    Case("native-createdon-today", ACCOUNTS, fetch(ACCOUNT, attrs("name"), filt(cond("createdon", "today"))),
         {"$select": "name", "$filter": f"createdon ge {midnight(TODAY)} and createdon lt {midnight(day(1))}"}),
    Case("native-today-date", ORDERS, fetch(ORDER, attrs("name", "requestdeliveryby"),
                                            filt(cond("requestdeliveryby", "today"))),
         {"$select": "name,requestdeliveryby", "$filter": f"requestdeliveryby eq {TODAY}"}),
    Case("native-next-x-days", ORDERS, fetch(ORDER, attrs("name", "requestdeliveryby"),
                                             filt(cond("requestdeliveryby", "next-x-days", "7"))),
         {"$select": "name,requestdeliveryby",
          "$filter": f"requestdeliveryby ge {TODAY} and requestdeliveryby le {day(7)}"}),
    Case("native-last-x-days", ORDERS, fetch(ORDER, attrs("name", "requestdeliveryby"),
                                             filt(cond("requestdeliveryby", "last-x-days", "14"))),
         {"$select": "name,requestdeliveryby",
          "$filter": f"requestdeliveryby ge {day(-14)} and requestdeliveryby le {TODAY}"}),
    Case("native-on-or-after-order-desc", ORDERS,
         fetch(ORDER, attrs("name", "requestdeliveryby"), filt(cond("requestdeliveryby", "on-or-after", str(day(1)))),
               order("requestdeliveryby", descending=True), order("name")),
         {"$select": "name,requestdeliveryby", "$filter": f"requestdeliveryby ge {day(1)}",
          "$orderby": "requestdeliveryby desc,name"}, ordered=True),
    Case("native-on-or-before", ORDERS,
         fetch(ORDER, attrs("name"), filt(cond("requestdeliveryby", "on-or-before", str(day(-1))))),
         {"$select": "name", "$filter": f"requestdeliveryby le {day(-1)}"}),
    Case("native-lookup-attribute", ORDERS,
         fetch(ORDER, attrs("name", "customerid", "statuscode"), filt(cond("customerid", "not-null"),
                                                                      cond("statuscode", "in", "1", "100001"))),
         {"$select": "name,_customerid_value,statuscode",
          "$filter": "_customerid_value ne null and statuscode in (1,100001)"}),
    Case("native-link-inner-n1-filter", ORDERS,
         fetch(ORDER, attrs("name"), link(ORDER_TO_ACCOUNT, "a", attrs("name", "address1_city"),
                                          filt(cond("address1_city", "eq", "Seattle")), kind="inner")),
         {"$select": "name", "$filter": "customerid_account/address1_city eq 'Seattle'",
          "$expand": "customerid_account($select=name,address1_city)"}, links={"customerid_account": "a"}),
    Case("native-link-outer-n1", ORDERS,
         fetch(ORDER, attrs("name"), order("name"), link(ORDER_TO_ACCOUNT, "a", attrs("name"))),
         {"$select": "name", "$orderby": "name", "$expand": "customerid_account($select=name)"},
         links={"customerid_account": "a"}, ordered=True),
    Case("native-link-outer-1n", ACCOUNTS,
         fetch(ACCOUNT, attrs("name"), order("name"),
               link(ACCOUNT_TO_ORDERS, "o", attrs("name", "statuscode"), order("name"))),
         {"$select": "name", "$orderby": "name", "$expand": "salesorders($select=name,statuscode;$orderby=name)"},
         links={"salesorders": "o"}, ordered=True),
    Case("native-products-in-statecode", PRODUCTS,
         fetch(PRODUCT, attrs("productnumber", "name", "statecode"), filt(cond("statecode", "in", "0", "3"))),
         {"$select": "productnumber,name,statecode", "$filter": "statecode in (0,3)"}),
    Case("native-products-ends-with", PRODUCTS,
         fetch(PRODUCT, "<all-attributes/>", filt(cond("productnumber", "ends-with", "2"))),
         {"$filter": "endswith(productnumber,'2')"}),
    Case("native-aggregate-by-city", ACCOUNTS,
         fetch(ACCOUNT, agg("address1_city", "address1_city"), agg("accountid", "n", "count"),
               agg("creditlimit", "total", "sum"), order("address1_city"), aggregate="true"),
         {"$apply": "groupby((address1_city),aggregate($count as n,creditlimit with sum as total))",
          "$orderby": "address1_city"}, ordered=True),
    Case("native-aggregate-orders-by-status", ORDERS,
         fetch(ORDER, agg("statuscode", "statuscode"), agg("salesorderid", "n", "count"), aggregate="true"),
         {"$apply": "groupby((statuscode),aggregate($count as n))"}),
]

NATIVE_CASES = [replace(case, native=True) for case in NATIVE_CASES]
CASES = VIRTUAL_CASES + NATIVE_CASES


# The native rows the test seeds into its own Dataverse store: accounts, their orders, products.
SEED_ACCOUNTS = [
    # name, city, credit limit, type code, on hold
    ("Adventure Works", "Seattle", 25000, 3, False),
    ("Alpine Ski House", "Redmond", 5000, 3, True),
    ("Coho Winery", None, 1500, 8, False),
    ("Contoso Ltd", "Seattle", 12000, 3, False),
    ("Fabrikam Inc", "Paris", None, 8, True),
    ("Litware Inc", "Seattle", 900, 3, False),
    ("Northwind Traders", None, 18000, 3, False),
    ("Proseware", "Redmond", 20000, 8, False),
    ("Tailspin Toys", "Paris", 3000, 3, False),
    ("Wide World Importers", "Redmond", 75000, 3, None),
]
SEED_ORDERS = [
    # name, account index or None, delivery offset in days or None, status code
    ("Order 01", 0, -40, 100001),
    ("Order 02", 0, -10, 1),
    ("Order 03", 1, -1, 2),
    ("Order 04", 3, 0, 1),
    ("Order 05", 3, 0, 3),
    ("Order 06", 5, 1, 1),
    ("Order 07", 6, 5, 100003),
    ("Order 08", 7, 7, 100001),
    ("Order 09", 7, 20, 4),
    ("Order 10", None, 60, 1),
    ("Order 11", 9, None, 100002),
    ("Order 12", 2, -14, 1),
]
SEED_PRODUCTS = [
    # product number, name, state code
    ("usmfP001", "Widget", 0),
    ("usmfP002", "Gadget", 1),
    ("usmfP003", "Gizmo", 2),
    ("usrtP012", "Doohickey", 3),
    ("usrtP022", None, 0),
]
