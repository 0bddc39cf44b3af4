"""The example product catalog (examples/product_catalog) served on each backend: a catalog unlike F&O's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from examples.product_catalog.generate import build_catalog_database
from gateway.app import create_app
from gateway.settings import Settings
from tests.conftest import BACKENDS, TEST_DEV_KEY, Backend, client_for, database_url, repository_root

CATALOG_FOLDER = repository_root() / "examples" / "product_catalog"


@pytest.fixture(scope="session", params=BACKENDS)
def catalog_backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    url = database_url(request.param, "fno_catalog", tmp_path_factory.mktemp("catalog") / "catalog.db")
    build_catalog_database(url)
    engine = create_engine(url)
    yield Backend(request.param, url, engine)
    engine.dispose()


def catalog_app_client(backend: Backend, folder: Path = CATALOG_FOLDER, **settings: object) -> TestClient:
    settings.setdefault("rate_requests", 0)
    settings.setdefault("rate_execution_seconds", 0.0)
    app = create_app(Settings(db=backend.url, entities=str(folder), dev_key=str(TEST_DEV_KEY), **settings))  # type: ignore[arg-type]
    return client_for(app)


@pytest.fixture(scope="session")
def catalog_client(catalog_backend: Backend) -> Iterator[TestClient]:
    with catalog_app_client(catalog_backend) as client:
        yield client
        client.app.state.engine.dispose()  # type: ignore[attr-defined]


def sql_rows(backend: Backend, statement: str, **parameters: object) -> list[tuple[Any, ...]]:
    """Hand-written SQL over the example's tables: the oracle the tests compare the gateway with."""
    with backend.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(statement), parameters)]


