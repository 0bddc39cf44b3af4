"""Conditional requests: the entity tags of If-Match / If-None-Match, and whether one matches.

OData 4.01 Part 1 §8.2.3-8.2.4: a client may send If-Match and If-None-Match on GET, POST, PUT, PATCH
and DELETE. Our ETags are weak (W/"..." over the row versions, serialize/values.py) and depend only on
the entity's state, so they are compared with RFC 9110's weak comparison (§8.8.3.2), as Part 1 says:
W/"x", "x" and (for clients that forget the quotes) x are the same tag.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from gateway.errors import PreconditionFailed

# A quoted entity-tag (whose opaque part may hold commas) or, leniently, any text up to the next comma.
_TAG = re.compile(r'\s*((?:W/)?"[^"]*"|[^,\s][^,]*)\s*(?:,|$)')


def etag_list(header: str | None) -> list[str] | None:
    """The tags of an If-Match / If-None-Match header, `*` included; None when the header is absent."""
    if header is None:
        return None
    return [match.group(1).strip() for match in _TAG.finditer(header) if match.group(1).strip()]


def _opaque(tag: str) -> str:
    return tag.removeprefix("W/").strip('"')


def etag_matches(tags: list[str], current: str | None, exists: bool = True) -> bool:
    """Whether any of `tags` matches an entity whose ETag is `current` (None: it has none).
    `*` matches any entity that exists; nothing matches one that does not."""
    if not exists:
        return False
    if "*" in tags:
        return True
    return current is not None and any(_opaque(tag) == _opaque(current) for tag in tags)


def not_modified(headers: Mapping[str, str], current: str | None) -> bool:
    """The preconditions of a GET of an existing entity (or of its property) whose ETag is `current`:
    412 when If-Match names none of its tags (RFC 9110 §13.2.2 evaluates If-Match first), True when
    If-None-Match matches (the answer is a 304), False when the entity is to be sent."""
    if_match = etag_list(headers.get("if-match"))
    if if_match is not None and not etag_matches(if_match, current):
        raise PreconditionFailed(
            f"If-Match {', '.join(if_match) or '(empty)'} does not match the current ETag {current or '(none)'}"
        )
    if_none_match = etag_list(headers.get("if-none-match"))
    return if_none_match is not None and etag_matches(if_none_match, current)
