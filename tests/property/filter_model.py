"""A small, independent model of OData $filter: an AST, its OData text, and its meaning in plain Python.

Used by the property tests to generate well-typed filters over CustomersV3 and SalesOrderLines
(hypothesis strategies at the bottom), render them as URL text, and decide in Python which rows
each one selects. Nothing here imports the gateway: property names and types are copied from the
entity YAML files, enum members from DOMAIN.md.

## Semantics (OData 4.01 Part 2 §5.1.1, as this model implements them)

Values are Python values or None (null). A row is selected iff the filter evaluates to True;
False and None (null) both drop the row.

- `eq`/`ne`: null eq null is true, null eq <value> is false, `ne` is the negation of `eq`. These never
  yield null ("the null value is equal to itself, and only to itself").
- `gt ge lt le`: false if either operand is null (never null).
- `in`: true iff the left operand `eq`s some item (so never null; `null in (null)` is true).
- `has` (the catalog's enums are not flags): membership of that one value, like `eq`.
- `and`/`or`: Kleene logic ("null is treated as unknown": null and false = false, null or true = true,
  every other combination with null is null).
- `not`: not null is null; otherwise the negation. So `not (AddressCity eq 'X')` *is* true for a
  customer without an address (the comparison is false, not null), but `not contains(AddressCity,'X')`
  is null there (the function of null is null).
- Functions (contains startswith endswith tolower toupper trim length concat year month day hour
  minute) and arithmetic (add sub mul) return null if any argument is null.
- tolower/toupper use Unicode *simple* case mapping, character by character (ä↔Ä, ß stays ß), as
  .NET's ToUpperInvariant does; trim removes leading/trailing whitespace (the generator only ever
  puts spaces there); length counts characters (code points), not bytes.
- String comparison is exact and case-sensitive, by code point (the test databases use binary
  collations); trailing spaces are significant.
- Decimal arithmetic and comparison are exact (Python Decimal).
- F&O wildcard (README "Query language"): `<string expr> eq '<text with *>'` matches like a
  case-sensitive glob in which only `*` is special (% _ [ \\ are literal); `ne` is its negation, so a
  null left operand does not match `eq` and does match `ne`. Only a string literal on the *right*
  is a pattern (the generator never puts a `*` literal on the left).
- Enum literals, qualified (`Ns.CustVendorBlocked'No'`, or its underlying number `Ns.CustVendorBlocked'0'`)
  or as a member-name string where the type is known (`'No'`), denote the member.
- Date-time literals with an offset denote the UTC instant (the databases store naive UTC).

## Known gateway deviations, as switchable variants (`Semantics` flags)

A variant models exactly what the gateway is known to do wrong, so that a property test can tell a
*known* bug from a new one. See KNOWN_BUGS in test_filter_properties.py for the reports.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Any

from hypothesis import strategies as st

NS = "Microsoft.Dynamics.DataEntities"

STR, DEC, INT, DT, BOOL, NULL = (
    "Edm.String",
    "Edm.Decimal",
    "Edm.Int32",
    "Edm.DateTimeOffset",
    "Edm.Boolean",
    "null",
)

ENUMS: dict[str, dict[str, int]] = {
    "CustVendorBlocked": {"No": 0, "Invoice": 1, "All": 2, "Payment": 3, "Requisition": 4, "Never": 5},
    "DirPartyType": {"Person": 1, "Organization": 2},
    "SalesStatus": {"None": 0, "Backorder": 1, "Delivered": 2, "Invoiced": 3, "Canceled": 4},
}


def is_enum(type_name: str) -> bool:
    return type_name in ENUMS


@dataclass(frozen=True)
class PropSpec:
    name: str
    type: str
    nullable: bool = False


@dataclass(frozen=True)
class EntitySpec:
    entity_set: str
    key: tuple[str, ...]
    properties: tuple[PropSpec, ...]

    def of_type(self, type_name: str) -> list[PropSpec]:
        return [p for p in self.properties if p.type == type_name]

    def enum_properties(self) -> list[PropSpec]:
        return [p for p in self.properties if is_enum(p.type)]


# Copied from entities/fno/entities/*.yaml (nullable: only the outer-joined address columns).
CUSTOMERS = EntitySpec(
    "CustomersV3",
    ("dataAreaId", "CustomerAccount"),
    (
        PropSpec("dataAreaId", STR),
        PropSpec("CustomerAccount", STR),
        PropSpec("PartyNumber", STR),
        PropSpec("OrganizationName", STR),
        PropSpec("PartyType", "DirPartyType"),
        PropSpec("CustomerGroupId", STR),
        PropSpec("SalesCurrencyCode", STR),
        PropSpec("CreditLimit", DEC),
        PropSpec("OnHoldStatus", "CustVendorBlocked"),
        PropSpec("LanguageId", STR),
        PropSpec("AddressStreet", STR, True),
        PropSpec("AddressCity", STR, True),
        PropSpec("AddressState", STR, True),
        PropSpec("AddressZipCode", STR, True),
        PropSpec("AddressCountryRegionId", STR, True),
        PropSpec("CreatedDateTime", DT),
    ),
)

SALES_LINES = EntitySpec(
    "SalesOrderLines",
    ("dataAreaId", "InventoryLotId"),
    (
        PropSpec("dataAreaId", STR),
        PropSpec("InventoryLotId", STR),
        PropSpec("SalesOrderNumber", STR),
        PropSpec("LineNumber", DEC),
        PropSpec("ItemNumber", STR),
        PropSpec("OrderedSalesQuantity", DEC),
        PropSpec("SalesPrice", DEC),
        PropSpec("LineAmount", DEC),
        PropSpec("SalesUnitSymbol", STR),
        PropSpec("SalesOrderLineStatus", "SalesStatus"),
        PropSpec("ProductColorId", STR),
        PropSpec("ProductSizeId", STR),
    ),
)


# ---------------------------------------------------------------------------------------- AST
class Expr:
    type: str

    def __repr__(self) -> str:  # hypothesis prints failing examples: the filter text, not the tree
        return f"<{render(self)}>"


@dataclass(frozen=True, repr=False)
class Prop(Expr):
    name: str
    type: str
    nullable: bool


@dataclass(frozen=True, repr=False)
class Lit(Expr):
    value: Any
    type: str
    # Spelling: enums "qualified" | "string" | "number"; decimals "plain" | "normalized";
    # date-times the offset in minutes to write (0 renders 'Z').
    form: Any = None


@dataclass(frozen=True, repr=False)
class Call(Expr):
    name: str
    args: tuple[Expr, ...]
    type: str


@dataclass(frozen=True, repr=False)
class Arith(Expr):
    op: str  # add sub mul
    left: Expr
    right: Expr
    type: str = DEC


@dataclass(frozen=True, repr=False)
class Neg(Expr):
    operand: Expr
    type: str = DEC


@dataclass(frozen=True, repr=False)
class Cmp(Expr):
    op: str  # eq ne gt ge lt le
    left: Expr
    right: Expr
    type: str = BOOL


@dataclass(frozen=True, repr=False)
class In(Expr):
    operand: Expr
    items: tuple[Lit, ...]
    type: str = BOOL


@dataclass(frozen=True, repr=False)
class Has(Expr):
    operand: Expr
    value: Lit
    type: str = BOOL


@dataclass(frozen=True, repr=False)
class Logic(Expr):
    op: str  # and or
    left: Expr
    right: Expr
    type: str = BOOL


@dataclass(frozen=True, repr=False)
class Not(Expr):
    operand: Expr
    type: str = BOOL


@dataclass(frozen=True, repr=False)
class Group(Expr):
    """Redundant parentheses: same meaning, exercises the grammar."""

    inner: Expr

    @property
    def type(self) -> str:  # type: ignore[override]
        return self.inner.type


# ---------------------------------------------------------------------------------------- rendering
_PRECEDENCE = {
    "or": 1,
    "and": 2,
    "eq": 3,
    "ne": 3,
    "gt": 4,
    "ge": 4,
    "lt": 4,
    "le": 4,
    "add": 5,
    "sub": 5,
    "mul": 6,
}
_UNARY, _PRIMARY, _ATOM = 7, 8, 9


def _precedence(node: Expr) -> int:
    if isinstance(node, (Logic, Cmp, Arith)):
        return _PRECEDENCE[node.op]
    if isinstance(node, (Not, Neg)):
        return _UNARY
    if isinstance(node, (In, Has)):
        return _PRIMARY  # OData 4.01 §5.1.1.16: has and in bind tighter than not
    return _ATOM


def _wrap(node: Expr, minimum: int) -> str:
    text = render(node)
    return f"({text})" if _precedence(node) < minimum else text


def render(node: Expr) -> str:
    """The $filter text, with only the parentheses precedence needs (plus Group's)."""
    if isinstance(node, Prop):
        return node.name
    if isinstance(node, Lit):
        return render_literal(node)
    if isinstance(node, Call):
        return f"{node.name}({','.join(render(arg) for arg in node.args)})"
    if isinstance(node, (Arith, Cmp, Logic)):
        mine = _PRECEDENCE[node.op]
        # Left-associative: a right operand of the same precedence needs parentheses.
        return f"{_wrap(node.left, mine)} {node.op} {_wrap(node.right, mine + 1)}"
    if isinstance(node, Neg):
        return f"-{_wrap(node.operand, _UNARY)}"
    if isinstance(node, Not):
        return f"not {_wrap(node.operand, _UNARY)}"
    if isinstance(node, In):
        items = ",".join(render_literal(item) for item in node.items)
        return f"{_wrap(node.operand, _ATOM)} in ({items})"
    if isinstance(node, Has):
        return f"{_wrap(node.operand, _ATOM)} has {render_literal(node.value)}"
    if isinstance(node, Group):
        return f"({render(node.inner)})"
    raise TypeError(node)


def render_literal(node: Lit) -> str:
    value, type_name = node.value, node.type
    if type_name == NULL:
        return "null"
    if type_name == STR:
        return "'" + str(value).replace("'", "''") + "'"
    if type_name == BOOL:
        return "true" if value else "false"
    if type_name == INT:
        return str(value)
    if type_name == DEC:
        number = value.normalize() if node.form == "normalized" else value
        return format(number, "f")
    if type_name == DT:
        offset = dt.timedelta(minutes=node.form or 0)
        local = value + offset
        text = str(local.strftime("%Y-%m-%dT%H:%M:%S"))
        if local.microsecond:
            text += f".{local.microsecond:06d}".rstrip("0")
        if not node.form:
            return text + "Z"
        sign = "+" if node.form > 0 else "-"
        minutes = abs(node.form)
        return f"{text}{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    if is_enum(type_name):
        if node.form == "string":
            return f"'{value}'"
        member = str(ENUMS[type_name][value]) if node.form == "number" else value
        return f"{NS}.{type_name}'{member}'"
    raise TypeError(type_name)


# ---------------------------------------------------------------------------------------- evaluation
@dataclass(frozen=True)
class Semantics:
    """OData semantics, optionally with known gateway deviations switched on (see module doc)."""

    # Comparisons compile to plain SQL operators where the gateway believes no operand can be null,
    # so they yield SQL NULL (unknown) instead of OData's false/true; `not` keeps that NULL.
    sql_null_comparisons: bool = False
    # tolower/toupper change only ASCII letters (SQLite's lower/upper; PostgreSQL with LC_CTYPE C).
    ascii_case_mapping: bool = False
    # MariaDB's PAD SPACE collations: = < > IN ignore trailing spaces.
    pad_space: bool = False
    # SQLite: decimals are binary floating point (REAL), so arithmetic is inexact.
    float_decimals: bool = False

    @property
    def is_odata(self) -> bool:
        return self == ODATA


ODATA = Semantics()


def _simple_case(text: str, upper: bool, ascii_only: bool) -> str:
    out = []
    for char in text:
        if ascii_only and not char.isascii():
            out.append(char)
            continue
        mapped = char.upper() if upper else char.lower()
        out.append(mapped if len(mapped) == 1 else char)  # simple mapping: ß stays ß
    return "".join(out)


def wildcard_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)


def _is_wildcard(node: Cmp) -> bool:
    right = node.right
    return (
        node.op in ("eq", "ne")
        and node.left.type == STR
        and isinstance(right, Lit)
        and right.type == STR
        and "*" in right.value
    )


def _null_typed(node: Expr) -> bool:
    """An expression the gateway types as the null literal (null itself, or arithmetic with null)."""
    if isinstance(node, Group):
        return _null_typed(node.inner)
    if isinstance(node, Lit):
        return node.type == NULL
    if isinstance(node, Arith):
        return _null_typed(node.left) or _null_typed(node.right)
    if isinstance(node, Call) and node.name in ("contains", "startswith", "endswith"):
        return any(_null_typed(arg) for arg in node.args)  # compiled to the NULL literal itself
    return False


def typed_nullable(node: Expr) -> bool:
    """Whether the gateway's compiler marks the expression as possibly null (gateway/plan/expressions.py)."""
    if isinstance(node, Group):
        return typed_nullable(node.inner)
    if isinstance(node, Prop):
        return node.nullable
    if isinstance(node, Lit):
        return node.type == NULL
    if isinstance(node, Call):
        if node.name in ("contains", "startswith", "endswith"):
            return False  # typed as never null, though contains(null, 'x') is NULL in SQL
        if node.name in ("year", "month", "day", "hour", "minute"):
            return True
        return any(typed_nullable(arg) for arg in node.args)
    if isinstance(node, Arith):
        return typed_nullable(node.left) or typed_nullable(node.right)
    if isinstance(node, Neg):
        return typed_nullable(node.operand)
    return False


def evaluate(node: Expr, row: dict[str, Any], sem: Semantics = ODATA) -> Any:
    """The value of `node` for one row (None for null)."""
    if isinstance(node, Group):
        return evaluate(node.inner, row, sem)
    if isinstance(node, Prop):
        value = row[node.name]
        if sem.float_decimals and isinstance(value, Decimal):
            return float(value)
        return value
    if isinstance(node, Lit):
        if node.type == NULL:
            return None
        if sem.float_decimals and node.type == DEC:
            return float(node.value)
        return node.value
    if isinstance(node, Call):
        return _call(node, [evaluate(arg, row, sem) for arg in node.args], sem)
    if isinstance(node, Arith):
        left, right = evaluate(node.left, row, sem), evaluate(node.right, row, sem)
        if left is None or right is None:
            return None
        with localcontext() as context:
            context.prec = 60
            if node.op == "add":
                return left + right
            if node.op == "sub":
                return left - right
            return left * right
    if isinstance(node, Neg):
        value = evaluate(node.operand, row, sem)
        return None if value is None else -value
    if isinstance(node, Cmp):
        return _compare(node, row, sem)
    if isinstance(node, In):
        value = evaluate(node.operand, row, sem)
        items = [evaluate(item, row, sem) for item in node.items]
        if value is None:
            if None in items:
                return True
            return None if sem.sql_null_comparisons else False
        return any(item is not None and _equal(value, item, sem) for item in items)
    if isinstance(node, Has):
        return _equal(evaluate(node.operand, row, sem), node.value.value, sem)
    if isinstance(node, Logic):
        left, right = evaluate(node.left, row, sem), evaluate(node.right, row, sem)
        if node.op == "and":
            if left is False or right is False:
                return False
            return None if left is None or right is None else True
        if left is True or right is True:
            return True
        return None if left is None or right is None else False
    if isinstance(node, Not):
        value = evaluate(node.operand, row, sem)
        return None if value is None else not value
    raise TypeError(node)


def _call(node: Call, args: list[Any], sem: Semantics) -> Any:
    if any(arg is None for arg in args):
        return None
    name = node.name
    if name == "contains":
        return args[1] in args[0]
    if name == "startswith":
        return args[0].startswith(args[1])
    if name == "endswith":
        return args[0].endswith(args[1])
    if name == "tolower":
        return _simple_case(args[0], False, sem.ascii_case_mapping)
    if name == "toupper":
        return _simple_case(args[0], True, sem.ascii_case_mapping)
    if name == "trim":
        return args[0].strip()
    if name == "length":
        return len(args[0])
    if name == "concat":
        return args[0] + args[1]
    if name in ("year", "month", "day", "hour", "minute"):
        return getattr(args[0], name)
    raise ValueError(name)


def _pad(value: Any, sem: Semantics) -> Any:
    return value.rstrip(" ") if sem.pad_space and isinstance(value, str) else value


def _equal(left: Any, right: Any, sem: Semantics) -> bool:
    return bool(_pad(left, sem) == _pad(right, sem))


def _order(op: str, left: Any, right: Any, sem: Semantics) -> bool:
    left, right = _pad(left, sem), _pad(right, sem)
    if op == "gt":
        return bool(left > right)
    if op == "ge":
        return bool(left >= right)
    if op == "lt":
        return bool(left < right)
    return bool(left <= right)


def _compare(node: Cmp, row: dict[str, Any], sem: Semantics) -> bool | None:
    left, right = evaluate(node.left, row, sem), evaluate(node.right, row, sem)
    gateway_sql = sem.sql_null_comparisons
    if _is_wildcard(node):
        matched = left is not None and wildcard_regex(node.right.value).fullmatch(left) is not None  # type: ignore[attr-defined]
        if left is None and gateway_sql and (node.op == "eq" or not typed_nullable(node.left)):
            return None  # LIKE / NOT LIKE of NULL
        return matched if node.op == "eq" else not matched
    null_literal = _null_typed(node.left) or _null_typed(node.right)
    if node.op in ("eq", "ne"):
        if gateway_sql and not null_literal and (left is None or right is None):
            both = typed_nullable(node.left) and typed_nullable(node.right)
            either = typed_nullable(node.left) or typed_nullable(node.right)
            if (node.op == "eq" and not both) or (node.op == "ne" and not either):
                return None  # plain = / != in SQL
        if left is None or right is None:
            same = left is None and right is None
        else:
            same = _equal(left, right, sem)
        return same if node.op == "eq" else not same
    if left is None or right is None:
        return None if gateway_sql and not null_literal else False
    return _order(node.op, left, right, sem)


def selected(
    rows: Sequence[dict[str, Any]], node: Expr, key: Sequence[str], sem: Semantics = ODATA
) -> set[tuple[Any, ...]]:
    """The keys of the rows the filter selects (evaluates to true for)."""
    return {tuple(row[k] for k in key) for row in rows if evaluate(node, row, sem) is True}


def properties_used(node: Expr) -> list[str]:
    found: list[str] = []

    def walk(current: Expr) -> None:
        if isinstance(current, Prop):
            if current.name not in found:
                found.append(current.name)
            return
        for child in _children(current):
            walk(child)

    walk(node)
    return found


def _children(node: Expr) -> tuple[Expr, ...]:
    if isinstance(node, Call):
        return node.args
    if isinstance(node, (Arith, Cmp, Logic)):
        return (node.left, node.right)
    if isinstance(node, (Not, Neg)):
        return (node.operand,)
    if isinstance(node, In):
        return (node.operand, *node.items)
    if isinstance(node, Has):
        return (node.operand, node.value)
    if isinstance(node, Group):
        return (node.inner,)
    return ()


# ---------------------------------------------------------------------------------------- generation
# Literal text beyond the data: LIKE wildcards, quotes, backslash, brackets, umlauts and ß, spaces.
SPECIAL_TEXT = st.text(alphabet=st.sampled_from(list("aeMnS %_'\\[]äöüÄÖÜßé-.&0")), min_size=0, max_size=4)


@dataclass
class FilterGenerator:
    r"""Hypothesis strategies for well-typed filters over one entity, with literals drawn from `rows`.

    Literals are mostly derived from a *pivot*: the value the compared expression takes on a randomly
    drawn row (exactly, or a prefix/substring/neighbour of it), so that most filters select some rows.
    The grammar generated (op: eq ne gt ge lt le; a literal may also come first, `5 lt CreditLimit`):

        predicate  := comparison | predicate and|or predicate | not predicate | (predicate)   depth <= 3
        comparison := strexpr op strlit | (contains|startswith|endswith)(strexpr, strlit|null)
                    | strexpr eq|ne '<text with *>'                      F&O wildcard
                    | decexpr op numlit | intexpr op intlit              length(), year() .. minute()
                    | dtprop op dtlit                                    Z, +hh:mm/-hh:mm, fractions
                    | enumprop eq|ne enumlit | enumprop has enumlit | enumprop in (enumlit, ...)
                    | strexpr|decexpr op null | strexpr in (strlit, ...[, null]) | decprop in (numlit, ...)
                    | strexpr op strexpr | decexpr op decexpr | boolfunction eq|ne true|false
        strexpr    := strprop | tolower|toupper|trim(strexpr) | concat(strexpr, strlit|strprop)
                    | concat(strlit, strexpr) | concat(strprop, null)   depth <= 2
        decexpr    := decprop | decexpr add|sub|mul (numlit|decprop|null) | (...) add|sub|mul decexpr | -decprop
        enumlit    := Ns.Type'Member' | Ns.Type'<value>' | 'Member'
        strlit     := text from the data, its prefixes/suffixes/slices, swapped case, a trailing space,
                      or short text of % _ ' \ [ ] umlauts ß é spaces; '' too
    """

    entity: EntitySpec
    rows: Sequence[dict[str, Any]]
    max_depth: int = 3
    _pools: dict[str, list[Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for prop in self.entity.properties:
            self._pools[prop.name] = sorted(
                {row[prop.name] for row in self.rows if row[prop.name] is not None}
            )

        def varying(props: list[PropSpec]) -> list[PropSpec]:
            # A property with one value in the rows (dataAreaId of one company) only makes vacuous filters.
            return [p for p in props if len(self._pools[p.name]) > 1]

        strings = varying(self.entity.of_type(STR))
        # Names and cities carry the umlauts, ß, quotes, % and _ of the demo data: drawn more often.
        self.string_props = (
            strings + [p for p in strings if p.name in ("OrganizationName", "AddressCity")] * 2
        )
        self.decimal_props = varying(self.entity.of_type(DEC))
        self.datetime_props = varying(self.entity.of_type(DT))
        self.enum_props = varying(self.entity.enum_properties())
        # Null literals as function/arithmetic arguments only make vacuous filters; where the entity has
        # nullable properties they are kept (rarely) for the null-propagation rules.
        self.null_weight = 1 if any(p.nullable for p in self.entity.properties) else 0

    # -------------------------------------------------------------- value expressions
    def _prop(self, specs: list[PropSpec]) -> st.SearchStrategy[Prop]:
        return st.sampled_from(specs).map(lambda p: Prop(p.name, p.type, p.nullable))

    @staticmethod
    def _weighted(*options: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
        """A choice between strategies with integer weights; shrinking moves towards the first one.

        Hypothesis draws the first and the last element of a sampled_from more often than the
        others, so the first (most common) option is also put last.
        """
        strategies = [strategy for _, strategy in options]
        indices = [index for index, (weight, _) in enumerate(options) for _ in range(weight)] + [0]

        @st.composite
        def weighted(draw: Callable[..., Any]) -> Any:
            return draw(strategies[draw(st.sampled_from(indices))])

        return weighted()

    def string_expr(self, depth: int = 2) -> st.SearchStrategy[Expr]:
        base = self._prop(self.string_props)
        if depth <= 0:
            return base
        inner = st.deferred(lambda: self.string_expr(depth - 1))
        literal = st.one_of(SPECIAL_TEXT, st.sampled_from([" ", "  ", "-", "ü"])).map(lambda s: Lit(s, STR))
        null_arg = st.just(Lit(None, NULL))
        return self._weighted(
            (12, base),
            (2, inner.map(lambda e: Call("tolower", (e,), STR))),
            (2, inner.map(lambda e: Call("toupper", (e,), STR))),
            (2, inner.map(lambda e: Call("trim", (e,), STR))),
            (1, st.tuples(inner, literal).map(lambda t: Call("concat", t, STR))),
            (1, st.tuples(literal, inner).map(lambda t: Call("concat", t, STR))),
            (1, st.tuples(inner, base).map(lambda t: Call("concat", t, STR))),
            (self.null_weight, st.tuples(base, null_arg).map(lambda t: Call("concat", t, STR))),
        )

    def decimal_expr(self, depth: int = 2) -> st.SearchStrategy[Expr]:
        base = self._prop(self.decimal_props)
        if depth <= 0:
            return base
        inner = st.deferred(lambda: self.decimal_expr(depth - 1))
        operand = self._weighted(
            (4, self.number_literal()), (3, base), (self.null_weight, st.just(Lit(None, NULL)))
        )
        ops = st.sampled_from(["add", "sub", "mul"])
        return self._weighted(
            (6, base),
            (2, st.tuples(ops, inner, operand).map(lambda t: Arith(*t))),
            (1, st.tuples(ops, operand, inner).map(lambda t: Arith(*t))),
            (1, base.map(Neg)),
        )

    def int_expr(self) -> st.SearchStrategy[Expr]:
        options = [self.string_expr(1).map(lambda e: Call("length", (e,), INT))]
        if self.datetime_props:
            parts = st.sampled_from(["year", "month", "day", "hour", "minute"])
            options.append(
                st.tuples(parts, self._prop(self.datetime_props)).map(lambda t: Call(t[0], (t[1],), INT))
            )
        return st.one_of(*options)

    # -------------------------------------------------------------- literals
    def number_literal(self) -> st.SearchStrategy[Lit]:
        integers = st.integers(-3, 1000).map(lambda i: Lit(i, INT))
        decimals = st.tuples(
            st.decimals(min_value=-1000, max_value=500000, places=2, allow_nan=False, allow_infinity=False),
            st.sampled_from(["plain", "normalized"]),
        ).map(lambda t: Lit(t[0], DEC, t[1]))
        return st.one_of(integers, decimals)

    def _pivot(self, node: Expr) -> st.SearchStrategy[Any]:
        """The value `node` takes on a randomly drawn row (None where it is null)."""
        return st.sampled_from(self.rows).map(lambda row: evaluate(node, row))

    def string_literal_for(self, node: Expr, op: str) -> st.SearchStrategy[Lit]:
        @st.composite
        def build(draw: Callable[..., Any]) -> Lit:
            pivot = draw(self._pivot(node))
            if pivot is None:
                pivot = draw(
                    st.sampled_from(self._pools[draw(st.sampled_from(self.string_props)).name] or [""])
                )
            size = len(pivot)
            # Non-empty slices where the pivot allows (the empty string is its own choice below).
            start = draw(st.integers(0, max(size - 1, 0)))
            end = draw(st.integers(min(start + 1, size), size))
            if op == "contains":
                choice = draw(st.sampled_from(["slice", "slice", "slice", "special", "whole", "empty"]))
            elif op == "startswith":
                choice = draw(st.sampled_from(["prefix", "prefix", "special", "whole", "empty"]))
            elif op == "endswith":
                choice = draw(st.sampled_from(["suffix", "suffix", "special", "whole", "empty"]))
            elif op in ("eq", "ne", "in"):
                choice = draw(
                    st.sampled_from(
                        ["whole", "whole", "space", "whole", "case", "special", "prefix", "whole"]
                    )
                )
            else:
                choice = draw(st.sampled_from(["whole", "prefix", "case", "special", "space", "whole"]))
            if choice == "slice":
                value = pivot[start:end]
            elif choice == "prefix":
                value = pivot[:end]
            elif choice == "suffix":
                value = pivot[start:]
            elif choice == "whole":
                value = pivot
            elif choice == "space":
                value = pivot + " "
            elif choice == "case":
                value = pivot.swapcase()
            elif choice == "empty":
                value = ""
            else:
                value = draw(SPECIAL_TEXT)
            return Lit(value, STR)

        return build()

    def wildcard_literal_for(self, node: Expr) -> st.SearchStrategy[Lit]:
        @st.composite
        def build(draw: Callable[..., Any]) -> Lit:
            pivot = draw(self._pivot(node)) or ""
            size = len(pivot)
            start = draw(st.integers(0, max(size - 1, 0)))
            end = draw(st.integers(min(start + 1, size), size))
            shape = draw(st.sampled_from(["*x*", "x*", "*x", "x*y", "*", "*special*", "special*"]))
            if shape == "*x*":
                value = f"*{pivot[start:end]}*"
            elif shape == "x*":
                value = f"{pivot[:end]}*"
            elif shape == "*x":
                value = f"*{pivot[start:]}"
            elif shape == "x*y":
                value = f"{pivot[:start]}*{pivot[end:]}"
            elif shape == "*":
                value = "*"
            elif shape == "*special*":
                value = f"*{draw(SPECIAL_TEXT)}*"
            else:
                value = f"{draw(SPECIAL_TEXT)}*"
            return Lit(value, STR)

        return build()

    def decimal_literal_for(self, node: Expr) -> st.SearchStrategy[Lit]:
        @st.composite
        def build(draw: Callable[..., Any]) -> Lit:
            pivot = draw(self._pivot(node))
            form = draw(st.sampled_from(["plain", "normalized"]))
            if pivot is None:
                fallback: Lit = draw(self.number_literal())
                return fallback
            pivot = Decimal(pivot)
            shift = draw(st.sampled_from(["0", "0.01", "0", "-0.01", "0", "1", "-1", "1000", "-1000", "0"]))
            value = pivot + Decimal(shift)
            if draw(st.booleans()) and value == value.to_integral_value():
                return Lit(int(value), INT)
            return Lit(value, DEC, form)

        return build()

    def int_literal_for(self, node: Expr) -> st.SearchStrategy[Lit]:
        @st.composite
        def build(draw: Callable[..., Any]) -> Lit:
            pivot = draw(self._pivot(node))
            if pivot is None:
                return Lit(draw(st.integers(0, 30)), INT)
            return Lit(pivot + draw(st.sampled_from([0, 1, 0, -1, 0])), INT)

        return build()

    def datetime_literal_for(self, node: Expr) -> st.SearchStrategy[Lit]:
        @st.composite
        def build(draw: Callable[..., Any]) -> Lit:
            pivot = draw(self._pivot(node))
            shift = draw(
                st.sampled_from(
                    [
                        dt.timedelta(0),
                        dt.timedelta(0),
                        dt.timedelta(seconds=1),
                        dt.timedelta(seconds=-1),
                        dt.timedelta(days=200),
                        dt.timedelta(days=-365),
                        dt.timedelta(microseconds=500000),
                    ]
                )
            )
            offset = draw(st.sampled_from([0, 0, 0, 120, -300, 330]))
            return Lit(pivot + shift, DT, offset)

        return build()

    def enum_literal(self, enum: str) -> st.SearchStrategy[Lit]:
        return st.tuples(
            st.sampled_from(list(ENUMS[enum])), st.sampled_from(["qualified", "string", "number"])
        ).map(lambda t: Lit(t[0], enum, t[1]))

    def enum_literal_for(self, node: Prop) -> st.SearchStrategy[Lit]:
        @st.composite
        def build(draw: Callable[..., Any]) -> Lit:
            form = draw(st.sampled_from(["qualified", "string", "number"]))
            if draw(st.booleans()):
                return Lit(draw(self._pivot(node)), node.type, form)
            other: Lit = draw(self.enum_literal(node.type))
            return other

        return build()

    # -------------------------------------------------------------- predicates
    def comparison(self) -> st.SearchStrategy[Expr]:
        options = [
            (4, self._string_comparison()),
            (3, self._string_function()),
            (2, self._wildcard()),
            (4, self._decimal_comparison()),
            (2, self._int_comparison()),
            (1, self._null_comparison()),
            (2, self._in()),
            (1, self._property_pair()),
            (1, self._boolean_comparison()),
        ]
        if self.enum_props:
            options.append((2, self._enum_comparison()))
        if self.datetime_props:
            options.append((2, self._datetime_comparison()))
        return self._weighted(*options)

    @staticmethod
    def _orient(op: str, expr: Expr, literal: Lit, swap: bool) -> Cmp:
        """`expr op literal`, or the literal first (`5 lt CreditLimit`); wildcards stay on the right."""
        if swap and not (literal.type == STR and "*" in str(literal.value)):
            return Cmp(op, literal, expr)
        return Cmp(op, expr, literal)

    def _string_comparison(self) -> st.SearchStrategy[Expr]:
        @st.composite
        def build(draw: Callable[..., Any]) -> Expr:
            expr = draw(self.string_expr())
            op = draw(st.sampled_from(["eq", "ne", "eq", "gt", "ge", "lt", "le"]))
            literal = draw(self.string_literal_for(expr, op))
            if "*" in literal.value and op in ("eq", "ne"):
                literal = Lit(literal.value.replace("*", ""), STR)  # a '*' would make it a wildcard
            return self._orient(op, expr, literal, draw(st.booleans()))

        return build()

    def _string_function(self) -> st.SearchStrategy[Expr]:
        @st.composite
        def build(draw: Callable[..., Any]) -> Expr:
            name = draw(st.sampled_from(["contains", "startswith", "endswith"]))
            expr = draw(self.string_expr())
            if self.null_weight and draw(st.integers(0, 30)) == 17:
                return Call(name, (expr, Lit(None, NULL)), BOOL)
            return Call(name, (expr, draw(self.string_literal_for(expr, name))), BOOL)

        return build()

    def _wildcard(self) -> st.SearchStrategy[Expr]:
        @st.composite
        def build(draw: Callable[..., Any]) -> Expr:
            expr = draw(self.string_expr(1))
            return Cmp(draw(st.sampled_from(["eq", "eq", "ne"])), expr, draw(self.wildcard_literal_for(expr)))

        return build()

    def _decimal_comparison(self) -> st.SearchStrategy[Expr]:
        @st.composite
        def build(draw: Callable[..., Any]) -> Expr:
            expr = draw(self.decimal_expr())
            op = draw(st.sampled_from(["eq", "ne", "gt", "ge", "lt", "le"]))
            return self._orient(op, expr, draw(self.decimal_literal_for(expr)), draw(st.booleans()))

        return build()

    def _int_comparison(self) -> st.SearchStrategy[Expr]:
        @st.composite
        def build(draw: Callable[..., Any]) -> Expr:
            expr = draw(self.int_expr())
            op = draw(st.sampled_from(["eq", "ne", "gt", "ge", "lt", "le"]))
            return self._orient(op, expr, draw(self.int_literal_for(expr)), draw(st.booleans()))

        return build()

    def _datetime_comparison(self) -> st.SearchStrategy[Expr]:
        @st.composite
        def build(draw: Callable[..., Any]) -> Expr:
            expr = draw(self._prop(self.datetime_props))
            op = draw(st.sampled_from(["eq", "ne", "gt", "ge", "lt", "le"]))
            return self._orient(op, expr, draw(self.datetime_literal_for(expr)), draw(st.booleans()))

        return build()

    def _enum_comparison(self) -> st.SearchStrategy[Expr]:
        @st.composite
        def build(draw: Callable[..., Any]) -> Expr:
            expr = draw(self._prop(self.enum_props))
            literal = draw(self.enum_literal_for(expr))
            kind = draw(st.sampled_from(["eq", "ne", "has", "in"]))
            if kind == "has":
                return Has(expr, literal)
            if kind == "in":
                more = draw(st.lists(self.enum_literal(expr.type), min_size=0, max_size=2))
                return In(expr, (literal, *more))
            return self._orient(kind, expr, literal, draw(st.booleans()))

        return build()

    def _null_comparison(self) -> st.SearchStrategy[Expr]:
        nullable = [p for p in self.string_props if p.nullable]
        # Comparing a never-null property with null is vacuous: mostly compare the nullable ones.
        operands = self._weighted(
            (3, self._prop(nullable) if nullable else self.string_expr(1)),
            (1, self.string_expr(1)),
            (1, self.decimal_expr(1)),
        )

        @st.composite
        def build(draw: Callable[..., Any]) -> Expr:
            expr = draw(operands)
            op = draw(st.sampled_from(["eq", "ne", "eq", "ne", "gt", "le"]))
            return self._orient(op, expr, Lit(None, NULL), draw(st.booleans()))

        return build()

    def _in(self) -> st.SearchStrategy[Expr]:
        @st.composite
        def build(draw: Callable[..., Any]) -> Expr:
            if draw(st.booleans()):
                expr = draw(self.string_expr(1))
                items = draw(st.lists(self.string_literal_for(expr, "in"), min_size=1, max_size=4))
            else:
                expr = draw(self._prop(self.decimal_props))
                items = draw(st.lists(self.decimal_literal_for(expr), min_size=1, max_size=4))
            if draw(st.integers(0, 5)) == 3:
                items.append(Lit(None, NULL))
            return In(expr, tuple(items))

        return build()

    def _property_pair(self) -> st.SearchStrategy[Expr]:
        @st.composite
        def build(draw: Callable[..., Any]) -> Expr:
            op = draw(st.sampled_from(["eq", "ne", "gt", "ge", "lt", "le"]))
            if draw(st.booleans()):
                left, right = draw(self.string_expr(1)), draw(self.string_expr(1))
            else:
                left, right = draw(self.decimal_expr(1)), draw(self.decimal_expr(1))
            if left == right:  # X eq X is vacuous: compare X with a literal instead
                literal_for = (
                    self.string_literal_for(left, op) if left.type == STR else self.decimal_literal_for(left)
                )
                return Cmp(op, left, draw(literal_for))
            return Cmp(op, left, right)

        return build()

    def _boolean_comparison(self) -> st.SearchStrategy[Expr]:
        @st.composite
        def build(draw: Callable[..., Any]) -> Expr:
            call = draw(self._string_function())
            return Cmp(draw(st.sampled_from(["eq", "ne"])), call, Lit(draw(st.booleans()), BOOL))

        return build()

    def predicate(self, depth: int | None = None) -> st.SearchStrategy[Expr]:
        depth = self.max_depth if depth is None else depth
        leaf = self.comparison()
        if depth <= 0:
            return leaf
        inner = st.deferred(lambda: self.predicate(depth - 1))
        return self._weighted(
            (5, leaf),
            (4, st.tuples(st.sampled_from(["and", "or"]), inner, inner).map(lambda t: Logic(*t))),
            (1, inner.map(Not)),
            (1, inner.map(Group)),
        )
