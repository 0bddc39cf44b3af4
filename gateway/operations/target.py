"""Find a function or action call in a resource path.

    /GetTopProducts(count=3)                       an unbound function (a function import)
    /ResetPrices                                   an unbound action (an action import), POST
    /Products(ID)/Example.Catalog.PriceWithTax(rate=0.2)   a function bound to an entity
    /SalesOrderHeadersV2(...)/Microsoft.Dynamics.DataEntities.ConfirmSalesOrder   a bound action
    /GetTopProducts(count=3)/$count                a composable function's result, further addressed

Bound operations are named with their namespace (OData 4.0), or without it (4.01's default namespace)
where no property or navigation property has the name.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.catalog.model import Catalog, Operation
from gateway.errors import BadRequest
from grammar import ast


@dataclass(frozen=True)
class OperationPath:
    operation: Operation
    binding: tuple[ast.Segment, ...]  # the path to the bound entity or collection; () when unbound
    arguments: tuple[ast.KeyValue, ...] | None  # a function's (name=value, ...) from the URL
    rest: tuple[ast.Segment, ...]  # what follows the call (a function's result addressed further)


def find_operation(catalog: Catalog, segments: tuple[ast.Segment, ...]) -> OperationPath | None:
    """The operation call in `segments`, or None when the path addresses data only."""
    if not catalog.operations or not segments:
        return None
    first = segments[0]
    if isinstance(first, ast.NamedSegment) and first.name not in catalog.entities:
        operation = catalog.operations.get(first.name)
        if operation is not None:
            if operation.binding is not None:
                raise BadRequest(f"{operation.name} is bound to {operation.binding.entity_set}: call it on one "
                                 f"of its {'collections' if operation.binding.collection else 'entities'}")
            return OperationPath(operation, (), first.key, segments[1:])
    for index, segment in enumerate(segments[1:], start=1):
        operation = _bound_operation(catalog, segment)
        if operation is not None:
            arguments = segment.key if isinstance(segment, ast.NamedSegment) else None
            return OperationPath(operation, segments[:index], arguments, segments[index + 1:])
    return None


def _bound_operation(catalog: Catalog, segment: ast.Segment) -> Operation | None:
    name = segment.name
    namespace = catalog.service.namespace + "."
    if isinstance(segment, ast.SpecialSegment) and segment.kind != "type":
        return None
    qualified = name.startswith(namespace)
    operation = catalog.operations.get(name[len(namespace):] if qualified else name)
    if operation is None or operation.binding is None:
        return None
    if not qualified and isinstance(segment, ast.SpecialSegment):
        return None
    if not qualified:  # a bare name: only where the bound entity has no member of that name
        bound = catalog.entities[operation.binding.entity_set]
        if name in bound.properties or name in bound.navigation:
            return None
    return operation
