"""$filter front end: the gateway's parse + bind + compile against odata-query's parser alone.

Each iteration takes a fresh expression (its literals differ from every other one's), so no cache
answers: the gateway's `grammar.parser.parse` cache is bypassed by calling the function it wraps.
Gateway side: Lark parse → AST → ExpressionCompiler (names, types, enums) → SQLAlchemy expression →
SQL text for SQLite. odata-query side: ODataLexer + ODataParser (tokens → its AST), nothing more.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from statistics import median
from typing import Any

TEMPLATES = (
    "ItemNumber eq 'D{i:04d}' and LineAmount gt {i}.5",
    "dataAreaId eq 'usmf' and (SalesOrderNumber ge 'SO-{i:06d}' or OrderedSalesQuantity le {i}) and SalesPrice lt {j}",
    "contains(ItemNumber,'{i}') and not (LineAmount le {j}.25) or startswith(SalesUnitSymbol,'k{i}')",
    "LineNumber in ({i},{j},{k}) and tolower(ItemNumber) eq 'm{i:04d}' and year(2024-01-{d:02d}) eq 2024",
)


def expressions(count: int) -> list[str]:
    return [
        TEMPLATES[n % len(TEMPLATES)].format(i=n, j=n * 7 + 3, k=n * 13 + 1, d=n % 28 + 1) for n in range(count)
    ]


@dataclass
class ParseResult:
    expressions: int
    gateway_us: float  # median microseconds per expression: parse + bind + compile to SQL text
    odata_query_us: float | None  # median microseconds: odata-query's lexer + parser
    error: str | None = None

    @property
    def speedup(self) -> float | None:
        return None if self.odata_query_us is None else self.odata_query_us / self.gateway_us


def gateway_front_end() -> Any:
    from sqlalchemy.dialects import sqlite

    from gateway.catalog.load import load_catalog
    from gateway.identity.access import compile_access
    from gateway.identity.config import Assignment, load_security
    from gateway.plan.dialects import dialect_traits
    from gateway.plan.expressions import ExpressionCompiler
    from gateway.plan.scope import EntityScope, PlanContext
    from gateway.settings import Settings
    from grammar.parser import build_parser, parse_uncached

    build_parser()
    catalog = load_catalog(Settings.entities)
    entity = catalog.entities["SalesOrderLines"]
    traits = dialect_traits("sqlite")
    dialect = sqlite.dialect()
    uncached = parse_uncached  # every call parses
    # A real caller's privileges (DataReader), so the authorization checks of the plan are timed too.
    security = load_security()
    access = compile_access(security, [Assignment(role="DataReader")]).service("fno")

    def run(text: str) -> str:
        node = uncached("filter_option", text)
        context = PlanContext(catalog, ("usmf",), traits, access=access)
        predicate = ExpressionCompiler(context, EntityScope(entity, context), text).predicate(node)
        return str(predicate.compile(dialect=dialect))

    return run


def measure(count: int = 2000, repeats: int = 5) -> ParseResult:
    texts = expressions(count)
    gateway = gateway_front_end()
    for text in texts[:50]:
        gateway(text)  # warm imports and first-use code paths, not caches (the texts repeat below)
    gateway_times = []
    for repeat in range(repeats):
        fresh = [text + f" and LineNumber ne {repeat}" for text in texts]
        began = time.perf_counter()
        for text in fresh:
            gateway(text)
        gateway_times.append((time.perf_counter() - began) / count * 1e6)
    try:
        from odata_query.grammar import ODataLexer, ODataParser
    except ImportError:
        return ParseResult(count, median(gateway_times), None, "odata-query is not installed (pip install -e '.[bench]')")
    lexer, parser = ODataLexer(), ODataParser()
    for text in texts[:50]:
        parser.parse(lexer.tokenize(text))
    theirs = []
    for repeat in range(repeats):
        fresh = [text + f" and LineNumber ne {repeat}" for text in texts]
        began = time.perf_counter()
        for text in fresh:
            parser.parse(lexer.tokenize(text))
        theirs.append((time.perf_counter() - began) / count * 1e6)
    return ParseResult(count, median(gateway_times), median(theirs))


if __name__ == "__main__":
    result = measure()
    print(f"gateway parse+bind+compile: {result.gateway_us:.1f} µs; odata-query parse: {result.odata_query_us:.1f} µs; "
          f"ratio {result.speedup:.2f}x")
