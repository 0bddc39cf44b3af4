"""Synthetic relations from virtual tables to native Dataverse tables (another database): $expand
answers as hand-written SQL on both databases says, in $metadata too; paths that would need a join
across the two databases are a clear 400."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.dualwrite.conftest import DUALWRITE_BACKENDS, Sides, close, open_sides
from tests.virtual.conftest import API, AVAILABLE

LINES = f"{API}/mserp_salesorderlineentities"


@pytest.fixture(scope="module", params=DUALWRITE_BACKENDS)
def sides(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sides]:
    """Both sides filled (the native tables by dual-write's initial sync), the virtual tables enabled."""
    opened = open_sides(request.param, tmp_path_factory.mktemp("vt-relations"), "vt_relations")
    for name in ("SalesOrderLineEntity", "CustCustomerV3Entity", "EcoResProductV2Entity"):
        response = opened.client.patch(f"{AVAILABLE}(mserp_physicalname='{name}')", json={"mserp_isvisible": True})
        assert response.status_code == 204, response.text
    yield opened
    close(opened)


def _pages(sides: Sides, path: str, **params: Any) -> list[dict[str, Any]]:
    response = sides.client.get(path, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    rows = body["value"]
    while "@odata.nextLink" in body:
        body = sides.client.get(body["@odata.nextLink"]).json()
        rows.extend(body["value"])
    return rows


def test_lines_expand_their_global_product_and_company_from_the_other_database(sides: Sides) -> None:
    rows = _pages(sides, LINES, **{
        "$select": "mserp_inventorylotid,mserp_itemnumber,mserp_dataareaid",
        "$expand": "mserp_fk_msdyn_globalproduct_id($select=msdyn_productnumber,msdyn_productname),"
                   "mserp_fk_cdm_company_id($select=cdm_companycode,cdm_name)"})
    names = dict(sides.dv_sql("SELECT msdyn_productnumber, msdyn_productname FROM msdyn_globalproduct"))
    companies = dict(sides.dv_sql("SELECT cdm_companycode, cdm_name FROM cdm_company"))
    lines = sides.fo_sql('SELECT "INVENTTRANSID", "ITEMID", "DATAAREAID" FROM "SALESLINE"')
    assert len(rows) == len(lines) and names and companies
    item_of = {(row[2], row[0]): row[1] for row in lines}
    for row in rows:
        product = row["mserp_fk_msdyn_globalproduct_id"]
        item = item_of[(row["mserp_dataareaid"], row["mserp_inventorylotid"])]
        if item in names:
            assert product == {"msdyn_productnumber": item, "msdyn_productname": names[item],
                               "@odata.etag": product["@odata.etag"]}
        else:
            assert product is None
        company = row["mserp_fk_cdm_company_id"]
        assert company["cdm_companycode"] == row["mserp_dataareaid"] and company["cdm_name"] == companies[row["mserp_dataareaid"]]


def test_one_row_by_guid_expands_too_and_metadata_shows_the_lookups(sides: Sides) -> None:
    first = sides.client.get(LINES, params={"$top": "1", "$select": "mserp_salesorderlineentityid"}).json()["value"][0]
    one = sides.client.get(f"{LINES}({first['mserp_salesorderlineentityid']})",
                           params={"$expand": "mserp_fk_cdm_company_id"})
    assert one.status_code == 200 and one.json()["mserp_fk_cdm_company_id"]["cdm_companycode"] == one.json()["mserp_dataareaid"]
    metadata = sides.client.get(f"{API}/$metadata").text
    assert '<NavigationProperty Name="mserp_fk_cdm_company_id" Type="Microsoft.Dynamics.CRM.cdm_company"' in metadata
    assert '<NavigationProperty Name="mserp_fk_msdyn_globalproduct_id"' in metadata


def test_the_native_tables_privileges_apply(sides: Sides) -> None:
    from tests.conftest import bearer

    clerk = bearer("clerk", ("SalesClerk",))  # roles.yaml: no dataverse:cdm_companies, no virtual tables
    refused = sides.client.get(LINES, params={"$expand": "mserp_fk_cdm_company_id"}, headers=clerk)
    assert refused.status_code == 403


def test_an_order_across_the_two_databases_is_a_clear_400(sides: Sides) -> None:
    response = sides.client.get(LINES, params={"$orderby": "mserp_fk_msdyn_globalproduct_id/msdyn_productname"})
    assert response.status_code == 400
    assert "$expand" in response.json()["error"]["message"]


def _lines_sql(sides: Sides) -> list[tuple[str, str, str]]:
    return [tuple(row) for row in sides.fo_sql('SELECT "DATAAREAID", "INVENTTRANSID", "ITEMID" FROM "SALESLINE"')]


@pytest.mark.parametrize(("condition", "keep"), [
    ("mserp_fk_cdm_company_id/cdm_name eq '{german}'", lambda line, ctx: ctx["company"][line[0]] == ctx["german"]),
    ("mserp_fk_cdm_company_id/cdm_name ne '{german}'", lambda line, ctx: ctx["company"][line[0]] != ctx["german"]),
    ("contains(mserp_fk_msdyn_globalproduct_id/msdyn_productname,'speaker')",
     lambda line, ctx: "speaker" in (ctx["product"].get(line[2]) or "").lower()),
    ("mserp_fk_msdyn_globalproduct_id/msdyn_productname eq null", lambda line, ctx: ctx["product"].get(line[2]) is None),
    ("mserp_fk_msdyn_globalproduct_id/msdyn_productname ne null and mserp_dataareaid eq 'usmf'",
     lambda line, ctx: ctx["product"].get(line[2]) is not None and line[0] == "usmf"),
    ("not (mserp_fk_cdm_company_id/cdm_companycode in ('usmf','usrt'))", lambda line, ctx: line[0] not in ("usmf", "usrt")),
])  # fmt: skip
def test_conditions_on_the_other_database_are_a_semi_join(sides: Sides, condition: str, keep: Any) -> None:
    """Checked against both databases' tables in plain Python, OData's null rules included (a line
    whose item has no global product satisfies `eq null` and `ne 'x'`)."""
    context = {"company": dict(sides.dv_sql("SELECT cdm_companycode, cdm_name FROM cdm_company")),
               "product": dict(sides.dv_sql("SELECT msdyn_productnumber, msdyn_productname FROM msdyn_globalproduct"))}
    context["german"] = context["company"]["demf"]
    text = condition.format(german=context["german"].replace("'", "''"))
    rows = _pages(sides, LINES, **{"$select": "mserp_dataareaid,mserp_inventorylotid", "$filter": text})
    expected = sorted((line[0], line[1]) for line in _lines_sql(sides) if keep(line, context))
    assert sorted((row["mserp_dataareaid"], row["mserp_inventorylotid"]) for row in rows) == expected
    counted = sides.client.get(f"{LINES}/$count", params={"$filter": text})
    assert counted.text == str(len(expected))


def test_fetchxml_outer_link_entities_to_native_tables(sides: Sides) -> None:
    fetch = ('<fetch count="50"><entity name="mserp_salesorderlineentity">'
             '<attribute name="mserp_inventorylotid"/><attribute name="mserp_itemnumber"/>'
             '<attribute name="mserp_dataareaid"/><order attribute="mserp_inventorylotid"/>'
             '<link-entity name="msdyn_globalproduct" from="msdyn_productnumber" to="mserp_itemnumber" alias="gp" '
             'link-type="outer"><attribute name="msdyn_productname"/></link-entity>'
             '<link-entity name="cdm_company" from="cdm_companycode" to="mserp_dataareaid" alias="co" '
             'link-type="outer"><attribute name="cdm_name"/></link-entity></entity></fetch>')
    response = sides.client.get(LINES, params={"fetchXml": fetch})
    assert response.status_code == 200, response.text
    rows = response.json()["value"]
    names = dict(sides.dv_sql("SELECT msdyn_productnumber, msdyn_productname FROM msdyn_globalproduct"))
    companies = dict(sides.dv_sql("SELECT cdm_companycode, cdm_name FROM cdm_company"))
    assert len(rows) == 50
    for row in rows:
        assert row.get("gp.msdyn_productname") == names.get(row["mserp_itemnumber"])
        assert row["co.cdm_name"] == companies[row["mserp_dataareaid"]]
    inner = fetch.replace('count="50"', 'count="5000"').replace('link-type="outer"', 'link-type="inner"').replace(
        '<attribute name="cdm_name"/>', '<attribute name="cdm_name"/><filter><condition attribute="cdm_companycode" '
        'operator="eq" value="usrt"/></filter>')
    joined = sides.client.get(LINES, params={"fetchXml": inner})
    assert joined.status_code == 200, joined.text
    expected = sorted(line[1] for line in _lines_sql(sides) if line[0] == "usrt" and line[2] in names)
    assert sorted(row["mserp_inventorylotid"] for row in joined.json()["value"]) == expected


def test_customers_expand_their_account_by_number_and_company_lookup(sides: Sides) -> None:
    rows = _pages(sides, f"{API}/mserp_custcustomerv3entities", **{
        "$select": "mserp_dataareaid,mserp_customeraccount",
        "$expand": "mserp_fk_account_id($select=accountnumber,name,creditlimit)"})
    accounts = {(code, number): name for code, number, name in sides.dv_sql(
        "SELECT c.cdm_companycode, a.accountnumber, a.name FROM account a JOIN cdm_company c ON c.cdm_companyid = a.msdyn_company")}
    assert len(rows) == sides.fo_sql('SELECT count(*) FROM "CUSTTABLE"')[0][0] and accounts
    matched = 0
    for row in rows:
        account = row["mserp_fk_account_id"]
        key = (row["mserp_dataareaid"], row["mserp_customeraccount"])
        if key in accounts:
            matched += 1
            assert account["accountnumber"] == key[1] and account["name"] == accounts[key]
        else:
            assert account is None
    assert matched > 0  # dual-write's initial sync made an account of every customer
    metadata = sides.client.get(f"{API}/$metadata").text
    assert re.search(r'<NavigationProperty Name="mserp_fk_account_id" Type="Microsoft.Dynamics.CRM.account"[^>]*/>', metadata), \
        re.findall(r'<NavigationProperty Name="mserp_fk_account[^>]*>', metadata)


def test_native_rows_expand_their_virtual_rows(sides: Sides) -> None:
    """The other side of the lookups: a company's customers, a global product's sales lines."""
    companies = _pages(sides, f"{API}/cdm_companies", **{
        "$select": "cdm_companycode", "$expand": "mserp_custcustomerv3entities($select=mserp_customeraccount)"})
    customers: dict[str, list[str]] = {}
    for area, account in sides.fo_sql('SELECT "DATAAREAID", "ACCOUNTNUM" FROM "CUSTTABLE"'):
        customers.setdefault(area, []).append(account)
    assert companies
    for company in companies:
        got = sorted(row["mserp_customeraccount"] for row in company["mserp_custcustomerv3entities"])
        assert got == sorted(customers.get(company["cdm_companycode"], []))
    products = _pages(sides, f"{API}/msdyn_globalproducts", **{
        "$select": "msdyn_productnumber", "$expand": "mserp_salesorderlineentities($select=mserp_inventorylotid;$count=true)"})
    lines: dict[str, int] = {}
    for _, _, item in _lines_sql(sides):
        lines[item] = lines.get(item, 0) + 1
    for product in products:
        assert product["mserp_salesorderlineentities@odata.count"] == lines.get(product["msdyn_productnumber"], 0)
    metadata = sides.client.get(f"{API}/$metadata").text
    assert re.search(r'<NavigationProperty Name="mserp_custcustomerv3entities" '
                     r'Type="Collection\(Microsoft.Dynamics.CRM.mserp_custcustomerv3entity\)"', metadata)


def test_links_through_a_lookup_of_the_native_table_go_one_way(sides: Sides) -> None:
    """customer -> account links by the account's company lookup: an account has no collection back."""
    response = sides.client.get(f"{API}/accounts", params={"$top": "1", "$expand": "mserp_custcustomerv3entities"})
    assert response.status_code == 400 and "mserp_custcustomerv3entities" in response.json()["error"]["message"]


@pytest.fixture(scope="module")
def companies_store(backend: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The three backends (the relations above run where dual-write does): the suite's F&O database,
    a fresh store whose only native rows are the companies, written through the API."""
    from tests.virtual.conftest import close_virtual, open_virtual

    opened = open_virtual(backend, tmp_path_factory.mktemp("vt-rel3"), "fno_vt_rel3")
    for code, name in (("usmf", "Contoso USA"), ("demf", "Contoso Germany"), ("usrt", "Contoso Retail")):
        created = opened.client.post(f"{API}/cdm_companies", json={"cdm_companycode": code, "cdm_name": name})
        assert created.status_code == 201, created.text
    yield opened
    close_virtual(opened)


def test_semi_join_and_both_directions_on_every_backend(companies_store: Any) -> None:
    virtual = companies_store
    german = virtual.all_pages(LINES, **{"$select": "mserp_dataareaid,mserp_inventorylotid",
                                         "$filter": "mserp_fk_cdm_company_id/cdm_name eq 'Contoso Germany'",
                                         "$expand": "mserp_fk_cdm_company_id($select=cdm_companycode)"})
    expected = virtual.fo_sql("SELECT INVENTTRANSID FROM SALESLINE WHERE DATAAREAID = 'demf'")
    assert sorted(row["mserp_inventorylotid"] for row in german) == sorted(row[0] for row in expected)
    assert {row["mserp_fk_cdm_company_id"]["cdm_companycode"] for row in german} == {"demf"}
    others = virtual.client.get(f"{LINES}/$count", params={"$filter": "mserp_fk_cdm_company_id/cdm_name ne 'Contoso Germany'"})
    assert others.text == str(virtual.fo_sql("SELECT count(*) FROM SALESLINE WHERE DATAAREAID <> 'demf'")[0][0])
    companies = virtual.get(f"{API}/cdm_companies", **{
        "$select": "cdm_companycode", "$expand": "mserp_custcustomerv3entities($select=mserp_customeraccount;$count=true)"})
    counts = dict(virtual.fo_sql("SELECT DATAAREAID, count(*) FROM CUSTTABLE GROUP BY DATAAREAID"))
    assert {row["cdm_companycode"]: row["mserp_custcustomerv3entities@odata.count"] for row in companies["value"]} == {
        code: counts.get(code, 0) for code in ("usmf", "demf", "usrt")}
