"""The read handler: route → parse → bind → plan → execute → serialize, one stage per line."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from sqlalchemy import Engine, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from gateway.catalog.model import Catalog, Entity
from gateway.errors import BadRequest, NotFound, SyntaxError_, caret
from gateway.execute import read_page
from gateway.negotiate import content_type, json_format, parse_prefer
from gateway.options import RequestOptions, parse_query
from gateway.plan.dialects import dialect_traits
from gateway.plan.keys import Fixed
from gateway.plan.query import Layout, plan_read
from gateway.plan.scope import EntityScope, PlanContext
from gateway.principal import Principal, company_scope
from gateway.resource import Target, resolve
from gateway.serialize.json import collection_chunks, entity_body, property_body
from gateway.serialize.values import JsonFormat, converter
from grammar import ast
from grammar.parser import ODataSyntaxError, parse


@dataclass
class Timings:
    """Server-Timing: the cheapest profiler a user gets."""

    marks: list[tuple[str, float]] = field(default_factory=list)
    _last: float = field(default_factory=time.perf_counter)

    def mark(self, stage: str) -> None:
        now = time.perf_counter()
        self.marks.append((stage, (now - self._last) * 1000))
        self._last = now

    def header(self) -> str:
        return ", ".join(f"{stage};dur={duration:.2f}" for stage, duration in self.marks)


@dataclass(frozen=True)
class ReadService:
    catalog: Catalog
    engine: Engine
    principal: Principal
    max_page_size: int
    prefix: str  # the mount path of the service, e.g. "/data"


async def handle_read(service: ReadService, request: Request, resource_path: str) -> Response:
    timings = Timings()
    query = parse_query(request.scope["query_string"].decode("latin-1"))
    segments = _parse_path(resource_path)
    timings.mark("parse")
    fmt = json_format(request.headers.get("accept"), query.format)
    preferences = parse_prefer(request.headers.getlist("prefer"))
    companies = company_scope(service.principal, query.custom)
    context = PlanContext(service.catalog, companies, dialect_traits(service.engine.dialect.name), query.aliases)
    base = str(request.base_url).rstrip("/") + service.prefix + "/"

    def run() -> Response:
        try:
            target = resolve(service.catalog, segments, query.aliases, _lookup(service.engine, context))
            timings.mark("bind")
            return _respond(service, context, target, query, fmt, preferences.max_page_size, base, request, timings)
        except RecursionError:
            raise BadRequest("the expression is nested too deeply; use 'in (...)' instead of long 'or' chains") from None

    return await run_in_threadpool(run)


def _parse_path(resource_path: str) -> tuple[ast.Segment, ...]:
    try:
        return parse("resource_path", resource_path)  # type: ignore[no-any-return]
    except ODataSyntaxError as error:
        raise SyntaxError_(
            f"resource path: {error.reason} at position {error.position}\n{caret(resource_path, error.position)}"
        ) from None


def _lookup(engine: Engine, context: PlanContext) -> Any:
    def lookup(entity: Entity, fixed: Fixed, names: tuple[str, ...]) -> tuple[Any, ...] | None:
        scope = EntityScope(entity, context)
        statement = select(*(scope.column(name) for name in names)).select_from(scope.from_clause())
        statement = statement.where(scope.where(fixed))
        with engine.connect() as connection:
            row = connection.execute(statement.limit(1)).first()
        return None if row is None else tuple(row)

    return lookup


def _respond(
    service: ReadService,
    context: PlanContext,
    target: Target,
    query: RequestOptions,
    fmt: JsonFormat,
    max_page_size: int | None,
    base: str,
    request: Request,
    timings: Timings,
) -> Response:
    entity = target.entity
    headers = {"OData-Version": "4.0"}
    if target.kind == "count":
        plan = plan_read(context, entity, _count_only(query.options), query.texts, target.fixed)
        with service.engine.connect() as connection:
            total = connection.execute(plan.count_statement).scalar_one()  # type: ignore[arg-type]
        timings.mark("db")
        headers["Server-Timing"] = timings.header()
        return Response(str(total), media_type="text/plain", headers=headers)
    if target.kind in ("property", "value"):
        return _property(service, context, target, fmt, base, headers, timings)
    single = target.kind == "entity"
    page_size = None
    if not single:
        page_size = service.max_page_size
        if max_page_size is not None:
            page_size = min(max_page_size, service.max_page_size)
            headers["Preference-Applied"] = f"odata.maxpagesize={page_size}"
    options = query.options if not single else _single_options(query.options)
    plan = plan_read(context, entity, options, query.texts, target.fixed, page_size, query.skiptoken if not single else None)
    timings.mark("plan")
    with service.engine.connect() as connection:
        page = read_page(connection, context, plan, fmt, base)
    timings.mark("db")
    headers["Server-Timing"] = timings.header()
    headers["Content-Type"] = content_type(fmt)
    context_url = base + "$metadata#" + entity.entity_set + _context_projection(plan.layout, options)
    if single:
        if not page.rows:
            raise NotFound(f"no {entity.entity_type} with key {target.key_text}")
        row = page.rows[0]
        if "@odata.etag" in row:
            headers["ETag"] = row["@odata.etag"]
        body = entity_body(row, fmt, context_url + "/$entity")
        return Response(body, headers=headers, media_type=None)
    next_link = None
    if page.next_skiptoken is not None:
        next_link = _next_link(request, page.next_skiptoken, plan.remaining_top)
    chunks: Iterator[bytes] = collection_chunks(page.rows, fmt, context_url, page.count, next_link)
    return StreamingResponse(chunks, headers=headers)


def _property(
    service: ReadService,
    context: PlanContext,
    target: Target,
    fmt: JsonFormat,
    base: str,
    headers: dict[str, str],
    timings: Timings,
) -> Response:
    entity = target.entity
    assert target.property is not None
    prop = entity.properties[target.property]
    scope = EntityScope(entity, context)
    statement = select(scope.column(prop.name)).select_from(scope.from_clause())
    statement = statement.where(scope.where(target.fixed))
    with service.engine.connect() as connection:
        row = connection.execute(statement.limit(1)).first()
    timings.mark("db")
    headers["Server-Timing"] = timings.header()
    if row is None:
        raise NotFound(f"no {entity.entity_type} with key {target.key_text}")
    if target.kind == "value":
        # Raw values are text: decimals and 64-bit integers exactly as their IEEE754-compatible strings.
        raw = converter(prop.type, service.catalog, JsonFormat(ieee754_compatible=True))(row[0])
        if raw is None:
            return Response(status_code=204, headers=headers)
        text = ("true" if raw else "false") if isinstance(raw, bool) else str(raw)
        return Response(text, media_type="text/plain", headers=headers)
    value = converter(prop.type, service.catalog, fmt)(row[0])
    if value is None:
        return Response(status_code=204, headers=headers)
    context_url = f"{base}$metadata#{entity.entity_set}{target.key_text}/{prop.name}"
    headers["Content-Type"] = content_type(fmt)
    return Response(property_body(prop.name, value, fmt, context_url), headers=headers, media_type=None)


def _count_only(options: ast.QueryOptions) -> ast.QueryOptions:
    return ast.QueryOptions(filter=options.filter, search=options.search, count=True)


def _single_options(options: ast.QueryOptions) -> ast.QueryOptions:
    """On a single entity only $select and $expand (and $format) make sense."""
    return ast.QueryOptions(select=options.select, expand=options.expand)


def _context_projection(layout: Layout, options: ast.QueryOptions) -> str:
    parts: list[str] = []
    if options.select:
        parts.extend(layout.visible)
    for item in options.expand or ():
        if item.path:
            parts.append(item.path[0] + "()")
    return "(" + ",".join(parts) + ")" if parts else ""


def _next_link(request: Request, skiptoken: str, remaining_top: int | None) -> str:
    kept = [
        (name, value)
        for name, value in request.query_params.multi_items()
        if name.lstrip("$").lower() not in ("skiptoken", "skip", "top")
    ]
    if remaining_top is not None:
        kept.append(("$top", str(remaining_top)))
    kept.append(("$skiptoken", skiptoken))
    return str(request.url.replace(query=urlencode(kept, quote_via=quote, safe="$@,'()*/:")))

