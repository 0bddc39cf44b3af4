"""The Dataverse side (/api/data/v9.2) under the same rules: alternate keys, lookups ($expand, $filter,
navigation segments, @odata.bind) and FormattedValue labels reach another table only with its read
privilege, and a role granted in some companies sees only their rows. The store is filled by
dual-write's initial sync; checks read its tables with plain SQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from tests.conftest import bearer, repository_root
from tests.dualwrite.conftest import Sides, close, open_sides
from tests.identity.policy import write_security

API = "/api/data/v9.2"
FORMATTED = "OData.Community.Display.V1.FormattedValue"
DV_ENTITIES = repository_root() / "entities" / "dataverse" / "entities"


def _dataverse_catalog() -> dict[str, dict[str, Any]]:
    found = {}
    for path in sorted(DV_ENTITIES.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        found[data["entity_set"]] = data
    return found


DV = _dataverse_catalog()
ROLES: dict[str, Any] = {
    "SystemAdministrator": {"admin": True, "privileges": {"fno:*": ["read", "create", "update", "delete"],
                                                          "dataverse:*": ["read", "create", "update", "delete"]}},
    **{f"DvRead_{name}": {"privileges": {f"dataverse:{name}": ["read"]}} for name in DV},
    **{f"DvWrite_{name}": {"privileges": {f"dataverse:{name}": ["read", "create", "update", "delete"]}} for name in DV},
    "DvUsmfAccounts": {"companies": ["usmf"], "privileges": {"dataverse:accounts": ["read", "update"],
                                                             "dataverse:cdm_companies": ["read"]}},
    # Reads every company's accounts, writes only usmf's.
    "DvUsmfWriter": {"companies": ["usmf"], "privileges": {"dataverse:accounts": ["create", "update", "delete"]}},
    "DvAllReader": {"privileges": {"dataverse:accounts": ["read"], "dataverse:cdm_companies": ["read"]}},
}


@pytest.fixture(scope="module")
def dv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sides]:
    folder = write_security(tmp_path_factory.mktemp("dv-security"), ROLES, [])
    sides = open_sides("sqlite", tmp_path_factory.mktemp("dv-authz"), "authz", security=str(folder))
    yield sides
    close(sides)


def _as(*roles: str) -> dict[str, str]:
    return bearer("dv-user", roles=roles)


def _company_guid(sides: Sides, code: str) -> str:
    return str(sides.dv_sql("SELECT cdm_companyid FROM cdm_company WHERE cdm_companycode = :c", c=code)[0][0])


def _alternate(sides: Sides, entity_set: str, company: str) -> str:
    """accounts(_msdyn_company_value=<guid>,accountnumber='...') of the first row in `company`."""
    spec = DV[entity_set]
    table = spec["sources"][0]["table"]
    names = spec["alternate_keys"][0]
    columns = [spec["properties"][name]["column"].split(".", 1)[1] for name in names]
    row = sides.dv_sql(f"SELECT {', '.join(columns)} FROM {table} WHERE msdyn_company = :g ORDER BY {columns[-1]}",
                       g=_company_guid(sides, company))[0]
    parts = [f"{name}={value}" if spec["properties"][name]["type"] == "Edm.Guid" else f"{name}='{value}'"
             for name, value in zip(names, row)]
    return "(" + ",".join(parts) + ")"


@dataclass(frozen=True)
class DvPath:
    name: str
    url: str  # {alt} is the alternate key of `keyed` in usmf
    source: str  # what the caller may read
    forbidden: str  # what the path reaches besides
    keyed: str = ""


def _company_tables() -> list[str]:
    """The company-specific tables: an alternate key with the company, so rows in usmf to address."""
    return [name for name, spec in DV.items()
            if any("_msdyn_company_value" in key for key in spec.get("alternate_keys", []))]


def _paths() -> list[DvPath]:
    paths = []
    for name in _company_tables():
        for nav, link in (DV[name].get("navigation") or {}).items():
            target = link["target"]
            if target == name:
                continue
            prop = next(p for p, s in DV[target]["properties"].items() if s["type"] == "Edm.String")
            label = f"{name}.{nav}"
            paths += [DvPath(f"expand-{label}", f"{name}?$top=2&$expand={nav}", name, target),
                      DvPath(f"alternate-key-expand-{label}", f"{name}{{alt}}?$expand={nav}", name, target, name),
                      DvPath(f"alternate-key-path-{label}", f"{name}{{alt}}/{nav}", name, target, name)]
            if link.get("collection"):
                paths.append(DvPath(f"any-{label}", f"{name}?$top=1&$filter={nav}/any(x:x/{prop} ne 'x')", name, target))
            else:
                paths.append(DvPath(f"filter-{label}", f"{name}?$top=1&$filter={nav}/{prop} ne 'x'", name, target))
        paths.append(DvPath(f"alternate-key-{name}", f"{name}{{alt}}", "uoms", name, name))
    return paths


PATHS = _paths()


@pytest.mark.parametrize("path", PATHS, ids=[path.name for path in PATHS])
def test_dataverse_paths_need_the_read_privilege(dv: Sides, path: DvPath) -> None:
    url = f"{API}/" + (path.url.replace("{alt}", _alternate(dv, path.keyed, "usmf")) if path.keyed else path.url)
    control = dv.client.get(url, headers=_as(f"DvRead_{path.source}", f"DvRead_{path.forbidden}"))
    assert control.status_code == 200, control.text
    refused = dv.client.get(url, headers=_as(f"DvRead_{path.source}"))
    assert refused.status_code == 403, refused.text
    error = refused.json()["error"]
    assert error["target"] == path.forbidden and f"read privilege on {path.forbidden}" in error["message"]


def test_bind_to_a_table_without_read_is_403(dv: Sides) -> None:
    body = {"name": "authz bind", "msdyn_company@odata.bind": "/cdm_companies(cdm_companycode='usmf')"}
    allowed = dv.client.post(f"{API}/accounts", json=body,
                             headers={**_as("DvWrite_accounts", "DvRead_cdm_companies"), "Prefer": "tx=rollback"})
    assert allowed.status_code == 201, allowed.text
    refused = dv.client.post(f"{API}/accounts", json=body, headers={**_as("DvWrite_accounts"), "Prefer": "tx=rollback"})
    assert refused.status_code == 403 and refused.json()["error"]["target"] == "cdm_companies", refused.text


def test_formatted_values_label_only_readable_lookups(dv: Sides) -> None:
    """FormattedValue labels of lookups are reads of the lookup's table: shown with its privilege, left
    out without it (the caller asked for accounts, not for 403 because of their companies)."""
    prefer = {"Prefer": f'odata.include-annotations="{FORMATTED}"'}
    url = f"{API}/accounts?$top=5&$select=name,_msdyn_company_value"
    both = dv.client.get(url, headers={**_as("DvRead_accounts", "DvRead_cdm_companies"), **prefer})
    assert both.status_code == 200, both.text
    assert all(f"_msdyn_company_value@{FORMATTED}" in row for row in both.json()["value"])
    alone = dv.client.get(url, headers={**_as("DvRead_accounts"), **prefer})
    assert alone.status_code == 200, alone.text
    assert all(f"_msdyn_company_value@{FORMATTED}" not in row for row in alone.json()["value"])
    assert [row["name"] for row in alone.json()["value"]] == [row["name"] for row in both.json()["value"]]


def test_a_role_in_some_companies_sees_only_their_rows(dv: Sides) -> None:
    usmf, usrt = _company_guid(dv, "usmf"), _company_guid(dv, "usrt")
    headers = _as("DvUsmfAccounts")
    rows = dv.client.get(f"{API}/accounts?$select=accountnumber,_msdyn_company_value", headers=headers)
    assert rows.status_code == 200
    expected = {row[0] for row in dv.dv_sql("SELECT accountnumber FROM account WHERE msdyn_company = :g", g=usmf)}
    assert {row["_msdyn_company_value"] for row in rows.json()["value"]} <= {usmf}
    assert {row["accountnumber"] for row in rows.json()["value"]} == expected
    count = dv.client.get(f"{API}/accounts/$count", headers=headers)
    assert int(count.text) == len(expected)
    hidden = _alternate(dv, "accounts", "usrt")
    assert dv.client.get(f"{API}/accounts{hidden}", headers=headers).status_code in (403, 404)
    patch = dv.client.patch(f"{API}/accounts{hidden}", json={"creditlimit": 1},
                            headers={**headers, "Prefer": "tx=rollback"})
    assert patch.status_code in (403, 404), patch.text
    visible = _alternate(dv, "accounts", "usmf")
    assert dv.client.get(f"{API}/accounts{visible}", headers=headers).status_code == 200
    assert dv.client.patch(f"{API}/accounts{visible}", json={"creditlimit": 1},
                           headers={**headers, "Prefer": "tx=rollback"}).status_code == 204
    create = dv.client.post(f"{API}/accounts", json={"name": "authz", "_msdyn_company_value": usrt},
                            headers={**_as("DvUsmfAccounts"), "Prefer": "tx=rollback"})
    assert create.status_code == 403  # DvUsmfAccounts may not create at all
    assert usrt != usmf


@pytest.mark.parametrize("company", ["usmf", "usrt"])
def test_writes_stay_in_the_granted_companies(dv: Sides, company: str) -> None:
    """DvUsmfWriter writes accounts of usmf only, though DvAllReader lets it read every company's."""
    headers = {**_as("DvUsmfWriter", "DvAllReader"), "Prefer": "tx=rollback"}
    guid, usmf = _company_guid(dv, company), _company_guid(dv, "usmf")
    allowed = company == "usmf"
    key = _alternate(dv, "accounts", company)
    assert dv.client.get(f"{API}/accounts{key}", headers=headers).status_code == 200
    answers = {
        "create": dv.client.post(f"{API}/accounts", json={"name": "authz", "_msdyn_company_value": guid}, headers=headers),
        "update": dv.client.patch(f"{API}/accounts{key}", json={"creditlimit": 7}, headers=headers),
        "delete": dv.client.delete(f"{API}/accounts{key}", headers=headers),
    }
    for operation, response in answers.items():
        assert response.status_code == ((201 if operation == "create" else 204) if allowed else 403), (operation, response.text)
        if not allowed:
            assert f"{operation} privilege on accounts" in response.json()["error"]["message"]
    if not allowed:  # nor may a row move into (or out of) the granted company
        moved = dv.client.patch(f"{API}/accounts{key}", json={"_msdyn_company_value": usmf}, headers=headers)
        assert moved.status_code == 403, moved.text
    else:
        moved = dv.client.patch(f"{API}/accounts{key}", json={"_msdyn_company_value": _company_guid(dv, "usrt")},
                                headers=headers)
        assert moved.status_code == 403, moved.text
    nowhere = dv.client.post(f"{API}/accounts", json={"name": "authz"}, headers=headers)
    assert nowhere.status_code == 403  # a row without a company is outside every grant


DOCUMENT_CASES = [("DvRead_accounts",), ("DvRead_accounts", "DvRead_cdm_companies"),
                  ("DvRead_salesorders", "DvRead_salesorderdetails", "DvRead_products"), ("DvUsmfAccounts",)]


@pytest.mark.parametrize("roles", DOCUMENT_CASES, ids=["+".join(case) for case in DOCUMENT_CASES])
def test_dataverse_documents_list_only_readable_tables(dv: Sides, roles: tuple[str, ...]) -> None:
    import xml.etree.ElementTree as ET

    readable = {target.split(":", 1)[1] for role in roles for target in ROLES[role]["privileges"]}
    document = dv.client.get(f"{API}/", headers=_as(*roles))
    assert {item["name"] for item in document.json()["value"]} == readable
    root = ET.fromstring(dv.client.get(f"{API}/$metadata", headers=_as(*roles)).content)
    edm = "{http://docs.oasis-open.org/odata/ns/edm}"
    assert {element.get("Name") for element in root.iter(f"{edm}EntitySet")} == readable
    types = {DV[name]["entity_type"] for name in readable}
    shown = {(entity.get("Name"), nav.get("Name")) for entity in root.iter(f"{edm}EntityType")
             for nav in entity.iter(f"{edm}NavigationProperty")}
    expected = {(DV[name]["entity_type"], nav) for name in readable for nav, link in (DV[name].get("navigation") or {}).items()
                if link["target"] in readable}
    assert shown == expected
    assert {entity.get("Name") for entity in root.iter(f"{edm}EntityType")} == types
