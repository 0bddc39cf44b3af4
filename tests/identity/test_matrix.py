"""The authorization matrix: every principal × entity set × operation × company of a security folder
written for this test, the gateway's answer compared with the one computed from the folder's own dicts
(tests/identity/policy.py), never from gateway.identity.

Writes run with `Prefer: tx=rollback`, so every case sees the demo data as generated.
"""

from __future__ import annotations

import random
import string
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from tests.conftest import Backend, bearer, make_client
from tests.identity.policy import (
    CATALOG,
    Policy,
    every_company,
    sample_key,
    seed_event_configuration,
    write_security,
)

ROLES: dict[str, Any] = {
    "MxReader": {"privileges": {"fno:CustomersV3": ["read"], "fno:CustomerGroups": ["read"],
                                "fno:LegalEntities": ["read"]}},
    # Write without delete; lines may be written without a read privilege named (write implies read).
    "MxOrderTaker": {"privileges": {"fno:SalesOrderHeadersV2": ["read", "create", "update"],
                                    "fno:SalesOrderLines": ["create", "update"]}},
    "MxUsmfCustomers": {"companies": ["usmf"],
                        "privileges": {"fno:CustomersV3": ["read", "create", "update", "delete"],
                                       "fno:CustomerGroups": ["read"]}},
    "MxUsrtOrders": {"companies": ["usrt"],
                     "privileges": {"fno:SalesOrderHeadersV2": ["read", "delete"], "fno:SalesOrderLines": ["read"]}},
    "MxProducts": {"privileges": {"fno:Product*": ["read", "create", "update", "delete"],
                                  "fno:ReleasedProduct*": ["read"]}},
    "MxVendors": {"companies": ["usrt", "demf"],
                  "privileges": {"fno:VendorsV2": ["read"], "fno:CustomerGroups": ["update"]}},
    "MxEmpty": {"privileges": {}},
}
USERS: list[dict[str, Any]] = [
    {"id": "reader", "roles": ["MxReader"]},
    {"id": "clerk", "roles": ["MxOrderTaker"], "companies": ["usmf", "usrt"], "default_company": "usrt"},
    {"id": "split", "roles": ["MxUsmfCustomers", "MxUsrtOrders"]},
    {"id": "products", "roles": ["MxProducts"], "companies": ["demf"]},
    {"id": "vendor", "roles": ["MxVendors"]},
    # The same roles, once widened and once narrowed by the assignment: different access.
    {"id": "widened", "roles": ["MxVendors", {"role": "MxUsmfCustomers", "companies": "*"}]},
    {"id": "narrowed", "roles": [{"role": "MxVendors", "companies": "*"}, "MxUsmfCustomers"]},
    {"id": "idle", "roles": ["MxEmpty"]},
    {"id": "nobody", "roles": []},
]
STRANGER: dict[str, Any] = {"id": "stranger@elsewhere.example", "roles": []}  # not in the folder at all
PRINCIPALS = [*USERS, STRANGER]
READ_MODES: list[tuple[str | None, bool]] = [("usmf", False), ("usrt", False), ("demf", False), (None, False),
                                             (None, True)]
WRITE_COMPANIES = ("usmf", "usrt")
ROLLBACK = {"Prefer": "tx=rollback"}


@pytest.fixture(scope="module")
def matrix(sqlite_backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Policy]]:
    folder = write_security(tmp_path_factory.mktemp("matrix-security"), ROLES, USERS)
    policy = Policy(ROLES, every_company(sqlite_backend.engine))
    with make_client(sqlite_backend, headers={}, security=str(folder)) as client:
        seed_event_configuration(sqlite_backend)
        yield client, policy





@pytest.fixture(scope="module")
def keys(sqlite_backend: Backend, matrix: tuple[TestClient, Policy]) -> dict[tuple[str, str], str]:
    """The first row's key of every entity set in each company (after `matrix` seeded the events' rows)."""
    return {(name, company): sample_key(sqlite_backend.engine, name, company)
            for name in CATALOG for company in ("usmf", "usrt", "demf")}


def _query(company: str | None, cross: bool) -> str:
    parts = ([f"company={company}"] if company else []) + (["cross-company=true"] if cross else [])
    return "&".join(parts)


def _join(path: str, query: str) -> str:
    return path + ("?" + query if query else "")


def _headers(user: dict[str, Any]) -> dict[str, str]:
    return bearer(user["id"], roles=())


def _cases() -> list[Any]:
    return [pytest.param(user, name, operation, id=f"{user['id']}-{name}-{operation}")
            for user in PRINCIPALS for name in CATALOG for operation in ("read", "create", "update", "delete")]


@pytest.mark.parametrize(("user", "entity_set", "operation"), _cases())
def test_matrix(matrix: tuple[TestClient, Policy], keys: dict[tuple[str, str], str], sqlite_backend: Backend,
                user: dict[str, Any], entity_set: str, operation: str) -> None:
    client, policy = matrix
    if operation == "read":
        mismatches = _read_cases(client, policy, keys, user, entity_set)
    else:
        mismatches = _write_cases(client, policy, keys, sqlite_backend, user, entity_set, operation)
    assert not mismatches, "\n".join(mismatches)


def _read_cases(client: TestClient, policy: Policy, keys: dict[tuple[str, str], str], user: dict[str, Any],
                entity_set: str) -> list[str]:
    facts = CATALOG[entity_set]
    mismatches: list[str] = []
    headers = _headers(user)
    for company, cross in READ_MODES:
        query = _query(company, cross)
        readable = policy.readable(user, entity_set, company, cross)
        expected = 403 if readable is None else 200
        response = client.get(_join(f"/data/{entity_set}", _join("", query)[1:] + ("&" if query else "") + "$top=5"),
                              headers=headers)
        if response.status_code != expected:
            mismatches.append(f"GET {entity_set}?{query}: {response.status_code}, expected {expected}: {response.text[:200]}")
        elif expected == 403:
            _check_forbidden(response, entity_set, mismatches, f"GET {entity_set}?{query}")
        elif facts.company_specific and readable is not None:
            seen = {row["dataAreaId"] for row in response.json()["value"]}
            if not seen <= set(readable):
                mismatches.append(f"GET {entity_set}?{query}: rows of {sorted(seen - set(readable))}")
        count = client.get(_join(f"/data/{entity_set}/$count", query), headers=headers)
        if count.status_code != expected:
            mismatches.append(f"GET {entity_set}/$count?{query}: {count.status_code}, expected {expected}")
        for key_company in ("usmf", "usrt"):
            if readable is None:
                wanted = 403
            elif facts.company_specific and key_company not in readable:
                wanted = 404  # a key lookup is a filter: outside the caller's scope there is no such row
            else:
                wanted = 200
            path = f"/data/{entity_set}{keys[entity_set, key_company]}"
            single = client.get(_join(path, query), headers=headers)
            if single.status_code != wanted:
                mismatches.append(f"GET {path}?{query}: {single.status_code}, expected {wanted}: {single.text[:200]}")
    return mismatches


def _check_forbidden(response: Any, entity_set: str, mismatches: list[str], what: str) -> None:
    error = response.json()["error"]
    # The privilege's entity set; or the company the request (or the body's dataAreaId) names.
    if error["code"] != "Forbidden" or (error.get("target") not in (entity_set, "company", "dataAreaId")):
        mismatches.append(f"{what}: a 403 that does not name {entity_set}: {error}")


def _write_cases(client: TestClient, policy: Policy, keys: dict[tuple[str, str], str], backend: Backend,
                 user: dict[str, Any], entity_set: str, operation: str) -> list[str]:
    facts = CATALOG[entity_set]
    headers = {**_headers(user), **ROLLBACK}
    mismatches: list[str] = []
    combos = [(target, mode) for target in WRITE_COMPANIES for mode in ("company", "cross")]
    if not facts.writable:
        combos = combos[:1]
    for target, mode in combos:
        cross = mode == "cross"
        request_company = None if cross else target
        query = _query(request_company, cross)
        expected = _expected_write(policy, user, entity_set, operation, target, request_company, cross)
        if operation == "create":
            body = _create_body(backend, entity_set, target, include_company=cross)
            response = client.post(_join(f"/data/{entity_set}", query), json=body, headers=headers)
        elif operation == "update":
            response = client.patch(_join(f"/data/{entity_set}{keys[entity_set, target]}", query),
                                    json=_update_body(entity_set), headers=headers)
        else:
            response = client.delete(_join(f"/data/{entity_set}{keys[entity_set, target]}", query), headers=headers)
        if response.status_code != expected:
            mismatches.append(f"{operation} {entity_set} in {target} ({mode}): {response.status_code}, "
                              f"expected {expected}: {response.text[:200]}")
        elif expected == 403:
            _check_forbidden(response, entity_set, mismatches, f"{operation} {entity_set} in {target} ({mode})")
    return mismatches


def _expected_write(policy: Policy, user: dict[str, Any], entity_set: str, operation: str, target: str,
                    request_company: str | None, cross: bool) -> int:
    facts = CATALOG[entity_set]
    if policy.requested(user, request_company, cross) is None:
        return 403  # the request's company is not the caller's
    if not facts.writable:
        return 405
    held = policy.privilege(user, "fno", entity_set, operation)
    if operation == "create":
        if target not in policy.companies(user):
            return 403
        return 201 if target in held else 403
    if operation == "delete":
        return 204 if target in held else 403
    readable = policy.readable(user, entity_set, request_company, cross)
    if readable is None:
        return 403
    if target not in readable:  # not found; an upsert entity then tries a create (which implies read there)
        return 403 if facts.upsert else 404
    return 204 if target in held else 403


def _first(backend: Backend, sql: str, company: str) -> str:
    with backend.engine.connect() as connection:
        return str(connection.execute(text(sql), {"company": company}).scalar_one())


def _create_body(backend: Backend, entity_set: str, company: str, include_company: bool) -> dict[str, Any]:
    tag = "AZ" + uuid.uuid4().hex[:6].upper()
    facts = CATALOG[entity_set]
    if entity_set == "CustomerGroups":
        body: dict[str, Any] = {"CustomerGroupId": tag, "Description": "authz"}
    elif entity_set == "CustomersV3":
        group = _first(backend, "SELECT MIN(CUSTGROUP) FROM CUSTGROUP WHERE DATAAREAID = :company", company)
        body = {"CustomerAccount": tag, "OrganizationName": "Authz test", "CustomerGroupId": group}
    elif entity_set == "SalesOrderHeadersV2":
        customer = _first(backend, "SELECT MIN(ACCOUNTNUM) FROM CUSTTABLE WHERE DATAAREAID = :company", company)
        body = {"SalesOrderNumber": tag, "OrderingCustomerAccountNumber": customer}
    elif entity_set == "SalesOrderLines":
        order = _first(backend, "SELECT MIN(SALESID) FROM SALESTABLE WHERE DATAAREAID = :company", company)
        item = _first(backend, "SELECT MIN(i.ITEMID) FROM INVENTTABLE i JOIN ECORESPRODUCT p ON p.RECID = i.PRODUCT "
                               "WHERE i.DATAAREAID = :company", company)
        body = {"InventoryLotId": tag, "SalesOrderNumber": order, "ItemNumber": item}
    elif entity_set == "BusinessEventsEndpoints":
        body = {"EndpointId": tag, "Url": "http://127.0.0.1:9/events"}
    elif entity_set == "BusinessEventsActivations":
        body = {"BusinessEventId": "CustomersV3_Updated", "EndpointId": "matrix"}
    elif entity_set == "VendorGroups":
        body = {"VendorGroupId": tag, "Description": "authz"}
    elif entity_set == "VendorsV2":
        body = {"VendorAccountNumber": tag, "VendorOrganizationName": "Authz test"}
    elif entity_set == "Currencies":
        body = {"CurrencyCode": _free_currency_code(backend), "Name": "Authz test"}
    elif entity_set == "ExchangeRateTypes":
        body = {"Name": tag, "Description": "authz"}
    else:  # read-only entities: any body, the answer is 405 before it is looked at
        body = {name: tag for name in facts.key if name != "dataAreaId"}
    if include_company and facts.company_specific:
        body["dataAreaId"] = company
    return body


def _free_currency_code(backend: Backend) -> str:
    """A three-letter code no currency has yet (codes are short: a random one may be taken)."""
    while True:
        code = "".join(random.choice(string.ascii_uppercase) for _ in range(3))
        with backend.engine.connect() as connection:
            if not connection.execute(text("SELECT 1 FROM CURRENCY WHERE CURRENCYCODE = :c"), {"c": code}).first():
                return code


def _update_body(entity_set: str) -> dict[str, Any]:
    return {"CustomerGroups": {"Description": "authz"}, "CustomersV3": {"CreditLimit": 1234},
            "VendorsV2": {"VendorOrganizationName": "authz"}, "Currencies": {"Name": "authz"},
            "SalesOrderHeadersV2": {"CustomerRequisitionNumber": "authz"},
            "SalesOrderLines": {"OrderedSalesQuantity": 2}, "BusinessEventsEndpoints": {"Name": "authz"},
            "BusinessEventsActivations": {"LegalEntity": "usmf"}}.get(entity_set, {"Description": "authz"})


def test_equal_role_names_with_different_companies_do_not_share_plans(matrix: tuple[TestClient, Policy]) -> None:
    """widened holds MxUsmfCustomers everywhere, narrowed only in usmf: same role names, other access."""
    client, policy = matrix
    widened, narrowed = USERS[5], USERS[6]
    assert policy.privilege(widened, "fno", "CustomersV3", "read") != policy.privilege(narrowed, "fno", "CustomersV3", "read")
    for user in (widened, narrowed, widened):
        response = client.get("/data/CustomersV3?company=usrt&$select=CustomerAccount&$top=1", headers=_headers(user))
        expected = 200 if policy.readable(user, "CustomersV3", "usrt", False) else 403
        assert response.status_code == expected, (user["id"], response.text)
