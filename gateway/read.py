"""The read handler: route → parse → bind → plan → execute → serialize, one stage per line."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote, unquote_plus, urlencode

from sqlalchemy import Connection, Engine, select
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from gateway import direct
from gateway.audit.trail import Auditor
from gateway.catalog.model import Catalog, Entity, Navigation
from gateway.conditional import not_modified
from gateway.errors import BadRequest, InvalidQueryOption, NotFound, SyntaxError_, caret
from gateway.execute import PageReader
from gateway.execute_apply import ApplyReader
from gateway.identity.access import Access, ServiceAccess
from gateway.negotiate import applied, check_plain_text, content_type, json_format, parse_prefer
from gateway.options import RequestOptions, parse_query
from gateway.plan.apply import plan_apply
from gateway.plan.dialects import dialect_traits
from gateway.plan.keys import Fixed
from gateway.plan.query import Layout, plan_read
from gateway.plan.scope import Elsewhere, EntityScope, PlanContext
from gateway.plan.structured import projected
from gateway.plan.within import Within
from gateway.principal import company_scope, current_company, principal_of, user_id
from gateway.protect import signing
from gateway.protect.budget import ExpandBudget
from gateway.protect.cost import check_options
from gateway.protect.expressions import ExpressionLimits
from gateway.protect.limits import RequestLimits
from gateway.refs import check_reference_options, entity_by_id, missing_reference, reference_context
from gateway.resource import Target, resolve
from gateway.serialize.json import collection_chunks, entity_body, property_body
from gateway.serialize.values import JsonFormat, converter, etag
from gateway.stream import read_stream
from gateway.structured_paths import is_structured, respond_read
from gateway.threads import QuickInline
from gateway.write.unit import CommitHook, EventStamp
from grammar import ast
from grammar.cache import BoundedCache, text_weight
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


COUNT_LIMIT_EXCEEDED = "@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"

# Read plans by everything they depend on (see _plan_key): a repeated request builds no statement
# objects. A plan is immutable once built, so threads share it; bounded in bytes as well (a plan
# keeps ~100 bytes per character of its query string).
_plans: BoundedCache[Any] = BoundedCache(512, 64 * 2**20, text_weight(100))


def forget_plans() -> None:
    """Drop every cached read plan (their next requests plan and prepare again)."""
    _plans.clear()


def _plan_key(
    kind: str,
    service: ReadService,
    request: Request,
    entity_set: str,
    fixed: Fixed,
    context: PlanContext,
    page_size: int | None,
    within: Within | None = None,
) -> Hashable:
    """Everything a plan depends on: the query string holds the options, aliases and skiptoken; the
    caller's companies and privileges decide what the plan may reach."""
    return (kind, id(service), request.scope["query_string"], entity_set, fixed, context.companies,
            context.access.access.key, page_size, within)


def _plan_name(entity: Entity, catalog: Catalog | None = None) -> str:
    """The set, and the derived type a cast addressed (Products/Example.Catalog.DigitalProduct): plans
    and context URLs of the two differ."""
    if entity.base_type is None:
        return entity.entity_set
    return f"{entity.entity_set}/{catalog.qualified(entity.entity_type) if catalog else entity.entity_type}"


def _cacheable(request: Request) -> bool:
    # A plan that holds the time of its request (now()) must not answer later requests.
    # Dataverse query functions hold today's date or the caller's user id (which the plan key lacks).
    query = unquote_plus(request.scope["query_string"].decode("latin-1")).lower()
    return "now(" not in query and "microsoft.dynamics.crm." not in query


@dataclass(frozen=True)
class ReadService:
    catalog: Catalog
    engine: Engine
    name: str  # the service's name in role privileges: fno, dataverse, admin
    max_page_size: int
    prefix: str  # the mount path of the service, e.g. "/data"
    write_hook: CommitHook | None = None  # dual-write's live sync, when the service has mapped entities
    audit: Auditor | None = None  # who wrote what: the audit log (gateway/audit/)
    events: EventStamp | None = None  # business and data events: who writes, activations (gateway/events/)
    expression_limits: ExpressionLimits = ExpressionLimits()  # how large and deep a query option may be
    signing_key: bytes = field(default_factory=signing.process_key)  # signs the $skiptoken of nextLinks
    limits: RequestLimits = RequestLimits()  # service protection: what one request may ask for
    # How a principal's access is asked in this service (default: its grants for `name`); Dataverse
    # virtual tables also need the F&O privilege on the entity they show (MirroredAccess).
    access_for: Callable[[Access], ServiceAccess] | None = None
    every_company: bool = False  # without cross-company=, every company of the caller (virtual tables)
    # Dataverse: @odata.count says at most this many, with totalrecordcountlimitexceeded beyond it.
    count_limit: int | None = None
    # Another service whose tables this one's navigation may $expand to (virtual tables' lookups to
    # native tables): that service, and {entity set here: {navigation name: navigation}}.
    foreign: tuple[ReadService, Mapping[str, Mapping[str, Navigation]]] | None = None
    # Which of its reads were quick last time: those run on the event loop (gateway/threads.py). Per
    # service: one app's measurements say nothing about another's database.
    quick: QuickInline = field(default_factory=QuickInline, compare=False, repr=False)


# Finds the target of a read in place of the resource path (a function call: gateway/operations/).
TargetResolver = Callable[[PlanContext, RequestOptions], Target]


async def handle_read(service: ReadService, request: Request, resource_path: str,
                      resolver: TargetResolver | None = None) -> Response:
    timings = Timings()
    query = parse_query(request.scope["query_string"].decode("latin-1"), service.expression_limits)
    segments = _parse_path(resource_path) if resolver is None else ()
    if resolver is None:
        segments = entity_by_id(segments, query.id, service.prefix)  # /$entity?$id=Products(x) (gateway/refs.py)
    check_options(query.options, service.limits)
    if query.index is not None:
        raise InvalidQueryOption("$index belongs to a POST that inserts into a collection-valued property",
                                 target="$index")
    timings.mark("parse")
    if resource_path.rstrip("/").endswith(("/$count", "/$value")):  # a raw number or value, as text/plain
        check_plain_text(request.headers.get("accept"))
        fmt = json_format(None, None)  # (only nested errors would be JSON)
    else:
        fmt = json_format(request.headers.get("accept"), query.format)
    preferences = parse_prefer(request.headers.getlist("prefer"))
    if preferences.formatted_values:
        fmt = replace(fmt, formatted_values=True)
    context = request_context(service, request, query.custom, query.aliases)
    base = str(request.base_url).rstrip("/") + service.prefix + "/"

    def run() -> Response:
        try:
            target = (resolver(context, query) if resolver is not None
                      else resolve(service.catalog, segments, query.aliases, lookup_on(service.engine, context)))
            timings.mark("bind")
            response = _respond(service, context, target, query, fmt, preferences.max_page_size, base, request,
                                timings)
            if preferences.formatted_values and _labelled(target, query) and response.status_code == 200:
                applied(response.headers, preferences.include_annotations)  # the labels are in the rows
            return response
        except RecursionError:
            raise BadRequest("the expression is nested too deeply; use 'in (...)' instead of long 'or' chains") from None

    return await service.quick.run((resource_path, request.scope["query_string"]), run)


def _labelled(target: Target, query: RequestOptions) -> bool:
    """Whether the answer's rows carry FormattedValue labels when asked: entities, not $apply rows."""
    return target.kind in ("entity", "collection") and query.options.apply is None


def request_context(service: ReadService, request: Request, custom: dict[str, str],
                    aliases: dict[str, object]) -> PlanContext:
    """The plan context of one request: its principal's companies and privileges in this service."""
    principal = principal_of(request.scope)
    if service.every_company and "cross-company" not in custom:
        custom = {**custom, "cross-company": "true"}
    access = service.access_for(principal.access) if service.access_for else principal.access.service(service.name)
    elsewhere = None
    if service.foreign is not None:
        other, navigation = service.foreign
        elsewhere = Elsewhere(navigation, other.engine, lambda: request_context(other, request, custom, aliases))
    return PlanContext(
        service.catalog,
        company_scope(principal, custom),
        dialect_traits(service.engine.dialect.name),
        aliases,
        current_company(principal, custom),
        principal.companies,
        access=access,
        signing_key=service.signing_key,
        user_id=str(user_id(principal)),
        initiator=principal.object_id or str(user_id(principal)),
        elsewhere=elsewhere,
    )


def _parse_path(resource_path: str) -> tuple[ast.Segment, ...]:
    try:
        return parse("resource_path", resource_path)  # type: ignore[no-any-return]
    except ODataSyntaxError as error:
        raise SyntaxError_(
            f"resource path: {error.reason} at position {error.position}\n{caret(resource_path, error.position)}"
        ) from None


def lookup_on(source: Engine | Connection, context: PlanContext) -> Any:
    """Reads one row's properties for resolve(): on a fresh connection, or on a write's own
    connection, which sees what the write's transaction has done so far."""

    def lookup(entity: Entity, fixed: Fixed, names: tuple[str, ...]) -> tuple[Any, ...] | None:
        scope = EntityScope(entity, context)
        statement = select(*(scope.column(name) for name in names)).select_from(scope.from_clause())
        statement = statement.where(scope.where(fixed)).limit(1)
        if isinstance(source, Connection):
            row = source.execute(statement).first()
        else:
            with source.connect() as connection:
                row = connection.execute(statement).first()
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
    if is_structured(target):  # a complex or collection-valued property's value (gateway/structured_paths.py)
        return respond_read(service.engine, context, target, query.options, fmt, base, request.headers)
    if target.reference:
        check_reference_options(query.options)  # (gateway/refs.py)
    if query.options.apply is not None:
        return _respond_apply(service, context, target, query, fmt, max_page_size, base, request, timings)
    entity = target.entity
    if query.options.skip is not None and not entity.skip:  # ($apply's own nextLinks page by $skip: above)
        raise InvalidQueryOption("The query parameter $skip is not supported: page with "
                                 "Prefer: odata.maxpagesize and follow @odata.nextLink", target="$skip")
    headers = {"OData-Version": "4.0"}
    if target.kind == "count":
        plan = _plans.get(
            _plan_key("count", service, request, _plan_name(entity), target.fixed, context, None, target.within),
            lambda: plan_read(context, entity, _count_only(query.options), query.texts, target.fixed,
                              within=target.within),
            cacheable=_cacheable(request),
        )
        return _count_response(service, plan.prepared, plan.count_statement, headers, timings)
    if target.kind in ("property", "value"):
        return _property(service, context, target, fmt, base, headers, timings, request)
    single = target.kind == "entity"
    page_size = None
    if not single:
        page_size = service.max_page_size
        if max_page_size is not None:
            page_size = min(max_page_size, service.max_page_size)
            headers["Preference-Applied"] = f"odata.maxpagesize={page_size}"
    options = query.options if not single else _single_options(query.options)
    plan = _plans.get(
        _plan_key("entity" if single else "page", service, request, _plan_name(entity), target.fixed,
                  context, page_size, target.within),
        lambda: plan_read(
            context, entity, options, query.texts, target.fixed, page_size, query.skiptoken if not single else None,
            target.within,
        ),
        cacheable=_cacheable(request),
    )
    timings.mark("plan")
    reader = PageReader(service.engine, context, plan, fmt, base, ExpandBudget(service.limits.expanded_rows),
                        references=target.reference)
    timings.mark("db")  # the count and the first chunk; the rest streams after the headers
    headers["Server-Timing"] = timings.header()
    headers["Content-Type"] = content_type(fmt)
    context_url = base + "$metadata#" + _plan_name(entity, service.catalog) + _context_projection(plan.layout, options)
    if target.reference:
        context_url = reference_context(base, single)
    if single:
        rows = reader.all_rows()
        if not rows:
            raise NotFound(missing_reference(target) if target.reference
                           else f"no {entity.entity_type} with key {target.key_text}")
        if target.reference:
            return Response(entity_body(rows[0], fmt, context_url), headers=headers, media_type=None)
        if "@odata.etag" in rows[0]:
            headers["ETag"] = rows[0]["@odata.etag"]
        if _unchanged_for_reader(request, headers.get("ETag")):  # (a 412 for an If-Match it fails)
            return _not_modified(headers)
        entity_context = context_url if entity.singleton else context_url + "/$entity"  # ($metadata#Company)
        return Response(entity_body(rows[0], fmt, entity_context), headers=headers, media_type=None)

    def next_link() -> str | None:
        token = reader.next_skiptoken
        return None if token is None else _next_link(request, token, plan.remaining_top)

    return _collection_response(reader, fmt, context_url, next_link, headers, service.count_limit)


def _count_response(service: ReadService, prepared: dict[str, Any], statement: Any, headers: dict[str, str],
                    timings: Timings) -> Response:
    """/$count: the number as plain text."""
    total = direct.scalar(service.engine, prepared, "count", statement)
    timings.mark("db")
    headers["Server-Timing"] = timings.header()
    return Response(str(total), media_type="text/plain", headers=headers)


def _collection_response(
    reader: PageReader | ApplyReader,
    fmt: JsonFormat,
    context_url: str,
    next_link: Callable[[], str | None],
    headers: dict[str, str],
    count_limit: int | None = None,
) -> Response:
    count, annotations = reader.count, {}
    if count is not None and count_limit is not None and count > count_limit:
        count, annotations = count_limit, {COUNT_LIMIT_EXCEEDED: True}  # as Dataverse caps $count
    chunks = collection_chunks(reader.chunks(), fmt, context_url, count, next_link, annotations)
    if reader.fits_in_first_chunk:
        # A small page is written at once, in this thread: no thread hop per chunk.
        return Response(b"".join(chunks), headers=headers, media_type=None)
    return StreamingResponse(chunks, headers=headers, background=BackgroundTask(reader.close))


def _respond_apply(
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
    """$apply: aggregated rows (no key, no etag), paged by position: the nextLink carries $skip."""
    if target.kind not in ("collection", "count"):
        raise BadRequest("$apply transforms collections; address an entity set or a collection-valued navigation")
    headers = {"OData-Version": "4.0"}
    options, page_size = query.options, service.max_page_size
    if target.kind == "count":
        options = ast.QueryOptions(apply=options.apply, filter=options.filter, compute=options.compute, count=True)
    elif max_page_size is not None:
        page_size = min(max_page_size, service.max_page_size)
        headers["Preference-Applied"] = f"odata.maxpagesize={page_size}"
    plan = _plans.get(
        _plan_key(target.kind + "-apply", service, request, _plan_name(target.entity), target.fixed,
                  context, page_size, target.within),
        lambda: plan_apply(
            context, target.entity, options, query.texts, query.apply_text, target.fixed, page_size, query.skiptoken,
            target.within,
        ),
        cacheable=_cacheable(request),
    )
    timings.mark("plan")
    if target.kind == "count":
        return _count_response(service, plan.prepared, plan.count_statement, headers, timings)
    reader = ApplyReader(service.engine, context.catalog, plan, fmt)
    timings.mark("db")
    headers["Server-Timing"] = timings.header()
    headers["Content-Type"] = content_type(fmt)

    def next_link() -> str | None:
        skip = reader.next_skip
        return None if skip is None else _next_link(request, None, plan.remaining_top, skip)

    context_url = base + "$metadata#" + target.entity.entity_set + plan.projection
    return _collection_response(reader, fmt, context_url, next_link, headers)


def _property(
    service: ReadService,
    context: PlanContext,
    target: Target,
    fmt: JsonFormat,
    base: str,
    headers: dict[str, str],
    timings: Timings,
    request: Request,
) -> Response:
    entity = target.entity
    assert target.property is not None
    prop = entity.properties[target.property]
    if prop.type == "Edm.Stream":  # the bytes themselves, as their media type (gateway/stream.py)
        with service.engine.connect() as connection:
            return read_stream(connection, context, entity, target.fixed, prop, request.headers, headers,
                               target.key_text)
    scope = EntityScope(entity, context)
    # With the entity's row versions: a property has its entity's ETag (for If-None-Match / If-Match).
    versions = scope.etag_columns()
    statement = select(scope.column(prop.name), *versions).select_from(scope.from_clause())
    statement = statement.where(scope.where(target.fixed))
    with service.engine.connect() as connection:
        row = connection.execute(statement.limit(1)).first()
    timings.mark("db")
    headers["Server-Timing"] = timings.header()
    if row is None:
        raise NotFound(f"no {entity.entity_type} with key {target.key_text}")
    if versions:
        headers["ETag"] = etag(tuple(row[1:]))
    if _unchanged_for_reader(request, headers.get("ETag")):
        return _not_modified(headers)
    if target.kind == "value" and prop.type == "Edm.Binary":
        # Part 1 §11.2.4.1: a binary property's raw value is its bytes, as application/octet-stream.
        data = row[0]
        if data is None:
            return Response(status_code=204, headers=headers)
        assert isinstance(data, (bytes, bytearray, memoryview))
        return Response(bytes(data), media_type="application/octet-stream", headers=headers)
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


def _unchanged_for_reader(request: Request, current: str | None) -> bool:
    """A read's own preconditions (304, or 412 for a failed If-Match); a write's read-back of what it
    wrote has had its If-Match checked by the writer already."""
    return request.method in ("GET", "HEAD") and not_modified(request.headers, current)


def _not_modified(headers: dict[str, str]) -> Response:
    """304: the client's copy is current (no body; the ETag again, RFC 9110 §15.4.5)."""
    kept = {name: value for name, value in headers.items() if name == "ETag"}
    return Response(status_code=304, headers={**kept, "OData-Version": "4.0"})


def _count_only(options: ast.QueryOptions) -> ast.QueryOptions:
    return ast.QueryOptions(filter=options.filter, search=options.search, count=True)


def _single_options(options: ast.QueryOptions) -> ast.QueryOptions:
    """On a single entity only $select and $expand (and $format) make sense."""
    return ast.QueryOptions(select=options.select, expand=options.expand)


def _context_projection(layout: Layout, options: ast.QueryOptions) -> str:
    parts: list[str] = []
    if options.select:
        parts.extend(projected(layout.visible, options.select))  # (complex members: gateway/plan/structured.py)
        # Selected navigation links, by name; an expanded one is listed once, as Nav() below.
        expanded = {item.path[0] for item in options.expand or () if item.path}
        named = {item.path[0] for item in options.select if len(item.path) == 1}
        parts.extend(name for name in layout.links if name in named and name not in expanded)
    for item in options.expand or ():
        if item.path and not item.star:  # (Address/*: a complex value's navigation, of which there is none)
            parts.append(item.path[0] + "()")
    return "(" + ",".join(parts) + ")" if parts else ""


def _next_link(request: Request, skiptoken: str | None, remaining_top: int | None, skip: int | None = None) -> str:
    kept = [
        (name, value)
        for name, value in request.query_params.multi_items()
        if name.lstrip("$").lower() not in ("skiptoken", "skip", "top")
    ]
    if remaining_top is not None:
        kept.append(("$top", str(remaining_top)))
    kept.append(("$skip", str(skip)) if skiptoken is None else ("$skiptoken", skiptoken))
    return str(request.url.replace(query=urlencode(kept, quote_via=quote, safe="$@,'()*/:")))

