"""The Redis store: state shared by every LiteLLM proxy worker and pod.

``redis://[:PASSWORD@]HOST:PORT/DB`` or ``rediss://`` (TLS), through redis-py with a
connection pool. Every key gets the ``prefix`` (default ``routeiq:``). Each call waits at
most ``timeout_ms`` (default 50 ms). When Redis is down or slow the store answers from its
local :class:`MemoryStore` instead: one warning per outage, the ``state_failures`` counter,
and Redis is tried again after ``retry_s`` (1 s), so an outage costs at most one timeout a
second, not one per request. Nothing is raised into the caller's request.

The asyncio twins (``aget``, ``aset``, ...) use ``redis.asyncio`` with the same settings.
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from .._counters import Counters
from ..errors import MissingDependencyError, StateWarning
from ._memory import MemoryStore

__all__ = ["RedisStore"]

log = logging.getLogger("routeiq.state")
T = TypeVar("T")

#: Sets KEYS[1] to ARGV[2] if it holds ARGV[1] (or is absent when ARGV[1] is ""); ARGV[3] = TTL ms.
_CAS = """
local current = redis.call('GET', KEYS[1])
if (current == false and ARGV[1] == '') or current == ARGV[1] then
  if tonumber(ARGV[3]) > 0 then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  else redis.call('SET', KEYS[1], ARGV[2]) end
  return 1
end
return 0
"""


def _redis() -> Any:
    try:
        import redis
    except ImportError:
        raise MissingDependencyError("a Redis state store needs redis-py: pip install 'routeiq[redis]'") from None
    return redis


class RedisStore:
    """See the module docstring."""

    def __init__(self, url: str, *, prefix: str = "routeiq:", timeout_ms: float = 50.0, retry_s: float = 1.0,
                 password: str | None = None, counters: Counters | None = None) -> None:
        redis = _redis()
        from ..decisionlog._sql import redact_url

        self.url = redact_url(url)
        self.prefix = prefix
        self.timeout_s = float(timeout_ms) / 1000.0
        self.retry_s = float(retry_s)
        self.counters = counters if counters is not None else Counters()
        self.local = MemoryStore(f"local fallback of {self.url}")
        options: dict[str, Any] = {"socket_timeout": self.timeout_s, "socket_connect_timeout": self.timeout_s,
                                   "retry_on_timeout": False, "decode_responses": True, "max_connections": 32}
        if password is not None:
            options["password"] = password
        self._client = redis.Redis.from_url(url, **options)
        self._async_url, self._async_options = url, options
        self._aclient: Any = None
        self._cas = self._client.register_script(_CAS)
        self._down_until = 0.0
        self._failing = False
        self._lock = threading.Lock()
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)

    def _key(self, key: str) -> str:
        return self.prefix + key

    def _ttl_ms(self, ttl_s: float | None) -> int:
        return 0 if ttl_s is None else max(1, int(ttl_s * 1000))

    # ------------------------------------------------------------------ the fallback
    def _call(self, remote: Callable[[], T], local: Callable[[], T]) -> T:
        if time.monotonic() < self._down_until:
            return local()
        try:
            result = remote()
        except self._errors as exc:
            self._failed(exc)
            return local()
        if self._failing:
            self._failing = False
            log.warning("routeiq: Redis state store %s is reachable again", self.url)
        return result

    def _failed(self, exc: BaseException) -> None:
        self.counters.inc("state_failures")
        with self._lock:
            self._down_until = time.monotonic() + self.retry_s
            first = not self._failing
            self._failing = True
        if first:
            message = (f"Redis state store {self.url} failed ({type(exc).__name__}); using process-local state "
                       f"and retrying every {self.retry_s:g} s")
            warnings.warn(message, StateWarning, stacklevel=4)
            log.warning("routeiq: %s", message)

    @property
    def available(self) -> bool:
        """False while an outage is being waited out."""
        return time.monotonic() >= self._down_until

    # ------------------------------------------------------------------ sync
    def get(self, key: str) -> str | None:
        def remote() -> str | None:
            value = self._client.get(self._key(key))
            return None if value is None else str(value)

        return self._call(remote, lambda: self.local.get(key))

    def set(self, key: str, value: str, ttl_s: float | None = None) -> None:
        def remote() -> None:
            self._client.set(self._key(key), value, px=self._ttl_ms(ttl_s) or None)
            self.local.set(key, value, ttl_s)

        self._call(remote, lambda: self.local.set(key, value, ttl_s))

    def incr(self, key: str, amount: float = 1.0, ttl_s: float | None = None) -> float:
        def remote() -> float:
            pipe = self._client.pipeline()
            pipe.incrbyfloat(self._key(key), amount)
            if ttl_s is not None:
                pipe.pexpire(self._key(key), self._ttl_ms(ttl_s))
            return float(pipe.execute()[0])

        return self._call(remote, lambda: self.local.incr(key, amount, ttl_s))

    def compare_and_set(self, key: str, expected: str | None, value: str, ttl_s: float | None = None) -> bool:
        def remote() -> bool:
            return bool(self._cas(keys=[self._key(key)], args=[expected or "", value, self._ttl_ms(ttl_s)]))

        return self._call(remote, lambda: self.local.compare_and_set(key, expected, value, ttl_s))

    # ------------------------------------------------------------------ asyncio
    def _async(self) -> Any:
        if self._aclient is None:
            import redis.asyncio as aredis

            self._aclient = aredis.Redis.from_url(self._async_url, **self._async_options)
        return self._aclient

    async def aget(self, key: str) -> str | None:
        if not self.available:
            return self.local.get(key)
        try:
            value = await self._async().get(self._key(key))
        except self._errors as exc:
            self._failed(exc)
            return self.local.get(key)
        return None if value is None else str(value)

    async def aset(self, key: str, value: str, ttl_s: float | None = None) -> None:
        if self.available:
            try:
                await self._async().set(self._key(key), value, px=self._ttl_ms(ttl_s) or None)
            except self._errors as exc:
                self._failed(exc)
        self.local.set(key, value, ttl_s)

    def close(self) -> None:
        try:
            self._client.close()
        except Exception:  # pragma: no cover - best effort
            pass

    def __repr__(self) -> str:
        return f"<RedisStore {self.url} prefix={self.prefix!r}>"
