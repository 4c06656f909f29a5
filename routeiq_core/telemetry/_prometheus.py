"""Prometheus metrics (``prometheus-client``), scrapeable in process or from the LiteLLM proxy.

``routeiq_decisions_total{candidate,category,profile,strategy}``, ``routeiq_decide_seconds``
(histogram), ``routeiq_fallbacks_total``, ``routeiq_degradations_total{kind}`` (log drops,
state-store failures, ...).

**Several workers.** When ``PROMETHEUS_MULTIPROC_DIR`` is set (before the workers start), the
metrics use prometheus-client's multiprocess mode: every worker writes its values to files in
that folder and any worker's scrape (``/routeiq/metrics`` in the proxy) adds up all of them,
so one scrape is correct for the whole proxy. Without it, each worker reports its own series
and a scrape sees whichever worker answered.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from ..errors import MissingDependencyError

if TYPE_CHECKING:
    from .._decision import Decision
    from .._extensions import DecisionContext

__all__ = ["PrometheusMetrics", "metrics_text"]

_lock = threading.Lock()
_metrics: dict[str, Any] | None = None


def _client() -> Any:
    try:
        import prometheus_client
    except ImportError:
        raise MissingDependencyError("Prometheus metrics need prometheus-client: pip install 'routeiq[telemetry]'") \
            from None
    return prometheus_client


def _shared() -> dict[str, Any]:
    """The process's metric objects (one set, whatever number of routers)."""
    global _metrics
    with _lock:
        if _metrics is None:
            p = _client()
            registry = p.REGISTRY
            buckets = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
            _metrics = {
                "decisions": p.Counter("routeiq_decisions", "Routing decisions made",
                                       ["candidate", "category", "profile", "strategy"], registry=registry),
                "seconds": p.Histogram("routeiq_decide_seconds", "decide() wall time", ["profile"], buckets=buckets,
                                       registry=registry),
                "fallbacks": p.Counter("routeiq_fallbacks", "Decisions made by the fallback", ["strategy"],
                                       registry=registry),
                "degradations": p.Counter("routeiq_degradations", "Degradations the requests survived", ["kind"],
                                          registry=registry),
                "cascade": p.Counter("routeiq_cascade_decisions", "Cascade decisions by the embedder that decided "
                                     "the category (static, or full after an escalation)", ["embedder"],
                                     registry=registry),
            }
        return _metrics


def metrics_text() -> bytes:
    """The exposition text: every worker's values in multiprocess mode, else this process's."""
    from .._settings import RouteIQSettings

    p = _client()
    if RouteIQSettings.from_env().prometheus_multiproc_dir is not None:
        from prometheus_client import multiprocess

        registry = p.CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return bytes(p.generate_latest(registry))
    _shared()
    return bytes(p.generate_latest(p.REGISTRY))


class PrometheusMetrics:
    """Counts each decision into the Prometheus metrics (an after-decision extension)."""

    name = "prometheus"
    #: No I/O on the request path (the LiteLLM adapter may then decide on the event loop).
    inline = True

    def __init__(self) -> None:
        self.metrics = _shared()
        self._seen: dict[str, int] = {}
        self._counters: Any = None

    def bind_router(self, router: Any) -> None:
        self._counters = router.counters

    def after_decide(self, decision: Decision, ctx: DecisionContext) -> None:
        m = self.metrics
        m["decisions"].labels(decision.candidate.name, decision.category or "", decision.profile,
                              decision.strategy).inc()
        m["seconds"].labels(decision.profile).observe(float(decision.timings_ms.get("total", 0.0)) / 1000.0)
        if decision.fallback:
            m["fallbacks"].labels(decision.strategy).inc()
        from ._otel import embedder_of

        decided_by = embedder_of(decision)
        if decided_by is not None:
            m["cascade"].labels(decided_by).inc()
        if self._counters is not None:  # degradations since the last decision, as counter increments
            from ._otel import DEGRADATIONS

            snap = self._counters.snapshot()
            for kind in DEGRADATIONS:
                now = snap.get(kind, 0)
                if now > self._seen.get(kind, 0):
                    m["degradations"].labels(kind).inc(now - self._seen.get(kind, 0))
                    self._seen[kind] = now
        return None
