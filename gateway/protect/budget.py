"""How many expanded rows one response may carry, counted as they are written.

A nested $expand repeats subtrees: a customer expanded under each of its 100 orders is written 100
times, and `SalesOrders($expand=Customer($expand=SalesOrders(...)))` grows exponentially with depth.
The budget counts every expanded row as often as it will appear in the response, level by level,
before the next level is read, so memory stays bounded by the budget, not by the answer.
"""

from __future__ import annotations

from gateway.errors import ResultTooLarge


class ExpandBudget:
    def __init__(self, rows: int) -> None:
        self.limit = rows  # 0: no limit
        self.used = 0

    def take(self, rows: int, path: str) -> None:
        self.used += rows
        if self.limit and self.used > self.limit:
            raise ResultTooLarge(
                f"this response would carry more than {self.limit:,} expanded rows (--max-expanded-rows; "
                f"{path} alone brings {rows:,}, counted as written). Ask for fewer rows ($top, "
                f"Prefer: odata.maxpagesize) or expand fewer levels.", target="$expand")
