"""Errors of the Dataverse endpoint in Dataverse's shape: `{"error":{"code":"0x80040217","message":…}}`.

Dataverse clients (the Power Platform, the Web API samples, XrmToolBox) branch on the hexadecimal
code, so each of the gateway's codes maps to the Dataverse code of the same failure. The gateway's
precise message (caret, did-you-mean) is kept whole, and its own code stays in `innererror.type`.
"""

from __future__ import annotations

from typing import Any

DATAVERSE_PREFIX = "/api/data/v9.2"

# The gateway's code -> Dataverse's (Microsoft's "Web service error codes" list).
CODES = {
    "NotFound": "0x80040217",  # ObjectDoesNotExist
    "UnknownEntitySet": "0x80060888",  # the resource or query names something that does not exist
    "UnknownProperty": "0x80060888",
    "SyntaxError": "0x80060888",
    "TypeMismatch": "0x80060888",
    "InvalidQueryOption": "0x80060888",
    "InvalidKey": "0x80060888",
    "InvalidSkipToken": "0x80060888",
    "QueryLimitExceeded": "0x8004430d",  # QueryBuilder: too many rows or links asked
    "ResultTooLarge": "0x8004430d",
    "BadRequest": "0x80048d19",  # error identified in the payload (or request) provided by the user
    "InvalidValue": "0x80048d19",
    "Unauthorized": "0x80072560",  # the user is not a member of the organization / not signed in
    "Forbidden": "0x80040220",  # SecLib::CheckPrivilege failed
    "MethodNotAllowed": "0x80060891",  # the operation is not supported on this resource
    "NotAcceptable": "0x80060891",
    "UnsupportedMediaType": "0x80060891",
    "NotImplemented": "0x80060891",
    "Conflict": "0x80040237",  # DuplicateRecord
    "PreconditionFailed": "0x80060882",  # ConcurrencyVersionMismatch
    "PreconditionRequired": "0x80060882",
    "UriTooLong": "0x8006088b",
    "BatchTooLarge": "0x8005f101",
    "TooManyRequests": "0x80072322",  # service protection: number of requests exceeded
    "ServerBusy": "0x80072321",  # service protection: concurrent requests exceeded
    "DatabaseBusy": "0x80044150",  # SQL timeout / lock
    "StatementTimeout": "0x80044150",
    "DatabaseUnavailable": "0x80044151",
}
UNEXPECTED = "0x80040216"  # an unexpected error (the message has the request id)
# Codes of other stages (dual-write's DualWriteFailed, ...) by their status.
BY_STATUS = {400: "0x80048d19", 403: "0x80040220", 404: "0x80040217", 409: "0x80040237", 412: "0x80060882",
             424: "0x80048d19",  # a change set's other requests, not run because one failed
             429: "0x80072322", 503: "0x80044151"}


def is_dataverse(path: str) -> bool:
    return path == DATAVERSE_PREFIX or path.startswith(DATAVERSE_PREFIX + "/")


def dataverse_payload(payload: dict[str, Any], status: int = 500) -> dict[str, Any]:
    """An OData error payload with Dataverse's code; the gateway's code moves to innererror.type."""
    error = payload["error"]
    code = str(error.get("code", ""))
    hexadecimal = CODES.get(code) or BY_STATUS.get(status, UNEXPECTED)
    shaped: dict[str, Any] = {"code": hexadecimal, "message": error.get("message", "")}
    for name in ("target", "details"):
        if name in error:
            shaped[name] = error[name]
    shaped["innererror"] = {"type": code, "message": error.get("message", "")}
    return {"error": shaped}
