"""Every indirect path to an entity refuses a caller without its read privilege, with a 403 naming
that privilege: $expand (nested, *), navigation in $filter/$orderby/$compute, any/all, Nav/$count,
$root, $apply, navigation segments, @odata.bind and $batch (both formats). The paths are generated
from the catalog's navigation (entities/fno/entities/*.yaml), each with a control: the same request
by a caller who may read both ends answers 2xx, so a 403 is about the privilege and nothing else.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from tests.conftest import Backend, bearer, make_client
from tests.identity.policy import CATALOG, EntityFacts, sample_key, seed_event_configuration, write_security

# One read-only role per entity set and one that may do everything on it; a token's roles claim
# chooses which a request holds.
ROLES: dict[str, Any] = {
    **{f"Read_{name}": {"privileges": {f"fno:{name}": ["read"]}} for name in CATALOG},
    **{f"Write_{name}": {"privileges": {f"fno:{name}": ["read", "create", "update", "delete"]}} for name in CATALOG},
    "PathsAdmin": {"admin": True, "privileges": {"fno:*": ["read", "create", "update", "delete"],
                                                 "dataverse:*": ["read", "create", "update", "delete"]}},
}


@dataclass(frozen=True)
class Path:
    """A request that reaches `forbidden` indirectly; `roles` may read everything else it touches."""

    name: str
    method: str
    url: str  # relative to /data/
    forbidden: str
    roles: tuple[str, ...]
    body: dict[str, Any] | None = None
    creates: str = ""  # the entity set a POST creates in (its URL may go through a parent)

    @property
    def id(self) -> str:
        return self.name


def _string_property(facts: EntityFacts) -> str:
    return next(name for name, prop in facts.properties.items()
                if prop["type"] == "Edm.String" and name != "dataAreaId")


def _navigations() -> list[tuple[EntityFacts, str, EntityFacts, bool]]:
    found = []
    for facts in CATALOG.values():
        for nav_name, nav in facts.navigation.items():
            target = CATALOG[nav["target"]]
            if target.name != facts.name:
                found.append((facts, nav_name, target, bool(nav.get("collection"))))
    return found


def _key_placeholder(entity_set: str) -> str:
    return "{key:" + entity_set + "}"  # filled in with a real key once the database exists


def generate_paths() -> list[Path]:
    paths: list[Path] = []
    navigations = _navigations()
    for source, nav, target, collection in navigations:
        s, t = source.name, target.name
        prop = _string_property(target)
        s_key = source.key[-1]
        own = (f"Read_{s}",)
        label = f"{s}.{nav}"
        paths.append(Path(f"expand-{label}", "GET", f"{s}?$top=3&$expand={nav}", t, own))
        paths.append(Path(f"expand-select-{label}", "GET", f"{s}?$top=3&$expand={nav}($select={prop})", t, own))
        others = tuple(f"Read_{CATALOG[n['target']].name}" for name, n in source.navigation.items()
                       if name != nav and n["target"] != t)
        paths.append(Path(f"expand-star-{label}", "GET", f"{s}?$top=3&$expand=*", t, own + others))
        paths.append(Path(f"root-{label}", "GET",
                          f"{s}?$top=1&$filter=$root/{t}{_key_placeholder(t)}/{prop} eq 'x'", t, own))
        paths.append(Path(f"path-{label}", "GET", f"{s}{_key_placeholder(s)}/{nav}", t, own))
        paths.append(Path(f"ref-{label}", "GET", f"{s}{_key_placeholder(s)}/{nav}/$ref", t, own))
        root = f"$root/{t}{_key_placeholder(t)}/{prop}"
        paths += [
            Path(f"root-orderby-{label}", "GET", f"{s}?$top=1&$orderby={root}", t, own),
            Path(f"root-compute-{label}", "GET", f"{s}?$top=1&$compute={root} as c&$select=c", t, own),
            Path(f"root-alias-{label}", "GET", f"{s}?$top=1&$filter=@a eq 'x'&@a={root}", t, own),
            Path(f"root-in-{label}", "GET", f"{s}?$top=1&$filter='x' in ({root})", t, own),
        ]
        if collection:
            paths += [
                Path(f"any-{label}", "GET", f"{s}?$top=1&$filter={nav}/any(x:x/{prop} eq 'x')", t, own),
                Path(f"all-{label}", "GET", f"{s}?$top=1&$filter={nav}/all(x:x/{prop} ne 'x')", t, own),
                Path(f"bare-any-{label}", "GET", f"{s}?$top=1&$filter={nav}/any()", t, own),
                Path(f"count-filter-{label}", "GET", f"{s}?$top=1&$filter={nav}/$count gt 0", t, own),
                Path(f"count-orderby-{label}", "GET", f"{s}?$top=1&$orderby={nav}/$count desc", t, own),
                Path(f"expand-count-{label}", "GET", f"{s}?$top=1&$expand={nav}/$count", t, own),
                Path(f"path-count-{label}", "GET", f"{s}{_key_placeholder(s)}/{nav}/$count", t, own),
                Path(f"path-filter-{label}", "GET", f"{s}{_key_placeholder(s)}/{nav}?$filter={prop} ne 'x'", t, own),
                Path(f"expand-ref-{label}", "GET", f"{s}?$top=1&$expand={nav}/$ref", t, own),
                Path(f"count-with-filter-{label}", "GET", f"{s}/$count?$filter={nav}/any()", t, own),
                Path(f"apply-aggregate-count-{label}", "GET",
                     f"{s}?$top=1&$apply=groupby(({s_key}),aggregate({nav}/$count as n))", t, own),
                Path(f"apply-compute-count-{label}", "GET", f"{s}?$top=1&$apply=compute({nav}/$count as n)", t, own),
                Path(f"apply-then-filter-{label}", "GET",
                     f"{s}?$top=1&$apply=filter({_string_property(source)} ne 'x')&$filter={nav}/any()", t, own),
            ]
            if target.writable:  # creating through a parent reads the parent: Read_<parent> is needed
                paths.append(Path(f"post-through-{label}", "POST", f"{s}{_key_placeholder(s)}/{nav}", s,
                                  (f"Write_{t}",), {}, creates=t))
            paths += [
                Path(f"apply-filter-any-{label}", "GET",
                     f"{s}?$apply=filter({nav}/any(x:x/{prop} eq 'x'))/aggregate($count as n)", t, own),
            ]
        else:
            paths += [
                Path(f"filter-{label}", "GET", f"{s}?$top=1&$filter={nav}/{prop} eq 'x'", t, own),
                Path(f"orderby-{label}", "GET", f"{s}?$top=1&$orderby={nav}/{prop}", t, own),
                Path(f"compute-{label}", "GET", f"{s}?$top=1&$compute={nav}/{prop} as c&$select=c", t, own),
                Path(f"apply-groupby-{label}", "GET", f"{s}?$apply=groupby(({nav}/{prop}))", t, own),
                Path(f"apply-groupby-count-{label}", "GET",
                     f"{s}?$apply=groupby(({nav}/{prop}),aggregate($count as n))", t, own),
                Path(f"apply-filter-{label}", "GET", f"{s}?$apply=filter({nav}/{prop} ne 'x')", t, own),
                Path(f"path-property-{label}", "GET", f"{s}{_key_placeholder(s)}/{nav}/{prop}", t, own),
                Path(f"path-value-{label}", "GET", f"{s}{_key_placeholder(s)}/{nav}/{prop}/$value", t, own),
            ]
            if source.writable:
                body = {f"{nav}@odata.bind": f"{t}{_key_placeholder(t)}"}
                paths.append(Path(f"bind-{label}", "POST", s, t, (f"Write_{s}",), body))
        # The same paths one level down: through an entity that leads to the source.
        for parent, parent_nav, child, parent_collection in navigations:
            if child.name != s or parent.name in (s, t):
                continue
            roles = (f"Read_{parent.name}", f"Read_{s}")
            inner = f"{parent.name}?$top=3&$expand={parent_nav}"
            paths.append(Path(f"nested-expand-{parent.name}.{parent_nav}.{nav}", "GET",
                              f"{inner}($expand={nav})", t, roles))
            if collection:
                paths.append(Path(f"nested-any-{parent.name}.{parent_nav}.{nav}", "GET",
                                  f"{inner}($filter={nav}/any(x:x/{prop} eq 'x'))", t, roles))
            else:
                paths.append(Path(f"nested-filter-{parent.name}.{parent_nav}.{nav}", "GET",
                                  f"{inner}($filter={nav}/{prop} eq 'x')", t, roles))
            if not parent_collection:
                paths.append(Path(f"filter-2-{parent.name}.{parent_nav}.{nav}", "GET",
                                  f"{parent.name}?$top=1&$filter={parent_nav}/{nav}/{prop} eq 'x'"
                                  if not collection else
                                  f"{parent.name}?$top=1&$filter={parent_nav}/{nav}/any(x:x/{prop} eq 'x')",
                                  t, roles))
    return paths


PATHS = generate_paths()


@pytest.fixture(scope="module")
def paths_client(sqlite_backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    folder = write_security(tmp_path_factory.mktemp("paths-security"), ROLES, [])
    with make_client(sqlite_backend, headers={}, security=str(folder)) as client:
        yield client


@pytest.fixture(scope="module")
def keys(sqlite_backend: Backend) -> dict[str, str]:
    seed_event_configuration(sqlite_backend)  # an endpoint and an activation to reach
    return {name: sample_key(sqlite_backend.engine, name, "usmf") for name in CATALOG}


def _fill(value: Any, keys: dict[str, str]) -> Any:
    if isinstance(value, str):
        for name, key in keys.items():
            value = value.replace(_key_placeholder(name), key)
        return value
    if isinstance(value, dict):
        return {name: _fill(item, keys) for name, item in value.items()}
    return value


def _body(backend: Backend, path: Path, keys: dict[str, str]) -> dict[str, Any] | None:
    if path.body is None:
        return None
    tag = "AZ" + uuid.uuid4().hex[:6].upper()
    with backend.engine.connect() as connection:
        def first(sql: str) -> str:
            return str(connection.execute(text(sql)).scalar_one())
        base: dict[str, dict[str, Any]] = {
            "CustomersV3": {"CustomerAccount": tag, "OrganizationName": "Authz bind"},
            "SalesOrderHeadersV2": {"SalesOrderNumber": tag, "OrderingCustomerAccountNumber": first(
                "SELECT MIN(ACCOUNTNUM) FROM CUSTTABLE WHERE DATAAREAID='usmf'")},
            "VendorsV2": {"VendorAccountNumber": tag, "VendorOrganizationName": "Authz bind"},
            "BusinessEventsActivations": {"BusinessEventId": "CustomersV3_Updated", "EndpointId": "matrix"},
            "SalesOrderLines": {"InventoryLotId": tag,
                                "SalesOrderNumber": first("SELECT MIN(SALESID) FROM SALESTABLE WHERE DATAAREAID='usmf'"),
                                "ItemNumber": first("SELECT MIN(ITEMID) FROM INVENTTABLE WHERE DATAAREAID='usmf'")},
        }
    creates = path.creates or path.url
    body = {**base.get(creates, {}), **_fill(path.body, keys)}
    parent = CATALOG[path.url.split("{", 1)[0].split("?", 1)[0]]
    if path.creates:  # the parent gives the link values
        nav = parent.navigation[path.url.rsplit("/", 1)[1]]
        for name in nav["link"].values():
            body.pop(name, None)
    for nav_name, nav in CATALOG[creates].navigation.items():  # a bound navigation gives its link values
        if f"{nav_name}@odata.bind" in body:
            for name in nav["link"]:
                body.pop(name, None)
    return body


def _send(client: TestClient, path: Path, roles: tuple[str, ...], url: str, body: dict[str, Any] | None) -> Any:
    headers = {**bearer("paths-user", roles=roles), "Prefer": "tx=rollback"}
    return client.request(path.method, f"/data/{url}", json=body, headers=headers)


def _assert_forbidden(status: int, payload: dict[str, Any], forbidden: str, what: str) -> None:
    assert status == 403, f"{what}: {status} {payload}"
    error = payload["error"]
    assert error["code"] == "Forbidden" and error["target"] == forbidden, f"{what}: {error}"
    assert f"read privilege on {forbidden}" in error["message"], f"{what}: {error['message']}"


@pytest.mark.parametrize("path", PATHS, ids=[path.id for path in PATHS])
def test_indirect_path_needs_the_read_privilege(paths_client: TestClient, sqlite_backend: Backend,
                                                keys: dict[str, str], path: Path) -> None:
    url, body = _fill(path.url, keys), _body(sqlite_backend, path, keys)
    allowed = _send(paths_client, path, (*path.roles, f"Read_{path.forbidden}"), url, body)
    assert allowed.status_code in (200, 201, 204), f"control ({path.roles} + Read_{path.forbidden}): {allowed.text[:300]}"
    refused = _send(paths_client, path, path.roles, url, body)
    _assert_forbidden(refused.status_code, refused.json(), path.forbidden, url)


GET_PATHS = [path for path in PATHS if path.method == "GET"][::3]  # every third: the batch layer, not the paths


@pytest.mark.parametrize("path", GET_PATHS, ids=[path.id for path in GET_PATHS])
def test_forbidden_get_inside_a_batch(paths_client: TestClient, keys: dict[str, str], path: Path) -> None:
    url = _fill(path.url, keys)
    visible = f"{path.roles[0].removeprefix('Read_')}?$top=1"
    headers = bearer("paths-user", roles=path.roles)
    batch = {"requests": [{"id": "ok", "method": "GET", "url": visible},
                          {"id": "no", "method": "GET", "url": url}]}
    response = paths_client.post("/data/$batch", json=batch, headers={**headers, "Prefer": "odata.continue-on-error"})
    assert response.status_code == 200, response.text
    answers = {item["id"]: item for item in response.json()["responses"]}
    assert answers["ok"]["status"] == 200
    _assert_forbidden(answers["no"]["status"], answers["no"]["body"], path.forbidden, f"JSON batch {url}")
    multipart = (
        "--b\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        f"GET {url.replace(' ', '%20')} HTTP/1.1\r\nAccept: application/json\r\n\r\n\r\n--b--\r\n"
    )
    response = paths_client.post("/data/$batch", content=multipart.encode(),
                                 headers={**headers, "Content-Type": "multipart/mixed; boundary=b"})
    assert response.status_code == 200, response.text
    _, _, rest = response.text.partition("HTTP/1.1 ")
    status = int(rest[:3])
    payload = orjson.loads(rest[rest.index("\r\n\r\n") + 4:].split("\r\n--")[0])
    _assert_forbidden(status, payload, path.forbidden, f"multipart batch {url}")


def _customer_count(backend: Backend, prefix: str) -> int:
    with backend.engine.connect() as connection:
        return int(connection.execute(text("SELECT COUNT(*) FROM CUSTTABLE WHERE ACCOUNTNUM LIKE :p"),
                                      {"p": prefix + "%"}).scalar_one())


@pytest.mark.parametrize("kind", ["json", "multipart"])
def test_change_set_with_one_forbidden_write_leaves_nothing(paths_client: TestClient, sqlite_backend: Backend,
                                                            keys: dict[str, str], kind: str) -> None:
    """A customer create the caller may do, then an order create it may not: neither remains."""
    tag = "AZ" + uuid.uuid4().hex[:6].upper()
    group = sqlite_backend.engine.connect().execute(
        text("SELECT MIN(CUSTGROUP) FROM CUSTGROUP WHERE DATAAREAID='usmf'")).scalar_one()
    customer = {"CustomerAccount": f"{tag}-1", "OrganizationName": "Authz batch", "CustomerGroupId": group}
    order = {"SalesOrderNumber": f"{tag}-SO", "OrderingCustomerAccountNumber": f"{tag}-1"}
    headers = bearer("paths-user", roles=("Write_CustomersV3",))
    try:
        if kind == "json":
            batch = {"requests": [
                {"id": "c", "method": "POST", "url": "CustomersV3", "atomicityGroup": "g", "body": customer},
                {"id": "o", "method": "POST", "url": "SalesOrderHeadersV2", "atomicityGroup": "g", "body": order},
            ]}
            response = paths_client.post("/data/$batch", json=batch, headers=headers)
            assert response.status_code == 200, response.text
            answers = {item["id"]: item for item in response.json()["responses"]}
            assert answers["c"]["status"] == 424
            assert answers["o"]["status"] == 403 and answers["o"]["body"]["error"]["target"] == "SalesOrderHeadersV2"
            assert "create privilege on SalesOrderHeadersV2" in answers["o"]["body"]["error"]["message"]
        else:
            body = (
                "--b\r\nContent-Type: multipart/mixed; boundary=cs\r\n\r\n"
                f"--cs\r\nContent-Type: application/http\r\nContent-ID: 1\r\n\r\n"
                f"POST CustomersV3 HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{orjson.dumps(customer).decode()}\r\n"
                f"--cs\r\nContent-Type: application/http\r\nContent-ID: 2\r\n\r\n"
                f"POST SalesOrderHeadersV2 HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{orjson.dumps(order).decode()}\r\n"
                "--cs--\r\n--b--\r\n"
            )
            response = paths_client.post("/data/$batch", content=body.encode(),
                                         headers={**headers, "Content-Type": "multipart/mixed; boundary=b"})
            assert response.status_code == 200, response.text
            assert "HTTP/1.1 403 Forbidden" in response.text and "HTTP/1.1 201" not in response.text
        assert _customer_count(sqlite_backend, tag) == 0
        # The control: with both privileges the same change set commits both.
        both = bearer("paths-user", roles=("Write_CustomersV3", "Write_SalesOrderHeadersV2"))
        batch = {"requests": [
            {"id": "c", "method": "POST", "url": "CustomersV3", "atomicityGroup": "g", "body": customer},
            {"id": "o", "method": "POST", "url": "SalesOrderHeadersV2", "atomicityGroup": "g", "body": order},
        ]}
        assert [item["status"] for item in paths_client.post("/data/$batch", json=batch, headers=both).json()["responses"]] == [201, 201]
        assert _customer_count(sqlite_backend, tag) == 1
    finally:
        with sqlite_backend.engine.begin() as connection:
            connection.execute(text("DELETE FROM DIRPARTYTABLE WHERE RECID IN "
                                    "(SELECT PARTY FROM CUSTTABLE WHERE ACCOUNTNUM LIKE :p)"), {"p": tag + "%"})
            connection.execute(text("DELETE FROM CUSTTABLE WHERE ACCOUNTNUM LIKE :p"), {"p": tag + "%"})
            connection.execute(text("DELETE FROM SALESTABLE WHERE SALESID LIKE :p"), {"p": tag + "%"})


def test_the_corpus_covers_every_navigation() -> None:
    covered = {path.name.split("-", 1)[1] for path in PATHS if path.name.startswith("expand-") and "." in path.name}
    expected = {f"{source.name}.{nav}" for source, nav, _, _ in _navigations()}
    assert expected <= {name.removeprefix("select-").removeprefix("star-").removeprefix("count-") for name in covered}
    assert len(PATHS) > 100


OTHER_SERVICES = [("GET", "/admin/data/", None), ("GET", "/admin/data/DualWriteMaps", None),
                  ("POST", "/api/data/v9.2/uoms", {"msdyn_symbol": "az" + uuid.uuid4().hex[:6], "name": "authz"})]


@pytest.mark.parametrize(("method", "url", "body"), OTHER_SERVICES, ids=[f"{m} {u}" for m, u, _ in OTHER_SERVICES])
def test_batch_requests_to_other_services_keep_their_rules(paths_client: TestClient, method: str, url: str,
                                                           body: dict[str, Any] | None) -> None:
    """A /data batch may address another service: alone, that service's privileges apply (admin only,
    no Dataverse privilege here); inside a change set it is refused (400), never run in /data's
    transaction (which answered 500: its SQL went to the F&O database)."""
    headers = {**bearer("paths-user", roles=("Write_CustomersV3",)), "Prefer": "tx=rollback"}
    alone = paths_client.post("/data/$batch", json={"requests": [{"id": "1", "method": method, "url": url, "body": body}]},
                              headers=headers)
    assert alone.status_code == 200 and alone.json()["responses"][0]["status"] == 403, alone.text
    admin = {**bearer("paths-user", roles=("PathsAdmin",)), "Prefer": "tx=rollback"}
    alone = paths_client.post("/data/$batch", json={"requests": [{"id": "1", "method": method, "url": url, "body": body}]},
                              headers=admin)
    assert alone.json()["responses"][0]["status"] in (200, 201), alone.text
    grouped = {"requests": [{"id": "1", "method": method, "url": url, "body": body, "atomicityGroup": "g"}]}
    if method == "GET":
        return  # a change set holds writes only
    for roles in (("PathsAdmin",), ("Write_CustomersV3",)):
        answer = paths_client.post("/data/$batch", json=grouped,
                                   headers={**bearer("paths-user", roles=roles), "Prefer": "tx=rollback"})
        assert answer.json()["responses"][0]["status"] == 400, answer.text
