"""The integrated vendor master: vendor groups and vendors both ways, organizations as msdyn_vendors,
persons (sole proprietors) as contacts. Every check reads the physical tables of both databases with
plain SQL; the expected Dataverse values come from the F&O rows through a plain-Python value map."""

from __future__ import annotations

import uuid
from typing import Any

from gateway.dualwrite.initial import initial_sync
from tests.dualwrite.conftest import Sides
from tests.dualwrite.test_live import change_logs

PERSON, ORGANIZATION = 1, 2
# CustVendorBlocked (F&O integers) → msdyn_vendorhold (Dataverse option values), written out here.
HOLD = {0: 192350000, 1: 192350001, 2: 192350002, 3: 192350003, 4: 192350004, 5: 192350005}

FO_VENDORS = (
    'SELECT v."DATAAREAID" AS company, v."ACCOUNTNUM" AS account, p."NAME" AS name, v."VENDGROUP" AS grp, '
    'v."CURRENCY" AS currency, v."BLOCKED" AS blocked, a."CITY" AS city, a."COUNTRYREGIONID" AS country '
    'FROM "VENDTABLE" v JOIN "DIRPARTYTABLE" p ON p."RECID" = v."PARTY" '
    'LEFT JOIN "LOGISTICSPOSTALADDRESS" a ON a."RECID" = p."PRIMARYADDRESS" WHERE p."PARTYTYPE" = :party_type')
Vendor = tuple[str, str, str | None, int, str, str]  # name, group, currency, hold, city, country


def fo_vendors(sides: Sides, party_type: int) -> dict[tuple[str, str], Vendor]:
    return {(row.company, row.account): (row.name, row.grp, row.currency or None, HOLD[row.blocked], row.city or "",
                                         row.country or "")
            for row in sides.fo_sql(FO_VENDORS, party_type=party_type)}


def dv_vendors(sides: Sides, table: str, name: str, where: str = "", **parameters: Any) -> dict[tuple[str, str], Vendor]:
    rows = sides.dv_sql(
        f"SELECT c.cdm_companycode AS company, v.msdyn_vendoraccountnumber AS account, v.{name} AS name, "
        "g.msdyn_vendorgroup AS grp, cur.isocurrencycode AS currency, v.msdyn_vendorhold AS hold, "
        f"v.address1_city AS city, v.address1_country AS country FROM {table} v "
        "JOIN cdm_company c ON c.cdm_companyid = v.msdyn_company "
        "LEFT JOIN msdyn_vendorgroup g ON g.msdyn_vendorgroupid = v.msdyn_vendorgroupid "
        f"LEFT JOIN transactioncurrency cur ON cur.transactioncurrencyid = v.transactioncurrencyid {where}", **parameters)
    result = {(row.company, row.account): (row.name, row.grp or "", row.currency or None, row.hold, row.city or "",
                                           row.country or "") for row in rows}
    assert len(result) == len(rows), "an integration key appears twice"
    return result


def dv_contacts(sides: Sides) -> dict[tuple[str, str], Vendor]:
    return dv_vendors(sides, "contact", "fullname", "WHERE v.msdyn_isvendor = :yes", yes=True)


def company_id(sides: Sides, company: str) -> str:
    return str(sides.dv_sql("SELECT cdm_companyid FROM cdm_company WHERE cdm_companycode = :c", c=company)[0][0])


def currency_id(sides: Sides, code: str) -> str:
    return str(sides.dv_sql("SELECT transactioncurrencyid FROM transactioncurrency WHERE isocurrencycode = :c", c=code)[0][0])


def group_id(sides: Sides, company: str, group: str) -> str:
    return str(sides.dv_sql(
        "SELECT g.msdyn_vendorgroupid FROM msdyn_vendorgroup g JOIN cdm_company c ON c.cdm_companyid = g.msdyn_company "
        "WHERE c.cdm_companycode = :c AND g.msdyn_vendorgroup = :g", c=company, g=group)[0][0])


def vendor_row(sides: Sides, account: str, company: str = "usmf") -> Any:
    rows = sides.fo_sql(
        'SELECT v."VENDGROUP" AS grp, v."BLOCKED" AS blocked, v."CURRENCY" AS currency, p."NAME" AS name, '
        'p."PARTYTYPE" AS party_type, a."CITY" AS city FROM "VENDTABLE" v JOIN "DIRPARTYTABLE" p ON p."RECID" = v."PARTY" '
        'LEFT JOIN "LOGISTICSPOSTALADDRESS" a ON a."RECID" = p."PRIMARYADDRESS" '
        'WHERE v."DATAAREAID" = :company AND v."ACCOUNTNUM" = :account', account=account, company=company)
    return rows[0] if rows else None


def first_vendor(sides: Sides, party_type: int, index: int = 0) -> str:
    rows = sides.fo_sql('SELECT v."ACCOUNTNUM" FROM "VENDTABLE" v JOIN "DIRPARTYTABLE" p ON p."RECID" = v."PARTY" '
                        "WHERE v.\"DATAAREAID\" = 'usmf' AND p.\"PARTYTYPE\" = :t ORDER BY 1", t=party_type)
    return str(rows[index][0])


def fresh_number() -> str:
    return "DWV-" + uuid.uuid4().hex[:6].upper()


# ---------------------------------------------------------------- initial sync
def test_vendor_groups_are_copied(sides: Sides) -> None:
    fo = {(row[0], row[1]): row[2] for row in sides.fo_sql('SELECT "DATAAREAID", "VENDGROUP", "NAME" FROM "VENDGROUP"')}
    dv = {(row[0], row[1]): row[2] for row in sides.dv_sql(
        "SELECT c.cdm_companycode, g.msdyn_vendorgroup, g.msdyn_description FROM msdyn_vendorgroup g "
        "JOIN cdm_company c ON c.cdm_companyid = g.msdyn_company")}
    assert len(fo) >= 10 and dv == fo


def test_organization_vendors_are_msdyn_vendors(sides: Sides) -> None:
    expected = fo_vendors(sides, ORGANIZATION)
    assert len(expected) >= 15
    assert dv_vendors(sides, "msdyn_vendor", "msdyn_vendorname") == expected


def test_person_vendors_are_vendor_contacts(sides: Sides) -> None:
    expected = fo_vendors(sides, PERSON)
    assert {company for company, _ in expected} == {row[0] for row in sides.fo_sql('SELECT "ID" FROM "DATAAREA"')}
    assert dv_contacts(sides) == expected
    # ... and no organization became a contact, no person a msdyn_vendors row
    assert not set(expected) & set(dv_vendors(sides, "msdyn_vendor", "msdyn_vendorname"))


# ---------------------------------------------------------------- live sync, F&O → Dataverse
def test_fo_vendor_changes_reach_msdyn_vendors(sides: Sides) -> None:
    account = first_vendor(sides, ORGANIZATION, 1)
    response = sides.client.patch(f"/data/VendorsV2(dataAreaId='usmf',VendorAccountNumber='{account}')",
                                  json={"VendorOrganizationName": "Fabrikam Supplies", "OnHoldStatus": "Payment",
                                        "VendorGroupId": "30", "AddressCity": "Tacoma"})
    assert response.status_code == 204, response.text
    fo = fo_vendors(sides, ORGANIZATION)[("usmf", account)]
    assert fo[0:2] == ("Fabrikam Supplies", "30") and fo[3] == HOLD[3]
    assert dv_vendors(sides, "msdyn_vendor", "msdyn_vendorname")[("usmf", account)] == fo
    assert change_logs(sides) == (0, 0)


def test_fo_creates_become_a_vendor_or_a_contact_by_party_type(sides: Sides) -> None:
    organization, person = fresh_number(), fresh_number()
    for number, name, party_type in ((organization, "Northwind Parts", "Organization"), (person, "Ada Lovelace", "Person")):
        response = sides.client.post("/data/VendorsV2", json={
            "dataAreaId": "usrt", "VendorAccountNumber": number, "VendorOrganizationName": name,
            "VendorPartyType": party_type, "VendorGroupId": "20", "CurrencyCode": "USD", "AddressCity": "Boise"})
        assert response.status_code == 201, response.text
    vendors = dv_vendors(sides, "msdyn_vendor", "msdyn_vendorname")
    contacts = dv_contacts(sides)
    assert vendors[("usrt", organization)] == ("Northwind Parts", "20", "USD", HOLD[0], "Boise", "")
    assert contacts[("usrt", person)] == ("Ada Lovelace", "20", "USD", HOLD[0], "Boise", "")
    assert ("usrt", person) not in vendors and ("usrt", organization) not in contacts
    assert vendor_row(sides, person, "usrt").party_type == PERSON


# ---------------------------------------------------------------- live sync, Dataverse → F&O
def test_dataverse_vendor_create_becomes_an_fo_organization_vendor(sides: Sides) -> None:
    number = fresh_number()
    response = sides.client.post("/api/data/v9.2/msdyn_vendors", json={
        "msdyn_vendoraccountnumber": number, "msdyn_vendorname": "Made in Dataverse GmbH",
        "_msdyn_company_value": company_id(sides, "demf"), "_msdyn_vendorgroupid_value": group_id(sides, "demf", "10"),
        "_transactioncurrencyid_value": currency_id(sides, "EUR"), "msdyn_vendorhold": 192350002, "address1_city": "Berlin"})
    assert response.status_code == 201, response.text
    row = vendor_row(sides, number, "demf")
    assert (row.name, row.grp, row.currency, row.blocked, row.city, row.party_type) == (
        "Made in Dataverse GmbH", "10", "EUR", 2, "Berlin", ORGANIZATION)
    assert change_logs(sides) == (0, 0)


def test_dataverse_vendor_without_a_number_gets_its_autonumber_in_fo(sides: Sides) -> None:
    response = sides.client.post("/api/data/v9.2/msdyn_vendors", json={
        "msdyn_vendorname": "Numbered by Dataverse", "_msdyn_company_value": company_id(sides, "usmf")})
    assert response.status_code == 201, response.text
    number = response.json()["msdyn_vendoraccountnumber"]
    assert number.startswith("VEN-") and vendor_row(sides, number).name == "Numbered by Dataverse"


def test_contact_changes_reach_the_person_vendor(sides: Sides) -> None:
    account = first_vendor(sides, PERSON)
    contactid = sides.dv_sql("SELECT contactid FROM contact c JOIN cdm_company k ON k.cdm_companyid = c.msdyn_company "
                             "WHERE k.cdm_companycode = 'usmf' AND c.msdyn_vendoraccountnumber = :a", a=account)[0][0]
    response = sides.client.patch(f"/api/data/v9.2/contacts({contactid})",
                                  json={"fullname": "Grace Hopper", "msdyn_vendorhold": 192350005})
    assert response.status_code == 204, response.text
    row = vendor_row(sides, account)
    assert (row.name, row.blocked, row.party_type) == ("Grace Hopper", 5, PERSON)


def test_a_dataverse_contact_that_is_no_vendor_stays_in_dataverse(sides: Sides) -> None:
    before = sides.fo_sql('SELECT count(*) FROM "VENDTABLE"')[0][0]
    response = sides.client.post("/api/data/v9.2/contacts", json={"fullname": "Only a contact"})
    assert response.status_code == 201, response.text
    assert sides.fo_sql('SELECT count(*) FROM "VENDTABLE"')[0][0] == before


def test_vendor_group_changed_in_dataverse_reaches_fo(sides: Sides) -> None:
    groupid = group_id(sides, "usmf", "50")
    response = sides.client.patch(f"/api/data/v9.2/msdyn_vendorgroups({groupid})",
                                  json={"msdyn_description": "Freight, logistics and customs"})
    assert response.status_code == 204, response.text
    name = sides.fo_sql("SELECT \"NAME\" FROM \"VENDGROUP\" WHERE \"DATAAREAID\" = 'usmf' AND \"VENDGROUP\" = '50'")
    assert name[0][0] == "Freight, logistics and customs"


def test_deleting_the_contact_deletes_the_person_vendor(sides: Sides) -> None:
    number = fresh_number()
    assert sides.client.post("/data/VendorsV2", json={
        "dataAreaId": "usmf", "VendorAccountNumber": number, "VendorOrganizationName": "Short Lived",
        "VendorPartyType": "Person"}).status_code == 201
    contactid = sides.dv_sql("SELECT contactid FROM contact WHERE msdyn_vendoraccountnumber = :a", a=number)[0][0]
    assert sides.client.delete(f"/api/data/v9.2/contacts({contactid})").status_code == 204
    assert vendor_row(sides, number) is None


# ---------------------------------------------------------------- prerequisites
def test_a_vendor_group_missing_in_dataverse_refuses_the_fo_write(sides: Sides) -> None:
    account = first_vendor(sides, ORGANIZATION, 2)
    before = vendor_row(sides, account)
    sides.dv_exec("DELETE FROM msdyn_vendorgroup WHERE msdyn_vendorgroup = '40' AND msdyn_company = :c",
                  c=company_id(sides, "usmf"))
    try:
        response = sides.client.patch(f"/data/VendorsV2(dataAreaId='usmf',VendorAccountNumber='{account}')",
                                      json={"VendorGroupId": "40", "VendorOrganizationName": "Not saved"})
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert "msdyn_vendorgroup" in error["message"] and "Vendors V2" in error["message"] + str(error.get("target"))
        assert vendor_row(sides, account) == before  # the F&O write was rolled back
    finally:  # the group comes back: the map's initial sync restores what the test deleted
        initial_sync(sides.dual, sides.dual.table_map("Vendor groups"), restart=True)
    assert group_id(sides, "usmf", "40")


# ---------------------------------------------------------------- initial sync from Dataverse
def test_initial_sync_from_dataverse_creates_the_vendors_only_dataverse_has(sides: Sides) -> None:
    organization_number, person_number = fresh_number(), fresh_number()
    company, group = company_id(sides, "usrt"), group_id(sides, "usrt", "30")
    common = {"company": company, "grp": group, "currency": currency_id(sides, "USD")}
    sides.dv_exec("INSERT INTO msdyn_vendor (msdyn_vendorid, msdyn_vendoraccountnumber, msdyn_vendorname, msdyn_company, "
                  "msdyn_vendorgroupid, transactioncurrencyid, msdyn_vendorhold, statecode, versionnumber) VALUES "
                  "(:id, :number, 'Typed into Dataverse Ltd', :company, :grp, :currency, 192350001, 0, 1)",
                  id=str(uuid.uuid4()), number=organization_number, **common)
    sides.dv_exec("INSERT INTO contact (contactid, fullname, msdyn_isvendor, msdyn_vendoraccountnumber, msdyn_company, "
                  "msdyn_vendorgroupid, transactioncurrencyid, msdyn_vendorhold, statecode, versionnumber) VALUES "
                  "(:id, 'Typed Person', :yes, :number, :company, :grp, :currency, 192350000, 0, 1)",
                  id=str(uuid.uuid4()), yes=True, number=person_number, **common)
    sides.dv_exec('DELETE FROM "DUALWRITECHANGES"')  # as if the rows were there before dual-write: no live sync
    for name in ("Vendors V2", "Vendor persons"):
        result = initial_sync(sides.dual, sides.dual.table_map(name), "dv", restart=True)
        assert result.counts["create"] == 1 and result.counts["failed"] == 0, result.summary()
    organization, person = vendor_row(sides, organization_number, "usrt"), vendor_row(sides, person_number, "usrt")
    assert (organization.name, organization.grp, organization.blocked, organization.party_type) == (
        "Typed into Dataverse Ltd", "30", 1, ORGANIZATION)
    assert (person.name, person.currency, person.party_type) == ("Typed Person", "USD", PERSON)
