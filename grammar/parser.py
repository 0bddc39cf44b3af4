"""Parse OData URL parts with the Lark grammar into the AST of grammar/ast.py.

`parse(rule, text)` is the one entry point. Results are cached per (rule, text), bounded in entries
and bytes (grammar/cache.py): a repeated query costs no parsing. Syntax errors become `ODataSyntaxError` with the 0-based position and a caret line.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import difflib
import json
import math
import os
import re
import uuid
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer_NonRecursive, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError
from lark.tree import Meta

from grammar import ast
from grammar.cache import BoundedCache, text_weight

GRAMMAR_FILE = Path(__file__).with_name("odata.lark")

START_RULES = (
    "filter_option",
    "orderby_option",
    "select_option",
    "expand_option",
    "compute_option",
    "apply_option",
    "search_option",
    "resource_path",
    "alias_value_option",
    "key_predicate_option",
    "top_option",
    "skip_option",
    "count_option",
    "index_option",
    "format_option",
    "schemaversion_option",
    "skiptoken_option",
    "deltatoken_option",
    "id_option",
)

_STRING = re.compile(r"'([^']|'')*'")
_WORD = re.compile(r"[^\W\d]\w*|\S")

# Catch-all terminals (option values, search words, key segments): when the error lexer found one of
# them, nothing more specific matched there, so the error names the word or character at that spot.
_FREE_TEXT_TERMINALS = frozenset(
    {"FREE_TEXT", "FORMAT", "SCHEMA_VERSION", "SEARCH_WORD", "NESTED_SEARCH_WORD", "KEY_SEGMENT"}
)

# Token names as a user would recognise them in "expected ..." messages.
_TOKEN_DESCRIPTIONS = {
    "RPAR": "')'",
    "LPAR": "'('",
    "COMMA": "','",
    "SLASH": "'/'",
    "EQUAL": "'='",
    "COLON": "':'",
    "SEMICOLON": "';'",
    "STRING": "a string literal",
    "INTEGER": "an integer",
    "IDENTIFIER": "a property name",
    "QUALIFIED_NAME": "a qualified name",
    "ENUM_LITERAL": "an enum literal",
    "$END": "the end of the text",
    "RANKED_TRAFO": "'topcount'",
}
_TRANSFORMATIONS = frozenset(
    {"'aggregate'", "'groupby'", "'filter'", "'compute'", "'orderby'", "'top'", "'skip'", "'identity'"}
)


class ODataSyntaxError(ValueError):
    """Text that the grammar rejects; `position` is the 0-based offset where it stops being valid."""

    def __init__(self, message: str, text: str, position: int) -> None:
        self.text = text
        self.position = position
        self.reason = message
        super().__init__(f"{message} at position {position}\n{text}\n{' ' * position}^")


class ODataLiteralError(ValueError):
    """A literal of the right shape but an impossible value, e.g. 2023-02-30."""


@lru_cache(maxsize=1)
def build_parser() -> Lark:
    """The LALR parser, built once per process; call it at start-up to keep it off requests."""
    return Lark(
        GRAMMAR_FILE.read_text(encoding="utf-8"),
        parser="lalr",
        start=list(START_RULES),
        propagate_positions=True,
        maybe_placeholders=True,
        cache=_tables_cache(),
    )


def _tables_cache() -> str | bool:
    """Where Lark keeps the analysed grammar (a third of a start's time to compute), checked against the
    grammar's hash when read. A pickle is only as trustworthy as its folder: the user's own, closed to
    others, never Lark's default in the shared temporary folder. None usable: no cache."""
    folder = Path("~/.fno-gateway/cache").expanduser()
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.stat()
        if info.st_uid != os.getuid() or info.st_mode & 0o022:
            return False
    except OSError:
        return False
    return str(folder / "odata-lalr.pickle")


# Parsed options by (rule, text), bounded in bytes too: distinct long filters must not pile up.
PARSE_CACHE: BoundedCache[Any] = BoundedCache(4096, 32 * 2**20, text_weight(32))


def parse(rule: str, text: str) -> Any:
    """Parse `text` with the start rule `rule` and return its AST node (cached)."""
    return PARSE_CACHE.get((rule, text), lambda: parse_uncached(rule, text))


def parse_uncached(rule: str, text: str) -> Any:
    try:
        tree = build_parser().parse(text, start=rule)
        return _ToAst(text).transform(tree)
    except VisitError as error:
        cause = error.orig_exc
        if isinstance(cause, ODataSyntaxError):
            raise ODataSyntaxError(cause.reason, text, cause.position) from None
        if isinstance(cause, (ValueError, ArithmeticError)):  # a literal Python cannot hold
            node = error.obj
            position = node.start_pos if isinstance(node, Token) else getattr(node.meta, "start_pos", 0)
            raise ODataSyntaxError(f"invalid value: {cause}", text, position or 0) from None
        raise
    except UnexpectedInput as error:
        raise _syntax_error(error, text) from None
    except RecursionError:
        raise ODataSyntaxError("the text is nested too deeply", text, 0) from None


def _syntax_error(error: UnexpectedInput, text: str) -> ODataSyntaxError:
    if isinstance(error, UnexpectedEOF):
        return ODataSyntaxError("unexpected end of text", text, len(text))
    if isinstance(error, UnexpectedCharacters):
        position = error.pos_in_stream or 0
        if text[position] == "'":
            return ODataSyntaxError("unterminated string literal (a quote inside a string is written '')", text, position)
        return ODataSyntaxError(f"unexpected character {text[position]!r}", text, position)
    if isinstance(error, UnexpectedToken):
        token = error.token
        if token.type in _FREE_TEXT_TERMINALS and token.start_pos is not None:
            # A catch-all terminal matched where nothing fits: report the word (or character) there.
            position = token.start_pos
            if text[position] == "'" and not _STRING.match(text, position):
                return ODataSyntaxError("unterminated string literal", text, position)
            match = _STRING.match(text, position) or _WORD.match(text, position)
            found = match.group() if match else text[position]
            return ODataSyntaxError(f"unexpected {found!r}{_expected_hint(error)}", text, position)
        if token.type == "$END":
            position = len(text)
            found = "end of text"
        else:
            position = token.start_pos or 0
            found = repr(str(token))
            if str(token).startswith("'") and not str(token).endswith("'"):
                return ODataSyntaxError("unterminated string literal", text, position)
        return ODataSyntaxError(f"unexpected {found}{_expected_hint(error)}", text, position)
    return ODataSyntaxError("invalid syntax", text, 0)


def _expected_hint(error: UnexpectedToken) -> str:
    expected = sorted(_TOKEN_DESCRIPTIONS.get(name, _describe(name)) for name in error.expected)
    if not expected or len(expected) > 12:
        return ""
    if set(expected) >= _TRANSFORMATIONS:  # the start of an $apply transformation: name them all
        return f"; expected a transformation ({', '.join(sorted(_TRANSFORMATIONS))})"
    return f"; expected {', '.join(expected[:8])}"


def _describe(token_name: str) -> str:
    # Anonymous keyword tokens are named after their text by Lark (e.g. 'NULL' for "null"); keyword
    # operators are the filtered terminals _EQ, _AND, ...; other anonymous strings get __ANON names.
    name = token_name.lstrip("_")
    if name.isupper() and name.isalpha():
        return f"'{name.lower()}'"
    terminal = next((t for t in build_parser().terminals if t.name == token_name), None)
    if terminal is not None and terminal.pattern.type == "str":
        return f"'{terminal.pattern.value}'"
    return token_name


def _pos(meta: Meta) -> int:
    return getattr(meta, "start_pos", 0) or 0


def _literal_error(message: str, token: Token) -> ODataSyntaxError:
    return ODataSyntaxError(message, "", token.start_pos or 0)


@v_args(meta=True)
class _ToAst(Transformer_NonRecursive[Token, Any]):
    """One method per named alternative of odata.lark (non-recursive: a filter of a thousand 'or's
    is as deep as it is long)."""

    def __init__(self, text: str = "") -> None:
        super().__init__()
        self._text = text  # for the constructs kept as source text (e.g. a $filter(...) path segment)

    # ---------------------------------------------------------- literals
    def string(self, meta: Meta, children: list[Token]) -> ast.Literal:
        raw = str(children[0])
        return ast.Literal(raw[1:-1].replace("''", "'"), "Edm.String", _pos(meta))

    def integer(self, meta: Meta, children: list[Token]) -> ast.Literal:
        text = str(children[0])
        if len(text.lstrip("0")) > 19:  # beyond Int64; int() refuses over 4,300 digits, Decimal does not
            return ast.Literal(Decimal(text), "Edm.Decimal", _pos(meta))
        value = int(text)
        if value <= 2**31 - 1:
            edm = "Edm.Int32"
        elif value <= 2**63 - 1:
            edm = "Edm.Int64"
        else:
            return ast.Literal(Decimal(value), "Edm.Decimal", _pos(meta))
        return ast.Literal(value, edm, _pos(meta))

    def decimal(self, meta: Meta, children: list[Token]) -> ast.Literal:
        return ast.Literal(Decimal(str(children[0])), "Edm.Decimal", _pos(meta))

    def double(self, meta: Meta, children: list[Token]) -> ast.Literal:
        text = str(children[0])
        value = {"INF": float("inf"), "NaN": float("nan")}.get(text)
        if value is None:
            value = float(text)
            if math.isinf(value):  # Python reads 1e999999 as infinity; only INF means that
                raise ValueError(f"the literal {text} is beyond the range of Edm.Double (about ±1.8e308)")
        return ast.Literal(value, "Edm.Double", _pos(meta))

    def boolean(self, meta: Meta, children: list[Token]) -> ast.Literal:
        return ast.Literal(str(children[0]).lower() == "true", "Edm.Boolean", _pos(meta))

    def null(self, meta: Meta, children: list[Token]) -> ast.Literal:
        return ast.Literal(None, "null", _pos(meta))

    def date(self, meta: Meta, children: list[Token]) -> ast.Literal:
        return ast.Literal(_convert(dt.date.fromisoformat, children[0], "date"), "Edm.Date", _pos(meta))

    def datetimeoffset(self, meta: Meta, children: list[Token]) -> ast.Literal:
        value = _convert(dt.datetime.fromisoformat, children[0], "date/time")
        return ast.Literal(value, "Edm.DateTimeOffset", _pos(meta))

    def timeofday(self, meta: Meta, children: list[Token]) -> ast.Literal:
        return ast.Literal(_convert(dt.time.fromisoformat, children[0], "time of day"), "Edm.TimeOfDay", _pos(meta))

    def guid(self, meta: Meta, children: list[Token]) -> ast.Literal:
        return ast.Literal(uuid.UUID(str(children[0])), "Edm.Guid", _pos(meta))

    def duration(self, meta: Meta, children: list[Token]) -> ast.Literal:
        text = str(children[0])
        body = text[text.index("'") + 1 : -1]
        if not _DURATION.fullmatch(body):  # dayTimeDuration: no years or months
            raise _literal_error(f"invalid duration literal {text}", children[0])
        return ast.Literal(body, "Edm.Duration", _pos(meta))

    def binary(self, meta: Meta, children: list[Token]) -> ast.Literal:
        text = str(children[0])
        body = text[text.index("'") + 1 : -1]
        try:
            value = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            # binaryValue (ABNF): padding only to a whole quantum, and the canonical last character
            # ('QUJD=' and 'QUJ=' for 'QUI' are not base64url).
            urlsafe = body.rstrip("=").replace("+", "-").replace("/", "_")
            padded = "=" in body and len(body) != len(urlsafe) + (-len(urlsafe) % 4)
            if padded or base64.urlsafe_b64encode(value).decode().rstrip("=") != urlsafe:
                raise ValueError(body)
        except (binascii.Error, ValueError):
            raise _literal_error("invalid binary literal", children[0]) from None
        return ast.Literal(value, "Edm.Binary", _pos(meta))

    def negative_number(self, meta: Meta, children: list[Token]) -> ast.Literal:
        token = children[0]
        if token.type == "INTEGER":
            literal = self.integer(meta, [token])
        elif token.type == "DECIMAL":
            literal = self.decimal(meta, [token])
        else:
            literal = self.double(meta, [token])
        return ast.Literal(-literal.value, literal.type, _pos(meta))  # type: ignore[operator]

    def positive_number(self, meta: Meta, children: list[Token]) -> ast.Literal:
        token = children[0]
        if token.type == "INTEGER":
            literal = self.integer(meta, [token])
        elif token.type == "DECIMAL":
            literal = self.decimal(meta, [token])
        else:
            literal = self.double(meta, [token])
        return literal

    def geo(self, meta: Meta, children: list[Token]) -> ast.Literal:
        # Kept opaque: the well-known text after "SRID=n;", typed Edm.Geography<Kind>/Edm.Geometry<Kind>.
        text = str(children[0])
        prefix, _, rest = text.partition("'")
        body = rest[:-1]
        kind = re.match(r"SRID=\d+;([A-Za-z]+)", body, re.IGNORECASE)
        name = kind.group(1) if kind else ""
        canonical = {k.lower(): k for k in _GEO_KINDS}.get(name.lower())
        if canonical is None:
            raise _literal_error(f"unknown geo literal kind {name!r}", children[0])
        family = "Edm.Geography" if prefix.lower() == "geography" else "Edm.Geometry"
        kind_name = "Collection" if canonical == "GeometryCollection" else canonical
        return ast.Literal(body, family + kind_name, _pos(meta))

    def enum_literal(self, meta: Meta, children: list[Token]) -> ast.EnumLiteral:
        text = str(children[0])
        type_name, _, rest = text.partition("'")
        members = tuple(member.strip() for member in rest[:-1].split(","))
        if not all(_ENUM_MEMBER.fullmatch(member) for member in members):  # names or integers
            raise _literal_error(f"invalid enum literal {text}", children[0])
        return ast.EnumLiteral(type_name, members, _pos(meta))

    def parameter_alias(self, meta: Meta, children: list[Token]) -> ast.Alias:
        return ast.Alias(str(children[0])[1:], _pos(meta))

    # ---------------------------------------------------------- operators
    def _binary(self, op: str, meta: Meta, children: list[Any]) -> ast.BinaryOp:
        return ast.BinaryOp(op, children[0], children[1], _pos(meta))

    def or_(self, meta: Meta, children: list[Any]) -> ast.BinaryOp:
        return self._binary("or", meta, children)

    def and_(self, meta: Meta, children: list[Any]) -> ast.BinaryOp:
        return self._binary("and", meta, children)

    def eq(self, meta: Meta, children: list[Any]) -> ast.BinaryOp:
        return self._binary("eq", meta, children)

    def ne(self, meta: Meta, children: list[Any]) -> ast.BinaryOp:
        return self._binary("ne", meta, children)

    def lt(self, meta: Meta, children: list[Any]) -> ast.BinaryOp:
        return self._binary("lt", meta, children)

    def le(self, meta: Meta, children: list[Any]) -> ast.BinaryOp:
        return self._binary("le", meta, children)

    def gt(self, meta: Meta, children: list[Any]) -> ast.BinaryOp:
        return self._binary("gt", meta, children)

    def ge(self, meta: Meta, children: list[Any]) -> ast.BinaryOp:
        return self._binary("ge", meta, children)

    def add(self, meta: Meta, children: list[Any]) -> ast.BinaryOp:
        return self._binary("add", meta, children)

    def sub(self, meta: Meta, children: list[Any]) -> ast.BinaryOp:
        return self._binary("sub", meta, children)

    def mul(self, meta: Meta, children: list[Any]) -> ast.BinaryOp:
        return self._binary("mul", meta, children)

    def div(self, meta: Meta, children: list[Any]) -> ast.BinaryOp:
        return self._binary("div", meta, children)

    def divby(self, meta: Meta, children: list[Any]) -> ast.BinaryOp:
        return self._binary("divby", meta, children)

    def mod(self, meta: Meta, children: list[Any]) -> ast.BinaryOp:
        return self._binary("mod", meta, children)

    def has(self, meta: Meta, children: list[Any]) -> ast.BinaryOp:
        return self._binary("has", meta, children)

    def in_(self, meta: Meta, children: list[Any]) -> ast.In:
        return ast.In(children[0], children[1], _pos(meta))

    def negate(self, meta: Meta, children: list[Any]) -> ast.Expr:
        operand = children[0]
        if isinstance(operand, ast.Literal) and operand.type in ("Edm.Int32", "Edm.Int64", "Edm.Decimal", "Edm.Double"):
            return ast.Literal(-operand.value, operand.type, _pos(meta))  # type: ignore[operator]
        return ast.UnaryOp("negate", operand, _pos(meta))

    def not_(self, meta: Meta, children: list[Any]) -> ast.UnaryOp:
        return ast.UnaryOp("not", children[0], _pos(meta))

    def list_expr(self, meta: Meta, children: list[Any]) -> ast.ListExpr:
        return ast.ListExpr(tuple(child for child in children if child is not None), _pos(meta))

    paren_list = list_expr

    def json_string(self, meta: Meta, children: list[Token]) -> ast.Literal:
        return ast.Literal(_json_string(children[0]), "Edm.String", _pos(meta))

    def json_member(self, meta: Meta, children: list[Any]) -> tuple[str, Any]:
        return (_json_string(children[0]), children[1])

    def object_expr(self, meta: Meta, children: list[Any]) -> ast.Literal:
        # A JSON object (complex or entity value): a Literal of type 'object' whose value is the tuple
        # of (name, expression) members in order.
        return ast.Literal(tuple(child for child in children if child is not None), "object", _pos(meta))

    def function_call(self, meta: Meta, children: list[Any]) -> ast.FunctionCall:
        name, *args = children
        if str(name) in ("any", "all"):
            # Lambda operators need a collection path before them (anyExpr, allExpr).
            raise ODataSyntaxError(f"{name}() must follow a collection path", "", name.end_pos or 0)
        return ast.FunctionCall(str(name), tuple(arg for arg in args if arg is not None), _pos(meta))

    def named_arg(self, meta: Meta, children: list[Any]) -> ast.KeyValue:
        # name=value argument of a (bound or namespace-qualified) function; positional ones are plain Exprs.
        return ast.KeyValue(str(children[0]), children[1])

    def type_arg(self, meta: Meta, children: list[Token]) -> ast.MemberPath:
        return ast.MemberPath((ast.TypeStep(str(children[0]), _pos(meta)),), _pos(meta))

    def case_expr(self, meta: Meta, children: list[Any]) -> ast.FunctionCall:
        # case(c1:v1,c2:v2): a FunctionCall 'case' whose arguments are (condition, value) ListExprs.
        return ast.FunctionCall("case", tuple(children), _pos(meta))

    def case_pair(self, meta: Meta, children: list[Any]) -> ast.ListExpr:
        return ast.ListExpr((children[0], children[1]), _pos(meta))

    def call_path(self, meta: Meta, children: list[Any]) -> ast.MemberPath:
        return ast.MemberPath((self.bound_function_step(meta, children),), _pos(meta))

    def root_expr(self, meta: Meta, children: list[Any]) -> ast.RootPath:
        return ast.RootPath(children[0], _pos(meta))

    # ---------------------------------------------------------- member paths
    def member_expr(self, meta: Meta, children: list[Any]) -> ast.MemberPath:
        return ast.MemberPath(tuple(children), _pos(meta))

    def property_step(self, meta: Meta, children: list[Token]) -> ast.PropertyStep:
        return ast.PropertyStep(str(children[0]), _pos(meta))

    def variable_step(self, meta: Meta, children: list[Token]) -> ast.VariableStep:
        return ast.VariableStep(str(children[0]), _pos(meta))

    def type_step(self, meta: Meta, children: list[Token]) -> ast.TypeStep:
        return ast.TypeStep(str(children[0]), _pos(meta))

    def count_step(self, meta: Meta, children: list[Any]) -> ast.CountStep:
        return ast.CountStep(_pos(meta))

    def any_empty_step(self, meta: Meta, children: list[Any]) -> ast.LambdaStep:
        return ast.LambdaStep("any", None, None, _pos(meta))

    def any_step(self, meta: Meta, children: list[Any]) -> ast.LambdaStep:
        return ast.LambdaStep("any", str(children[0]), children[1], _pos(meta))

    def all_step(self, meta: Meta, children: list[Any]) -> ast.LambdaStep:
        return ast.LambdaStep("all", str(children[0]), children[1], _pos(meta))

    def bound_function_step(self, meta: Meta, children: list[Any]) -> ast.FunctionStep:
        name, *args = children
        return ast.FunctionStep(str(name), tuple(arg for arg in args if arg is not None), _pos(meta))

    def filter_step(self, meta: Meta, children: list[Any]) -> ast.FunctionStep:
        # Collection/$filter(expr): a FunctionStep named '$filter' with the condition as its argument.
        return ast.FunctionStep("$filter", (children[0],), _pos(meta))

    # ---------------------------------------------------------- start rules and options
    def filter_option(self, meta: Meta, children: list[Any]) -> ast.Expr:
        return children[0]  # type: ignore[no-any-return]

    alias_value_option = filter_option

    def key_predicate_option(self, meta: Meta, children: list[Any]) -> tuple[ast.KeyValue, ...]:
        return children[0]  # type: ignore[no-any-return]

    def top_option(self, meta: Meta, children: list[Token]) -> int:
        return int(children[0])

    skip_option = top_option

    def count_option(self, meta: Meta, children: list[Token]) -> bool:
        return str(children[0]).lower() == "true"

    def index_option(self, meta: Meta, children: list[Any]) -> int:
        child = children[0]
        return int(str(child)) if isinstance(child, Token) else int(child.value)  # a negative_number Literal

    def format_option(self, meta: Meta, children: list[Token]) -> str:
        return str(children[0])

    def schemaversion_option(self, meta: Meta, children: list[Token]) -> str:
        return str(children[0]) if children else "*"

    skiptoken_option = format_option
    deltatoken_option = format_option
    id_option = format_option

    def orderby_option(self, meta: Meta, children: list[ast.OrderItem]) -> tuple[ast.OrderItem, ...]:
        return tuple(children)

    def orderby_item(self, meta: Meta, children: list[Any]) -> ast.OrderItem:
        expr, direction = children
        return ast.OrderItem(expr, direction is not None and str(direction).lower() == "desc")

    def select_option(self, meta: Meta, children: list[ast.SelectItem]) -> tuple[ast.SelectItem, ...]:
        return tuple(children)

    def select_all(self, meta: Meta, children: list[Any]) -> ast.SelectItem:
        return ast.SelectItem((), star=True, pos=_pos(meta))

    def select_all_operations(self, meta: Meta, children: list[Any]) -> ast.SelectItem:
        return ast.SelectItem((str(children[0]),), star=True, pos=_pos(meta))

    def select_path(self, meta: Meta, children: list[Token]) -> tuple[str, ...]:
        return tuple(str(child) for child in children)

    expand_path = select_path

    def select_path_item(self, meta: Meta, children: list[Any]) -> ast.SelectItem:
        path, options = children
        return ast.SelectItem(path, options=options, pos=_pos(meta))

    def select_signature_item(self, meta: Meta, children: list[Any]) -> ast.SelectItem:
        # Ns.Function(Param1,Param2) selects one overload; the signature stays part of the last step.
        path, *parameters = children
        last = f"{path[-1]}({','.join(str(p) for p in parameters)})"
        return ast.SelectItem((*path[:-1], last), pos=_pos(meta))

    def expand_option(self, meta: Meta, children: list[ast.ExpandItem]) -> tuple[ast.ExpandItem, ...]:
        return tuple(children)

    def expand_star(self, meta: Meta, children: list[Any]) -> ast.ExpandItem:
        suffix = children[0] or {}
        return ast.ExpandItem((), star=True, pos=_pos(meta), **suffix)

    def expand_path_item(self, meta: Meta, children: list[Any]) -> ast.ExpandItem:
        path, suffix, options = children
        return ast.ExpandItem(path, options=options, pos=_pos(meta), **(suffix or {}))

    def expand_path_star(self, meta: Meta, children: list[Any]) -> ast.ExpandItem:
        # Address/*: all navigation properties of a complex property.
        path, suffix = children
        return ast.ExpandItem(path, star=True, pos=_pos(meta), **(suffix or {}))

    def expand_value(self, meta: Meta, children: list[Any]) -> ast.ExpandItem:
        return ast.ExpandItem(("$value",), pos=_pos(meta))

    def expand_ref(self, meta: Meta, children: list[Any]) -> dict[str, Any]:
        return {"ref": True}

    def expand_count(self, meta: Meta, children: list[Any]) -> dict[str, Any]:
        return {"count": True}

    def expand_levels(self, meta: Meta, children: list[Token]) -> dict[str, Any]:
        return {"levels": _levels(children[1])}

    def nested_options(self, meta: Meta, children: list[tuple[str, Any]]) -> ast.QueryOptions:
        values: dict[str, Any] = {}
        for name, value in children:
            if name in values:
                raise ODataSyntaxError(f"${name} is given twice", "", _pos(meta))
            values[name] = value
        return ast.QueryOptions(**values)

    def nested_filter(self, meta: Meta, children: list[Any]) -> tuple[str, Any]:
        return ("filter", children[1])

    def nested_select(self, meta: Meta, children: list[Any]) -> tuple[str, Any]:
        return ("select", children[1])

    def nested_expand(self, meta: Meta, children: list[Any]) -> tuple[str, Any]:
        return ("expand", children[1])

    def nested_orderby(self, meta: Meta, children: list[Any]) -> tuple[str, Any]:
        return ("orderby", children[1])

    def nested_top(self, meta: Meta, children: list[Any]) -> tuple[str, Any]:
        return ("top", int(children[1]))

    def nested_skip(self, meta: Meta, children: list[Any]) -> tuple[str, Any]:
        return ("skip", int(children[1]))

    def nested_count(self, meta: Meta, children: list[Any]) -> tuple[str, Any]:
        return ("count", str(children[1]) == "true")

    def nested_levels(self, meta: Meta, children: list[Any]) -> tuple[str, Any]:
        return ("levels", _levels(children[1]))

    def nested_search(self, meta: Meta, children: list[Any]) -> tuple[str, Any]:
        return ("search", children[1])

    def nested_compute(self, meta: Meta, children: list[Any]) -> tuple[str, Any]:
        return ("compute", children[1])

    def nested_apply(self, meta: Meta, children: list[Any]) -> tuple[str, Any]:
        return ("apply", children[1])

    def compute_option(self, meta: Meta, children: list[ast.ComputeItem]) -> tuple[ast.ComputeItem, ...]:
        return tuple(children)

    def compute_item(self, meta: Meta, children: list[Any]) -> ast.ComputeItem:
        return ast.ComputeItem(children[0], str(children[1]))

    # ---------------------------------------------------------- $apply
    def apply_option(self, meta: Meta, children: list[Any]) -> tuple[ast.ApplyStep, ...]:
        return children[0]  # type: ignore[no-any-return]

    def apply_expr(self, meta: Meta, children: list[ast.ApplyStep]) -> tuple[ast.ApplyStep, ...]:
        return tuple(children)

    def apply_aggregate(self, meta: Meta, children: list[ast.AggregateItem]) -> ast.ApplyAggregate:
        return ast.ApplyAggregate(tuple(children), _pos(meta))

    def apply_groupby(self, meta: Meta, children: list[Any]) -> ast.ApplyGroupBy:
        *properties, then = children
        return ast.ApplyGroupBy(tuple(properties), then, _pos(meta))

    def apply_filter(self, meta: Meta, children: list[Any]) -> ast.ApplyFilter:
        return ast.ApplyFilter(children[0], _pos(meta))

    def apply_compute(self, meta: Meta, children: list[ast.ComputeItem]) -> ast.ApplyCompute:
        return ast.ApplyCompute(tuple(children), _pos(meta))

    def apply_orderby(self, meta: Meta, children: list[ast.OrderItem]) -> ast.ApplyOrderBy:
        return ast.ApplyOrderBy(tuple(children), _pos(meta))

    def apply_top(self, meta: Meta, children: list[Token]) -> ast.ApplyTop:
        return ast.ApplyTop(_count(children[0], "top"), _pos(meta))

    def apply_skip(self, meta: Meta, children: list[Token]) -> ast.ApplySkip:
        return ast.ApplySkip(_count(children[0], "skip"), _pos(meta))

    def apply_identity(self, meta: Meta, children: list[Any]) -> ast.ApplyIdentity:
        return ast.ApplyIdentity(_pos(meta))

    def apply_search(self, meta: Meta, children: list[ast.Search]) -> ast.ApplySearch:
        return ast.ApplySearch(children[0], _pos(meta))

    def apply_concat(self, meta: Meta, children: list[tuple[ast.ApplyStep, ...]]) -> ast.ApplyConcat:
        return ast.ApplyConcat(tuple(children), _pos(meta))

    def apply_ranked(self, meta: Meta, children: list[Any]) -> ast.ApplyRanked:
        kind, n, value = children
        return ast.ApplyRanked(str(kind), n, value, _pos(meta))

    def apply_join(self, meta: Meta, children: list[Any]) -> ast.ApplyJoin:
        kind, path, alias, then = children
        return ast.ApplyJoin(path, str(alias), then, str(kind) == "outerjoin", _pos(meta))

    def join_property(self, meta: Meta, children: list[Token | None]) -> tuple[str, ...]:
        return tuple(str(child) for child in children if child is not None)

    def rollup(self, meta: Meta, children: list[Any]) -> ast.Rollup:
        _, *paths = children
        if len(paths) == 1 and len(paths[0].steps) > 1:
            raise ODataSyntaxError(
                "rollup needs two or more grouping paths, or the name of a leveled hierarchy", "", paths[0].pos
            )
        return ast.Rollup(tuple(paths), _pos(meta))

    def aggregate_with(self, meta: Meta, children: list[Any]) -> ast.AggregateItem:
        expr, method, from_, alias = children
        return ast.AggregateItem(expr, method, str(alias), from_ or (), _pos(meta))

    def aggregate_cast(self, meta: Meta, children: list[Any]) -> ast.AggregateItem:
        # A type cast alone (aggrCastPath with a custom method): kept as a one-step path.
        name, method, from_, alias = children
        path = ast.MemberPath((ast.TypeStep(str(name), _pos(meta)),), _pos(meta))
        return ast.AggregateItem(path, method, str(alias), from_ or (), _pos(meta))

    def aggregate_count(self, meta: Meta, children: list[Any]) -> ast.AggregateItem:
        from_, alias = children
        return ast.AggregateItem(None, None, str(alias), from_ or (), _pos(meta))

    def aggregate_path_count(self, meta: Meta, children: list[Any]) -> ast.AggregateItem:
        expr, from_, alias = children
        if not (isinstance(expr, ast.MemberPath) and isinstance(expr.steps[-1], ast.CountStep)):
            # Only $count and Path/$count aggregate without a method: the error is where 'with' belongs.
            keyword = _KEYWORD_AFTER_EXPR.search(self._text, _pos(meta), alias.start_pos or 0)
            position = keyword.start() if keyword else _pos(meta)
            raise ODataSyntaxError(
                "expected 'with' and an aggregation method (sum, min, max, average, countdistinct) before the alias",
                "",
                position,
            )
        return ast.AggregateItem(expr, None, str(alias), from_ or (), _pos(meta))

    def aggregate_method(self, meta: Meta, children: list[Token]) -> str:
        name = str(children[0])
        if children[0].type == "IDENTIFIER" and name not in AGGREGATION_METHODS:
            close = [method for method in AGGREGATION_METHODS if method.lower() == name.lower()]
            close += difflib.get_close_matches(name.lower(), AGGREGATION_METHODS, n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ODataSyntaxError(
                f"unknown aggregation method '{name}' (expected {', '.join(AGGREGATION_METHODS)} "
                f"or a namespace-qualified custom method){hint}",
                "",
                children[0].start_pos or 0,
            )
        return name

    def aggregate_from(self, meta: Meta, children: list[Any]) -> tuple[ast.AggregateFrom, ...]:
        *properties, method, rest = children
        return (ast.AggregateFrom(tuple(properties), method), *(rest or ()))

    def group_path(self, meta: Meta, children: list[Any]) -> ast.MemberPath:
        *steps, last = children
        return ast.MemberPath((*steps, ast.PropertyStep(str(last), last.start_pos or 0)), _pos(meta))

    # ---------------------------------------------------------- $search
    def search_option(self, meta: Meta, children: list[ast.Search]) -> ast.Search:
        return children[0]

    def search_or(self, meta: Meta, children: list[Any]) -> ast.Search:
        operands = [child for child in children if isinstance(child, ast.Search)]  # drop the OR tokens
        return operands[0] if len(operands) == 1 else ast.Search("or", children=tuple(operands))

    def search_and(self, meta: Meta, children: list[Any]) -> ast.Search:
        operands = [child for child in children if isinstance(child, ast.Search)]  # drop the AND tokens
        return operands[0] if len(operands) == 1 else ast.Search("and", children=tuple(operands))

    def search_not(self, meta: Meta, children: list[Any]) -> ast.Search:
        operand = next(child for child in children if isinstance(child, ast.Search))
        return ast.Search("not", children=(operand,))

    def search_sequence(self, meta: Meta, children: list[Any]) -> ast.Search:
        return _SearchBuilder(self, meta, children).build()

    def search_incomplete(self, meta: Meta, children: list[Token]) -> ast.Search:
        # searchExpr-incomplete: '...' taken literally, as a phrase.
        return ast.Search("phrase", str(children[0])[1:-1].replace("''", "'"))

    def search_word(self, meta: Meta, children: list[Token]) -> ast.Search:
        return ast.Search("word", str(children[0]))

    def search_phrase(self, meta: Meta, children: list[Token]) -> ast.Search:
        text = str(children[0])[1:-1]
        return ast.Search("phrase", text.replace('\\"', '"').replace("\\\\", "\\"))

    # ---------------------------------------------------------- resource paths
    def resource_path(self, meta: Meta, children: list[ast.Segment]) -> tuple[ast.Segment, ...]:
        return tuple(children)

    def named_segment(self, meta: Meta, children: list[Any]) -> ast.NamedSegment:
        name, key = children
        return ast.NamedSegment(str(name), key, _pos(meta))

    def count_segment(self, meta: Meta, children: list[Any]) -> ast.SpecialSegment:
        return ast.SpecialSegment("$count", pos=_pos(meta))

    def value_segment(self, meta: Meta, children: list[Any]) -> ast.SpecialSegment:
        return ast.SpecialSegment("$value", pos=_pos(meta))

    def ref_segment(self, meta: Meta, children: list[Any]) -> ast.SpecialSegment:
        return ast.SpecialSegment("$ref", pos=_pos(meta))

    def type_segment(self, meta: Meta, children: list[Token]) -> ast.SpecialSegment:
        return ast.SpecialSegment("type", str(children[0]), _pos(meta))

    def key_segment(self, meta: Meta, children: list[Token]) -> ast.NamedSegment:
        # Key-as-segment value or ordinal index (Customers/1, People/O'Neil): a NamedSegment whose name
        # is the raw segment text, as for Employees/A1245 (the binder knows a collection precedes it).
        return ast.NamedSegment(str(children[0]), None, _pos(meta))

    def all_segment(self, meta: Meta, children: list[Any]) -> ast.SpecialSegment:
        return ast.SpecialSegment("$all", pos=_pos(meta))

    def entity_segment(self, meta: Meta, children: list[Any]) -> ast.SpecialSegment:
        return ast.SpecialSegment("$entity", pos=_pos(meta))

    def each_segment(self, meta: Meta, children: list[Any]) -> ast.SpecialSegment:
        return ast.SpecialSegment("$each", pos=_pos(meta))

    def query_segment(self, meta: Meta, children: list[Any]) -> ast.SpecialSegment:
        return ast.SpecialSegment("$query", pos=_pos(meta))

    def crossjoin_segment(self, meta: Meta, children: list[Token]) -> ast.SpecialSegment:
        return ast.SpecialSegment("$crossjoin", ",".join(str(child) for child in children), _pos(meta))

    def filter_segment(self, meta: Meta, children: list[Any]) -> ast.SpecialSegment:
        # $filter(expr) in a resource path: kept as the source text of the condition (parse it with
        # filter_option when needed).
        source = self._text[_pos(meta) : meta.end_pos] if self._text else ""
        return ast.SpecialSegment("$filter", source[source.find("(") + 1 : -1].strip(), _pos(meta))

    def simple_key(self, meta: Meta, children: list[Any]) -> tuple[ast.KeyValue, ...]:
        return (ast.KeyValue(None, children[0]),)

    def compound_key(self, meta: Meta, children: list[ast.KeyValue]) -> tuple[ast.KeyValue, ...]:
        return tuple(children)

    def empty_key(self, meta: Meta, children: list[Any]) -> tuple[ast.KeyValue, ...]:
        # "()" of a function call without parameters, e.g. TheBestProduct().
        return ()

    def key_pair(self, meta: Meta, children: list[Any]) -> ast.KeyValue:
        return ast.KeyValue(str(children[0]), children[1])


AGGREGATION_METHODS = ("sum", "min", "max", "average", "countdistinct")
_KEYWORD_AFTER_EXPR = re.compile(r"(?<![\w.$'])(from|as)(?![\w.])", re.IGNORECASE)
_DURATION = re.compile(r"-?P(\d+D)?(T(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?")
_ENUM_MEMBER = re.compile(r"[^\W\d]\w*|[+-]?\d+")
_GEO_KINDS = (
    "Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon", "GeometryCollection"
)


class _SearchBuilder:
    """Precedence for a flat $search sequence: items are Search nodes or AND/OR/NOT tokens.

    A keyword is an operator when some item follows it (and, for AND/OR, an operand precedes it);
    otherwise it is a word. Runs of AND (explicit or implicit) and of OR give one n-ary node each.
    """

    def __init__(self, owner: _ToAst, meta: Meta, items: list[Any]) -> None:
        self.owner, self.meta, self.items, self.index = owner, meta, items, 0

    def build(self) -> ast.Search:
        return self._or()

    def _keyword(self, name: str) -> bool:
        item = self.items[self.index] if self.index < len(self.items) else None
        return isinstance(item, Token) and item.type == name

    def _operator_follows(self, name: str) -> bool:
        return self._keyword(name) and self.index + 1 < len(self.items)

    def _or(self) -> ast.Search:
        operands = [self._and()]
        while self._operator_follows("SEARCH_OR"):
            self.index += 1
            operands.append(self._and())
        return self.owner.search_or(self.meta, operands)

    def _and(self) -> ast.Search:
        operands = [self._not()]
        while self.index < len(self.items):
            if self._operator_follows("SEARCH_AND"):
                self.index += 1
            elif self._operator_follows("SEARCH_OR"):
                break
            operands.append(self._not())
        return self.owner.search_and(self.meta, operands)

    def _not(self) -> ast.Search:
        negations = 0
        while self._operator_follows("SEARCH_NOT"):
            self.index += 1
            negations += 1
        item = self.items[self.index]
        self.index += 1
        result: ast.Search = ast.Search("word", str(item)) if isinstance(item, Token) else item
        for _ in range(negations):
            result = self.owner.search_not(self.meta, [result])
        return result


# The largest row count every database's 64-bit LIMIT/OFFSET holds (as $top and $skip allow).
MAX_COUNT = 999_999_999_999_999_999


def _count(token: Token, what: str) -> int:
    text = str(token)
    if len(text.lstrip("0")) > 18:
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise _literal_error(f"{what}({shown}): the count must be at most {MAX_COUNT}", token)
    return int(text)


def _levels(token: Token) -> int:
    text = str(token)
    if text.lower() == "max":
        return -1
    if text.startswith("0"):
        raise _literal_error("$levels must be a positive integer without leading zeros, or max", token)
    return int(text)


def _json_string(token: Token) -> str:
    try:
        value = json.loads(str(token))
    except ValueError:
        raise _literal_error("invalid JSON string", token) from None
    return value  # type: ignore[no-any-return]


def _convert(function: Any, token: Token, what: str) -> Any:
    text = str(token)
    try:
        return function(text.replace("z", "Z"))
    except ValueError:
        raise _literal_error(f"invalid {what} literal {text}", token) from None
