"""The background writer: a bounded queue and one thread that writes batches to a backend.

``submit`` is what the request path pays: an append to a deque under a lock (about a
microsecond); it never waits for the database. The thread takes up to ``batch_size`` items
at a time and calls ``backend.write``. When that raises (database down, disk full), the
batch goes back to the front of the queue, a counter goes up, one warning is issued for
the outage, and the thread retries with a growing pause (0.1 s .. 5 s), dropping pooled
connections so it reconnects. When the queue is full the *oldest* item is dropped
(``log_dropped`` counter, one warning): under a long outage the newest decisions survive.
``close()`` (also run at exit) flushes what is queued, waiting at most ``close_timeout``.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import warnings
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .._counters import Counters
from ..errors import DecisionLogWarning, describe_error
from ._backend import DecisionLog
from ._records import DecisionRecord, Feedback

__all__ = ["BackgroundWriter", "PendingRecord", "StateItem"]

log = logging.getLogger("routeiq.decisionlog")

@dataclass(frozen=True, slots=True)
class StateItem:
    """A small JSON document to keep under ``key`` (e.g. the centroid's refinement evidence)."""

    key: str
    value: str
    ts: float


@dataclass(frozen=True, slots=True)
class PendingRecord:
    """A decision whose record is built on the writer thread (the request path only queues it)."""

    build: Callable[[], DecisionRecord]


Item = DecisionRecord | Feedback | StateItem | PendingRecord


class BackgroundWriter:
    """Writes records to ``backend`` off the request path (see the module docstring)."""

    def __init__(self, backend: DecisionLog, *, counters: Counters | None = None, max_queue: int = 10_000,
                 batch_size: int = 256, flush_interval: float = 0.2, close_timeout: float = 10.0) -> None:
        self.backend = backend
        self.counters = counters if counters is not None else Counters()
        self.max_queue = max(1, int(max_queue))
        self.batch_size = max(1, int(batch_size))
        self.flush_interval = float(flush_interval)
        self.close_timeout = float(close_timeout)
        self._queue: deque[Item] = deque()
        self._cond = threading.Condition(threading.Lock())
        self._closed = False
        self._busy = False
        self._failing = False
        self._warned_drop = False
        self._thread = threading.Thread(target=self._run, name="routeiq-decision-log", daemon=True)
        self._thread.start()
        ref = weakref.ref(self)
        self._atexit = lambda: (lambda w: w.close() if w is not None else None)(ref())
        atexit.register(self._atexit)

    # ------------------------------------------------------------------ the request side
    def submit(self, item: Item) -> None:
        """Queue ``item``; never blocks (a full queue drops its oldest item)."""
        with self._cond:
            if self._closed:
                self.counters.inc("log_dropped")
                return
            if len(self._queue) >= self.max_queue:
                self._queue.popleft()
                self.counters.inc("log_dropped")
                if not self._warned_drop:
                    self._warned_drop = True
                    self._warn(f"decision log queue is full ({self.max_queue} records, {self.backend.url} is "
                               "too slow or down): dropping the oldest records; the log_dropped counter "
                               "counts them")
            self._queue.append(item)
            if len(self._queue) >= self.batch_size:
                self._cond.notify()

    @property
    def pending(self) -> int:
        """Records queued or being written."""
        with self._cond:
            return len(self._queue) + (1 if self._busy else 0)

    # ------------------------------------------------------------------ the writer thread
    def _take(self) -> list[Item]:
        batch: list[Item] = []
        while self._queue and len(batch) < self.batch_size:
            batch.append(self._queue.popleft())
        return batch

    def _run(self) -> None:
        pause = 0.1
        while True:
            with self._cond:
                if not self._queue and not self._closed:
                    self._cond.wait(self.flush_interval)
                if not self._queue:
                    if self._closed:
                        return
                    continue
                batch = self._take()
                self._busy = True
            ok = self._write(batch)
            with self._cond:
                self._busy = False
                if not ok:
                    # back to the front, in order; beyond the bound the oldest go
                    self._queue.extendleft(reversed(batch))
                    while len(self._queue) > self.max_queue:
                        self._queue.popleft()
                        self.counters.inc("log_dropped")
                    if self._closed and time.monotonic() > self._deadline:
                        self.counters.inc("log_dropped", len(self._queue))
                        self._warn(f"decision log {self.backend.url} still unreachable at close: "
                                   f"{len(self._queue)} records were not written")
                        self._queue.clear()
                        return
                self._cond.notify_all()
            if ok:
                pause = 0.1
            else:
                time.sleep(pause if not self._closed else min(pause, 0.2))
                pause = min(pause * 2, 5.0)

    def _built(self, batch: list[Item]) -> None:
        """Build the pending records of ``batch`` in place; one that fails to build is dropped and counted."""
        for k, item in enumerate(batch):
            if isinstance(item, PendingRecord):
                try:
                    batch[k] = item.build()
                except Exception as exc:  # a bug in a record, not the database: never retried
                    self.counters.inc("log_dropped")
                    self._warn(f"decision log: could not build a record ({describe_error(exc)}); dropped it")
                    batch[k] = StateItem("", "", 0.0)  # a placeholder the write skips

    def _write(self, batch: list[Item]) -> bool:
        self._built(batch)
        decisions = [i for i in batch if isinstance(i, DecisionRecord)]
        feedback = [i for i in batch if isinstance(i, Feedback)]
        states = {i.key: i for i in batch if isinstance(i, StateItem) and i.key}  # the newest per key
        try:
            self.backend.write(decisions, feedback)
            save = getattr(self.backend, "save_state", None)
            if callable(save):
                for item in states.values():
                    save(item.key, item.value, item.ts)
        except Exception as exc:
            self.counters.inc("log_write_failures")
            if not self._failing:
                self._failing = True
                self._warn(f"decision log {self.backend.url} write failed ({describe_error(exc)}); decisions go "
                           "on, records are kept in the queue and retried")
            reset = getattr(self.backend, "reset_connections", None)
            if callable(reset):
                try:
                    reset()
                except Exception:  # pragma: no cover - best effort
                    pass
            return False
        self.counters.inc("log_written", len(decisions))
        if feedback:
            self.counters.inc("log_feedback_written", len(feedback))
        if self._failing:
            self._failing = False
            log.warning("routeiq: decision log %s is writable again; the queued records were written",
                        self.backend.url)
        return True

    # ------------------------------------------------------------------ shutdown
    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far is written; False if ``timeout`` passed first."""
        end = time.monotonic() + timeout
        with self._cond:
            self._cond.notify_all()
            while self._queue or self._busy:
                left = end - time.monotonic()
                if left <= 0 or not self._thread.is_alive():
                    return False
                self._cond.wait(min(left, 0.05))
                self._cond.notify_all()
        return True

    def close(self, timeout: float | None = None) -> None:
        """Flush what is queued (at most ``timeout`` s, default ``close_timeout``) and stop the thread."""
        with self._cond:
            if self._closed:
                return
            self._deadline = time.monotonic() + (self.close_timeout if timeout is None else timeout)
            self._closed = True
            self._cond.notify_all()
        self._thread.join(max(0.0, self._deadline - time.monotonic()) + 1.0)
        atexit.unregister(self._atexit)
        try:
            self.backend.close()
        except Exception:  # pragma: no cover - best effort at shutdown
            pass

    def _warn(self, message: str) -> None:
        warnings.warn(message, DecisionLogWarning, stacklevel=3)
        log.warning("routeiq: %s", message)

    def __repr__(self) -> str:
        return f"<BackgroundWriter {self.backend.url} pending={self.pending}>"

    def __getstate__(self) -> Any:  # pragma: no cover
        raise TypeError("a BackgroundWriter cannot be pickled")
