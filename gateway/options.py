"""Query string → parsed system query options, custom options and parameter aliases.

System query option names may be written without '$' and in any case (OData 4.01). Each option's
value is parsed with its own grammar rule; syntax errors name the option and point at the spot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from gateway.errors import InvalidQueryOption, NotImplemented_, SyntaxError_, caret
from gateway.plan.query import OptionTexts
from gateway.protect.expressions import ExpressionLimits, check_limits
from grammar import ast
from grammar.cache import BoundedCache, text_weight
from grammar.parser import ODataSyntaxError, parse

SYSTEM_OPTIONS = (
    "filter", "select", "expand", "orderby", "top", "skip", "count", "search", "format",
    "skiptoken", "compute", "apply", "levels", "schemaversion", "deltatoken", "id", "index",
)
_NOT_YET = ("deltatoken", "schemaversion")


@dataclass(frozen=True)
class RequestOptions:
    options: ast.QueryOptions
    texts: OptionTexts
    format: str | None = None
    skiptoken: str | None = None
    custom: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, Any] = field(default_factory=dict)
    raw: tuple[tuple[str, str], ...] = ()  # every pair as given, for building nextLinks
    apply_text: str = ""  # the text of $apply, so that errors can point into it
    id: str | None = None  # $id: an entity id (/$entity?$id=..., DELETE .../$ref?$id=...; gateway/refs.py)
    index: int | None = None  # $index: where a POST inserts into a collection property (gateway/structured_paths.py)


# Parsed query strings with their limits checked: a repeated request (a dashboard's refresh, a client's
# next page) splits, parses and walks nothing again. Shared by threads: a RequestOptions and its dicts
# are never changed once made (callers copy before adding to `custom`). Refusals are not kept.
_PARSED_QUERIES: BoundedCache[RequestOptions] = BoundedCache(1024, 32 * 2**20, text_weight(40))


def parse_query(query_string: str, limits: ExpressionLimits = ExpressionLimits()) -> RequestOptions:
    return _PARSED_QUERIES.get((query_string, limits), lambda: _parse_query(query_string, limits))


def _parse_query(query_string: str, limits: ExpressionLimits) -> RequestOptions:
    try:
        pairs = parse_qsl(query_string, keep_blank_values=True, strict_parsing=False, errors="strict")
    except UnicodeDecodeError:
        raise InvalidQueryOption("the query string is not valid UTF-8 after percent-decoding") from None
    system: dict[str, str] = {}
    custom: dict[str, str] = {}
    aliases: dict[str, Any] = {}
    for name, value in pairs:
        if name.startswith("@"):
            aliases[name[1:]] = _parse_option("alias_value_option", f"parameter alias {name}", value)
            continue
        canonical = name.lstrip("$").lower()
        if canonical in SYSTEM_OPTIONS and (name.startswith("$") or canonical not in custom):
            if canonical in system:
                raise InvalidQueryOption(f"${canonical} is given more than once", target=f"${canonical}")
            system[canonical] = value
        elif name.startswith("$"):
            raise InvalidQueryOption(
                f"unknown system query option {name} (supported: {', '.join('$' + o for o in SYSTEM_OPTIONS)})",
                target=name,
            )
        else:
            custom[name] = value
    for name in _NOT_YET:
        if name in system:
            raise NotImplemented_(f"${name} is not supported yet", target=f"${name}")
    options = ast.QueryOptions(
        filter=_parse_option("filter_option", "$filter", system["filter"]) if "filter" in system else None,
        select=_parse_option("select_option", "$select", system["select"]) if "select" in system else None,
        expand=_parse_option("expand_option", "$expand", system["expand"]) if "expand" in system else None,
        orderby=_parse_option("orderby_option", "$orderby", system["orderby"]) if "orderby" in system else None,
        top=non_negative("$top", system.get("top")),
        skip=non_negative("$skip", system.get("skip")),
        count=_boolean("$count", system.get("count")),
        search=_parse_option("search_option", "$search", system["search"]) if "search" in system else None,
        compute=_parse_option("compute_option", "$compute", system["compute"]) if "compute" in system else None,
        levels=non_negative("$levels", system.get("levels")),
        apply=_parse_option("apply_option", "$apply", system["apply"]) if "apply" in system else None,
    )
    for option in ("filter", "orderby", "select", "expand", "search", "compute", "apply"):
        tree = getattr(options, option)
        if tree is not None:
            check_limits("$" + option, tree, limits, aliases)
    _reject_nested_apply(options.expand or ())
    texts = OptionTexts(
        filter=system.get("filter", ""),
        orderby=system.get("orderby", ""),
        select=system.get("select", ""),
        expand=system.get("expand", ""),
        search=system.get("search", ""),
        compute=system.get("compute", ""),
    )
    return RequestOptions(
        options, texts, system.get("format"), system.get("skiptoken"), custom, aliases, tuple(pairs),
        apply_text=system.get("apply", ""), id=system.get("id"), index=_position(system.get("index")),
    )


def _position(value: str | None) -> int | None:
    """$index: a zero-based position, negative from the end (-1: the last)."""
    if value is None:
        return None
    if not re.fullmatch(r"-?[0-9]{1,9}", value):
        raise InvalidQueryOption(f"$index must be a whole number (negative: from the end), not {value!r}",
                                 target="$index")
    return int(value)


def _reject_nested_apply(items: tuple[ast.ExpandItem, ...]) -> None:
    for item in items:
        if item.options is not None:
            if item.options.apply is not None:
                raise NotImplemented_("$apply inside $expand is not supported yet", target="$expand")
            _reject_nested_apply(item.options.expand or ())


def parse_filter(text: str) -> ast.Expr:
    """A $filter expression on its own (dual-write map filters use the same language)."""
    expression: ast.Expr = _parse_option("filter_option", "$filter", text)
    return expression


def _parse_option(rule: str, label: str, value: str) -> Any:
    if not value.strip():
        raise InvalidQueryOption(f"{label} is empty", target=label)
    try:
        return parse(rule, value)
    except ODataSyntaxError as error:
        raise SyntaxError_(
            f"{label}: {error.reason} at position {error.position}\n{caret(value, error.position)}", target=label
        ) from None


# At most 18 ASCII digits: every database's 64-bit integers hold it (str.isdigit() also admits '²').
_COUNT = re.compile(r"[0-9]{1,18}")


def non_negative(label: str, value: str | None) -> int | None:
    if value is None:
        return None
    if not _COUNT.fullmatch(value):
        shown = value if len(value) <= 40 else value[:40] + "..."
        raise InvalidQueryOption(f"{label} must be an integer from 0 to 999999999999999999, not '{shown}'", target=label)
    return int(value)


def _boolean(label: str, value: str | None) -> bool | None:
    if value is None:
        return None
    if value not in ("true", "false"):
        raise InvalidQueryOption(f"{label} must be true or false, not '{value}'", target=label)
    return value == "true"
