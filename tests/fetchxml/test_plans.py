"""Every translation the tests accept also binds and plans: the AST is one the planner takes, on every
dialect (compiled, not run: the rows are the planner's own tests' business)."""

from __future__ import annotations

import pytest

from gateway.catalog.model import Catalog
from gateway.fetchxml import translate
from gateway.identity.access import SYSTEM
from gateway.plan.apply import plan_apply
from gateway.plan.dialects import dialect_traits
from gateway.plan.query import OptionTexts, plan_expands, plan_read
from gateway.plan.scope import PlanContext
from tests.fetchxml.cases import CASES
from tests.fetchxml.conftest import TODAY, USER
from tests.plan.test_golden_sql import DIALECTS  # the dialects (and server versions) the golden SQL uses

# SQLAlchemy has no regular expressions for SQL Server (a compile-only target): LIKE patterns that
# become matchesPattern are planned on the three databases the gateway runs on.
PAIRS = [
    pytest.param(case[1], dialect, id=f"{case[0]}-{dialect}")
    for case in CASES
    for dialect in DIALECTS
    if not (dialect == "mssql" and "matchesPattern" in case[3])
]


@pytest.mark.parametrize(("xml", "dialect"), PAIRS)
def test_translation_plans(xml: str, dialect: str, catalog: Catalog) -> None:
    request = translate(xml, catalog, today=TODAY, user_id=USER)
    context = PlanContext(catalog, (), dialect_traits(dialect), {}, access=SYSTEM, user_id=USER)
    entity = catalog.entities[request.entity_set]
    if request.options.apply is not None:
        statement = plan_apply(context, entity, request.options, OptionTexts(), "").statement
    else:
        plan = plan_read(context, entity, request.options, OptionTexts(), (), 100, None)
        statement = plan.statement
        assert len(plan_expands(context, entity, request.options.expand, "")) == len(request.options.expand or ())
    assert str(statement.compile(dialect=DIALECTS[dialect]))
