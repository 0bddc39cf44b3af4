"""The ASGI application: routes of the /data service and the one error handler."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from gateway.audit.store import create_audit_table
from gateway.audit.trail import Auditor
from gateway.catalog.companies import database_companies
from gateway.catalog.load import DEFAULT_CATALOG, load_catalog
from gateway.catalog.model import Catalog
from gateway.csrf import csrf_probe_answer, is_csrf_probe
from gateway.dataverse.errors import dataverse_payload, is_dataverse
from gateway.dataverse.functions import function_routes
from gateway.dataverse.schema import create_store
from gateway.db import make_engine
from gateway.dualwrite.live import LiveSync
from gateway.dualwrite.recovery import recover_at_start
from gateway.dualwrite.service import DualWrite, Limits
from gateway.dualwrite.store import control_metadata
from gateway.dualwrite.worker import Worker
from gateway.edge.compress import compression_middleware
from gateway.edge.cors import cors_middleware
from gateway.edge.forwarded import forwarded_middleware
from gateway.edge.middleware import EdgeMiddleware
from gateway.edge.request_id import request_id_of
from gateway.edge.stack import EdgeStarlette
from gateway.errors import (
    BadRequest,
    DatabaseBusy,
    DatabaseUnavailable,
    MethodNotAllowed,
    ODataError,
    ServiceMisconfigured,
)
from gateway.events.deliver import secret
from gateway.events.receiver import make_receiver
from gateway.events.service import DEMO_ENDPOINT, DEMO_RECEIVER_PATH, Events
from gateway.events.store import metadata as events_metadata
from gateway.events.subscriptions import subscription_routes
from gateway.events.worker import EventsWorker
from gateway.fetchxml.serve import fetch_xml_of, handle_fetch
from gateway.identity.access import ServiceAccess
from gateway.identity.authenticate import AuthenticationMiddleware, Authenticator, Challenge
from gateway.identity.config import load_security
from gateway.identity.tokens import TokenPolicy, TokenVerifier, ensure_dev_key
from gateway.identity.visible import PerAccess
from gateway.negotiate import json_format, metadata_format
from gateway.operations.serve import handle_operation
from gateway.operations.target import find_operation
from gateway.options import parse_query
from gateway.principal import principal_of
from gateway.protect import signing
from gateway.protect.cancel import database_error
from gateway.protect.cancel import install as install_protection
from gateway.protect.expressions import ExpressionLimits
from gateway.protect.limits import ProtectionLimits
from gateway.protect.middleware import ProtectionMiddleware
from gateway.read import ReadService, _parse_path, handle_read
from gateway.serialize.csdl import metadata_json, metadata_xml
from gateway.settings import Settings, dataverse_db_url, for_catalog
from gateway.versions import ODataVersionMiddleware
from gateway.virtual.available import ENTITY_SET as AVAILABLE_SET
from gateway.virtual.available import AvailableTable, ensure_rows, with_available_table
from gateway.virtual.service import VirtualTables, first_segment
from gateway.write.batch import BatchProcessor
from gateway.write.http import handle_write
from grammar.parser import build_parser

log = logging.getLogger("fno_gateway")
SERVICE_PREFIX = "/data"
DATAVERSE_PREFIX = "/api/data/v9.2"
DATAVERSE_MAX_PAGE_SIZE = 5000
ADMIN_PREFIX = "/admin/data"  # the audit log and dual-write's state, read-only, over OData
ADMIN_CATALOG = DEFAULT_CATALOG.parent / "admin"  # Dataverse pages at most 5,000 rows (Prefer: odata.maxpagesize lowers it)
_WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
_ALL_METHODS = ["GET", "HEAD", "OPTIONS", *_WRITE_METHODS]


def create_app(settings: Settings | None = None) -> Starlette:
    settings = for_catalog(settings or Settings())
    build_parser()  # the grammar's tables are built at start-up, not on the first request
    catalog = load_catalog(settings.entities)
    engine = make_engine(settings.db)
    create_audit_table(engine)  # a new database gets the audit log (idempotent)
    # Business and data events: their tables, the published catalog (BusinessEventsCatalog).
    events = Events.from_settings(settings, engine, catalog)
    authenticator = open_authenticator(settings, _companies(catalog, engine, settings))
    protection: dict[str, Any] = {  # the same limits and token key on every service
        "expression_limits": ExpressionLimits(settings.max_expression_nodes, settings.max_expression_depth),
        "signing_key": signing.key_from_setting(settings.signing_key),
    }
    services = [_Service(ReadService(catalog, engine, "fno", settings.max_page_size, SERVICE_PREFIX,
                                     audit=Auditor(engine, "fno", catalog.service.company_property), events=events,
                                     **protection),
                         settings)]
    dataverse_url = dataverse_db_url(settings)
    app_state: dict[str, Any] = {"dualwrite": None}
    if dataverse_url:
        # The native tables, and the available F&O entities table that says which virtual tables are served.
        dataverse_catalog = with_available_table(load_catalog(settings.dataverse_entities))
        dataverse_engine = make_engine(dataverse_url)
        create_store(dataverse_engine, dataverse_catalog)  # a new store gets its tables (idempotent)
        available = AvailableTable(dataverse_engine, dataverse_catalog)
        ensure_rows(available, catalog)
        dual = open_dualwrite(settings, catalog, engine, dataverse_catalog, dataverse_engine)
        if dual is not None:
            services[0].read = replace(services[0].read, write_hook=LiveSync(dual, "fo"))
        dataverse = ReadService(dataverse_catalog, dataverse_engine, "dataverse", DATAVERSE_MAX_PAGE_SIZE,
                                DATAVERSE_PREFIX, LiveSync(dual, "dv") if dual is not None else None,
                                Auditor(engine, "dataverse", dataverse_catalog.service.company_property), **protection)
        services.append(_Service(dataverse, settings))
        app_state["dualwrite"] = dual
    admin = ReadService(admin_catalog(app_state["dualwrite"] is not None, events is not None), engine, "admin",
                        settings.max_page_size,
                        ADMIN_PREFIX, **protection)
    services.append(_Service(admin, settings))
    worker = Worker(app_state["dualwrite"]) if app_state["dualwrite"] is not None and settings.dualwrite_worker else None
    events_worker = EventsWorker(events) if events is not None and settings.events_worker else None

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if app_state["dualwrite"] is not None:  # before the first request: what a killed process left
            recover_at_start(app_state["dualwrite"])
        if worker is not None:
            worker.start()
        if events_worker is not None:
            events_worker.start()
        yield
        if events_worker is not None:
            events_worker.stop()
        if worker is not None:
            worker.stop()

    prefixes = tuple(service.read.prefix for service in services)
    limits = ProtectionLimits.from_settings(settings)  # service protection (gateway/protect/)
    for service in services:
        service.read = replace(service.read, limits=limits.request)
    if dataverse_url:  # the F&O entities as Dataverse virtual tables, with /data's limits and write path
        services[1].virtual = VirtualTables(services[0].read, services[1].read, available)
    for protected in {id(service.read.engine): service.read.engine for service in services}.values():
        install_protection(protected, limits.statement_timeout)
    # Outermost first: the forwarded scheme and host before the edge stamps HSTS; compression inside
    # the edge (its headers go on the compressed answer) and outside CORS, 401, 429 and the 500 handler.
    edge = [*filter(None, [forwarded_middleware(settings.trusted_proxies)]), Middleware(EdgeMiddleware),
            compression_middleware(), *filter(None, [cors_middleware(settings.cors_origins)])]
    app = EdgeStarlette(
        edge=edge,  # outside even the 500 handler: every answer gets the request id and the headers
        lifespan=lifespan,
        # The Dataverse functions (WhoAmI, EntityDefinitions, ...) before its catch-all resource route.
        # Routes are tried in order, each a regular expression: /data's first (most requests), then the
        # Dataverse functions (WhoAmI, EntityDefinitions, ...) before its catch-all resource route.
        routes=[# Power Automate style subscriptions, before /data's catch-all resource route.
                *(subscription_routes(services[0].read, events) if events is not None else []),
                *services[0].routes(),
                *(function_routes(DATAVERSE_PREFIX) if dataverse_url else []),
                *(route for service in services[1:] for route in service.routes()),
                # The demo's subscriber: events the demo endpoint gets, signed with its secret.
                *([Mount(DEMO_RECEIVER_PATH, app=make_receiver(secret(DEMO_ENDPOINT), None))]
                  if settings.demo_receiver else [])],
        middleware=[Middleware(AuthenticationMiddleware, authenticator=authenticator, prefixes=prefixes),
                    Middleware(ProtectionMiddleware, limits=limits, prefixes=prefixes),
                    Middleware(ODataVersionMiddleware, prefixes=prefixes)],  # OData-(Max)Version: 400s
        exception_handlers={
            ODataError: _error_response,
            DBAPIError: _error_response,
            RecursionError: _error_response,  # handled here, not re-raised to the server as an Exception is
            Exception: _error_response,
            404: _not_found,
            405: _method_not_allowed,
        },
    )
    for service in services:
        service.batches = BatchProcessor(app, service.read.engine, service.read.catalog, service.read.prefix,
                                         settings.max_batch_operations, service.read.write_hook,
                                         service.read.audit, service.read.events)
    app.state.engine = engine
    app.state.catalog = catalog
    app.state.services = {service.read.prefix: service.read for service in services}
    app.state.dualwrite = app_state["dualwrite"]
    app.state.events = events
    app.state.virtual = services[1].virtual if dataverse_url else None
    app.state.authenticator = authenticator
    return app


def admin_catalog(dualwrite: bool, events: bool = True) -> Catalog:
    """The admin service's entities: the audit log always, dual-write's state only while dual-write
    runs (its tables exist only then), the events' outbox while events are on."""
    catalog = load_catalog(ADMIN_CATALOG)
    hidden = {*([] if dualwrite else control_metadata.tables), *([] if events else events_metadata.tables)}
    if not hidden:
        return catalog
    kept = {name: entity for name, entity in catalog.entities.items() if entity.sources[0].table not in hidden}
    return catalog.model_copy(update={"entities": kept})


def open_authenticator(settings: Settings, every_company: tuple[str, ...]) -> Authenticator:
    """Who may call: the security files, the token issuer's keys (or the development key), the challenge."""
    security = load_security(settings.security)
    anonymous = settings.anonymous_role or security.anonymous_role
    if anonymous is not None and anonymous.lower() == "none":
        anonymous = None
    if anonymous is not None and anonymous not in security.roles:
        raise ServiceMisconfigured(f"anonymous role '{anonymous}' is not a role of {settings.security} "
                                   f"(roles: {', '.join(security.roles)})")
    jwks = settings.auth_jwks or str(ensure_dev_key(Path(settings.dev_key)))
    verifier = TokenVerifier(TokenPolicy(settings.auth_issuer, settings.auth_audience, jwks, settings.auth_clock_skew))
    challenge = Challenge(settings.auth_authorization_uri, settings.auth_audience)
    return Authenticator(security, verifier, challenge, every_company, settings.default_company.lower(), anonymous)


class _Service:
    """One OData service mounted at its prefix: service document, $metadata, $batch, resources."""

    def __init__(self, read: ReadService, settings: Settings) -> None:
        self.read = read
        self.settings = settings
        self.documents = PerAccess(_MetadataDocuments)  # each caller's $metadata lists what it may see
        self.batches: BatchProcessor | None = None
        self.virtual: VirtualTables | None = None  # the Dataverse service: F&O entities as virtual tables

    def access(self, request: Request) -> ServiceAccess:
        principal = principal_of(request.scope)
        if self.virtual is not None:
            return self.virtual.access(principal.access)
        access = principal.access.service(self.read.name)
        if self.read.name == "admin":
            access.require_admin()  # the whole administration service, service document included
        return access

    def routes(self) -> list[Route]:
        prefix = self.read.prefix
        return [
            Route(prefix, self.service_document, methods=_ALL_METHODS),
            Route(prefix + "/", self.service_document, methods=_ALL_METHODS),
            Route(prefix + "/$metadata", self.metadata, methods=_ALL_METHODS),
            Route(prefix + "/$batch", self.batch, methods=_ALL_METHODS),
            Route(prefix + "/{path:path}", self.resource, methods=_ALL_METHODS),
        ]

    async def service_document(self, request: Request) -> Response:
        _only_get(request)
        if is_csrf_probe(request):  # SAP clients before a write: no need to build the document
            self.access(request)
            return csrf_probe_answer()
        fmt = json_format(request.headers.get("accept"), parse_query(request.url.query).format)
        base = str(request.base_url).rstrip("/") + self.read.prefix + "/"
        body: dict[str, Any] = {"@odata.context": base + "$metadata"} if fmt.annotations else {}
        access = self.access(request)
        catalog = self.virtual.served().merged if self.virtual is not None else self.read.catalog
        body["value"] = [{"name": name, "kind": "Singleton" if entity.singleton else "EntitySet", "url": name}
                         for name, entity in catalog.entities.items() if access.visible(name)]
        return Response(orjson.dumps(body), media_type="application/json", headers={"OData-Version": "4.0"})

    async def metadata(self, request: Request) -> Response:
        _only_get(request)
        kind = metadata_format(request.headers.get("accept"), request.query_params.get("$format"))
        if self.virtual is not None:  # the catalog changes as virtual tables are enabled
            served = self.virtual.served()
            documents = self.documents.get(served.merged, self.access(request), served.version)
        else:
            documents = self.documents.get(self.read.catalog, self.access(request))
        if kind == "json":
            return Response(documents.json, media_type="application/json", headers={"OData-Version": "4.0"})
        return Response(documents.xml, media_type="application/xml", headers={"OData-Version": "4.0"})

    async def resource(self, request: Request) -> Response:
        self.access(request)
        if is_csrf_probe(request):  # SAP clients probe the write's own URL, with a trailing / first
            return csrf_probe_answer()
        path = request.path_params["path"]
        read, served = self.read, None
        if self.virtual is not None:
            served, read = self.virtual.route(path)
        if read.catalog.operations and any(name in path for name in read.catalog.operations):
            operation = find_operation(read.catalog, _parse_path(path))
            if operation is not None:  # a function or action call
                return await handle_operation(read, request, path, operation)
        if request.method in _WRITE_METHODS:
            if served is not None and read is served.read:  # a virtual table: the F&O entity's write path
                assert self.virtual is not None
                return await self.virtual.write(request, path, self.settings.require_if_match)
            response = await handle_write(read, request, path, self.settings.require_if_match)
            if self.virtual is not None and first_segment(path) == AVAILABLE_SET:
                self.virtual.changed()  # this worker serves the change at once
            return response
        _only_get(request)
        if served is not None and (xml := fetch_xml_of(request)) is not None:  # Dataverse's FetchXML
            names = served.fetch_names if read is served.read else None
            return await handle_fetch(read, request, path, xml, names)
        return await handle_read(read, request, path)

    async def batch(self, request: Request) -> Response:
        if request.method == "HEAD":  # the SAP SDK's CSRF-token probe before a batch: 200, no body
            self.access(request)
            return csrf_probe_answer() if is_csrf_probe(request) else Response(headers={"OData-Version": "4.0"})
        if request.method != "POST":
            raise MethodNotAllowed("$batch takes POST", headers={"Allow": "POST, HEAD"})
        assert self.batches is not None  # set once the app exists (sub-requests go through the app)
        self.access(request)
        return await self.batches.handle(request)


class _MetadataDocuments:
    """$metadata is built once: no per-request metadata work."""

    def __init__(self, catalog: Catalog) -> None:
        self.xml = metadata_xml(catalog)
        self.json = orjson.dumps(metadata_json(catalog))


def _only_get(request: Request) -> None:
    if request.method not in ("GET", "HEAD"):
        raise MethodNotAllowed(f"{request.method} is not allowed here", headers={"Allow": "GET, HEAD"})


def open_dualwrite(settings: Settings, catalog: Catalog, engine: Engine, dataverse_catalog: Catalog,
                   dataverse_engine: Engine) -> DualWrite | None:
    """Dual-write between the two sides, unless the settings switch it off."""
    if settings.dualwrite_maps.lower() == "none":
        return None
    limits = Limits(live_rows=settings.live_sync_rows, live_seconds=settings.live_sync_seconds)
    return DualWrite.open(settings.dualwrite_maps, catalog, engine, dataverse_catalog, dataverse_engine, limits)


def open_sides(settings: Settings) -> DualWrite:
    """Dual-write as the CLI uses it: both databases and catalogs, from the settings alone."""
    catalog = load_catalog(settings.entities)
    engine = make_engine(settings.db)
    dataverse_url = dataverse_db_url(settings)
    if not dataverse_url:
        raise ServiceMisconfigured("no Dataverse-side database: give --dataverse-db")
    dataverse_catalog = load_catalog(settings.dataverse_entities)
    dataverse_engine = make_engine(dataverse_url)
    create_store(dataverse_engine, dataverse_catalog)
    dual = open_dualwrite(settings, catalog, engine, dataverse_catalog, dataverse_engine)
    if dual is None:
        raise ServiceMisconfigured("dual-write is switched off (--dualwrite-maps none)")
    return dual


def _companies(catalog: Catalog, engine: Engine, settings: Settings) -> tuple[str, ...]:
    if settings.companies:
        return tuple(company.strip().lower() for company in settings.companies.split(",") if company.strip())
    companies = database_companies(catalog, engine)
    return (settings.default_company.lower(),) if companies is None else companies


async def _not_found(request: Request, exc: Exception) -> Response:
    return _payload_response(ODataError("not found"), status=404, code="NotFound",
                             message=f"nothing is served at {request.url.path}; the service root is {SERVICE_PREFIX}/",
                             path=request.url.path)


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    """Methods outside every route's list (TRACE, PROPFIND, ...) get the OData shape too."""
    return _payload_response(MethodNotAllowed(f"{request.method} is not allowed here", headers={"Allow": "GET, HEAD"}),
                             path=request.url.path)


# How the databases say that a statement is beyond their limits (SQLite: "parser stack overflow",
# "Expression tree is too large"; PostgreSQL: "stack depth limit exceeded"; MariaDB: "Thread stack
# overrun") or that a value of the request is impossible (overflow, an invalid regular expression).
_TOO_LARGE = ("too large", "too many", "too complex", "too deep", "stack overflow", "stack depth", "stack overrun")
# Lock waits that ran out, and deadlocks (SQLite, PostgreSQL, MariaDB): the transaction was rolled back whole.
_LOCKED = ("database is locked", "lock timeout", "deadlock", "lock wait timeout", "could not obtain lock")
_BAD_VALUE = ("out of range", "overflow", "invalid regular expression", "from regexp")


async def _error_response(request: Request, exc: Exception) -> Response:
    path = request.url.path
    if isinstance(exc, ODataError):
        return _payload_response(exc, path=path)
    if isinstance(exc, DBAPIError):
        if (stopped := database_error(exc)) is not None:  # a statement timeout or a cancelled query
            return _payload_response(stopped, path=path)
        first_line = str(exc.orig).splitlines()[0] if exc.orig is not None else str(exc).splitlines()[0]
        if exc.connection_invalidated or (isinstance(exc, OperationalError) and exc.statement is None):
            log.warning("database unavailable: %s", first_line)
            return _payload_response(DatabaseUnavailable("the database is not reachable; try again shortly"), path=path)
        lowered = first_line.lower()
        if isinstance(exc, OperationalError) and any(words in lowered for words in _LOCKED):
            return _payload_response(DatabaseBusy(f"the database stayed locked by another transaction ({first_line}); "
                                                  "this request changed nothing, try again", headers={"Retry-After": "1"}), path=path)
        if any(words in lowered for words in _TOO_LARGE):
            return _payload_response(BadRequest(f"the database refused the query as too large: {first_line}"), path=path)
        if isinstance(exc, DataError) or any(words in lowered for words in _BAD_VALUE):
            return _payload_response(BadRequest(f"the database refused a value of the request: {first_line}"), path=path)
    if isinstance(exc, RecursionError):
        return _payload_response(BadRequest("the request is nested too deeply"), path=path)
    request_id = request_id_of(request.scope)  # the one in the answer's x-ms-service-request-id
    log.exception("internal error %s on %s", request_id, request.url, exc_info=exc)
    return _payload_response(ODataError(f"internal error; request id {request_id}"), path=path)


def _payload_response(error: ODataError, status: int | None = None, code: str | None = None,
                      message: str | None = None, path: str = "") -> Response:
    payload = error.payload()
    if code is not None:
        payload["error"]["code"] = code
    if message is not None:
        payload["error"]["message"] = message
    if is_dataverse(path):
        payload = dataverse_payload(payload, status or error.status)
    headers = {"OData-Version": "4.0", **error.headers}
    return Response(orjson.dumps(payload), status_code=status or error.status, media_type="application/json",
                    headers=headers)
