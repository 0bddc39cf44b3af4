"""The Dataverse-side endpoint (/api/data/v9.2) keeps Dataverse Web API conventions; checked against
the store's tables with plain SQL."""

from __future__ import annotations

import re
from decimal import Decimal

from tests.dualwrite.conftest import Sides
from tests.dualwrite.test_live import customer_row, organization

API = "/api/data/v9.2"
FORMATTED = "OData.Community.Display.V1.FormattedValue"
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def test_service_document_and_metadata(sides: Sides) -> None:
    names = {item["name"] for item in sides.client.get(f"{API}/").json()["value"]}
    assert {"accounts", "cdm_companies", "salesorders", "salesorderdetails", "products"} <= names
    metadata = sides.client.get(f"{API}/$metadata").text
    assert 'Namespace="Microsoft.Dynamics.CRM"' in metadata
    assert '<Property Name="accountid" Type="Edm.Guid" Nullable="false"' in metadata


def test_guid_keys_and_alternate_keys_address_the_same_row(sides: Sides) -> None:
    customer = organization(sides, 0)
    row = sides.dv_sql("SELECT accountid, msdyn_company, name FROM account WHERE accountid = :id",
                       id=customer["accountid"])[0]
    assert GUID.match(row.accountid)
    by_id = sides.client.get(f"{API}/accounts({row.accountid})?$select=name")
    assert by_id.status_code == 200 and by_id.json()["name"] == row.name
    by_key = sides.client.get(f"{API}/accounts(accountnumber='{customer['account']}',"
                              f"_msdyn_company_value={row.msdyn_company})?$select=accountid")
    assert by_key.status_code == 200 and by_key.json()["accountid"] == row.accountid
    quoted = sides.client.get(f"{API}/accounts('{row.accountid}')")
    assert quoted.status_code == 400  # a Guid key is written bare, as Dataverse does


def test_create_returns_a_guid_location(sides: Sides) -> None:
    response = sides.client.post(f"{API}/uoms", json={"msdyn_symbol": "dwx", "name": "DW unit"})
    assert response.status_code == 201, response.text
    location = response.headers["location"]
    guid = re.search(r"uoms\(([^)]*)\)$", location).group(1)  # type: ignore[union-attr]
    assert GUID.match(guid)
    assert sides.dv_sql("SELECT name FROM uom WHERE uomid = :id", id=guid)[0][0] == "DW unit"
    bad = sides.client.post(f"{API}/uoms", json={"uomid": "not-a-guid", "msdyn_symbol": "dwy"})
    assert bad.status_code == 400 and bad.json()["error"]["target"] == "uomid"


def test_page_size_is_at_most_5000(sides: Sides) -> None:
    total = sides.dv_sql("SELECT count(*) FROM salesorderdetail")[0][0]
    assert total > 5000
    page = sides.client.get(f"{API}/salesorderdetails?$select=salesorderdetailid", headers={"Prefer": "odata.maxpagesize=9000"})
    assert len(page.json()["value"]) == 5000 and "@odata.nextLink" in page.json()
    small = sides.client.get(f"{API}/salesorderdetails?$select=quantity", headers={"Prefer": "odata.maxpagesize=250"})
    assert len(small.json()["value"]) == 250
    assert small.headers["preference-applied"] == "odata.maxpagesize=250"


def test_formatted_values_when_asked(sides: Sides) -> None:
    prefer = {"Prefer": f'odata.include-annotations="{FORMATTED}"'}
    rows = sides.client.get(f"{API}/accounts?$select=accountid,customertypecode,creditonhold,statecode&$top=20",
                            headers=prefer).json()["value"]
    stored = {row.accountid: row for row in sides.dv_sql("SELECT accountid, customertypecode, creditonhold FROM account")}
    for row in rows:
        assert row[f"customertypecode@{FORMATTED}"] == {3: "Customer"}[stored[row["accountid"]].customertypecode]
        assert row[f"creditonhold@{FORMATTED}"] == ("Yes" if stored[row["accountid"]].creditonhold else "No")
        assert row[f"statecode@{FORMATTED}"] == "Active"
        names = list(row)
        assert names.index(f"customertypecode@{FORMATTED}") == names.index("customertypecode") - 1
    plain = sides.client.get(f"{API}/accounts?$select=customertypecode&$top=1").json()["value"][0]
    assert f"customertypecode@{FORMATTED}" not in plain


def test_lookups_expand(sides: Sides) -> None:
    body = sides.client.get(f"{API}/salesorders?$top=3&$select=msdyn_salesordernumber,_customerid_value"
                            "&$expand=customerid_account($select=accountnumber),msdyn_company($select=cdm_companycode)").json()
    for order in body["value"]:
        expected = sides.dv_sql(
            "SELECT a.accountnumber, c.cdm_companycode FROM salesorder o JOIN account a ON a.accountid = o.customerid "
            "JOIN cdm_company c ON c.cdm_companyid = o.msdyn_company WHERE o.msdyn_salesordernumber = :n",
            n=order["msdyn_salesordernumber"])
        assert (order["customerid_account"]["accountnumber"], order["msdyn_company"]["cdm_companycode"]) in [
            tuple(row) for row in expected]


def test_batch_on_the_dataverse_endpoint_syncs_the_whole_change_set(sides: Sides) -> None:
    first, second = organization(sides, 1), organization(sides, 2)
    requests = [
        {"id": "1", "atomicityGroup": "g", "method": "PATCH", "url": f"accounts({first['accountid']})",
         "body": {"creditlimit": 1001}},
        {"id": "2", "atomicityGroup": "g", "method": "PATCH", "url": f"accounts({second['accountid']})",
         "body": {"creditlimit": 1002}},
    ]
    response = sides.client.post(f"{API}/$batch", json={"requests": requests})
    assert [item["status"] for item in response.json()["responses"]] == [204, 204], response.text
    assert Decimal(str(customer_row(sides, first["account"]).credit)) == 1001
    assert Decimal(str(customer_row(sides, second["account"]).credit)) == 1002


def test_lookups_bind_by_key_and_alternate_key(sides: Sides) -> None:
    group = sides.dv_sql("SELECT g.msdyn_customergroupid, g.msdyn_groupid FROM msdyn_customergroup g JOIN cdm_company c "
                         "ON c.cdm_companyid = g.msdyn_company WHERE c.cdm_companycode = 'usrt' ORDER BY 2")[0]
    number = "BIND-" + group.msdyn_groupid
    response = sides.client.post(f"{API}/accounts", json={
        "name": "Bound Org", "accountnumber": number, "customertypecode": 3,
        "msdyn_company@odata.bind": "/cdm_companies(cdm_companycode='usrt')",
        "msdyn_customergroupid@odata.bind": f"http://testserver{API}/msdyn_customergroups({group.msdyn_customergroupid})",
    })
    assert response.status_code == 201, response.text
    row = sides.fo_sql('SELECT "CUSTGROUP" FROM "CUSTTABLE" WHERE "DATAAREAID" = \'usrt\' AND "ACCOUNTNUM" = :n',
                       n=number)
    assert row[0][0] == group.msdyn_groupid  # the bound group reached F&O as its id
    bad = sides.client.post(f"{API}/accounts", json={"name": "x", "msdyn_company@odata.bind": "/accounts(name='x')"})
    assert bad.status_code == 400
    missing = sides.client.post(f"{API}/accounts", json={
        "name": "x", "msdyn_company@odata.bind": "/cdm_companies(cdm_companycode='none')"})
    assert missing.status_code == 404 and missing.json()["error"]["target"] == "msdyn_company@odata.bind"


def test_lookups_are_labelled_with_the_name_they_point_at(sides: Sides) -> None:
    prefer = {"Prefer": f'odata.include-annotations="{FORMATTED}"'}
    orders = sides.client.get(f"{API}/salesorders?$select=salesorderid,_customerid_value,_msdyn_company_value&$top=30",
                              headers=prefer).json()["value"]
    expected = {row.salesorderid: (row.account, row.company) for row in sides.dv_sql(
        "SELECT o.salesorderid, a.name AS account, c.cdm_name AS company FROM salesorder o "
        "JOIN account a ON a.accountid = o.customerid JOIN cdm_company c ON c.cdm_companyid = o.msdyn_company")}
    assert len(orders) == 30
    for order in orders:
        assert (order[f"_customerid_value@{FORMATTED}"], order[f"_msdyn_company_value@{FORMATTED}"]) == \
            expected[order["salesorderid"]]
        assert order["_customerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "account"
        names = list(order)
        assert names.index(f"_customerid_value@{FORMATTED}") < names.index("_customerid_value")
    single = sides.client.get(f"{API}/salesorders({orders[0]['salesorderid']})?$select=_customerid_value",
                              headers=prefer).json()
    assert single[f"_customerid_value@{FORMATTED}"] == expected[orders[0]["salesorderid"]][0]
