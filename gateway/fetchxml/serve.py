"""GET /api/data/v9.2/<set>?fetchXml=<url-encoded xml>: FetchXML answered by the OData read pipeline.

The FetchXML is translated (translate.py) into the same query options a $filter/$select/$expand/
$apply request has, then planned, run and shaped by the same planner and readers, so FetchXML and
OData give the same rows by construction of the plan, not by a second implementation. What is
FetchXML's own is the answer's shape, as Dataverse writes it:
- a link-entity's columns are flattened onto the row as `alias.column` (a 1:n link gives one row per
  related row, as a SQL join would);
- paging by `page`/`count`: `@Microsoft.Dynamics.CRM.morerecords` and a paging cookie, no nextLink;
- `returntotalrecordcount`: `@Microsoft.Dynamics.CRM.totalrecordcount`, capped at 5,000.
A page is at most 5,000 rows, so it is read whole before it is written.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Hashable
from dataclasses import replace
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from gateway.catalog.model import Catalog, Entity
from gateway.errors import BadRequest
from gateway.execute import PageReader
from gateway.execute_apply import ApplyReader
from gateway.fetchxml.translate import FetchRequest, translate
from gateway.negotiate import json_format, parse_prefer
from gateway.options import parse_query
from gateway.plan.apply import plan_apply
from gateway.plan.query import OptionTexts, plan_read
from gateway.plan.scope import PlanContext
from gateway.protect.budget import ExpandBudget
from gateway.read import ReadService, Timings, request_context
from gateway.threads import in_thread
from grammar.cache import BoundedCache, text_weight

PARAMETER = "fetchXml"
MAX_ROWS = 5000  # a FetchXML page, and the most rows totalrecordcount counts
MORE_RECORDS = "@Microsoft.Dynamics.CRM.morerecords"
PAGING_COOKIE = "@Microsoft.Dynamics.CRM.fetchxmlpagingcookie"
TOTAL = "@Microsoft.Dynamics.CRM.totalrecordcount"
TOTAL_EXCEEDED = "@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"

# Translations and plans by everything they depend on: a repeated FetchXML page costs no XML parse
# and no planning (the date and the user are in the key: relative dates and eq-userid hold them).
_plans: BoundedCache[Any] = BoundedCache(256, 32 * 2**20, text_weight(100))


def fetch_xml_of(request: Request) -> str | None:
    """The fetchXml query parameter, when the request has one."""
    return request.query_params.get(PARAMETER)


async def handle_fetch(service: ReadService, request: Request, resource_path: str, xml: str,
                       names: Catalog | None = None) -> Response:
    """`names`: the catalog FetchXML's names are looked up in, when it is wider than the service's
    (virtual tables with their lookups to native tables, which $expand follows into the other database)."""
    timings = Timings()
    entity_set = resource_path.strip("/")
    if not entity_set or "(" in entity_set or "/" in entity_set:
        raise BadRequest(f"fetchXml queries a table: send it to {service.prefix}/<entity set>?fetchXml=..., "
                         f"not to {resource_path}", target=PARAMETER)
    query = parse_query(_other_options(request))
    fmt = json_format(request.headers.get("accept"), query.format)
    preferences = parse_prefer(request.headers.getlist("prefer"))
    if preferences.formatted_values:
        fmt = replace(fmt, formatted_values=True)
    context = request_context(service, request, query.custom, {})
    base = str(request.base_url).rstrip("/") + service.prefix + "/"
    today = dt.datetime.now(dt.UTC).date()

    def run() -> Response:
        key: Hashable = (id(service), xml, today, context.user_id, context.companies, context.access.access.key)
        fetch, plan, joined = _plans.get(key, lambda: _plan(service, context, entity_set, xml, today, names))
        timings.mark("plan")
        entity = service.catalog.entities[fetch.entity_set]
        body: dict[str, Any] = {}
        if fmt.annotations:
            body["@odata.context"] = f"{base}$metadata#{entity.entity_set}"
        if fetch.options.apply is not None:
            reader: ApplyReader | PageReader = ApplyReader(service.engine, context.catalog, plan, fmt)
            rows = [row for chunk in reader.chunks() for row in chunk]
            more = reader.next_skip is not None  # type: ignore[union-attr]
        else:
            page_reader = PageReader(service.engine, context, plan, fmt, base, ExpandBudget(service.limits.expanded_rows))
            total = page_reader.count
            rows = flatten(page_reader.all_rows(), fetch.aliases)
            more = page_reader.next_skiptoken is not None
            # A 1:n link multiplies rows: top and count/page then bound the joined rows, as in Dataverse.
            size = fetch.page_size or fetch.options.top or MAX_ROWS
            start = 0
            if joined:
                start = ((fetch.page or 1) - 1) * size
                more = more or len(rows) > start + size
            rows = rows[start:start + size]
            if total is not None:
                body[TOTAL] = min(total, MAX_ROWS)
                body[TOTAL_EXCEEDED] = total > MAX_ROWS
            if fetch.page_size is not None:
                body[PAGING_COOKIE] = _paging_cookie(entity.key[0], rows, fetch.page or 1)
        timings.mark("db")
        body["value"] = rows
        if fetch.page_size is not None or more:
            body[MORE_RECORDS] = more
        headers = {"OData-Version": "4.0", "Server-Timing": timings.header()}
        return Response(orjson.dumps(body), media_type="application/json", headers=headers)

    return await in_thread(run)


def _plan(service: ReadService, context: PlanContext, entity_set: str, xml: str, today: dt.date,
          names: Catalog | None) -> tuple[FetchRequest, Any, bool]:
    """The translation, its plan, and whether pages count joined rows (count/page with a 1:n link)."""
    fetch = translate(xml, names or service.catalog, today=today, user_id=context.user_id)
    if fetch.entity_set != entity_set or entity_set not in service.catalog.entities:
        raise BadRequest(f"the FetchXML queries {fetch.entity_set}, but the URL addresses {entity_set}: send it to "
                         f"{service.prefix}/{fetch.entity_set}?fetchXml=...", target=PARAMETER)
    entity = service.catalog.entities[entity_set]
    options = fetch.options
    if options.apply is not None:
        page_size = fetch.page_size or MAX_ROWS
        if fetch.page_size is not None:  # the page's groups, and whether one more exists
            options = replace(options, top=None)
        return fetch, plan_apply(context, entity, options, OptionTexts(), "", (), page_size, None), False
    page_size = MAX_ROWS
    joined = fetch.page_size is not None and joins_many(service, entity, fetch)
    if joined:
        # A 1:n link-entity: pages count joined rows, so the parents are read from the first on and
        # the page is cut from their joined rows (handle_fetch); pages stay within 5,000 parents.
        options = replace(options, top=None, skip=None)
    elif fetch.page_size is not None:  # page/count: the page's rows, and whether one more exists
        options = replace(options, top=None)
        page_size = fetch.page_size
    elif options.top is not None:
        page_size = min(options.top, MAX_ROWS)
    return fetch, plan_read(context, entity, options, OptionTexts(), (), page_size, None), joined


def joins_many(service: ReadService, entity: Entity, fetch: FetchRequest) -> bool:
    """Whether a link-entity with columns follows a 1:n relation (each parent row becomes several)."""
    for path in fetch.aliases.values():
        current = entity
        for name in path.split("/"):
            nav = current.navigation.get(name)
            if nav is None:
                break
            if nav.collection:
                return True
            current = service.catalog.entities[nav.target]
    return False


def _other_options(request: Request) -> str:
    """The query string without fetchXml: $format and custom options (cross-company=) still apply."""
    kept = [f"{name}={value}" for name, value in request.query_params.multi_items() if name != PARAMETER]
    for name, _ in request.query_params.multi_items():
        if name.startswith("$") and name.lower() not in ("$format",):
            raise BadRequest(f"{name} cannot be combined with fetchXml: say it in the FetchXML", target=name)
    return "&".join(kept)


def flatten(rows: list[dict[str, Any]], aliases: dict[str, str]) -> list[dict[str, Any]]:
    """Each link-entity's columns onto its row as `alias.column`, deepest links first; a 1:n link
    gives one row per related row (and keeps the row, without the columns, when there is none)."""
    for alias, path in sorted(aliases.items(), key=lambda item: -item[1].count("/")):
        *parents, navigation = path.split("/")
        rows = _flatten_at(rows, parents, navigation, alias)
    return rows


def _flatten_at(rows: list[dict[str, Any]], parents: list[str], navigation: str, alias: str) -> list[dict[str, Any]]:
    """New rows, the given ones untouched: an expanded n:1 row is one dict shared by every parent
    that links to it, so changing it in place would change it under the other parents too."""
    if parents:
        first, rest = parents[0], parents[1:]
        changed: list[dict[str, Any]] = []
        for row in rows:
            nested = row.get(first)
            if isinstance(nested, dict):
                row = {**row, first: _flatten_at([nested], rest, navigation, alias)[0]}
            elif isinstance(nested, list):
                row = {**row, first: _flatten_at(nested, rest, navigation, alias)}
            changed.append(row)
        return changed
    flattened: list[dict[str, Any]] = []
    for row in rows:
        related = row.get(navigation)
        row = {name: value for name, value in row.items() if name != navigation}
        if isinstance(related, list):
            flattened.extend({**row, **_prefixed(item, alias)} for item in related) if related else flattened.append(row)
        else:
            flattened.append({**row, **_prefixed(related, alias)} if isinstance(related, dict) else row)
    return flattened


def _prefixed(related: dict[str, Any], alias: str) -> dict[str, Any]:
    """A related row's columns as `alias.column`; columns of deeper links are already `alias.column`."""
    return {name if "." in name.split("@")[0] else f"{alias}.{name}": value
            for name, value in related.items() if not name.startswith("@odata.")}


def _paging_cookie(key: str, rows: list[dict[str, Any]], page: int) -> str:
    """The cookie Dataverse hands back for the next page (accepted back and not needed: pages are by number)."""
    if not rows or key not in rows[0]:
        return f'<cookie page="{page}" />'
    first, last = rows[0][key], rows[-1][key]
    return f'<cookie page="{page}"><{key} last="{{{html.escape(str(last))}}}" first="{{{html.escape(str(first))}}}" /></cookie>'
