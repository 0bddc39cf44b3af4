"""A least-recently-used cache bounded by entry count and by (estimated) bytes.

Counting entries alone is not a bound on memory: a client sending thousands of different 100 KB
filters filled a 4,096-entry cache with gigabytes. Each entry is weighed when stored (by a function
of the key and value, e.g. the request text times what a parse or a plan of it keeps per character)
and the least recently used entries go until both bounds hold. An entry heavier than an eighth of
the byte bound is not kept at all, so one huge request cannot flush the cache. Thread-safe; it
lives here, below the gateway, because the grammar's parse cache uses it too.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class BoundedCache(Generic[V]):
    def __init__(self, max_entries: int, max_bytes: int, weigh: Callable[[Hashable, V], int]) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._weigh = weigh
        self._entries: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    @property
    def bytes(self) -> int:
        """The total weight of the entries kept."""
        return self._bytes

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def get(self, key: Hashable, build: Callable[[], V], cacheable: bool = True) -> V:
        """The value for `key`, built (outside the lock) and kept when missing."""
        if not cacheable:
            return build()
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found[0]
        value = build()
        weight = self._weigh(key, value)
        if weight > self.max_bytes // 8:
            return value
        with self._lock:
            previous = self._entries.pop(key, None)
            if previous is not None:  # another thread built it meanwhile
                self._bytes -= previous[1]
            self._entries[key] = (value, weight)
            self._bytes += weight
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._bytes -= dropped
        return value


def text_weight(per_character: int, overhead: int = 512) -> Callable[[Hashable, object], int]:
    """A weigher for keys holding request text: what an entry keeps grows with the text's length
    (measured with tracemalloc: a parsed $filter keeps ~17-27 bytes per character, its plan ~100)."""

    def weigh(key: Hashable, value: object) -> int:
        parts = key if isinstance(key, tuple) else (key,)
        length = sum(len(part) for part in parts if isinstance(part, (str, bytes)))
        return overhead + per_character * length

    return weigh
