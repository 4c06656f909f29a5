"""The StateStore protocol and the in-memory store (the default).

Sessions and experiments keep small values here (a session's pin, a counter). Values are
strings; callers JSON-encode. Every call is bounded in time: the in-memory store never
waits on anything but its lock, the Redis store (``_redis.py``) on at most its timeout.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Protocol, runtime_checkable

__all__ = ["MemoryStore", "StateStore"]


@runtime_checkable
class StateStore(Protocol):
    """Small shared state: get/set with a TTL, an atomic increment, compare-and-set."""

    url: str

    def get(self, key: str) -> str | None:
        """The value, or None when absent or expired."""

    def set(self, key: str, value: str, ttl_s: float | None = None) -> None:
        """Store ``value``; it expires after ``ttl_s`` seconds (None: never)."""

    def incr(self, key: str, amount: float = 1.0, ttl_s: float | None = None) -> float:
        """Add ``amount`` atomically and return the new value (a missing key counts as 0)."""

    def compare_and_set(self, key: str, expected: str | None, value: str, ttl_s: float | None = None) -> bool:
        """Set ``value`` only if the current value is ``expected`` (None: absent); True if it did."""

    def close(self) -> None:
        """Release connections."""


class MemoryStore:
    """A process-local store: LRU-bounded to ``max_entries`` and TTL'd, thread-safe.

    Also safe from asyncio tasks (its lock is never held across an await).
    """

    def __init__(self, url: str = "memory://", *, max_entries: int = 100_000) -> None:
        self.url = url
        self.max_entries = max(1, int(max_entries))
        self._data: OrderedDict[str, tuple[str, float | None]] = OrderedDict()
        self._lock = threading.Lock()

    def _live(self, key: str, now: float) -> str | None:
        item = self._data.get(key)
        if item is None:
            return None
        value, expires = item
        if expires is not None and expires <= now:
            del self._data[key]
            return None
        self._data.move_to_end(key)
        return value

    def _put(self, key: str, value: str, ttl_s: float | None, now: float) -> None:
        self._data[key] = (value, None if ttl_s is None else now + float(ttl_s))
        self._data.move_to_end(key)
        while len(self._data) > self.max_entries:
            self._data.popitem(last=False)

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._live(key, time.monotonic())

    def set(self, key: str, value: str, ttl_s: float | None = None) -> None:
        with self._lock:
            self._put(key, value, ttl_s, time.monotonic())

    def incr(self, key: str, amount: float = 1.0, ttl_s: float | None = None) -> float:
        with self._lock:
            now = time.monotonic()
            current = self._live(key, now)
            try:
                total = float(current) + amount if current is not None else float(amount)
            except ValueError:
                total = float(amount)
            self._put(key, repr(total), ttl_s, now)
            return total

    def compare_and_set(self, key: str, expected: str | None, value: str, ttl_s: float | None = None) -> bool:
        with self._lock:
            now = time.monotonic()
            if self._live(key, now) != expected:
                return False
            self._put(key, value, ttl_s, now)
            return True

    def __len__(self) -> int:
        return len(self._data)

    def close(self) -> None:
        return None

    def __repr__(self) -> str:
        return f"<MemoryStore {len(self)} keys>"
