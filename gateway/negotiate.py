"""Content negotiation and preferences: Accept / $format → a JSON format, Prefer → page size."""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass

from gateway.errors import InvalidQueryOption, NotAcceptable
from gateway.options import non_negative
from gateway.serialize.values import JsonFormat

_METADATA_LEVELS = ("minimal", "full", "none")


@dataclass(frozen=True)
class MediaRange:
    type: str
    parameters: dict[str, str]
    quality: float


def parse_media_ranges(header: str) -> list[MediaRange]:
    ranges: list[MediaRange] = []
    for part in header.split(","):
        pieces = [piece.strip() for piece in part.split(";")]
        if not pieces[0]:
            continue
        parameters: dict[str, str] = {}
        for piece in pieces[1:]:
            name, _, value = piece.partition("=")
            parameters[name.strip().lower()] = value.strip().strip('"')
        try:
            quality = float(parameters.pop("q", "1"))
        except ValueError:
            quality = 1.0
        ranges.append(MediaRange(pieces[0].lower(), parameters, quality))
    return ranges


def _json_range(ranges: list[MediaRange]) -> MediaRange | None:
    """The acceptable range that admits application/json, if any (best quality first)."""
    for media in sorted(ranges, key=lambda media: -media.quality):
        if media.quality > 0 and media.type in ("application/json", "application/*", "*/*"):
            return media
    return None


def json_format(accept: str | None, format_option: str | None) -> JsonFormat:
    """The JSON variant the client asked for; 406 when it accepts no JSON at all."""
    if format_option is not None:
        short = format_option.strip().lower()
        ranges = parse_media_ranges("application/json" if short == "json" else format_option)
        if not ranges or ranges[0].type != "application/json":
            raise NotAcceptable(f"$format={format_option} is not available here; use $format=json")
        chosen = ranges[0]
    elif accept:
        match = _json_range(parse_media_ranges(accept))
        if match is None:
            raise NotAcceptable(f"this resource is available as application/json only, not {accept}")
        chosen = match
    else:
        chosen = MediaRange("application/json", {}, 1.0)
    metadata = chosen.parameters.get("odata.metadata", "minimal").lower()
    if metadata not in _METADATA_LEVELS:
        raise NotAcceptable(f"odata.metadata={metadata} is not one of {', '.join(_METADATA_LEVELS)}")
    ieee = chosen.parameters.get("ieee754compatible", "false").lower() == "true"
    return JsonFormat(metadata=metadata, ieee754_compatible=ieee)


def check_plain_text(accept: str | None) -> None:
    """/$count and /$value answer text/plain. Clients that send `Accept: application/json` on every request
    (batch parts, SDKs) get it too, as they always did; a 406 only when the client takes neither."""
    if not accept:
        return
    for media in parse_media_ranges(accept):
        if media.quality > 0 and media.type in ("text/plain", "text/*", "*/*", "application/json", "application/*"):
            return
    raise NotAcceptable(f"this resource is available as text/plain only, not {accept}")


def content_type(json_format: JsonFormat) -> str:
    ieee = "true" if json_format.ieee754_compatible else "false"
    return f"application/json;odata.metadata={json_format.metadata};odata.streaming=true;IEEE754Compatible={ieee}"


# Media ranges under which CSDL XML may be sent ($metadata's own default).
_XML_RANGES = ("application/xml", "text/xml", "application/*", "text/*", "*/*")


def metadata_format(accept: str | None, format_option: str | None) -> str:
    """'xml' or 'json' for $metadata: XML unless JSON is explicitly preferred, as F&O answers.

    Client generators (odata2ts, the SAP SDK's generator) expect CSDL XML, and HTTP libraries send
    JSON-first Accept headers by default (axios: `application/json, text/plain, */*`): JSON is chosen
    only when the best quality in Accept holds application/json and nothing else (no wildcard, no
    other type beside it). A $format always wins; an Accept that admits neither kind is a 406.
    """
    if format_option is not None:
        short = format_option.strip().lower()
        if short in ("xml", "application/xml"):
            return "xml"
        if short == "json" or short.startswith("application/json"):
            return "json"
        raise NotAcceptable(f"$metadata is available as $format=xml or $format=json, not {format_option}")
    if not accept:
        return "xml"
    acceptable = [media for media in parse_media_ranges(accept) if media.quality > 0]
    best = max((media.quality for media in acceptable), default=0.0)
    preferred = {media.type for media in acceptable if media.quality == best}
    if preferred == {"application/json"}:
        return "json"
    if any(media.type in (*_XML_RANGES, "application/json") for media in acceptable):
        # JSON shares its quality with other types (`application/json, text/plain`) or comes below
        # them: not an explicit preference, so the default, XML, as F&O answers.
        return "xml"
    raise NotAcceptable(f"$metadata is available as application/xml or application/json, not {accept}")


@dataclass(frozen=True)
class Preferences:
    """The preferences a read honours. Any other (odata.track-changes among them: the gateway keeps
    no change tracking, so no deltaLink) is ignored, and so never named in Preference-Applied."""

    max_page_size: int | None = None
    formatted_values: bool = False  # odata.include-annotations names FormattedValue (or *)
    include_annotations: str = ""  # that preference as the client wrote it, for Preference-Applied


FORMATTED_VALUE = "OData.Community.Display.V1.FormattedValue"


def _include_annotations(header: str) -> str | None:
    """The value of odata.include-annotations="a,b" (quoted, so it may hold commas), if present."""
    lowered = header.lower()
    at = lowered.find("include-annotations=")
    if at < 0:
        return None
    value = header[at + len("include-annotations="):].strip()
    return value[1:value.index('"', 1)] if value.startswith('"') and '"' in value[1:] else value.split(",")[0]


def _wants_formatted_values(value: str) -> bool:
    """Is FormattedValue among the include-annotations patterns?"""
    patterns = [part.strip() for part in value.split(",")]
    return any(
        not pattern.startswith("-") and (pattern in ("*", FORMATTED_VALUE) or
                                         (pattern.endswith(".*") and FORMATTED_VALUE.startswith(pattern[:-1])))
        for pattern in patterns
    )


def parse_prefer(headers: list[str]) -> Preferences:
    max_page_size = None
    wanted = [value for value in map(_include_annotations, headers)
              if value is not None and _wants_formatted_values(value)]
    formatted = bool(wanted)
    for header in headers:
        for part in header.split(","):
            name, _, value = part.strip().partition("=")
            if name.strip().lower() in ("odata.maxpagesize", "maxpagesize"):
                size = non_negative("Prefer: odata.maxpagesize", value.strip().strip('"'))
                if not size:
                    raise InvalidQueryOption("Prefer: odata.maxpagesize needs a positive integer")
                max_page_size = size
    return Preferences(max_page_size, formatted, f'odata.include-annotations="{wanted[0]}"' if wanted else "")


def applied(headers: MutableMapping[str, str], preference: str) -> None:
    """Name one more honoured preference in Preference-Applied (a comma-separated list)."""
    earlier = headers.get("Preference-Applied")
    headers["Preference-Applied"] = f"{earlier},{preference}" if earlier else preference
