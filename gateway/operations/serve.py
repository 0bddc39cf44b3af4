"""Calling functions (GET) and actions (POST) over HTTP.

A function that returns entities is answered by the read pipeline itself, its rows named by a
restriction (gateway/plan/within.py): query options, company scope, privileges, paging and $expand all
apply. Values (primitive or enum) are answered as `{"@odata.context": ...#Edm.Decimal, "value": ...}`.
Actions run in one WriteUnit (or their $batch change set's), their writes through EntityWriter.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import replace
from functools import cache
from typing import Any

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response

from gateway.catalog.model import Catalog, Entity, Operation
from gateway.errors import BadRequest, Forbidden, MethodNotAllowed, NotFound, PreconditionFailed
from gateway.execute import read_one
from gateway.identity.visible import operation_privilege
from gateway.negotiate import content_type, json_format
from gateway.operations.arguments import body_arguments, url_arguments
from gateway.operations.call import OperationCall
from gateway.operations.sql import Parameters, bound_sql
from gateway.operations.target import OperationPath
from gateway.options import RequestOptions, parse_query
from gateway.plan.query import OptionTexts, plan_read
from gateway.plan.scope import PlanContext
from gateway.plan.within import Within
from gateway.read import ReadService, handle_read, lookup_on, request_context
from gateway.resource import Target, canonical_key, resolve
from gateway.serialize.json import dumps, entity_body
from gateway.serialize.values import JsonFormat, converter
from gateway.threads import in_thread
from gateway.write.entity import EntityWriter
from gateway.write.http import if_match_values, json_body, write_preferences
from gateway.write.unit import WriteUnit
from grammar import ast

Implementation = Callable[[OperationCall], Any]


async def handle_operation(service: ReadService, request: Request, resource_path: str, path: OperationPath) -> Response:
    operation = path.operation
    if operation.kind == "function":
        if request.method not in ("GET", "HEAD"):
            raise MethodNotAllowed(f"{operation.name} is a function: call it with GET", headers={"Allow": "GET"})
        if operation.returns is not None and operation.returns.entity_set is not None:
            return await handle_read(service, request, resource_path,
                                     lambda context, query: _function_target(service, context, query, path))
        return await _function_values(service, request, path)
    if request.method != "POST":
        raise MethodNotAllowed(f"{operation.name} is an action: invoke it with POST", headers={"Allow": "POST"})
    if path.arguments:
        raise BadRequest(f"{operation.name} is an action: its parameters go in the JSON body, not the URL")
    if path.rest:
        raise BadRequest(f"the result of the action {operation.name} cannot be addressed further")
    return await _action(service, request, path)


# ---------------------------------------------------------------------- functions
def _function_target(service: ReadService, context: PlanContext, query: RequestOptions, path: OperationPath) -> Target:
    """The returned entities as a read target: composable like an entity set."""
    operation = path.operation
    assert operation.returns is not None and operation.returns.entity_set is not None
    returned = service.catalog.entities[operation.returns.entity_set]
    with service.engine.connect() as connection:
        call = _prepare_call(service, context, query, path, connection, None)
        arguments = url_arguments(service.catalog, operation, path.arguments, query)
        call.parameters = arguments
        if operation.sql is not None:
            parameters = _sql_parameters(service.catalog, operation, call)
            if not operation.returns.collection:
                row = connection.execute(bound_sql(service.catalog, operation.sql, parameters)).first()
                keys = [] if row is None else [dict(zip(returned.key, row))]
                within = None
            else:
                within = Within(sql=operation.sql, parameters=parameters)
        else:
            result = _implementation(operation)(call)
            keys = _keys_of(returned, result, operation)
            within = Within(keys=tuple(tuple(key[name] for name in returned.key) for key in keys))
    if operation.returns.collection:
        assert within is not None
        if len(path.rest) == 1 and isinstance(path.rest[0], ast.SpecialSegment) and path.rest[0].kind == "$count":
            return Target("count", returned, within=within)
        _no_rest(path)
        return Target("collection", returned, within=within)
    _no_rest(path)
    if not keys:
        raise NotFound(f"{operation.name} returned no {returned.entity_type}")
    fixed = tuple((name, keys[0][name]) for name in returned.key)
    return Target("entity", returned, fixed, key_text=canonical_key(returned, dict(fixed)))


def _no_rest(path: OperationPath) -> None:
    if path.rest:
        raise BadRequest(f"only /$count may follow {path.operation.name}(...) (it returns a collection)"
                         if path.operation.returns and path.operation.returns.collection
                         else f"nothing may follow {path.operation.name}(...)")


async def _function_values(service: ReadService, request: Request, path: OperationPath) -> Response:
    operation = path.operation
    query = parse_query(request.scope["query_string"].decode("latin-1"), service.expression_limits)
    fmt = json_format(request.headers.get("accept"), query.format)
    context = request_context(service, request, query.custom, query.aliases)
    if path.rest:
        raise BadRequest(f"nothing may follow {operation.name}(...): it returns values")

    def run() -> Any:
        with service.engine.connect() as connection:
            call = _prepare_call(service, context, query, path, connection, None)
            call.parameters = url_arguments(service.catalog, operation, path.arguments, query)
            if operation.sql is not None:
                statement = bound_sql(service.catalog, operation.sql, _sql_parameters(service.catalog, operation, call))
                result = connection.execute(statement)
                assert operation.returns is not None
                return list(result.scalars()) if operation.returns.collection else result.scalar()
            return _implementation(operation)(call)

    return _value_response(service.catalog, operation, await in_thread(run), fmt, _base(service, request))


# ---------------------------------------------------------------------- actions
async def _action(service: ReadService, request: Request, path: OperationPath) -> Response:
    operation = path.operation
    query = parse_query(request.scope["query_string"].decode("latin-1"), service.expression_limits)
    fmt = json_format(request.headers.get("accept"), query.format)
    context = request_context(service, request, query.custom, query.aliases)
    raw = await request.body()
    body = json_body(request.headers.get("content-type"), raw) if raw.strip() else None
    if_match = if_match_values(request.headers.get("if-match"))
    base = _base(service, request)

    def invoke(unit: WriteUnit) -> Response:
        call = _prepare_call(service, context, query, path, unit.connection, unit)
        if if_match is not None:
            _check_precondition(call, unit, context, if_match)
        call.parameters = body_arguments(service.catalog, operation, body)
        result = _implementation(operation)(call)
        returns = operation.returns
        if returns is None:
            return Response(status_code=204, headers={"OData-Version": "4.0"})
        if returns.entity_set is None:
            return _value_response(service.catalog, operation, result, fmt, base)
        returned = service.catalog.entities[returns.entity_set]
        rows = [_read_back(unit.connection, context, returned, key, fmt, base)
                for key in _keys_of(returned, result, operation)]
        headers = {"OData-Version": "4.0", "Content-Type": content_type(fmt)}
        context_url = f"{base}$metadata#{returned.entity_set}"
        if returns.collection:
            document: dict[str, Any] = {"@odata.context": context_url} if fmt.annotations else {}
            document["value"] = rows
            return Response(dumps(document), headers=headers, media_type=None)
        if not rows:
            return Response(status_code=204, headers={"OData-Version": "4.0"})
        if "@odata.etag" in rows[0]:
            headers["ETag"] = rows[0]["@odata.etag"]
        suffix = "" if returned.singleton else "/$entity"
        return Response(entity_body(rows[0], fmt, context_url + suffix), headers=headers, media_type=None)

    def run() -> Response:
        shared: WriteUnit | None = request.scope.get("fno.unit")
        if shared is not None:
            return invoke(shared)  # a $batch change set: it commits or rolls back as a whole
        trail = service.audit.trail(request.scope) if service.audit is not None else None
        dry_run = write_preferences(request.headers.getlist("prefer")).dry_run  # Prefer: tx=rollback
        with WriteUnit(service.engine, service.catalog, dry_run, service.write_hook, trail, service.events) as unit:
            return invoke(unit)

    return await in_thread(run)


def _check_precondition(call: OperationCall, unit: WriteUnit, context: PlanContext, if_match: list[str]) -> None:
    """If-Match on a bound action: the bound entity must still be the version the client saw."""
    binding = call.binding
    operation = context.catalog.operations[call.name]
    if binding is None or operation.binding is None:
        raise BadRequest(f"If-Match needs an action bound to an entity; {call.name} is not")
    entity = context.catalog.entities[operation.binding.entity_set]
    if not entity.writable:
        raise PreconditionFailed(f"{entity.entity_set} has no ETags to match")
    current = EntityWriter(unit, context, entity).current_etag(tuple((name, binding[name]) for name in entity.key))
    if current is None or ("*" not in if_match and current not in if_match):
        raise PreconditionFailed(f"the {entity.entity_type} has changed since its ETag was read")


def _read_back(connection: Connection, context: PlanContext, entity: Entity, key: dict[str, Any], fmt: JsonFormat,
               base: str) -> dict[str, Any]:
    fixed = tuple((name, key[name]) for name in entity.key)
    written = context if not context.writable_companies else _writable(context)
    row = read_one(connection, written, plan_read(written, entity, ast.QueryOptions(), OptionTexts(), fixed), fmt, base)
    if row is None:
        raise NotFound(f"the {entity.entity_type} the action returned does not exist (or is not yours to see)")
    return row


def _writable(context: PlanContext) -> PlanContext:
    """A create may have gone to another company than the request reads (as in write/http.py)."""
    return replace(context, companies=context.writable_companies)


# ---------------------------------------------------------------------- shared
def _prepare_call(service: ReadService, context: PlanContext, query: RequestOptions, path: OperationPath,
                  connection: Connection, unit: WriteUnit | None) -> OperationCall:
    """The caller's privilege on the operation, and the entity it is bound to (404 when it is not
    there or not the caller's to see)."""
    operation = path.operation
    privilege = operation_privilege(operation)
    if not context.access.unrestricted and not context.access.may(operation.name, privilege):
        raise Forbidden(f"you lack the {privilege} privilege on the {operation.kind} {operation.name} "
                        f"(your roles: {', '.join(context.access.access.roles) or 'none'})", target=operation.name)
    binding: dict[str, Any] | None = None
    if operation.binding is not None:
        target = resolve(service.catalog, path.binding, query.aliases, lookup_on(connection, context))
        expected = operation.binding.entity_set
        wanted = "collection" if operation.binding.collection else "entity"
        if target.entity.entity_set != expected or target.kind != wanted:
            raise BadRequest(f"{operation.name} is bound to {'the collection' if wanted == 'collection' else 'an entity'}"
                             f" of {expected}, not to this {target.kind} of {target.entity.entity_set}")
        if wanted == "entity":
            context.access.require(target.entity, "read")
            row = lookup_on(connection, context)(target.entity, target.fixed, tuple(target.entity.key))
            if row is None:
                raise NotFound(f"no {target.entity.entity_type} with key {target.key_text}")
            binding = dict(zip(target.entity.key, row))
    return OperationCall(operation.name, {}, binding, connection, context, unit)


def _sql_parameters(catalog: Catalog, operation: Operation, call: OperationCall) -> Parameters:
    """The SQL's named parameters: the bound entity's key properties, then the operation's own."""
    typed: list[tuple[str, Any, str]] = []
    if operation.binding is not None and call.binding is not None:
        bound = catalog.entities[operation.binding.entity_set]
        typed += [(name, value, bound.properties[name].type) for name, value in call.binding.items()]
    typed += [(name, call.parameters[name], parameter.type) for name, parameter in sorted(operation.parameters.items())]
    return tuple(typed)


def _keys_of(entity: Entity, result: Any, operation: Operation) -> list[dict[str, Any]]:
    """A Python implementation's answer as key dicts: a key dict, a list of them, or None."""
    if result is None:
        return []
    items = [result] if isinstance(result, dict) else list(result)
    keys = []
    for item in items:
        if not isinstance(item, dict) or any(name not in item for name in entity.key):
            raise TypeError(f"{operation.name} must return keys of {entity.entity_set} ({', '.join(entity.key)}) "
                            f"as dicts, not {item!r}")
        keys.append({name: item[name] for name in entity.key})
    return keys


def _value_response(catalog: Catalog, operation: Operation, result: Any, fmt: JsonFormat, base: str) -> Response:
    returns = operation.returns
    assert returns is not None and returns.type is not None
    convert = converter(returns.type, catalog, fmt)
    type_name = catalog.qualified(returns.type) if catalog.is_enum(returns.type) else returns.type
    headers = {"OData-Version": "4.0", "Content-Type": content_type(fmt)}
    if returns.collection:
        value: Any = [convert(item) for item in (result or [])]
        type_name = f"Collection({type_name})"
    else:
        value = convert(result)
        if value is None:
            return Response(status_code=204, headers={"OData-Version": "4.0"})
    document: dict[str, Any] = {"@odata.context": f"{base}$metadata#{type_name}"} if fmt.annotations else {}
    document["value"] = value
    return Response(dumps(document), headers=headers, media_type=None)


def _base(service: ReadService, request: Request) -> str:
    return str(request.base_url).rstrip("/") + service.prefix + "/"


@cache
def _load(reference: str) -> Implementation:
    module_name, _, function_name = reference.partition(":")
    implementation: Implementation = getattr(importlib.import_module(module_name), function_name)
    return implementation


def _implementation(operation: Operation) -> Implementation:
    assert operation.python is not None
    return _load(operation.python)
