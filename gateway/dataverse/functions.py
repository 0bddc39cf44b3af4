"""Dataverse Web API functions on /api/data/v9.2: what Power Apps style clients call first.

- `WhoAmI()`: who the caller is, as Dataverse ids (WhoAmIResponse). The gateway has no systemuser
  table, so the ids are derived, stable and documented:
  UserId = uuid5(NAMESPACE_URL, "fno-gateway:systemuser:" + the principal's name, lower-cased) (the
  name the audit log records: the user entry's id or the token's upn/preferred_username/sub;
  "app:NAME" for an application, "apikey:NAME" for an API key, "anonymous");
  OrganizationId = uuid5(NAMESPACE_URL, "fno-gateway:organization:" + the Dataverse store's URL
  without its password), one per gateway database;
  BusinessUnitId = uuid5(OrganizationId, "businessunit:" + the caller's default company), since
  dual-write makes one business unit per legal entity.
- `EntityDefinitions`, `EntityDefinitions(LogicalName='account')` (or its MetadataId) and
  `.../Attributes`: the tables and columns (gateway/dataverse/definitions.py) the caller may read.
- `RetrieveTotalRecordCount(EntityNames=@p1)?@p1=["account"]`: rows per table, counted by the same
  planner as every read, so the read privilege and company scoping apply; counts are live, not
  Dataverse's 24-hour snapshot.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.catalog.model import Entity
from gateway.dataverse.definitions import attribute_definitions, entity_definition
from gateway.dataverse.listing import Row, matches, project, selected_names
from gateway.errors import (
    BadRequest,
    InvalidKey,
    InvalidQueryOption,
    MethodNotAllowed,
    NotFound,
    NotImplemented_,
    SyntaxError_,
    caret,
    did_you_mean,
)
from gateway.identity.access import ServiceAccess
from gateway.identity.visible import visible_catalog
from gateway.negotiate import json_format
from gateway.options import RequestOptions, parse_query
from gateway.plan.query import OptionTexts, plan_read
from gateway.principal import Principal, principal_of, user_id
from gateway.read import ReadService, request_context
from gateway.threads import in_thread
from grammar import ast
from grammar.parser import ODataSyntaxError, parse

NAMESPACE = "Microsoft.Dynamics.CRM"
FUNCTIONS = ("WhoAmI", "EntityDefinitions", "RetrieveTotalRecordCount")
_METHODS = ["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"]
# Query options a metadata listing answers; the rest would be silently wrong if ignored.
_LISTING_OPTIONS = ("select", "filter", "expand")


@dataclass(frozen=True)
class Call:
    """One function call: the service, the caller, the parsed path and query, the service root URL."""

    service: ReadService
    request: Request
    principal: Principal
    access: ServiceAccess
    segments: tuple[ast.NamedSegment, ...]
    query: RequestOptions
    base: str
    virtual: ReadService | None = None  # the visible virtual tables (their catalog is in `service`'s too)

    def service_of(self, entity: Entity) -> ReadService:
        """Where a table's rows are: the F&O database for a virtual table, the store for a native one."""
        if self.virtual is not None and entity.entity_set in self.virtual.catalog.entities:
            return self.virtual
        return self.service


def function_routes(prefix: str) -> list[Route]:
    """Routes for the functions, to be placed before the service's catch-all resource route.
    Each handler finds the service in app.state.services at call time (the final ReadService, with
    its limits), so the routes can be made before the app is."""
    return [Route(f"{prefix}/{name}{{rest:path}}", _handler(prefix), methods=_METHODS) for name in FUNCTIONS]


def _handler(prefix: str) -> Callable[[Request], Any]:
    async def handle(request: Request) -> Response:
        service: ReadService | None = request.app.state.services.get(prefix)
        if service is None:
            raise NotFound(f"nothing is served at {request.url.path}")
        if request.method not in ("GET", "HEAD"):
            raise MethodNotAllowed(f"{request.method} is not allowed on a function", headers={"Allow": "GET, HEAD"})
        principal = principal_of(request.scope)
        path = request.scope["path"][len(prefix) + 1:]
        query = parse_query(request.scope["query_string"].decode("latin-1"), service.expression_limits)
        segments = _parse_path(path)
        name = segments[0].name
        if name not in _CALLS:
            raise NotFound(f"no function or table named '{name}' is served here.{did_you_mean(name, FUNCTIONS)}",
                           target=name)
        base = str(request.base_url).rstrip("/") + prefix + "/"
        virtual = getattr(request.app.state, "virtual", None)
        if virtual is not None:  # the native and the visible virtual tables, with both privileges checked
            served = virtual.served()
            call = Call(replace(service, catalog=served.merged), request, principal, virtual.access(principal.access),
                        segments, query, base, served.read)
        else:
            call = Call(service, request, principal, principal.access.service(service.name), segments, query, base)
        body = await in_thread(_CALLS[name], call)
        if not json_format(request.headers.get("accept"), query.format).annotations:
            body = _without_annotations(body)
        return Response(orjson.dumps(body), media_type="application/json", headers={"OData-Version": "4.0"})

    return handle


def _parse_path(path: str) -> tuple[ast.NamedSegment, ...]:
    try:
        segments = parse("resource_path", path)
    except ODataSyntaxError as error:
        raise SyntaxError_(f"resource path: {error.reason} at position {error.position}\n"
                           f"{caret(path, error.position)}") from None
    if not all(isinstance(segment, ast.NamedSegment) for segment in segments):
        raise BadRequest(f"'{path}' is not a function call this service answers")
    return tuple(segments)


def _without_annotations(value: Any) -> Any:
    """odata.metadata=none: no @odata.context, no @odata.type."""
    if isinstance(value, dict):
        return {key: _without_annotations(item) for key, item in value.items() if not key.startswith("@odata.")}
    if isinstance(value, list):
        return [_without_annotations(item) for item in value]
    return value


def _no_more_segments(call: Call, allowed: int) -> None:
    if len(call.segments) > allowed:
        extra = call.segments[allowed].name
        raise NotFound(f"{call.segments[0].name} has no part '{extra}'", target=extra)


# ------------------------------------------------------------------------------------------------ WhoAmI
def organization_id(service: ReadService) -> uuid.UUID:
    url = service.engine.url.render_as_string(hide_password=True)
    return uuid.uuid5(uuid.NAMESPACE_URL, "fno-gateway:organization:" + url)


def business_unit_id(organization: uuid.UUID, principal: Principal) -> uuid.UUID:
    return uuid.uuid5(organization, "businessunit:" + principal.default_company.lower())


def who_am_i(call: Call) -> dict[str, Any]:
    _no_more_segments(call, 1)
    if call.segments[0].key:
        raise BadRequest("WhoAmI takes no parameters", target="WhoAmI")
    organization = organization_id(call.service)
    return {
        "@odata.context": f"{call.base}$metadata#{NAMESPACE}.WhoAmIResponse",
        "BusinessUnitId": str(business_unit_id(organization, call.principal)),
        "UserId": str(user_id(call.principal)),
        "OrganizationId": str(organization),
    }


# ------------------------------------------------------------------------------------------------ RetrieveTotalRecordCount
def retrieve_total_record_count(call: Call) -> dict[str, Any]:
    _no_more_segments(call, 1)
    names = _entity_names(call)
    catalog = call.service.catalog
    entities: list[Entity] = []
    for name in names:
        entity = catalog.entity_types.get(name)
        if entity is None:
            raise BadRequest(f"EntityNames: no table with the logical name '{name}'."
                             f"{did_you_mean(name, catalog.entity_types)}", target="EntityNames")
        entities.append(entity)
    # One plan per table, as any read: the read privilege and the company scope are the planner's.
    values: list[int] = []
    for entity in entities:
        service = call.service_of(entity)
        context = request_context(service, call.request, call.query.custom, call.query.aliases)
        statement = plan_read(context, entity, ast.QueryOptions(count=True), OptionTexts()).count_statement
        assert statement is not None  # $count=true always plans a count
        with service.engine.connect() as connection:
            values.append(int(connection.execute(statement).scalar_one()))
    return {
        "@odata.context": f"{call.base}$metadata#{NAMESPACE}.RetrieveTotalRecordCountResponse",
        "EntityRecordCountCollection": {"Count": len(names), "IsReadOnly": False, "Keys": names, "Values": values},
    }


def _entity_names(call: Call) -> list[str]:
    key = call.segments[0].key or ()
    if len(key) != 1 or key[0].name != "EntityNames":
        raise BadRequest("RetrieveTotalRecordCount takes one parameter: "
                         "RetrieveTotalRecordCount(EntityNames=@p1)?@p1=[\"account\",\"salesorder\"]",
                         target="EntityNames")
    value = key[0].value
    if isinstance(value, ast.Alias):
        if value.name not in call.query.aliases:
            raise BadRequest(f"the parameter alias @{value.name} is not given in the query string",
                             target="@" + value.name)
        value = call.query.aliases[value.name]
    items = value.items if isinstance(value, ast.ListExpr) else None
    if not items or not all(isinstance(item, ast.Literal) and item.type == "Edm.String" for item in items):
        raise BadRequest("EntityNames must be a non-empty list of logical names, e.g. [\"account\",\"salesorder\"]",
                         target="EntityNames")
    names: list[str] = []
    for item in items:
        name = str(item.value)  # type: ignore[union-attr]
        if name not in names:
            names.append(name)
    return names


# ------------------------------------------------------------------------------------------------ EntityDefinitions
def entity_definitions(call: Call) -> dict[str, Any]:
    _no_more_segments(call, 2)
    options = call.query.options
    for option in ("orderby", "top", "skip", "count", "search", "compute", "apply", "levels"):
        if getattr(options, option) is not None:
            raise NotImplemented_(f"${option} is not supported on EntityDefinitions "
                                  f"(supported: {', '.join('$' + name for name in _LISTING_OPTIONS)})",
                                  target="$" + option)
    catalog = visible_catalog(call.service.catalog, call.access)
    visible = set(catalog.entities)
    first = call.segments[0]
    names = _definition_names(call)
    if not first.key:
        if len(call.segments) > 1:
            raise BadRequest("address one table first: EntityDefinitions(LogicalName='account')/Attributes")
        rows = [_with_attributes(call, entity, visible, options.expand) for entity in catalog.entities.values()]
        chosen = selected_names(options.select, names, "EntityDefinitions")
        kept = [project(row, _keep_expanded(chosen, options.expand)) for row in rows
                if options.filter is None or matches(options.filter, row, "EntityDefinitions", names)]
        return {"@odata.context": f"{call.base}$metadata#EntityDefinitions{_projection(chosen)}", "value": kept}
    entity = _entity_by_key(call, first.key)
    if len(call.segments) == 2:
        return _attributes(call, entity, visible)
    row = _with_attributes(call, entity, visible, options.expand)
    chosen = selected_names(options.select, names, "EntityDefinitions")
    context = f"{call.base}$metadata#EntityDefinitions{_projection(chosen)}/$entity"
    return {"@odata.context": context, **project(row, _keep_expanded(chosen, options.expand))}


def _definition_names(call: Call) -> list[str]:
    """EntityMetadata's property names (every definition has the same)."""
    return list(entity_definition(next(iter(call.service.catalog.entities.values()))))


def _keep_expanded(chosen: list[str] | None, expand: tuple[ast.ExpandItem, ...] | None) -> list[str] | None:
    """An expanded Attributes stays in the answer whatever $select names."""
    return chosen if chosen is None or not expand else [*chosen, "Attributes"]


def _projection(chosen: list[str] | None) -> str:
    return "" if chosen is None else "(" + ",".join(chosen) + ")"


def _entity_by_key(call: Call, key: tuple[ast.KeyValue, ...]) -> Entity:
    """EntityDefinitions(LogicalName='account') or EntityDefinitions(<MetadataId>)."""
    catalog = call.service.catalog
    found: Entity | None = None
    if len(key) == 1 and key[0].name == "LogicalName" and isinstance(key[0].value, ast.Literal) \
            and key[0].value.type == "Edm.String":
        name = str(key[0].value.value)
        found = catalog.entity_types.get(name)
        hint = did_you_mean(name, catalog.entity_types)
    elif len(key) == 1 and key[0].name in (None, "MetadataId") and isinstance(key[0].value, ast.Literal) \
            and key[0].value.type == "Edm.Guid":
        wanted = str(key[0].value.value)
        found = next((entity for entity in catalog.entities.values()
                      if entity_definition(entity)["MetadataId"] == wanted), None)
        hint = ""
    else:
        raise InvalidKey("EntityDefinitions is addressed by LogicalName='name' or by its MetadataId (a Guid)",
                         target="EntityDefinitions")
    if found is None:
        raise NotFound(f"no table definition with that key.{hint}", target="EntityDefinitions")
    call.access.require(found, "read")  # a table the caller may not read: 403, as its rows are
    return found


def _with_attributes(call: Call, entity: Entity, visible: set[str],
                     expand: tuple[ast.ExpandItem, ...] | None) -> Row:
    row = entity_definition(entity)
    for item in expand or ():
        if item.star or item.path != ("Attributes",) or item.ref or item.count:
            raise InvalidQueryOption("$expand on EntityDefinitions takes Attributes (with $select and $filter)",
                                     target="$expand")
        nested = item.options or ast.QueryOptions()
        row["Attributes"] = _listed(attribute_definitions(call.service.catalog, entity, visible), nested)[1]
    return row


def _attributes(call: Call, entity: Entity, visible: set[str]) -> dict[str, Any]:
    segment = call.segments[1]
    if segment.name != "Attributes":
        raise NotFound(f"EntityDefinitions has no part '{segment.name}' here (served: Attributes)",
                       target=segment.name)
    if call.query.options.expand:
        raise InvalidQueryOption("Attributes take no $expand", target="$expand")
    attributes = attribute_definitions(call.service.catalog, entity, visible)
    chosen, rows = _listed(attributes, call.query.options)
    context = f"{call.base}$metadata#EntityDefinitions({entity_definition(entity)['MetadataId']})/Attributes"
    if not segment.key:
        return {"@odata.context": context + _projection(chosen), "value": rows}
    name = _attribute_key(segment.key)
    one = next((row for row in rows if name in (row["LogicalName"], row["MetadataId"])), None)
    if one is None:
        raise NotFound(f"{entity.entity_type} has no attribute '{name}'."
                       f"{did_you_mean(name, [row['LogicalName'] for row in attributes])}", target=name)
    return {"@odata.context": context + _projection(chosen) + "/$entity", **one}


def _attribute_key(key: tuple[ast.KeyValue, ...]) -> str:
    if len(key) == 1 and isinstance(key[0].value, ast.Literal) and (
            key[0].name == "LogicalName" and key[0].value.type == "Edm.String"
            or key[0].name in (None, "MetadataId") and key[0].value.type == "Edm.Guid"):
        return str(key[0].value.value)
    raise InvalidKey("Attributes are addressed by LogicalName='name' or by their MetadataId", target="Attributes")


def _listed(rows: list[Row], options: ast.QueryOptions) -> tuple[list[str] | None, list[Row]]:
    names = sorted({name for row in rows for name in row})
    chosen = selected_names(options.select, names, "Attributes")
    kept = [project(row, [name for name in chosen if name in row] if chosen else chosen) for row in rows
            if options.filter is None or matches(options.filter, row, "Attributes", names)]
    return chosen, kept


_CALLS: dict[str, Callable[[Call], dict[str, Any]]] = {
    "WhoAmI": who_am_i,
    "EntityDefinitions": entity_definitions,
    "RetrieveTotalRecordCount": retrieve_total_record_count,
}
