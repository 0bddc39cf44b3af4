"""The syntax tree of OData URLs: frozen dataclasses, free of any catalog knowledge.

Every node carries `pos`, the 0-based character offset in the text it was parsed from, so that
binding errors can point at the spot just like syntax errors do. `pos` is left out of equality so
that two parses of the same text compare equal whatever their spacing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

# ------------------------------------------------------------------ expressions


@dataclass(frozen=True)
class Literal:
    """A primitive literal. `type` is the Edm type the literal's syntax implies ('null' for null)."""

    value: object
    type: str
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class EnumLiteral:
    type_name: str  # as written, possibly namespace-qualified
    members: tuple[str, ...]  # 'Red,Blue' for flags
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Alias:
    name: str  # without the '@'
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class PropertyStep:
    name: str
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class VariableStep:
    """$it, $this, or a lambda variable (the binder decides which names are variables)."""

    name: str
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class TypeStep:
    qualified_name: str
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class CountStep:
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class LambdaStep:
    kind: str  # 'any' | 'all'
    variable: str | None  # None only for any()
    predicate: Expr | None
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class FunctionStep:
    """A bound function call inside a path, e.g. Items/Ns.Fn(...) (bound operations are 501 for now)."""

    name: str
    args: tuple[Expr, ...]
    pos: int = field(default=0, compare=False)


Step = Union[PropertyStep, VariableStep, TypeStep, CountStep, LambdaStep, FunctionStep]


@dataclass(frozen=True)
class MemberPath:
    steps: tuple[Step, ...]
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class RootPath:
    """$root/EntitySet(key)/Property."""

    path: MemberPath
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class BinaryOp:
    op: str  # eq ne lt le gt ge and or add sub mul div divby mod has
    left: Expr
    right: Expr
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class In:
    operand: Expr
    collection: Expr  # a ListExpr, or an expression yielding a collection
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class UnaryOp:
    op: str  # 'negate' | 'not'
    operand: Expr
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class ListExpr:
    items: tuple[Expr, ...]
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class FunctionCall:
    name: str
    args: tuple[Expr, ...]
    pos: int = field(default=0, compare=False)


Expr = Union[Literal, EnumLiteral, Alias, MemberPath, RootPath, BinaryOp, In, UnaryOp, ListExpr, FunctionCall]

# ------------------------------------------------------------------ query options


@dataclass(frozen=True)
class OrderItem:
    expr: Expr
    descending: bool = False


@dataclass(frozen=True)
class SelectItem:
    path: tuple[str, ...]  # () with star=True for '*'
    star: bool = False
    options: QueryOptions | None = None
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class ComputeItem:
    expr: Expr
    name: str


@dataclass(frozen=True)
class Search:
    """A $search expression: 'word', 'phrase', or 'and'/'or'/'not' over children."""

    kind: str
    text: str = ""
    children: tuple[Search, ...] = ()


@dataclass(frozen=True)
class ExpandItem:
    path: tuple[str, ...]  # () with star=True for '*'
    star: bool = False
    ref: bool = False
    count: bool = False
    levels: int | None = None  # -1 for max
    options: QueryOptions | None = None
    pos: int = field(default=0, compare=False)


# ------------------------------------------------------------------ $apply (OData Data Aggregation)


@dataclass(frozen=True)
class AggregateFrom:
    """`from P1,P2 with method`: aggregate per group of P1,P2 first, then with `method` over the groups."""

    properties: tuple[MemberPath, ...]
    method: str


@dataclass(frozen=True)
class AggregateItem:
    """One `aggregate(...)` item: `expr with method as alias`, `$count as alias` (expr None, method
    None) or `Path/$count as alias` (method None)."""

    expr: Expr | None
    method: str | None  # sum | min | max | average | countdistinct | a qualified custom method
    alias: str
    from_: tuple[AggregateFrom, ...] = ()
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class ApplyAggregate:
    items: tuple[AggregateItem, ...]
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Rollup:
    """rollup(p1,p2,...) in groupby: groupings by p1..pk, p1..pk-1, ..., p1 (rollupLevels). A single
    one-step path names a leveled hierarchy (rollupNamedHier)."""

    paths: tuple[MemberPath, ...]
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class ApplyGroupBy:
    """groupby((properties), then): `then` is applied to each group (None: the distinct groups)."""

    properties: tuple[MemberPath | Rollup, ...]
    then: tuple[ApplyStep, ...] | None = None
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class ApplyFilter:
    condition: Expr
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class ApplyCompute:
    items: tuple[ComputeItem, ...]
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class ApplyOrderBy:
    items: tuple[OrderItem, ...]
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class ApplyTop:
    count: int
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class ApplySkip:
    count: int
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class ApplyIdentity:
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class ApplySearch:
    search: Search
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class ApplyConcat:
    branches: tuple[tuple[ApplyStep, ...], ...]
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class ApplyRanked:
    """topcount, topsum, toppercent, bottomcount, bottomsum, bottompercent(n, value)."""

    kind: str
    n: Expr
    value: Expr
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class ApplyJoin:
    """join(Nav as Alias, then) or outerjoin(...): one row per related instance (after `then`)."""

    path: tuple[str, ...]  # the collection-valued property, then an optional type cast
    alias: str
    then: tuple[ApplyStep, ...] | None = None
    outer: bool = False
    pos: int = field(default=0, compare=False)


ApplyStep = Union[
    ApplyAggregate, ApplyGroupBy, ApplyFilter, ApplyCompute, ApplyOrderBy, ApplyTop, ApplySkip,
    ApplyIdentity, ApplySearch, ApplyConcat, ApplyRanked, ApplyJoin,
]


@dataclass(frozen=True)
class QueryOptions:
    """System query options of a request or of one $expand/$select item (absent ones are None)."""

    filter: Expr | None = None
    select: tuple[SelectItem, ...] | None = None
    expand: tuple[ExpandItem, ...] | None = None
    orderby: tuple[OrderItem, ...] | None = None
    top: int | None = None
    skip: int | None = None
    count: bool | None = None
    levels: int | None = None
    search: Search | None = None
    compute: tuple[ComputeItem, ...] | None = None
    apply: tuple[ApplyStep, ...] | None = None  # the transformations of $apply, in order


# ------------------------------------------------------------------ resource paths


@dataclass(frozen=True)
class KeyValue:
    name: str | None  # None for the single-value form Set('US-001')
    value: Expr


@dataclass(frozen=True)
class NamedSegment:
    name: str
    key: tuple[KeyValue, ...] | None = None
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class SpecialSegment:
    kind: str  # '$count' | '$value' | '$ref' | 'type'
    name: str = ""
    pos: int = field(default=0, compare=False)


Segment = Union[NamedSegment, SpecialSegment]
