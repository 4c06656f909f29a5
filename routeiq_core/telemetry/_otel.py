"""OpenTelemetry: one ``routeiq.decide`` span per decision, and decision metrics.

Uses only the OpenTelemetry **API** (``opentelemetry-api``), through the global tracer and
meter providers the application configures (the SDK, an OTLP exporter: see
``docs/operations/telemetry.md``). Without the API package, or without an SDK, every call is a
no-op. The span is a child of the caller's current span (so it nests under LiteLLM's spans in
the proxy), starts when the decision started and ends when it was made; each stage is a span
event with its duration. **No prompt text is ever an attribute.**

Attributes: ``routeiq.decision_id``, ``routeiq.profile``, ``routeiq.strategy``,
``routeiq.category``, ``routeiq.confidence``, ``routeiq.complexity``, ``routeiq.candidate``,
``gen_ai.request.model`` (the model the request will be sent to), ``routeiq.candidates`` (how
many were eligible), ``routeiq.fallback``, ``routeiq.warnings``, and when they apply
``routeiq.experiment``, ``routeiq.arm``, ``routeiq.session.pinned_tier``, ``routeiq.policies``,
``routeiq.propensity``.

Metrics (meter ``routeiq``): ``routeiq.decisions`` (counter; candidate, category, profile,
strategy), ``routeiq.decide.duration`` (histogram, ms), ``routeiq.fallbacks`` (counter), and
``routeiq.degradations`` (observable counter of the router's counters: log drops, state-store
and extension failures, by ``kind``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._decision import Decision
    from .._extensions import DecisionContext

__all__ = ["OpenTelemetryExtension", "decision_attributes"]

#: Router counters exported as ``routeiq.degradations`` (kind = the counter's name).
DEGRADATIONS = ("log_dropped", "log_write_failures", "state_failures", "extension_failures", "strategy_failures",
                "shadow_dropped", "hook_failures")


def decision_attributes(decision: Decision) -> dict[str, Any]:
    """The span attributes of a decision (no prompt text)."""
    attrs: dict[str, Any] = {
        "routeiq.decision_id": decision.id, "routeiq.profile": decision.profile,
        "routeiq.strategy": decision.strategy, "routeiq.category": decision.category or "",
        "routeiq.confidence": float(decision.confidence), "routeiq.complexity": int(decision.complexity),
        "routeiq.candidate": decision.candidate.name, "gen_ai.request.model": decision.model,
        "routeiq.candidates": len(decision.ranking), "routeiq.fallback": bool(decision.fallback),
        "routeiq.warnings": len(decision.warnings), "routeiq.propensity": float(decision.propensity),
    }
    d = decision.details
    for key in ("experiment", "arm"):
        if d.get(key) is not None:
            attrs[f"routeiq.{key}"] = str(d[key])
    session = d.get("session")
    if isinstance(session, dict) and session.get("pinned_tier") is not None:
        attrs["routeiq.session.pinned_tier"] = int(session["pinned_tier"])
    if d.get("policies"):
        attrs["routeiq.policies"] = [str(p) for p in d["policies"]]
    decided_by = embedder_of(decision)
    if decided_by is not None:
        attrs["routeiq.embedder"] = decided_by
    return attrs


def embedder_of(decision: Decision) -> str | None:
    """Which embedder decided a cascade decision's category ("static" or "full"); None otherwise."""
    from .._cascade import decided_by

    return decided_by(decision.signals)


class OpenTelemetryExtension:
    """Emits the span and the metrics after each decision (an after-decision extension)."""

    name = "opentelemetry"

    def __init__(self) -> None:
        try:
            from opentelemetry import metrics, trace
        except ImportError:  # the API is not installed: nothing to do
            self._trace = None
            return
        self._trace = trace
        self._tracer = trace.get_tracer("routeiq")
        meter = metrics.get_meter("routeiq")
        self._decisions = meter.create_counter("routeiq.decisions", unit="{decision}",
                                               description="Routing decisions made")
        self._duration = meter.create_histogram("routeiq.decide.duration", unit="ms",
                                                description="decide() wall time")
        self._fallbacks = meter.create_counter("routeiq.fallbacks", unit="{decision}",
                                               description="Decisions made by the fallback")
        self._routers: list[Any] = []
        meter.create_observable_counter("routeiq.degradations", callbacks=[self._observe], unit="{event}",
                                        description="Degradations the requests survived, by kind")

    @property
    def inline(self) -> bool:
        """No I/O on the request path while no OpenTelemetry SDK is configured (the API's no-op and
        proxy providers); a configured SDK's span processors may export synchronously."""
        if self._trace is None:
            return True
        return type(self._trace.get_tracer_provider()).__name__ in ("ProxyTracerProvider", "NoOpTracerProvider")

    def bind_router(self, router: Any) -> None:
        if self._trace is not None:  # every router's counters feed routeiq.degradations
            self._routers.append(router.counters)

    def _observe(self, _options: Any) -> Any:
        from opentelemetry.metrics import Observation

        totals: dict[str, int] = {}
        for counters in self._routers:
            for kind, value in counters.snapshot().items():
                if kind in DEGRADATIONS:
                    totals[kind] = totals.get(kind, 0) + value
        return [Observation(v, {"kind": k}) for k, v in sorted(totals.items())]

    def after_decide(self, decision: Decision, ctx: DecisionContext) -> None:
        if self._trace is None:
            return None
        end = time.time_ns()
        total_ms = float(decision.timings_ms.get("total", 0.0))
        start = end - int(total_ms * 1e6)
        span = self._tracer.start_span("routeiq.decide", start_time=start, attributes=decision_attributes(decision))
        offset = start
        for stage, ms in decision.timings_ms.items():
            if stage == "total":
                continue
            offset += int(ms * 1e6)
            span.add_event("routeiq.stage", {"routeiq.stage": stage, "routeiq.duration_ms": round(float(ms), 4)},
                           timestamp=min(offset, end))
        span.end(end_time=end)
        labels = {"candidate": decision.candidate.name, "category": decision.category or "",
                  "profile": decision.profile, "strategy": decision.strategy}
        self._decisions.add(1, labels)
        self._duration.record(total_ms, {"profile": decision.profile, "strategy": decision.strategy})
        if decision.fallback:
            self._fallbacks.add(1, {"strategy": decision.strategy})
        return None
