"""The raw baseline: the gateway's own SQL, run through the same driver and written as JSON in a loop.

The SQL is captured, not re-derived: each request kind is sent once to the gateway app in this
process (starlette's TestClient), and every statement the gateway hands to the driver is recorded
with its parameters (SQLAlchemy's before_cursor_execute event). The baseline then replays exactly
those statements on a plain driver connection (`sqlite3`, or `psycopg` on PostgreSQL: the drivers
SQLAlchemy uses), turns each row into a dict keyed by the column labels and serializes the list with
orjson: no OData layer, no HTTP, one thread, in this process. Kinds the gateway cannot serve use
hand-written SQL (Kind.raw_sql).

Export: the first page's statement with its LIMIT lifted, fetched and serialized 10,000 rows at a time
(from a server-side cursor on PostgreSQL).

A database is a SQLite file (a Path) or a PostgreSQL SQLAlchemy URL (a str).
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import orjson

Statement = tuple[str, Any]  # SQL and its parameters: a tuple (SQLite) or a dict (psycopg)
Database = Path | str  # a SQLite file, or a PostgreSQL SQLAlchemy URL
_LIMIT = re.compile(r"LIMIT \?(?P<offset> OFFSET \?)?\s*$")
_PG_LIMIT = re.compile(r"LIMIT %\((?P<name>\w+)\)s")


def _exact(value: Any) -> Any:
    """A Decimal (psycopg's numeric) as its exact JSON number; orjson writes every other type itself."""
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value))
    raise TypeError(type(value).__name__)


def url_of(database: Database) -> str:
    """The SQLAlchemy URL the gateway is given for `database`."""
    return f"sqlite:///{database}" if isinstance(database, Path) else database


@contextmanager
def gateway_app(db_file: Database) -> Iterator[tuple[Any, list[Statement]]]:
    """A TestClient on the gateway app over `db_file`, and the list its statements are captured into."""
    from sqlalchemy import event
    from starlette.testclient import TestClient

    from bench.auth import BENCH_KEY, BENCH_SIGNING_KEY, gateway_auth
    from gateway.app import create_app
    from gateway.settings import Settings

    app = create_app(Settings(db=url_of(db_file), dev_key=str(BENCH_KEY), signing_key=BENCH_SIGNING_KEY))
    captured: list[Statement] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        captured.append((statement, dict(parameters) if isinstance(parameters, dict) else tuple(parameters or ())))

    event.listen(app.state.engine, "before_cursor_execute", capture)
    with TestClient(app, base_url="http://127.0.0.1", headers=gateway_auth()) as client:
        yield client, captured
    app.state.engine.dispose()


def capture(client: Any, captured: list[Statement], path: str, headers: dict[str, str]) -> tuple[int, list[Statement]]:
    from gateway.read import forget_plans

    # A cached plan runs on the driver directly (gateway/direct.py), past the capturing event: the
    # request is planned afresh, so that its statements go through SQLAlchemy once.
    forget_plans()
    captured.clear()
    response = client.get(path, headers=headers)
    return response.status_code, list(captured)


def deep_token(client: Any, first_path: str, headers: dict[str, str], after: tuple[object, ...]) -> str:
    """A $skiptoken resuming after the row whose sort keys are `after`, built the way the gateway does.

    The token's shape (the fingerprint binding it to its query) is read from a real nextLink of the
    same query; the values are those of the row `after`; gateway.plan.paging.encode writes it.
    """
    from bench.auth import BENCH_SIGNING_KEY
    from gateway.plan.paging import SkipToken, encode
    from gateway.protect.signing import key_from_setting, verify

    key = key_from_setting(BENCH_SIGNING_KEY)
    response = client.get(first_path, headers=headers)
    link = response.json()["@odata.nextLink"]
    text = unquote(link.split("$skiptoken=", 1)[1].split("&", 1)[0])
    signed = verify(text, key)
    assert signed is not None, "the in-process gateway signs with the bench key"
    payload = orjson.loads(signed)
    return encode(SkipToken(tuple(after), payload["t"], payload["s"]), key)


def connect(db_file: Database) -> Any:
    if not isinstance(db_file, Path):
        import psycopg

        # Autocommit: each statement on its own, no transaction kept open between them.
        return psycopg.connect(db_file.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
    db = sqlite3.connect(str(db_file), check_same_thread=False)
    db.execute("PRAGMA case_sensitive_like = ON")  # as gateway.db does for every connection
    return db


def serve_once(db: Any, statements: list[Statement]) -> int:
    """One request's worth of work: every statement run, its rows as dicts, serialized. Returns bytes."""
    size = 0
    for sql, params in statements:
        cursor = db.cursor()
        cursor.execute(sql, params)
        names = [column[0] for column in cursor.description]
        size += len(orjson.dumps({"value": [dict(zip(names, row)) for row in cursor.fetchall()]}, default=_exact))
        cursor.close()
    return size


def replay(db_file: Database, statements: list[Statement], duration: float, max_iterations: int = 100_000) -> list[float]:
    """Latencies (ms, sorted) of serving the statements again and again for `duration` seconds."""
    db = connect(db_file)
    try:
        serve_once(db, statements)  # warm the page cache and the statement cache
        latencies = []
        stop = time.perf_counter() + duration
        while time.perf_counter() < stop and len(latencies) < max_iterations:
            began = time.perf_counter()
            serve_once(db, statements)
            latencies.append((time.perf_counter() - began) * 1000)
    finally:
        db.close()
    return sorted(latencies)


def replay_variants(db_file: Database, variants: list[list[Statement]], duration: float) -> list[float]:
    """As `replay`, rotating through the statements of each variant of a kind."""
    db = connect(db_file)
    try:
        for statements in variants:
            serve_once(db, statements)
        latencies = []
        stop = time.perf_counter() + duration
        index = 0
        while time.perf_counter() < stop:
            statements = variants[index % len(variants)]
            index += 1
            began = time.perf_counter()
            serve_once(db, statements)
            latencies.append((time.perf_counter() - began) * 1000)
    finally:
        db.close()
    return sorted(latencies)


def export_statement(statements: list[Statement]) -> Statement:
    """The page statement of an export request with its LIMIT lifted (-1: no limit on SQLite, NULL on
    PostgreSQL)."""
    for sql, params in statements:
        if isinstance(params, dict):
            found = _PG_LIMIT.search(sql)
            if found is not None:
                return sql, {**params, found.group("name"): None}
            continue
        match = _LIMIT.search(sql)
        if match is None:
            continue
        values = list(params)
        values[-2 if match.group("offset") else -1] = -1
        return sql, tuple(values)
    raise ValueError("no paged statement among the captured ones")


def replay_export(db_file: Database, statement: Statement, batch: int = 10_000) -> tuple[int, float]:
    """(rows, seconds) for reading the whole result and serializing it `batch` rows at a time."""
    db = connect(db_file)
    try:
        began = time.perf_counter()
        if isinstance(db_file, Path):
            cursor = db.cursor()
        else:  # a server-side cursor, as the gateway streams a large page (autocommit off for it)
            db.autocommit = False
            cursor = db.cursor(name="export")
        cursor.execute(*statement)
        names = [column[0] for column in cursor.description]
        rows = 0
        while chunk := cursor.fetchmany(batch):
            orjson.dumps({"value": [dict(zip(names, row)) for row in chunk]}, default=_exact)
            rows += len(chunk)
        return rows, time.perf_counter() - began
    finally:
        db.close()
