"""FetchXML text → a checked element tree (the parse stage of the FetchXML front end).

The text comes from a client, so it is parsed as hostile: defusedxml refuses DTDs (and with them
entity expansion, the billion laughs, and external entities), the size and the nesting are bounded
before any tree is built, and every element and attribute is checked against the FetchXML schema
here, so that the translator only ever sees names it knows. Every failure is a `BadRequest`.
"""

from __future__ import annotations

import io
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import iterparse

from gateway.errors import BadRequest, did_you_mean

# A FetchXML query is a few kilobytes; a megabyte leaves room for long in-lists and none for abuse.
MAX_CHARS = 1_000_000
# Nested <filter> and <link-entity> elements, counted together (Dataverse itself stops far earlier
# in practice; the translator recurses once per level, so the bound also keeps recursion shallow).
MAX_NESTING = 32
# Any element deeper than this is refused before the tree is built (fetch/entity/condition/value
# around the nested filters and links).
MAX_DEPTH = MAX_NESTING + 4

# Attributes that only drive Dataverse's own UI, caching or reports: accepted and ignored.
_IGNORED = frozenset({"uiname", "uitype", "uihidden"})

# element → the attributes it may carry (FetchXML schema, the parts this gateway reads or may ignore).
ATTRIBUTES: dict[str, frozenset[str]] = {
    "fetch": frozenset({
        "version", "output-format", "mapping", "distinct", "aggregate", "top", "count", "page",
        "paging-cookie", "utc-offset", "returntotalrecordcount", "no-lock", "min-active-row-version",
        "latematerialize", "useraworderby", "options", "aggregatelimit",
    }),
    "entity": frozenset({"name", "enableprefiltering", "prefilterparametername"}),
    "attribute": frozenset({"name", "alias", "aggregate", "groupby", "dategrouping", "distinct", "usertimezone", "build",
                            "addedby"}),
    "all-attributes": frozenset(),
    "order": frozenset({"attribute", "alias", "descending", "entityname"}),
    "filter": frozenset({
        "type", "isquickfindfields", "bypassquickfind", "overridequickfindrecordlimitenabled",
        "overridequickfindrecordlimitdisabled", "hint",
    }),
    "condition": frozenset({"attribute", "operator", "value", "entityname", "valueof"}),
    "value": frozenset(),
    "link-entity": frozenset({
        "name", "from", "to", "alias", "link-type", "visible", "intersect", "enableprefiltering",
        "prefilterparametername",
    }),
}

# element → the child elements it may contain.
CHILDREN: dict[str, frozenset[str]] = {
    "fetch": frozenset({"entity"}),
    "entity": frozenset({"attribute", "all-attributes", "order", "filter", "link-entity"}),
    "link-entity": frozenset({"attribute", "all-attributes", "order", "filter", "link-entity"}),
    "filter": frozenset({"condition", "filter", "link-entity"}),
    "condition": frozenset({"value"}),
    "attribute": frozenset(),
    "all-attributes": frozenset(),
    "order": frozenset(),
    "value": frozenset(),
}

_NESTING = frozenset({"filter", "link-entity"})


def parse_fetch(text: str) -> Element:
    """The <fetch> element of `text`, with every element and attribute known to FetchXML."""
    if len(text) > MAX_CHARS:
        raise BadRequest(f"FetchXML is longer than {MAX_CHARS} characters")
    if not text.strip():
        raise BadRequest("FetchXML is empty")
    root = _bounded_parse(text)
    if root.tag != "fetch":
        raise BadRequest(f"FetchXML must start with <fetch>, not <{root.tag}>")
    _check(root)
    return root


def _bounded_parse(text: str) -> Element:
    """Parse with the depth counted as elements open, so a deep document stops at MAX_DEPTH."""
    depth = 0
    nesting = 0
    root: Element | None = None
    # Encoded here (an XML declaration's encoding then names the bytes truly): expat reads UTF-8.
    source = io.BytesIO(text.encode("utf-8", "surrogatepass"))
    try:
        for event, element in iterparse(source, events=("start", "end"), forbid_dtd=True):
            if event == "start":
                depth += 1
                nesting += element.tag in _NESTING
                if root is None:
                    root = element
                if nesting > MAX_NESTING:
                    raise BadRequest(f"FetchXML nests <filter> and <link-entity> more than {MAX_NESTING} levels deep")
                if depth > MAX_DEPTH:
                    raise BadRequest(f"FetchXML nests elements more than {MAX_DEPTH} levels deep")
            else:
                depth -= 1
                nesting -= element.tag in _NESTING
    except ParseError as error:
        line, column = error.position
        reason = str(error).split(":", 1)[0]
        raise BadRequest(f"malformed FetchXML: {reason} at line {line}, column {column + 1}"
                         + _caret(text, line, column)) from None
    except DTDForbidden:
        raise BadRequest("FetchXML must not contain a DOCTYPE: DTDs, entity declarations and external "
                         "references are refused") from None
    except (EntitiesForbidden, ExternalReferenceForbidden):
        raise BadRequest("FetchXML must not declare or reference entities") from None
    except DefusedXmlException as error:
        raise BadRequest(f"FetchXML uses a refused XML feature ({type(error).__name__})") from None
    except (UnicodeError, ValueError, LookupError) as error:  # an XML declaration naming an unknown encoding
        raise BadRequest(f"malformed FetchXML: {error}") from None
    assert root is not None  # expat reports "no element found" for a document without one
    return root


def _caret(text: str, line: int, column: int) -> str:
    """The offending line with a caret under the column (skipped for very long lines)."""
    lines = text.splitlines() or [""]
    if not 1 <= line <= len(lines) or len(lines[line - 1]) > 200:
        return ""
    return f"\n{lines[line - 1]}\n{' ' * column}^"


def _check(root: Element) -> None:
    """Every element and attribute is one FetchXML has; text only inside <value> (iterative: the
    depth is bounded already, but a wide document should not cost recursion either)."""
    stack = [root]
    while stack:
        element = stack.pop()
        tag = element.tag
        allowed = ATTRIBUTES[tag]
        for name in element.attrib:
            if name not in allowed and name not in _IGNORED:
                raise BadRequest(
                    f"unknown attribute '{name}' on <{tag}>." + did_you_mean(name, sorted(allowed)),
                    target=name,
                )
        if tag != "value" and element.text is not None and element.text.strip():
            raise BadRequest(f"unexpected text '{_short(element.text.strip())}' inside <{tag}>")
        for child in element:
            if not isinstance(child.tag, str):  # comments and processing instructions are not kept
                continue
            if child.tag not in CHILDREN[tag]:
                known = child.tag in CHILDREN
                hint = "" if known else did_you_mean(child.tag, sorted(CHILDREN))
                where = "not allowed inside" if known else "unknown element, inside"
                raise BadRequest(f"<{child.tag}>: {where} <{tag}>." + hint, target=child.tag)
            if child.tail is not None and child.tail.strip():
                raise BadRequest(f"unexpected text '{_short(child.tail.strip())}' inside <{tag}>")
            stack.append(child)


def _short(text: str) -> str:
    return text if len(text) <= 40 else text[:40] + "..."
