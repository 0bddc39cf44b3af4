"""Progress for long commands (demo-db, dualwrite start): a tqdm bar on a terminal, plain lines elsewhere.

tqdm redraws its bar with carriage returns; written to a file, a pipe or a container log those
redraws pile up into one very long line. Where the stream is not a terminal, `PlainProgress` prints
a whole line now and then instead, with the same calls (update, set_description, total, refresh).
"""

from __future__ import annotations

import sys
import time
from typing import Any, Self, TextIO

from tqdm import tqdm

PLAIN_INTERVAL = 10.0  # seconds between two plain lines: a log gets a heartbeat, not a flood


class PlainProgress:
    """The part of tqdm's interface the commands use, as occasional whole lines."""

    def __init__(self, desc: str = "", total: float | None = None, unit: str = "it", file: TextIO | None = None,
                 interval: float = PLAIN_INTERVAL) -> None:
        self.desc = desc
        self.total = total
        self.unit = unit
        self.n = 0
        self._file = file if file is not None else sys.stderr
        self._interval = interval
        self._last = time.monotonic()
        self._closed = False

    def update(self, count: float = 1) -> None:
        self.n += int(count)
        if time.monotonic() - self._last >= self._interval:
            self._line()

    def set_description(self, desc: str, refresh: bool = True) -> None:
        self.desc = desc

    def refresh(self) -> None:
        """tqdm redraws here; a plain line waits for its interval."""

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._line()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _line(self) -> None:
        self._last = time.monotonic()
        share = f" ({100 * self.n / self.total:.0f}%)" if self.total else ""
        label = f"{self.desc}: " if self.desc else ""
        print(f"{label}{self.n:,} {self.unit}{share}", file=self._file, flush=True)


def progress_bar(desc: str = "", total: float | None = None, unit: str = "it", file: TextIO | None = None,
                 enabled: bool = True, **options: Any) -> Any:
    """A tqdm bar when `file` (stderr by default) is a terminal, else plain lines; nothing when not enabled."""
    stream = file if file is not None else sys.stderr
    if not enabled:
        return tqdm(total=total, disable=True)
    if _is_terminal(stream):
        return tqdm(desc=desc or None, total=total, unit=unit, file=stream, **options)
    return PlainProgress(desc, total, unit, stream)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream: no bar
        return False


def print_table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """Rows as a plain text table (what the administration commands print)."""
    texts = [tuple("" if value is None else str(value) for value in row) for row in rows]
    widths = [max([len(header[i])] + [len(row[i]) for row in texts]) for i in range(len(header))]
    print("  ".join(name.ljust(width) for name, width in zip(header, widths)).rstrip())
    for row in texts:
        print("  ".join(value.ljust(width) for value, width in zip(row, widths)).rstrip())
