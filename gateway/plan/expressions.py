"""Bind an expression AST against an entity scope and compile it to a typed SQLAlchemy expression.

One compiler serves $filter, $orderby, lambdas and nested $expand options. Names are resolved
against the catalog, types are checked before any SQL exists, and every value becomes a bound
parameter. Errors point at the offending character of the option text.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import sys
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Double,
    Integer,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    not_,
    null,
    or_,
    select,
)
from sqlalchemy.sql.elements import BindParameter, ColumnElement, Null
from sqlalchemy.types import NullType

from gateway.edm import SINGLE_MAX, SMALL_INTEGERS, parse_duration, to_single
from gateway.errors import (
    BadRequest,
    NotImplemented_,
    SyntaxError_,
    TypeMismatch,
    UnknownProperty,
    caret,
    did_you_mean,
)
from gateway.plan.crm_functions import crm_function, is_crm_function
from gateway.plan.derived import derived_type, is_of, require_cast
from gateway.plan.elsewhere import foreign_only, semi_join
from gateway.plan.functions import CANONICAL_FUNCTIONS, FUNCTIONS
from gateway.plan.keys import key_values
from gateway.plan.scope import EntityScope, PlanContext
from gateway.plan.structured import CollectionItem, structured_path
from gateway.plan.typed import BOOLEAN, STRING, TYPE_NAME_PREFIX, Typed
from gateway.plan.types import (
    INTEGER_RANGES,
    Single,
    comparable,
    is_numeric,
    is_primitive,
    sql_type,
    wider_numeric,
)
from grammar import ast


class ExpressionCompiler:
    def __init__(
        self,
        context: PlanContext,
        scope: EntityScope,
        text: str,
        variables: dict[str, EntityScope] | None = None,
        computed: dict[str, Typed] | None = None,
        items: dict[str, CollectionItem] | None = None,
    ) -> None:
        self.context = context
        self.catalog = context.catalog
        self.scope = scope
        self.text = text
        self.variables = variables or {}
        self.computed = computed or {}  # $compute aliases, usable like properties of the root entity
        self.items = items or {}  # lambda variables over a collection-valued property's items (structured.py)

    # ------------------------------------------------------------------ entry points
    def predicate(self, node: ast.Expr) -> ColumnElement[bool]:
        typed = self.compile(node)
        if typed.type not in (BOOLEAN, "null"):
            raise self._mismatch(node, f"the expression must be true or false, but it is of type {typed.type}")
        return typed.sql

    def compile(self, node: ast.Expr, expected: str | None = None) -> Typed:
        if self.context.elsewhere is not None and (foreign := foreign_only(self, node)) is not None:
            return semi_join(self, node, foreign)  # a condition on another database's rows
        handler = _HANDLERS.get(type(node))
        if handler is None:
            raise NotImplemented_(self._at(node, f"{type(node).__name__} expressions are not supported yet"))
        typed: Typed = handler(self, node, expected)
        if isinstance(typed.sql, Null) and typed.type != "null":
            # A function of null is null: from here on it is the null literal, whatever its declared type.
            return Typed(typed.sql, "null", True)
        return typed

    # ------------------------------------------------------------------ errors
    def _at(self, node: Any, message: str) -> str:
        position = getattr(node, "pos", 0)
        return f"{message} (at position {position})\n{caret(self.text, position)}" if self.text else message

    def _mismatch(self, node: Any, message: str) -> TypeMismatch:
        return TypeMismatch(self._at(node, message))

    # ------------------------------------------------------------------ literals
    def _literal(self, node: ast.Literal, expected: str | None) -> Typed:
        if node.type == "null":
            return Typed(null(), "null", True, node)
        if expected is not None and self.catalog.is_enum(expected) and node.type == STRING:
            # OData 4.01: an enum member may be written as a plain string where the type is known.
            return self._enum_value(node, expected, tuple(part.strip() for part in str(node.value).split(",")))
        if node.type == "Edm.Duration" or expected == "Edm.Duration" and node.type == STRING:
            # (4.01: 'P1D' where a duration is expected is a duration, as duration'P1D' is)
            return self._duration(node)
        value: object = node.value
        if node.type == "Edm.Decimal" and not self.context.dialect.native_decimal:
            value = float(node.value)  # type: ignore[arg-type]
        if node.type == "Edm.DateTimeOffset":
            try:
                value = _utc_naive(node.value)  # type: ignore[arg-type]
            except OverflowError:
                raise self._mismatch(node, "this date/time is outside the range of dates in UTC") from None
        if not is_primitive(node.type):
            raise NotImplemented_(self._at(node, f"{node.type} literals are not supported yet"))
        if node.type == "Edm.Guid":
            # Untyped: a Guid compared with a column binds as that column's type (a virtual table's
            # Guid key binds as its RECID, gateway/virtual/rowguid.py).
            return Typed(literal(str(node.value), NullType()), node.type, False, node)
        return Typed(literal(value, sql_type(node.type, self.catalog)), node.type, False, node)

    def _duration(self, node: ast.Literal) -> Typed:
        """A duration literal as the number of seconds the column stores (gateway/edm.py)."""
        try:
            seconds = parse_duration(str(node.value))
        except ValueError:
            raise self._mismatch(node, f"'{node.value}' is not a duration like P1DT2H30M (days, hours, minutes, "
                                       "seconds)") from None
        value: object = seconds if self.context.dialect.native_decimal else float(seconds)
        return Typed(literal(value, sql_type("Edm.Duration", self.catalog)), "Edm.Duration", False,
                     replace(node, value=seconds, type="Edm.Duration"))

    def _enum_literal(self, node: ast.EnumLiteral, expected: str | None) -> Typed:
        namespace = self.catalog.service.namespace
        name = node.type_name.removeprefix(namespace + ".")
        if not self.catalog.is_enum(name):
            raise self._mismatch(
                node, f"unknown enum type {node.type_name}." + did_you_mean(name, self.catalog.service.enums)
            )
        if expected is not None and expected != name and self.catalog.is_enum(expected):
            raise self._mismatch(node, f"expected a value of {namespace}.{expected}, not {node.type_name}")
        return self._enum_value(node, name, node.members)

    def _enum_value(self, node: Any, enum_name: str, members: tuple[str, ...]) -> Typed:
        values = {member: value for value, member in self.catalog.service.enums[enum_name].items()}
        if len(members) > 1 and not self.catalog.is_flags(enum_name):
            raise self._mismatch(node, f"{enum_name} is not a flags enum: give one member, not {len(members)}")
        total = 0
        for member in members:
            if member in values:
                total |= values[member]
            elif re.fullmatch(r"-?[0-9]{1,9}", member):
                total |= int(member)
            else:
                raise self._mismatch(
                    node, f"'{member}' is not a member of {enum_name} (members: {', '.join(values)})"
                )
        return Typed(literal(total), enum_name, False)

    def _alias(self, node: ast.Alias, expected: str | None) -> Typed:
        value = self.context.aliases.get(node.name)
        if value is None:
            # OData: a parameter alias that is given no value is null.
            return Typed(null(), "null", True, ast.Literal(None, "null"))
        if isinstance(value, ast.Alias):
            raise BadRequest(self._at(node, f"parameter alias @{node.name} refers to another alias"))
        return self.compile(value, expected)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ paths
    def _member(self, node: ast.MemberPath, expected: str | None) -> Typed:
        first = node.steps[0]
        if len(node.steps) == 1 and isinstance(first, ast.PropertyStep) and first.name in self.computed:
            return self.computed[first.name]
        if isinstance(first, ast.PropertyStep) and first.name in self.items:  # t in Tags/any(t: t eq 'x')
            return self.items[first.name].path(self, first, node.steps[1:])
        scope, steps = self._start(node)
        cast_to: str | None = None  # a derived type the previous step cast to (NS.DigitalProduct/...)
        for index, step in enumerate(steps):
            last = index == len(steps) - 1
            if isinstance(step, ast.PropertyStep):
                entity = scope.entity
                if step.name in entity.properties:
                    if not last:
                        raise BadRequest(self._at(steps[index + 1], f"{step.name} is a primitive property"))
                    prop = entity.properties[step.name]
                    if prop.type == "Edm.Stream":  # bytes behind a URL: nothing to compare or sort
                        raise BadRequest(self._at(step, f"{step.name} is a stream: it cannot be used in an expression"))
                    nullable = prop.nullable or scope is not self.scope and scope not in self.variables.values()
                    digits = None if prop.precision is None else prop.precision - (prop.scale or 0)
                    if prop.derived is not None and entity.base_type is None:  # the base set: cast first
                        if cast_to != prop.derived:
                            require_cast(entity, step.name)
                        # A row of another type has no such property: null, whatever its column holds.
                        value = case((is_of(scope.column, entity, prop.derived), scope.column(step.name)))
                        return Typed(value, prop.type, True, digits=digits)
                    return Typed(scope.column(step.name), prop.type, nullable, digits=digits)
                if step.name in entity.structured:  # Address/City, Tags/any(...) (gateway/plan/structured.py)
                    outer = scope is not self.scope and scope not in self.variables.values()
                    return structured_path(self, scope, steps[index:], outer)
                nav = entity.navigation.get(step.name)
                elsewhere = self.context.elsewhere
                if nav is None and elsewhere is not None and elsewhere.find(entity, step.name) is not None:
                    raise BadRequest(self._at(step, f"{step.name} leads to a table of another database (the "
                                                    "Dataverse side): use it in a condition of its own "
                                                    f"({step.name}/name eq 'x') or follow it with $expand"))
                if nav is None:
                    raise UnknownProperty(
                        self._at(
                            step,
                            f"{entity.entity_type} has no property {step.name}."
                            + did_you_mean(step.name, [*entity.properties, *entity.navigation]),
                        ),
                        target=step.name,
                    )
                if nav.collection:
                    if last:
                        raise BadRequest(
                            self._at(step, f"{step.name} is a collection: use {step.name}/any(...), all(...) or $count")
                        )
                    return self._collection(scope, nav.name, steps[index + 1], steps[index + 2 :])
                if last:
                    raise BadRequest(
                        self._at(step, f"{step.name} is a navigation property: compare one of its properties")
                    )
                scope = scope.navigate(nav)
                continue
            if isinstance(step, ast.TypeStep) and not last:
                if step.qualified_name != self.catalog.qualified(scope.entity.entity_type):
                    cast_to = derived_type(scope.entity, step.qualified_name)
                    if cast_to is None:
                        raise BadRequest(self._at(step, f"{step.qualified_name} is not a type derived from "
                                                        f"{self.catalog.qualified(scope.entity.entity_type)}"))
                continue
            if isinstance(step, ast.TypeStep):
                raise BadRequest(self._at(step, "a type cast must be followed by a property of the type"))
            raise BadRequest(self._at(step, "this path step is only allowed after a collection"))
        raise BadRequest(self._at(node, "empty path"))

    def _start(self, node: ast.MemberPath) -> tuple[EntityScope, tuple[ast.Step, ...]]:
        first = node.steps[0]
        if isinstance(first, ast.VariableStep):
            if first.name == "$it" or first.name == "$this":
                return self._outermost(), node.steps[1:]
        if isinstance(first, ast.PropertyStep) and first.name in self.variables:
            if len(node.steps) == 1:
                raise BadRequest(self._at(first, f"lambda variable {first.name} must be followed by a property"))
            return self.variables[first.name], node.steps[1:]
        return self.scope, node.steps

    def _outermost(self) -> EntityScope:
        return self.variables.get("$it", self.scope)

    def _collection(
        self, scope: EntityScope, nav_name: str, step: ast.Step, rest: tuple[ast.Step, ...]
    ) -> Typed:
        if rest:
            raise BadRequest(self._at(rest[0], "nothing may follow any(), all() or $count here"))
        nav = scope.entity.navigation[nav_name]
        target = EntityScope(self.catalog.entities[nav.target], self.context)
        link = and_(scope.link_condition(nav, target), *target.conditions)
        if isinstance(step, ast.CountStep):
            counted = select(func.count()).select_from(target.from_clause()).where(link).scalar_subquery()
            return Typed(counted, "Edm.Int64", False)
        if not isinstance(step, ast.LambdaStep):
            raise BadRequest(self._at(step, f"{nav_name} is a collection: use any(), all() or $count"))
        if step.predicate is None:
            return Typed(exists(select(literal(1)).select_from(target.from_clause()).where(link)), BOOLEAN, False)
        assert step.variable is not None
        variables = {"$it": self._outermost(), **self.variables, step.variable: target}
        inner = ExpressionCompiler(self.context, target, self.text, variables)
        condition = inner.predicate(step.predicate)
        if step.kind == "any":
            body = and_(link, condition)
            return Typed(exists(select(literal(1)).select_from(target.from_clause()).where(body)), BOOLEAN, False)
        failing = and_(link, not_(func.coalesce(condition, false())))
        return Typed(~exists(select(literal(1)).select_from(target.from_clause()).where(failing)), BOOLEAN, False)

    # ------------------------------------------------------------------ operators
    def _binary(self, node: ast.BinaryOp, expected: str | None) -> Typed:
        if node.op in ("and", "or"):
            # Flattened, so that a chain of thousands of 'or' terms is one flat SQL list, not a deep tree.
            operands = [self.predicate(operand) for operand in _chain(node, node.op)]
            return Typed(and_(*operands) if node.op == "and" else or_(*operands), BOOLEAN, False)
        left, right = self._operands(node.left, node.right)
        if node.op in _COMPARISONS:
            return self._comparison(node, left, right)
        if node.op == "has":
            if not self.catalog.is_enum(left.type):
                raise self._mismatch(node, "'has' needs an enum value on its left")
            if right.type == "null":
                return Typed(false(), BOOLEAN, False)  # 'has null' is null: never true
            if right.type != left.type:
                raise self._mismatch(node, f"'has' needs a value of {left.type} on its right (like "
                                           f"{self.catalog.qualified(left.type)}'Member'), not {_describe(right.type)}")
            if self.catalog.is_flags(left.type):
                # Every bit of the right side is set on the left: (Status & 3) = 3 (all three databases have &).
                return Typed(_two_valued(left.sql.op("&")(right.sql) == right.sql, left), BOOLEAN, False)
            # An enum that is not flags: its values are single members, so 'has' is equality.
            return Typed(_two_valued(left.sql == right.sql, left), BOOLEAN, False)
        return self._arithmetic(node, left, right)

    def _operands(self, left_node: ast.Expr, right_node: ast.Expr) -> tuple[Typed, Typed]:
        """Compile both sides, letting a typed side tell an untyped enum/string literal its type."""
        if isinstance(left_node, (ast.EnumLiteral, ast.Literal, ast.Alias)):
            right = self.compile(right_node)
            left = self.compile(left_node, right.type)
        else:
            left = self.compile(left_node)
            right = self.compile(right_node, left.type)
        self._fits(left, right)
        self._fits(right, left)
        return _as_single(left, right), _as_single(right, left)

    def _fits(self, value: Typed, other: Typed) -> None:
        """A number literal beside a numeric expression must be a value of that expression's type:
        databases overflow, round or read infinity where OData means a comparison of two numbers."""
        node = value.literal
        if node is None or not is_numeric(node.type) or not is_numeric(other.type) or other.literal is not None:
            return
        number = node.value
        assert isinstance(number, (int, float, Decimal))
        shown = _number_text(number)
        if not math.isfinite(number):
            if other.type not in ("Edm.Double", "Edm.Single"):
                raise self._mismatch(node, f"the literal {shown} is not a value of {other.type} (only Edm.Double "
                                           "and Edm.Single have NaN and INF)")
            return
        bounds = INTEGER_RANGES.get(other.type)
        if bounds is not None and not bounds[0] <= number <= bounds[1]:
            raise self._mismatch(node, f"the literal {shown} is outside the range of {other.type} "
                                       f"({bounds[0]} to {bounds[1]})")
        if other.type == "Edm.Decimal" and other.digits is not None and abs(number) >= 10**other.digits:
            raise self._mismatch(node, f"the literal {shown} has more than the {other.digits} digits before the "
                                       "point that this decimal property holds")
        if other.type == "Edm.Double" and abs(number) > sys.float_info.max:
            raise self._mismatch(node, f"the literal {shown} is beyond the range of Edm.Double")
        if other.type == "Edm.Single" and abs(float(number)) > SINGLE_MAX:
            raise self._mismatch(node, f"the literal {shown} is beyond the range of Edm.Single (about ±3.4e38)")

    def _comparison(self, node: ast.BinaryOp, left: Typed, right: Typed) -> Typed:
        left = _typed_like(left, right)  # `<guid> eq Column`: the Guid binds as the column's type
        if not comparable(left.type, right.type):
            raise self._mismatch(
                node, f"cannot compare {_describe(left.type)} with {_describe(right.type)} using '{node.op}'"
            )
        if node.op in ("eq", "ne"):
            wildcard = self._wildcard(left, right)
            if wildcard is not None:
                matched = left.sql.like(wildcard, escape="\\")
                if node.op == "eq":
                    return Typed(_two_valued(matched, left), BOOLEAN, False)
                return Typed(or_(~matched, left.sql.is_(None)) if left.nullable else ~matched, BOOLEAN, False)
            return Typed(_equality(node.op, left, right), BOOLEAN, False)
        if "null" in (left.type, right.type):
            return Typed(false(), BOOLEAN, False)  # OData: an order comparison with null is false
        operators: dict[str, Callable[[Any, Any], ColumnElement[bool]]] = {
            "lt": lambda a, b: a < b,
            "le": lambda a, b: a <= b,
            "gt": lambda a, b: a > b,
            "ge": lambda a, b: a >= b,
        }
        return Typed(_two_valued(operators[node.op](left.sql, right.sql), left, right), BOOLEAN, False)

    def _wildcard(self, left: Typed, right: Typed) -> str | None:
        """F&O's `Field eq '*text*'`: a string literal with '*' matches like a LIKE pattern."""
        literal_node = right.literal
        if left.type != STRING or literal_node is None or literal_node.type != STRING:
            return None
        text = str(literal_node.value)
        if "*" not in text:
            return None
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return escaped.replace("*", "%")

    def _arithmetic(self, node: ast.BinaryOp, left: Typed, right: Typed) -> Typed:
        if "Edm.Duration" in (left.type, right.type) and node.op in ("add", "sub"):
            return self._duration_arithmetic(node, left, right)
        if not (is_numeric(left.type) or left.type == "null") or not (is_numeric(right.type) or right.type == "null"):
            raise self._mismatch(
                node, f"'{node.op}' needs numbers, not {_describe(left.type)} and {_describe(right.type)}"
            )
        if "null" in (left.type, right.type):
            return Typed(null(), "null")
        result_type = wider_numeric(left.type, right.type)
        a, b = left.sql, right.sql
        if result_type in SMALL_INTEGERS:
            # Computed as Int32: PostgreSQL's smallint + smallint fails past 32767 where OData means a number.
            result_type, a, b = "Edm.Int32", cast(a, Integer()), cast(b, Integer())
        if node.op == "add":
            sql = a + b
        elif node.op == "sub":
            sql = a - b
        elif node.op == "mul":
            sql = a * b
        elif node.op == "mod":
            sql = self.context.dialect.sql("mod")(a, b)
        elif node.op == "divby":
            sql, result_type = self.context.dialect.sql("decimal_div")(cast(a, Double()), b), "Edm.Double"
        elif result_type in ("Edm.Decimal", "Edm.Double"):
            sql = self.context.dialect.sql("decimal_div")(a, b)
        else:
            sql = self.context.dialect.sql("integer_div")(a, b)  # OData: integer div truncates
        if result_type == "Edm.Decimal" and not self.context.dialect.native_decimal:
            # Without a decimal type the database computes in binary floating point
            # (20.49 * 58 = 1188.4199999999998); ten places give back the decimal result.
            sql = func.round(sql, 10)
        return Typed(sql, result_type, left.nullable or right.nullable)

    def _duration_arithmetic(self, node: ast.BinaryOp, left: Typed, right: Typed) -> Typed:
        """Duration add/sub duration: the stored seconds added (date + duration: not supported)."""
        if {left.type, right.type} - {"Edm.Duration", "null"}:
            raise self._mismatch(node, f"'{node.op}' with a duration needs two durations, not {_describe(left.type)} "
                                       f"and {_describe(right.type)} (date/time arithmetic is not supported)")
        if "null" in (left.type, right.type):
            return Typed(null(), "null")
        sql = left.sql + right.sql if node.op == "add" else left.sql - right.sql
        return Typed(sql, "Edm.Duration", left.nullable or right.nullable)

    def _in(self, node: ast.In, expected: str | None) -> Typed:
        operand = self.compile(node.operand)
        items = node.collection.items if isinstance(node.collection, ast.ListExpr) else (node.collection,)
        values = [self.compile(item, operand.type) for item in items]
        for item, value in zip(items, values):
            if not comparable(operand.type, value.type):
                raise self._mismatch(item, f"cannot compare {_describe(operand.type)} with {_describe(value.type)}")
            self._fits(value, operand)
        values = [_as_single(value, operand) for value in values]
        non_null = [_typed_like(value, operand).sql for value in values if value.type != "null"]
        condition: ColumnElement[bool] = _two_valued(operand.sql.in_(non_null), operand) if non_null else false()
        if len(non_null) < len(values):
            condition = or_(condition, operand.sql.is_(None))
        return Typed(condition, BOOLEAN, False)

    def _unary(self, node: ast.UnaryOp, expected: str | None) -> Typed:
        if node.op == "not":
            return Typed(not_(self.predicate(node.operand)), BOOLEAN, False)
        operand = self.compile(node.operand)
        if not is_numeric(operand.type) and operand.type != "Edm.Duration":
            raise self._mismatch(node, f"cannot negate {_describe(operand.type)}")
        return Typed(-operand.sql, operand.type, operand.nullable)

    def _list(self, node: ast.ListExpr, expected: str | None) -> Typed:
        raise BadRequest(self._at(node, "a list is only allowed on the right of 'in'"))

    def _root(self, node: ast.RootPath, expected: str | None) -> Typed:
        """$root/Set(key)/Property: one value of another entity, as a scalar subquery."""
        head, rest = node.path.steps[0], node.path.steps[1:]
        entity = self.catalog.entities.get(head.name) if isinstance(head, ast.FunctionStep) else None
        if entity is None or not rest or not isinstance(head, ast.FunctionStep):
            raise BadRequest(self._at(node, "$root must be followed by EntitySet(key)/Property"))
        pairs = tuple(arg if isinstance(arg, ast.KeyValue) else ast.KeyValue(None, arg) for arg in head.args)
        fixed = key_values(self.catalog, entity, pairs, self.context.aliases)
        scope = EntityScope(entity, self.context)
        value = ExpressionCompiler(self.context, scope, self.text).compile(ast.MemberPath(rest, rest[0].pos))
        subquery = select(value.sql).select_from(scope.from_clause()).where(scope.where(fixed)).limit(1)
        return Typed(subquery.scalar_subquery(), value.type, True)

    # ------------------------------------------------------------------ functions
    def _function(self, node: ast.FunctionCall, expected: str | None) -> Typed:
        if is_crm_function(node.name):  # Microsoft.Dynamics.CRM.In(PropertyName=...,...): Dataverse's own
            return crm_function(self, node)
        spec = FUNCTIONS.get(node.name)
        if spec is None:
            if node.name in CANONICAL_FUNCTIONS:
                raise NotImplemented_(self._at(node, f"the canonical function {node.name} is not supported yet"))
            raise SyntaxError_(
                self._at(node, f"unknown function {node.name}." + did_you_mean(node.name, CANONICAL_FUNCTIONS))
            )
        arity, build = spec
        if len(node.args) not in arity:
            counts = " or ".join(str(n) for n in arity)
            raise BadRequest(self._at(node, f"{node.name} takes {counts} argument(s), not {len(node.args)}"))
        args = [self._argument(arg) for arg in node.args]
        return build(self, node, args)

    def _argument(self, node: ast.Expr) -> Typed:
        """A function argument; a bare type name (cast(X, Edm.String)) becomes a 'type:' Typed."""
        if isinstance(node, ast.MemberPath) and len(node.steps) == 1 and isinstance(node.steps[0], ast.TypeStep):
            return Typed(null(), TYPE_NAME_PREFIX + node.steps[0].qualified_name)
        if isinstance(node, ast.KeyValue):
            raise NotImplemented_(self._at(node.value, "named arguments are not supported by canonical functions"))
        return self.compile(node)

    def not_supported(self, node: Any, what: str) -> NotImplemented_:
        return NotImplemented_(self._at(node, f"{what} is not supported yet"))

    def mismatch(self, node: Any, message: str) -> TypeMismatch:
        return self._mismatch(node, message)

    def invalid(self, node: Any, message: str) -> BadRequest:
        return BadRequest(self._at(node, message))

    def sql_type(self, edm_type: str) -> Any:
        return sql_type(edm_type, self.catalog)

    def expect(self, node: ast.FunctionCall, args: list[Typed], *types: tuple[str, ...]) -> None:
        for index, (arg, allowed) in enumerate(zip(args, types)):
            if arg.type != "null" and arg.type not in allowed:
                raise self._mismatch(
                    node.args[index],
                    f"argument {index + 1} of {node.name} must be {' or '.join(allowed)}, not {_describe(arg.type)}",
                )


_COMPARISONS = ("eq", "ne", "lt", "le", "gt", "ge")


def _chain(node: ast.BinaryOp, op: str) -> list[ast.Expr]:
    """The operands of a left- or right-nested chain of one operator, in order, without recursion."""
    operands: list[ast.Expr] = []
    stack: list[ast.Expr] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.BinaryOp) and current.op == op:
            stack.extend((current.right, current.left))
        else:
            operands.append(current)
    return operands


def _typed_like(value: Typed, other: Typed) -> Typed:
    """An untyped literal (a Guid) on the left of a comparison, typed as the other side; on the right
    SQLAlchemy does this itself."""
    if isinstance(value.sql, BindParameter) and value.sql.type._isnull and not other.sql.type._isnull:
        return replace(value, sql=literal(value.sql.value, other.sql.type))
    return value


def _as_single(value: Typed, other: Typed) -> Typed:
    """A number literal beside an Edm.Single expression, rounded to binary32 as OData's promotion to
    Single does: `Weight eq 1.1` then matches the 1.1 a REAL column holds (1.100000023841858)."""
    node = value.literal
    if other.type != "Edm.Single" or node is None or not is_numeric(node.type) or other.literal is not None:
        return value
    number = to_single(float(node.value))  # type: ignore[arg-type]
    return Typed(literal(number, Single()), "Edm.Single", False, replace(node, value=number, type="Edm.Single"))


def _two_valued(condition: ColumnElement[bool], *operands: Typed) -> ColumnElement[bool]:
    """OData comparisons are never null: with a null operand they are false (so `not` makes them
    true), where SQL would say NULL and drop the row under `not` too."""
    guards = [operand.sql.is_not(None) for operand in operands if operand.nullable and operand.type != "null"]
    return and_(*guards, condition) if guards else condition


def _equality(op: str, left: Typed, right: Typed) -> ColumnElement[bool]:
    """OData equality: null eq null is true and null ne 'x' is true, unlike SQL's three values."""
    if right.type == "null" or left.type == "null":
        other = left if right.type == "null" else right
        return other.sql.is_(None) if op == "eq" else other.sql.is_not(None)
    both_nullable = left.nullable and right.nullable
    if op == "eq":
        return left.sql.is_not_distinct_from(right.sql) if both_nullable else _two_valued(left.sql == right.sql, left, right)
    if left.nullable or right.nullable:
        return left.sql.is_distinct_from(right.sql)
    return left.sql != right.sql


def _number_text(number: float | Decimal) -> str:
    """A number literal as the client wrote it, shortened: a message does not echo 5,000 digits."""
    if isinstance(number, float) and not math.isfinite(number):
        return "NaN" if math.isnan(number) else "INF" if number > 0 else "-INF"
    text = str(number)
    return text if len(text) <= 40 else text[:40] + "..."


def _describe(type_name: str) -> str:
    return "null" if type_name == "null" else type_name


def _utc_naive(value: dt.datetime) -> dt.datetime:
    """The database stores UTC without an offset (as F&O does)."""
    if value.tzinfo is None:
        return value
    return value.astimezone(dt.UTC).replace(tzinfo=None)


_HANDLERS: dict[type, Callable[..., Typed]] = {
    ast.Literal: ExpressionCompiler._literal,
    ast.EnumLiteral: ExpressionCompiler._enum_literal,
    ast.Alias: ExpressionCompiler._alias,
    ast.MemberPath: ExpressionCompiler._member,
    ast.BinaryOp: ExpressionCompiler._binary,
    ast.In: ExpressionCompiler._in,
    ast.UnaryOp: ExpressionCompiler._unary,
    ast.ListExpr: ExpressionCompiler._list,
    ast.RootPath: ExpressionCompiler._root,
    ast.FunctionCall: ExpressionCompiler._function,
}
