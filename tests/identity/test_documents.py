"""What a caller is shown and who may call at all: the service document and $metadata (XML and JSON)
list only entity sets the caller holds a privilege on and no navigation towards a hidden one;
/admin/data needs an administrator role; callers without credentials get 401 with the sign-in
challenge, or the anonymous role when one is configured."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import Backend, bearer, make_client
from tests.identity.policy import CATALOG, Policy, every_company, write_security
from tests.identity.test_matrix import PRINCIPALS, ROLES, USERS

EDM = "{http://docs.oasis-open.org/odata/ns/edm}"
NAMESPACE = "Microsoft.Dynamics.DataEntities"
ADMIN_ROLES: dict[str, Any] = {**ROLES, "DocAdmin": {"admin": True, "privileges": {"fno:*": ["read", "create", "update", "delete"]}}}
ADMIN_USER: dict[str, Any] = {"id": "root", "roles": ["DocAdmin"]}
EVERYONE = [*PRINCIPALS, ADMIN_USER]
SIGN_IN = "https://login.example.test/tenant/oauth2/authorize"
API_KEY = "fgk_" + "authz-test-key-0123456789abcdef"
API_KEY_HOLDER: dict[str, Any] = {"name": "etl", "sha256": hashlib.sha256(API_KEY.encode()).hexdigest(),
                                  "roles": ["MxUsmfCustomers"]}


@pytest.fixture(scope="module")
def documents(sqlite_backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Policy]]:
    folder = write_security(tmp_path_factory.mktemp("documents-security"), ADMIN_ROLES, [*USERS, ADMIN_USER],
                            api_keys=[API_KEY_HOLDER])
    with make_client(sqlite_backend, headers={}, security=str(folder), auth_authorization_uri=SIGN_IN) as client:
        yield client, Policy(ADMIN_ROLES, every_company(sqlite_backend.engine))


def _visible(policy: Policy, user: dict[str, Any]) -> set[str]:
    return {name for name in CATALOG if policy.privilege(user, "fno", name, "read")}


def _writable(policy: Policy, user: dict[str, Any], name: str) -> bool:
    return CATALOG[name].writable and any(policy.privilege(user, "fno", name, op) for op in ("create", "update", "delete"))


def _ids(users: list[dict[str, Any]]) -> list[str]:
    return [user["id"] for user in users]


@pytest.mark.parametrize("user", EVERYONE, ids=_ids(EVERYONE))
def test_service_document_lists_what_the_caller_may_read(documents: tuple[TestClient, Policy], user: dict[str, Any]) -> None:
    client, policy = documents
    response = client.get("/data/", headers=bearer(user["id"], roles=()))
    assert response.status_code == 200
    assert {item["name"] for item in response.json()["value"]} == _visible(policy, user)


@pytest.mark.parametrize("user", EVERYONE, ids=_ids(EVERYONE))
def test_metadata_xml_hides_entity_sets_types_and_navigation(documents: tuple[TestClient, Policy],
                                                            user: dict[str, Any]) -> None:
    client, policy = documents
    visible = _visible(policy, user)
    response = client.get("/data/$metadata", headers=bearer(user["id"], roles=()))
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    sets = {element.get("Name") for element in root.iter(f"{EDM}EntitySet")}
    assert sets == visible
    types = {element.get("Name") for element in root.iter(f"{EDM}EntityType")}
    assert types == {CATALOG[name].entity_type for name in visible}
    visible_types = {f"{NAMESPACE}.{CATALOG[name].entity_type}" for name in visible}
    for nav in root.iter(f"{EDM}NavigationProperty"):
        assert nav.get("Type", "").removeprefix("Collection(").removesuffix(")") in visible_types, nav.attrib
    for binding in root.iter(f"{EDM}NavigationPropertyBinding"):
        assert binding.get("Target") in visible, binding.attrib
    expected_navs = {(CATALOG[name].entity_type, nav) for name in visible for nav, spec in CATALOG[name].navigation.items()
                     if spec["target"] in visible}
    shown_navs = {(entity_type.get("Name"), nav.get("Name")) for entity_type in root.iter(f"{EDM}EntityType")
                  for nav in entity_type.iter(f"{EDM}NavigationProperty")}
    assert shown_navs == expected_navs


@pytest.mark.parametrize("user", EVERYONE, ids=_ids(EVERYONE))
def test_metadata_json_hides_entity_sets_types_and_navigation(documents: tuple[TestClient, Policy],
                                                             user: dict[str, Any]) -> None:
    client, policy = documents
    visible = _visible(policy, user)
    response = client.get("/data/$metadata?$format=json", headers=bearer(user["id"], roles=()))
    assert response.status_code == 200
    schema = response.json()[NAMESPACE]
    container = schema["Resources"]
    sets = {name for name, item in container.items() if isinstance(item, dict) and item.get("$Collection")}
    assert sets == visible
    types = {name for name, item in schema.items() if isinstance(item, dict) and item.get("$Kind") == "EntityType"}
    assert types == {CATALOG[name].entity_type for name in visible}
    visible_types = {f"{NAMESPACE}.{CATALOG[name].entity_type}" for name in visible}
    for type_name in types:
        for member, spec in schema[type_name].items():
            if isinstance(spec, dict) and spec.get("$Kind") == "NavigationProperty":
                assert spec["$Type"] in visible_types, (type_name, member)
    for name in sets:
        assert set(container[name].get("$NavigationPropertyBinding", {}).values()) <= visible
        insertable = container[name]["@Org.OData.Capabilities.V1.InsertRestrictions"]["Insertable"]
        assert insertable == _writable(policy, user, name), name


@pytest.mark.parametrize("user", EVERYONE, ids=_ids(EVERYONE))
@pytest.mark.parametrize("path", ["/admin/data/", "/admin/data/$metadata"])
def test_admin_service_needs_an_admin_role(documents: tuple[TestClient, Policy], user: dict[str, Any], path: str) -> None:
    client, _ = documents
    admin = any((item if isinstance(item, str) else item["role"]) == "DocAdmin" for item in user.get("roles", []))
    response = client.get(path, headers=bearer(user["id"], roles=()))
    assert response.status_code == (200 if admin else 403), response.text
    if not admin:
        assert response.json()["error"]["target"] == "admin"


REQUESTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/data/", None), ("GET", "/data/$metadata", None), ("GET", "/data/CustomersV3?$top=1", None),
    ("GET", "/data/LegalEntities('usmf')", None), ("GET", "/data/CustomersV3/$count", None),
    ("POST", "/data/CustomerGroups", {"CustomerGroupId": "ANON", "Description": "anonymous"}),
    ("PATCH", "/data/CustomerGroups(dataAreaId='usmf',CustomerGroupId='10')", {"Description": "anonymous"}),
    ("DELETE", "/data/CustomerGroups(dataAreaId='usmf',CustomerGroupId='10')", None),
    ("POST", "/data/$batch", {"requests": [{"id": "1", "method": "GET", "url": "LegalEntities"}]}),
    ("GET", "/admin/data/", None),
]


@pytest.fixture(scope="module")
def closed(sqlite_backend: Backend) -> Iterator[TestClient]:
    with make_client(sqlite_backend, headers={}, auth_authorization_uri=SIGN_IN) as client:
        yield client


@pytest.mark.parametrize(("method", "path", "body"), REQUESTS, ids=[f"{m} {p}" for m, p, _ in REQUESTS])
def test_without_credentials_the_answer_is_401_with_the_challenge(closed: TestClient, method: str, path: str,
                                                                  body: dict[str, Any] | None) -> None:
    response = closed.request(method, path, json=body, headers={"Prefer": "tx=rollback"})
    assert response.status_code == 401, response.text
    challenge = response.headers["www-authenticate"]
    assert challenge == f'Bearer authorization_uri="{SIGN_IN}", resource_id="fno-gateway"'
    assert response.json()["error"]["code"] == "Unauthorized"


@pytest.mark.parametrize("credentials", [{"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic dTpw"},
                                         {"X-API-Key": "fgk_unknown"}], ids=["bad-token", "basic", "unknown-api-key"])
def test_bad_credentials_are_401_not_anonymous(closed: TestClient, credentials: dict[str, str]) -> None:
    response = closed.get("/data/LegalEntities", headers=credentials)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith(f'Bearer authorization_uri="{SIGN_IN}"')
    assert "error=" in response.headers["www-authenticate"]


def _anonymous_folder(tmp: Path) -> Path:
    roles = {"AnonReader": {"privileges": {"fno:*": ["read"]}}}
    return write_security(tmp, roles, [], anonymous_role="AnonReader")


@pytest.fixture(scope="module", params=["setting", "security-file"])
def anonymous(request: pytest.FixtureRequest, sqlite_backend: Backend,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    if request.param == "setting":  # the shipped roles, DataReader chosen by --anonymous-role
        app = make_client(sqlite_backend, headers={}, anonymous_role="DataReader")
    else:  # anonymous_role in the security files
        app = make_client(sqlite_backend, headers={}, security=str(_anonymous_folder(tmp_path_factory.mktemp("anon"))))
    with app as client:
        yield client


@pytest.mark.parametrize(("method", "path", "body"), REQUESTS, ids=[f"{m} {p}" for m, p, _ in REQUESTS])
def test_anonymous_reader_reads_and_writes_nothing(anonymous: TestClient, method: str, path: str,
                                                  body: dict[str, Any] | None) -> None:
    response = anonymous.request(method, path, json=body, headers={"Prefer": "tx=rollback"})
    if path.startswith("/admin"):
        assert response.status_code == 403
    elif method == "GET":
        assert response.status_code == 200, response.text
    elif path.endswith("$batch"):
        assert response.status_code == 200 and [item["status"] for item in response.json()["responses"]] == [200]
    else:
        assert response.status_code == 403, response.text
        assert response.json()["error"]["target"] == "CustomerGroups"


def test_anonymous_write_inside_a_batch_is_403(anonymous: TestClient) -> None:
    batch = {"requests": [{"id": "1", "method": "POST", "url": "CustomerGroups", "atomicityGroup": "g",
                           "body": {"CustomerGroupId": "ANON", "Description": "anonymous"}}]}
    response = anonymous.post("/data/$batch", json=batch, headers={"Prefer": "tx=rollback"})
    assert response.status_code == 200
    assert [item["status"] for item in response.json()["responses"]] == [403]


API_KEY_CASES = [("GET", f"/data/{name}?$top=1&company={company}", None, name, company)
                 for name in ("CustomersV3", "CustomerGroups", "VendorsV2", "LegalEntities") for company in ("usmf", "usrt")]


@pytest.mark.parametrize(("method", "url", "body", "entity_set", "company"), API_KEY_CASES,
                         ids=[f"{case[3]}-{case[4]}" for case in API_KEY_CASES])
def test_api_key_holds_its_roles(documents: tuple[TestClient, Policy], method: str, url: str, body: Any,
                                 entity_set: str, company: str) -> None:
    client, policy = documents
    response = client.request(method, url, json=body, headers={"X-API-Key": API_KEY})
    expected = 200 if policy.readable(API_KEY_HOLDER, entity_set, company, False) else 403
    assert response.status_code == expected, response.text
    write = client.post("/data/CustomersV3", json={"CustomerAccount": "AZKEY", "OrganizationName": "key"},
                        headers={"X-API-Key": API_KEY, "Prefer": "tx=rollback"})
    assert write.status_code == (201 if policy.privilege(API_KEY_HOLDER, "fno", "CustomersV3", "create") else 403)
