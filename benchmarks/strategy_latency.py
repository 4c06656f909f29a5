"""Per-strategy predict() latency beyond the embedding, at 5k and 50k training prompts.

Every registered strategy that does not call an LLM is trained on N prompts with
384-d L2-normalised embeddings and then asked about held-out queries one at a time
(``strategy.predict(query, candidates)``, what the Router calls per request); the
embedding itself is excluded. Each query is timed three times and its minimum kept,
so that pre-emption on a shared machine does not masquerade as strategy cost (the
raw p99 is in the JSON rows on stderr). BLAS runs single-threaded unless
``--blas-threads`` says otherwise: a request is one small matrix-vector product, and
on a busy 2-core host two BLAS threads made kNN's 5k-prompt scan ~30x slower
(0.36 ms -> 12 ms p50), so a routing service should pin BLAS to one thread. The training prompts are the LLMRouter training set
(5,608 real prompts x 9 models, embeddings from the disk cache) resampled to N with a
little Gaussian jitter on the embeddings, or with ``--synthetic`` the conformance kit's
toy generator. Prints fit time and p50/p99 predict time per strategy and size; the
target is p99 under 2 ms.

    python benchmarks/strategy_latency.py                    # 5k and 50k, all numpy strategies
    python benchmarks/strategy_latency.py --sizes 5000 --strategies knn,svm --queries 500
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
import warnings
from pathlib import Path


def _blas_threads(argv: list[str]) -> str:
    """``--blas-threads N`` must take effect before numpy loads OpenBLAS."""
    for i, arg in enumerate(argv):
        if arg == "--blas-threads" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--blas-threads="):
            return arg.split("=", 1)[1]
    return "1"


BLAS_THREADS = _blas_threads(sys.argv[1:])
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = BLAS_THREADS

# numpy reads the BLAS thread count at import, so these imports follow the environment set above.
import numpy as np  # noqa: E402

from routeiq_core import Candidate, RoutingDataset, default_registry  # noqa: E402
from routeiq_core.testing import make_toy_dataset, toy_queries  # noqa: E402

TARGET_MS = 2.0
REPEATS = 3
DIM = 384


def llmrouter_base() -> RoutingDataset | None:
    """The LLMRouter training set with embeddings (from the cache; embeds once if needed)."""
    root = Path(os.environ.get("ROUTEIQ_SHARED_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))
    path = root / "llmrouter" / "train.json"
    if not path.is_file():
        return None
    from routeiq_core._embedding_cache import embed_dataset
    from routeiq_core.datasets import load_dataset

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return embed_dataset(load_dataset(path), progress=True)


def resample(base: RoutingDataset, n: int, seed: int) -> RoutingDataset:
    """``n`` rows drawn with replacement from ``base``, embeddings jittered and re-normalised."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(len(base), size=n)
    emb = base.embeddings[idx] + rng.normal(scale=0.02, size=(n, base.embeddings.shape[1])).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    return RoutingDataset(
        ids=tuple(f"r{i}" for i in range(n)),
        prompts=tuple(base.prompts[i] for i in idx),
        models=base.models,
        scores=base.scores[idx],
        costs=None if base.costs is None else base.costs[idx],
        tasks=None if base.tasks is None else tuple(base.tasks[i] for i in idx),
        users=tuple(f"user{i % 50}" for i in range(n)),
        embeddings=emb,
        embedding_model=base.embedding_model,
        prices=base.prices,
        name=f"{base.name}-x{n}",
    )


def candidates_for(data: RoutingDataset) -> list[Candidate]:
    out = []
    for j, model in enumerate(data.models):
        price = data.prices.get(model)
        out.append(Candidate(
            name=model, model=model,
            input_cost_per_mtok=price.input_cost_per_mtok if price else 0.2 * (j + 1),
            output_cost_per_mtok=price.output_cost_per_mtok if price else 0.6 * (j + 1),
            size_b=float(7 * (j + 1)),
        ))
    return out


def measure(name: str, train: RoutingDataset, queries: list, candidates: list[Candidate]) -> dict:
    strategy = default_registry().create(name)
    t0 = time.perf_counter()
    strategy.fit(train)
    fit_s = time.perf_counter() - t0
    for q in queries[:5]:  # warm-up: caches, lazy indexes
        strategy.predict(q, candidates)
    # Each query is timed REPEATS times: the per-query minimum removes scheduler pre-emption on a
    # shared machine (a 0.1 ms call that loses the CPU reads as ~8 ms); the raw p99 is kept too.
    times = np.empty((REPEATS, len(queries)))
    gc.disable()
    try:
        for r in range(REPEATS):
            for i, q in enumerate(queries):
                t = time.perf_counter_ns()
                strategy.predict(q, candidates)
                times[r, i] = (time.perf_counter_ns() - t) / 1e6
    finally:
        gc.enable()
    best = times.min(axis=0)
    return {"strategy": name, "n_train": len(train), "fit_s": round(fit_s, 3),
            "p50_ms": round(float(np.percentile(best, 50)), 4), "p99_ms": round(float(np.percentile(best, 99)), 4),
            "raw_p99_ms": round(float(np.percentile(times, 99)), 4)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="5000,50000", help="training set sizes (comma-separated)")
    parser.add_argument("--queries", type=int, default=300, help="held-out queries timed per strategy")
    parser.add_argument("--strategies", help="comma-separated names (default: every strategy that calls no LLM)")
    parser.add_argument("--synthetic", action="store_true", help="toy-generator data instead of resampled LLMRouter")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    parser.add_argument("--blas-threads", default="1",
                        help="BLAS threads (default 1: one request is one small matrix-vector product; on a "
                        "busy 2-core host, 2 threads made knn's 5k scan 30x slower)")
    args = parser.parse_args(argv)

    registry = default_registry()
    names = args.strategies.split(",") if args.strategies else [
        i.name for i in registry.infos() if not i.cls.tags.calls_llm
    ]
    base = None if args.synthetic else llmrouter_base()
    source = "synthetic (toy generator)" if base is None else f"LLMRouter train ({len(base)} prompts), resampled"
    print(f"# strategy predict() latency, {DIM}-d embeddings, {args.queries} single queries x {REPEATS} "
          f"(per-query minimum), data: {source}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores, "
          f"{BLAS_THREADS} BLAS thread(s)",
          flush=True)
    rows = []
    for n in [int(s) for s in args.sizes.split(",")]:
        if base is None:
            data = make_toy_dataset(n + args.queries, dim=DIM, models=[f"m{j}" for j in range(9)],
                                    seed=args.seed, noise=1.0)
        else:
            data = resample(base, n + args.queries, args.seed)
        train = data.subset(range(n))
        queries = toy_queries(data, range(n, n + args.queries))
        candidates = candidates_for(data)
        for name in names:
            try:
                row = measure(name, train, queries, candidates)
            except Exception as exc:  # report and go on with the others
                row = {"strategy": name, "n_train": n, "error": f"{type(exc).__name__}: {exc}"}
            row["distribution"] = registry.info(name).distribution
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)

    sizes = sorted({r["n_train"] for r in rows})
    header = "| strategy | " + " | ".join(f"fit {n // 1000}k (s) | p50 {n // 1000}k (ms) | p99 {n // 1000}k (ms)"
                                          for n in sizes) + " | p99 < 2 ms |"
    print(header)
    print("|" + "---|" * (2 + 3 * len(sizes)))
    for name in names:
        cells, ok = [], True
        for n in sizes:
            r = next(r for r in rows if r["strategy"] == name and r["n_train"] == n)
            if "error" in r:
                cells += ["error", "-", "-"]
                ok = False
                continue
            cells += [f"{r['fit_s']:.2f}", f"{r['p50_ms']:.3f}", f"{r['p99_ms']:.3f}"]
            ok &= r["p99_ms"] < TARGET_MS
        print(f"| {name} | " + " | ".join(cells) + f" | {'yes' if ok else 'NO'} |")
    for r in rows:
        if "error" in r:
            print(f"{r['strategy']} @ {r['n_train']}: {r['error']}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
