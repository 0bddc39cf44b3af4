"""Demo rows of the organization hierarchy: operating units, hierarchy types with their purposes, and
the date-effective relationships that arrange the units into hierarchies three and four levels deep.

Written after every other demo table (generate.py calls `write_organizations` last), so the rows of
the other tables stay exactly as they were. Its own Random (from the demo's) makes its choices; the
scale adds teams under each department, so a bigger demo has a bushier tree, never a different top.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.demo import schema

# Stored values of the enums (entities/fno/service.yaml).
DEPARTMENT, COST_CENTER, VALUE_STREAM, BUSINESS_UNIT = 1, 2, 3, 4
ORGANIZATION_CHART, PROCUREMENT, EXPENDITURE, SIGNING_LIMITS, CENTRALIZED_PAYMENTS, SECURITY, BUDGET_PLANNING = (
    1, 2, 3, 4, 5, 6, 7)
RETAIL_ASSORTMENT, RETAIL_REPORTING = 8, 9

VALID_FROM = datetime(2018, 1, 1)
NEVER = datetime(2154, 12, 31, 23, 59, 59)  # F&O's "no end" for date-effective rows
MOVED_AT = datetime(2023, 7, 1)  # when the reorganization moved some teams to another department

# (name, description, purposes as (purpose, default?))
HIERARCHY_TYPES = (
    ("Contoso organization chart", "Reporting lines: holding, regions, departments, teams",
     ((ORGANIZATION_CHART, True), (SECURITY, True), (SIGNING_LIMITS, True))),
    ("Contoso cost accounting", "Cost pools and the cost centers that book to them",
     ((EXPENDITURE, True), (BUDGET_PLANNING, True), (PROCUREMENT, True))),
    ("Contoso retail", "Retail channels by value stream and region",
     ((RETAIL_ASSORTMENT, True), (RETAIL_REPORTING, True), (CENTRALIZED_PAYMENTS, False))),
)
REGIONS = (("North America", "NA", "en-us"), ("Europe", "EU", "de"))
DEPARTMENTS = ("Sales", "Finance", "Human Resources", "Operations")
TEAMS = ("Planning", "Analytics", "Field", "Support", "Projects", "Compliance")
COST_POOLS = ("Administration", "Production", "Distribution")
STREAMS = ("Stores", "Online", "Wholesale")

Insert = Callable[..., int]


@dataclass(frozen=True)
class _Tree:
    hierarchy: int  # the OMHIERARCHYTYPE row the edges belong to


class _Writer:
    def __init__(self, insert: Insert) -> None:
        self._insert = insert
        self._numbers = 0

    def unit(self, name: str, unit_type: int, alias: str, language: str = "en-us") -> int:
        self._numbers += 1
        return self._insert(schema.OMOPERATINGUNIT, OPERATINGUNITNUMBER=f"{self._numbers:06d}", NAME=name,
                            NAMEALIAS=alias[:20], OPERATINGUNITTYPE=unit_type, LANGUAGEID=language)

    def edge(self, tree: _Tree, child: int, parent: int | None, valid_from: datetime = VALID_FROM,
             valid_to: datetime = NEVER) -> None:
        self._insert(schema.OMHIERARCHYRELATIONSHIP, HIERARCHYTYPE=tree.hierarchy, CHILDORGANIZATION=child,
                     PARENTORGANIZATION=parent, VALIDFROM=valid_from, VALIDTO=valid_to)


def teams_per_department(scale: float) -> int:
    """1 team a department at the tests' 0.05, 2 at scale 1, 4 at scale 100: a slowly bushier tree."""
    return max(1, min(len(TEAMS), round(1 + math.log10(max(scale, 0.01) * 10))))


def write_organizations(insert: Insert, rng: random.Random, scale: float) -> None:
    """Queue every row through `insert(table, **columns)` (which gives each a RECID and returns it)."""
    own = random.Random(rng.random())
    writer = _Writer(insert)
    trees = []
    for name, description, purposes in HIERARCHY_TYPES:
        hierarchy = insert(schema.OMHIERARCHYTYPE, NAME=name, DESCRIPTION=description)
        for purpose, default in purposes:
            insert(schema.OMHIERARCHYPURPOSE, HIERARCHYTYPE=hierarchy, HIERARCHYPURPOSE=purpose, ISDEFAULT=int(default))
        trees.append(_Tree(hierarchy))
    chart, costs, retail = trees
    _organization_chart(writer, chart, own, teams_per_department(scale))
    _cost_accounting(writer, costs)
    _retail(writer, retail)


def _organization_chart(writer: _Writer, tree: _Tree, rng: random.Random, teams: int) -> None:
    """Holding → regions → departments → teams (four levels); a third of the teams were moved to
    another department of their region in 2023, their old edge kept with its VALIDTO."""
    holding = writer.unit("Contoso Holding", BUSINESS_UNIT, "Holding")
    writer.edge(tree, holding, None)
    for region, code, language in REGIONS:
        region_unit = writer.unit(f"Contoso {region}", BUSINESS_UNIT, code, language)
        writer.edge(tree, region_unit, holding)
        departments = []
        for department in DEPARTMENTS:
            unit = writer.unit(f"{department} {code}", DEPARTMENT, f"{code}-{department}", language)
            writer.edge(tree, unit, region_unit)
            departments.append(unit)
        for index, department_unit in enumerate(departments):
            for team in rng.sample(TEAMS, teams):
                unit = writer.unit(f"{team} {DEPARTMENTS[index]} {code}", DEPARTMENT, f"{code}-{team}", language)
                if rng.random() < 1 / 3:
                    elsewhere = departments[(index + 1 + rng.randrange(len(departments) - 1)) % len(departments)]
                    writer.edge(tree, unit, department_unit, VALID_FROM, MOVED_AT - timedelta(seconds=1))
                    writer.edge(tree, unit, elsewhere, MOVED_AT)
                else:
                    writer.edge(tree, unit, department_unit)


def _cost_accounting(writer: _Writer, tree: _Tree) -> None:
    """All cost centers → cost pools → a cost center per region (three levels)."""
    root = writer.unit("All cost centers", COST_CENTER, "CC-ALL")
    writer.edge(tree, root, None)
    for pool in COST_POOLS:
        pool_unit = writer.unit(f"{pool} costs", COST_CENTER, f"CC-{pool}")
        writer.edge(tree, pool_unit, root)
        for region, code, language in REGIONS:
            unit = writer.unit(f"{pool} {region}", COST_CENTER, f"CC-{pool}-{code}", language)
            writer.edge(tree, unit, pool_unit)


def _retail(writer: _Writer, tree: _Tree) -> None:
    """Retail business unit → value streams → a stream per region (three levels); the wholesale stream
    left the retail hierarchy at the end of 2022 (every edge of its subtree expired then)."""
    root = writer.unit("Contoso Retail", BUSINESS_UNIT, "Retail")
    writer.edge(tree, root, None)
    ended = datetime(2022, 12, 31, 23, 59, 59)
    for stream in STREAMS:
        valid_to = ended if stream == "Wholesale" else NEVER
        stream_unit = writer.unit(f"{stream} channel", VALUE_STREAM, stream)
        writer.edge(tree, stream_unit, root, valid_to=valid_to)
        for region, code, language in REGIONS:
            unit = writer.unit(f"{stream} {region}", VALUE_STREAM, f"{stream}-{code}", language)
            writer.edge(tree, unit, stream_unit, valid_to=valid_to)
