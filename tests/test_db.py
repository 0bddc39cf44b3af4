"""gateway/db.py: SQLite files run in write-ahead-log mode, and are removed with their companions."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import text

from gateway.db import make_engine, remove_sqlite_database


def test_sqlite_files_use_the_write_ahead_log(tmp_path: Path) -> None:
    path = tmp_path / "wal.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (a INTEGER)"))
            connection.execute(text("INSERT INTO t VALUES (1)"))
        raw = sqlite3.connect(str(path))  # read independently of the gateway's connection settings
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # a file setting, kept
        with engine.connect() as writer:
            writer.execute(text("BEGIN IMMEDIATE"))  # the write lock, held
            writer.execute(text("INSERT INTO t VALUES (2)"))
            assert raw.execute("SELECT count(*) FROM t").fetchone()[0] == 1  # the last committed state
            writer.execute(text("ROLLBACK"))
        raw.close()
    finally:
        engine.dispose()


def test_remove_sqlite_database_takes_its_log_and_index_along(tmp_path: Path) -> None:
    path = tmp_path / "gone.db"
    engine = make_engine(f"sqlite:///{path}")
    connection = engine.connect()
    connection.execute(text("CREATE TABLE t (a INTEGER)"))
    connection.commit()
    companions = [Path(f"{path}{suffix}") for suffix in ("-wal", "-shm")]
    assert path.exists() and all(companion.exists() for companion in companions)
    connection.close()
    engine.dispose()
    Path(f"{path}-journal").write_bytes(b"")  # a leftover rollback journal goes too
    remove_sqlite_database(path)
    assert [p.name for p in tmp_path.iterdir()] == []
    remove_sqlite_database(path)  # nothing there: no error
