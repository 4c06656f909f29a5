"""Decide latency against the bare ONNX forward pass, measured in one run.

Prints, for short (~10 tokens), medium (~100 tokens), "instruction: pasted text" (~40
tokens; its instruction is pooled from the same forward pass) and long (~10,000 characters)
prompts: the bare forward pass (session.run + pooling on prepared token ids) and
Router.decide() (parse, signals, tokenise, forward, classify, predict, select),
p50 and p99, and their ratio. Also a 100,000-character prompt against a
256-token one, ``import routeiq_core`` time, cold start (process start to first
decision) and peak RSS, each in a fresh subprocess.

The two timings alternate in one loop so machine noise hits both equally. The
embedding cache is disabled, so every decide() really embeds.

A second table times the three embedders (``full``, ``static``, ``cascade``) on the same
texts: the full model interleaved with its bare forward pass, then the static and cascade
paths interleaved with tokenization alone (the static path's floor); it prints each one's
ratio to both and the cascade's escalation share.

A third table runs the static decide() and a control (JSON round trips, nothing of RouteIQ)
back to back, right after a bare forward pass and after a 3 ms pause: what the same work costs
on warm and on cold caches.

    python benchmarks/decide_latency.py [--iterations 200]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

SHORT = "What is the capital of Australia and why?"
MEDIUM = (
    "I maintain a Flask service that reads orders from PostgreSQL and publishes them to Kafka. "
    "Under load the p99 latency jumps to two seconds and the connection pool is exhausted. "
    "Explain how to find the bottleneck, which metrics to collect, and how to restructure the "
    "code so that database access and publishing do not block each other. Include a short code "
    "example with an async driver and explain the trade-offs."
)
# "instruction: pasted text": the category also reads the instruction, pooled from the same forward pass.
INSTRUCTION = (
    "Summarise this article in three bullet points: The city council voted on Tuesday to expand the bike "
    "lane network across downtown, citing safety data and a rise in cycling commuters."
)
WORDS = ["routing", "latency", "embedding", "tokenizer", "candidate", "profile", "quality", "budget", "deployment", "model", "request", "decision", "centroid", "signal"]


def long_text(chars: int) -> str:
    out, i = [], 0
    while sum(len(w) + 1 for w in out) < chars:
        out.append(WORDS[i % len(WORDS)] + str(i % 97))
        i += 1
    return " ".join(out)[:chars]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def measure(iterations: int) -> dict:
    from routeiq_core import OnnxEmbedder, Router

    embedder = OnnxEmbedder(cache_size=0)
    router = Router(embedder=embedder)
    router.decide("warm up")
    texts = {
        "short": SHORT,
        "medium": MEDIUM,
        "instruction": INSTRUCTION,
        "long_10k_chars": long_text(10_000),
        "tokens_256": long_text(1_300),
        "chars_100k": long_text(100_000),
    }
    results = {}
    for label, text in texts.items():
        ids = embedder.token_ids(text)
        forward, decide = [], []
        for _ in range(5):
            embedder.forward(ids)
            router.decide(text)
        for _ in range(iterations):
            t0 = time.perf_counter()
            embedder.forward(ids)
            t1 = time.perf_counter()
            router.decide(text)
            t2 = time.perf_counter()
            forward.append((t1 - t0) * 1e3)
            decide.append((t2 - t1) * 1e3)
        results[label] = {
            "tokens": len(ids),
            "chars": len(text),
            "forward_p50_ms": statistics.median(forward),
            "forward_p99_ms": percentile(forward, 0.99),
            "decide_p50_ms": statistics.median(decide),
            "decide_p99_ms": percentile(decide, 0.99),
        }
        results[label]["ratio_p50"] = results[label]["decide_p50_ms"] / results[label]["forward_p50_ms"]
    return results


def measure_embedders(iterations: int) -> dict:
    from routeiq_core import CascadeEmbedder, OnnxEmbedder, Router, StaticEmbedder

    full = OnnxEmbedder(cache_size=0)
    static = StaticEmbedder()
    routers = {"full": Router(embedder=full), "static": Router(embedder=static),
               "cascade": Router(embedder=CascadeEmbedder(static, full))}
    for router in routers.values():
        router.decide("warm up")
    texts = {"short": SHORT, "medium": MEDIUM, "long_10k_chars": long_text(10_000)}
    out = {}
    for label, text in texts.items():
        ids = full.token_ids(text)
        times: dict[str, list[float]] = {k: [] for k in ("forward", "tokenize", *routers)}
        # Two interleaved loops: the full model's (its bare pass and decide), then the static path's
        # (tokenization alone, static and cascade decide). A static deployment never runs the ONNX
        # model between its decisions, so its timings are not taken on caches the model just evicted.
        for _ in range(iterations):
            t0 = time.perf_counter()
            full.forward(ids)
            t1 = time.perf_counter()
            routers["full"].decide(text)
            times["forward"].append((t1 - t0) * 1e3)
            times["full"].append((time.perf_counter() - t1) * 1e3)
        for _ in range(iterations):
            t1 = time.perf_counter()
            static.token_ids(text)
            times["tokenize"].append((time.perf_counter() - t1) * 1e3)
            for name in ("static", "cascade"):
                t2 = time.perf_counter()
                routers[name].decide(text)
                times[name].append((time.perf_counter() - t2) * 1e3)
        row = {"tokens": len(ids)}
        for name, values in times.items():
            row[f"{name}_p50_ms"] = statistics.median(values)
            row[f"{name}_p99_ms"] = percentile(values, 0.99)
        out[label] = row
    cascade = routers["cascade"]
    out["cascade_escalations"] = cascade.counters.get("escalations") / max(1, iterations * len(texts) + 1)
    return out


def _control_work() -> None:
    """Python work unrelated to RouteIQ (JSON round trips, ~0.2 ms warm): the control for what any
    code pays when it runs right after something else evicted the caches."""
    for _ in range(10):
        json.loads(json.dumps(CONTROL_OBJECT))


CONTROL_OBJECT = {"id": 1, "items": [{"name": w, "n": i} for i, w in enumerate(WORDS)], "ok": True}


def measure_warm_and_cold(iterations: int) -> dict:
    """The same work back to back (warm caches), right after a bare forward pass, and after a
    3 ms pause: the static decide() and the control, short prompt, cached nothing but the table.

    A microbenchmark loop keeps the caches warm; a server's decisions come after other work or
    a pause, and this 2-core VM pays a fixed 0.1-0.3 ms for any code in that case, so the
    targets' "short prompt" figures are read against the control."""
    from routeiq_core import OnnxEmbedder, Router, StaticEmbedder

    full = OnnxEmbedder(cache_size=0)
    router = Router(embedder=StaticEmbedder())
    router.decide(SHORT)
    ids = full.token_ids(SHORT)
    work = {"static decide": lambda: router.decide(SHORT), "control (JSON)": _control_work}
    out: dict[str, dict[str, float]] = {}
    for name, fn in work.items():
        # "back to back": right after the same work (warm); then after a forward pass, after a pause
        before = {"back to back": fn, "after a forward pass": lambda: full.forward(ids),
                  "after a 3 ms pause": lambda: time.sleep(0.003)}
        samples: dict[str, list[float]] = {k: [] for k in before}
        for _ in range(iterations):  # the three conditions interleaved, so noise hits each alike
            for condition, prepare in before.items():
                prepare()
                t0 = time.perf_counter()
                fn()
                samples[condition].append((time.perf_counter() - t0) * 1e3)
        out[name] = {condition: statistics.median(v) for condition, v in samples.items()}
    return out


def subprocess_seconds(code: str, repeats: int = 3) -> list[float]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()

    results = measure(args.iterations)
    embedders = measure_embedders(args.iterations)
    warm_cold = measure_warm_and_cold(args.iterations)
    import_code = (
        "import time; t=time.perf_counter(); import routeiq_core; "
        "print(time.perf_counter()-t)"
    )
    imports = [float(subprocess.run([sys.executable, "-c", import_code], check=True, capture_output=True,
                                    text=True).stdout) for _ in range(5)]
    cold_code = "from routeiq_core import Router; Router().decide('Write a haiku about the sea')"
    bare_python = subprocess_seconds("pass")
    cold = subprocess_seconds(cold_code)
    rss_code = (
        "import resource; from routeiq_core import Router; r=Router(); "
        "[r.decide(t) for t in ('hi', 'Prove Fermat''s little theorem', 'x'*100000)]; "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    rss_kb = statistics.median(
        int(subprocess.run([sys.executable, "-c", rss_code], check=True, capture_output=True, text=True).stdout)
        for _ in range(3)
    )
    summary = {
        "per_prompt": results,
        "import_routeiq_core_s": statistics.median(imports),
        "cold_start_first_decision_s": statistics.median(cold),
        "bare_python_start_s": statistics.median(bare_python),
        "peak_rss_mb": rss_kb / 1024,
        "chars_100k_over_tokens_256_p50": results["chars_100k"]["decide_p50_ms"] / results["tokens_256"]["decide_p50_ms"],
        "embedders": embedders,
        "warm_and_cold_p50_ms": warm_cold,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    print(f"{'prompt':<16} {'tokens':>6} {'forward p50':>12} {'p99':>8} {'decide p50':>11} {'p99':>8} {'ratio p50':>10}")
    for label, r in results.items():
        print(f"{label:<16} {r['tokens']:>6} {r['forward_p50_ms']:>10.2f}ms {r['forward_p99_ms']:>6.2f}ms "
              f"{r['decide_p50_ms']:>9.2f}ms {r['decide_p99_ms']:>6.2f}ms {r['ratio_p50']:>9.3f}x")
    print(f"\n{'embedders':<16} {'tokens':>6} {'embedder':>9} {'decide p50':>11} {'p99':>8} {'/ forward':>10} "
          f"{'/ tokenize':>11} {'above tokenize':>15}")
    for label in ("short", "medium", "long_10k_chars"):
        r = embedders[label]
        print(f"{label:<16} {r['tokens']:>6} {'forward':>9} {r['forward_p50_ms']:>9.3f}ms {r['forward_p99_ms']:>6.2f}ms "
              f"   (bare pass; tokenize alone {r['tokenize_p50_ms']:.3f} ms)")
        for name in ("full", "static", "cascade"):
            p50 = r[f"{name}_p50_ms"]
            print(f"{'':<16} {'':>6} {name:>9} {p50:>9.3f}ms {r[f'{name}_p99_ms']:>6.2f}ms "
                  f"{p50 / r['forward_p50_ms']:>9.3f}x {p50 / r['tokenize_p50_ms']:>10.2f}x "
                  f"{p50 - r['tokenize_p50_ms']:>12.3f} ms")
    print(f"cascade escalations: {embedders['cascade_escalations']:.0%} of decisions")
    conditions = list(next(iter(warm_cold.values())))
    print(f"\n{'short prompt, p50':<18}" + "".join(f"{c:>22}" for c in conditions))
    for name, row in warm_cold.items():
        print(f"{name:<18}" + "".join(f"{row[c]:>20.3f}ms" for c in conditions))
    print(f"\n100,000-char prompt / 256-token prompt (decide p50): "
          f"{summary['chars_100k_over_tokens_256_p50']:.2f}x  (target <= 1.5x)")
    print(f"import routeiq_core: {summary['import_routeiq_core_s']:.3f} s  (target < 0.5 s)")
    print(f"cold start to first decision: {summary['cold_start_first_decision_s']:.2f} s "
          f"(bare python start {summary['bare_python_start_s']:.2f} s; target < 2 s)")
    print(f"peak RSS: {summary['peak_rss_mb']:.0f} MB  (target < 250 MB)")


if __name__ == "__main__":
    main()
