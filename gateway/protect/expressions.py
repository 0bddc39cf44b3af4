"""How large and how deep one query option may be: bounds checked right after parsing.

Every later stage walks an expression recursively (the compiler, SQLAlchemy's SQL writer, the
database's own parser, whose stack SQLite sizes for about 40 nested calls), and its time grows with
the node count: a bound here turns "the server ran out of stack (or time)" into a 400 that names
the limit. The walk itself is iterative, so it is safe on any input the grammar accepted.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from gateway.errors import InvalidQueryOption
from gateway.settings import Settings
from grammar import ast

# Transformations of one $apply sequence: each reads the result of the one before it, so each is
# one subquery deeper in SQL although the AST holds them side by side.
_SEQUENCED = (
    ast.ApplyAggregate, ast.ApplyGroupBy, ast.ApplyFilter, ast.ApplyCompute, ast.ApplyOrderBy, ast.ApplyTop,
    ast.ApplySkip, ast.ApplyIdentity, ast.ApplySearch, ast.ApplyConcat, ast.ApplyRanked, ast.ApplyJoin,
)


@dataclass(frozen=True)
class ExpressionLimits:
    max_nodes: int = Settings.max_expression_nodes
    max_depth: int = Settings.max_expression_depth


def check_limits(label: str, tree: Any, limits: ExpressionLimits, aliases: dict[str, Any] | None = None) -> None:
    """Refuse `tree` (the AST of one query option) beyond `limits`; a parameter alias counts as
    often as it is used, with its own value's nodes and depth."""
    aliases = aliases or {}
    nodes = 0
    stack: list[tuple[Any, int]] = [(tree, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, tuple):
            sequenced = bool(item) and isinstance(item[0], _SEQUENCED)
            stack.extend((child, depth + index if sequenced else depth) for index, child in enumerate(item))
            continue
        if not dataclasses.is_dataclass(item) or isinstance(item, type):
            continue
        nodes += 1
        if not isinstance(item, ast.QueryOptions):  # the options of an $expand item: the same level
            depth += 1
        if nodes > limits.max_nodes:
            raise InvalidQueryOption(
                f"{label} is too large: more than {limits.max_nodes} expression nodes (the server's "
                "--max-expression-nodes); split the request or use 'in (...)' lists", target=label)
        if depth > limits.max_depth:
            raise InvalidQueryOption(
                f"{label} is nested too deeply: more than {limits.max_depth} levels (the server's "
                "--max-expression-depth)", target=label)
        if isinstance(item, ast.Alias):
            value = aliases.get(item.name)
            if not isinstance(value, ast.Alias):  # an alias of an alias is refused when compiling
                stack.append((value, depth))
            continue
        for field in dataclasses.fields(item):
            child = getattr(item, field.name)
            if isinstance(item, ast.BinaryOp) and item.op in ("and", "or") and _same_chain(child, item.op):
                # The compiler flattens a chain of one of these into one SQL list: no deeper there.
                stack.append((child, depth - 1))
            else:
                stack.append((child, depth))


def _same_chain(child: Any, op: str) -> bool:
    return isinstance(child, ast.BinaryOp) and child.op == op
