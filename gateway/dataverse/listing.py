"""$select and $filter over definitions held in memory (EntityDefinitions, Attributes).

Definitions are a few dozen dictionaries built from the catalog, not rows of a database, so the
options are applied here in Python instead of being planned into SQL. The same parsed AST as
everywhere (grammar/) is evaluated, for the part of the language Dataverse's metadata API itself
takes: comparisons of a property with a literal (enum literals such as
Microsoft.Dynamics.CRM.AttributeTypeCode'Picklist' compare by member name), `in`, and, or, not.
"""

from __future__ import annotations

from typing import Any

from gateway.errors import InvalidQueryOption, NotImplemented_, UnknownProperty, did_you_mean
from grammar import ast

Row = dict[str, Any]
_ORDERINGS = ("lt", "le", "gt", "ge")


def _compare(op: str, left: Any, right: Any) -> bool:
    """OData's comparison: eq/ne take null; an ordering with null on either side is false."""
    if op in ("eq", "ne"):
        return bool(left == right) == (op == "eq")
    if left is None or right is None:
        return False
    return bool({"lt": left < right, "le": left <= right, "gt": left > right, "ge": left >= right}[op])


def selected_names(items: tuple[ast.SelectItem, ...] | None, names: list[str], kind: str) -> list[str] | None:
    """The property names $select asks for, in its order (None: every property)."""
    if items is None or any(item.star for item in items):
        return None
    chosen: list[str] = []
    for item in items:
        if len(item.path) != 1 or item.options is not None:
            raise InvalidQueryOption(f"$select on {kind} takes property names only", target="$select")
        _require_known(item.path[0], names, kind, "$select")
        if item.path[0] not in chosen:
            chosen.append(item.path[0])
    return chosen


def project(row: Row, chosen: list[str] | None) -> Row:
    """The chosen properties; Dataverse adds the @odata.type and the MetadataId whatever $select says."""
    if chosen is None:
        return row
    kept = {name: value for name, value in row.items() if name.startswith("@")}
    kept.update({name: row[name] for name in chosen})
    if "MetadataId" in row:
        kept.setdefault("MetadataId", row["MetadataId"])
    return kept


def matches(expression: ast.Expr, row: Row, kind: str, names: list[str]) -> bool:
    """Whether the row satisfies a $filter expression. `names` are the properties of the kind: one
    that a row lacks (MaxLength of a Lookup) is null there; any other name is a 400."""
    return _evaluate(expression, row, (kind, names)) is True


Kind = tuple[str, list[str]]  # the listing's name, for messages, and its property names


def _evaluate(expression: ast.Expr, row: Row, kind: Kind) -> Any:
    if isinstance(expression, ast.BinaryOp) and expression.op in ("and", "or"):
        left = _evaluate(expression.left, row, kind) is True
        right = _evaluate(expression.right, row, kind) is True
        return (left and right) if expression.op == "and" else (left or right)
    if isinstance(expression, ast.BinaryOp) and expression.op in ("eq", "ne", *_ORDERINGS):
        left, right = _value(expression.left, row, kind), _value(expression.right, row, kind)
        try:
            return _compare(expression.op, left, right)
        except TypeError:
            raise InvalidQueryOption(f"$filter on {kind[0]}: cannot compare {left!r} with {right!r}",
                                     target="$filter") from None
    if isinstance(expression, ast.UnaryOp) and expression.op == "not":
        return _evaluate(expression.operand, row, kind) is not True
    if isinstance(expression, ast.In) and isinstance(expression.collection, ast.ListExpr):
        operand = _value(expression.operand, row, kind)
        return operand in [_value(item, row, kind) for item in expression.collection.items]
    raise NotImplemented_(f"$filter on {kind[0]} takes comparisons of a property with a literal (eq, ne, lt, le, "
                          "gt, ge, in) joined by and, or, not", target="$filter")


def _value(expression: ast.Expr, row: Row, kind: Kind) -> Any:
    if isinstance(expression, ast.Literal):
        return None if expression.type == "null" else expression.value
    if isinstance(expression, ast.EnumLiteral):
        return ",".join(expression.members)
    if isinstance(expression, ast.MemberPath) and len(expression.steps) == 1 \
            and isinstance(expression.steps[0], ast.PropertyStep):
        name = expression.steps[0].name
        _require_known(name, kind[1], kind[0], "$filter")
        value = row.get(name)
        if isinstance(value, (dict, list)):
            raise NotImplemented_(f"$filter on {kind[0]}: {name} is not a primitive property", target="$filter")
        return value
    raise NotImplemented_(f"$filter on {kind[0]} takes comparisons of a property with a literal",
                          target="$filter")


def _require_known(name: str, names: list[str], kind: str, option: str) -> None:
    if name not in names or name.startswith("@"):
        shown = [known for known in names if not known.startswith("@")]
        raise UnknownProperty(f"{option}: {kind} has no property '{name}'.{did_you_mean(name, shown)}",
                              target=name)
