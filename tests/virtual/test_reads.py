"""Virtual tables read through the OData pipeline, checked against hand-written SQL over the F&O tables
(SQLite, PostgreSQL, MariaDB): rows, Guids, counts, ordering, nulls, option sets, relations, $apply."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest
import yaml

from gateway.catalog.load import DEFAULT_CATALOG
from tests.virtual.conftest import API, Virtual, expected_guid

CUSTOMERS = f"{API}/mserp_custcustomerv3entities"
HEADERS = f"{API}/mserp_salesorderheaderv2entities"
LINES = f"{API}/mserp_salesorderlineentities"
GROUPS = f"{API}/mserp_custcustomergroupentities"
FORMATTED = "OData.Community.Display.V1.FormattedValue"
ENUMS = yaml.safe_load((DEFAULT_CATALOG / "service.yaml").read_text())["enums"]

CUSTOMER_SQL = """
SELECT c.RECID, c.DATAAREAID, c.ACCOUNTNUM, p.NAME, c.CREDITMAX, c.BLOCKED, a.CITY, c.CUSTGROUP
FROM CUSTTABLE c JOIN DIRPARTYTABLE p ON p.RECID = c.PARTY
LEFT JOIN LOGISTICSPOSTALADDRESS a ON a.RECID = p.PRIMARYADDRESS
"""


def _number(value: Any) -> Decimal:
    return Decimal(str(value)).normalize() if value is not None else Decimal(-1)


def test_every_customer_row_as_sql_has_it(virtual: Virtual) -> None:
    rows = virtual.all_pages(CUSTOMERS, headers={"Prefer": f'odata.include-annotations="{FORMATTED}"'},
                             **{"$select": "*"})  # (* brings the lookup values too)
    expected = {row.RECID: row for row in virtual.fo_sql(CUSTOMER_SQL)}
    groups = {(row[0], row[1]): row[2] for row in virtual.fo_sql("SELECT DATAAREAID, CUSTGROUP, RECID FROM CUSTGROUP")}
    assert len(rows) == len(expected)  # every company: virtual tables are cross-company
    for row in rows:
        recid = int(row["mserp_custcustomerv3entityid"].replace("-", "")[16:], 16)
        sql = expected[recid]
        assert row["mserp_custcustomerv3entityid"] == expected_guid("CustCustomerV3Entity", sql.RECID)
        assert row["mserp_primaryfield"] == f"{sql.DATAAREAID}|{sql.ACCOUNTNUM}"
        assert (row["mserp_dataareaid"], row["mserp_customeraccount"], row["mserp_organizationname"]) == (
            sql.DATAAREAID, sql.ACCOUNTNUM, sql.NAME)
        assert _number(row["mserp_creditlimit"]) == _number(sql.CREDITMAX)
        assert row["mserp_onholdstatus"] == sql.BLOCKED  # an option set: the integer ...
        assert row[f"mserp_onholdstatus@{FORMATTED}"] == ENUMS["CustVendorBlocked"][sql.BLOCKED]  # ... and its label
        assert row["mserp_addresscity"] == sql.CITY  # null where the customer has no address
        group = groups.get((sql.DATAAREAID, sql.CUSTGROUP))  # the lookup's value: the group row's Guid
        assert row["_mserp_fk_custcustomergroupentity_id_value"] == (
            None if group is None else expected_guid("CustCustomerGroupEntity", group))


def test_a_row_by_its_guid_by_its_f_and_o_key_and_not_by_another_entitys_guid(virtual: Virtual) -> None:
    for sql in virtual.fo_sql(CUSTOMER_SQL + " ORDER BY c.RECID")[:: 37]:
        guid = expected_guid("CustCustomerV3Entity", sql.RECID)
        row = virtual.get(f"{CUSTOMERS}({guid})")
        assert row["mserp_customeraccount"] == sql.ACCOUNTNUM
        assert virtual.get(f"{CUSTOMERS}({guid.upper()})")["mserp_custcustomerv3entityid"] == guid
        by_key = virtual.get(f"{CUSTOMERS}(mserp_dataareaid='{sql.DATAAREAID}',mserp_customeraccount='{sql.ACCOUNTNUM}')")
        assert by_key["mserp_custcustomerv3entityid"] == guid
        foreign = expected_guid("VendVendorV2Entity", sql.RECID)  # the same RECID, another entity
        assert virtual.client.get(f"{CUSTOMERS}({foreign})").status_code == 404
        assert virtual.client.get(f"{CUSTOMERS}({guid})/mserp_customeraccount/$value").text == sql.ACCOUNTNUM


def test_guids_filter_and_sort_as_their_recids(virtual: Virtual) -> None:
    recids = [row[0] for row in virtual.fo_sql("SELECT RECID FROM SALESTABLE ORDER BY RECID DESC")]
    chosen = [expected_guid("SalesOrderHeaderV2Entity", recid) for recid in recids[:: 7]]
    found = virtual.all_pages(HEADERS, **{"$select": "mserp_salesorderheaderv2entityid",
                                           "$filter": f"mserp_salesorderheaderv2entityid in ({','.join(chosen)})"})
    assert sorted(row["mserp_salesorderheaderv2entityid"] for row in found) == sorted(chosen)
    reversed_operands = virtual.get(HEADERS, **{"$filter": f"{chosen[0]} eq mserp_salesorderheaderv2entityid"})
    assert [row["mserp_salesorderheaderv2entityid"] for row in reversed_operands["value"]] == [chosen[0]]
    ordered = virtual.all_pages(HEADERS, headers={"Prefer": "odata.maxpagesize=97"},
                                **{"$select": "mserp_salesorderheaderv2entityid",
                                   "$orderby": "mserp_salesorderheaderv2entityid desc"})
    assert [row["mserp_salesorderheaderv2entityid"] for row in ordered] == [
        expected_guid("SalesOrderHeaderV2Entity", recid) for recid in recids]
    after = virtual.get(HEADERS, **{"$filter": f"mserp_salesorderheaderv2entityid gt {chosen[1]}", "$count": "true",
                                    "$top": "0"})
    assert after["@odata.count"] == sum(1 for recid in recids if recid > recids[7])


def test_paging_and_the_count_cap_of_dataverse(virtual: Virtual) -> None:
    total = virtual.fo_sql("SELECT count(*) FROM SALESLINE")[0][0]
    first = virtual.get(LINES, **{"$select": "mserp_inventorylotid", "$count": "true"})
    assert len(first["value"]) == min(total, 5000)
    assert first["@odata.count"] == min(total, 5000)
    assert first.get("@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded", False) == (total > 5000)
    rows = virtual.all_pages(LINES, **{"$select": "mserp_inventorylotid,mserp_dataareaid"})
    expected = sorted(tuple(row) for row in virtual.fo_sql("SELECT DATAAREAID, INVENTTRANSID FROM SALESLINE"))
    assert sorted((row["mserp_dataareaid"], row["mserp_inventorylotid"]) for row in rows) == expected
    assert virtual.client.get(f"{LINES}/$count").text == str(total)
    skipped = virtual.client.get(LINES, params={"$skip": "10"})
    assert skipped.status_code == 400 and skipped.json()["error"]["code"] == "0x80060888"
    assert "$skip" in skipped.json()["error"]["message"]


def test_one_company_when_cross_company_is_false(virtual: Virtual) -> None:
    rows = virtual.all_pages(CUSTOMERS, **{"cross-company": "false", "$select": "mserp_dataareaid"})
    expected = virtual.fo_sql("SELECT count(*) FROM CUSTTABLE WHERE DATAAREAID = 'usmf'")[0][0]
    assert len(rows) == expected and {row["mserp_dataareaid"] for row in rows} == {"usmf"}


def test_expand_both_ways_as_sql_joins(virtual: Virtual) -> None:
    lines_of: dict[tuple[str, str], list[str]] = defaultdict(list)
    for area, sales_id, lot in virtual.fo_sql("SELECT DATAAREAID, SALESID, INVENTTRANSID FROM SALESLINE"):
        lines_of[(area, sales_id)].append(lot)
    headers = virtual.all_pages(HEADERS, **{
        "$select": "mserp_dataareaid,mserp_salesordernumber",
        "$expand": "mserp_FK_SalesOrderHeaderV2Entity_SalesOrderLines($select=mserp_inventorylotid),"
                   "mserp_fk_custcustomerv3entity_id($select=mserp_organizationname)"})
    names = {(row.DATAAREAID, row.ACCOUNTNUM): row.NAME for row in virtual.fo_sql(CUSTOMER_SQL)}
    customer_of = {(row[0], row[1]): row[2] for row in virtual.fo_sql("SELECT DATAAREAID, SALESID, CUSTACCOUNT FROM SALESTABLE")}
    assert len(headers) == len(customer_of)
    for header in headers:
        key = (header["mserp_dataareaid"], header["mserp_salesordernumber"])
        lines = header["mserp_FK_SalesOrderHeaderV2Entity_SalesOrderLines"]
        assert sorted(line["mserp_inventorylotid"] for line in lines) == sorted(lines_of[key])
        customer = header["mserp_fk_custcustomerv3entity_id"]
        assert (customer or {}).get("mserp_organizationname") == names.get((key[0], customer_of[key]))


def test_navigation_in_filter_and_any(virtual: Virtual) -> None:
    rows = virtual.all_pages(HEADERS, **{
        "$select": "mserp_salesordernumber,mserp_dataareaid",
        "$filter": "mserp_FK_SalesOrderHeaderV2Entity_SalesOrderLines/any(l: l/mserp_lineamount gt 20000)"
                   " and mserp_fk_custcustomerv3entity_id/mserp_onholdstatus eq 0"})
    expected = virtual.fo_sql("""
        SELECT DISTINCT h.DATAAREAID, h.SALESID FROM SALESTABLE h
        JOIN CUSTTABLE c ON c.DATAAREAID = h.DATAAREAID AND c.ACCOUNTNUM = h.CUSTACCOUNT AND c.BLOCKED = 0
        WHERE EXISTS (SELECT 1 FROM SALESLINE l WHERE l.DATAAREAID = h.DATAAREAID AND l.SALESID = h.SALESID
                      AND l.LINEAMOUNT > 20000)""")
    assert sorted((row["mserp_dataareaid"], row["mserp_salesordernumber"]) for row in rows) == sorted(
        (row[0], row[1]) for row in expected)


def test_apply_groupby_as_sql_group_by(virtual: Virtual) -> None:
    body = virtual.get(LINES, **{"$apply": "groupby((mserp_dataareaid,mserp_salesorderlinestatus),"
                                           "aggregate(mserp_lineamount with sum as total,$count as n))"})
    expected = {(row[0], row[1]): (row[2], row[3]) for row in virtual.fo_sql(
        "SELECT DATAAREAID, SALESSTATUS, SUM(LINEAMOUNT), COUNT(*) FROM SALESLINE GROUP BY DATAAREAID, SALESSTATUS")}
    got = {(row["mserp_dataareaid"], row["mserp_salesorderlinestatus"]): (row["total"], row["n"]) for row in body["value"]}
    assert set(got) == set(expected)
    for key, (total, count) in got.items():
        assert count == expected[key][1]
        assert abs(Decimal(str(total)) - Decimal(str(expected[key][0]))) < Decimal("0.01")


@pytest.mark.parametrize("function", ["contains", "startswith", "endswith"])
def test_text_functions_ignore_case_as_dataverse_does(virtual: Virtual, function: str) -> None:
    probe = {"contains": "ARK", "startswith": "CONT", "endswith": "INC"}[function]
    rows = virtual.all_pages(CUSTOMERS, **{"$select": "mserp_organizationname",
                                           "$filter": f"{function}(mserp_organizationname,'{probe.lower()}')"})
    names = [row.NAME for row in virtual.fo_sql(CUSTOMER_SQL)]
    test = {"contains": lambda name: probe.lower() in name.lower(),
            "startswith": lambda name: name.lower().startswith(probe.lower()),
            "endswith": lambda name: name.lower().endswith(probe.lower())}[function]
    assert sorted(row["mserp_organizationname"] for row in rows) == sorted(name for name in names if test(name))


def test_crm_query_functions_on_virtual_tables(virtual: Virtual) -> None:
    accounts = [row[0] for row in virtual.fo_sql("SELECT ACCOUNTNUM FROM CUSTTABLE ORDER BY ACCOUNTNUM")][:3]
    listed = ",".join(f"'{account}'" for account in accounts)
    rows = virtual.all_pages(CUSTOMERS, **{
        "$select": "mserp_customeraccount",
        "$filter": f"Microsoft.Dynamics.CRM.In(PropertyName='mserp_customeraccount',PropertyValues=[{listed}])"})
    expected = virtual.fo_sql("SELECT ACCOUNTNUM FROM CUSTTABLE WHERE ACCOUNTNUM IN (:a, :b, :c)",
                              a=accounts[0], b=accounts[1], c=accounts[2])
    assert sorted(row["mserp_customeraccount"] for row in rows) == sorted(row[0] for row in expected)
    low, high = 1000, 50000
    between = virtual.all_pages(CUSTOMERS, **{
        "$select": "mserp_customeraccount",
        "$filter": f"Microsoft.Dynamics.CRM.Between(PropertyName='mserp_creditlimit',PropertyValues=['{low}','{high}'])"})
    expected = virtual.fo_sql("SELECT count(*) FROM CUSTTABLE WHERE CREDITMAX BETWEEN :low AND :high", low=low, high=high)
    assert len(between) == expected[0][0]


def test_groups_with_their_customers(virtual: Virtual) -> None:
    groups = virtual.all_pages(GROUPS, **{"$expand": "mserp_FK_CustCustomerGroupEntity_Customers($select=mserp_customeraccount;$count=true)"})
    expected: dict[tuple[str, str], int] = defaultdict(int)
    for area, group in virtual.fo_sql("SELECT DATAAREAID, CUSTGROUP FROM CUSTTABLE"):
        expected[(area, group)] += 1
    for group in groups:
        customers = group["mserp_FK_CustCustomerGroupEntity_Customers"]
        assert len(customers) == expected[(group["mserp_dataareaid"], group["mserp_customergroupid"])]


def test_lookup_values_filter_and_select_as_the_related_rows_guids(virtual: Virtual) -> None:
    headers = {row[0]: (row[1], row[2]) for row in virtual.fo_sql("SELECT RECID, DATAAREAID, SALESID FROM SALESTABLE")}
    recid = sorted(headers)[len(headers) // 2]
    guid = expected_guid("SalesOrderHeaderV2Entity", recid)
    rows = virtual.all_pages(LINES, **{"$select": "mserp_inventorylotid,_mserp_fk_salesorderheaderv2entity_id_value",
                                       "$filter": f"_mserp_fk_salesorderheaderv2entity_id_value eq {guid}"})
    area, sales_id = headers[recid]
    expected = virtual.fo_sql("SELECT INVENTTRANSID FROM SALESLINE WHERE DATAAREAID = :a AND SALESID = :s",
                              a=area, s=sales_id)
    assert sorted(row["mserp_inventorylotid"] for row in rows) == sorted(row[0] for row in expected) and rows
    assert {row["_mserp_fk_salesorderheaderv2entity_id_value"] for row in rows} == {guid}
    written = virtual.client.patch(f"{LINES}(mserp_dataareaid='{area}',mserp_inventorylotid='{expected[0][0]}')",
                                   json={"_mserp_fk_salesorderheaderv2entity_id_value": guid},
                                   headers={"Prefer": "tx=rollback"})
    assert written.status_code == 400  # made from the related row: not written


def test_lookup_values_are_outside_the_default_set(virtual: Virtual) -> None:
    """Each costs a subquery: named or `*` brings them, no $select does not."""
    plain = virtual.get(LINES, **{"$top": "1"})["value"][0]
    assert "_mserp_fk_salesorderheaderv2entity_id_value" not in plain and "mserp_itemnumber" in plain
    star = virtual.get(LINES, **{"$top": "1", "$select": "*"})["value"][0]
    assert star["_mserp_fk_salesorderheaderv2entity_id_value"] and set(plain) < set(star)
