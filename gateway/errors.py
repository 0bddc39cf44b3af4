"""One error hierarchy for every stage, and the one place that turns errors into OData error payloads.

Codes are stable and grouped by stage; README.md ("Errors") lists them. A client never sees a stack
trace: anything that is not an ODataError becomes a 500 `InternalError` with a request id.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any


class ODataError(Exception):
    status = 500
    code = "InternalError"

    def __init__(
        self,
        message: str,
        *,
        target: str | None = None,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.target = target
        self.details = details or []
        self.headers = headers or {}

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.target is not None:
            body["target"] = self.target
        body["details"] = self.details
        return {"error": body}


# ---------------------------------------------------------------- 400: the request is wrong
class BadRequest(ODataError):
    status = 400
    code = "BadRequest"


class SyntaxError_(BadRequest):
    """The grammar rejects a query option or the resource path (parse stage)."""

    code = "SyntaxError"


class UnknownEntitySet(BadRequest):
    code = "UnknownEntitySet"


class UnknownProperty(BadRequest):
    code = "UnknownProperty"


class TypeMismatch(BadRequest):
    code = "TypeMismatch"


class InvalidKey(BadRequest):
    code = "InvalidKey"


class InvalidQueryOption(BadRequest):
    code = "InvalidQueryOption"


class InvalidSkipToken(BadRequest):
    code = "InvalidSkipToken"


class QueryLimitExceeded(BadRequest):
    """A request over a per-request cost limit: $top above --max-top, $expand deeper than --max-expand-depth."""

    code = "QueryLimitExceeded"


class ResultTooLarge(BadRequest):
    """An answer that would carry more expanded rows than --max-expanded-rows (counted as written)."""

    code = "ResultTooLarge"


# ---------------------------------------------------------------- other client errors
class Unauthorized(ODataError):
    """No credentials, or credentials that do not prove who is asking (401 with a Bearer challenge)."""

    status = 401
    code = "Unauthorized"

    def __init__(self, message: str, *, error_code: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message, headers=headers)
        self.error_code = error_code  # RFC 6750's error="invalid_token" in the challenge, when a token was sent


class Forbidden(ODataError):
    status = 403
    code = "Forbidden"


class NotFound(ODataError):
    status = 404
    code = "NotFound"


class MethodNotAllowed(ODataError):
    status = 405
    code = "MethodNotAllowed"


class NotAcceptable(ODataError):
    status = 406
    code = "NotAcceptable"


class UriTooLong(ODataError):
    status = 414
    code = "UriTooLong"


class TooManyRequests(ODataError):
    """Service protection: a principal over its requests, execution time or concurrency (Retry-After says when)."""

    status = 429
    code = "TooManyRequests"


# ---------------------------------------------------------------- server side
class NotImplemented_(ODataError):
    status = 501
    code = "NotImplemented"


class DatabaseUnavailable(ODataError):
    status = 503
    code = "DatabaseUnavailable"


class ServerBusy(ODataError):
    """Every request slot is taken and the wait queue is full or waited too long (Retry-After says when)."""

    status = 503
    code = "ServerBusy"


class DatabaseBusy(ODataError):
    """A lock the request needed stayed taken past the lock wait (or the database saw a deadlock):
    nothing was written; the same request may simply be sent again."""

    status = 503
    code = "DatabaseBusy"


class StatementTimeout(ODataError):
    """A query ran longer than --statement-timeout and the database cancelled it."""

    status = 503
    code = "StatementTimeout"


# ---------------------------------------------------------------- writes
class InvalidValue(BadRequest):
    """A written value of the wrong type, too long, not an enum member, ..."""

    code = "InvalidValue"


class Conflict(ODataError):
    status = 409
    code = "Conflict"


class PreconditionFailed(ODataError):
    status = 412
    code = "PreconditionFailed"


class BatchTooLarge(ODataError):
    status = 413
    code = "BatchTooLarge"


class UnsupportedMediaType(ODataError):
    status = 415
    code = "UnsupportedMediaType"


class PreconditionRequired(ODataError):
    status = 428
    code = "PreconditionRequired"


class ServiceMisconfigured(ODataError):
    """The database lacks what the catalog says it has (e.g. the sequence table)."""

    status = 500
    code = "ServiceMisconfigured"


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A ' Did you mean X?' suffix when a close candidate exists (case-insensitive first)."""
    options = list(candidates)
    lowered = {option.lower(): option for option in options}
    if name.lower() in lowered:
        return f" Did you mean '{lowered[name.lower()]}'? Names are case-sensitive."
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    return f" Did you mean '{close[0]}'?" if close else ""


def caret(text: str, position: int) -> str:
    """The text with a caret line under `position`, for messages about a spot in a query option."""
    return f"{text}\n{' ' * position}^"
