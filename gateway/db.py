"""Engines: one pool per database, with the per-connection settings each dialect needs."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, Column, Engine, Integer, create_engine, event
from sqlalchemy.engine import make_url

# Drivers this project installs (see pyproject extras), used when a URL names none.
_DEFAULT_DRIVERS = {"postgresql": "postgresql+psycopg", "mysql": "mysql+pymysql", "mariadb": "mariadb+pymysql"}


def normalize_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername in _DEFAULT_DRIVERS:
        parsed = parsed.set(drivername=_DEFAULT_DRIVERS[parsed.drivername])
    return parsed.render_as_string(hide_password=False)


def remove_sqlite_database(path: Path) -> None:
    """Delete a SQLite file with its write-ahead log and shared-memory index (and a rollback journal):
    a new file of the same name must not meet them, least of all while this process still has the old
    one open (it shares the index by file name)."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def make_engine(url: str) -> Engine:
    url = normalize_url(url)
    # A request may hold two connections (a streaming page and its $expand reads) and a worker serves
    # many requests at once: a pool too small for that closes and reopens connections all the time.
    options: dict[str, Any] = {"pool_pre_ping": True, "pool_size": 20, "max_overflow": 20}
    if url.startswith("sqlite"):
        # A file has no connection to lose: no ping before every checkout.
        options = {"connect_args": {"check_same_thread": False}, "pool_size": 20, "max_overflow": 20}
    if url.startswith(("mysql", "mariadb")):
        options["connect_args"] = {"charset": "utf8mb4"}
    engine = create_engine(url, **options)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_connect)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # OData string matching is case-sensitive; SQLite's LIKE is not unless told so.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA case_sensitive_like = ON")
    # Write-ahead log: readers and the one writer never wait for each other. With the rollback journal a
    # commit waits for every open read and, while it waits, new reads wait for it: a page read on two
    # connections (its rows, then its $expand) and any write (the dual-write worker renews its lease every
    # pass) locked each other until the busy timeout, and the page failed. (A file setting, kept; a no-op
    # for in-memory databases.)
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.close()
    # SQLite's upper()/lower() map ASCII only; these map every letter (one character to one, as the
    # other databases do: 'ß' stays 'ß').
    dbapi_connection.create_function("upper", 1, _case_mapper(str.upper), deterministic=True)
    dbapi_connection.create_function("lower", 1, _case_mapper(str.lower), deterministic=True)
    # Replaces SQLAlchemy's REGEXP, which raises on a pattern Python cannot compile (a pattern read
    # from a column, not checked when planning) and fails the whole query with a database error.
    dbapi_connection.create_function("regexp", 2, _regexp, deterministic=True)


def _regexp(pattern: object, value: object) -> bool | None:
    """`value REGEXP pattern` that never raises: an invalid pattern matches nothing."""
    if not isinstance(pattern, str) or not isinstance(value, str):
        return None
    try:
        return re.search(pattern, value) is not None
    except (re.error, RecursionError, OverflowError):
        return False


def _case_mapper(mapping: Callable[[str], str]) -> Callable[[object], object]:
    def mapped(value: object) -> object:
        if not isinstance(value, str):
            return value
        return "".join(c if len(m := mapping(c)) != 1 else m for c in value)

    return mapped


def sequence_column() -> Column[Any]:
    """SEQ, a log table's numbering: SQLite needs INTEGER PRIMARY KEY for autoincrement; elsewhere a
    BIGINT identity."""
    return Column("SEQ", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True)
