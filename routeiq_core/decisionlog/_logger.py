"""DecisionLogger: the router extension that records every decision and takes feedback.

``Router(log="sqlite:///decisions.db")`` builds one and runs it last among the extensions
(after exploration and the user's own), so the record shows the decision as served.
Its ``after_decide`` builds the record and queues it; the :class:`BackgroundWriter` does
the rest. ``feedback`` validates a report and queues it behind the decision it is about.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .._counters import Counters
from ..errors import DecisionLogError, FeedbackError
from ._backend import DecisionLog, MemoryLog
from ._records import DecisionRecord, Feedback, LoggedDecision, record_of
from ._writer import BackgroundWriter, PendingRecord, StateItem

if TYPE_CHECKING:
    from .._decision import Decision
    from .._extensions import DecisionContext
    from .._registry import StrategyRegistry

__all__ = ["DecisionLogger", "open_log"]

#: Ids of recent decisions kept in memory, so feedback on them needs no database read.
RECENT_IDS = 100_000


def open_log(url: str | DecisionLog, *, registry: StrategyRegistry | None = None, **options: Any) -> DecisionLog:
    """The decision log at ``url``.

    ``sqlite:///PATH`` (embedded default), ``postgresql://USER:PASSWORD@HOST:PORT/DB``,
    ``jsonl:///PATH``, ``memory://``, or ``SCHEME://...`` of a backend a plugin registered
    (hook ``routeiq_register_decision_logs``). A :class:`DecisionLog` object is returned as is.
    """
    from ._sql import _url_help, redact_url

    if not isinstance(url, str):
        if isinstance(url, DecisionLog):
            return url
        raise DecisionLogError(_url_help(url))
    scheme = url.split(":", 1)[0].lower() if "://" in url else ""
    if scheme == "memory":
        return MemoryLog(url, **options)
    if scheme == "jsonl":
        from ._jsonl import JsonLinesLog

        path = urlsplit(url).path
        if not path or path == "/":
            raise DecisionLogError(f"decision log {redact_url(url)!r}: give a file, e.g. jsonl:///tmp/decisions.jsonl")
        return JsonLinesLog(url, path)
    if scheme == "sqlite" or scheme.startswith(("postgresql", "postgres")):
        from ._sql import SqlLog

        if scheme.startswith("postgres") and not scheme.startswith("postgresql"):
            url = "postgresql" + url[len(scheme):]
        return SqlLog(url, **options)
    if scheme:
        from .._registry import default_registry

        factory = (registry or default_registry()).decision_log_factory(scheme)
        if factory is not None:
            backend = factory(url, **options)
            if not isinstance(backend, DecisionLog):
                raise DecisionLogError(f"the decision-log plugin for {scheme}:// returned {type(backend).__name__}, "
                                       "which lacks url, write, get, query or close")
            return backend
    raise DecisionLogError(_url_help(url))


class DecisionLogger:
    """Records decisions (``after_decide``) and feedback through a background writer.

    Args:
        log: a URL (see :func:`open_log`) or a :class:`DecisionLog`.
        store_embeddings: keep each query's embedding (float16) for training from the log.
        store_prompts: keep the routed text itself. Off by default: only its sha256 is kept.
        max_queue / batch_size: the writer's bound and batch (see :class:`BackgroundWriter`).
    """

    name = "decision-log"
    #: No I/O on the request path (the LiteLLM adapter may then decide on the event loop).
    inline = True

    def __init__(self, log: str | DecisionLog, *, store_embeddings: bool = True, store_prompts: bool = False,
                 max_queue: int = 10_000, batch_size: int = 256, counters: Counters | None = None,
                 registry: StrategyRegistry | None = None, **options: Any) -> None:
        self.log = open_log(log, registry=registry, **options)
        self.store_embeddings, self.store_prompts = bool(store_embeddings), bool(store_prompts)
        self.counters = counters if counters is not None else Counters()
        self.writer = BackgroundWriter(self.log, counters=self.counters, max_queue=max_queue, batch_size=batch_size)
        self._recent: OrderedDict[str, tuple[str | None, str]] = OrderedDict()  # id -> (category, candidate)
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return self.log.url

    def bind_router(self, router: Any) -> None:
        """The first router this log is given to: count into its counters, name its embedder in the
        records, and load its strategy's refinement evidence from the log (routers derived with
        ``with_candidates`` share all three)."""
        if getattr(self, "_bound", False):
            return
        self._bound = True
        self.counters = self.writer.counters = router.counters
        self._embedder = router.embedder
        from .._refinement import restore_refinement

        restore_refinement(router)

    # ------------------------------------------------------------------ the extension hook
    def after_decide(self, decision: Decision, ctx: DecisionContext) -> None:
        embedder = getattr(self, "_embedder", None)
        embedded = decision.query is not None and decision.query.embedding is not None
        # only once an embedding exists: then the model is loaded and model_id costs nothing
        model_id = getattr(embedder, "model_id", None) if self.store_embeddings and embedded and embedder else None
        request, artifact = ctx.request, getattr(ctx.strategy, "artifact_id", None)

        def build() -> DecisionRecord:  # runs on the writer thread: the request path only queues it
            return record_of(decision, request, store_embedding=self.store_embeddings, store_prompt=self.store_prompts,
                             artifact=artifact, embedding_model=model_id if isinstance(model_id, str) else None)

        with self._lock:
            self._recent[decision.id] = (decision.category, decision.candidate.name)
            if len(self._recent) > RECENT_IDS:
                self._recent.popitem(last=False)
        self.writer.submit(PendingRecord(build))
        return None

    # ------------------------------------------------------------------ feedback
    def recent(self, decision_id: str) -> tuple[str | None, str] | None:
        """(category, candidate) of a decision made here recently, else None."""
        with self._lock:
            return self._recent.get(decision_id)

    def knows(self, decision_id: str) -> bool | None:
        """True if the decision was made here or is in the log; None if the log cannot be read."""
        with self._lock:
            if decision_id in self._recent:
                return True
        try:
            return self.log.get(decision_id) is not None
        except Exception:
            self.counters.inc("log_read_failures")
            return None

    def feedback(self, decision_id: str, *, check: bool = True, **outcome: Any) -> Feedback:
        """Validate and queue an outcome report; returns the stored :class:`Feedback`.

        An unknown id is a :class:`FeedbackError`; when the log cannot be read to check,
        the report is queued anyway and ``feedback_unverified`` counts it.
        """
        report = Feedback.build(decision_id, **outcome)
        if check:
            known = self.knows(report.decision_id)
            if known is False:
                raise FeedbackError(f"feedback: no decision with id {report.decision_id} in {self.url}; pass the "
                                    "id of a decision made with this log (Decision.id)", field="decision_id")
            if known is None:
                self.counters.inc("feedback_unverified")
        self.writer.submit(report)
        self.counters.inc("feedback")
        return report

    # ------------------------------------------------------------------ small persistent state
    def save_state(self, key: str, value: str) -> None:
        """Keep ``value`` under ``key`` in the log's database (written in the background)."""
        import time

        self.writer.submit(StateItem(key, value, time.time()))

    def load_state(self, key: str) -> str | None:
        """The value kept under ``key``, or None (not kept, or the backend keeps no state, or unreachable)."""
        load = getattr(self.log, "load_state", None)
        if not callable(load):
            return None
        try:
            value = load(key)
        except Exception:
            self.counters.inc("log_read_failures")
            return None
        return value if isinstance(value, str) else None

    # ------------------------------------------------------------------ reading, lifetime
    def get(self, decision_id: str) -> LoggedDecision | None:
        """A decision from the log (after writing what is queued), with its merged outcome."""
        self.flush()
        return self.log.get(decision_id)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until the queued records are written (False if ``timeout`` passed first)."""
        return self.writer.flush(timeout)

    def close(self, timeout: float | None = None) -> None:
        """Write what is queued and close the log (also done at interpreter exit)."""
        self.writer.close(timeout)

    def stats(self) -> Mapping[str, int]:
        snap = self.counters.snapshot()
        return {k: v for k, v in snap.items() if k.startswith(("log_", "feedback"))}

    def __repr__(self) -> str:
        return f"<DecisionLogger {self.url}>"
