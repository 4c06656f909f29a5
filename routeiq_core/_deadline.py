"""The decision deadline: the featurize stage runs on a small pool of its own, and a caller
waits for it at most its deadline.

The embedding (tokenizing and the forward pass) is the only stage that can take long, and a
broken or overloaded embedder can hang in native code, where a thread cannot be stopped. So
with a deadline, :class:`EmbeddingPool` runs the stage on its own threads and the caller waits
at most the deadline; past it the Router decides without the embedding (signals and profile
only). A thread stuck in a hung embedder is written off: when no thread is idle a new one
starts, up to ``max_threads``, so the stuck ones never hold up other requests. Past that cap,
work queues and every caller still gets its answer at its deadline. The threads are daemons
and outlive nothing but the process.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, Any, TypeVar

from ._cascade import decided_by
from ._stages import StageClock
from ._validation import short_repr
from .errors import ConfigError

if TYPE_CHECKING:
    from ._counters import Counters
    from ._featurize import Featurizer
    from ._request import Request
    from ._types import Query

__all__ = ["DeadlineExceeded", "EmbeddingPool", "FeaturizeStage", "check_deadline", "shared_pool"]

log = logging.getLogger("routeiq")

T = TypeVar("T")


def check_deadline(deadline_ms: object) -> float:
    """A deadline in milliseconds: a finite number above 0 (ConfigError otherwise)."""
    if isinstance(deadline_ms, bool) or not isinstance(deadline_ms, (int, float)) or not (
            math.isfinite(deadline_ms) and deadline_ms > 0):
        raise ConfigError(f"deadline_ms: expected a number of milliseconds above 0, got {short_repr(deadline_ms)}")
    return float(deadline_ms)


class DeadlineExceeded(Exception):
    """The work did not finish within the caller's deadline (internal: the Router turns it into a
    deadline decision)."""


class EmbeddingPool:
    """Bounded threads for deadline-bound work; a hung task costs a thread, never the caller's wait."""

    def __init__(self, workers: int = 1, max_threads: int = 8) -> None:
        self._queue: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._max = max(1, workers, max_threads)
        self._threads = 0
        self._idle = 0

    @property
    def threads(self) -> int:
        """Threads started so far (stuck ones included)."""
        return self._threads

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        future: Future[T] = Future()
        with self._lock:
            if self._idle > 0:
                self._idle -= 1  # an idle thread will take it
            elif self._threads < self._max:  # none idle (busy or stuck): one more thread
                self._threads += 1
                threading.Thread(target=self._work, name=f"routeiq-embed-{self._threads}", daemon=True).start()
        self._queue.put((fn, future))
        return future

    def run(self, fn: Callable[[], T], timeout_s: float | None) -> T:
        """``fn()`` on the pool; raises :class:`DeadlineExceeded` after ``timeout_s`` seconds."""
        future = self.submit(fn)
        try:
            return future.result(timeout_s)
        except FutureTimeout:
            future.cancel()  # still queued: it will never run
            raise DeadlineExceeded from None

    async def arun(self, fn: Callable[[], T], timeout_s: float | None) -> T:
        """The async twin of :meth:`run` (the event loop never blocks)."""
        future = self.submit(fn)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), timeout_s)
        except (TimeoutError, asyncio.TimeoutError):
            future.cancel()
            raise DeadlineExceeded from None

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:  # pragma: no cover - the pool is never shut down in-process
                return
            fn, future = item
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn())
                except BaseException as exc:  # handed to the waiting caller, whatever it is
                    future.set_exception(exc)
            with self._lock:
                self._idle += 1


@functools.cache
def shared_pool() -> EmbeddingPool:
    """The process-wide pool (created on first use)."""
    return EmbeddingPool()


class FeaturizeStage:
    """The featurize stage under a deadline: the query, and a note when the deadline passed.

    Without a deadline the stage runs inline in the caller's thread (no hand-off cost);
    the async path runs it on the pool, never on the event loop. An inline embedder (the static
    table, ``Featurizer.inline``) runs on the caller's thread in every case: a 10,000-character
    prompt costs it about a millisecond, less than the hand-off, and it cannot hang. Past the deadline
    the query is built from the request's text signals alone (no embedding, no category),
    the note says so, and ``deadline_exceeded`` is counted.
    """

    def __init__(self, featurizer: Featurizer, counters: Counters, pool: EmbeddingPool | None = None) -> None:
        self.featurizer = featurizer
        self._counters = counters
        self._pool = pool

    @property
    def pool(self) -> EmbeddingPool:
        return self._pool if self._pool is not None else shared_pool()

    def run(self, request: Request, clock: StageClock, deadline_ms: float | None) -> tuple[Query, str | None]:
        if deadline_ms is None or self.featurizer.inline:
            return self._counted(self.featurizer.featurize(request, clock=clock)), None
        inner = StageClock()
        clock.start()
        try:
            query = self.pool.run(lambda: self.featurizer.featurize(request, clock=inner), deadline_ms / 1e3)
        except DeadlineExceeded:
            clock.lap("embed")
            return self._missed(request, deadline_ms)
        clock.absorb(inner)
        return self._counted(query), None

    async def arun(self, request: Request, clock: StageClock, deadline_ms: float | None) -> tuple[Query, str | None]:
        if self.featurizer.inline:
            return self._counted(self.featurizer.featurize(request, clock=clock)), None
        inner = StageClock()
        clock.start()
        timeout = None if deadline_ms is None else deadline_ms / 1e3
        try:
            query = await self.pool.arun(lambda: self.featurizer.featurize(request, clock=inner), timeout)
        except DeadlineExceeded:
            clock.lap("embed")
            return self._missed(request, deadline_ms or 0.0)
        clock.absorb(inner)
        return self._counted(query), None

    def run_many(self, requests: Sequence[Request], deadline_ms: float | None) -> list[tuple[Query, str | None]]:
        """Batch twin: one deadline of ``deadline_ms`` per request for the whole batch."""
        if deadline_ms is None or self.featurizer.inline:
            return [(self._counted(q), None) for q in self.featurizer.featurize_many(requests)]
        try:
            queries = self.pool.run(lambda: self.featurizer.featurize_many(requests),
                                    deadline_ms * max(1, len(requests)) / 1e3)
        except DeadlineExceeded:
            return [self._missed(r, deadline_ms) for r in requests]
        return [(self._counted(q), None) for q in queries]

    def _counted(self, query: Query) -> Query:
        """Count a cascade's escalations to the full model (its ``embedder`` signal says which decided)."""
        if decided_by(query.signals) == "full":
            self._counters.inc("escalations")
        return query

    def _missed(self, request: Request, deadline_ms: float) -> tuple[Query, str]:
        self._counters.inc("deadline_exceeded")
        note = (f"decision deadline of {deadline_ms:g} ms passed before the prompt was embedded; "
                "decided on the request's signals and the profile only")
        log.warning("routeiq: %s", note)
        return self.featurizer.without_embedding(request), note
