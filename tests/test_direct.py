"""Cached statements on the driver's own cursor (gateway/direct.py), on SQLite, PostgreSQL and MariaDB.

The rows are compared with SQLAlchemy's own execution of the same statement (what the direct path
stands in for) and with hand-written SQL over the physical tables; the connection's state after the
statement (back in the pool, no transaction left open, autocommit restored) is read from the driver.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, column, select, table, text
from sqlalchemy.exc import DBAPIError

from gateway import direct
from gateway.db import make_engine
from gateway.direct import DirectCursor, Prepared
from tests.conftest import Backend


@pytest.fixture
def engine(backend: Backend) -> Engine:
    made = make_engine(backend.url)
    yield made  # type: ignore[misc]
    made.dispose()


def _statement() -> object:
    from sqlalchemy import DateTime, String, literal_column

    sales = table("SALESTABLE", column("DATAAREAID", String()), column("SALESID", String()),
                  column("SHIPPINGDATEREQUESTED", DateTime()))
    return (select(sales.c.SALESID, sales.c.SHIPPINGDATEREQUESTED, literal_column("1").label("one"))
            .where(sales.c.DATAAREAID == "usmf").order_by(sales.c.SALESID).limit(5))


def test_the_second_run_is_direct_and_returns_what_sqlalchemy_returns(engine: Engine, backend: Backend) -> None:
    statement = _statement()
    prepared: dict[str, Prepared] = {}
    first = direct.run(engine, prepared, "rows", statement)  # type: ignore[arg-type]
    try:
        through_sqlalchemy = [tuple(row) for row in first.fetchmany(100)]
    finally:
        first.close()
    assert not isinstance(first, DirectCursor) and "rows" in prepared
    second = direct.run(engine, prepared, "rows", statement)  # type: ignore[arg-type]
    try:
        assert isinstance(second, DirectCursor)
        straight = [tuple(row) for row in second.fetchmany(100)]
    finally:
        second.close()
    assert straight == through_sqlalchemy
    # SQLAlchemy's result processors applied: SQLite hands over text, the rows hold dates.
    assert any(row[1] is not None for row in straight)
    assert all(isinstance(row[1], (dt.date, dt.datetime)) for row in straight if row[1] is not None)
    with backend.engine.connect() as oracle:
        expected = oracle.execute(text(
            'SELECT "SALESID" FROM "SALESTABLE" WHERE "DATAAREAID" = \'usmf\' ORDER BY "SALESID"'
            if backend.name != "mariadb" else
            "SELECT SALESID FROM SALESTABLE WHERE DATAAREAID = 'usmf' ORDER BY SALESID")).scalars().all()[:5]
    assert [row[0] for row in straight] == expected
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_a_driver_error_is_sqlalchemys_and_the_connection_goes_back(engine: Engine) -> None:
    broken = Prepared("SELECT nothing FROM no_such_table", (), ())
    if engine.dialect.paramstyle in ("pyformat", "named"):
        broken = Prepared("SELECT nothing FROM no_such_table", {}, ())
    with pytest.raises(DBAPIError) as raised:
        DirectCursor(engine, broken)
    assert raised.value.statement == "SELECT nothing FROM no_such_table"
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    with engine.connect() as connection:  # the pool still serves
        assert connection.execute(text("SELECT 1")).scalar() == 1


def test_postgresql_reads_without_a_transaction_and_restores_autocommit(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("autocommit for direct reads is PostgreSQL's (psycopg would BEGIN first)")
    statement = _statement()
    prepared: dict[str, Prepared] = {}
    direct.run(engine, prepared, "rows", statement).close()  # type: ignore[arg-type]
    cursor = direct.run(engine, prepared, "rows", statement)  # type: ignore[arg-type]
    assert isinstance(cursor, DirectCursor)
    raw = cursor._connection.dbapi_connection  # type: ignore[union-attr]
    assert raw.info.transaction_status.name == "IDLE"  # no BEGIN was sent for the SELECT
    cursor.close()
    assert raw.autocommit is False  # back in the pool as SQLAlchemy expects it
    with engine.connect() as connection:  # and a SQLAlchemy transaction on it still works
        assert connection.execute(text("SELECT 1")).scalar() == 1
        assert connection.connection.dbapi_connection.info.transaction_status.name == "INTRANS"  # type: ignore[union-attr]
