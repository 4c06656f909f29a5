"""What telemetry and policies cost on the request path, measured in one run on the same inputs.

decide() p50 / p99 for: nothing; the OpenTelemetry extension with only the API (no SDK: the
default for a user who has not configured OpenTelemetry); with the real SDK and an in-memory
exporter (a span and metrics per decision, exported synchronously: the worst case); Prometheus
metrics; a 6-rule policy with a budget. Every decide() runs the real forward pass; every
variant decides each prompt back to back, in one process.

    python benchmarks/telemetry.py [--n 300] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

POLICY = {"rules": [
    {"name": "r1", "when": {"teams": ["interns"]}, "then": {"deny": {"tiers_above": 3}}},
    {"name": "r2", "when": {"categories": ["code"]}, "then": {"require": ["code"]}},
    {"name": "r3", "when": {"match": {"key_alias": "^legacy-"}}, "then": {"reject": "no"}},
    {"name": "r4", "when": {"tags": ["eu"]}, "then": {"deny": {"providers": ["anthropic"]}}},
    {"name": "r5", "when": {"users": ["ceo"]}, "then": {"profile": "premium"}},
    {"name": "r6", "when": {"tools": True}, "then": {"max_cost_usd": 0.01}},
], "budgets": [{"name": "b", "scope": "team", "limit_usd": 1000.0}]}


def _routers() -> dict[str, object]:
    from routeiq_core import OnnxEmbedder, Router
    from routeiq_core.policies import Policies
    from routeiq_core.telemetry import OpenTelemetryExtension, PrometheusMetrics

    embedder = OnnxEmbedder(cache_size=0)
    embedder.load()
    return {
        "off": Router(embedder=embedder),
        "otel": Router(embedder=embedder, extensions=[OpenTelemetryExtension()]),
        "prometheus": Router(embedder=embedder, extensions=[PrometheusMetrics()]),
        "policies": Router(embedder=embedder, extensions=[Policies(POLICY)]),
    }


def _measure(routers: dict[str, object], names: list[str], n: int, rounds: int) -> dict[str, list[float]]:
    texts = [f"Question {i}: what is the capital of country number {i}?" for i in range(n)]
    times: dict[str, list[float]] = {k: [] for k in names}
    for name in names:
        for t in texts[:20]:
            routers[name].decide(t, metadata={"team": "t1"})  # type: ignore[attr-defined]
    for _ in range(rounds):
        for t in texts:  # every variant on the same prompt, back to back
            for name in names:
                t0 = time.perf_counter()
                routers[name].decide(t, metadata={"team": "t1"})  # type: ignore[attr-defined]
                times[name].append((time.perf_counter() - t0) * 1e3)
    return times


def _print(title: str, times: dict[str, list[float]]) -> None:
    base = statistics.median(times["off"])
    print(title)
    for v, values in times.items():
        ordered = sorted(values)
        p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
        print(f"   {v:<22} p50 {statistics.median(values):6.3f} ms  p99 {p99:6.3f} ms  "
              f"ratio to off {statistics.median(values) / base:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    routers = _routers()
    times = _measure(routers, ["off", "otel", "prometheus", "policies"], args.n, args.rounds)
    times["otel (API, no SDK)"] = times.pop("otel")
    _print(f"1. decide() ({args.n} prompts x {args.rounds} rounds, real forward pass; OpenTelemetry API only)", times)

    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    provider = TracerProvider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))
    times = _measure(routers, ["off", "otel"], args.n, args.rounds)
    times["otel (SDK, in-memory)"] = times.pop("otel")
    _print("2. the same with the OpenTelemetry SDK (a span exported synchronously per decision)", times)
    print(f"   spans exported: {len(exporter.get_finished_spans())}")


if __name__ == "__main__":
    main()
