"""Cached read plans run on the driver's own cursor, without SQLAlchemy's per-execution work.

A cached plan's statements never change (their literals are bound into them), so what SQLAlchemy
does on every execution (the compiled-cache lookup by cache key, an execution context, parameter
processing, result metadata, Row objects) gives the same answer each time. The first execution of a
statement goes through SQLAlchemy as usual and records what it handed the driver: the SQL text and
the processed parameters (`before_cursor_execute`), and the result processor of each column for the
driver's column types (`TypeEngine.result_processor`, as SQLAlchemy chooses them). Later executions
take a pooled DBAPI connection and run that text with those parameters; rows are plain tuples with
the same processors applied, so every value is what SQLAlchemy would have returned.

What still happens, as on the SQLAlchemy path: pool checkout and checkin (the request's QueryGuard
registers the connection there, so a client that leaves has its query cancelled), SQLite's statement
deadline, and driver errors become SQLAlchemy `DBAPIError`s (a lost connection is invalidated), so
the error handlers answer exactly as before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine.interfaces import DBAPICursor
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql import Select

from gateway.protect.cancel import statement_starting

Processor = Callable[[Any], Any]
Processors = tuple[tuple[int, Processor], ...]  # (column, processor) where SQLAlchemy has one
STREAM_ROWS = 1000  # rows a server-side cursor buffers (the readers fetch this many at a time)


@dataclass(frozen=True)
class Prepared:
    """One statement as the driver runs it."""

    sql: str
    parameters: Any  # a sequence or a mapping, as the dialect's paramstyle wants
    processors: Processors


def prepare(connection: Connection, statement: Select[Any]) -> tuple[Prepared, Any]:
    """Run `statement` once through SQLAlchemy on `connection`: its Prepared form, and the result of
    this first execution (a CursorResult, to be read as usual)."""
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, sql: str, parameters: Any, _context: Any, _many: bool) -> None:
        sent.append((sql, parameters))

    event.listen(connection, "before_cursor_execute", record)
    try:
        result = connection.execute(statement)
    finally:
        event.remove(connection, "before_cursor_execute", record)
    (sql, parameters), = sent
    dialect = connection.dialect
    description = result.cursor.description if result.cursor is not None else None
    processors: list[tuple[int, Processor]] = []
    for index, column in enumerate(statement.selected_columns):
        driver_type = description[index][1] if description is not None else None
        processor = column.type.dialect_impl(dialect).result_processor(dialect, driver_type)
        if processor is not None:
            processors.append((index, processor))
    return Prepared(sql, parameters, tuple(processors)), result


def processed(rows: Sequence[Sequence[Any]], processors: Processors) -> list[list[Any]]:
    """Driver rows with SQLAlchemy's conversions applied: the values its Result would hold."""
    converted = []
    for row in rows:
        values = list(row)
        for index, processor in processors:
            values[index] = processor(values[index])
        converted.append(values)
    return converted


class RowSource:
    """What a reader fetches rows from: a DirectCursor, or the first, recording execution."""

    def fetchmany(self, size: int) -> Sequence[Sequence[Any]]:
        raise NotImplementedError

    def scalar(self) -> Any:
        rows = self.fetchmany(1)
        return rows[0][0] if rows else None

    def close(self) -> None:
        raise NotImplementedError


class _Recorded(RowSource):
    """The SQLAlchemy result of the execution that prepared a statement, on its own connection.

    Unless it streams from a server-side cursor (SQLAlchemy buffers those), its rows are read from the
    driver's cursor under it, with the recorded processors: the same values without a Row object each.
    An export's every page is a new plan (its $skiptoken differs), so this is its path on every page.
    """

    def __init__(self, connection: Connection, result: Any, prepared: Prepared, through_result: bool) -> None:
        self._connection = connection
        self._result = result
        self._prepared = prepared
        self._through_result = through_result

    def fetchmany(self, size: int) -> Sequence[Sequence[Any]]:
        if self._through_result:
            return self._result.fetchmany(size)  # type: ignore[no-any-return]
        dialect = self._connection.dialect
        try:
            rows = self._result.cursor.fetchmany(size)
        except dialect.loaded_dbapi.Error as error:  # (SQLite runs the query as it is fetched: timeouts land here)
            lost = dialect.is_disconnect(error, self._connection.connection.dbapi_connection, self._result.cursor)
            if lost:
                self._connection.invalidate(error)
            raise sqlalchemy_error(dialect, self._prepared, error, lost) from error
        return processed(rows, self._prepared.processors) if self._prepared.processors else rows

    def close(self) -> None:
        self._result.close()
        if not self._connection.closed:
            self._connection.close()


def run(engine: Engine, prepared: dict[str, Prepared], name: str, statement: Select[Any],
        stream: bool = False) -> RowSource:
    """Rows of `statement`, kept in `prepared` (a cached plan's) under `name`: the first time through
    SQLAlchemy (recording it), then on the driver directly. `stream`: through SQLAlchemy with a
    server-side cursor every time, for result sets too large to hold (never on SQLite: its cursor
    steps lazily anyway, so it always runs directly)."""
    found = prepared.get(name)
    if found is not None and (not stream or engine.dialect.name == "sqlite"):
        return DirectCursor(engine, found)
    connection = engine.connect()
    try:
        if stream:
            connection = connection.execution_options(stream_results=True, max_row_buffer=STREAM_ROWS)
        recorded, result = prepare(connection, statement)
    except BaseException:
        connection.close()
        raise
    prepared.setdefault(name, recorded)  # (threads racing here record the same thing)
    return _Recorded(connection, result, recorded, through_result=stream and engine.dialect.name != "sqlite")


def scalar(engine: Engine, prepared: dict[str, Prepared], name: str, statement: Select[Any]) -> Any:
    """The one value of `statement` (a count), as `run` executes it."""
    source = run(engine, prepared, name, statement)
    try:
        return source.scalar()
    finally:
        source.close()


class DirectCursor(RowSource):
    """A Prepared statement running on a pooled DBAPI connection; rows as processed tuples.

    Only for result sets the driver may hold whole (client-side cursors): SQLite steps its cursor
    lazily, so any size streams; on the server databases only bounded pages come here.
    """

    def __init__(self, engine: Engine, prepared: Prepared) -> None:
        self._engine = engine
        self._prepared = prepared
        self._connection: PoolProxiedConnection | None = engine.raw_connection()
        self._cursor: DBAPICursor | None = None
        self._autocommit = False
        try:
            if engine.dialect.name == "postgresql" and self._connection.dbapi_connection is not None:
                # One SELECT needs no transaction: psycopg would send BEGIN first and the pool a ROLLBACK
                # at checkin, two round trips more than the query's own (the pool's reset then finds
                # nothing to roll back). Restored before the connection goes back.
                self._connection.dbapi_connection.autocommit = True
                self._autocommit = True
            self._cursor = self._connection.cursor()
            statement_starting(self._connection)
            self._cursor.execute(prepared.sql, prepared.parameters)
        except BaseException as error:
            self._fail(error)

    def fetchmany(self, size: int) -> Sequence[Sequence[Any]]:
        assert self._cursor is not None, "fetch after close"
        try:
            rows = self._cursor.fetchmany(size)
        except BaseException as error:
            self._fail(error)
        return processed(rows, self._prepared.processors) if self._prepared.processors else rows

    def close(self) -> None:
        """Give the connection back to the pool (safe to call more than once)."""
        cursor, connection = self._cursor, self._connection
        self._cursor = self._connection = None
        try:
            if cursor is not None:
                cursor.close()
            if self._autocommit and connection is not None and connection.dbapi_connection is not None:
                try:
                    connection.dbapi_connection.autocommit = False
                except Exception:  # noqa: BLE001 - a broken connection: never back to the pool in autocommit
                    connection.invalidate()
        finally:
            if connection is not None:
                connection.close()

    def _fail(self, error: BaseException) -> NoReturn:
        """Close, and raise the driver's error as SQLAlchemy would have (lost connections invalidated)."""
        dialect = self._engine.dialect
        connection, cursor = self._connection, self._cursor
        if not isinstance(error, dialect.loaded_dbapi.Error):
            self.close()
            raise error
        lost = connection is not None and dialect.is_disconnect(error, connection.dbapi_connection, cursor)
        if lost and connection is not None:
            connection.invalidate(error)
        self.close()
        raise sqlalchemy_error(dialect, self._prepared, error, lost) from error


def sqlalchemy_error(dialect: Any, prepared: Prepared, error: BaseException, lost: bool) -> DBAPIError:
    """The driver's `error` as SQLAlchemy raises it (the app's error handlers answer those)."""
    translated = DBAPIError.instance(prepared.sql, prepared.parameters, error,
                                     dialect.loaded_dbapi.Error, connection_invalidated=lost, dialect=dialect)
    return translated  # type: ignore[return-value]
