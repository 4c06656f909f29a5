"""What the hardening costs and buys, measured in one run.

1. Throughput: decisions per second, one ``decide()`` at a time vs ``decide_batch()`` (padded
   batches), on the same prompts (short, ~15 tokens; medium, ~60 tokens).
2. A hanging embedder: the latency of normal decisions while 4 others hang in the embedder,
   against the same decisions with nothing hanging (deadline 500 ms), and how long a hanging
   decision takes to come back.
3. The cost of a deadline: decide() p50 with and without one (the hand-off to the pool).
4. A zip bomb: a 2 MB artifact with an extra 2 GiB member that the manifest does not list:
   how long loading takes to refuse it, and the process's peak RSS.

    python benchmarks/hardening.py [--n 300]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import threading
import time
import zipfile
from pathlib import Path


def throughput(n: int) -> None:
    from routeiq_core import OnnxEmbedder, Router

    router = Router(embedder=OnnxEmbedder(cache_size=0))
    router.decide("warm up")
    sets = {
        "short": [f"What is the capital of country number {i}?" for i in range(n)],
        "medium": [f"Request {i}: explain how to size a connection pool for a service that reads from "
                   "PostgreSQL and publishes to Kafka, and what to measure first" for i in range(n)],
    }
    print("1. throughput (decisions/s, one process)")
    for name, prompts in sets.items():
        t0 = time.perf_counter()
        for p in prompts:
            router.decide(p)
        single = n / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        router.decide_batch(prompts)
        batch = n / (time.perf_counter() - t0)
        print(f"   {name:<7} single {single:6.0f}/s  batch {batch:6.0f}/s  ratio {batch / single:.2f}x")


def hanging() -> None:
    from routeiq_core import OnnxEmbedder, Router

    real = OnnxEmbedder(cache_size=0)
    release = threading.Event()

    class Hanging:
        dim, model_id = 384, property(lambda self: real.model_id)

        def load(self) -> None:
            real.load()

        def embed(self, text: str):  # type: ignore[no-untyped-def]
            if "HANG" in text:
                release.wait(30)
            return real.embed(text)

        def embed_many(self, texts):  # type: ignore[no-untyped-def]
            return real.embed_many(texts)

    router = Router(embedder=Hanging(), deadline_ms=500)  # type: ignore[arg-type]
    router.decide("warm up")

    def timed(prompt: str) -> float:
        t0 = time.perf_counter()
        router.decide(prompt)
        return (time.perf_counter() - t0) * 1e3

    prompts = [f"Explain the difference between TCP and UDP, variant {i}" for i in range(60)]
    calm = [timed(p) for p in prompts]
    stuck = [threading.Thread(target=timed, args=(f"HANG {i}",), daemon=True) for i in range(4)]
    for thread in stuck:
        thread.start()
    time.sleep(0.1)
    busy = [timed(p + " again") for p in prompts]
    hung = timed("HANG once more")
    release.set()
    p99 = lambda xs: sorted(xs)[int(0.99 * (len(xs) - 1))]  # noqa: E731
    print("2. hanging embedder (deadline 500 ms; 4 decisions stuck in the embedder)")
    print(f"   normal decisions, nothing stuck: p50 {statistics.median(calm):.1f} ms, p99 {p99(calm):.1f} ms")
    print(f"   normal decisions, 4 stuck:       p50 {statistics.median(busy):.1f} ms, p99 {p99(busy):.1f} ms"
          f"  ({statistics.median(busy) / statistics.median(calm):.2f}x)")
    print(f"   a hanging decision returned after {hung:.0f} ms (fallback on signals and profile)")


def deadline_cost(n: int) -> None:
    """decide() p50 without a deadline (inline) and with one (the hand-off to the embedding pool),
    alternating in one loop on the same prompt."""
    from routeiq_core import OnnxEmbedder, Router

    embedder = OnnxEmbedder(cache_size=0)
    inline, pooled = Router(embedder=embedder), Router(embedder=embedder, deadline_ms=2000)
    inline.decide("warm up"), pooled.decide("warm up")
    a, b = [], []
    for _ in range(n):
        prompt = "What is the capital of Australia and why?"
        t0 = time.perf_counter()
        inline.decide(prompt)
        t1 = time.perf_counter()
        pooled.decide(prompt)
        t2 = time.perf_counter()
        a.append((t1 - t0) * 1e3)
        b.append((t2 - t1) * 1e3)
    print(f"3. deadline cost (short prompt): decide() p50 {statistics.median(a):.2f} ms inline, "
          f"{statistics.median(b):.2f} ms with a deadline ({statistics.median(b) / statistics.median(a):.2f}x)")


def zip_bomb() -> None:
    import numpy as np

    from routeiq_core import ArtifactError, RoutingDataset, default_embedder
    from routeiq_strategies.knn import KNNStrategy

    emb = default_embedder()
    prompts = [f"question {i}" for i in range(20)]
    data = RoutingDataset(ids=tuple(map(str, range(20))), prompts=tuple(prompts), models=("a", "b"),
                          scores=np.random.default_rng(0).random((20, 2)), embeddings=emb.embed_many(prompts),
                          embedding_model=emb.model_id)
    root = Path(tempfile.mkdtemp()) / "knn"
    KNNStrategy(k=3).fit(data).save(root)
    chunk = b"\x00" * (1 << 24)
    with zipfile.ZipFile(root / "arrays.npz", "a", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("extra.npy", "w", force_zip64=True) as member:
            for _ in range(128):  # 2 GiB of zeros, ~2 MB compressed
                member.write(chunk)
    size_mb = (root / "arrays.npz").stat().st_size / 2**20
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    try:
        KNNStrategy.load(root)
        outcome = "loaded (!)"
    except ArtifactError as exc:
        outcome = f"refused: {str(exc)[-60:]}"
    elapsed = (time.perf_counter() - t0) * 1e3
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"4. zip bomb: {size_mb:.1f} MB artifact with a 2 GiB unlisted member: {outcome}")
    print(f"   in {elapsed:.1f} ms; peak RSS {before:.0f} MB before, {after:.0f} MB after")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="prompts per throughput set")
    args = parser.parse_args()
    throughput(args.n)
    hanging()
    deadline_cost(args.n)
    zip_bomb()


if __name__ == "__main__":
    main()
