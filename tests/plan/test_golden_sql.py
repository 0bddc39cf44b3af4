"""Golden SQL: what each query compiles to on SQLite, PostgreSQL, MariaDB/MySQL and SQL Server.

SQL Server is not run in tests; these files show that every feature compiles there, and a change
in any dialect's SQL shows up as a diff to review. Regenerate with FNO_UPDATE_GOLDEN=1 after
checking the new SQL by eye.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy.dialects import mssql, mysql, postgresql, sqlite
from sqlalchemy.engine import Dialect

from gateway.catalog.load import load_catalog
from gateway.identity.access import SYSTEM
from gateway.options import parse_query
from gateway.plan import paging
from gateway.plan.dialects import dialect_traits
from gateway.plan.query import plan_read
from gateway.plan.scope import PlanContext

GOLDEN = Path(__file__).with_name("golden")


def _sql_server_2019() -> Dialect:
    """An unconnected SQL Server dialect, told the server version a connection would have found."""
    dialect = mssql.dialect()
    dialect.server_version_info = (15, 0)
    dialect._setup_version_attributes()  # type: ignore[attr-defined]
    return dialect


def _mysql_8() -> Dialect:
    """An unconnected MySQL dialect told its server version (CAST(... AS DOUBLE) needs 8.0.17 or MariaDB 10.4.5)."""
    dialect = mysql.dialect()
    dialect.server_version_info = (8, 0, 36)
    dialect._support_float_cast = True  # type: ignore[attr-defined]  # what initialize() sets for this version
    return dialect


DIALECTS: dict[str, Dialect] = {
    "sqlite": sqlite.dialect(),
    "postgresql": postgresql.dialect(),
    "mysql": _mysql_8(),
    "mssql": _sql_server_2019(),
}
NS = "Microsoft.Dynamics.DataEntities"
CASES: list[tuple[str, str, dict[str, str]]] = [
    ("key-order", "CustomersV3", {"$select": "CustomerAccount,CreditLimit"}),
    ("filter-logic", "CustomersV3", {"$filter": f"(CreditLimit gt 1000 or OnHoldStatus eq {NS}.CustVendorBlocked'All') and not (CustomerGroupId in ('10','20'))", "$select": "CustomerAccount"}),
    ("filter-strings", "CustomersV3", {"$filter": "contains(OrganizationName,'50%') and startswith(tolower(AddressCity),'s') and OrganizationName ne '*Outlet*'", "$select": "CustomerAccount"}),
    ("filter-null-semantics", "CustomersV3", {"$filter": "AddressCity ne 'Seattle' and AddressState eq null", "$select": "CustomerAccount"}),
    ("filter-functions", "CustomersV3", {"$filter": "indexof(OrganizationName,'a') ge 1 and length(substring(OrganizationName,1,3)) eq 3 and year(CreatedDateTime) eq 2020 and date(CreatedDateTime) lt 2021-01-01", "$select": "CustomerAccount"}),
    ("filter-arithmetic", "CustomersV3", {"$filter": "CreditLimit div 3 gt 10 and length(OrganizationName) div 2 eq 5 and length(OrganizationName) mod 2 eq 0 and round(CreditLimit) ge floor(CreditLimit) and cast(CreditLimit,Edm.Int32) eq 2000", "$select": "CustomerAccount"}),
    ("filter-navigation", "SalesOrderHeadersV2", {"$filter": "Customer/CustomerGroup/Description eq 'Wholesale customers'", "$select": "SalesOrderNumber"}),
    ("filter-lambda", "CustomersV3", {"$filter": "SalesOrders/any(o:o/SalesOrderLines/all(l:l/LineAmount gt 10)) and SalesOrders/$count gt 2", "$select": "CustomerAccount"}),
    ("orderby-nulls", "CustomersV3", {"$orderby": "AddressCity desc,CustomerGroup/Description", "$select": "CustomerAccount", "$top": "20", "$skip": "5"}),
    ("compute", "CustomersV3", {"$compute": "CreditLimit mul 2 as DoubleLimit", "$filter": "DoubleLimit gt 5", "$orderby": "DoubleLimit desc", "$select": "DoubleLimit"}),
    ("search", "CustomersV3", {"$search": "Contoso OR \"Outlet\" NOT West", "$select": "CustomerAccount"}),
    ("count", "SalesOrderLines", {"$filter": "LineAmount gt 100", "$count": "true", "$select": "InventoryLotId"}),
    # A page after a $skiptoken position (the token is made below from the sort-key values).
    ("keyset-deep-page", "SalesOrderLines", {"$select": "InventoryLotId", "$skiptoken": "usmf|LOT-0200000"}),
    ("keyset-mixed-directions", "SalesOrderLines", {"$orderby": "LineAmount desc", "$skiptoken": "100.5|usmf|LOT-1"}),
]


def _compiled(case: str, entity_set: str, params: dict[str, str], dialect_name: str) -> str:
    catalog = load_catalog()
    values = params.pop("$skiptoken", None) if "$skiptoken" in params else None
    params = {name: value for name, value in params.items() if name != "$skiptoken"}
    request = parse_query(urlencode(params))
    context = PlanContext(catalog, ("usmf",), dialect_traits(dialect_name), request.aliases, access=SYSTEM)
    plan = plan_read(context, catalog.entities[entity_set], request.options, request.texts, (), 100, None)
    if values is not None:
        token_values = tuple(Decimal(v) if v[0].isdigit() else v for v in values.split("|"))
        token = paging.encode(paging.SkipToken(token_values, None, plan.shape), context.signing_key)
        plan = plan_read(context, catalog.entities[entity_set], request.options, request.texts, (), 100, token)
    parts = []
    for label, statement in (("page", plan.statement), ("count", plan.count_statement)):
        if statement is None:
            continue
        compiled = statement.compile(dialect=DIALECTS[dialect_name])
        parts.append(f"-- {label}\n{compiled}\n-- parameters: {sorted(compiled.params.items())!r}\n")
    return f"-- {case}: {entity_set}?{urlencode(params)}\n" + "\n".join(parts)


@pytest.mark.parametrize("dialect_name", list(DIALECTS))
@pytest.mark.parametrize(("case", "entity_set", "params"), CASES, ids=[case[0] for case in CASES])
def test_golden_sql(case: str, entity_set: str, params: dict[str, str], dialect_name: str) -> None:
    sql = _compiled(case, entity_set, dict(params), dialect_name)
    path = GOLDEN / f"{case}.{dialect_name}.sql"
    if os.environ.get("FNO_UPDATE_GOLDEN"):
        path.write_text(sql, encoding="utf-8")
    assert path.exists(), f"no golden file {path.name}: run with FNO_UPDATE_GOLDEN=1 and review it"
    assert sql == path.read_text(encoding="utf-8")


def test_values_are_parameters_not_sql(dialect_name: str = "mssql") -> None:
    sql = _compiled("sentinel", "CustomersV3", {"$filter": "OrganizationName eq 'ZZ''SENTINEL'"}, dialect_name)
    statement_text = sql.split("\n", 1)[1].split("-- parameters")[0]
    assert "SENTINEL" not in statement_text
    assert "ZZ'SENTINEL" in sql
