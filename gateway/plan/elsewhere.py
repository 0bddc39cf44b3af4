"""Conditions on rows of another database: a semi-join by the link values read there.

A virtual table's lookup to a native table (gateway/virtual/relations.py) crosses databases, so
`mserp_fk_cdm_company_id/cdm_name eq 'Contoso Germany'` cannot be a join. The largest part of a
$filter that looks only through one such lookup becomes `link IN (values)`, where the values are
the link column of the other table's matching rows, read from its database when the statement
runs (a bind parameter with a callable: a cached plan reads them afresh every time). With OData's
null rules kept: `Nav/p ne 'x'` and `Nav/p eq null` hold for rows without a related row, so they
become `NOT IN` the values of the opposite condition.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, bindparam, select
from sqlalchemy.sql.elements import ColumnElement

from gateway.catalog.model import Navigation
from gateway.errors import BadRequest
from gateway.plan.scope import EntityScope
from gateway.plan.typed import BOOLEAN, Typed
from grammar import ast

if TYPE_CHECKING:
    from gateway.plan.expressions import ExpressionCompiler

MAX_VALUES = 10_000  # link values a semi-join may carry into an IN list
_CONDITIONS = ("eq", "ne", "lt", "le", "gt", "ge", "and", "or", "has")


def foreign_only(compiler: ExpressionCompiler, node: ast.Expr) -> Navigation | None:
    """The lookup to another database that every member path of this condition goes through, if
    there is exactly one and the condition reads nothing of this row (else None)."""
    elsewhere = compiler.context.elsewhere
    if elsewhere is None:
        return None
    navigation = elsewhere.navigation.get(compiler.scope.entity.entity_set)
    if not navigation or not _is_condition(node):
        return None
    found: set[str] = set()
    if not _through(node, navigation, found) or len(found) != 1:
        return None
    return navigation[found.pop()]


def semi_join(compiler: ExpressionCompiler, node: ast.Expr, nav: Navigation) -> Typed:
    elsewhere = compiler.context.elsewhere
    assert elsewhere is not None
    if len(nav.link) != 1:
        raise BadRequest(compiler._at(node, f"{nav.name} links by several columns: follow it with $expand, "
                                            "not in an expression"))
    (mine, theirs), = nav.link.items()
    negated = False
    if isinstance(node, ast.BinaryOp) and node.op in ("eq", "ne") and _is_null(node.right):
        negated = node.op == "eq"  # eq null: no related row, or one whose value is null
        node = ast.BinaryOp("ne", node.left, node.right, node.pos)
    elif isinstance(node, ast.BinaryOp) and node.op == "ne":
        negated = True  # ne 'x': no related row, or one whose value is not 'x'
        node = ast.BinaryOp("eq", node.left, node.right, node.pos)
    other = elsewhere.context
    target = EntityScope(other.catalog.entities[nav.target], other)
    from gateway.plan.expressions import ExpressionCompiler  # (its own module imports this one)

    predicate = ExpressionCompiler(other, target, compiler.text).predicate(_strip(node, nav.name))
    link = target.link_column(theirs)
    statement = select(link).distinct().select_from(target.from_clause()).where(target.where(), predicate)
    values: Any = bindparam(compiler.context.unique("elsewhere"), callable_=_reader(elsewhere.engine, statement, nav),
                       expanding=True)
    column: ColumnElement[Any] = compiler.scope.column(mine)
    return Typed(column.not_in(values) if negated else column.in_(values), BOOLEAN, False)


def _reader(engine: Engine, statement: Any, nav: Navigation) -> Callable[[], list[object]]:
    def read() -> list[object]:
        with engine.connect() as connection:
            values = [row[0] for row in connection.execute(statement.limit(MAX_VALUES + 1))]
        if len(values) > MAX_VALUES:
            raise BadRequest(f"the condition on {nav.name} matches more than {MAX_VALUES:,} rows of "
                             f"{nav.target} in the other database: narrow it")
        return values

    return read


def _is_condition(node: ast.Expr) -> bool:
    if isinstance(node, ast.BinaryOp):
        return node.op in _CONDITIONS
    return isinstance(node, (ast.In, ast.FunctionCall)) or (isinstance(node, ast.UnaryOp) and node.op == "not")


def _is_null(node: ast.Expr) -> bool:
    return isinstance(node, ast.Literal) and node.type == "null"


def _through(node: Any, navigation: dict[str, Navigation] | Any, found: set[str]) -> bool:
    """Whether every member path of `node` starts with one of `navigation` (noting which), and
    nothing else refers to a row."""
    if isinstance(node, ast.MemberPath):
        first = node.steps[0]
        if isinstance(first, ast.PropertyStep) and first.name in navigation and len(node.steps) > 1:
            found.add(first.name)
            return True
        return False
    if isinstance(node, (ast.Literal, ast.EnumLiteral, ast.Alias)):
        return True
    if isinstance(node, ast.BinaryOp):
        return _through(node.left, navigation, found) and _through(node.right, navigation, found)
    if isinstance(node, ast.UnaryOp):
        return _through(node.operand, navigation, found)
    if isinstance(node, ast.In):
        return _through(node.operand, navigation, found) and _through(node.collection, navigation, found)
    if isinstance(node, ast.ListExpr):
        return all(_through(item, navigation, found) for item in node.items)
    if isinstance(node, ast.FunctionCall):
        return all(_through(arg, navigation, found) for arg in node.args)
    return False


def _strip(node: Any, name: str) -> Any:
    """The condition as the other table's own: `Nav/p` becomes `p`."""
    if isinstance(node, ast.MemberPath):
        return ast.MemberPath(node.steps[1:], node.pos)
    if isinstance(node, ast.BinaryOp):
        return ast.BinaryOp(node.op, _strip(node.left, name), _strip(node.right, name), node.pos)
    if isinstance(node, ast.UnaryOp):
        return ast.UnaryOp(node.op, _strip(node.operand, name), node.pos)
    if isinstance(node, ast.In):
        return ast.In(_strip(node.operand, name), _strip(node.collection, name), node.pos)
    if isinstance(node, ast.ListExpr):
        return ast.ListExpr(tuple(_strip(item, name) for item in node.items), node.pos)
    if isinstance(node, ast.FunctionCall):
        return ast.FunctionCall(node.name, tuple(_strip(arg, name) for arg in node.args), node.pos)
    return node
