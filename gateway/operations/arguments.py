"""An operation's parameter values: a function's from its URL (literals, @aliases, or 4.01's implicit
aliases in the query string), an action's from its JSON body; each checked against its type."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from gateway.catalog.model import Catalog, Operation, OperationParameter, Property
from gateway.errors import BadRequest, InvalidValue
from gateway.options import RequestOptions, _parse_option
from gateway.plan.types import comparable
from gateway.write.values import parse_value
from grammar import ast


def url_arguments(catalog: Catalog, operation: Operation, pairs: tuple[ast.KeyValue, ...] | None,
                  query: RequestOptions) -> dict[str, Any]:
    """A function's arguments: `F(a=1,b=@x)`; a parameter left out may come as `?b=...` (4.01)."""
    given: dict[str, Any] = {}
    for pair in pairs or ():
        if pair.name is None:
            raise BadRequest(f"{operation.name}: name each parameter, e.g. {operation.name}(name=value)")
        parameter = _parameter(operation, pair.name)
        if parameter.name in given:
            raise BadRequest(f"{operation.name}: parameter {parameter.name} is given twice", target=parameter.name)
        given[parameter.name] = _literal_value(catalog, parameter, pair.value, query.aliases)
    for name, parameter in operation.parameters.items():
        if name not in given and name in query.custom:  # an implicit parameter alias
            node = _parse_option("alias_value_option", f"parameter {name}", query.custom[name])
            given[name] = _literal_value(catalog, parameter, node, query.aliases)
    return _complete(operation, given)


def body_arguments(catalog: Catalog, operation: Operation, body: Any) -> dict[str, Any]:
    """An action's arguments: the members of its JSON body object (an empty body gives none)."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise BadRequest(f"{operation.name}: the body must be a JSON object of the parameters")
    given: dict[str, Any] = {}
    for name, raw in body.items():
        if "@" in name:  # annotations of the payload (e.g. @odata.type) carry no parameter
            continue
        parameter = _parameter(operation, name)
        prop = Property(name=name, column="p.p", type=parameter.type, nullable=parameter.nullable)
        if parameter.collection:
            if not isinstance(raw, list):
                raise InvalidValue(f"{name} must be a JSON array", target=name)
            given[name] = [parse_value(catalog, prop, item) for item in raw]
        else:
            given[name] = parse_value(catalog, prop, raw)
    return _complete(operation, given)


def _parameter(operation: Operation, name: str) -> OperationParameter:
    parameter = operation.parameters.get(name)
    if parameter is None:
        known = ", ".join(operation.parameters) or "none"
        raise BadRequest(f"{operation.name} has no parameter {name} (parameters: {known})", target=name)
    return parameter


def _complete(operation: Operation, given: dict[str, Any]) -> dict[str, Any]:
    for name, parameter in operation.parameters.items():
        if name not in given:
            if not parameter.nullable:
                raise BadRequest(f"{operation.name} needs the parameter {name}", target=name)
            given[name] = None
    return given


def _literal_value(catalog: Catalog, parameter: OperationParameter, node: Any, aliases: dict[str, Any]) -> Any:
    name, type_name = parameter.name, parameter.type
    if isinstance(node, ast.Alias):
        if node.name not in aliases:
            raise BadRequest(f"parameter alias @{node.name} has no value", target=name)
        node = aliases[node.name]
    if isinstance(node, ast.Literal) and node.type == "null":
        if not parameter.nullable:
            raise InvalidValue(f"{name} cannot be null", target=name)
        return None
    if catalog.is_enum(type_name):
        members = {member: value for value, member in catalog.service.enums[type_name].items()}
        if isinstance(node, ast.EnumLiteral) and len(node.members) == 1 and node.members[0] in members:
            return members[node.members[0]]
        if isinstance(node, ast.Literal) and node.type == "Edm.String" and node.value in members:
            return members[str(node.value)]
    elif isinstance(node, ast.Literal) and comparable(type_name, node.type):
        if type_name == "Edm.Guid":
            return str(node.value).lower()
        if isinstance(node.value, dt.datetime) and node.value.tzinfo is not None:
            return node.value.astimezone(dt.UTC).replace(tzinfo=None)
        prop = Property(name=name, column="p.p", type=type_name, nullable=parameter.nullable)
        raw = node.value
        if isinstance(raw, (dt.date, dt.time)):
            return raw
        if type_name in ("Edm.Decimal", "Edm.Double") or type_name.startswith("Edm.Int"):
            # Range and precision checks as for a body (which takes decimals as numbers or strings).
            return parse_value(catalog, prop, str(raw) if isinstance(raw, Decimal) else raw)
        return raw
    raise InvalidValue(f"{name} needs a value of type {type_name}", target=name)
