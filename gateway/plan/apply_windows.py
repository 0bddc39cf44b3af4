"""$apply transformations that number or sum rows in order: window functions.

- topcount/bottomcount(n, value): the n rows with the highest (lowest) value;
- topsum/bottomsum(s, value): the fewest rows, highest (lowest) value first, whose values sum to at
  least s;
- toppercent/bottompercent(p, value): the same, up to p percent of the sum over all rows;
- top/skip inside groupby((...),T) or join(...,T): the first rows of each group, not of all rows.

OData Data Aggregation 4.0, 3.3.1: the rows are considered in the order of the value (descending
for top..., ascending for bottom...; ties broken by the input's stable total order) and taken until
a condition holds *before* a row is taken: "the output set already has n rows", "the sum of the
output set is at least s" (the row that reaches s is still taken; the one after it is not). A row
is kept when the condition held for no row up to it, which is exact also for negative values (a
running sum that falls back below s after reaching it does not take more rows). The kept rows stay
in the input's order; every ranking works per partition (group, or joined row).

On SQLite (no decimal type) sums of decimals with a known scale are summed as whole units of their
last decimal place, so the comparison with s or p% of the total is exact there too.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import ROUND_CEILING, Decimal, localcontext
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, and_, case, cast, func, literal, null, or_
from sqlalchemy.sql.elements import ColumnElement

from gateway.errors import BadRequest, TypeMismatch
from gateway.plan.apply_stage import Output, Stage, at, pos
from gateway.plan.expressions import ExpressionCompiler
from gateway.plan.paging import SortKey
from gateway.plan.types import is_numeric
from grammar import ast

if TYPE_CHECKING:
    from gateway.plan.apply import _Planner

def top_or_skip(planner: _Planner, stage: Stage, step: ast.ApplyTop | ast.ApplySkip) -> Stage:
    """top(n)/skip(n) per partition: rows numbered in each partition's total order."""
    number = func.row_number().over(partition_by=stage.partition_columns() or None, order_by=planner.order_by(stage))
    path = (planner.context.unique("$n"),)
    numbered = planner.close(_with_hidden(stage, (path, number)))
    row = numbered.output(path).sql
    condition = row <= step.count if isinstance(step, ast.ApplyTop) else row > step.count
    return replace(numbered, where=(condition,)).without(path)


def ranked(planner: _Planner, compiler: ExpressionCompiler, stage: Stage, step: ast.ApplyRanked, text: str) -> Stage:
    """topcount, topsum, toppercent and their bottom... counterparts."""
    top = step.kind.startswith("top")
    measure = step.kind.removeprefix("top").removeprefix("bottom")
    amount = _amount(planner, step, measure, text)
    typed = compiler.compile(step.value)
    if typed.type == "null" or typed.type_name is not None:
        raise TypeMismatch(at(text, pos(step.value), f"{step.kind} needs a value to rank the rows by"))
    if measure != "count" and not is_numeric(typed.type):
        raise TypeMismatch(at(text, pos(step.value), f"{step.kind} sums its second parameter: it needs numbers, "
                                                     f"not {typed.type}"))
    partition = stage.partition_columns() or None
    ranking = planner.order_by(stage, (SortKey(typed.sql, top, typed.nullable),))
    context = planner.context
    rank_path = (context.unique("$rank"),)
    rank = func.row_number().over(partition_by=partition, order_by=ranking)
    if measure == "count":
        numbered = planner.close(_with_hidden(stage, (rank_path, rank)))
        count = min(int(amount), _LARGEST)  # (more rows than any table has: all of them)
        return replace(numbered, where=(numbered.output(rank_path).sql <= count,)).without(rank_path)

    # The sum of the rows before each row (in ranking order), and for percent the sum of all rows.
    scale = planner.scale(stage.scope, step.value)
    exact = typed.type == "Edm.Decimal" and scale is not None and not context.dialect.native_decimal
    value: ColumnElement[Any] = typed.sql
    if exact:
        assert scale is not None
        value = cast(func.round(typed.sql * literal(10**scale)), BigInteger())
    before_path, total_path, stop_path = (context.unique("$before"),), (context.unique("$total"),), (context.unique("$stop"),)
    # (The running sum up to and with the row, less the row: a frame ending at "1 PRECEDING" would be a
    # bound parameter, which not every database takes there.)
    value = func.coalesce(value, 0)
    before = func.sum(value).over(partition_by=partition, order_by=ranking, rows=(None, 0)) - value
    hidden = [(rank_path, rank), (before_path, before)]
    if measure == "percent":
        hidden.append((total_path, func.sum(value).over(partition_by=partition)))
    summed = planner.close(_with_hidden(stage, *hidden))
    so_far = func.coalesce(summed.output(before_path).sql, 0)
    if measure == "sum":
        threshold: Any = amount
        if exact:
            assert scale is not None
            # Whole units: n >= s  <=>  n >= ceil(s) for a whole number n.
            threshold = int((amount * 10**scale).to_integral_value(rounding=ROUND_CEILING))
            threshold = max(min(threshold, _LARGEST), -_LARGEST)  # a 64-bit parameter; no sum gets there
        reached = so_far >= _number(planner, threshold)
    else:
        # sum(output) / sum(input) >= p/100, without dividing: 100 * so_far >= p * total (flipped when
        # the total is negative). A zero total (or no values) reaches any p at once: nothing is taken.
        total = func.coalesce(summed.output(total_path).sql, 0)
        numerator, denominator = amount.as_integer_ratio()
        if denominator <= 10**6:  # whole numbers on both sides: exact also with SQLite's whole units
            left, right = so_far * (100 * denominator), total * numerator
        else:  # a percentage with many decimals: as precise as the database's numbers are
            left, right = so_far * 100, total * _number(planner, amount)
        reached = or_(and_(total >= 0, left >= right), and_(total < 0, left <= right))
    # The first row (in ranking order) at which the condition holds: it and every row after it go.
    first = func.min(case((reached, summed.output(rank_path).sql), else_=null())).over(
        partition_by=summed.partition_columns() or None
    )
    stopped = planner.close(_with_hidden(summed, (stop_path, first)))
    stop, row = stopped.output(stop_path).sql, stopped.output(rank_path).sql
    kept = replace(stopped, where=(or_(stop.is_(None), row < stop),))
    return kept.without(rank_path, before_path, total_path, stop_path)


_LARGEST = 2**62  # beyond any count or sum of whole units, and still a 64-bit integer parameter


def _amount(planner: _Planner, step: ast.ApplyRanked, measure: str, text: str) -> Decimal:
    """The first parameter: a number literal (or a parameter alias of one), checked for the kind."""
    node: Any = step.n
    if isinstance(node, ast.Alias):
        node = planner.context.aliases.get(node.name)
    if not isinstance(node, ast.Literal) or not is_numeric(node.type):
        raise BadRequest(at(text, pos(step.n), f"the first parameter of {step.kind} must be a number, e.g. "
                                               f"{step.kind}(5,Amount)"))
    amount = Decimal(str(node.value))
    if measure == "count" and (amount != amount.to_integral_value() or amount < 1):
        raise BadRequest(at(text, pos(step.n), f"{step.kind} needs a positive whole number of rows, not {node.value}"))
    if measure == "percent" and not 0 < amount <= 100:
        raise BadRequest(at(text, pos(step.n), f"{step.kind} needs a percentage greater than 0 and at most 100, "
                                               f"not {node.value}"))
    if not amount.is_finite():
        raise BadRequest(at(text, pos(step.n), f"{step.kind} needs a finite number, not {node.value}"))
    # Within what every database takes as a decimal parameter (MariaDB: 65 digits, 38 decimals): at
    # most 10**30 (no sum gets there) and 30 decimals, rounded up (sums of numbers with at most 30
    # decimals reach the one exactly when they reach the other).
    with localcontext(prec=100):
        bounded = max(min(amount, Decimal(10) ** 30), -(Decimal(10) ** 30))
        rounded = bounded.quantize(Decimal("1e-30"), rounding=ROUND_CEILING).normalize()
        return rounded.quantize(Decimal(1)) if rounded == rounded.to_integral_value() else rounded  # 5000, not 5E+3


def _number(planner: _Planner, value: Decimal | int) -> ColumnElement[Any]:
    """A bound number as the database takes it (SQLite's driver takes no Decimal)."""
    if isinstance(value, Decimal) and not planner.context.dialect.native_decimal:
        return literal(float(value))
    return literal(value)


def _with_hidden(stage: Stage, *columns: tuple[tuple[str, ...], ColumnElement[Any]]) -> Stage:
    """The stage with helper columns that the next stage reads and drops again."""
    added = tuple(Output(path, "Edm.Int64", True, sql, sql, hidden=True) for path, sql in columns)
    return replace(stage, outputs=(*stage.outputs, *added))
