"""Demo data of the organization hierarchy (issue 13), checked with SQL at a tiny, the tests' and a
larger scale: every table has rows, every reference resolves, each hierarchy is one tree per moment
(one root, no unit twice, no cycle), and the scale adds teams without changing the top."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.demo.generate import build_demo_database
from gateway.demo.organizations import DEPARTMENTS, REGIONS, teams_per_department

TABLES = ("OMOPERATINGUNIT", "OMHIERARCHYTYPE", "OMHIERARCHYPURPOSE", "OMHIERARCHYRELATIONSHIP")
SCALES = (0.001, 0.05, 3.0)
MOMENTS = ("2020-01-01 00:00:00", "2023-06-30 12:00:00", "2024-01-01 00:00:00")  # before, at and after the moves


@pytest.fixture(scope="module", params=SCALES, ids=[f"scale-{scale}" for scale in SCALES])
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    path: Path = tmp_path_factory.mktemp("organizations") / "demo.db"
    build_demo_database(f"sqlite:///{path}", scale=request.param, seed=42, progress=False)
    connection = sqlite3.connect(path)
    connection.execute("CREATE TEMP TABLE scale (value REAL)")
    connection.execute("INSERT INTO scale VALUES (?)", (request.param,))
    yield connection
    connection.close()


def one(db: sqlite3.Connection, query: str, *parameters: object) -> int:
    return int(db.execute(query, parameters).fetchone()[0])


@pytest.mark.parametrize("table", TABLES)
def test_every_table_has_rows(db: sqlite3.Connection, table: str) -> None:
    assert one(db, f'SELECT count(*) FROM "{table}"') > 0


@pytest.mark.parametrize("query", [
    'SELECT count(*) FROM "OMHIERARCHYPURPOSE" p LEFT JOIN "OMHIERARCHYTYPE" h ON h."RECID" = p."HIERARCHYTYPE" '
    'WHERE h."RECID" IS NULL',
    'SELECT count(*) FROM "OMHIERARCHYRELATIONSHIP" r LEFT JOIN "OMHIERARCHYTYPE" h ON h."RECID" = r."HIERARCHYTYPE" '
    'WHERE h."RECID" IS NULL',
    'SELECT count(*) FROM "OMHIERARCHYRELATIONSHIP" r LEFT JOIN "OMOPERATINGUNIT" u ON u."RECID" = r."CHILDORGANIZATION" '
    'WHERE u."RECID" IS NULL',
    'SELECT count(*) FROM "OMHIERARCHYRELATIONSHIP" r LEFT JOIN "OMOPERATINGUNIT" u ON u."RECID" = r."PARENTORGANIZATION" '
    'WHERE r."PARENTORGANIZATION" IS NOT NULL AND u."RECID" IS NULL',
    'SELECT count(*) FROM "OMHIERARCHYRELATIONSHIP" WHERE "VALIDFROM" >= "VALIDTO"',
    # one default hierarchy per purpose, and every unit is placed somewhere
    'SELECT count(*) FROM (SELECT "HIERARCHYPURPOSE" FROM "OMHIERARCHYPURPOSE" WHERE "ISDEFAULT" = 1 '
    'GROUP BY "HIERARCHYPURPOSE" HAVING count(*) > 1)',
    'SELECT count(*) FROM "OMOPERATINGUNIT" u WHERE NOT EXISTS '
    '(SELECT 1 FROM "OMHIERARCHYRELATIONSHIP" r WHERE r."CHILDORGANIZATION" = u."RECID")',
], ids=["purpose-type", "edge-type", "edge-child", "edge-parent", "validity", "one-default", "every-unit-placed"])
def test_references_resolve(db: sqlite3.Connection, query: str) -> None:
    assert one(db, query) == 0


@pytest.mark.parametrize("moment", MOMENTS)
def test_each_hierarchy_is_one_tree_at_any_moment(db: sqlite3.Connection, moment: str) -> None:
    for (hierarchy,) in db.execute('SELECT "RECID" FROM "OMHIERARCHYTYPE"').fetchall():
        edges = db.execute('SELECT "CHILDORGANIZATION", "PARENTORGANIZATION" FROM "OMHIERARCHYRELATIONSHIP" '
                           'WHERE "HIERARCHYTYPE" = ? AND "VALIDFROM" <= ? AND "VALIDTO" > ?',
                           (hierarchy, moment, moment)).fetchall()
        children = [child for child, _ in edges]
        assert len(children) == len(set(children)), "a unit has two parents at once"
        parent_of = dict(edges)
        assert sum(parent is None for parent in parent_of.values()) == 1
        for child in parent_of:  # walking up ends at the root within as many steps as there are units
            steps, node = 0, child
            while parent_of.get(node) is not None:
                node, steps = parent_of[node], steps + 1
                assert steps <= len(parent_of)
            assert parent_of.get(node, None) is None


def test_depths_expired_edges_and_scale(db: sqlite3.Connection) -> None:
    scale = float(db.execute("SELECT value FROM scale").fetchone()[0])
    departments = len(REGIONS) * len(DEPARTMENTS)
    teams = one(db, "SELECT count(*) FROM \"OMOPERATINGUNIT\" WHERE \"OPERATINGUNITTYPE\" = 1") - departments
    assert teams == departments * teams_per_department(scale)
    # a chain of four in the organization chart: team → department → region → holding
    assert one(db, 'SELECT count(*) FROM "OMHIERARCHYRELATIONSHIP" a JOIN "OMHIERARCHYRELATIONSHIP" b '
                   'ON b."CHILDORGANIZATION" = a."PARENTORGANIZATION" AND b."HIERARCHYTYPE" = a."HIERARCHYTYPE" '
                   'JOIN "OMHIERARCHYRELATIONSHIP" c ON c."CHILDORGANIZATION" = b."PARENTORGANIZATION" '
                   'AND c."HIERARCHYTYPE" = b."HIERARCHYTYPE" WHERE c."PARENTORGANIZATION" IS NOT NULL') > 0
    assert one(db, 'SELECT count(*) FROM "OMHIERARCHYRELATIONSHIP" WHERE "VALIDTO" < \'2100-01-01\'') > 0
    assert 30 <= one(db, 'SELECT count(*) FROM "OMOPERATINGUNIT"') <= 100


def test_teams_grow_slowly_with_scale() -> None:
    assert [teams_per_department(scale) for scale in (0.001, 0.05, 1, 100)] == [1, 1, 2, 4]
