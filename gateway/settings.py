"""Every setting in one table of (name, default, help): it feeds `fno-gateway serve --help` and the README."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from gateway.catalog.load import DEFAULT_CATALOG
from gateway.identity.config import DEFAULT_SECURITY

DEFAULT_DEMO_DB = "sqlite:///fno-demo.db"
DEFAULT_DATAVERSE_CATALOG = DEFAULT_CATALOG.parent / "dataverse"
DEFAULT_MAPS = DEFAULT_CATALOG.parent / "dualwrite"
DEFAULT_EVENTS = DEFAULT_CATALOG.parent / "events"
# Requests a worker serves at once: twice the CPU cores. More CPU-bound requests only slow each other
# (bench/protection.py: 4 slots on 2 cores keep cheap lookups within 1.5x of idle under a storm; 8: 7x).
DEFAULT_CONCURRENCY = 2 * (os.cpu_count() or 2)


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
    dataverse_db: str = ""
    dataverse_entities: str = str(DEFAULT_DATAVERSE_CATALOG)
    dualwrite_maps: str = str(DEFAULT_MAPS)
    live_sync_rows: int = 1000
    live_sync_seconds: float = 120.0
    dualwrite_worker: bool = False
    events: str = str(DEFAULT_EVENTS)
    events_worker: bool = False
    events_budget_5_minutes: int = 5000
    events_budget_hour: int = 50000
    events_first_retry: float = 1.0
    events_longest_wait: float = 60.0
    events_retry_window: float = 86400.0
    demo_receiver: bool = False
    security: str = str(DEFAULT_SECURITY)
    anonymous_role: str = ""
    auth_jwks: str = ""
    auth_issuer: str = "https://fno-gateway.local/dev"
    auth_audience: str = "fno-gateway"
    auth_clock_skew: float = 60.0
    auth_authorization_uri: str = "https://login.microsoftonline.com/common/oauth2/authorize"
    dev_key: str = "~/.fno-gateway/dev-key.pem"  # outside any checkout: never committed by accident
    cors_origins: str = ""
    trusted_proxies: str = ""
    max_expression_nodes: int = 10000
    max_expression_depth: int = 32
    signing_key: str = ""
    # Service protection (gateway/protect/): per principal as F&O and Dataverse document it, per worker.
    rate_window_seconds: float = 300.0
    rate_requests: int = 6000
    rate_execution_seconds: float = 1200.0
    principal_concurrency: int = 52
    concurrency_limit: int = DEFAULT_CONCURRENCY
    queue_limit: int = 64
    queue_wait_seconds: float = 10.0
    principal_share: float = 0.5
    max_url_length: int = 8192
    max_top: int = 100000
    max_expand_depth: int = 4
    max_expanded_rows: int = 100000
    statement_timeout: float = 30.0


HELP = {
    "db": "SQLAlchemy URL of the F&O database (sqlite:///file.db, postgresql+psycopg://..., mysql+pymysql://...)",
    "entities": "catalog folder: service.yaml and entities/*.yaml",
    "host": "address to listen on",
    "port": "port to listen on",
    "max_page_size": "most rows in one page before @odata.nextLink (Prefer: odata.maxpagesize may lower it)",
    "default_company": "the caller's current company when a request does not choose one",
    "companies": "comma-separated companies the gateway serves: what a role granted in every company ('*') may see "
    "(empty: every company in the database)",
    "workers": "uvicorn worker processes",
    "require_if_match": "refuse PATCH, PUT and DELETE without an If-Match header (428)",
    "max_batch_operations": "most requests one $batch may hold (413 beyond)",
    "dataverse_db": "SQLAlchemy URL of the Dataverse-side store served at /api/data/v9.2 "
    "(empty: a SQLite file beside a SQLite --db, e.g. fno-demo-dataverse.db; 'none': no Dataverse side)",
    "dataverse_entities": "catalog folder of the Dataverse-side tables",
    "dualwrite_maps": "folder of dual-write table maps ('none': serve both sides without syncing them)",
    "live_sync_rows": "most rows one live-synchronized transaction may carry (beyond: refused, or an integration job)",
    "live_sync_seconds": "longest a live-synchronized transaction may run before it is refused",
    "dualwrite_worker": "also run the dual-write worker in the server (change capture, queues, jobs, recovery); "
    "otherwise run `fno-gateway dualwrite run` beside it",
    "events": "folder of business event definitions (entities/events; 'none': no business events or data events)",
    "events_worker": "also run the events worker in the server (frames captured changes, delivers to endpoints); "
    "otherwise run `fno-gateway events worker` beside it",
    "events_budget_5_minutes": "data events delivered per 5 minutes at most (F&O's budget); beyond, they wait queued",
    "events_budget_hour": "data events delivered per hour at most (F&O's budget); beyond, they wait queued",
    "events_first_retry": "seconds before an event that failed is sent again (doubled after each failure)",
    "events_longest_wait": "most seconds between two attempts to send a failing event",
    "events_retry_window": "seconds a failing event is retried before it goes to the error log (resend it from there)",
    "demo_receiver": "serve a webhook receiver at /receiver/events that shows what it got (what `demo` delivers to)",
    "security": "folder of security files: roles, users, applications, API key hashes (entities/security)",
    "anonymous_role": "role of callers without credentials (empty: the security files' anonymous_role, "
    "none by default: they get 401 with a sign-in challenge; 'none': nobody anonymous)",
    "auth_jwks": "JWKS of the token issuer's signing keys: a file path or an https URL (empty: trust the "
    "development key --dev-key, whose tokens `fno-gateway token` mints)",
    "auth_issuer": "the issuer (iss) bearer tokens must carry",
    "auth_audience": "the audience (aud) bearer tokens must carry; also the challenge's resource_id",
    "auth_clock_skew": "seconds of clock difference tolerated on exp and nbf",
    "auth_authorization_uri": "where clients sign in: the authorization_uri of the 401 challenge",
    "rate_window_seconds": "service protection: the sliding window of the per-principal limits, in seconds "
    "(per worker process: with N workers a principal may get N times the limits)",
    "rate_requests": "requests one principal may make per window (429 with Retry-After beyond; 0: no limit)",
    "rate_execution_seconds": "combined execution time one principal's requests may take per window "
    "(429 with Retry-After beyond; 0: no limit)",
    "principal_concurrency": "requests one principal may have in flight at once (429 beyond; 0: no limit)",
    "concurrency_limit": "requests the worker serves at once, more wait in a short queue (default: twice the "
    "CPU cores; raise it when the database, not the gateway, does the work; 0: no limit)",
    "queue_limit": "requests that may wait for a slot (503 ServerBusy with Retry-After beyond)",
    "queue_wait_seconds": "longest a request waits in the queue before 503 ServerBusy with Retry-After",
    "principal_share": "fraction of the slots (and of the queue) one principal may hold, so that one caller's "
    "storm leaves room for the others",
    "max_url_length": "longest request target (path and query string) in bytes (414 beyond)",
    "max_top": "largest $top a request may ask for (400 QueryLimitExceeded beyond)",
    "max_expand_depth": "deepest $expand nesting (each $levels counts as that many levels; 400 beyond)",
    "max_expanded_rows": "most expanded rows one response may carry, counted as written (a customer under 100 "
    "orders counts 100 times): the first page is refused (400 ResultTooLarge), a later part of it is cut "
    "short with a nextLink",
    "statement_timeout": "longest one SQL statement may run, in seconds (503 StatementTimeout; 0: no limit)",
    "dev_key": "the development signing key (PEM, made on first use; its JWKS beside it), used when --auth-jwks "
    "is empty",
    "cors_origins": "comma-separated origins browser apps may call from (https://app.example.com; '*': any); "
    "empty: no CORS",
    "trusted_proxies": "comma-separated addresses or CIDRs of reverse proxies (10.0.0.5, 10.0.0.0/8; '*': any) whose "
    "X-Forwarded-Host, X-Forwarded-Proto and X-Forwarded-For are honoured in links and client addresses; empty: "
    "nobody's",
    "max_expression_nodes": "most nodes one query option ($filter, $orderby, $compute, $apply, $expand, ...) may hold "
    "(400 beyond)",
    "max_expression_depth": "deepest nesting one query option may have (400 beyond; SQLite's parser gives up "
    "at about 40 nested calls)",
    "signing_key": "secret that signs $skiptoken values (empty: a random key per start, shared by the --workers of "
    "one serve; gateways behind one load balancer need the same key)",
}


def for_catalog(settings: Settings) -> Settings:
    """The settings with the F&O companions switched off for a catalog a user brings.

    The Dataverse side, the dual-write maps and the business event definitions shipped beside the F&O
    catalog name its entity sets: with another `--entities` folder they cannot apply, so unless they are
    given explicitly the gateway serves the user's catalog alone (the admin service stays)."""
    if Path(settings.entities).resolve() == DEFAULT_CATALOG.resolve():
        return settings
    changes: dict[str, Any] = {
        name: "none"
        for name, default in (("dataverse_db", ""), ("dualwrite_maps", str(DEFAULT_MAPS)), ("events", str(DEFAULT_EVENTS)))
        if getattr(settings, name) == default
    }
    return replace(settings, **changes) if changes else settings


def setting_names() -> list[str]:
    return [field.name for field in fields(Settings)]


def dataverse_db_url(settings: Settings) -> str:
    """The Dataverse-side store's URL: given, or a SQLite file beside a SQLite F&O database."""
    if settings.dataverse_db.lower() == "none":
        return ""
    if settings.dataverse_db:
        return settings.dataverse_db
    if settings.db.startswith("sqlite:///") and settings.db.endswith(".db"):
        return settings.db[: -len(".db")] + "-dataverse.db"
    return ""
