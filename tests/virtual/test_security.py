"""Privileges on virtual tables (DOMAIN.md §5, §7): an operation on `mserp_custcustomerv3entities` needs
the Dataverse privilege on the table AND the F&O privilege on the entity it shows (CustomersV3), in the
companies both grant. Checked for reads, listings ($metadata, service document), every path that reaches
another table ($expand, navigation in $filter, lambdas, navigation segments, FetchXML link-entity),
writes, the available-entities table and anonymous callers; rows a company-restricted caller sees are
compared with hand-written SQL over the F&O tables.

The F&O database and the Dataverse store are the session's shared `virtual` ones, read-only: every write
attempted here is refused (and checked to have changed nothing), or sent as a dry run.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import yaml
from starlette.testclient import TestClient

from tests.conftest import Backend, bearer, make_client
from tests.virtual.conftest import API, AVAILABLE, Virtual, expected_guid

CUSTOMERS = f"{API}/mserp_custcustomerv3entities"
TABLE = "mserp_custcustomerv3entities"
FORBIDDEN = "0x80040220"
EVERYTHING = ["read", "create", "update", "delete"]

ROLES: dict[str, Any] = {
    # The two halves of "may read the customers' virtual table".
    "VtFnoCustomers": {"privileges": {"fno:CustomersV3": ["read"]}},
    "VtDvCustomers": {"privileges": {"dataverse:mserp_custcustomerv3entities": ["read"]}},
    # Every virtual table on the Dataverse side, nothing in F&O.
    "VtDvAll": {"privileges": {"dataverse:mserp_*": EVERYTHING}},
    "VtFnoOrders": {"privileges": {"fno:SalesOrderHeadersV2": ["read"]}},
    "VtFnoGroups": {"privileges": {"fno:CustomerGroups": ["read"]}},
    # Writers with one half only.
    "VtFnoCustomerWriter": {"privileges": {"fno:CustomersV3": EVERYTHING}},
    "VtDvCustomerWriter": {"privileges": {"dataverse:mserp_custcustomerv3entities": EVERYTHING}},
    # Update on the Dataverse side, in usrt only.
    "VtDvUpdateUsrt": {"companies": ["usrt"],
                       "privileges": {"dataverse:mserp_custcustomerv3entities": ["create", "update"]}},
    "DataReader": {"privileges": {"fno:*": ["read"], "dataverse:*": ["read"]}},
    "VtAvailableEditor": {"privileges": {"dataverse:mserp_financeandoperationsentities": ["read", "update"]}},
}
USERS: list[dict[str, Any]] = [
    {"id": "vt-usmf", "roles": ["VtFnoCustomers", "VtDvCustomers"], "companies": ["usmf"]},
    # F&O in usmf and usrt, Dataverse in usrt and demf: both grant usrt only.
    {"id": "vt-split", "roles": [{"role": "VtFnoCustomers", "companies": ["usmf", "usrt"]},
                                 {"role": "VtDvCustomers", "companies": ["usrt", "demf"]}]},
]


@pytest.fixture(scope="module")
def secured(virtual: Virtual, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """A gateway on the shared F&O database and Dataverse store with this module's roles; no token by
    default (each request sends its own)."""
    folder = _write_security(tmp_path_factory.mktemp(f"vt-security-{virtual.name}"))
    backend = Backend(virtual.name, str(virtual.fo.url.render_as_string(hide_password=False)), virtual.fo)
    store = virtual.dv.url.render_as_string(hide_password=False)
    client = make_client(backend, headers={}, dataverse_db=store, dualwrite_maps="none", security=str(folder))
    with client:
        yield client
    for service in client.app.state.services.values():  # type: ignore[attr-defined]
        service.engine.dispose()


def _write_security(folder: Path) -> Path:
    (folder / "roles.yaml").write_text(yaml.safe_dump({"roles": ROLES, "anonymous_role": None}), encoding="utf-8")
    (folder / "users.yaml").write_text(yaml.safe_dump({"users": USERS}), encoding="utf-8")
    return folder


def _as(*roles: str) -> dict[str, str]:
    return bearer("vt-security-user", roles=roles)


def _user(name: str) -> dict[str, str]:
    return bearer(name, roles=())  # the roles come from users.yaml


def _forbidden(response: Any, table: str) -> None:
    """403 in Dataverse's shape, naming the table the caller may not use."""
    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert error["code"] == FORBIDDEN and error["innererror"]["type"] == "Forbidden", error
    assert error["target"] == table and table in error["message"], error


def _all_rows(client: TestClient, url: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    rows = list(body["value"])
    while "@odata.nextLink" in body:
        body = client.get(body["@odata.nextLink"], headers=headers).json()
        rows.extend(body["value"])
    return rows


def _customers_sql(virtual: Virtual, companies: tuple[str, ...]) -> set[tuple[str, str, str]]:
    """(Guid, company, account) of every customer of `companies`, as the entity shows them (party inner)."""
    rows = virtual.fo_sql("SELECT c.RECID, c.DATAAREAID, c.ACCOUNTNUM FROM CUSTTABLE c "
                          "JOIN DIRPARTYTABLE p ON p.RECID = c.PARTY")
    return {(expected_guid("CustCustomerV3Entity", int(recid)), company, account)
            for recid, company, account in rows if company in companies}


def _first_customer(virtual: Virtual, company: str = "usmf") -> tuple[int, str]:
    """(RECID, ACCOUNTNUM) of the first customer of `company` the entity shows."""
    recid, account = virtual.fo_sql("SELECT c.RECID, c.ACCOUNTNUM FROM CUSTTABLE c JOIN DIRPARTYTABLE p "
                                    "ON p.RECID = c.PARTY WHERE c.DATAAREAID = :c ORDER BY c.ACCOUNTNUM", c=company)[0]
    return int(recid), account


def _credit(virtual: Virtual, recid: int) -> tuple[Decimal, int]:
    credit, version = virtual.fo_sql("SELECT CREDITMAX, RECVERSION FROM CUSTTABLE WHERE RECID = :r", r=recid)[0]
    return Decimal(str(credit)), int(version)


# ---------------------------------------------------------------------- both privileges, or nothing
@pytest.mark.parametrize("roles", [("VtFnoCustomers",), ("VtDvAll",), ("VtDvCustomers", "VtFnoOrders")],
                         ids=["fno-only", "dataverse-only", "dataverse-and-another-entity"])
def test_one_half_of_the_privilege_is_403_and_unlisted(secured: TestClient, virtual: Virtual,
                                                       roles: tuple[str, ...]) -> None:
    recid, account = _first_customer(virtual)
    for url in [CUSTOMERS, f"{CUSTOMERS}?$select=mserp_customeraccount&$top=1", f"{CUSTOMERS}/$count",
                f"{CUSTOMERS}({expected_guid('CustCustomerV3Entity', recid)})",
                f"{CUSTOMERS}(mserp_dataareaid='usmf',mserp_customeraccount='{account}')",
                f"{CUSTOMERS}?fetchXml=" + quote('<fetch><entity name="mserp_custcustomerv3entity">'
                                                 '<attribute name="mserp_customeraccount"/></entity></fetch>')]:
        _forbidden(secured.get(url, headers=_as(*roles)), TABLE)
    listed = secured.get(f"{API}/", headers=_as(*roles))
    assert listed.status_code == 200, listed.text
    assert TABLE not in {item["name"] for item in listed.json()["value"]}
    metadata = secured.get(f"{API}/$metadata", headers=_as(*roles))
    assert metadata.status_code == 200, metadata.text
    assert "mserp_custcustomerv3entit" not in metadata.text


def test_both_privileges_read_and_list_the_table(secured: TestClient, virtual: Virtual) -> None:
    headers = _as("VtFnoCustomers", "VtDvCustomers")
    rows = _all_rows(secured, f"{CUSTOMERS}?$select=mserp_custcustomerv3entityid,mserp_dataareaid,mserp_customeraccount", headers)
    companies = tuple(row[0] for row in virtual.fo_sql("SELECT ID FROM DATAAREA"))
    assert {(row["mserp_custcustomerv3entityid"], row["mserp_dataareaid"], row["mserp_customeraccount"])
            for row in rows} == _customers_sql(virtual, companies)  # every company by default
    listed = {item["name"] for item in secured.get(f"{API}/", headers=headers).json()["value"]}
    assert TABLE in listed
    assert not {name for name in listed if name.startswith("mserp_")} - {TABLE}  # no other virtual table
    metadata = secured.get(f"{API}/$metadata", headers=headers).text
    assert f'EntitySet Name="{TABLE}"' in metadata and 'EntityType Name="mserp_custcustomerv3entity"' in metadata
    assert "mserp_custcustomergroupentit" not in metadata  # nor its lookups to tables it may not read


def test_a_company_restricted_assignment_sees_only_its_companys_rows(secured: TestClient, virtual: Virtual) -> None:
    headers = _user("vt-usmf")
    select = "$select=mserp_custcustomerv3entityid,mserp_dataareaid,mserp_customeraccount"
    rows = _all_rows(secured, f"{CUSTOMERS}?{select}", headers)
    expected = _customers_sql(virtual, ("usmf",))
    assert expected and {(row["mserp_custcustomerv3entityid"], row["mserp_dataareaid"], row["mserp_customeraccount"])
                         for row in rows} == expected
    count = secured.get(f"{CUSTOMERS}/$count", headers=headers)
    assert count.status_code == 200 and int(count.text) == len(expected), count.text
    assert _all_rows(secured, f"{CUSTOMERS}?{select}&$filter=mserp_dataareaid eq 'usrt'", headers) == []
    # Another company's row is not there, by Guid or by its F&O key.
    recid, account = _first_customer(virtual, "usrt")
    for url in [f"{CUSTOMERS}({expected_guid('CustCustomerV3Entity', recid)})",
                f"{CUSTOMERS}(mserp_dataareaid='usrt',mserp_customeraccount='{account}')"]:
        response = secured.get(url, headers=headers)
        assert response.status_code == 404 and response.json()["error"]["code"] == "0x80040217", response.text


def test_the_companies_are_those_both_privileges_grant(secured: TestClient, virtual: Virtual) -> None:
    rows = _all_rows(secured, f"{CUSTOMERS}?$select=mserp_custcustomerv3entityid,mserp_dataareaid,mserp_customeraccount", _user("vt-split"))
    expected = _customers_sql(virtual, ("usrt",))
    assert expected and {(row["mserp_custcustomerv3entityid"], row["mserp_dataareaid"], row["mserp_customeraccount"])
                         for row in rows} == expected


# ---------------------------------------------------------------------- paths to another table
GROUPS = "mserp_custcustomergroupentities"
ORDERS = "mserp_salesorderheaderv2entities"
# (query, the table it reaches): customers' Dataverse and F&O privileges are always there.
REACHING = {
    "expand-lookup": ("$expand=mserp_fk_custcustomergroupentity_id", GROUPS),
    "filter-through-lookup": ("$filter=mserp_fk_custcustomergroupentity_id/mserp_description ne 'x'", GROUPS),
    "orderby-through-lookup": ("$orderby=mserp_fk_custcustomergroupentity_id/mserp_description", GROUPS),
    "expand-relationship": ("$expand=mserp_FK_CustCustomerV3Entity_SalesOrders($select=mserp_salesordernumber)",
                            ORDERS),
    "lambda": ("$filter=mserp_FK_CustCustomerV3Entity_SalesOrders/any()", ORDERS),
}
FNO_ROLE = {GROUPS: "VtFnoGroups", ORDERS: "VtFnoOrders"}


@pytest.mark.parametrize(("query", "target"), list(REACHING.values()), ids=list(REACHING))
def test_a_path_to_a_table_without_the_fno_privilege_is_403(secured: TestClient, query: str, target: str) -> None:
    """The Dataverse privilege on every virtual table, the F&O one on customers and on the table the
    path does not reach: the path is 403, naming its target; with the target's F&O privilege it answers."""
    other = ORDERS if target == GROUPS else GROUPS
    url = f"{CUSTOMERS}?$select=mserp_customeraccount&{query}&$top=3"
    _forbidden(secured.get(url, headers=_as("VtFnoCustomers", "VtDvAll", FNO_ROLE[other])), target)
    response = secured.get(url, headers=_as("VtFnoCustomers", "VtDvAll", FNO_ROLE[target]))
    assert response.status_code == 200 and response.json()["value"], response.text


def test_a_navigation_segment_to_a_forbidden_table_is_403(secured: TestClient, virtual: Virtual) -> None:
    recid, _ = _first_customer(virtual)
    url = f"{CUSTOMERS}({expected_guid('CustCustomerV3Entity', recid)})/mserp_fk_custcustomergroupentity_id"
    _forbidden(secured.get(url, headers=_as("VtFnoCustomers", "VtDvAll")), "mserp_custcustomergroupentities")
    assert secured.get(url, headers=_as("VtFnoCustomers", "VtFnoGroups", "VtDvAll")).status_code == 200


def _link_to_groups(link_type: str) -> str:
    columns = '<attribute name="mserp_description"/>' if link_type != "exists" else ""
    return ('<fetch top="3"><entity name="mserp_custcustomerv3entity"><attribute name="mserp_customeraccount"/>'
            f'<link-entity name="mserp_custcustomergroupentity" from="mserp_customergroupid" '
            f'to="mserp_customergroupid" link-type="{link_type}">{columns}</link-entity></entity></fetch>')


@pytest.mark.parametrize("link_type", ["inner", "outer", "exists"])
def test_a_fetchxml_link_entity_to_a_forbidden_table_is_403(secured: TestClient, link_type: str) -> None:
    url = f"{CUSTOMERS}?fetchXml={quote(_link_to_groups(link_type))}"
    _forbidden(secured.get(url, headers=_as("VtFnoCustomers", "VtDvAll")), "mserp_custcustomergroupentities")
    response = secured.get(url, headers=_as("VtFnoCustomers", "VtFnoGroups", "VtDvAll"))
    assert response.status_code == 200 and response.json()["value"], response.text


# ---------------------------------------------------------------------- writes
def test_a_reader_cannot_patch_and_the_row_is_unchanged(secured: TestClient, virtual: Virtual) -> None:
    recid, account = _first_customer(virtual)
    before = _credit(virtual, recid)
    for url in [f"{CUSTOMERS}({expected_guid('CustCustomerV3Entity', recid)})",
                f"{CUSTOMERS}(mserp_dataareaid='usmf',mserp_customeraccount='{account}')"]:
        _forbidden(secured.patch(url, json={"mserp_creditlimit": float(before[0]) + 1}, headers=_as("DataReader")), TABLE)
    assert _credit(virtual, recid) == before


@pytest.mark.parametrize(("roles", "missing"), [
    (("VtFnoCustomerWriter", "VtDvCustomers"), "dataverse"),  # F&O may write, Dataverse may only read
    (("VtDvCustomerWriter", "VtFnoCustomers"), "fno"),  # and the other way round
], ids=["no-dataverse-write", "no-fno-write"])
@pytest.mark.parametrize("method", ["PATCH", "POST", "DELETE"])
def test_a_write_needs_both_write_privileges(secured: TestClient, virtual: Virtual, roles: tuple[str, ...],
                                             missing: str, method: str) -> None:
    recid, _ = _first_customer(virtual)
    before = _credit(virtual, recid)
    customers = virtual.fo_sql("SELECT COUNT(*) FROM CUSTTABLE")[0][0]
    url = CUSTOMERS if method == "POST" else f"{CUSTOMERS}({expected_guid('CustCustomerV3Entity', recid)})"
    body = {"mserp_dataareaid": "usmf", "mserp_customeraccount": "VTS-NEW", "mserp_organizationname": "x"} \
        if method == "POST" else {"mserp_creditlimit": 1} if method == "PATCH" else None
    # A dry run: were the privilege check missing, the shared database still would not change.
    response = secured.request(method, url, json=body, headers={**_as(*roles), "Prefer": "tx=rollback"})
    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert error["code"] == FORBIDDEN, error
    operation = {"POST": "create", "DELETE": "delete"}.get(method, "update")
    assert f"{operation} privilege" in error["message"], error
    assert _credit(virtual, recid) == before
    assert virtual.fo_sql("SELECT COUNT(*) FROM CUSTTABLE")[0][0] == customers


@pytest.mark.parametrize("method", ["PATCH", "POST"])
def test_a_write_needs_the_dataverse_privilege_in_the_rows_company(secured: TestClient, virtual: Virtual,
                                                                   method: str) -> None:
    recid, _ = _first_customer(virtual, "usmf")
    before = _credit(virtual, recid)
    group = virtual.fo_sql("SELECT MIN(CUSTGROUP) FROM CUSTGROUP WHERE DATAAREAID = 'usmf'")[0][0]
    url = CUSTOMERS if method == "POST" else f"{CUSTOMERS}({expected_guid('CustCustomerV3Entity', recid)})"
    body = {"mserp_dataareaid": "usmf", "mserp_customeraccount": "VTS-USMF", "mserp_organizationname": "x",
            "mserp_customergroupid": group} if method == "POST" else {"mserp_creditlimit": 1}
    headers = {**_as("VtFnoCustomerWriter", "VtDvCustomers", "VtDvUpdateUsrt"), "Prefer": "tx=rollback"}
    response = secured.request(method, url, json=body, headers=headers)
    assert _credit(virtual, recid) == before  # a dry run either way
    _forbidden(response, TABLE)


def test_enabling_a_table_needs_the_dataverse_update_privilege(secured: TestClient, virtual: Virtual) -> None:
    url = f"{AVAILABLE}(mserp_physicalname='CustCustomerV3Entity')"
    before = virtual.dv_sql("SELECT mserp_isvisible, versionnumber FROM mserp_financeandoperationsentity "
                            "WHERE mserp_physicalname = 'CustCustomerV3Entity'")
    for visible in (False, True):
        _forbidden(secured.patch(url, json={"mserp_isvisible": visible}, headers=_as("DataReader")),
                   "mserp_financeandoperationsentities")
    # The F&O privileges do not enable Dataverse tables either.
    _forbidden(secured.patch(url, json={"mserp_isvisible": False}, headers=_as("VtFnoCustomerWriter")),
               "mserp_financeandoperationsentities")
    assert virtual.dv_sql("SELECT mserp_isvisible, versionnumber FROM mserp_financeandoperationsentity "
                          "WHERE mserp_physicalname = 'CustCustomerV3Entity'") == before
    assert bool(before[0][0])
    # With the privilege: a dry run, so the shared store keeps every table visible.
    response = secured.patch(url, json={"mserp_isvisible": False},
                             headers={**_as("VtAvailableEditor"), "Prefer": "tx=rollback"})
    assert response.status_code == 204, response.text
    assert virtual.dv_sql("SELECT mserp_isvisible, versionnumber FROM mserp_financeandoperationsentity "
                          "WHERE mserp_physicalname = 'CustCustomerV3Entity'") == before


# ---------------------------------------------------------------------- no token
@pytest.mark.parametrize(("method", "path"), [
    ("GET", CUSTOMERS), ("GET", f"{CUSTOMERS}?$top=1"), ("GET", f"{API}/$metadata"), ("GET", f"{API}/"),
    ("PATCH", f"{CUSTOMERS}(mserp_dataareaid='usmf',mserp_customeraccount='US-001')"), ("GET", AVAILABLE),
])
def test_anonymous_is_401_in_dataverses_shape(secured: TestClient, method: str, path: str) -> None:
    response = secured.request(method, path, json={"mserp_creditlimit": 1} if method == "PATCH" else None)
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer "), response.headers
    error = response.json()["error"]
    assert error["code"] == "0x80072560" and error["innererror"]["type"] == "Unauthorized", error
    assert "bearer token" in error["message"]
