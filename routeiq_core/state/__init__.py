"""Shared state for sessions and experiments: in memory (default) or on Redis.

``open_store("memory://")`` or ``open_store("redis://HOST:6379/0")`` (``rediss://`` for TLS);
see ``docs/operations/state.md``. Importing this package imports no Redis client.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from ._memory import MemoryStore, StateStore

__all__ = ["MemoryStore", "StateStore", "open_store"]


def open_store(url: str | StateStore | None, **options: Any) -> StateStore:
    """The state store at ``url`` (None: a new in-memory store); a StateStore object is returned as is."""
    if url is None:
        return MemoryStore()
    if not isinstance(url, str):
        if isinstance(url, StateStore):
            return url
        raise ConfigError(f"state: expected a URL (memory://, redis://HOST:PORT/DB, rediss://...), got "
                          f"{type(url).__name__}")
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme == "memory":
        return MemoryStore(url, **options)
    if scheme in ("redis", "rediss", "unix"):
        from ._redis import RedisStore

        return RedisStore(url, **options)
    from ..decisionlog._sql import redact_url

    raise ConfigError(f"state store URL {redact_url(url)!r} is not one RouteIQ can open; expected memory:// or "
                      "redis://[:PASSWORD@]HOST:PORT/DB (rediss:// for TLS)")
