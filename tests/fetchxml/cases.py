"""FetchXML queries next to the OData query that means the same, for the translation tests.

Each case: (id, FetchXML, entity set, OData query string). The expected AST is what the gateway's own
OData parser makes of the query string: two front ends, one meaning. Dates are relative to
conftest.TODAY (Wednesday 2024-05-15).
"""

from __future__ import annotations


def fetch(entity: str, body: str, **attributes: str) -> str:
    attrs = "".join(f' {name.replace("_", "-")}="{value}"' for name, value in attributes.items())
    return f'<fetch{attrs}><entity name="{entity}">{body}</entity></fetch>'


def where(entity: str, *conditions: str, kind: str = "and") -> str:
    return fetch(entity, f'<filter type="{kind}">{"".join(conditions)}</filter>')


def cond(attribute: str, operator: str, value: str | None = None, *values: str, **extra: str) -> str:
    attrs = f'attribute="{attribute}" operator="{operator}"'
    if value is not None:
        attrs += f' value="{value}"'
    attrs += "".join(f' {name}="{text}"' for name, text in extra.items())
    children = "".join(f"<value>{text}</value>" for text in values)
    return f"<condition {attrs}>{children}</condition>" if children else f"<condition {attrs}/>"


GUID = "6d8f1a8e-1a2b-4c3d-9e8f-0a1b2c3d4e5f"
SO_LINK = '<link-entity name="salesorder" from="customerid" to="accountid" alias="so"'
CO_LINK = '<link-entity name="cdm_company" from="cdm_companyid" to="msdyn_company" alias="co"'


def day_range(column: str, start: str, end: str, *, dated: bool = False) -> str:
    """`column ge start and column lt end` as date/time (UTC midnights) or date literals."""
    if dated:
        return f"$filter={column} ge {start} and {column} lt {end}"
    return f"$filter={column} ge {start}T00:00:00Z and {column} lt {end}T00:00:00Z"


SELECTS = [
    ("select-columns", fetch("account", '<attribute name="name"/><attribute name="accountnumber"/>'), "accounts",
     "$select=name,accountnumber"),
    ("select-duplicate-once", fetch("account", '<attribute name="name"/><attribute name="name"/>'), "accounts",
     "$select=name"),
    ("select-lookup-by-logical-name", fetch("account", '<attribute name="msdyn_company"/>'), "accounts",
     "$select=_msdyn_company_value"),
    ("select-lookup-property-name", fetch("account", '<attribute name="_msdyn_company_value"/>'), "accounts",
     "$select=_msdyn_company_value"),
    ("all-attributes", fetch("account", "<all-attributes/>"), "accounts", ""),
    ("no-attributes-is-all", fetch("account", ""), "accounts", ""),
    ("other-table", fetch("salesorderdetail", '<attribute name="quantity"/>'), "salesorderdetails",
     "$select=quantity"),
    ("order", fetch("account", '<attribute name="name"/><order attribute="name" descending="true"/>'
                    '<order attribute="accountnumber"/><order attribute="creditlimit" descending="0"/>'),
     "accounts", "$select=name&$orderby=name desc,accountnumber,creditlimit"),
    ("top", fetch("account", '<attribute name="name"/>', top="10"), "accounts", "$select=name&$top=10"),
    ("paging-page-3", fetch("account", '<attribute name="name"/>', count="50", page="3"), "accounts",
     "$select=name&$top=50&$skip=100"),
    ("paging-count-only", fetch("account", '<attribute name="name"/>', count="25"), "accounts",
     "$select=name&$top=25"),
    ("paging-page-only", fetch("account", '<attribute name="name"/>', page="2"), "accounts",
     "$select=name&$top=5000&$skip=5000"),
    ("total-count", fetch("account", '<attribute name="name"/>', returntotalrecordcount="true"), "accounts",
     "$select=name&$count=true"),
    ("ignored-fetch-attributes", fetch("account", '<attribute name="name"/>', version="1.0", output_format="xml-platform",
                                       mapping="logical", distinct="true", no_lock="true", paging_cookie="&lt;cookie/&gt;"),
     "accounts", "$select=name"),
    ("comments-and-declaration", ('<?xml version="1.0" encoding="utf-8"?><!-- a view --><fetch><entity name="account">'
     '<!-- columns --><attribute name="name"/></entity></fetch>'), "accounts", "$select=name"),
    ("ui-attributes-ignored", where("account", cond("msdyn_company", "eq", GUID, uiname="USMF", uitype="cdm_company")),
     "accounts", f"$filter=_msdyn_company_value eq {GUID}"),
]

COMPARISONS = [
    ("eq-string", where("account", cond("name", "eq", "Contoso")), "accounts", "$filter=name eq 'Contoso'"),
    ("eq-string-quote", where("account", cond("name", "eq", "O'Neil &amp; Sons")), "accounts",
     "$filter=name eq 'O''Neil %26 Sons'"),
    ("eq-string-star-is-exact", where("account", cond("name", "eq", "Con*")), "accounts", "$filter=name in ('Con*')"),
    ("ne-string-star-is-exact", where("account", cond("name", "ne", "Con*")), "accounts",
     "$filter=not (name in ('Con*'))"),
    ("eq-empty-string", where("account", cond("name", "eq", "")), "accounts", "$filter=name eq ''"),
    ("ne-int", where("account", cond("statecode", "ne", "1")), "accounts", "$filter=statecode ne 1"),
    ("gt-decimal-whole", where("account", cond("creditlimit", "gt", "1000")), "accounts",
     "$filter=creditlimit gt 1000.0"),
    ("ge-decimal", where("account", cond("creditlimit", "ge", "2500.50")), "accounts", "$filter=creditlimit ge 2500.50"),
    ("lt-negative-decimal", where("account", cond("creditlimit", "lt", "-1.5")), "accounts",
     "$filter=creditlimit lt -1.5"),
    ("le-int", where("salesorderdetail", cond("lineitemnumber", "le", "3")), "salesorderdetails",
     "$filter=lineitemnumber le 3"),
    ("boolean-1", where("account", cond("creditonhold", "eq", "1")), "accounts", "$filter=creditonhold eq true"),
    ("boolean-false", where("account", cond("creditonhold", "eq", "false")), "accounts",
     "$filter=creditonhold eq false"),
    ("guid-lookup-braces", where("account", cond("msdyn_company", "eq", "{" + GUID.upper() + "}")), "accounts",
     f"$filter=_msdyn_company_value eq {GUID}"),
    ("guid-key", where("account", cond("accountid", "ne", GUID)), "accounts", f"$filter=accountid ne {GUID}"),
    ("date-column", where("salesorder", cond("requestdeliveryby", "eq", "2024-01-31")), "salesorders",
     "$filter=requestdeliveryby eq 2024-01-31"),
    ("date-column-datetime-value", where("salesorder", cond("requestdeliveryby", "gt", "2024-01-31T10:00:00Z")),
     "salesorders", "$filter=requestdeliveryby gt 2024-01-31"),
    ("datetime-utc", where("account", cond("createdon", "gt", "2024-01-01T10:00:00Z")), "accounts",
     "$filter=createdon gt 2024-01-01T10:00:00Z"),
    ("datetime-naive-is-utc", where("account", cond("createdon", "gt", "2024-01-01T10:00:00")), "accounts",
     "$filter=createdon gt 2024-01-01T10:00:00Z"),
    ("datetime-offset", where("account", cond("createdon", "lt", "2024-01-01T10:00:00+02:00")), "accounts",
     "$filter=createdon lt 2024-01-01T08:00:00Z"),
    ("datetime-date-only", where("account", cond("createdon", "ge", "2024-01-01")), "accounts",
     "$filter=createdon ge 2024-01-01T00:00:00Z"),
    ("valueof", where("account", cond("createdon", "lt", None, valueof="modifiedon")), "accounts",
     "$filter=createdon lt modifiedon"),
    ("value-child-element", where("account", cond("name", "eq", None, "Contoso")), "accounts",
     "$filter=name eq 'Contoso'"),
    ("null", where("account", cond("accountnumber", "null")), "accounts", "$filter=accountnumber eq null"),
    ("not-null", where("account", cond("msdyn_company", "not-null")), "accounts",
     "$filter=_msdyn_company_value ne null"),
    ("in-strings", where("account", cond("name", "in", None, "A", "B")), "accounts", "$filter=name in ('A','B')"),
    ("in-ints", where("salesorder", cond("statuscode", "in", None, "1", "100001")), "salesorders",
     "$filter=statuscode in (1,100001)"),
    ("not-in", where("account", cond("address1_city", "not-in", None, "Oslo")), "accounts",
     "$filter=not (address1_city in ('Oslo'))"),
    ("between", where("account", cond("creditlimit", "between", None, "10", "20.5")), "accounts",
     "$filter=creditlimit ge 10.0 and creditlimit le 20.5"),
    ("not-between", where("account", cond("creditlimit", "not-between", None, "10", "20.5")), "accounts",
     "$filter=creditlimit lt 10.0 or creditlimit gt 20.5"),
    ("eq-userid", where("account", cond("msdyn_company", "eq-userid")), "accounts",
     f"$filter=_msdyn_company_value eq {GUID}"),
    ("ne-userid", where("account", cond("msdyn_company", "ne-userid")), "accounts",
     f"$filter=_msdyn_company_value ne {GUID}"),
]

STRINGS = [
    ("like-contains", where("account", cond("name", "like", "%con%")), "accounts", "$filter=contains(name,'con')"),
    ("like-starts", where("account", cond("name", "like", "con%")), "accounts", "$filter=startswith(name,'con')"),
    ("like-ends", where("account", cond("name", "like", "%con")), "accounts", "$filter=endswith(name,'con')"),
    ("like-no-wildcard", where("account", cond("name", "like", "Contoso")), "accounts", "$filter=tolower(name) eq 'contoso'"),
    ("like-star-literal", where("account", cond("name", "like", "A*%")), "accounts", "$filter=startswith(name,'A*')"),
    ("like-percent-only", where("account", cond("name", "like", "%%")), "accounts", "$filter=name ne null"),
    ("like-underscore", where("account", cond("name", "like", "c_n%")), "accounts",
     "$filter=matchesPattern(name,'^[cC].[nN].*$')"),
    ("like-inner-percent", where("account", cond("name", "like", "a%b")), "accounts",
     "$filter=matchesPattern(name,'^[aA].*[bB]$')"),
    ("like-class", where("account", cond("name", "like", "[a-c]1%")), "accounts",
     "$filter=matchesPattern(name,'^[a-c]1.*$')"),
    ("like-escaped-percent", where("account", cond("name", "like", "%50[%]%")), "accounts",
     "$filter=matchesPattern(name,'^.*50[%].*$')"),
    ("like-regex-chars-escaped", where("account", cond("name", "like", "a.b_")), "accounts",
     "$filter=matchesPattern(name,'^[aA]\\.[bB].$')"),
    ("not-like", where("account", cond("name", "not-like", "%con%")), "accounts",
     "$filter=not contains(name,'con')"),
    ("begins-with", where("account", cond("name", "begins-with", "Con")), "accounts",
     "$filter=startswith(name,'Con')"),
    ("not-begin-with", where("account", cond("name", "not-begin-with", "Con")), "accounts",
     "$filter=not startswith(name,'Con')"),
    ("ends-with", where("account", cond("name", "ends-with", "Ltd")), "accounts", "$filter=endswith(name,'Ltd')"),
    ("not-end-with", where("account", cond("name", "not-end-with", "Ltd")), "accounts",
     "$filter=not endswith(name,'Ltd')"),
]

DATES = [
    ("on-datetime", where("account", cond("createdon", "on", "2024-03-01")), "accounts",
     day_range("createdon", "2024-03-01", "2024-03-02")),
    ("on-date", where("salesorder", cond("requestdeliveryby", "on", "2024-03-01")), "salesorders",
     day_range("requestdeliveryby", "2024-03-01", "2024-03-02", dated=True)),
    ("on-datetime-value", where("account", cond("createdon", "on", "2024-03-01T23:30:00-02:00")), "accounts",
     day_range("createdon", "2024-03-02", "2024-03-03")),
    ("on-or-after", where("account", cond("createdon", "on-or-after", "2024-03-01")), "accounts",
     "$filter=createdon ge 2024-03-01T00:00:00Z"),
    ("on-or-before", where("account", cond("createdon", "on-or-before", "2024-03-01")), "accounts",
     "$filter=createdon lt 2024-03-02T00:00:00Z"),
    ("on-or-before-date", where("salesorder", cond("requestdeliveryby", "on-or-before", "2024-02-29")), "salesorders",
     "$filter=requestdeliveryby lt 2024-03-01"),
    ("today", where("account", cond("createdon", "today")), "accounts",
     day_range("createdon", "2024-05-15", "2024-05-16")),
    ("yesterday", where("account", cond("createdon", "yesterday")), "accounts",
     day_range("createdon", "2024-05-14", "2024-05-15")),
    ("tomorrow-date", where("salesorder", cond("requestdeliveryby", "tomorrow")), "salesorders",
     day_range("requestdeliveryby", "2024-05-16", "2024-05-17", dated=True)),
    ("last-seven-days", where("account", cond("createdon", "last-seven-days")), "accounts",
     day_range("createdon", "2024-05-08", "2024-05-16")),
    ("next-seven-days", where("account", cond("createdon", "next-seven-days")), "accounts",
     day_range("createdon", "2024-05-15", "2024-05-23")),
    ("last-x-days", where("account", cond("createdon", "last-x-days", "3")), "accounts",
     day_range("createdon", "2024-05-12", "2024-05-16")),
    ("next-x-days", where("account", cond("createdon", "next-x-days", "3")), "accounts",
     day_range("createdon", "2024-05-15", "2024-05-19")),
    ("last-x-months-date", where("salesorder", cond("requestdeliveryby", "last-x-months", "1")), "salesorders",
     day_range("requestdeliveryby", "2024-04-15", "2024-05-16", dated=True)),
    ("next-x-years", where("account", cond("createdon", "next-x-years", "1")), "accounts",
     day_range("createdon", "2024-05-15", "2025-05-16")),
    ("this-week-from-sunday", where("account", cond("createdon", "this-week")), "accounts",
     day_range("createdon", "2024-05-12", "2024-05-19")),
    ("last-week", where("account", cond("createdon", "last-week")), "accounts",
     day_range("createdon", "2024-05-05", "2024-05-12")),
    ("this-month", where("account", cond("createdon", "this-month")), "accounts",
     day_range("createdon", "2024-05-01", "2024-06-01")),
    ("last-month", where("account", cond("createdon", "last-month")), "accounts",
     day_range("createdon", "2024-04-01", "2024-05-01")),
    ("next-month", where("account", cond("createdon", "next-month")), "accounts",
     day_range("createdon", "2024-06-01", "2024-07-01")),
    ("this-year", where("account", cond("createdon", "this-year")), "accounts",
     day_range("createdon", "2024-01-01", "2025-01-01")),
    ("last-year-date", where("salesorder", cond("requestdeliveryby", "last-year")), "salesorders",
     day_range("requestdeliveryby", "2023-01-01", "2024-01-01", dated=True)),
    ("olderthan-x-days", where("account", cond("createdon", "olderthan-x-days", "30")), "accounts",
     "$filter=createdon lt 2024-04-15T00:00:00Z"),
    ("older-x-days-short-spelling", where("account", cond("createdon", "older-x-days", "30")), "accounts",
     "$filter=createdon lt 2024-04-15T00:00:00Z"),
    ("olderthan-x-months", where("account", cond("createdon", "olderthan-x-months", "3")), "accounts",
     "$filter=createdon lt 2024-02-15T00:00:00Z"),
]

FILTERS = [
    ("and-chain", where("account", cond("name", "eq", "a"), cond("statecode", "eq", "0"), cond("creditonhold", "eq", "0")),
     "accounts", "$filter=name eq 'a' and statecode eq 0 and creditonhold eq false"),
    ("or", where("account", cond("name", "eq", "a"), cond("name", "eq", "b"), kind="or"), "accounts",
     "$filter=name eq 'a' or name eq 'b'"),
    ("nested", fetch("account", '<filter type="or">' + cond("name", "eq", "a") + '<filter type="and">'
                     + cond("statecode", "eq", "0") + cond("creditonhold", "eq", "0") + "</filter></filter>"),
     "accounts", "$filter=name eq 'a' or (statecode eq 0 and creditonhold eq false)"),
    ("default-type-and", fetch("account", "<filter>" + cond("name", "eq", "a") + cond("statecode", "eq", "0")
                               + "</filter>"), "accounts", "$filter=name eq 'a' and statecode eq 0"),
    ("empty-filters", fetch("account", '<filter type="or"><filter/></filter>'), "accounts", ""),
    ("two-filters-and", fetch("account", "<filter>" + cond("name", "eq", "a") + "</filter><filter>"
                              + cond("statecode", "eq", "0") + "</filter>"), "accounts",
     "$filter=name eq 'a' and statecode eq 0"),
    ("range-in-or", where("account", cond("name", "eq", "a"), cond("createdon", "today"), kind="or"), "accounts",
     "$filter=name eq 'a' or (createdon ge 2024-05-15T00:00:00Z and createdon lt 2024-05-16T00:00:00Z)"),
]

LINKS = [
    ("outer-n1-columns", fetch("account", '<attribute name="name"/>' + CO_LINK + ' link-type="outer">'
                               '<attribute name="cdm_name"/></link-entity>'),
     "accounts", "$select=name&$expand=msdyn_company($select=cdm_name)"),
    ("inner-n1-columns", fetch("account", '<attribute name="name"/>' + CO_LINK + '><attribute name="cdm_name"/>'
                               "</link-entity>"),
     "accounts", "$select=name&$filter=msdyn_company/cdm_companyid ne null&$expand=msdyn_company($select=cdm_name)"),
    ("inner-n1-filter", fetch("account", CO_LINK + ' link-type="inner"><attribute name="cdm_name"/><filter>'
                              + cond("cdm_companycode", "eq", "usmf") + "</filter></link-entity>"),
     "accounts", ("$filter=msdyn_company/cdm_companyid ne null and msdyn_company/cdm_companycode eq 'usmf'"
                 "&$expand=msdyn_company($select=cdm_name;$filter=cdm_companycode eq 'usmf')")),
    ("inner-n1-filter-only", fetch("account", '<attribute name="name"/>' + CO_LINK + "><filter>"
                                   + cond("cdm_companycode", "eq", "usmf") + "</filter></link-entity>"),
     "accounts", "$select=name&$filter=msdyn_company/cdm_companyid ne null and msdyn_company/cdm_companycode eq 'usmf'"),
    ("outer-without-columns-does-nothing", fetch("account", '<attribute name="name"/>' + CO_LINK
                                                 + ' link-type="outer"/>'), "accounts", "$select=name"),
    ("outer-n1-all-attributes", fetch("account", CO_LINK + ' link-type="outer"><all-attributes/></link-entity>'),
     "accounts", "$expand=msdyn_company"),
    ("outer-n1-filter", fetch("account", CO_LINK + ' link-type="outer"><attribute name="cdm_name"/><filter>'
                              + cond("cdm_companycode", "eq", "usmf") + "</filter></link-entity>"),
     "accounts", "$expand=msdyn_company($select=cdm_name;$filter=cdm_companycode eq 'usmf')"),
    ("link-without-from-to", fetch("account", '<link-entity name="cdm_company" link-type="outer">'
                                   '<attribute name="cdm_name"/></link-entity>'),
     "accounts", "$expand=msdyn_company($select=cdm_name)"),
    ("outer-1n-columns-filter-order", fetch("account", SO_LINK + ' link-type="outer"><attribute name="name"/>'
                                            '<order attribute="name" descending="true"/><filter>'
                                            + cond("statuscode", "eq", "1") + "</filter></link-entity>"),
     "accounts", "$expand=salesorders($select=name;$filter=statuscode eq 1;$orderby=name desc)"),
    ("inner-1n-filter", fetch("account", SO_LINK + '><attribute name="name"/><filter>' + cond("statuscode", "eq", "1")
                              + "</filter></link-entity>"),
     "accounts", ("$filter=salesorders/any(so:so/statuscode eq 1)"
                 "&$expand=salesorders($select=name;$filter=statuscode eq 1)")),
    ("inner-1n-exists-only", fetch("account", '<attribute name="name"/>' + SO_LINK + "/>"),
     "accounts", "$select=name&$filter=salesorders/any()"),
    ("child-to-parent-lookup", fetch("salesorderdetail", '<attribute name="quantity"/><link-entity name="salesorder" '
                                     'from="salesorderid" to="salesorderid" link-type="outer" alias="o">'
                                     '<attribute name="name"/></link-entity>'),
     "salesorderdetails", "$select=quantity&$expand=salesorderid($select=name)"),
    ("n1-order-sorts-root", fetch("account", '<attribute name="name"/><order attribute="name"/>' + CO_LINK
                                  + ' link-type="outer"><attribute name="cdm_name"/>'
                                  '<order attribute="cdm_name" descending="true"/></link-entity>'),
     "accounts", "$select=name&$orderby=name,msdyn_company/cdm_name desc&$expand=msdyn_company($select=cdm_name)"),
    ("nested-1n-n1", fetch("salesorder", '<attribute name="name"/><link-entity name="salesorderdetail" '
                           'from="salesorderid" to="salesorderid" link-type="outer" alias="d">'
                           '<attribute name="quantity"/><link-entity name="product" from="productid" to="productid" '
                           'link-type="outer" alias="p"><attribute name="name"/></link-entity></link-entity>'),
     "salesorders", "$select=name&$expand=order_details($select=quantity;$expand=productid($select=name))"),
    ("nested-columns-only-deeper", fetch("salesorderdetail", '<link-entity name="salesorder" from="salesorderid" '
                                         'to="salesorderid" link-type="outer"><link-entity name="account" '
                                         'from="accountid" to="customerid" link-type="outer">'
                                         '<attribute name="name"/></link-entity></link-entity>'),
     "salesorderdetails",
     "$expand=salesorderid($select=salesorderid;$expand=customerid_account($select=name))"),
    ("nested-inner-n1-n1", fetch("salesorderdetail", '<link-entity name="salesorder" from="salesorderid" '
                                 'to="salesorderid"><link-entity name="account" from="accountid" to="customerid">'
                                 "<filter>" + cond("name", "eq", "a") + "</filter></link-entity></link-entity>"),
     "salesorderdetails",
     ("$filter=salesorderid/salesorderid ne null and (salesorderid/customerid_account/accountid ne null and "
     "salesorderid/customerid_account/name eq 'a')")),
    ("nested-inner-1n-n1", fetch("account", SO_LINK + "><link-entity name=\"cdm_company\" from=\"cdm_companyid\" "
                                 'to="msdyn_company" alias="c"><filter>' + cond("cdm_companycode", "eq", "usmf")
                                 + "</filter></link-entity></link-entity>"),
     "accounts", ("$filter=salesorders/any(so:so/msdyn_company/cdm_companyid ne null and "
                 "so/msdyn_company/cdm_companycode eq 'usmf')")),
    ("entityname-n1", fetch("account", "<filter>" + cond("cdm_companycode", "eq", "usmf", entityname="co")
                            + "</filter>" + CO_LINK + ' link-type="outer"><attribute name="cdm_name"/></link-entity>'),
     "accounts", "$filter=msdyn_company/cdm_companycode eq 'usmf'&$expand=msdyn_company($select=cdm_name)"),
    ("entityname-1n", fetch("account", "<filter>" + cond("name", "like", "%x%", entityname="so") + "</filter>"
                            + SO_LINK + ' link-type="outer"/>'),
     "accounts", "$filter=salesorders/any(so:contains(so/name,'x'))"),
    ("entityname-1n-n1", fetch("account", "<filter>" + cond("cdm_companycode", "eq", "usmf", entityname="soco")
                               + "</filter>" + SO_LINK + ' link-type="outer"><link-entity name="cdm_company" '
                               'from="cdm_companyid" to="msdyn_company" alias="soco" link-type="outer"/></link-entity>'),
     "accounts", "$filter=salesorders/any(so:so/msdyn_company/cdm_companycode eq 'usmf')"),
    ("entityname-own-alias", fetch("account", SO_LINK + ' link-type="outer"><attribute name="name"/><filter>'
                                   + cond("statuscode", "eq", "1", entityname="so") + "</filter></link-entity>"),
     "accounts", "$expand=salesorders($select=name;$filter=statuscode eq 1)"),
    ("order-entityname", fetch("account", '<order attribute="cdm_name" entityname="co"/>' + CO_LINK
                               + ' link-type="outer"/>'), "accounts", "$orderby=msdyn_company/cdm_name"),
    ("link-any-in-filter", fetch("account", "<filter>" + SO_LINK + ' link-type="any"><filter>'
                                 + cond("statuscode", "eq", "1") + "</filter></link-entity></filter>"),
     "accounts", "$filter=salesorders/any(so:so/statuscode eq 1)"),
    ("link-not-any-in-filter", fetch("account", '<filter type="or">' + cond("name", "eq", "a") + SO_LINK
                                     + ' link-type="not any"/></filter>'),
     "accounts", "$filter=name eq 'a' or not (salesorders/any())"),
    ("link-exists", fetch("account", SO_LINK + ' link-type="exists"><attribute name="name"/><filter>'
                          + cond("statuscode", "eq", "1") + "</filter></link-entity>"),
     "accounts", "$filter=salesorders/any(so:so/statuscode eq 1)"),
    ("link-in-n1", fetch("account", CO_LINK + ' link-type="in"/>'), "accounts",
     "$filter=msdyn_company/cdm_companyid ne null"),
]

AGGREGATES = [
    ("count", fetch("account", '<attribute name="accountid" aggregate="count" alias="n"/>', aggregate="true"),
     "accounts", "$apply=aggregate($count as n)"),
    ("groupby-count-sum-order", fetch("account", '<attribute name="address1_city" groupby="true"/>'
                                      '<attribute name="accountid" aggregate="count" alias="n"/>'
                                      '<attribute name="creditlimit" aggregate="sum" alias="total"/>'
                                      '<order alias="n" descending="true"/>', aggregate="true"),
     "accounts", ("$apply=groupby((address1_city),aggregate($count as n,creditlimit with sum as total))"
                 "&$orderby=n desc")),
    ("groupby-same-alias", fetch("account", '<attribute name="address1_city" groupby="true" alias="address1_city"/>'
                                 '<attribute name="accountid" aggregate="count" alias="n"/>'
                                 '<order attribute="address1_city"/>', aggregate="true"),
     "accounts", "$apply=groupby((address1_city),aggregate($count as n))&$orderby=address1_city"),
    ("filter-before-groupby", fetch("account", '<attribute name="address1_city" groupby="true" alias="city"/>'
                                    '<attribute name="accountid" aggregate="count" alias="n"/><filter>'
                                    + cond("statecode", "eq", "0") + "</filter>", aggregate="true"),
     "accounts", "$apply=filter(statecode eq 0)/compute(address1_city as city)/groupby((city),aggregate($count as n))"),
    ("countcolumn-distinct", fetch("account", '<attribute name="address1_city" aggregate="countcolumn" distinct="true" '
                                   'alias="cities"/>', aggregate="true"),
     "accounts", "$apply=aggregate(address1_city with countdistinct as cities)"),
    ("countcolumn-not-nullable", fetch("account", '<attribute name="name" aggregate="countcolumn" alias="named"/>',
                                       aggregate="true"),
     "accounts", "$apply=aggregate($count as named)"),
    ("avg-min-max", fetch("salesorderdetail", '<attribute name="quantity" aggregate="avg" alias="a"/>'
                          '<attribute name="quantity" aggregate="min" alias="lo"/>'
                          '<attribute name="priceperunit" aggregate="max" alias="hi"/>', aggregate="true"),
     "salesorderdetails", ("$apply=aggregate(quantity with average as a,quantity with min as lo,"
                          "priceperunit with max as hi)")),
    ("dategrouping", fetch("account", '<attribute name="createdon" groupby="true" dategrouping="year" alias="y"/>'
                           '<attribute name="createdon" groupby="true" dategrouping="month" alias="m"/>'
                           '<attribute name="accountid" aggregate="count" alias="n"/><order alias="y"/>',
                           aggregate="true"),
     "accounts", ("$apply=compute(year(createdon) as y,month(createdon) as m)/groupby((y,m),aggregate($count as n))"
                 "&$orderby=y")),
    ("groupby-linked-column", fetch("account", '<attribute name="accountid" aggregate="count" alias="n"/>' + CO_LINK
                                    + '><attribute name="cdm_name" groupby="true" alias="company"/></link-entity>',
                                    aggregate="true"),
     "accounts", ("$apply=filter(msdyn_company/cdm_companyid ne null)/compute(msdyn_company/cdm_name as company)"
                 "/groupby((company),aggregate($count as n))")),
    ("groupby-only", fetch("account", '<attribute name="address1_city" groupby="true" alias="address1_city"/>',
                           aggregate="true"), "accounts", "$apply=groupby((address1_city))"),
    ("aggregate-top-count", fetch("account", '<attribute name="address1_city" groupby="true" alias="address1_city"/>'
                                  '<attribute name="accountid" aggregate="count" alias="n"/>', aggregate="true",
                                  top="5", returntotalrecordcount="true"),
     "accounts", "$apply=groupby((address1_city),aggregate($count as n))&$top=5&$count=true"),
]

CASES = SELECTS + COMPARISONS + STRINGS + DATES + FILTERS + LINKS + AGGREGATES
