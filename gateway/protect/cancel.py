"""Statement timeouts on every database, and cancelling a request's queries when its client leaves.

- PostgreSQL: `SET statement_timeout` on each new connection; MariaDB/MySQL: `max_statement_time`
  (MariaDB) or `max_execution_time` (MySQL, SELECT only); SQLite: a progress handler that stops a
  statement past its deadline.
- Every connection a request checks out of the pool is registered with the request's QueryGuard
  (a context variable, which starlette's thread pool carries into the threads that run the SQL).
  When the client disconnects, `QueryGuard.cancel()` interrupts whatever those connections run:
  sqlite3 `interrupt()`, psycopg `cancel_safe()`, MariaDB `KILL QUERY` on a second connection.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import DBAPIError

from gateway.errors import ODataError, StatementTimeout

log = logging.getLogger("fno_gateway.protect")
SQLITE_PROGRESS_STEPS = 1_000_000  # virtual-machine steps between deadline checks (~10 ms of work; each check takes the GIL)
_GUARD_KEY = "fno.guard"
_STARTED_KEY = "fno.started"


class QueryGuard:
    """The queries of one request: what to call to interrupt each, and why they stopped."""

    def __init__(self) -> None:
        self.cancelled = False  # the client went away
        self.timed_out = False  # a statement passed its deadline (SQLite; servers say so themselves)
        self._cancellers: dict[int, Callable[[], None]] = {}
        self._lock = threading.Lock()

    def register(self, connection: Any, canceller: Callable[[], None]) -> None:
        with self._lock:
            self._cancellers[id(connection)] = canceller

    def unregister(self, connection: Any) -> None:
        with self._lock:
            self._cancellers.pop(id(connection), None)

    @property
    def active(self) -> int:
        return len(self._cancellers)

    def cancel(self) -> None:
        """Interrupt every query of the request (blocking briefly: call it from a thread)."""
        self.cancelled = True
        with self._lock:
            cancellers = list(self._cancellers.values())
        for canceller in cancellers:
            try:
                canceller()
            except Exception as error:  # noqa: BLE001 - a query that ended meanwhile is not an error
                log.debug("cancel failed: %s", error)


current_guard: contextvars.ContextVar[QueryGuard | None] = contextvars.ContextVar("fno_query_guard", default=None)


def install(engine: Engine, statement_timeout: float) -> None:
    """Statement timeouts on `engine`'s connections, and cancellation of a request's queries."""
    dialect = engine.dialect.name
    timeout_ms = int(statement_timeout * 1000) if statement_timeout > 0 else 0

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, record: Any) -> None:
        if dialect == "sqlite":
            _sqlite_deadline(dbapi_connection, record, statement_timeout)
        elif timeout_ms and dialect == "postgresql":
            with dbapi_connection.cursor() as cursor:
                cursor.execute(f"SET statement_timeout = {timeout_ms}")
            dbapi_connection.commit()
        elif timeout_ms and dialect in ("mysql", "mariadb"):
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT VERSION()")
                version = str(cursor.fetchone()[0])
                if "mariadb" in version.lower():
                    cursor.execute(f"SET SESSION max_statement_time = {timeout_ms / 1000:.3f}")
                else:
                    cursor.execute(f"SET SESSION max_execution_time = {timeout_ms}")

    if dialect == "sqlite":
        @event.listens_for(engine, "before_cursor_execute")
        def started(connection: Any, _cursor: Any, _statement: Any, _parameters: Any, _context: Any,
                    _many: bool) -> None:
            statement_starting(connection.connection)

    @event.listens_for(engine, "checkout")
    def on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        guard = current_guard.get()
        if guard is None:
            return
        record.info[_GUARD_KEY] = guard
        guard.register(dbapi_connection, _canceller(engine, dbapi_connection))

    @event.listens_for(engine, "checkin")
    def on_checkin(dbapi_connection: Any, record: Any) -> None:
        guard = record.info.pop(_GUARD_KEY, None)
        if guard is not None:
            guard.unregister(dbapi_connection)

    engine.dispose()  # connections opened before now get the settings above when they are reopened


def statement_starting(fairy: Any) -> None:
    """A statement starts on this pooled connection now: SQLite's deadline counts from here (the
    SQLAlchemy path calls it from `before_cursor_execute`, gateway/direct.py itself)."""
    fairy.info[_STARTED_KEY] = time.monotonic()


def _sqlite_deadline(dbapi_connection: Any, record: Any, statement_timeout: float) -> None:
    info = record.info

    def progress() -> int:
        guard = current_guard.get()
        if guard is not None and guard.cancelled:
            return 1
        started = info.get(_STARTED_KEY)
        if statement_timeout > 0 and started is not None and time.monotonic() - started > statement_timeout:
            if guard is not None:
                guard.timed_out = True
            return 1
        return 0

    dbapi_connection.set_progress_handler(progress, SQLITE_PROGRESS_STEPS)


def _canceller(engine: Engine, dbapi_connection: Any) -> Callable[[], None]:
    dialect = engine.dialect.name
    if dialect == "sqlite":
        return dbapi_connection.interrupt  # type: ignore[no-any-return]
    if dialect == "postgresql":
        cancel = getattr(dbapi_connection, "cancel_safe", None) or dbapi_connection.cancel
        return cancel  # type: ignore[no-any-return]
    if dialect in ("mysql", "mariadb"):
        thread_id = dbapi_connection.thread_id()

        def kill() -> None:
            arguments, keywords = engine.dialect.create_connect_args(engine.url)
            killer = engine.dialect.loaded_dbapi.connect(*arguments, **keywords)
            try:
                with killer.cursor() as cursor:
                    cursor.execute(f"KILL QUERY {int(thread_id)}")
            finally:
                killer.close()

        return kill
    return lambda: None


_TIMEOUT_WORDS = ("statement timeout", "max_statement_time", "max_execution_time", "maximum statement execution time")


def database_error(error: DBAPIError) -> ODataError | None:
    """The answer to a query that a timeout or a cancellation stopped (None for any other error)."""
    text = str(error.orig if error.orig is not None else error).lower()
    guard = current_guard.get()
    timed_out = (guard is not None and guard.timed_out) or any(word in text for word in _TIMEOUT_WORDS)
    if timed_out:
        return StatementTimeout("the query ran longer than the statement timeout (--statement-timeout) and was "
                                "cancelled; narrow it ($filter on indexed properties, a smaller $top) or try later")
    if guard is not None and guard.cancelled:
        return StatementTimeout("the query was cancelled: the client went away")
    return None
