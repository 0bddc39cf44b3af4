"""One demo database per scale for the checks that must hold "at every scale": built once for the
whole package (each build takes seconds) and shared, read-only, by every module that asks for it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.demo.generate import build_demo_database

SCALES = (0.001, 0.3)  # the smallest the generator allows a meaningful demo at, and a bigger one


@pytest.fixture(scope="package", params=SCALES, ids=[f"scale-{scale}" for scale in SCALES])
def scaled_demo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    path: Path = tmp_path_factory.mktemp("scaled") / "demo.db"
    build_demo_database(f"sqlite:///{path}", scale=request.param, seed=42, progress=False)
    connection = sqlite3.connect(path)
    yield connection
    connection.close()
