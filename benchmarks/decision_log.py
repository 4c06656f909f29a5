"""What the decision log costs on the request path, measured in one run on the same inputs.

1. decide() p50 / p99 with the log off, on to SQLite (the embedded default, embeddings
   stored), on to JSON lines, and on to a PostgreSQL URL whose server is not there (a dead
   database), interleaved round by round so that drift on the machine hits every variant.
   The embedding cache is off: every decide() runs the real forward pass, as in production.
2. The background writer's throughput into SQLite: records written per second.
3. Feedback: Router.feedback() p50 (validation, the id check, the queue).

    python benchmarks/decision_log.py [--n 400] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path

PROMPTS = [
    "What is the capital of country number {i}?",
    "Write a Python function number {i} that merges two sorted lists in linear time.",
    "Prove that the sum of the first {i} odd numbers is a perfect square.",
    "hi there {i}, how are you today?",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=400, help="decisions per variant and round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    from routeiq_core import OnnxEmbedder, Router
    from routeiq_core.decisionlog import DecisionLogger

    tmp = Path(tempfile.mkdtemp(prefix="routeiq-bench-log-"))
    embedder = OnnxEmbedder(cache_size=0)
    embedder.load()
    variants = {
        "off": Router(embedder=embedder),
        "sqlite": Router(embedder=embedder, log=f"sqlite:///{tmp}/bench.db"),
        "jsonl": Router(embedder=embedder, log=f"jsonl://{tmp}/bench.jsonl"),
        "dead postgres": Router(embedder=embedder, log=DecisionLogger(
            "postgresql://routeiq@127.0.0.1:9/none", max_queue=2_000)),
    }
    texts = [PROMPTS[i % len(PROMPTS)].format(i=i) for i in range(args.n)]
    for router in variants.values():
        for t in texts[:20]:
            router.decide(t)
    times: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(args.rounds):
        for name, router in variants.items():
            for t in texts:
                t0 = time.perf_counter()
                router.decide(t)
                times[name].append((time.perf_counter() - t0) * 1e3)
    base = statistics.median(times["off"])
    print(f"1. decide() with the decision log ({args.n} prompts x {args.rounds} rounds, real forward pass each)")
    for name, values in times.items():
        p50, p99 = statistics.median(values), percentile(values, 0.99)
        print(f"   {name:<14} p50 {p50:6.3f} ms  p99 {p99:6.3f} ms  ratio to off {p50 / base:.3f}")
    sqlite = variants["sqlite"]
    assert sqlite.log is not None
    sqlite.log.flush(60)
    dead = variants["dead postgres"].counters.snapshot()
    print(f"   dead postgres: {dead.get('log_write_failures', 0)} failed writes, {dead.get('log_dropped', 0)} records "
          "dropped from its 2,000-record queue; no decision failed")

    writer = DecisionLogger(f"sqlite:///{tmp}/throughput.db")
    router = Router(embedder=embedder, log=writer)
    decisions = [router.decide(t) for t in texts]
    records = []
    from routeiq_core.decisionlog._records import record_of
    from routeiq_core.decisionlog._writer import BackgroundWriter

    for d in decisions:
        assert d.query is not None and d.query.request is not None
        records.append(record_of(d, d.query.request))
    bulk = BackgroundWriter(writer.log, max_queue=1_000_000)
    t0 = time.perf_counter()
    for _ in range(25):
        for r in records:
            bulk.submit(r.__class__(**{**{f: getattr(r, f) for f in r.__dataclass_fields__},
                                       "id": __import__("routeiq_core._ids", fromlist=["x"]).new_decision_id()}))
    bulk.flush(300)
    n = 25 * len(records)
    print(f"2. background writer into SQLite: {n / (time.perf_counter() - t0):,.0f} records/s ({n} records, "
          "embeddings included)")

    t0 = time.perf_counter()
    fb_times = []
    for d in decisions:
        t1 = time.perf_counter()
        router.feedback(d, success=True, cost_usd=0.001)
        fb_times.append((time.perf_counter() - t1) * 1e3)
    print(f"3. Router.feedback() p50 {statistics.median(fb_times):.3f} ms (validated, id known, queued)")
    for r in (*variants.values(), router):
        r.close()


if __name__ == "__main__":
    main()
