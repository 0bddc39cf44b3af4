"""concat(T1,T2,...) and groupby((rollup(...)),T): one UNION ALL of the sequences' results.

OData Data Aggregation 4.0, 3.2.2: concat applies each sequence to the input and concatenates the
results in the order of the parameters, each in its own order, each row keeping its own structure.
So the union has one column per property of any sequence (null where a sequence has none) and
hidden ones: which sequence a row came from and its position there (the union's order), and which
properties the row really has (`$variant`: absent ones are left out of its JSON object; $filter
and $orderby see them as null, as the spec says of properties aggregated away).

3.2.3.2: groupby((rollup(p1,...,pk),P),T) is the concat of groupby((p1,...,pk,P),T),
groupby((p1,...,pk-1,P),T), ..., groupby((p1,P),T): one row per group at each level, the levels
below left out (absent) in the coarser rows. Several rollups combine every level of each, the
first rollup's levels varying slowest (the spec's example 22).
"""

from __future__ import annotations

import itertools
from functools import reduce
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Float,
    Integer,
    cast,
    func,
    literal,
    literal_column,
    null,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeEngine

from gateway.errors import BadRequest
from gateway.plan.apply_stage import NULL_MARK, VARIANT, Output, Path, Stage, Units, at
from gateway.plan.types import is_numeric, wider_numeric
from grammar import ast

if TYPE_CHECKING:
    from gateway.plan.apply import _Planner

# Groupings one groupby with rollups may stand for (the product of the rollups' levels): each is a
# SELECT of its own in the UNION, planned with the nested transformations (which may hold rollups
# again). One request plans at most MAX_SEQUENCES sequences of concat and rollup in all.
MAX_GROUPINGS = 64
MAX_SEQUENCES = 256
_WHOLE = ("Edm.SByte", "Edm.Byte", "Edm.Int16", "Edm.Int32", "Edm.Int64")


def rollup(planner: _Planner, stage: Stage, step: ast.ApplyGroupBy, text: str) -> Stage:
    levels: list[list[tuple[ast.MemberPath, ...]]] = []
    for item in step.properties:
        if isinstance(item, ast.MemberPath):
            levels.append([(item,)])
            continue
        if len(item.paths) == 1:
            name = "/".join(s.name for s in item.paths[0].steps if isinstance(s, ast.PropertyStep))
            raise BadRequest(at(text, item.pos, f"rollup({name}) names a leveled hierarchy, and this service "
                                                "defines none; list the levels instead: rollup(Level1,Level2,...)"))
        levels.append([item.paths[:count] for count in range(len(item.paths), 0, -1)])
    groupings = list(itertools.product(*levels))
    if len(groupings) > MAX_GROUPINGS:
        raise BadRequest(at(text, step.pos, f"these rollups stand for {len(groupings)} groupings; at most "
                                            f"{MAX_GROUPINGS} are served"))
    spend(planner, len(groupings), text, step.pos)
    branches = [
        planner.step(stage, ast.ApplyGroupBy(tuple(path for part in combination for path in part), step.then,
                                             step.pos), text)
        for combination in groupings
    ]
    return union(planner, stage, branches, text, step.pos)


def concat(planner: _Planner, stage: Stage, step: ast.ApplyConcat, text: str) -> Stage:
    spend(planner, len(step.branches), text, step.pos)
    return union(planner, stage, [planner.run(stage, steps, text) for steps in step.branches], text, step.pos)


def spend(planner: _Planner, sequences: int, text: str, position: int) -> None:
    """Count the sequences a concat or rollup plans (SQLite takes at most 500 SELECTs in one UNION)."""
    planner.sequences += sequences
    if planner.sequences > MAX_SEQUENCES:
        raise BadRequest(at(text, position, f"concat and rollup stand for more than {MAX_SEQUENCES} transformation "
                                            "sequences in this request; ask for fewer"))


def union(planner: _Planner, base: Stage, branches: list[Stage], text: str, position: int) -> Stage:
    """The rows of `branches` (each a result of transforming `base`) one after the other."""
    context = planner.context
    closed = [planner.close(branch) for branch in branches]
    columns: dict[Path, list[Output | None]] = {}
    for index, branch in enumerate(closed):
        for output in branch.outputs:
            carried = output.path in base.partition or output.path[0] == NULL_MARK
            if not output.hidden or carried:
                columns.setdefault(output.path, [None] * len(closed))[index] = output
    templates: list[Output] = []
    values: list[list[ColumnElement[Any]]] = [[] for _ in closed]
    for path, outputs in columns.items():
        template, column_values = _column(planner, path, outputs, text, position)
        templates.append(template)
        for member, value in zip(values, column_values):
            member.append(value)

    shown = [frozenset(output.path for output in branch.visible()) for branch in closed]
    variants: list[frozenset[Path]] | None = None
    if any(branch.variants is not None for branch in closed) or len(set(shown)) > 1:
        variants = []
        for member, branch, paths in zip(values, closed, shown):
            offset = literal_column(str(len(variants)), Integer())
            if branch.variants is None:
                variants.append(paths)
                member.append(offset)
            else:
                variants.extend(branch.variants)
                member.append(offset + branch.output(VARIANT).read)
        templates.append(Output(VARIANT, "Edm.Int32", False, null(), null(), hidden=True))
    part, sequence = (context.unique("$part"),), (context.unique("$seq"),)
    templates += [
        Output(part, "Edm.Int32", False, null(), null(), identity=True, hidden=True),
        Output(sequence, "Edm.Int64", False, null(), null(), identity=True, hidden=True),
    ]
    for index, (member, branch) in enumerate(zip(values, closed)):
        member.append(literal_column(str(index), Integer()))
        member.append(func.row_number().over(order_by=planner.order_by(branch) or None))
    selects = [
        select(*(value.label(f"c{column}") for column, value in enumerate(member))).select_from(branch.scope.from_clause())
        for member, branch in zip(values, closed)
    ]
    united = union_all(*selects).subquery(context.unique("concat"))
    shape = Stage(
        base.scope,
        tuple(templates),
        entity_rows=all(branch.entity_rows for branch in closed),
        partition=base.partition,
        variants=None if variants is None else tuple(variants),
        dynamic=frozenset().union(*(branch.dynamic for branch in closed)),
        domain=base.domain,
    )
    return planner.reopen(shape, united)


def _column(
    planner: _Planner, path: Path, outputs: list[Output | None], text: str, position: int
) -> tuple[Output, list[ColumnElement[Any]]]:
    """One column of the union: its type across the sequences, and each sequence's value of it."""
    present = [output for output in outputs if output is not None]
    first = present[0]
    nullable = any(output is None or output.nullable for output in outputs)
    if path[0] == NULL_MARK:  # outerjoin's marker: a sequence without that outerjoin has the alias
        marker = Output(path, "Edm.Int64", True, null(), null(), hidden=True)
        return marker, [literal_column("1", Integer()) if output is None else output.read for output in outputs]
    types = {output.type for output in present}
    if len(types) > 1 and not all(is_numeric(name) for name in types):
        raise BadRequest(at(text, position, f"concat: {'/'.join(path)} is {' in one sequence and '.join(sorted(types))}"
                                            " in another; give them different aliases"), target="/".join(path))
    edm_type = reduce(wider_numeric, sorted(types)) if len(types) > 1 else first.type
    template = Output(path, edm_type, nullable, null(), null(), hidden=first.hidden)
    dialect = planner.context.dialect
    if edm_type == "Edm.Decimal" and not dialect.native_decimal and any(output.units for output in present):
        exact = all(output.units or output.type in _WHOLE or output.scale is not None for output in present)
        if exact:  # every sequence's value as whole units of the finest scale: exact sums stay exact
            scale = max(output.scale for output in present if output.scale is not None)
            units = Units(scale)
            template = Output(path, edm_type, nullable, null(), null(), scale=scale, units=True, hidden=first.hidden)
            return template, [type_coerce(_units(output, scale), units) for output in outputs]
        return template, [type_coerce(null() if output is None else output.sql, Float()) for output in outputs]
    read_type: TypeEngine[Any] = first.read.type if len(types) == 1 else planner._number_type(edm_type)
    template = Output(path, edm_type, nullable, null(), null(), scale=first.scale if len(types) == 1 else None,
                      hidden=first.hidden)
    return template, [type_coerce(null() if output is None else output.read, read_type) for output in outputs]


def _units(output: Output | None, scale: int) -> ColumnElement[Any]:
    """A number as a whole count of 10**-scale (SQLite: exact integers where decimals would be floats)."""
    if output is None:
        return null()
    if output.units:
        assert output.scale is not None
        return output.read if output.scale == scale else output.read * literal_column(str(10 ** (scale - output.scale)))
    if output.type in _WHOLE:
        return cast(output.sql * literal_column(str(10**scale)), BigInteger())
    return cast(func.round(output.sql * literal(10**scale)), BigInteger())
