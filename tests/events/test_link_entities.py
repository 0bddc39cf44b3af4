"""Data events of link entities (issue 13), whose columns are all other entities' keys: repointing a
reference with plain SQL (an assignment to another category, a role to another hierarchy) raises one
Updated event whose Target is the record /data reads after (a re-link has no PreImage)."""

from __future__ import annotations

from typing import Any

from gateway.events.service import ACTIVATIONS, ENDPOINTS, endpoint_body
from tests.conftest import Backend, make_client
from tests.events.conftest import EventsDb, Receiver, dedupe


def _read(client: Any, path: str) -> dict[str, Any]:
    response = client.get(path)
    assert response.status_code == 200, response.text
    return {name: value for name, value in response.json().items() if not name.startswith("@")}


def test_repointed_links_raise_updated_events(events_db: EventsDb, receiver: Receiver) -> None:
    db = events_db
    db.events.create(ENDPOINTS, endpoint_body("hook", receiver.url))
    for entity_set in ("ProductCategoryAssignments", "ProductCategoryHierarchyRoles"):
        db.events.create(ACTIVATIONS, {"BusinessEventId": f"{entity_set}_Updated", "EndpointId": "hook"})
    assignment = db.sql('SELECT a."RECID", p."DISPLAYPRODUCTNUMBER", h."NAME", a."CATEGORY" FROM "ECORESPRODUCTCATEGORY" a '
                        'JOIN "ECORESPRODUCT" p ON p."RECID" = a."PRODUCT" '
                        'JOIN "ECORESCATEGORYHIERARCHY" h ON h."RECID" = a."CATEGORYHIERARCHY" '
                        'WHERE h."NAME" = \'Contoso retail\' ORDER BY p."DISPLAYPRODUCTNUMBER"')[0]
    other = db.sql('SELECT c."RECID", c."NAME" FROM "ECORESCATEGORY" c JOIN "ECORESCATEGORYHIERARCHY" h '
                   'ON h."RECID" = c."CATEGORYHIERARCHY" WHERE h."NAME" = \'Contoso retail\' AND c."RECID" <> :c '
                   'ORDER BY c."NAME"', c=assignment.CATEGORY)[0]
    procurement = db.sql('SELECT "RECID" FROM "ECORESCATEGORYHIERARCHY" WHERE "NAME" = \'Procurement\'')[0][0]
    assignment_path = (f"/data/ProductCategoryAssignments(ProductNumber='{assignment.DISPLAYPRODUCTNUMBER}',"
                       "ProductCategoryHierarchyName='Contoso retail')")
    role_path = ("/data/ProductCategoryHierarchyRoles(ProductCategoryHierarchyName='Contoso retail',"
                 "HierarchyRole=Microsoft.Dynamics.DataEntities.EcoResCategoryNamedHierarchyRole'SalesReporting')")
    moved_role_path = role_path.replace("'Contoso retail'", "'Procurement'")
    with make_client(Backend(db.name, db.url, db.engine)) as client:
        before = {"assignment": _read(client, assignment_path), "role": _read(client, role_path)}
        db.run('UPDATE "ECORESPRODUCTCATEGORY" SET "CATEGORY" = :c, "RECVERSION" = "RECVERSION" + 1 WHERE "RECID" = :r',
               c=other.RECID, r=assignment.RECID)
        db.run('UPDATE "ECORESCATEGORYHIERARCHYROLE" SET "CATEGORYHIERARCHY" = :h, "RECVERSION" = "RECVERSION" + 1 '
               'WHERE "NAMEDCATEGORYHIERARCHYROLE" = 7', h=procurement)
        after = {"assignment": _read(client, assignment_path), "role": _read(client, moved_role_path)}
        client.app.state.engine.dispose()  # type: ignore[attr-defined]
    assert after["assignment"]["ProductCategoryName"] == other.NAME
    db.drain()
    received = {event["EntitySet"]: event for event in dedupe(receiver.events())}
    assert sorted(received) == ["ProductCategoryAssignments", "ProductCategoryHierarchyRoles"]
    for entity_set, name in (("ProductCategoryAssignments", "assignment"), ("ProductCategoryHierarchyRoles", "role")):
        event = received[entity_set]
        assert event["EventType"] == "Updated"
        assert {key: event["Target"].get(key) for key in after[name]} == after[name] != before[name]
        # A change that re-links the entity's tables finds no record before (gateway/events/capture.py):
        # the event carries the record after only.
        assert "PreImage" not in event
