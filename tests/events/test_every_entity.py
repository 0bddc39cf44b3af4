"""Data events exist for every entity of the F&O catalog. One plain-SQL change to a text column of
each entity's first table; the records that change are found independently, by reading every entity
through /data before and after (the gateway's read pipeline, not the capture triggers). Each changed
record raises exactly one Updated event whose Target is the record /data reads after, and PreImage
the one before; nothing else raises an event."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from gateway.catalog.model import Entity
from gateway.events.service import ACTIVATIONS, ENDPOINTS, endpoint_body
from tests.conftest import Backend, make_client
from tests.events.conftest import EventsDb, Receiver, dedupe

LINK_ENTITIES = frozenset({"ProductCategoryAssignments", "ProductCategoryHierarchyRoles"})


def test_every_entity_raises_its_data_events(events_db: EventsDb, receiver: Receiver) -> None:
    db = events_db
    # Link entities show only other entities' keys: their update repoints a reference, which this
    # generic change cannot make (tests/events/test_link_entities.py raises theirs).
    entities = [entity for entity in db.events.catalog.entities.values()
                if entity.data_events and entity.entity_set not in LINK_ENTITIES]
    assert len(entities) >= 14
    db.events.create(ENDPOINTS, endpoint_body("hook", receiver.url))
    for entity in entities:
        db.events.create(ACTIVATIONS, {"BusinessEventId": f"{entity.entity_set}_Updated", "EndpointId": "hook"})
    with make_client(Backend(db.name, db.url, db.engine)) as client:
        before = {entity.entity_set: _records(client, entity) for entity in entities}
        rekeyed: set[str] = set()  # entities whose change gives the record another key
        keys = {(other.source_by_alias[other.properties[name].alias].table, other.properties[name].column_name)
                for other in entities for name in other.key}  # changing a key would make another record
        for entity in entities:
            primary = entity.sources[0]
            own = [p for p in entity.properties.values()
                   if p.alias == primary.alias and (primary.table, p.column_name) not in keys]
            text = [p for p in own if p.type == "Edm.String"]
            numbers = [p for p in own if p.type in ("Edm.Int32", "Edm.Int64", "Edm.Decimal")]
            # An enum flips between its first two members; a date-time moves a day back.
            enums = [p for p in own if p.type in db.events.catalog.service.enums]
            instants = [p for p in own if p.type == "Edm.DateTimeOffset"]
            if not (text or numbers or enums or instants):  # every column it shows is a key (variants): change a key
                text = [p for name, p in entity.properties.items() if name in entity.key and p.alias == primary.alias]
                rekeyed.add(entity.entity_set)
            column = (text or numbers or enums or instants)[0].column_name
            if text or numbers:
                change = f'"{column}" || \'~\'' if text else f'"{column}" + 1'
            elif enums:
                first, second = list(db.events.catalog.service.enums[enums[0].type])[:2]
                change = f'CASE WHEN "{column}" = {first} THEN {second} ELSE {first} END'
            else:
                change = (f'datetime("{column}", \'-1 day\')' if db.name == "sqlite"
                          else f'"{column}" - INTERVAL \'1\' DAY')
            recid = _recid(db, entity, next(iter(before[entity.entity_set].values())))
            db.run(f'UPDATE "{primary.table}" SET "{column}" = {change} WHERE "RECID" = :r', r=recid)
        after = {entity.entity_set: _records(client, entity) for entity in entities}
        client.app.state.engine.dispose()  # type: ignore[attr-defined]
    changed = {(entity_set, subject): (rows[subject], after[entity_set][subject])
               for entity_set, rows in before.items() if entity_set not in rekeyed
               for subject in rows if rows[subject] != after[entity_set][subject]}
    assert rekeyed == {"ReleasedProductVariantsV2"}
    for entity_set in rekeyed:  # records whose key changed: gone under the old key, there under the new one
        gone = set(before[entity_set]) - set(after[entity_set])
        appeared = set(after[entity_set]) - set(before[entity_set])
        assert gone and len(gone) == len(appeared)  # the variant in each company that released it
        for new in appeared:
            old = new.replace("~'", "'")  # the one key value that got the '~'
            assert old in gone
            changed[entity_set, new] = (before[entity_set][old], after[entity_set][new])
    assert {entity_set for entity_set, _ in changed} == {entity.entity_set for entity in entities}
    db.drain()
    received = dedupe(receiver.events())
    got = sorted((event["EntitySet"], event["ContextRecordSubject"]) for event in received)
    assert got == sorted(changed)
    for event in received:
        old, new = changed[event["EntitySet"], event["ContextRecordSubject"]]
        assert event["EventType"] == "Updated"
        for image, row in (("Target", new), ("PreImage", old)):
            for name, value in row.items():  # as /data reads it; a null date-time is left out of events
                assert _same(event[image].get(name), value), (event["EntitySet"], image, name)


def _records(client: TestClient, entity: Entity) -> dict[str, dict[str, Any]]:
    """Every record of the entity in every company, by its key predicate (written out here)."""
    response = client.get(f"/data/{entity.entity_set}", params={"cross-company": "true"})
    assert response.status_code == 200, response.text
    assert "@odata.nextLink" not in response.json()
    records = {}
    for row in response.json()["value"]:
        values = {name: value for name, value in row.items() if not name.startswith("@")}
        quoted = {name: str(values[name]) if entity.properties[name].type in _BARE else
                  "'" + str(values[name]).replace("'", "''") + "'" for name in entity.key}
        key = quoted[entity.key[0]] if len(entity.key) == 1 else ",".join(f"{n}={quoted[n]}" for n in entity.key)
        records[f"{entity.entity_set}({key})"] = values
    return records


_BARE = ("Edm.DateTimeOffset", "Edm.Date", "Edm.Int32", "Edm.Int64", "Edm.Decimal")  # key literals without quotes


def _recid(db: EventsDb, entity: Entity, row: dict[str, Any]) -> int:
    primary = entity.sources[0]
    enums = db.events.catalog.service.enums
    # Its own key columns as stored (an enum's member as its number); a date-time is left out (stored
    # text differs by backend): then any row of the table will do, each is some record's.
    own = [name for name in entity.key if entity.properties[name].alias == primary.alias
           and entity.properties[name].type != "Edm.DateTimeOffset"]
    values = {name: row[name] for name in own}
    for name in own:
        members = enums.get(entity.properties[name].type)
        if members is not None:
            values[name] = {member: number for number, member in members.items()}[row[name]]
    conditions = [f'"{entity.properties[name].column_name}" = :{name}' for name in own]
    conditions += [f'"{column}" = {value!r}' for column, value in primary.where.items()]
    return int(db.sql(f'SELECT min("RECID") FROM "{primary.table}" WHERE {" AND ".join(conditions) or "1 = 1"}',
                      **values)[0][0])


def _same(got: Any, want: Any) -> bool:
    if isinstance(want, (int, float)) and isinstance(got, (int, float)):
        return abs(float(got) - float(want)) < 1e-9
    return bool(got == want)
