"""The request kinds of the benchmark: the same question asked of the gateway and of CAP.

Both servers serve the same entity sets and property names under /data (bench/cap/srv/service.cds),
so most URLs are identical. Where they differ it is said here: the gateway scopes every request to
the caller's company (usmf) and CAP has no such notion, so the URLs filter on dataAreaId explicitly;
enums are member names on the gateway and integers on CAP; the deep page uses each server's own
paging (a keyset $skiptoken on the gateway, $skip on CAP, which is what CAP's nextLinks do).

Each kind rotates through up to 50 variants (different keys and literals) taken from the database,
so the numbers are not those of one cached row.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from bench.auth import gateway_auth

# Characters left as they are in query option values (the rest is percent-encoded).
_SAFE = "$'(),=/:*@"
VARIANTS = 50
DEEP_PAGE = 100  # rows in the first/deep page


def url(path: str, **options: str) -> str:
    """A request path with its query options, option names given with '_' for '$' (e.g. _top=5)."""
    if not options:
        return path
    query = "&".join(f"{_name(name)}={quote(value, safe=_SAFE)}" for name, value in options.items())
    return f"{path}?{query}"


def _name(name: str) -> str:
    return "$" + name[1:] if name.startswith("_") else name.replace("_", "-")


@dataclass
class Request:
    path: str
    headers: dict[str, str] = field(default_factory=dict)

    def spec(self) -> dict[str, object]:
        return {"path": self.path, "headers": self.headers}


@dataclass
class Kind:
    name: str
    title: str
    gateway: list[Request]
    cap: list[Request]
    note: str = ""
    raw_sql: tuple[str, tuple[object, ...]] | None = None  # hand-written baseline SQL (else: captured)


@dataclass
class Samples:
    rows: int  # SalesOrderLines, every company
    accounts: list[str]
    items: list[str]
    orders: list[str]
    amounts: list[int]
    deep_offset: int  # rows before the deep page
    deep_after: tuple[str, str]  # sort-key values of the row just before the deep page


def samples(db_file: Path) -> Samples:
    db = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
    try:
        rows = db.execute('SELECT count(*) FROM "SALESLINE"').fetchone()[0]
        accounts = _spread(db, "SELECT ACCOUNTNUM FROM CUSTTABLE WHERE DATAAREAID = 'usmf' ORDER BY ACCOUNTNUM")
        items = [row[0] for row in db.execute(
            "SELECT ITEMID FROM SALESLINE WHERE DATAAREAID = 'usmf' GROUP BY ITEMID ORDER BY count(*) DESC, ITEMID "
            f"LIMIT {VARIANTS}")]
        orders = _spread(db, "SELECT SALESID FROM SALESTABLE WHERE DATAAREAID = 'usmf' ORDER BY SALESID")
        # At scale 100 SalesOrderLines has ~1,007,000 rows: the deep page starts 1,000,000 rows in.
        # Smaller databases have fewer rows: the deep page is then the last full page.
        deep_offset = min(1_000_000, rows - DEEP_PAGE)
        after = db.execute(
            "SELECT DATAAREAID, INVENTTRANSID FROM SALESLINE ORDER BY DATAAREAID, INVENTTRANSID LIMIT 1 OFFSET ?",
            (deep_offset - 1,),
        ).fetchone()
    finally:
        db.close()
    amounts = [1000 + 2000 * index for index in range(VARIANTS)]
    return Samples(rows, accounts, items, orders, amounts, deep_offset, (after[0], after[1]))


def _spread(db: sqlite3.Connection, query: str) -> list[str]:
    values = [row[0] for row in db.execute(query)]
    step = max(1, len(values) // VARIANTS)
    return values[::step][:VARIANTS]


def request_kinds(s: Samples, deep_token: str) -> list[Kind]:
    """deep_token: the gateway's $skiptoken for the row `s.deep_after` (see run.deep_token)."""
    usmf = "dataAreaId eq 'usmf'"
    kinds: list[Kind] = []

    keys = [f"/data/CustomersV3(dataAreaId='usmf',CustomerAccount='{account}')" for account in s.accounts]
    kinds.append(Kind("key", "key lookup (CustomersV3, 3 tables)", [Request(p) for p in keys],
                      [Request(p) for p in keys]))

    pages = [url("/data/SalesOrderLines", _filter=f"{usmf} and LineAmount gt {amount}",
                 _select="SalesOrderNumber,ItemNumber,LineAmount", _top="100") for amount in s.amounts]
    kinds.append(Kind("page", "filtered page, $select, $top=100", [Request(p) for p in pages],
                      [Request(p) for p in pages]))

    counts = [url("/data/SalesOrderLines/$count", _filter=f"{usmf} and ItemNumber eq '{item}'") for item in s.items]
    kinds.append(Kind("count", "$count with $filter", [Request(p) for p in counts], [Request(p) for p in counts]))

    expands = [url("/data/SalesOrderHeadersV2", _filter=f"{usmf} and SalesOrderNumber ge '{order}'", _top="10",
                   _expand="SalesOrderLines") for order in s.orders]
    kinds.append(Kind("expand", "$expand=SalesOrderLines, 10 orders", [Request(p) for p in expands],
                      [Request(p) for p in expands]))

    applies = [url("/data/SalesOrderLines", _apply=f"filter({usmf} and ItemNumber eq '{item}')/groupby("
                   "(SalesOrderLineStatus),aggregate(LineAmount with sum as Total))") for item in s.items]
    kinds.append(Kind(
        "apply", "$apply groupby + sum", [Request(p) for p in applies], [Request(p) for p in applies],
        raw_sql=(("SELECT SALESSTATUS AS SalesOrderLineStatus, sum(LINEAMOUNT) AS Total FROM SALESLINE "
                  "WHERE DATAAREAID = ? AND ITEMID = ? GROUP BY SALESSTATUS ORDER BY SALESSTATUS"),
                 ("usmf", s.items[0])),
    ))

    prefer = {"Prefer": f"odata.maxpagesize={DEEP_PAGE}"}
    first = url("/data/SalesOrderLines", cross_company="true")
    kinds.append(Kind("first", f"first page ({DEEP_PAGE} rows, all companies)", [Request(first, prefer)],
                      [Request(url("/data/SalesOrderLines", _top=str(DEEP_PAGE)))]))
    # The $skip page (client-driven paging, as many clients do it): 100 rows after 5,000 and more.
    skips = [5000 + 100 * index for index in range(VARIANTS)]
    kinds.append(Kind(
        "skip", f"$skip page ({DEEP_PAGE} rows after {skips[0]:,}–{skips[-1]:,})",
        [Request(url("/data/SalesOrderLines", cross_company="true", _top=str(DEEP_PAGE), _skip=str(skip)))
         for skip in skips],
        [Request(url("/data/SalesOrderLines", _top=str(DEEP_PAGE), _skip=str(skip))) for skip in skips],
    ))
    deep = url("/data/SalesOrderLines", cross_company="true", _skiptoken=deep_token)
    kinds.append(Kind(
        "deep", f"deep page ({DEEP_PAGE} rows, {s.deep_offset:,} rows in)", [Request(deep, prefer)],
        [Request(url("/data/SalesOrderLines", _top=str(DEEP_PAGE), _skip=str(s.deep_offset)))],
        note="gateway: keyset $skiptoken built with gateway.plan.paging.encode; CAP: $skip (its nextLinks' offset)",
    ))
    for kind in kinds:
        _authorized(kind.gateway)
    return kinds


def _authorized(requests: list[Request]) -> list[Request]:
    """Gateway requests carry the bench's bearer token, as every real client's do."""
    for request in requests:
        request.headers.update(gateway_auth())
    return requests


def export_requests(kind: str) -> tuple[Request, Request]:
    """(gateway, CAP) first request of an export: 'full' walks every nextLink, 'small' is 10,000 rows."""
    if kind == "full":
        gateway = Request(url("/data/SalesOrderLines", cross_company="true"))
        return _authorized([gateway])[0], Request("/data/SalesOrderLines")
    gateway = Request(url("/data/SalesOrderLines", cross_company="true", _top="10000"))
    return _authorized([gateway])[0], Request(url("/data/SalesOrderLines", _top="10000"))


def big_page_requests(top: int) -> list[Request]:
    """The filtered page at another size, for the memory comparison (100 vs 10,000 rows)."""
    return _authorized([Request(url("/data/SalesOrderLines", _filter="dataAreaId eq 'usmf' and LineAmount gt 0",
                                    _select="SalesOrderNumber,ItemNumber,LineAmount", _top=str(top)))])
