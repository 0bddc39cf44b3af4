"""Operating units and organization hierarchies (issue 13) against the physical tables on three
databases, and `$levels` on the recursive Children navigation against a plain-Python walk of the
relationship rows read with SQL."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import aliased
from starlette.testclient import TestClient

from gateway.demo import schema as s
from tests.conftest import Backend, bearer, make_client

UNIT_TYPES = {0: "None", 1: "OMDepartment", 2: "OMCostCenter", 3: "OMValueStream", 4: "OMBusinessUnit", 5: "OMAnyOU",
              6: "OMRetailChannel"}
PURPOSES = {0: "None", 1: "OrganizationChart", 2: "ProcurementInternalControl", 3: "ExpenditureInternalControl",
            4: "SigningLimitsInternalControl", 5: "CentralizedPayments", 6: "Security", 7: "BudgetPlanning",
            8: "RetailAssortment", 9: "RetailReporting"}
NOW = dt.datetime(2026, 1, 1)  # after every demo change (the last one ended 2023), long before "never"


def _rows(engine: Engine, statement: Any) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(statement)]


def sql_units(engine: Engine) -> list[dict[str, Any]]:
    u = s.OMOPERATINGUNIT
    rows = _rows(engine, select(u.c.OPERATINGUNITNUMBER, u.c.NAME, u.c.NAMEALIAS, u.c.OPERATINGUNITTYPE,
                                u.c.LANGUAGEID))
    return sorted(({"OperatingUnitNumber": r["OPERATINGUNITNUMBER"], "Name": r["NAME"], "NameAlias": r["NAMEALIAS"],
                    "OperatingUnitType": UNIT_TYPES[r["OPERATINGUNITTYPE"]], "LanguageId": r["LANGUAGEID"]}
                   for r in rows), key=lambda r: r["OperatingUnitNumber"])


def sql_purposes(engine: Engine) -> list[tuple[str, str, str]]:
    p, h = s.OMHIERARCHYPURPOSE, s.OMHIERARCHYTYPE
    rows = _rows(engine, select(h.c.NAME, p.c.HIERARCHYPURPOSE, p.c.ISDEFAULT).join_from(p, h, h.c.RECID == p.c.HIERARCHYTYPE))
    return sorted((r["NAME"], PURPOSES[r["HIERARCHYPURPOSE"]], "Yes" if r["ISDEFAULT"] else "No") for r in rows)


def sql_edges(engine: Engine) -> list[dict[str, Any]]:
    """Every relationship row: hierarchy name, child and parent numbers, validity (naive UTC)."""
    r, h = s.OMHIERARCHYRELATIONSHIP, s.OMHIERARCHYTYPE
    child, parent = aliased(s.OMOPERATINGUNIT, name="child"), aliased(s.OMOPERATINGUNIT, name="parent")
    statement = (
        select(h.c.NAME.label("hierarchy"), child.c.OPERATINGUNITNUMBER.label("child"),
               parent.c.OPERATINGUNITNUMBER.label("parent"),
               r.c.VALIDFROM.label("valid_from"), r.c.VALIDTO.label("valid_to"))
        .select_from(r)
        .join(h, h.c.RECID == r.c.HIERARCHYTYPE)
        .join(child, child.c.RECID == r.c.CHILDORGANIZATION)
        .outerjoin(parent, parent.c.RECID == r.c.PARENTORGANIZATION)
    )
    return _rows(engine, statement)


def _instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)


def _all(client: TestClient, url: str, **params: str) -> list[dict[str, Any]]:
    response = client.get(url, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    rows = list(body["value"])
    while "@odata.nextLink" in body:
        body = client.get(body["@odata.nextLink"]).json()
        rows.extend(body["value"])
    return rows


# ------------------------------------------------------------------------------------------ plain reads
def test_operating_units_are_the_table(client: TestClient, backend: Backend) -> None:
    expected = sql_units(backend.engine)
    assert len(expected) >= 30
    got = [{k: v for k, v in row.items() if not k.startswith("@")} for row in _all(client, "/data/OperatingUnits")]
    assert got == expected


def test_hierarchies_with_their_purposes(client: TestClient, backend: Backend) -> None:
    rows = _all(client, "/data/OrganizationHierarchies", **{"$expand": "Purposes"})
    got = sorted((row["HierarchyName"], purpose["HierarchyPurpose"], purpose["IsDefault"])
                 for row in rows for purpose in row["Purposes"])
    assert got == sql_purposes(backend.engine)
    names = _rows(backend.engine, select(s.OMHIERARCHYTYPE.c.NAME))
    assert sorted(row["HierarchyName"] for row in rows) == sorted(row["NAME"] for row in names)


def test_purpose_filter_by_enum(client: TestClient, backend: Backend) -> None:
    rows = _all(client, "/data/OrganizationHierarchyPurposes",
                **{"$filter": "HierarchyPurpose eq Microsoft.Dynamics.DataEntities.HierarchyPurpose'Security'"})
    assert [(row["HierarchyName"], row["IsDefault"]) for row in rows] == [
        (name, default) for name, purpose, default in sql_purposes(backend.engine) if purpose == "Security"]


def test_relationships_are_the_table(client: TestClient, backend: Backend) -> None:
    got = sorted((row["HierarchyName"], row["ChildOrganizationNumber"], row["ParentOrganizationNumber"],
                  _instant(row["ValidFrom"]), _instant(row["ValidTo"]))
                 for row in _all(client, "/data/OrganizationHierarchyRelationships"))
    expected = sorted((e["hierarchy"], e["child"], e["parent"], e["valid_from"], e["valid_to"])
                      for e in sql_edges(backend.engine))
    assert got == expected
    assert any(e[4] < NOW for e in expected), "the demo has expired edges"


def test_a_units_placements_and_its_parent(client: TestClient, backend: Backend) -> None:
    moved = [e for e in sql_edges(backend.engine) if e["valid_to"] < NOW and e["parent"] is not None][0]
    rows = _all(client, f"/data/OperatingUnits('{moved['child']}')/HierarchyRelationships",
                **{"$expand": "ParentOrganization($select=OperatingUnitNumber)"})
    expected = sorted((e["hierarchy"], e["parent"]) for e in sql_edges(backend.engine) if e["child"] == moved["child"])
    assert len(expected) >= 2  # its expired edge and its current one
    assert sorted((row["HierarchyName"], row["ParentOrganization"]["OperatingUnitNumber"]) for row in rows) == expected


# ------------------------------------------------------------------------------------------ $levels
def _walk(edges: list[dict[str, Any]], hierarchy: str, parent: str, depth: int | None,
          current: bool = False) -> list[Any]:
    """The tree under `parent` as [(child number, [its subtree])], `depth` levels deep (None: all),
    sorted by child number; `current`: only edges valid at NOW."""
    if depth == 0:
        return []
    below = defaultdict(list)
    for edge in edges:
        if edge["hierarchy"] == hierarchy and (not current or edge["valid_from"] <= NOW < edge["valid_to"]):
            below[edge["parent"]].append(edge["child"])
    return sorted((child, _walk(edges, hierarchy, child, None if depth is None else depth - 1, current))
                  for child in below[parent])


def _tree(rows: list[dict[str, Any]]) -> list[Any]:
    return sorted((row["ChildOrganizationNumber"], _tree(row.get("Children", []))) for row in rows)


def _roots(client: TestClient, expand: str) -> list[dict[str, Any]]:
    return _all(client, "/data/OrganizationHierarchyRelationships",
                **{"$filter": "ParentOrganizationNumber eq null", "$select": "HierarchyName,ChildOrganizationNumber",
                   "$expand": expand})


def _depth(tree: list[Any]) -> int:
    return 1 + max((_depth(children) for _, children in tree), default=0) if tree else 0


def test_levels_max_is_every_tree(client: TestClient, backend: Backend) -> None:
    edges = sql_edges(backend.engine)
    roots = _roots(client, "Children($select=ChildOrganizationNumber;$levels=max)")
    assert len(roots) == len({e["hierarchy"] for e in edges})
    for root in roots:
        expected = _walk(edges, root["HierarchyName"], root["ChildOrganizationNumber"], None)
        assert _tree(root["Children"]) == expected
    depths = {root["HierarchyName"]: _depth(_tree(root["Children"])) for root in roots}
    assert max(depths.values()) == 3 and min(depths.values()) == 2  # four and three levels with the root


def test_levels_repeats_the_nested_filter_at_every_level(client: TestClient, backend: Backend) -> None:
    edges = sql_edges(backend.engine)
    roots = _roots(client, "Children($filter=ValidTo gt 2026-01-01T00:00:00Z;$select=ChildOrganizationNumber;"
                           "$levels=max)")
    for root in roots:
        expected = _walk(edges, root["HierarchyName"], root["ChildOrganizationNumber"], None, current=True)
        assert _tree(root["Children"]) == expected
    everything = sum(len(_walk(edges, r["HierarchyName"], r["ChildOrganizationNumber"], None)) for r in roots)
    assert sum(len(root["Children"]) for root in roots) < everything  # the expired wholesale branch is gone


@pytest.mark.parametrize("levels", [1, 2, 3])
def test_levels_n_stops_after_n_levels(client: TestClient, backend: Backend, levels: int) -> None:
    edges = sql_edges(backend.engine)
    for root in _roots(client, f"Children($select=ChildOrganizationNumber;$levels={levels})"):
        assert _tree(root["Children"]) == _walk(edges, root["HierarchyName"], root["ChildOrganizationNumber"], levels)


def test_levels_beyond_the_expand_depth_limit_is_refused(sqlite_backend: Backend) -> None:
    with make_client(sqlite_backend, max_expand_depth=2) as limited:
        response = limited.get("/data/OrganizationHierarchyRelationships",
                               params={"$expand": "Children($levels=3)"})
        assert response.status_code == 400, response.text
        assert "--max-expand-depth" in response.json()["error"]["message"]
        # $levels=max counts once: the planner bounds it.
        response = limited.get("/data/OrganizationHierarchyRelationships", params={"$expand": "Children($levels=max)"})
        assert response.status_code == 200, response.text


def test_a_reader_sees_the_hierarchy_and_a_vendor_reader_does_not(sqlite_backend: Backend) -> None:
    with make_client(sqlite_backend, headers=bearer("reader", ("DataReader",))) as reader:
        response = reader.get("/data/OrganizationHierarchyRelationships",
                              params={"$expand": "Children($levels=max)", "$top": "1"})
        assert response.status_code == 200, response.text
    with make_client(sqlite_backend, headers=bearer("vendors", ("VendorReader",))) as vendor_reader:
        assert vendor_reader.get("/data/OperatingUnits").status_code == 403
