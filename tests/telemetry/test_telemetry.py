"""Telemetry with the real OpenTelemetry SDK (in-memory exporters), Prometheus, decision hooks; canaries."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from routeiq_core import Candidate, OnnxEmbedder, Router, default_embedder
from routeiq_core.hookspecs import hookimpl
from routeiq_core.telemetry import (
    DecisionHooks,
    OpenTelemetryExtension,
    PrometheusMetrics,
    metrics_text,
)

CANARY = "CANARY-telemetry-91d2-never-exported"
CANDIDATES = [
    Candidate(name="mini", model="openai/gpt-4o-mini", input_cost_per_mtok=0.15, output_cost_per_mtok=0.6),
    Candidate(name="big", model="openai/o3", input_cost_per_mtok=10.0, output_cost_per_mtok=40.0,
              capabilities=("reasoning", "tools", "code")),
]

SPANS = InMemorySpanExporter()
READER = InMemoryMetricReader()
_provider = TracerProvider()
_provider.add_span_processor(SimpleSpanProcessor(SPANS))
trace.set_tracer_provider(_provider)
metrics.set_meter_provider(MeterProvider(metric_readers=[READER]))


@pytest.fixture(scope="module")
def embedder() -> OnnxEmbedder:
    emb = default_embedder()
    emb.load()
    return emb


@pytest.fixture(autouse=True)
def _clear() -> None:
    SPANS.clear()


def _router(embedder: OnnxEmbedder, *extensions: Any) -> Router:
    return Router.from_config({"experiments": [{"name": "e", "arms": [{"name": "a"}, {"name": "b"}]}]},
                              candidates=CANDIDATES, embedder=embedder, extensions=list(extensions))


def _all_text(spans: Any) -> str:
    parts = []
    for s in spans:
        parts += [s.name, repr(dict(s.attributes or {}))]
        parts += [f"{e.name}{dict(e.attributes or {})}" for e in s.events]
    return " ".join(parts)


def test_one_span_per_decision_nested_under_the_callers_span(embedder: OnnxEmbedder) -> None:
    router = _router(embedder)
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("litellm.request") as parent:
        d = router.decide(f"Prove that {CANARY} has infinitely many primes", metadata={"user": "u1"})
    spans = SPANS.get_finished_spans()
    (span,) = [s for s in spans if s.name == "routeiq.decide"]
    assert span.parent is not None and span.parent.span_id == parent.get_span_context().span_id
    a = dict(span.attributes or {})
    assert a["routeiq.decision_id"] == d.id and a["routeiq.candidate"] == d.name
    assert a["gen_ai.request.model"] == d.model and a["routeiq.category"] == d.category
    assert a["routeiq.experiment"] == "e" and a["routeiq.arm"] in ("a", "b") and a["routeiq.candidates"] == 2
    stages = [e.attributes["routeiq.stage"] for e in span.events]  # type: ignore[index]
    assert "embed" in stages and "strategy" in stages and "choice" in stages
    assert span.start_time is not None and span.end_time is not None and span.end_time >= span.start_time
    assert CANARY not in _all_text(spans)


def test_metrics_are_recorded(embedder: OnnxEmbedder) -> None:
    router = _router(embedder)
    for prompt in ("hi", "hi again", "Prove it"):
        router.decide(prompt)
    data = READER.get_metrics_data()
    found = {m.name: m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
    assert {"routeiq.decisions", "routeiq.decide.duration"} <= set(found)
    points = found["routeiq.decisions"].data.data_points
    assert sum(p.value for p in points) >= 3
    assert all(set(p.attributes) == {"candidate", "category", "profile", "strategy"} for p in points)


def test_a_failing_exporter_never_fails_a_decision(embedder: OnnxEmbedder) -> None:
    class Broken(InMemorySpanExporter):
        def export(self, spans: Any) -> Any:
            raise RuntimeError("collector down")

    _provider.add_span_processor(SimpleSpanProcessor(Broken()))
    router = _router(embedder)
    with pytest.MonkeyPatch.context():
        for _ in range(5):
            assert router.decide("hello").name  # decisions go on


def test_prometheus_metrics_and_canary(embedder: OnnxEmbedder) -> None:
    router = Router(CANDIDATES, embedder=embedder, extensions=[PrometheusMetrics()])
    for prompt in (f"what is {CANARY}?", "hi"):
        router.decide(prompt)
    text = metrics_text().decode()
    assert 'routeiq_decisions_total{candidate="' in text and "routeiq_decide_seconds_bucket" in text
    assert CANARY not in text


class Sink:
    def __init__(self) -> None:
        self.seen: list[str] = []
        self.async_seen: list[str] = []

    @hookimpl
    def routeiq_on_decision(self, decision: Any) -> None:
        self.seen.append(decision.id)

    @hookimpl
    def routeiq_on_decision_async(self, decision: Any) -> Any:
        async def record() -> None:
            await asyncio.sleep(0)
            self.async_seen.append(decision.id)

        return record()


class Broken:
    @hookimpl
    def routeiq_on_decision(self, decision: Any) -> None:
        raise ValueError(f"{CANARY} in a hook")


def test_decision_hooks_are_called_and_contained(embedder: OnnxEmbedder, caplog: pytest.LogCaptureFixture) -> None:
    sink = Sink()
    hooks = DecisionHooks(Broken(), sink, plugins=False)
    router = Router(CANDIDATES, embedder=embedder, extensions=[hooks])
    ids = [router.decide(p).id for p in ("hi", "hello", "Prove it")]
    deadline = time.monotonic() + 5
    while len(sink.async_seen) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sink.seen == ids and sorted(sink.async_seen) == sorted(ids)
    assert router.counters.get("hook_failures") == 3  # the broken hook, once per decision, contained
    assert CANARY not in caplog.text


def test_telemetry_off_and_absent(embedder: OnnxEmbedder) -> None:
    router = Router.from_config({"telemetry": False}, candidates=CANDIDATES, embedder=embedder)
    assert not any(isinstance(e, OpenTelemetryExtension) for e in router.extensions.extensions)
    router.decide("hi")
    assert not [s for s in SPANS.get_finished_spans() if s.name == "routeiq.decide"]


def test_the_span_nests_under_a_litellm_call(embedder: OnnxEmbedder) -> None:
    """In LiteLLM the decision runs in the engine's thread pool: the caller's span still parents it."""
    import os

    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    import routeiq_litellm

    router = litellm.Router(model_list=[
        {"model_name": "g", "litellm_params": {"model": "openai/gpt-4o-mini", "api_key": "x", "mock_response": "a"},
         "model_info": {"id": "m1"}},
        {"model_name": "g", "litellm_params": {"model": "openai/o3", "api_key": "x", "mock_response": "b"},
         "model_info": {"id": "m2"}}], num_retries=0)
    routeiq_litellm.install(router)
    tracer = trace.get_tracer("test")

    async def call() -> None:
        with tracer.start_as_current_span("litellm.acompletion"):
            await router.acompletion(model="g", messages=[{"role": "user", "content": "Prove that 2 is prime."}])

    asyncio.run(call())
    spans = SPANS.get_finished_spans()
    parent = next(s for s in spans if s.name == "litellm.acompletion")
    child = next(s for s in spans if s.name == "routeiq.decide")
    assert child.parent is not None and child.parent.span_id == parent.context.span_id
    assert child.context.trace_id == parent.context.trace_id
