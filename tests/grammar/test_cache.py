"""The bounded cache: entries and bytes both bounded, least recently used first out.

The byte total is checked two ways: the cache's own accounting, and memory measured with
tracemalloc while a parse cache is filled with thousands of distinct long filters.
"""

from __future__ import annotations

import gc
import tracemalloc

import pytest

from grammar import parser
from grammar.cache import BoundedCache, text_weight


def test_large_keys_stay_under_the_byte_bound() -> None:
    bound = 1_000_000
    cache: BoundedCache[str] = BoundedCache(10_000, bound, text_weight(1, overhead=0))
    keys = [f"{n:06d}" + "x" * 50_000 for n in range(200)]  # 10 MB of keys, far more than the bound
    for key in keys:
        cache.get(key, lambda: "value")
    kept = [key for key in keys if key in cache]
    assert sum(len(key) for key in kept) <= bound  # counted here, not by the cache
    assert cache.bytes <= bound and 15 <= len(kept) <= 20  # 1,000,000 // 50,006 = 19 fit


def test_the_least_recently_used_go_first_and_entry_count_is_bounded() -> None:
    cache: BoundedCache[int] = BoundedCache(3, 10**9, text_weight(1))
    for key in "abc":
        cache.get(key, lambda: 1)
    cache.get("a", lambda: 2)  # used again: "b" is now the oldest
    cache.get("d", lambda: 1)
    assert len(cache) == 3
    assert cache.get("b", lambda: 9) == 9  # rebuilt: it had gone
    assert cache.get("a", lambda: 9) == 1


def test_one_entry_heavier_than_an_eighth_of_the_bound_is_not_kept() -> None:
    cache: BoundedCache[int] = BoundedCache(10, 8000, text_weight(1, overhead=0))
    for key in ("small", "big" * 400):
        cache.get(key, lambda: 1)
    assert len(cache) == 1 and cache.bytes == len("small")


def test_errors_are_not_cached() -> None:
    cache: BoundedCache[int] = BoundedCache(10, 10**6, text_weight(1))

    def fail() -> int:
        raise ValueError("no")

    with pytest.raises(ValueError):
        cache.get("k", fail)
    assert len(cache) == 0


def test_distinct_long_filters_do_not_grow_memory_past_the_parse_cache_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    bound = 4 * 2**20
    monkeypatch.setattr(parser, "PARSE_CACHE", BoundedCache(4096, bound, text_weight(32)))
    parser.build_parser()
    texts = ["CustomerAccount in (" + ",".join(f"'{n}-{i:05d}'" for i in range(400)) + ")" for n in range(150)]
    gc.collect()
    tracemalloc.start()
    try:
        for text in texts:  # 150 × ~4.7 KB: unbounded, some 20 MB of ASTs
            parser.parse("filter_option", text)
        gc.collect()
        retained, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert parser.PARSE_CACHE.bytes <= bound
    assert retained <= bound, f"{retained:,} bytes retained"
