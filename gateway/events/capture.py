"""Change capture for events: triggers that append the changed entity's record to EVENTCHANGES in the
writer's own transaction, for changes made through the gateway and by any other application (plain
SQL). An event exists only if that transaction commits.

For each activated entity and each of its tables, a trigger runs the entity's own join (the planner's
EntityScope) with the changed table replaced by the trigger's NEW or OLD row, and stores the result as
JSON: the record as that transaction sees it (Target), and before the change (PreImage). Inserts and
deletes of the entity's first table create and delete records; updates of any of its tables update
them (a renamed party updates the customer that shows the name).

SQLite and MariaDB run the statement in the trigger itself; PostgreSQL in a trigger function. A change's
transaction is known on PostgreSQL (txid_current); elsewhere for the gateway's own transactions (the
EVENTCONTEXT token), so there changes made by other applications' SQL are not merged per transaction.

Triggers are named `fnoev_<digest>_<op>`: the digest covers what the trigger does, so a changed catalog
replaces them, and `reconcile` installs exactly the triggers the activations need (and drops the rest).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce
from typing import Any

from sqlalchemy import Connection, Engine, Text, cast, func, insert, literal, literal_column, select, text
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause, Select, TableClause

from gateway.catalog.model import Catalog, Entity
from gateway.errors import NotImplemented_
from gateway.events.store import changes, context
from gateway.identity.access import SYSTEM
from gateway.plan.dialects import dialect_traits
from gateway.plan.scope import EntityScope, PlanContext

PREFIX = "fnoev_"
CAPTURE_DIALECTS = ("sqlite", "postgresql", "mysql", "mariadb")  # SQLAlchemy calls MariaDB over pymysql "mysql"
_INSTALL_LOCK = 746_230_120  # PostgreSQL: gateway processes starting together install one at a time
_PG_MAX_PAIRS = 50  # json_build_object takes at most 100 arguments


@dataclass(frozen=True)
class Trigger:
    name: str
    entity_set: str
    table: str
    operation: str  # INSERT | UPDATE | DELETE
    statement: str  # the INSERT INTO EVENTCHANGES the trigger runs, for this dialect
    lock: str = ""  # PostgreSQL: the PERFORM that locks the records the change is part of, first


def entity_triggers(catalog: Catalog, entity: Entity, dialect: str) -> list[Trigger]:
    """Every trigger that captures `entity`'s creates, updates and deletes."""
    if dialect not in CAPTURE_DIALECTS:
        raise NotImplemented_(f"events need change capture, available on {' and '.join(CAPTURE_DIALECTS)}, "
                              f"not on {dialect}")
    triggers: list[Trigger] = []
    for index, source in enumerate(entity.sources):
        operations = ("INSERT", "UPDATE", "DELETE") if index == 0 else ("UPDATE",)
        for operation in operations:
            statement, lock = _capture_statement(catalog, entity, source.alias, operation, dialect)
            digest = hashlib.sha1(f"{entity.entity_set}|{source.table}|{statement}|{lock}".encode()).hexdigest()[:16]
            triggers.append(Trigger(f"{PREFIX}{digest}_{operation[0].lower()}", entity.entity_set, source.table,
                                    operation, statement, lock))
    return triggers


def _capture_statement(catalog: Catalog, entity: Entity, alias: str, operation: str,
                       dialect: str) -> tuple[str, str]:
    """The trigger's INSERT INTO EVENTCHANGES, and (PostgreSQL) the PERFORM that first locks its records."""
    entity_op = {"INSERT": "C", "UPDATE": "U", "DELETE": "D"}[operation] if alias == entity.sources[0].alias else "U"
    table_name = entity.source_by_alias[alias].table
    after = _record(catalog, entity, alias, "NEW", dialect).subquery("after_row") if operation != "DELETE" else None
    before = _record(catalog, entity, alias, "OLD", dialect).subquery("before_row") if operation != "INSERT" else None
    from_: FromClause
    if after is not None and before is not None:
        # One record per combination of the entity's rows: a variant released in three companies is three
        # records of one ECORESPRODUCT row. (A change that re-links the tables finds no record before.)
        from_ = after.outerjoin(before, before.c.RIDS == after.c.RIDS)
    else:
        from_ = after if after is not None else before  # type: ignore[assignment]
    driving = after if after is not None else before
    assert driving is not None
    current = select(context.c.TOKEN).limit(1).scalar_subquery()
    txid: ColumnElement[Any] = cast(func.txid_current(), Text()) if dialect == "postgresql" else current
    query = select(
        literal(entity.entity_set), literal(entity_op), literal(table_name), driving.c.RIDS, txid,
        select(context.c.USERID).limit(1).scalar_subquery(),
        after.c.DOC if after is not None else literal(None, Text()),
        before.c.DOC if before is not None else literal(None, Text()),
        literal_column(_NOW[dialect]),
    ).select_from(from_)
    statement = insert(changes).from_select(
        ["ENTITYSET", "OP", "TABLENAME", "RECORDID", "TXID", "USERID", "TARGET", "PREIMAGE", "CREATEDAT"], query)
    compiled = statement.compile(dialect=_DIALECTS[dialect](), compile_kwargs={"literal_binds": True})
    return str(compiled), _record_locks(entity, driving) if dialect == "postgresql" else ""


def _record_locks(entity: Entity, records: FromClause) -> str:
    """PostgreSQL: lock each record the change is part of (its entity and first table's RECID) until
    commit. Two transactions that change one record through different tables (a customer's credit limit,
    its party's name) are not ordered by any row lock; this orders them, so the later one's record includes
    the earlier one's change and capture order is commit order per record. (Writers of other records do
    not wait; SQLite has one writer anyway.)"""
    key = func.hashtextextended(literal(entity.entity_set + ":").concat(func.split_part(records.c.RIDS, ":", 1)), 0)
    locking = select(func.pg_advisory_xact_lock(key)).select_from(records)
    compiled = str(locking.compile(dialect=_DIALECTS["postgresql"](), compile_kwargs={"literal_binds": True}))
    return "PERFORM" + compiled.removeprefix("SELECT")


_DIALECTS: dict[str, Callable[[], Dialect]] = {"sqlite": sqlite.dialect, "postgresql": postgresql.dialect, "mysql": mysql.dialect,
             "mariadb": mysql.dialect}
_NOW = {"sqlite": "strftime('%Y-%m-%d %H:%M:%f', 'now')", "postgresql": "(clock_timestamp() AT TIME ZONE 'utc')",
        "mysql": "UTC_TIMESTAMP(6)", "mariadb": "UTC_TIMESTAMP(6)"}


def _record(catalog: Catalog, entity: Entity, alias: str, row: str, dialect: str) -> Select[Any]:
    """The entity's join with table `alias` replaced by the trigger's `row` (NEW or OLD): the record(s)
    that row is part of, as (RIDS: the RECIDs of the entity's rows it is made of, DOC: the record as JSON)."""
    quote = _quote(dialect)

    def the_row(physical: TableClause) -> FromClause:
        columns = [literal_column(f"{row}.{quote(column.name)}", column.type).label(column.name)
                   for column in physical.columns]
        return select(*columns).subquery(f"{row.lower()}_{alias}")

    plan = PlanContext(catalog, (), dialect_traits(dialect), access=SYSTEM)
    scope = EntityScope(entity, plan, substitutes={alias: the_row})
    primary = entity.sources[0]
    restrictions = [scope.tables[primary.alias].c[name] == value for name, value in primary.where.items()]
    every: list[ColumnElement[Any]] = []
    for source in entity.sources:  # (a composite Guid-service key: its parts joined with '|')
        parts = [cast(scope.tables[source.alias].c[name], Text()) for name in catalog.row_id_columns(entity, source)]
        every.append(reduce(lambda joined, part: joined.concat("|").concat(part), parts[1:], parts[0]))
    rids = every[0]
    for more in every[1:]:
        rids = rids.concat(":").concat(func.coalesce(more, ""))
    document = _json_object(dialect, [(name, scope.column(name)) for name in entity.properties])
    return (select(rids.label("RIDS"), document.label("DOC"))
            .select_from(scope.from_clause()).where(*restrictions))


def _quote(dialect: str) -> Callable[[str], str]:
    quote: Callable[[str], str] = _DIALECTS[dialect]().identifier_preparer.quote
    return quote


def _json_object(dialect: str, pairs: list[tuple[str, ColumnElement[object]]]) -> ColumnElement[object]:
    arguments = [[literal(name), value] for name, value in pairs]
    if dialect != "postgresql":  # SQLite's json_object, MariaDB's JSON_OBJECT
        return func.json_object(*(item for pair in arguments for item in pair))
    chunks = [arguments[start:start + _PG_MAX_PAIRS] for start in range(0, len(arguments), _PG_MAX_PAIRS)]
    objects = [func.jsonb_build_object(*(item for pair in chunk for item in pair)) for chunk in chunks]
    combined: ColumnElement[Any] = objects[0]
    for more in objects[1:]:
        combined = combined.op("||")(more)
    return cast(combined, Text())


# ---------------------------------------------------------------------------------------------- DDL
def installed(connection: Connection) -> dict[str, str]:
    """The capture triggers in the database: name -> table."""
    if connection.dialect.name == "postgresql":
        rows = connection.execute(text(
            "SELECT t.tgname, c.relname FROM pg_trigger t JOIN pg_class c ON t.tgrelid = c.oid "
            "WHERE t.tgname LIKE 'fnoev\\_%' AND c.relnamespace = current_schema()::regnamespace"))
    elif connection.dialect.name == "sqlite":
        rows = connection.execute(text(
            "SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'fnoev\\_%' ESCAPE '\\'"))
    else:
        rows = connection.execute(text(
            "SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE FROM information_schema.TRIGGERS "
            "WHERE TRIGGER_SCHEMA = DATABASE() AND TRIGGER_NAME LIKE 'fnoev\\_%'"))
    return {name: table for name, table in rows}


def reconcile(engine: Engine, wanted: list[Trigger]) -> tuple[int, int]:
    """Install the `wanted` triggers that are missing and drop the capture triggers not wanted;
    returns (installed, dropped)."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_INSTALL_LOCK})")
        present = installed(connection)
        by_name = {trigger.name: trigger for trigger in wanted}
        for name, table_name in present.items():
            if name not in by_name:
                for statement in _drop(engine.dialect.name, name, table_name):
                    connection.exec_driver_sql(statement)
        missing = [trigger for name, trigger in by_name.items() if name not in present]
        for trigger in missing:
            for statement in _create(engine.dialect.name, trigger):
                connection.exec_driver_sql(statement)
    return len(missing), len([name for name in present if name not in by_name])


def _create(dialect: str, trigger: Trigger) -> list[str]:
    table_name = _quote(dialect)(trigger.table)
    if dialect == "postgresql":
        return [
            f"CREATE OR REPLACE FUNCTION {trigger.name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n  {trigger.lock};\n  {trigger.statement};\n  RETURN NULL;\nEND $$",
            f"CREATE TRIGGER {trigger.name} AFTER {trigger.operation} ON {table_name} "
            f"FOR EACH ROW EXECUTE FUNCTION {trigger.name}()",
        ]
    if dialect == "sqlite":
        return [f"CREATE TRIGGER {trigger.name} AFTER {trigger.operation} ON {table_name} "
                f"BEGIN {trigger.statement}; END"]
    return [f"CREATE TRIGGER {trigger.name} AFTER {trigger.operation} ON {table_name} FOR EACH ROW {trigger.statement}"]


def _drop(dialect: str, name: str, table_name: str) -> list[str]:
    if dialect == "postgresql":
        return [f'DROP TRIGGER IF EXISTS {name} ON "{table_name}"', f"DROP FUNCTION IF EXISTS {name}()"]
    return [f"DROP TRIGGER IF EXISTS {name}"]
