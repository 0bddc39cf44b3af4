"""Every setting in one table of (name, default, help): it feeds `fno-gateway serve --help` and the README."""

from __future__ import annotations

from dataclasses import dataclass, fields

from gateway.catalog.load import DEFAULT_CATALOG

DEFAULT_DEMO_DB = "sqlite:///fno-demo.db"


@dataclass(frozen=True)
class Settings:
    db: str = DEFAULT_DEMO_DB
    entities: str = str(DEFAULT_CATALOG)
    host: str = "127.0.0.1"
    port: int = 8000
    max_page_size: int = 10000
    default_company: str = "usmf"
    companies: str = ""
    workers: int = 1
    require_if_match: bool = False
    max_batch_operations: int = 5000


HELP = {
    "db": "SQLAlchemy URL of the F&O database (sqlite:///file.db, postgresql+psycopg://..., mysql+pymysql://...)",
    "entities": "catalog folder: service.yaml and entities/*.yaml",
    "host": "address to listen on",
    "port": "port to listen on",
    "max_page_size": "most rows in one page before @odata.nextLink (Prefer: odata.maxpagesize may lower it)",
    "default_company": "the caller's current company when a request does not choose one",
    "companies": "comma-separated companies the development principal may see (empty: every company in the database)",
    "workers": "uvicorn worker processes",
    "require_if_match": "refuse PATCH, PUT and DELETE without an If-Match header (428)",
    "max_batch_operations": "most requests one $batch may hold (413 beyond)",
}


def setting_names() -> list[str]:
    return [field.name for field in fields(Settings)]
