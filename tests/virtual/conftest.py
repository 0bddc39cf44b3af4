"""Virtual-table fixtures: the suite's F&O demo database on each backend, a Dataverse-side store beside
it, and a gateway serving every F&O entity as a virtual table at /api/data/v9.2.

Checks compute what the virtual tables must answer from the F&O physical tables with hand-written
SQL (`fo_sql`) and the contract of DOMAIN.md §5 (`expected_guid`), never from the gateway's output.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from starlette.testclient import TestClient

from gateway.demo import schema as demo_schema
from tests.conftest import Backend, bearer, create_server_database, make_client

API = "/api/data/v9.2"
# Every table and column name of the F&O demo schema (the names SQL must quote on PostgreSQL).
_PHYSICAL = {name for table in demo_schema.metadata.tables.values() for name in (table.name, *table.c.keys())}
_PHYSICAL_NAME = re.compile(r"(?<![\w\"'.:])[A-Z][A-Z0-9_]*(?![\w\"'])|(?<=\.)[A-Z][A-Z0-9_]*(?![\w\"'])")
AVAILABLE = f"{API}/mserp_financeandoperationsentities"


def expected_guid(physical_name: str, recid: int) -> str:
    """DOMAIN.md §5: the entity's id in the first 4 bytes, the root table's RECID in the last 8."""
    number = int.from_bytes(hashlib.sha256(physical_name.encode()).digest()[:4], "big") or 1
    return str(uuid.UUID(bytes=number.to_bytes(4, "big") + bytes(4) + recid.to_bytes(8, "big")))


@dataclass
class Virtual:
    name: str  # the backend
    fo: Engine  # the F&O database, for the oracle's SQL
    dv: Engine  # the Dataverse-side store
    client: TestClient  # as the administrator

    def fo_sql(self, statement: str, **parameters: Any) -> list[Any]:
        """Hand-written SQL over the F&O tables, names written bare (CUSTTABLE, RECID): on PostgreSQL,
        where the upper-case names were created quoted, they are quoted here."""
        if self.name == "postgresql":
            statement = _PHYSICAL_NAME.sub(lambda m: f'"{m.group(0)}"' if m.group(0) in _PHYSICAL else m.group(0),
                                           statement)
        with self.fo.connect() as connection:
            return list(connection.execute(text(statement), parameters))

    def dv_sql(self, statement: str, **parameters: Any) -> list[Any]:
        with self.dv.connect() as connection:
            return list(connection.execute(text(statement), parameters))

    def get(self, path: str, headers: dict[str, str] | None = None, **params: Any) -> Any:
        """A GET that must succeed: the JSON body."""
        response = self.client.get(path, params=params or None, headers=headers)
        assert response.status_code == 200, f"{path}: {response.status_code} {response.text[:500]}"
        return response.json()

    def all_pages(self, path: str, headers: dict[str, str] | None = None, **params: Any) -> list[dict[str, Any]]:
        """Every row of a collection, following @odata.nextLink."""
        body = self.get(path, headers, **params)
        rows = list(body["value"])
        while "@odata.nextLink" in body:
            body = self.get(body["@odata.nextLink"], headers)
            rows.extend(body["value"])
        return rows

    def set_visible(self, physical_name: str, visible: bool) -> None:
        response = self.client.patch(f"{AVAILABLE}(mserp_physicalname='{physical_name}')",
                                     json={"mserp_isvisible": visible})
        assert response.status_code == 204, response.text


def dataverse_store(backend: Backend, tmp: Any, name: str) -> str:
    if backend.name == "sqlite":
        return f"sqlite:///{tmp / (name + '.db')}"
    url = create_server_database(backend.name, name)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:  # start from an empty store
        if backend.name == "postgresql":
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        else:
            for (table,) in connection.execute(text("SHOW TABLES")):
                connection.execute(text(f"DROP TABLE `{table}`"))
    engine.dispose()
    return url


def open_virtual(backend: Backend, tmp: Any, store: str, **settings: Any) -> Virtual:
    """A gateway over `backend`'s F&O database with a fresh Dataverse store and every virtual table visible."""
    dv_url = dataverse_store(backend, tmp, store)
    client = make_client(backend, dataverse_db=dv_url, dualwrite_maps="none", **settings)
    virtual = Virtual(backend.name, backend.engine, create_engine(dv_url), client)
    names = [row["mserp_physicalname"] for row in virtual.get(AVAILABLE, **{"$select": "mserp_physicalname"})["value"]]
    for name in names:
        virtual.set_visible(name, True)
    return virtual


@pytest.fixture(scope="session")
def virtual(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Virtual]:
    """Read-only use: the session's shared F&O database must not change under other tests."""
    opened = open_virtual(backend, tmp_path_factory.mktemp("virtual"), "fno_vt_dv")
    yield opened
    close_virtual(opened)


def close_virtual(virtual: Virtual) -> None:
    virtual.client.close()
    for service in virtual.client.app.state.services.values():  # type: ignore[attr-defined]
        service.engine.dispose()
    virtual.dv.dispose()


ADMIN = bearer()
