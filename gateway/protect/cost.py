"""What one request may ask for, checked before anything is planned or read.

The URL length is checked on the raw request target (414); `$top` and the depth of `$expand`
(nested items, and `$levels=n` counted as n levels) on the parsed options, at every nesting level
(400 QueryLimitExceeded naming the limit and its setting).
"""

from __future__ import annotations

from gateway.errors import QueryLimitExceeded, UriTooLong
from gateway.protect.limits import RequestLimits
from grammar import ast


def check_url_length(raw_path: bytes, query_string: bytes, limits: RequestLimits) -> None:
    length = len(raw_path) + (1 + len(query_string) if query_string else 0)
    if limits.url_length and length > limits.url_length:
        raise UriTooLong(f"the request URL is {length:,} bytes long; the most this service reads is "
                         f"{limits.url_length:,} (--max-url-length). Send long queries in a $batch body.")


def check_options(options: ast.QueryOptions, limits: RequestLimits) -> None:
    _check_top(options, limits, "$top")
    depth, path = expand_depth(options.expand or ())
    if limits.expand_depth and depth > limits.expand_depth:
        raise QueryLimitExceeded(
            f"$expand is nested {depth} levels deep ({_shown(path)}); the most this service allows is "
            f"{limits.expand_depth} (--max-expand-depth). Expand fewer levels and follow the keys instead.",
            target="$expand")
    _check_nested_tops(options.expand or (), limits)


def expand_depth(items: tuple[ast.ExpandItem, ...]) -> tuple[int, tuple[str, ...]]:
    """The deepest nesting of `items` and the navigation path that reaches it ($levels=max counts
    once: the planner bounds it)."""
    deepest: tuple[int, tuple[str, ...]] = (0, ())
    for item in items:
        levels = item.levels if item.levels is not None else (item.options.levels if item.options else None)
        own = levels if levels is not None and levels > 1 else 1
        below = expand_depth(item.options.expand or ()) if item.options is not None else (0, ())
        name = "/".join(item.path) or "*"
        if own + below[0] > deepest[0]:
            deepest = (own + below[0], (name, *below[1]))
    return deepest


def _check_nested_tops(items: tuple[ast.ExpandItem, ...], limits: RequestLimits) -> None:
    for item in items:
        if item.options is not None:
            _check_top(item.options, limits, f"$top in $expand={'/'.join(item.path)}")
            _check_nested_tops(item.options.expand or (), limits)


def _check_top(options: ast.QueryOptions, limits: RequestLimits, label: str) -> None:
    if limits.top and options.top is not None and options.top > limits.top:
        raise QueryLimitExceeded(f"{label}={options.top} is larger than this service allows: at most "
                                 f"{limits.top:,} (--max-top). Page with nextLinks instead.", target="$top")


def _shown(path: tuple[str, ...]) -> str:
    return "/".join(path) if len(path) <= 6 else "/".join((*path[:3], "...", *path[-2:]))
