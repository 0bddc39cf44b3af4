"""VendorsV2 (organizations and persons) and VendorGroups on every backend, against hand-written joins
over VENDTABLE, DIRPARTYTABLE, LOGISTICSPOSTALADDRESS and VENDGROUP."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from gateway.demo import schema as s
from tests.conftest import Backend, every_page
from tests.oracle import CUST_VENDOR_BLOCKED, DIR_PARTY_TYPE


def vendors(engine: Engine, company: str) -> dict[str, dict[str, Any]]:
    v, p, a = s.VENDTABLE, s.DIRPARTYTABLE, s.LOGISTICSPOSTALADDRESS
    statement = (
        select(v.c.ACCOUNTNUM, p.c.NAME, p.c.PARTYTYPE, p.c.PARTYNUMBER, v.c.VENDGROUP, v.c.CURRENCY, v.c.BLOCKED,
               a.c.CITY, a.c.ZIPCODE)
        .select_from(v.join(p, p.c.RECID == v.c.PARTY).outerjoin(a, a.c.RECID == p.c.PRIMARYADDRESS))
        .where(v.c.DATAAREAID == company)
    )
    with engine.connect() as connection:
        return {row.ACCOUNTNUM: {
            "dataAreaId": company, "VendorAccountNumber": row.ACCOUNTNUM, "VendorOrganizationName": row.NAME,
            "VendorPartyType": DIR_PARTY_TYPE[row.PARTYTYPE], "PartyNumber": row.PARTYNUMBER,
            "VendorGroupId": row.VENDGROUP, "CurrencyCode": row.CURRENCY, "OnHoldStatus": CUST_VENDOR_BLOCKED[row.BLOCKED],
            "AddressCity": row.CITY, "AddressZipCode": row.ZIPCODE,
        } for row in connection.execute(statement)}


def groups(engine: Engine, company: str) -> dict[str, str]:
    g = s.VENDGROUP
    with engine.connect() as connection:
        return dict(connection.execute(select(g.c.VENDGROUP, g.c.NAME).where(g.c.DATAAREAID == company)).all())


def test_every_vendor_of_a_company_with_its_party_and_address(client: TestClient, backend: Backend) -> None:
    expected = vendors(backend.engine, "demf")
    fields = list(next(iter(expected.values())))
    got = every_page(client, "/data/VendorsV2?cross-company=true&$filter=dataAreaId eq 'demf'&$select=" + ",".join(fields))
    assert {row["VendorAccountNumber"]: {name: row[name] for name in fields} for row in got} == expected
    assert {"Person", "Organization"} <= {row["VendorPartyType"] for row in got}  # the demo has both


def test_person_vendors_by_filter(client: TestClient, backend: Backend) -> None:
    expected = sorted(account for account, row in vendors(backend.engine, "usmf").items()
                      if row["VendorPartyType"] == "Person")
    got = every_page(client, "/data/VendorsV2?$filter=VendorPartyType eq "
                     "Microsoft.Dynamics.DataEntities.DirPartyType'Person'&$select=VendorAccountNumber&$orderby=VendorAccountNumber")
    assert [row["VendorAccountNumber"] for row in got] == expected and expected


def test_vendor_groups_expand_their_vendors_and_back(client: TestClient, backend: Backend) -> None:
    expected_groups = groups(backend.engine, "usmf")
    by_vendor = vendors(backend.engine, "usmf")
    got = every_page(client, "/data/VendorGroups?$expand=Vendors($select=VendorAccountNumber)")
    assert {row["VendorGroupId"]: row["Description"] for row in got} == expected_groups
    for row in got:
        assert sorted(v["VendorAccountNumber"] for v in row["Vendors"]) == sorted(
            account for account, vendor in by_vendor.items() if vendor["VendorGroupId"] == row["VendorGroupId"])
    account = min(by_vendor)
    one = client.get(f"/data/VendorsV2(dataAreaId='usmf',VendorAccountNumber='{account}')?$expand=VendorGroup")
    assert one.status_code == 200, one.text
    assert one.json()["VendorGroup"]["Description"] == expected_groups[by_vendor[account]["VendorGroupId"]]
