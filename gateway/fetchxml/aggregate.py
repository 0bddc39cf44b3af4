"""<fetch aggregate="true"> → $apply: filter first, then compute (renames, date parts), then groupby/aggregate.

FetchXML names every output column by its alias; OData names a grouped column by its path. A group
column whose alias differs from its property name (or one reached through a link-entity, or a date
part) is computed under the alias first, so the answer's JSON names are FetchXML's aliases.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from gateway.catalog.model import Entity
from gateway.errors import BadRequest, did_you_mean
from gateway.fetchxml import names
from grammar import ast

# FetchXML aggregate → OData aggregation method ('count' and 'countcolumn' are handled apart).
_METHODS = {"sum": "sum", "avg": "average", "min": "min", "max": "max"}
_AGGREGATES = ("count", "countcolumn", *_METHODS)
# dategrouping values that are a canonical function of the date; week, quarter and the fiscal ones
# depend on calendars the gateway does not hold.
_DATE_PARTS = ("year", "month", "day")
_DATE_GROUPINGS = ("day", "week", "month", "quarter", "year", "fiscal-period", "fiscal-year")

# One <attribute> of an aggregate query: the element, the entity it names a column of, and the path
# of navigation properties from the root entity to that entity.
AttributeSource = tuple[Element, Entity, tuple[str, ...]]


def steps(path: tuple[str, ...]) -> ast.MemberPath:
    return ast.MemberPath(tuple(ast.PropertyStep(name) for name in path))


def build_apply(
    root: Entity, attributes: list[AttributeSource], orders: list[Element], condition: ast.Expr | None
) -> tuple[tuple[ast.ApplyStep, ...], tuple[ast.OrderItem, ...] | None]:
    """The $apply steps and the $orderby (over the aliases) of an aggregate query."""
    groups: list[ast.MemberPath] = []
    computes: list[ast.ComputeItem] = []
    items: list[ast.AggregateItem] = []
    outputs: set[str] = set()
    for element, entity, prefix in attributes:
        prop = names.column(entity, names.required(element, "name"))
        path = steps((*prefix, prop.name))
        method = element.get("aggregate")
        grouped = names.flag(element, "groupby")
        if method is not None and grouped:
            raise BadRequest(f"<attribute name=\"{prop.name}\"> cannot both group (groupby) and aggregate")
        if grouped:
            output = _group(element, prop.name, prop.type, prefix, path, groups, computes)
        elif method is not None:
            output = names.alias(element, "")
            if not output:
                raise BadRequest(f"<attribute name=\"{prop.name}\" aggregate=\"{method}\"> needs an alias")
            items.append(_aggregate(method, element, prop.name, bool(prefix), prop.nullable, path, output))
        else:
            raise BadRequest(f"in an aggregate query every <attribute> needs groupby=\"true\" or aggregate=\"...\": "
                             f"{prop.name} has neither")
        if output in outputs:
            raise BadRequest(f"the alias '{output}' names two columns of this aggregate query", target=output)
        outputs.add(output)
    apply: list[ast.ApplyStep] = []
    if condition is not None:
        apply.append(ast.ApplyFilter(condition))
    if computes:
        apply.append(ast.ApplyCompute(tuple(computes)))
    if groups:
        apply.append(ast.ApplyGroupBy(tuple(groups), (ast.ApplyAggregate(tuple(items)),) if items else None))
    elif items:
        apply.append(ast.ApplyAggregate(tuple(items)))
    else:
        raise BadRequest("an aggregate query needs at least one <attribute> with groupby=\"true\" or aggregate=\"...\"")
    return tuple(apply), _orders(root, orders, outputs)


def _group(
    element: Element, name: str, edm: str, prefix: tuple[str, ...], path: ast.MemberPath,
    groups: list[ast.MemberPath], computes: list[ast.ComputeItem],
) -> str:
    """Add one group column; its output name is its alias (computed) or its own property name."""
    grouping = element.get("dategrouping")
    alias = names.alias(element, "")
    if grouping is not None:
        if grouping not in _DATE_PARTS:
            known = grouping in _DATE_GROUPINGS
            raise BadRequest(
                f"dategrouping=\"{grouping}\" is " + ("not supported by this service" if known else "unknown")
                + f" (supported: {', '.join(_DATE_PARTS)})." + ("" if known else did_you_mean(grouping, _DATE_PARTS)),
                target="dategrouping",
            )
        if edm not in ("Edm.Date", "Edm.DateTimeOffset"):
            raise BadRequest(f"dategrouping needs a date column; {name} is {edm}", target=name)
        if not alias:
            raise BadRequest(f"<attribute name=\"{name}\" dategrouping=\"{grouping}\"> needs an alias")
        computes.append(ast.ComputeItem(ast.FunctionCall(grouping, (path,)), alias))
        groups.append(steps((alias,)))
        return alias
    if alias and (alias != name or prefix):
        computes.append(ast.ComputeItem(path, alias))
        groups.append(steps((alias,)))
        return alias
    if prefix:  # grouped by a linked column without an alias: the answer nests it under the navigation
        groups.append(path)
        return "/".join((*prefix, name))
    groups.append(path)
    return name


def _aggregate(
    method: str, element: Element, name: str, linked: bool, nullable: bool, path: ast.MemberPath, alias: str
) -> ast.AggregateItem:
    if method == "count":
        return ast.AggregateItem(None, None, alias)
    if method == "countcolumn":
        if names.flag(element, "distinct"):
            return ast.AggregateItem(path, "countdistinct", alias)
        if not nullable and not linked:
            # A column of the root that is never null: every row counts (a linked one may be missing).
            return ast.AggregateItem(None, None, alias)
        raise BadRequest(
            f"aggregate=\"countcolumn\" of the nullable column {name} (count of non-null values) is not supported "
            "by this service; use countcolumn with distinct=\"true\", or count with a not-null condition",
            target=name,
        )
    if method in _METHODS:
        return ast.AggregateItem(path, _METHODS[method], alias)
    raise BadRequest(f"unknown aggregate '{method}' (supported: {', '.join(_AGGREGATES)})."
                     + did_you_mean(method, _AGGREGATES), target=method)


def _orders(root: Entity, orders: list[Element], outputs: set[str]) -> tuple[ast.OrderItem, ...] | None:
    """<order alias="..."> (or attribute= of a group column of the root) over the aggregated rows."""
    items = []
    for element in orders:
        alias = element.get("alias")
        if alias is None:
            attribute = names.required(element, "attribute")
            output = names.column(root, attribute).name
            if output not in outputs:
                raise BadRequest(f"<order attribute=\"{attribute}\"> in an aggregate query must name a group column "
                                 "or use alias=\"...\"", target=attribute)
        else:
            output = alias
            if output not in outputs:
                raise BadRequest(f"<order alias=\"{alias}\"> names no column of this query."
                                 + did_you_mean(alias, sorted(outputs)), target=alias)
        items.append(ast.OrderItem(steps(tuple(output.split("/"))), names.flag(element, "descending")))
    return tuple(items) or None
