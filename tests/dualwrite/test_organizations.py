"""The organization hierarchy maps (issue 13), F&O → Dataverse: initial sync checked row by row
against the F&O tables, live sync of changes made with plain SQL, and the refusals that keep an
edge from arriving before the units and the hierarchy type it names."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import update

from gateway.demo import schema
from gateway.dualwrite import lifecycle
from gateway.dualwrite.initial import initial_sync
from gateway.dualwrite.store import RUNNING
from gateway.dualwrite.verify import verify
from tests.dualwrite.conftest import Sides

UNITS, TYPES, PURPOSES, EDGES = ("Operating units", "Organization hierarchy types", "Organization hierarchy purposes",
                                 "Organization hierarchy - published")
LEGAL = "Legal entities (internal organizations)"
NEVER = dt.datetime(2154, 12, 31, 23, 59, 59)
_NEW_RECIDS = iter(range(9_100_000_000, 9_200_000_000))  # far above the demo's and the gateway's RECIDs


def _naive(value: Any) -> Any:
    if isinstance(value, str):  # SQLite hands back text
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=None, microsecond=0) if isinstance(value, dt.datetime) else value


def fo_units(sides: Sides) -> dict[str, tuple[Any, ...]]:
    rows = sides.fo_sql('SELECT "OPERATINGUNITNUMBER" AS n, "NAME" AS name, "NAMEALIAS" AS alias, '
                        '"OPERATINGUNITTYPE" AS kind, "LANGUAGEID" AS language FROM "OMOPERATINGUNIT"')
    return {row.n: (row.name, row.alias, row.kind, row.language, 2) for row in rows}


def dv_units(sides: Sides) -> dict[str, tuple[Any, ...]]:
    rows = sides.dv_sql("SELECT msdyn_organizationnumber AS n, msdyn_name AS name, msdyn_namealias AS alias, "
                        "msdyn_operatingunittype AS kind, msdyn_languageid AS language, "
                        "msdyn_internalorganizationtype AS type FROM msdyn_internalorganization "
                        "WHERE msdyn_internalorganizationtype = 2")  # (1: the legal entities' map)
    result = {row.n: (row.name, row.alias, row.kind, row.language, row.type) for row in rows}
    assert len(result) == len(rows), "an integration key appears twice"
    return result


def fo_purposes(sides: Sides) -> set[tuple[Any, ...]]:
    rows = sides.fo_sql('SELECT h."NAME" AS name, p."HIERARCHYPURPOSE" AS purpose, p."ISDEFAULT" AS isdefault '
                        'FROM "OMHIERARCHYPURPOSE" p JOIN "OMHIERARCHYTYPE" h ON h."RECID" = p."HIERARCHYTYPE"')
    return {(row.name, row.purpose, bool(row.isdefault)) for row in rows}


def dv_purposes(sides: Sides) -> set[tuple[Any, ...]]:
    """Through the lookup, not the copied name: the lookup must name the right hierarchy type."""
    rows = sides.dv_sql("SELECT t.msdyn_name AS name, p.msdyn_hierarchypurpose AS purpose, p.msdyn_isdefault AS isdefault "
                        "FROM msdyn_internalorganizationhierarchypurpose p "
                        "JOIN msdyn_internalorganizationhierarchytype t "
                        "ON t.msdyn_internalorganizationhierarchytypeid = p.msdyn_hierarchytype")
    return {(row.name, row.purpose, bool(row.isdefault)) for row in rows}


def fo_edges(sides: Sides) -> set[tuple[Any, ...]]:
    rows = sides.fo_sql(
        'SELECT h."NAME" AS hierarchy, c."OPERATINGUNITNUMBER" AS child, p."OPERATINGUNITNUMBER" AS parent, '
        'r."VALIDFROM" AS valid_from, r."VALIDTO" AS valid_to FROM "OMHIERARCHYRELATIONSHIP" r '
        'JOIN "OMHIERARCHYTYPE" h ON h."RECID" = r."HIERARCHYTYPE" '
        'JOIN "OMOPERATINGUNIT" c ON c."RECID" = r."CHILDORGANIZATION" '
        'LEFT JOIN "OMOPERATINGUNIT" p ON p."RECID" = r."PARENTORGANIZATION"')
    return {(row.hierarchy, row.child, row.parent, _naive(row.valid_from), _naive(row.valid_to)) for row in rows}


def dv_edges(sides: Sides) -> set[tuple[Any, ...]]:
    """Through the three lookups: each must name the row of its own table that F&O names."""
    rows = sides.dv_sql(
        "SELECT t.msdyn_name AS hierarchy, c.msdyn_organizationnumber AS child, p.msdyn_organizationnumber AS parent, "
        "e.msdyn_validfrom AS valid_from, e.msdyn_validto AS valid_to, e.msdyn_parentorganizationnumber AS copied "
        "FROM msdyn_internalorganizationhierarchy e "
        "JOIN msdyn_internalorganizationhierarchytype t ON t.msdyn_internalorganizationhierarchytypeid = e.msdyn_hierarchytype "
        "JOIN msdyn_internalorganization c ON c.msdyn_internalorganizationid = e.msdyn_childorganization "
        "LEFT JOIN msdyn_internalorganization p ON p.msdyn_internalorganizationid = e.msdyn_parentorganization")
    assert all(row.parent == row.copied for row in rows)
    result = {(row.hierarchy, row.child, row.parent, _naive(row.valid_from), _naive(row.valid_to)) for row in rows}
    assert len(result) == len(rows) == sides.dv_sql("SELECT count(*) FROM msdyn_internalorganizationhierarchy")[0][0]
    return result


def unit_recid(sides: Sides, number: str) -> int:
    return int(sides.fo_sql('SELECT "RECID" FROM "OMOPERATINGUNIT" WHERE "OPERATINGUNITNUMBER" = :n', n=number)[0][0])


def hierarchy_recid(sides: Sides, name: str) -> int:
    return int(sides.fo_sql('SELECT "RECID" FROM "OMHIERARCHYTYPE" WHERE "NAME" = :n', n=name)[0][0])


def insert_unit(sides: Sides, number: str, name: str) -> int:
    recid = next(_NEW_RECIDS)
    sides.fo_exec('INSERT INTO "OMOPERATINGUNIT" ("RECID", "RECVERSION", "OPERATINGUNITNUMBER", "NAME", "NAMEALIAS", '
                  '"OPERATINGUNITTYPE", "LANGUAGEID") VALUES (:r, 1, :n, :name, \'\', 1, \'en-us\')',
                  r=recid, n=number, name=name)
    return recid


def insert_edge(sides: Sides, hierarchy: int, child: int, parent: int | None, valid_from: dt.datetime) -> None:
    """Through the typed table (a date-time stored as the demo stores it on SQLite too)."""
    with sides.fo.begin() as connection:
        connection.execute(schema.OMHIERARCHYRELATIONSHIP.insert().values(
            RECID=next(_NEW_RECIDS), RECVERSION=1, HIERARCHYTYPE=hierarchy, CHILDORGANIZATION=child,
            PARENTORGANIZATION=parent, VALIDFROM=valid_from, VALIDTO=NEVER))


# ---------------------------------------------------------------- initial sync
def test_every_map_starts_running(sides: Sides) -> None:
    states = sides.dual.states()
    assert [states[name] for name in (LEGAL, UNITS, TYPES, PURPOSES, EDGES)] == [RUNNING] * 5


def test_prerequisites_come_first() -> None:
    from gateway.catalog.load import load_catalog
    from gateway.dualwrite.maps import load_maps
    from tests.conftest import repository_root

    root = repository_root() / "entities"
    maps = load_maps(root / "dualwrite", load_catalog(root / "fno"), load_catalog(root / "dataverse"))
    order = [table_map.name for table_map in maps.ordered([EDGES, PURPOSES])]
    assert order.index(UNITS) < order.index(EDGES) and order.index(TYPES) < order.index(EDGES)
    assert order.index(TYPES) < order.index(PURPOSES)
    assert not any(maps.maps[name].company for name in (LEGAL, UNITS, TYPES, PURPOSES, EDGES))  # shared, not striped


def test_every_unit_is_an_internal_organization(sides: Sides) -> None:
    assert dv_units(sides) == fo_units(sides) and len(fo_units(sides)) >= 30


def test_every_legal_entity_is_an_internal_organization_too(sides: Sides) -> None:
    companies = {row.ID: row.NAME for row in sides.fo_sql('SELECT "ID", "NAME" FROM "DATAAREA"')}
    rows = sides.dv_sql("SELECT msdyn_organizationnumber AS n, msdyn_name AS name FROM msdyn_internalorganization "
                        "WHERE msdyn_internalorganizationtype = 1")
    assert {row.n: row.name for row in rows} == companies and len(rows) == len(companies) == 3
    sides.fo_exec('UPDATE "DATAAREA" SET "NAME" = \'Contoso Germany GmbH\', "RECVERSION" = "RECVERSION" + 1 '
                  'WHERE "ID" = \'demf\'')
    sides.drain()
    assert sides.dv_sql("SELECT msdyn_name FROM msdyn_internalorganization WHERE msdyn_organizationnumber = 'demf'")[0][0] \
        == "Contoso Germany GmbH"
    assert sides.dv_sql("SELECT cdm_name FROM cdm_company WHERE cdm_companycode = 'demf'")[0][0] == "Contoso Germany GmbH"
    assert verify(sides.dual, [LEGAL, UNITS]).clean  # each map sees its own rows of the shared table only


def test_every_hierarchy_type_and_purpose_is_copied(sides: Sides) -> None:
    names = {row[0] for row in sides.fo_sql('SELECT "NAME" FROM "OMHIERARCHYTYPE"')}
    assert {row[0] for row in sides.dv_sql("SELECT msdyn_name FROM msdyn_internalorganizationhierarchytype")} == names
    assert dv_purposes(sides) == fo_purposes(sides) and len(fo_purposes(sides)) >= 9


def test_every_edge_is_copied_with_its_lookups(sides: Sides) -> None:
    expected = fo_edges(sides)
    assert dv_edges(sides) == expected
    assert any(edge[2] is None for edge in expected) and any(edge[4] < NEVER for edge in expected)


def test_bootstrapping_updates_and_never_duplicates(sides: Sides) -> None:
    sides.dv_exec("UPDATE msdyn_internalorganization SET msdyn_name = 'changed by hand' "
                  "WHERE msdyn_organizationnumber IN ('000001', '000002')")
    result = initial_sync(sides.dual, sides.dual.table_map(UNITS), restart=True)
    assert (result.counts["create"], result.counts["update"], result.counts["failed"]) == (0, 2, 0)
    result = initial_sync(sides.dual, sides.dual.table_map(EDGES), restart=True)
    assert (result.counts["create"], result.counts["update"], result.counts["failed"]) == (0, 0, 0)
    assert dv_units(sides) == fo_units(sides) and dv_edges(sides) == fo_edges(sides)


# ---------------------------------------------------------------- live sync (captured F&O changes)
def test_a_renamed_unit_reaches_dataverse(sides: Sides) -> None:
    sides.fo_exec('UPDATE "OMOPERATINGUNIT" SET "NAME" = \'Contoso Group\', "RECVERSION" = "RECVERSION" + 1 '
                  'WHERE "OPERATINGUNITNUMBER" = \'000001\'')
    sides.drain()
    assert dv_units(sides)["000001"][0] == "Contoso Group"
    assert dv_units(sides) == fo_units(sides)


def test_a_new_unit_placed_in_a_hierarchy_reaches_dataverse(sides: Sides) -> None:
    parent = sides.fo_sql('SELECT c."OPERATINGUNITNUMBER" FROM "OMHIERARCHYRELATIONSHIP" r '
                          'JOIN "OMOPERATINGUNIT" c ON c."RECID" = r."CHILDORGANIZATION" '
                          'WHERE r."PARENTORGANIZATION" IS NULL ORDER BY 1')[0][0]
    unit = insert_unit(sides, "DW0001", "Treasury")
    insert_edge(sides, hierarchy_recid(sides, "Contoso organization chart"), unit, unit_recid(sides, parent), dt.datetime(2026, 1, 1))
    sides.drain()
    assert dv_units(sides)["DW0001"] == ("Treasury", None, 1, "en-us", 2)  # F&O's '' alias is Dataverse's null
    assert ("Contoso organization chart", "DW0001", parent, dt.datetime(2026, 1, 1), NEVER) in dv_edges(sides)
    assert dv_edges(sides) == fo_edges(sides)


def test_a_move_expires_one_edge_and_adds_another(sides: Sides) -> None:
    edge = sides.fo_sql('SELECT r."RECID" AS recid, r."CHILDORGANIZATION" AS child, r."HIERARCHYTYPE" AS h '
                        'FROM "OMHIERARCHYRELATIONSHIP" r WHERE r."PARENTORGANIZATION" IS NOT NULL '
                        'AND r."VALIDTO" > :now ORDER BY r."RECID" DESC', now=dt.datetime(2030, 1, 1))[0]
    root = sides.fo_sql('SELECT "CHILDORGANIZATION" FROM "OMHIERARCHYRELATIONSHIP" WHERE "HIERARCHYTYPE" = :h '
                        'AND "PARENTORGANIZATION" IS NULL', h=edge.h)[0][0]
    moved_at = dt.datetime(2026, 6, 1)
    table = schema.OMHIERARCHYRELATIONSHIP
    with sides.fo.begin() as connection:
        connection.execute(update(table).where(table.c.RECID == edge.recid).values(
            VALIDTO=moved_at - dt.timedelta(seconds=1), RECVERSION=table.c.RECVERSION + 1))
    insert_edge(sides, edge.h, edge.child, root, moved_at)
    sides.drain()
    assert dv_edges(sides) == fo_edges(sides)


def test_a_deleted_edge_is_deleted_in_dataverse(sides: Sides) -> None:
    """The edge's key is mostly in other tables (hierarchy name, child unit number): the delete finds it
    through the links the row had, captured with the delete."""
    unit = insert_unit(sides, "DW0009", "Short-lived desk")
    root = sides.fo_sql('SELECT "CHILDORGANIZATION" FROM "OMHIERARCHYRELATIONSHIP" WHERE "PARENTORGANIZATION" IS NULL '
                        'ORDER BY "RECID"')[0][0]
    insert_edge(sides, hierarchy_recid(sides, "Contoso organization chart"), unit, root, dt.datetime(2026, 2, 1))
    sides.drain()
    assert any(edge[1] == "DW0009" for edge in dv_edges(sides))
    sides.fo_exec('DELETE FROM "OMHIERARCHYRELATIONSHIP" WHERE "CHILDORGANIZATION" = :u', u=unit)
    sides.drain()
    assert not any(edge[1] == "DW0009" for edge in dv_edges(sides))
    assert dv_edges(sides) == fo_edges(sides)


def test_dataverse_changes_do_not_flow_back(sides: Sides) -> None:
    guid = sides.dv_sql("SELECT msdyn_internalorganizationid FROM msdyn_internalorganization "
                        "WHERE msdyn_organizationnumber = '000002'")[0][0]
    response = sides.client.patch(f"/api/data/v9.2/msdyn_internalorganizations({guid})", json={"msdyn_name": "DV only"})
    assert response.status_code == 204, response.text
    assert fo_units(sides)["000002"][0] != "DV only"
    sides.dv_exec("UPDATE msdyn_internalorganization SET msdyn_name = :n WHERE msdyn_organizationnumber = '000002'",
                  n=fo_units(sides)["000002"][0])


# ---------------------------------------------------------------- prerequisites (faults)
def test_an_edge_whose_unit_dataverse_lacks_is_refused_and_logged(sides: Sides) -> None:
    lifecycle.pause(sides.dual, UNITS)  # the unit's own map holds its change back: the edge arrives first
    try:
        unit = insert_unit(sides, "DW0002", "Internal audit")
        parent = unit_recid(sides, "000001")
        insert_edge(sides, hierarchy_recid(sides, "Contoso organization chart"), unit, parent, dt.datetime(2026, 2, 1))
        sides.drain()
        assert "DW0002" not in dv_units(sides)
        assert not any(edge[1] == "DW0002" for edge in dv_edges(sides))
        logged = sides.fo_sql('SELECT "MAPNAME", "MESSAGE" FROM "DUALWRITEERROR" WHERE "MAPNAME" = :m '
                              'ORDER BY "SEQ" DESC', m=EDGES)
        assert logged and "msdyn_internalorganization" in logged[0].MESSAGE and "DW0002" in logged[0].MESSAGE
    finally:
        lifecycle.resume(sides.dual, UNITS)
    sides.drain()
    assert "DW0002" in dv_units(sides)
    # Once the unit is there, the edge map's initial sync (or a retry) brings the edge.
    result = initial_sync(sides.dual, sides.dual.table_map(EDGES), restart=True)
    assert result.counts["failed"] == 0 and result.counts["create"] == 1
    assert dv_edges(sides) == fo_edges(sides)


def test_initial_sync_of_edges_without_their_hierarchy_type_counts_the_refusals(sides: Sides) -> None:
    name = "Contoso retail"
    expected = sum(1 for edge in fo_edges(sides) if edge[0] == name)
    sides.dv_exec("DELETE FROM msdyn_internalorganizationhierarchy WHERE msdyn_hierarchytypename = :n", n=name)
    sides.dv_exec("DELETE FROM msdyn_internalorganizationhierarchypurpose WHERE msdyn_hierarchytypename = :n", n=name)
    sides.dv_exec("DELETE FROM msdyn_internalorganizationhierarchytype WHERE msdyn_name = :n", n=name)
    result = initial_sync(sides.dual, sides.dual.table_map(EDGES), restart=True)
    assert expected > 0 and result.counts["failed"] == expected and result.counts["create"] == 0
    assert "msdyn_internalorganizationhierarchytype" in result.summary()
    # Starting the maps again, prerequisites first, repairs everything.
    lifecycle.start(sides.dual, [EDGES, PURPOSES], restart=True)
    assert dv_edges(sides) == fo_edges(sides) and dv_purposes(sides) == fo_purposes(sides)


# ---------------------------------------------------------------- verify (the sides drift apart)
def test_verify_finds_and_repairs_what_dataverse_lost_or_changed(sides: Sides) -> None:
    maps = [UNITS, TYPES, PURPOSES, EDGES]
    assert verify(sides.dual, maps).clean
    sides.dv_exec("UPDATE msdyn_internalorganizationhierarchypurpose SET msdyn_isdefault = NOT msdyn_isdefault "
                  "WHERE msdyn_hierarchytypename = 'Contoso retail'")
    gone = sides.dv_sql("SELECT msdyn_internalorganizationhierarchyid FROM msdyn_internalorganizationhierarchy "
                        "ORDER BY msdyn_childorganizationnumber DESC")[0][0]
    sides.dv_exec("DELETE FROM msdyn_internalorganizationhierarchy WHERE msdyn_internalorganizationhierarchyid = :g",
                  g=gone)
    found = {check.map_name: check.differing for check in verify(sides.dual, maps).maps}
    assert found == {UNITS: 0, TYPES: 0, PURPOSES: 3, EDGES: 1}
    assert verify(sides.dual, maps, repair=True).clean
    assert dv_purposes(sides) == fo_purposes(sides) and dv_edges(sides) == fo_edges(sides)
