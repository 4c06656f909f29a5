"""Process-local counters of what went wrong (or right) while deciding.

Every degradation that the request survives (a failing strategy, extension or
background writer) increments a counter here besides its warning, so an operator
can see how often it happens. ``Router.counters.snapshot()`` reads them;
telemetry exporters read the same numbers.
"""

from __future__ import annotations

import threading
from collections import Counter

__all__ = ["Counters"]


class Counters:
    """Named, thread-safe integer counters."""

    __slots__ = ("_counts", "_lock")

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def inc(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counts[name] += n

    def get(self, name: str) -> int:
        return self._counts.get(name, 0)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def __repr__(self) -> str:
        return f"Counters({self.snapshot()})"
