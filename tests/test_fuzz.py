"""A seeded fuzz run: at least 10,000 malformed and mutated requests, in-process, against SQLite.

Valid requests (reads with every query option, key and property paths, writes, $batch in both
formats) are mutated the way hostile or broken clients do: truncated, duplicated, junk characters,
huge numbers, deep nesting, bad quotes, bad percent-encoding, bad JSON, edited skip tokens, unknown
properties, values of the wrong type. The corpus is generated from a fixed seed, so a failure
names a request that fails again. Whatever the gateway answers, it is never a 5xx (but 501 for a
documented "not yet" and 503 for an unreachable database or dual-write side), every error is in
the OData error shape, and every write is a dry run (Prefer: tx=rollback) that leaves the demo
tables exactly as they were.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from sqlalchemy import func, select
from starlette.testclient import TestClient

from gateway.demo import schema
from tests.conftest import Backend
from tests.test_errors import assert_odata_error

SEED = 20261203
CORPUS_SIZE = 10_500
# The 5xx answers the README documents, by status: anything else at 500 or above is a bug.
DOCUMENTED_5XX = {501: {"NotImplemented"}, 503: {"DatabaseUnavailable", "DualWriteFailed"}}
ROLLBACK = {"Prefer": "tx=rollback"}
KEY = "(dataAreaId='usmf',CustomerAccount='US-001')"
MAX_URL = 60_000  # the test client refuses longer URLs (so do most proxies)


@dataclass(frozen=True)
class Fuzzed:
    method: str
    url: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    def wire_headers(self) -> dict[str, bytes]:
        """Header values as UTF-8 bytes (what a client may put on the wire), without line breaks or NULs."""
        return {name: "".join(c for c in value if c >= " " or c == "\t").encode() for name, value in self.headers.items()}

    def __str__(self) -> str:
        body = self.body[:300].decode("utf-8", "replace")
        return f"{self.method} {self.url[:500]} {self.headers} {body}"


# ------------------------------------------------------------------------------------------------ seeds
READS: list[tuple[str, dict[str, str]]] = [
    ("CustomersV3", {"$filter": "CreditLimit gt 500 and contains(OrganizationName,'a')", "$top": "3"}),
    ("CustomersV3", {"$select": "CustomerAccount,CreditLimit,OrganizationName", "$orderby": "CreditLimit desc",
                     "$top": "2", "$count": "true"}),
    ("CustomersV3", {"$expand": "SalesOrders($filter=SalesOrderStatus eq 'Invoiced';$select=SalesOrderNumber;"
                                "$top=2),CustomerGroup", "$top": "2"}),
    ("CustomersV3", {"$filter": "OnHoldStatus eq Microsoft.Dynamics.DataEntities.CustVendorBlocked'No' and "
                                "CreatedDateTime lt 2030-01-01T00:00:00Z", "$top": "2"}),
    ("CustomersV3", {"$filter": "matchesPattern(OrganizationName,'^C.*s$') or tolower(AddressCity) eq 'seattle'",
                     "$top": "2"}),
    ("CustomersV3", {"$filter": "CustomerAccount in ('US-001','US-002') or SalesOrders/any(o:o/SalesOrderStatus "
                                "eq 'Delivered')", "$top": "2"}),
    ("CustomersV3", {"$compute": "CreditLimit mul 2 as Double", "$select": "CustomerAccount,Double",
                     "$orderby": "Double desc", "$top": "2"}),
    ("CustomersV3", {"$search": "Contoso OR Fabrikam", "$top": "2"}),
    ("CustomersV3", {"$filter": "CreditLimit eq @limit", "@limit": "2000", "$top": "2", "cross-company": "true"}),
    ("CustomersV3", {"$apply": "groupby((CustomerGroupId),aggregate(CreditLimit with sum as Total))",
                     "$orderby": "Total desc"}),
    ("SalesOrderLines", {"$apply": "filter(LineAmount gt 100)/groupby((ItemNumber),aggregate($count as N))/"
                                   "top(3)", "$count": "true"}),
    ("SalesOrderLines", {"$filter": "LineAmount divby 2 ge 10.5 and substring(ItemNumber,1,2) eq '01'",
                         "$orderby": "LineAmount desc,ItemNumber", "$skip": "2", "$top": "2"}),
    ("SalesOrderHeadersV2", {"$filter": "year(OrderCreationDateTime) ge 2020 and SalesOrderLines/$count gt 3",
                             "$expand": "SalesOrderLines($top=1;$orderby=LineAmount desc)", "$top": "2"}),
    ("UnitsOfMeasure", {"$filter": "DecimalPrecision lt 3 and startswith(UnitSymbol,'p')"}),
    ("ReleasedProductsV2", {"$filter": "SalesPrice gt 10.25 and round(SalesPrice) lt 1000", "$top": "2",
                            "$format": "json"}),
    (f"CustomersV3{KEY}", {"$select": "CustomerAccount,CreditLimit", "$expand": "CustomerGroup"}),
    (f"CustomersV3{KEY}/CreditLimit", {}),
    (f"CustomersV3{KEY}/OrganizationName/$value", {}),
    (f"CustomersV3{KEY}/SalesOrders", {"$top": "2", "$select": "SalesOrderNumber"}),
    ("CustomersV3/$count", {"$filter": "CreditLimit ge 0"}),
    ("LegalEntities('usmf')", {}),
    ("$metadata", {}),
]
CUSTOMER = {
    "dataAreaId": "usmf", "CustomerAccount": "FUZZ-001", "OrganizationName": "Fuzz Ltd", "CustomerGroupId": "30",
    "SalesCurrencyCode": "USD", "CreditLimit": 100.5, "OnHoldStatus": "No", "AddressCity": "Oslo",
}
WRITES: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "CustomersV3", CUSTOMER),
    ("PATCH", f"CustomersV3{KEY}", {"CreditLimit": 2500, "OrganizationName": "Contoso", "OnHoldStatus": "No"}),
    ("PUT", f"CustomersV3{KEY}", {"CreditLimit": 2000, "AddressCity": "San Diego"}),
    ("DELETE", "CustomersV3(dataAreaId='usmf',CustomerAccount='US-002')", {}),
]
JSON_BATCH = {"requests": [
    {"id": "1", "method": "GET", "url": "CustomersV3?$top=1&$select=CustomerAccount"},
    {"id": "2", "method": "PATCH", "url": f"CustomersV3{KEY}", "headers": {"Content-Type": "application/json"},
     "body": {"CreditLimit": 10}, "atomicityGroup": "g"},
    {"id": "3", "method": "POST", "url": "CustomersV3", "body": CUSTOMER, "atomicityGroup": "g", "dependsOn": ["2"]},
]}
MULTIPART_BATCH = (
    "--b\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
    "GET LegalEntities('usmf') HTTP/1.1\r\nAccept: application/json\r\n\r\n\r\n"
    "--b\r\nContent-Type: multipart/mixed; boundary=cs\r\n\r\n"
    "--cs\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 1\r\n\r\n"
    f"PATCH CustomersV3{KEY} HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{{\"CreditLimit\":5000}}\r\n"
    "--cs--\r\n--b--\r\n"
)

# ------------------------------------------------------------------------------------------------ mutations
JUNK = ["'", "''", '"', "(", ")", ",", "/", "$", "@", "=", "&", ";", ":", "*", "-", " ", "\\", "\x00", "\t",
        "[", "]", "{", "^", "é", "€", "\u202e", "\ufeff", "𝔘", "%", "%G1", "%C3%28", "%FF", "%00", "%%", "%2", "+", "#", "?"]
HUGE = ["9" * 30, "-" + "9" * 30, "1e999999", "-1e999", "1e-999999", "NaN", "INF", "-INF", "1" * 400,
        "99999999999999999999.5", "0" * 50 + "1", "2147483648", "-2147483649", "9223372036854775808", "1.7976931348623157e309",
        "18446744073709551616", "0.00000000000000000000000000000000000001"]
LITERALS = ["'x'", "5", "5.5", "1e3", "true", "null", "2020-01-01", "2020-01-01T00:00:00Z", "12:00:00",
            "01234567-89ab-cdef-0123-456789abcdef", "duration'P1D'", "binary'AAA='", "@p", "$it", "$root",
            "Microsoft.Dynamics.DataEntities.NoYes'Yes'", "geography'POINT(1 2)'", "[1,2]", '{"a":1}']
NAMES = ["CreditLimt", "creditlimit", "Customer", "SalesOrders", "CustomerGroup", "$count", "Nope", "Edm.String",
         "OrganizationName", "CustomerAccount", "LineAmount", "_", "a" * 300]
WRAPPERS = ["(", "tolower(", "not ", "-", "trim(", "round(", "concat('a',", "cast(", "SalesOrders/any(o:"]
OPTIONS = ["$filter", "$select", "$expand", "$orderby", "$top", "$skip", "$count", "$search", "$compute", "$apply",
           "$skiptoken", "$format", "$levels", "$foo", "filter", "$FILTER", "@p", "company", "cross-company",
           "$deltatoken", "$index", "$id"]


def mutate_text(rng: random.Random, text: str) -> str:
    """One to three edits of the kinds broken clients make."""
    for _ in range(rng.randint(1, 3)):
        position = rng.randint(0, len(text))
        kind = rng.randrange(10)
        if kind == 0:
            text = text[:position]  # truncated
        elif kind == 1:
            end = min(len(text), position + rng.randint(1, 40))
            text = text[:end] + text[position:end] * rng.choice([1, 2, 50]) + text[end:]  # duplicated
        elif kind == 2:
            text = text[:position] + rng.choice(JUNK) + text[position:]
        elif kind == 3:
            text = _replace_token(rng, text, r"[0-9]+(\.[0-9]+)?", rng.choice(HUGE))
        elif kind == 4:
            depth = rng.choice([3, 40, 200, 2000])
            wrapper = rng.choice(WRAPPERS)
            closer = "" if wrapper in ("not ", "-") else ")"
            text = wrapper * depth + text + closer * depth
        elif kind == 5:
            quote_at = [index for index, char in enumerate(text) if char == "'"]
            if quote_at:
                spot = rng.choice(quote_at)
                text = text[:spot] + rng.choice(["", "''", '"', "'''"]) + text[spot + 1 :]
            else:
                text = text[:position] + "'" + text[position:]
        elif kind == 6:
            text = _replace_token(rng, text, r"[A-Z][A-Za-z]+", rng.choice(NAMES))
        elif kind == 7:
            text = _replace_token(rng, text, r"'[^']*'|\b[0-9.]+\b|\btrue\b|\bnull\b", rng.choice(LITERALS))
        elif kind == 8:
            text = text[:position] + text[position + rng.randint(1, 10) :]  # deleted
        else:
            text = text[:position] + rng.choice(["%", "%zz", "%E2%82", "%25", "%2F", "%27", "%ff%fe"]) + text[position:]
    return text


def _replace_token(rng: random.Random, text: str, pattern: str, replacement: str) -> str:
    import re

    matches = list(re.finditer(pattern, text))
    if not matches:
        return text + replacement
    match = rng.choice(matches)
    return text[: match.start()] + replacement + text[match.end() :]


def query_string(pairs: list[tuple[str, str]], rng: random.Random) -> str:
    # Mostly encoded as a client does; sometimes raw, so that '&', '=', '+' and '%' land as they are
    # (control characters and spaces are always encoded: no client can send those).
    safe = "$@'(),/:*=" if rng.random() < 0.8 else "!$&'()*+,;=:@/?%[]~"
    return "&".join(f"{quote(name, safe=safe)}={quote(value, safe=safe)}" for name, value in pairs)


def mutated_read(rng: random.Random, skiptokens: list[str]) -> Fuzzed:
    path, options = rng.choice(READS)
    pairs = list(options.items())
    headers: dict[str, str] = {}
    roll = rng.random()
    if roll < 0.55 and pairs:
        index = rng.randrange(len(pairs))
        pairs[index] = (pairs[index][0], mutate_text(rng, pairs[index][1]))
    elif roll < 0.65:
        pairs.append((rng.choice(OPTIONS), mutate_text(rng, rng.choice(LITERALS + HUGE + NAMES))))
    elif roll < 0.72 and pairs:
        pairs.append(rng.choice(pairs))  # an option twice
    elif roll < 0.82:
        token = rng.choice(skiptokens)
        pairs.append(("$skiptoken", mutate_text(rng, token) if rng.random() < 0.8 else token))
        headers["Prefer"] = "odata.maxpagesize=2"
    elif roll < 0.9:
        path = mutate_text(rng, path)
    else:
        headers[rng.choice(["Prefer", "Accept", "If-None-Match", "Accept-Language"])] = mutate_text(
            rng, rng.choice(["odata.maxpagesize=5", "application/json;odata.metadata=full", "W/\"abc\"", "*"])
        )
    url = "/data/" + quote(path, safe="()',=$@*:;/%") + ("?" + query_string(pairs, rng) if pairs else "")
    return Fuzzed("GET", url[:MAX_URL], headers=headers)


def mutated_body(rng: random.Random, body: Any) -> bytes:
    roll = rng.random()
    text = json.dumps(body)
    if roll < 0.35:
        return mutate_text(rng, text).encode("utf-8", "surrogatepass")
    if roll < 0.6 and isinstance(body, dict) and body:
        changed = dict(body)
        name = rng.choice(list(changed))
        changed[name] = rng.choice([None, True, [], {}, "x" * 5000, 1e308, -(2**70), "9" * 40, "2020-13-45",
                                    {"@odata.type": "#x"}, "NaN", 0.1, "'", ["a"]])
        if rng.random() < 0.3:
            changed[rng.choice(NAMES)] = rng.choice(LITERALS)
        return json.dumps(changed).encode()
    if roll < 0.75:
        depth = rng.choice([50, 300, 1100])
        return ('{"CreditLimit":' * depth + "1" + "}" * depth).encode()
    if roll < 0.85:
        return rng.choice([b"", b"null", b"[]", b"42", b'"x"', b"\xff\xfe", b"{", b'{"a":NaN}', b'{"a":1e99999}',
                           b'{"CreditLimit":' + b"9" * 5000 + b"}", b'{"a":"\\ud800"}', b"\x00" * 10])
    return text.encode() * rng.choice([2, 3])


def mutated_write(rng: random.Random) -> Fuzzed:
    method, path, body = rng.choice(WRITES)
    if rng.random() < 0.2:
        path = mutate_text(rng, path)
    if rng.random() < 0.1:
        method = rng.choice(["POST", "PATCH", "PUT", "DELETE", "MERGE"])
    headers = {**ROLLBACK, "Content-Type": rng.choice(["application/json"] * 8 + ["text/plain", "application/xml",
                                                                                "application/json; charset=latin-1"])}
    if rng.random() < 0.2:
        headers["If-Match"] = mutate_text(rng, rng.choice(['W/"abc"', "*", 'W/"NTYzNzE0NDY2Mg=="']))
    return Fuzzed(method, "/data/" + quote(path, safe="()',=$@*:;/%"), mutated_body(rng, body), headers)


def mutated_batch(rng: random.Random) -> Fuzzed:
    headers = dict(ROLLBACK)
    if rng.random() < 0.5:
        headers["Content-Type"] = "application/json"
        roll = rng.random()
        if roll < 0.4:
            body = mutate_text(rng, json.dumps(JSON_BATCH)).encode("utf-8", "surrogatepass")
        else:
            batch = json.loads(json.dumps(JSON_BATCH))
            request = rng.choice(batch["requests"])
            name = rng.choice(["method", "url", "headers", "body", "id", "atomicityGroup", "dependsOn"])
            request[name] = rng.choice([None, 5, [], {}, "", mutate_text(rng, str(request.get(name, "x"))),
                                        {"Prefer": "é€", "X": "\u2028"}, ["9"], "$2", "http://other/data/x"])
            if rng.random() < 0.2:
                batch["requests"] *= rng.choice([2, 100])
            body = json.dumps(batch).encode()
    else:
        headers["Content-Type"] = rng.choice(["multipart/mixed; boundary=b"] * 6 + ["multipart/mixed",
                                              "multipart/mixed; boundary=", 'multipart/mixed; boundary="b'])
        body = mutate_text(rng, MULTIPART_BATCH).encode("utf-8", "surrogatepass")
    return Fuzzed("POST", "/data/$batch", body, headers)


def corpus(skiptokens: list[str], size: int = CORPUS_SIZE) -> Iterator[Fuzzed]:
    rng = random.Random(SEED)
    for _ in range(size):
        roll = rng.random()
        if roll < 0.7:
            yield mutated_read(rng, skiptokens)
        elif roll < 0.88:
            yield mutated_write(rng)
        else:
            yield mutated_batch(rng)


# ------------------------------------------------------------------------------------------------ the run
def problems_of(response: Any) -> list[str]:
    """What is wrong with one answer (nothing, for a sound one)."""
    status = response.status_code
    if status < 400:
        if response.headers.get("content-type", "").startswith("application/json") and response.content:
            return _batch_problems(response.json())
        return []
    try:
        error = assert_odata_error(response, status)
    except (AssertionError, ValueError) as failure:
        return [f"{status} not in the OData error shape: {failure}"]
    if status >= 500 and error["code"] not in DOCUMENTED_5XX.get(status, set()):
        return [f"{status} {error['code']}: {error['message'][:300]}"]
    return []


def _batch_problems(body: Any) -> list[str]:
    """A JSON $batch answers 200 with a status per request: those are held to the same rules."""
    if not isinstance(body, dict) or not isinstance(body.get("responses"), list):
        return []
    found = []
    for item in body["responses"]:
        status = item.get("status", 0)
        error = item.get("body", {}).get("error") if isinstance(item.get("body"), dict) else None
        if status >= 400 and not (isinstance(error, dict) and {"code", "message"} <= set(error)):
            found.append(f"batch item {status} not in the OData error shape: {item}")
        elif status >= 500 and error is not None and error["code"] not in DOCUMENTED_5XX.get(status, set()):
            found.append(f"batch item {status} {error['code']}: {error['message'][:300]}")
    return found


def _fingerprint(backend: Backend) -> list[tuple[str, int, int]]:
    """Row count and highest RECVERSION of every table a write could touch: equal before and after."""
    tables = (schema.CUSTTABLE, schema.DIRPARTYTABLE, schema.LOGISTICSPOSTALADDRESS, schema.SALESTABLE)
    with backend.engine.connect() as connection:
        return [
            (table.name, *connection.execute(select(func.count(), func.max(table.c.RECVERSION))).one())
            for table in tables
        ]


def _live_skiptokens(client: TestClient) -> list[str]:
    tokens = []
    for path, options in (("CustomersV3", {"$orderby": "CreditLimit desc"}), ("SalesOrderLines", {}),
                          ("CustomersV3", {"$orderby": "CreatedDateTime,AddressCity desc"})):
        body = client.get(f"/data/{path}", params=options, headers={"Prefer": "odata.maxpagesize=2"}).json()
        tokens.append(body["@odata.nextLink"].split("$skiptoken=")[1])
    return tokens


def test_the_corpus_is_large_and_deterministic() -> None:
    first = [str(item) for item in corpus(["token"], 300)]
    assert first == [str(item) for item in corpus(["token"], 300)]
    assert len(set(first)) > 250
    assert sum(1 for _ in corpus(["token"])) >= 10_000


def test_fuzzed_requests_never_fail_the_server(sqlite_client: TestClient, sqlite_backend: Backend) -> None:
    before = _fingerprint(sqlite_backend)
    tokens = _live_skiptokens(sqlite_client)
    failures: list[str] = []
    started = time.perf_counter()
    sent = 0
    for request in corpus(tokens):
        response = sqlite_client.request(request.method, request.url, content=request.body or None,
                                         headers=request.wire_headers())
        sent += 1
        failures.extend(f"{problem}\n    {request}" for problem in problems_of(response))
    elapsed = time.perf_counter() - started
    assert not failures, f"{len(failures)} unsound answers of {sent} ({elapsed:.0f}s):\n" + "\n".join(failures[:25])
    assert sent >= 10_000
    assert _fingerprint(sqlite_backend) == before, "a dry-run write was kept"
