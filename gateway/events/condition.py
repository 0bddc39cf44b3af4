"""Business-event conditions: an OData $filter expression compiled once into Python closures and
evaluated on one committed entity record ({property name: Python value}).

A condition means on one record what the same text means as $filter on the entity set (the SQL of
gateway/plan/expressions.py), so that an event is raised for exactly the records the $filter returns:
- `eq`/`ne` treat null as a value (null eq null is true, null ne 'x' is true); gt/ge/lt/le with a null
  operand are false, and `in` holds for null only when its list holds null. Functions and arithmetic
  of null are null, and/or/not are three-valued (Kleene), and a record meets the condition only when
  it comes out true, as a row meets a WHERE clause.
- Enums compare by their stored number, so `OnHoldStatus gt 'Invoice'` follows the enum's order as
  SQL over the integer column does; a member is written `'All'` or `Namespace.CustVendorBlocked'All'`.
- F&O's wildcard: `OrganizationName eq '*Outlet*'` matches like a glob in which only `*` is special.
- Decimals are exact (Python Decimal); a Double beside them makes the operation binary floating
  point, as the gateway types it Edm.Double.
A condition reads the record's own properties only: navigation, lambdas, $it, $root and parameter
aliases have no value on one record and are refused when compiling, by a 400 that points at them.

The record's values are the event framer's: str (strings, Guids), Decimal or int or float
(Edm.Decimal), int, bool, date, naive UTC datetime (Edm.DateTimeOffset), an enum's member name, None.
A pre-image is judged by evaluating it on its own ("became on hold": true now, false before).
"""

from __future__ import annotations

import datetime as dt
import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Context, Decimal
from typing import Any

from gateway.catalog.model import PRIMITIVE_TYPES, Catalog, Entity
from gateway.errors import BadRequest, TypeMismatch, UnknownProperty, caret, did_you_mean
from gateway.options import parse_filter
from grammar import ast

Record = Mapping[str, object]
Getter = Callable[[Record], Any]

STRING, BOOLEAN, DOUBLE, DECIMAL, NULL = "Edm.String", "Edm.Boolean", "Edm.Double", "Edm.Decimal", "null"
_INTEGERS = ("Edm.Int32", "Edm.Int64")
_NUMBERS = (*_INTEGERS, DECIMAL, DOUBLE)
_DATES = ("Edm.Date", "Edm.DateTimeOffset")
# Wide enough that sums and products of the catalog's widest decimals (precision 32) stay exact;
# the default context's 28 digits would round them.
_EXACT = Context(prec=80)


@dataclass(frozen=True)
class Condition:
    text: str
    properties: frozenset[str]  # the entity properties the condition reads
    _test: Getter = field(repr=False, compare=False)

    def evaluate(self, record: Record) -> bool:
        """Whether `record` meets the condition. Every property in `properties` must be present:
        reading a missing one as null would raise or drop events silently, so it is a KeyError."""
        return self._test(record) is True


def compile_condition(catalog: Catalog, entity: Entity, text: str) -> Condition:
    """Parse and type-check `text` against `entity`; a mistake is a BadRequest (400) naming its position."""
    try:
        tree = parse_filter(text)
    except BadRequest as error:  # the same class, saying 'condition' where parse_filter says '$filter'
        raise type(error)("condition" + error.message.removeprefix("$filter")) from None
    compiler = _Compiler(catalog, entity, text)
    try:
        test = compiler.predicate(tree)
    except RecursionError:
        raise BadRequest("the condition is nested too deeply") from None
    return Condition(text, frozenset(compiler.read), test.get)


# ------------------------------------------------------------------ compiled subexpressions


@dataclass(frozen=True)
class _Node:
    get: Getter
    type: str  # an Edm primitive, an enum's name, or 'null' (the null literal)
    constant: bool = False  # a literal: `get` always returns `value`
    value: Any = None
    pattern: str | None = None  # a string literal as written: a wildcard on the right of eq/ne


def _always(value: Any) -> Getter:
    return lambda record: value


def _constant(value: Any, type_name: str, pattern: str | None = None) -> _Node:
    return _Node(_always(value), type_name, True, value, pattern)


def _comparable(left: str, right: str) -> bool:
    return NULL in (left, right) or left == right or (left in _NUMBERS and right in _NUMBERS)


def _as_double(node: _Node) -> _Node:
    """A number beside a Double is compared and computed as one (Decimal == float is exact in Python,
    where SQL would compare 0.1 with 0.1e0 as equal)."""
    if node.type in (DOUBLE, NULL):
        return node
    if node.constant:
        return _constant(float(node.value), DOUBLE)
    get = node.get
    return _Node(lambda record: None if (value := get(record)) is None else float(value), DOUBLE)


def _lift1(operation: Callable[[Any], Any], get: Getter) -> Getter:
    """A function of null is null."""
    return lambda record: None if (value := get(record)) is None else operation(value)


def _lift2(operation: Callable[[Any, Any], Any], first: Getter, second: Getter) -> Getter:
    def apply(record: Record) -> Any:
        a = first(record)
        if a is None:
            return None
        b = second(record)
        return None if b is None else operation(a, b)

    return apply


def _lift3(operation: Callable[[Any, Any, Any], Any], first: Getter, second: Getter, third: Getter) -> Getter:
    def apply(record: Record) -> Any:
        a, b, c = first(record), second(record), third(record)
        return None if a is None or b is None or c is None else operation(a, b, c)

    return apply


# ------------------------------------------------------------------ reading the record


def _reader(name: str, type_name: str, members: dict[int, str] | None) -> Getter:
    get = operator.itemgetter(name)
    if members is not None:
        numbers = {member: number for number, member in members.items()}

        def enum(record: Record) -> Any:
            value = get(record)
            if value is None:
                return None
            try:
                return numbers[value]
            except (KeyError, TypeError):
                raise ValueError(f"{name}: {value!r} is not a member of {type_name}") from None

        return enum
    if type_name == DECIMAL:
        # A float is taken at its shortest repr (1000.1, not 1000.0999999999999...): what it stands for.
        return lambda record: Decimal(repr(value)) if type(value := get(record)) is float else value
    if type_name == "Edm.Guid":
        return lambda record: None if (value := get(record)) is None else str(value).lower()
    if type_name == "Edm.DateTimeOffset":
        return lambda record: _utc(value) if isinstance(value := get(record), dt.datetime) else value
    return get


def _utc(value: dt.datetime) -> dt.datetime:
    """Naive UTC, as records and the database hold date-times."""
    return value if value.tzinfo is None else value.astimezone(dt.UTC).replace(tzinfo=None)


# ------------------------------------------------------------------ operators


def _chain(node: ast.BinaryOp) -> list[ast.Expr]:
    """The operands of a chain of one operator, in order, without recursion (long `or` chains)."""
    operands: list[ast.Expr] = []
    stack: list[ast.Expr] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.BinaryOp) and current.op == node.op:
            stack.extend((current.right, current.left))
        else:
            operands.append(current)
    return operands


def _all(getters: list[Getter]) -> Getter:
    return _deciding(getters, False)


def _any(getters: list[Getter]) -> Getter:
    return _deciding(getters, True)


def _deciding(getters: list[Getter], decisive: bool) -> Getter:
    """`and` (decisive False) or `or` (decisive True) in OData's three-valued logic: the first operand that
    is `decisive` decides; otherwise an unknown (null) operand makes the result unknown."""
    def test(record: Record) -> bool | None:
        unknown = False
        for get in getters:
            value = get(record)
            if value is decisive:
                return bool(decisive)
            unknown = unknown or value is None
        return None if unknown else not decisive

    return test


def _equality(test: Callable[[Any, Any], bool], left: _Node, right: _Node) -> Getter:
    # Python's == already is OData's: None == None, and None equals nothing else.
    get, other = left.get, right.get
    if right.constant:
        value = right.value
        return lambda record: test(get(record), value)
    if left.constant:
        value = left.value
        return lambda record: test(value, other(record))
    return lambda record: test(get(record), other(record))


def _ordering(test: Callable[[Any, Any], bool], left: _Node, right: _Node) -> Getter:
    get, other = left.get, right.get
    if right.constant:
        value = right.value
        return lambda record: (a := get(record)) is not None and test(a, value)
    if left.constant:
        value = left.value
        return lambda record: (b := other(record)) is not None and test(value, b)
    return lambda record: (a := get(record)) is not None and (b := other(record)) is not None and test(a, b)


def _wildcard(get: Getter, pattern: str) -> Getter:
    matcher = re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)
    return lambda record: (value := get(record)) is not None and matcher.fullmatch(value) is not None


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge,
}


def _int_div(a: int, b: int) -> int | None:
    # OData's integer div truncates toward zero, as SQL does; Python's // floors. x div 0 is null,
    # as the gateway makes it on every database.
    if b == 0:
        return None
    quotient = abs(a) // abs(b)
    return quotient if (a < 0) == (b < 0) else -quotient


def _int_mod(a: int, b: int) -> int | None:
    quotient = _int_div(a, b)
    return None if quotient is None else a - b * quotient  # the sign of the dividend, as in SQL


def _nonzero(operation: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    return lambda a, b: None if b == 0 else operation(a, b)


_ARITHMETIC: dict[str, dict[str, Callable[[Any, Any], Any]]] = {
    "integer": {"add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": _int_div, "mod": _int_mod},
    DECIMAL: {
        "add": _EXACT.add, "sub": _EXACT.subtract, "mul": _EXACT.multiply,
        "div": _nonzero(_EXACT.divide), "mod": _nonzero(_EXACT.remainder),  # remainder: the dividend's sign
    },
    DOUBLE: {
        "add": operator.add, "sub": operator.sub, "mul": operator.mul,
        "div": _nonzero(operator.truediv), "divby": _nonzero(operator.truediv), "mod": _nonzero(math.fmod),
    },
}


# ------------------------------------------------------------------ functions


def _simple_case(convert: Callable[[str], str]) -> Callable[[str], str]:
    """tolower/toupper map character by character, as .NET's invariant casing does: Python's full
    mapping would turn 'ß' into 'SS' and change the length."""

    def apply(text: str) -> str:
        if text.isascii():
            return convert(text)
        return "".join(mapped if len(mapped := convert(char)) == 1 else char for char in text)

    return apply


def _substring(text: str, start: int, length: int | None = None) -> str:
    start = max(start, 0)  # Python would count a negative start from the end
    return text[start:] if length is None else text[start : start + max(length, 0)]


def _rounding(mode: str) -> Callable[[Any], Any]:
    """round (half away from zero, as OData and SQL), floor, ceiling; the result keeps the argument's type."""

    def apply(value: Any) -> Any:
        if isinstance(value, int):
            return value
        if isinstance(value, Decimal):
            return value.to_integral_value(rounding=mode)
        if not math.isfinite(value):
            return value
        return float(Decimal(value).to_integral_value(rounding=mode))  # Decimal(float) is exact

    return apply


# name: (argument types, result type (None: the first argument's), operation)
_FUNCTIONS: dict[str, tuple[tuple[tuple[str, ...], ...], str | None, Callable[..., Any]]] = {
    "contains": (((STRING,), (STRING,)), BOOLEAN, lambda text, part: part in text),
    "startswith": (((STRING,), (STRING,)), BOOLEAN, str.startswith),
    "endswith": (((STRING,), (STRING,)), BOOLEAN, str.endswith),
    "tolower": (((STRING,),), STRING, _simple_case(str.lower)),
    "toupper": (((STRING,),), STRING, _simple_case(str.upper)),
    "length": (((STRING,),), "Edm.Int32", len),
    "trim": (((STRING,),), STRING, str.strip),  # OData: Unicode whitespace
    "concat": (((STRING,), (STRING,)), STRING, operator.add),
    "indexof": (((STRING,), (STRING,)), "Edm.Int32", str.find),  # 0-based, -1 when absent
    "substring": (((STRING,), _INTEGERS, _INTEGERS), STRING, _substring),
    "year": ((_DATES,), "Edm.Int32", operator.attrgetter("year")),
    "month": ((_DATES,), "Edm.Int32", operator.attrgetter("month")),
    "day": ((_DATES,), "Edm.Int32", operator.attrgetter("day")),
    "round": ((_NUMBERS,), None, _rounding(ROUND_HALF_UP)),
    "floor": ((_NUMBERS,), None, _rounding(ROUND_FLOOR)),
    "ceiling": ((_NUMBERS,), None, _rounding(ROUND_CEILING)),
}
_OPTIONAL_LAST = ("substring",)  # substring(text, start) or substring(text, start, length)


# ------------------------------------------------------------------ the compiler


class _Compiler:
    def __init__(self, catalog: Catalog, entity: Entity, text: str) -> None:
        self.catalog = catalog
        self.entity = entity
        self.text = text
        self.read: set[str] = set()

    def _at(self, node: Any, message: str) -> str:
        position = getattr(node, "pos", 0)
        return f"{message} (at position {position})\n{caret(self.text, position)}"

    def bad(self, node: Any, message: str) -> BadRequest:
        return BadRequest(self._at(node, message))

    def mismatch(self, node: Any, message: str) -> TypeMismatch:
        return TypeMismatch(self._at(node, message))

    def predicate(self, node: ast.Expr) -> _Node:
        compiled = self.compile(node)
        if compiled.type not in (BOOLEAN, NULL):
            raise self.mismatch(node, f"a condition must be true or false, but this is of type {compiled.type}")
        return compiled

    def compile(self, node: ast.Expr, expected: str | None = None) -> _Node:
        match node:
            case ast.Literal():
                return self.literal(node, expected)
            case ast.EnumLiteral():
                return self.enum_literal(node, expected)
            case ast.MemberPath():
                return self.member(node)
            case ast.BinaryOp():
                return self.binary(node)
            case ast.UnaryOp():
                return self.unary(node)
            case ast.In():
                return self.in_(node)
            case ast.FunctionCall():
                return self.function(node)
            case ast.RootPath():
                raise self.bad(node, "$root reads other records: a condition reads only the record it is given")
            case ast.Alias():
                raise self.bad(node, f"parameter alias @{node.name}: a condition has no parameters, write the value")
            case ast.ListExpr():
                raise self.bad(node, "a list is only allowed on the right of 'in'")
        raise self.bad(node, f"{type(node).__name__} is not supported in conditions")

    # -------------------------------------------------------------- values
    def literal(self, node: ast.Literal, expected: str | None) -> _Node:
        if node.type == NULL:
            return _constant(None, NULL)
        if node.type == STRING and expected is not None and self.catalog.is_enum(expected):
            # OData 4.01: where the type is known, an enum member may be written as a plain string.
            return _constant(self.enum_number(node, expected, str(node.value)), expected)
        if node.type not in PRIMITIVE_TYPES or node.type in ("Edm.Duration", "Edm.Binary"):
            # (a record holds a duration as seconds and bytes as the trigger wrote them: not compared here)
            raise self.bad(node, f"{node.type} literals are not supported in conditions")
        value = node.value
        if node.type == "Edm.DateTimeOffset":
            try:
                value = _utc(node.value)  # type: ignore[arg-type]
            except OverflowError:
                raise self.mismatch(node, "this date/time is outside the range of dates in UTC") from None
        elif node.type == "Edm.Guid":
            value = str(value)  # lower case, as the reader makes the record's
        return _constant(value, node.type, str(value) if node.type == STRING else None)

    def enum_literal(self, node: ast.EnumLiteral, expected: str | None) -> _Node:
        enums = self.catalog.service.enums
        name = node.type_name.removeprefix(self.catalog.service.namespace + ".")
        if name not in enums:
            raise self.mismatch(node, f"unknown enum type {node.type_name}." + did_you_mean(name, enums))
        if expected is not None and expected in enums and expected != name:
            raise self.mismatch(node, f"expected a member of {expected}, not of {name}")
        if len(node.members) != 1:
            raise self.mismatch(node, f"{name} is not a flags enum: name one member")
        return _constant(self.enum_number(node, name, node.members[0]), name)

    def enum_number(self, node: Any, enum: str, member: str) -> int:
        members = self.catalog.service.enums[enum]
        for number, name in members.items():
            if name == member:
                return number
        if re.fullmatch(r"-?[0-9]{1,9}", member) and int(member) in members:
            return int(member)
        raise self.mismatch(node, f"'{member}' is not a member of {enum} (members: {', '.join(members.values())})")

    def member(self, node: ast.MemberPath) -> _Node:
        for step in node.steps:
            if isinstance(step, ast.LambdaStep):
                raise self.bad(step, f"{step.kind}() reads related records: a condition reads only the record "
                                     "it is given")
            if isinstance(step, ast.CountStep):
                raise self.bad(step, "$count reads related records: a condition reads only the record it is given")
        first = node.steps[0]
        if isinstance(first, ast.VariableStep):
            raise self.bad(first, f"{first.name} is not available in conditions: name the property on its own")
        if not isinstance(first, ast.PropertyStep):
            raise self.bad(first, "a condition may name only the entity's own properties here")
        entity = self.entity
        if first.name in entity.navigation:
            raise self.bad(first, f"{first.name} is a navigation property: a condition reads only the record's "
                                  "own properties")
        prop = entity.properties.get(first.name)
        if prop is None:
            raise UnknownProperty(
                self._at(first, f"{entity.entity_type} has no property {first.name}."
                                + did_you_mean(first.name, [*entity.properties, *entity.navigation])),
                target=first.name,
            )
        if len(node.steps) > 1:
            raise self.bad(node.steps[1], f"{first.name} is a primitive property: nothing may follow it")
        self.read.add(prop.name)
        members = self.catalog.service.enums.get(prop.type)
        return _Node(_reader(prop.name, prop.type, members), prop.type)

    # -------------------------------------------------------------- operators
    def binary(self, node: ast.BinaryOp) -> _Node:
        if node.op in ("and", "or"):
            getters = [self.predicate(operand).get for operand in _chain(node)]
            return _Node(_all(getters) if node.op == "and" else _any(getters), BOOLEAN)
        if node.op == "has":
            raise self.bad(node, "'has' is not supported in conditions (the enums are not flags): use eq")
        left, right = self.operands(node.left, node.right)
        if node.op in ("eq", "ne", "lt", "le", "gt", "ge"):
            return self.comparison(node, left, right)
        return self.arithmetic(node, left, right)

    def operands(self, left_node: ast.Expr, right_node: ast.Expr) -> tuple[_Node, _Node]:
        """Both sides; a typed side tells a string literal on the other that it names an enum member."""
        if isinstance(left_node, (ast.Literal, ast.EnumLiteral)):
            right = self.compile(right_node)
            return self.compile(left_node, right.type), right
        left = self.compile(left_node)
        return left, self.compile(right_node, left.type)

    def comparison(self, node: ast.BinaryOp, left: _Node, right: _Node) -> _Node:
        if not _comparable(left.type, right.type):
            raise self.mismatch(node, f"cannot compare {left.type} with {right.type} using '{node.op}'")
        if DOUBLE in (left.type, right.type):
            left, right = _as_double(left), _as_double(right)
        if node.op in ("eq", "ne"):
            if left.type == STRING and right.pattern is not None and "*" in right.pattern:
                matches = _wildcard(left.get, right.pattern)
                if node.op == "eq":
                    return _Node(matches, BOOLEAN)
                return _Node(lambda record: not matches(record), BOOLEAN)  # null ne '*x*' is true
            return _Node(_equality(operator.eq if node.op == "eq" else operator.ne, left, right), BOOLEAN)
        if NULL in (left.type, right.type):
            return _constant(False, BOOLEAN)  # OData: an order comparison with null is false
        return _Node(_ordering(_ORDER[node.op], left, right), BOOLEAN)

    def arithmetic(self, node: ast.BinaryOp, left: _Node, right: _Node) -> _Node:
        for side in (left, right):
            if side.type not in (*_NUMBERS, NULL):
                raise self.mismatch(node, f"'{node.op}' needs numbers, not {left.type} and {right.type}")
        if NULL in (left.type, right.type):
            return _constant(None, NULL)
        if node.op == "divby" or DOUBLE in (left.type, right.type):
            kind, left, right = DOUBLE, _as_double(left), _as_double(right)
        elif DECIMAL in (left.type, right.type):
            kind = DECIMAL
        else:
            kind = "Edm.Int64" if "Edm.Int64" in (left.type, right.type) else "Edm.Int32"
        operations = _ARITHMETIC["integer" if kind in _INTEGERS else kind]
        return _Node(_lift2(operations[node.op], left.get, right.get), kind)

    def unary(self, node: ast.UnaryOp) -> _Node:
        if node.op == "not":
            get = self.predicate(node.operand).get
            return _Node(lambda record: None if (value := get(record)) is None else not value, BOOLEAN)
        operand = self.compile(node.operand)
        if operand.type not in (*_NUMBERS, NULL):
            raise self.mismatch(node, f"cannot negate {operand.type}")
        return _Node(_lift1(operator.neg, operand.get), operand.type)

    def in_(self, node: ast.In) -> _Node:
        operand = self.compile(node.operand)
        item_nodes = node.collection.items if isinstance(node.collection, ast.ListExpr) else (node.collection,)
        items = [self.compile(item, operand.type) for item in item_nodes]
        for item_node, item in zip(item_nodes, items):
            if not _comparable(operand.type, item.type):
                raise self.mismatch(item_node, f"cannot compare {operand.type} with {item.type} using 'in'")
        if DOUBLE in (operand.type, *(item.type for item in items)):
            operand, items = _as_double(operand), [_as_double(item) for item in items]
        get = operand.get
        if all(item.constant for item in items):
            # A set test: numbers hash alike whatever their type (Decimal('2.0'), 2); None finds None.
            values = frozenset(item.value for item in items)
            return _Node(lambda record: get(record) in values, BOOLEAN)
        getters = [item.get for item in items]
        return _Node(lambda record: get(record) in [item(record) for item in getters], BOOLEAN)

    def function(self, node: ast.FunctionCall) -> _Node:
        spec = _FUNCTIONS.get(node.name)
        if spec is None:
            raise self.bad(node, f"the function {node.name} is not supported in conditions."
                                 + did_you_mean(node.name, _FUNCTIONS)
                                 + f" Supported: {', '.join(_FUNCTIONS)}")
        accepts, result, operation = spec
        counts = (len(accepts) - 1, len(accepts)) if node.name in _OPTIONAL_LAST else (len(accepts),)
        if len(node.args) not in counts:
            shown = " or ".join(str(count) for count in counts)
            raise self.bad(node, f"{node.name} takes {shown} argument(s), not {len(node.args)}")
        args: list[_Node] = []
        for index, (arg_node, allowed) in enumerate(zip(node.args, accepts)):
            if isinstance(arg_node, ast.KeyValue):
                raise self.bad(arg_node.value, f"{node.name} takes no named arguments")
            arg = self.compile(arg_node)
            if arg.type != NULL and arg.type not in allowed:
                raise self.mismatch(arg_node, f"argument {index + 1} of {node.name} must be "
                                              f"{' or '.join(allowed)}, not {arg.type}")
            args.append(arg)
        getters = [arg.get for arg in args]
        if len(getters) == 1:
            get = _lift1(operation, getters[0])
        elif len(getters) == 2:
            get = _lift2(operation, getters[0], getters[1])
        else:
            get = _lift3(operation, getters[0], getters[1], getters[2])
        return _Node(get, result or args[0].type)
