"""Per-request overhead of RouteIQ inside LiteLLM, against LiteLLM's default simple-shuffle.

Two ``litellm.Router`` objects over the same mocked deployments (``mock_response``: no network):
one with LiteLLM's default strategy, one with RouteIQ installed. Blocks of calls alternate
between them so that machine noise hits both alike. Prints, from one run:

* sequential ``completion`` and ``acompletion``: median / mean ms per request, the overhead
  (RouteIQ minus shuffle) and the ratio;
* ``--concurrency`` concurrent ``acompletion``: wall time and requests per second;
* event-loop lag during those concurrent requests (a 1 ms ticker's lateness, p50/p99/max);
* RouteIQ's own decision time as stamped in the request metadata.

    python benchmarks/litellm_overhead.py                 # defaults: 200 sequential, 100 concurrent
    python benchmarks/litellm_overhead.py --requests 500 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

PROMPTS = [
    "hi there!",
    "What is the capital of Australia?",
    "Write a Python function that returns the n-th Fibonacci number iteratively, with a docstring.",
    "Prove that the sum of two even integers is even, step by step.",
    "Summarise the causes of the French Revolution in three sentences.",
    "Design a caching layer for a read-heavy REST API and explain invalidation.",
    "Translate 'where is the train station?' into German and Spanish.",
    "Solve 3x + 7 = 22 and explain each step.",
]


def model_list() -> list[dict[str, Any]]:
    def dep(group: str, dep_id: str, model: str) -> dict[str, Any]:
        return {
            "model_name": group,
            "model_info": {"id": dep_id},
            "litellm_params": {
                "model": model,
                "api_key": "sk-bench",
                "mock_response": f"served by {dep_id}",
            },
        }

    return [
        dep("chat", "chat-mini", "openai/gpt-4o-mini"),
        dep("chat", "chat-4o", "openai/gpt-4o"),
        dep("chat", "chat-o3", "openai/o3-mini"),
        dep("backup", "backup-mini", "openai/gpt-4.1-mini"),
        dep("backup", "backup-41", "openai/gpt-4.1"),
    ]


def messages(i: int) -> list[dict[str, str]]:
    # A per-request suffix defeats the embedder's LRU cache, as real traffic would.
    return [{"role": "user", "content": f"{PROMPTS[i % len(PROMPTS)]} (request {i})"}]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Lag:
    """Measures how late a 1 ms ticker wakes up: the event loop's responsiveness."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = asyncio.Event()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stop.is_set():
            start = loop.time()
            await asyncio.sleep(0.001)
            self.samples.append(max(0.0, (loop.time() - start - 0.001) * 1e3))

    def stop(self) -> None:
        self._stop.set()


DECIDE_MS: list[float] = []  # RouteIQ's own time inside sequential picks, from the stamped decision


def _note(metadata: dict[str, Any]) -> None:
    if "routeiq" in metadata:
        DECIDE_MS.append(metadata["routeiq"]["latency_ms"])


async def timed_async(router: Any, start: int, n: int) -> list[float]:
    out = []
    for i in range(start, start + n):
        metadata: dict[str, Any] = {}
        t = time.perf_counter()
        await router.acompletion(model="chat", messages=messages(i), metadata=metadata)
        out.append((time.perf_counter() - t) * 1e3)
        _note(metadata)
    return out


def timed_sync(router: Any, start: int, n: int) -> list[float]:
    out = []
    for i in range(start, start + n):
        metadata: dict[str, Any] = {}
        t = time.perf_counter()
        router.completion(model="chat", messages=messages(i), metadata=metadata)
        out.append((time.perf_counter() - t) * 1e3)
        _note(metadata)
    return out


async def picks_only(strategy: Any, start: int, n: int) -> list[float]:
    """Event-loop lag while ``n`` RouteIQ picks run concurrently, without LiteLLM's call path."""
    lag = Lag()
    ticker = asyncio.ensure_future(lag.run())
    await asyncio.gather(
        *(
            strategy.async_get_available_deployment(
                "chat", messages=messages(start + i), request_kwargs={"metadata": {}}
            )
            for i in range(n)
        )
    )
    lag.stop()
    await ticker
    return lag.samples


async def concurrent(router: Any, start: int, n: int) -> tuple[float, list[float], list[float]]:
    lag = Lag()
    ticker = asyncio.ensure_future(lag.run())
    metas = [{} for _ in range(n)]
    t = time.perf_counter()
    await asyncio.gather(
        *(
            router.acompletion(model="chat", messages=messages(start + i), metadata=metas[i])
            for i in range(n)
        )
    )
    wall = time.perf_counter() - t
    lag.stop()
    await ticker
    decide_ms = [m["routeiq"]["latency_ms"] for m in metas if "routeiq" in m]
    return wall, lag.samples, decide_ms


def glue(strategy: Any, router: Any, n: int = 300) -> tuple[float, float]:
    """Median ms of a whole sync pick vs the bare core decision, on one prompt (embedding cached)."""
    from routeiq_litellm._compat import group_deployments

    msgs = messages(7)
    core = strategy.engine.router_for(group_deployments(router, "chat"))
    pick_t, core_t = [], []
    for _ in range(n):
        t = time.perf_counter()
        strategy.get_available_deployment("chat", messages=msgs, request_kwargs={"metadata": {}})
        pick_t.append((time.perf_counter() - t) * 1e3)
        t = time.perf_counter()
        core.decide(messages=msgs)
        core_t.append((time.perf_counter() - t) * 1e3)
    return statistics.median(pick_t), statistics.median(core_t)


def row(name: str, base: list[float], riq: list[float]) -> str:
    mb, mr = statistics.median(base), statistics.median(riq)
    return (
        f"{name:<22} {mb:>9.2f} {mr:>9.2f} {statistics.mean(base):>9.2f} {statistics.mean(riq):>9.2f} "
        f"{mr - mb:>+10.2f} {mr / mb:>7.2f}x"
    )


async def main(args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    import litellm

    import routeiq_litellm
    from routeiq_litellm._compat import litellm_version

    print(
        f"litellm {litellm_version()} imported in {time.perf_counter() - t0:.1f}s; "
        f"python {sys.version.split()[0]}; {os.cpu_count()} CPUs"
    )
    shuffle = litellm.Router(model_list=model_list(), num_retries=0)
    routeiq = litellm.Router(model_list=model_list(), num_retries=0)
    t0 = time.perf_counter()
    strategy = routeiq_litellm.install(routeiq, embedder=args.embedder)
    print(f"install (incl. embedding-model load; embedder {args.embedder}): {time.perf_counter() - t0:.2f}s")

    # Warm-up: first calls build clients and caches on both sides.
    await timed_async(shuffle, 0, 20)
    await timed_async(routeiq, 0, 20)
    timed_sync(shuffle, 0, 10)
    timed_sync(routeiq, 0, 10)

    DECIDE_MS.clear()
    block = max(1, args.requests // args.rounds)
    seq = {"shuffle": [], "routeiq": []}
    sync = {"shuffle": [], "routeiq": []}
    for r in range(args.rounds):  # alternate so drift and noise hit both alike
        base = 1000 + r * block
        seq["shuffle"] += await timed_async(shuffle, base, block)
        seq["routeiq"] += await timed_async(routeiq, base, block)
        sync["shuffle"] += timed_sync(shuffle, base + 500_000, block)
        sync["routeiq"] += timed_sync(routeiq, base + 500_000, block)

    seq_decide = list(DECIDE_MS)
    walls = {"shuffle": [], "routeiq": []}
    lags: dict[str, list[float]] = {"shuffle": [], "routeiq": []}
    decide: list[float] = []
    for r in range(args.rounds):
        base = 100_000 + r * args.concurrency
        for name, router in (("shuffle", shuffle), ("routeiq", routeiq)):
            wall, lag, dec = await concurrent(router, base, args.concurrency)
            walls[name].append(wall)
            lags[name] += lag
            decide += dec
    pick_lag: list[float] = []
    for r in range(args.rounds):
        pick_lag += await picks_only(strategy, 200_000 + r * args.concurrency, args.concurrency)

    print(
        f"\n{args.rounds} rounds x {block} sequential requests per mode; {args.rounds} rounds x "
        f"{args.concurrency} concurrent requests"
    )
    print(
        f"{'ms per request':<22} {'shuffle':>9} {'routeiq':>9} {'shuffle':>9} {'routeiq':>9} "
        f"{'overhead':>10} {'ratio':>8}"
    )
    print(f"{'':<22} {'median':>9} {'median':>9} {'mean':>9} {'mean':>9} {'(median)':>10} {'':>8}")
    print(row("acompletion, sequential", seq["shuffle"], seq["routeiq"]))
    print(row("completion, sequential", sync["shuffle"], sync["routeiq"]))
    per_req = {k: [w / args.concurrency * 1e3 for w in v] for k, v in walls.items()}
    print(row(f"acompletion x{args.concurrency} (wall/n)", per_req["shuffle"], per_req["routeiq"]))
    for name in ("shuffle", "routeiq"):
        rps = args.concurrency / statistics.median(walls[name])
        print(
            f"  {name:<8} {args.concurrency} concurrent: median wall {statistics.median(walls[name]):.3f}s "
            f"= {rps:,.0f} req/s; event-loop lag p50 {pct(lags[name], 0.5):.2f} ms, "
            f"p99 {pct(lags[name], 0.99):.2f} ms, max {max(lags[name]):.2f} ms ({len(lags[name])} ticks)"
        )
    print(
        f"  routeiq  {args.concurrency} concurrent picks alone (no LLM call path): event-loop lag "
        f"p50 {pct(pick_lag, 0.5):.2f} ms, p99 {pct(pick_lag, 0.99):.2f} ms, max {max(pick_lag):.2f} ms "
        f"({len(pick_lag)} ticks)"
    )
    pick_ms, core_ms = glue(strategy, routeiq)
    print(
        f"RouteIQ decision time in sequential picks (embed + strategy): median {statistics.median(seq_decide):.2f} ms, "
        f"p99 {pct(seq_decide, 0.99):.2f} ms"
    )
    print(
        f"adapter glue (same prompt, embedding cached): pick {pick_ms:.3f} ms vs Router.decide {core_ms:.3f} ms "
        f"-> {pick_ms - core_ms:+.3f} ms for group lookup, cooldowns, mapping and stamping"
    )
    if decide:
        print(
            f"RouteIQ decision time under {args.concurrency} concurrent requests (incl. thread-pool queueing): "
            f"median {statistics.median(decide):.2f} ms, p99 {pct(decide, 0.99):.2f} ms"
        )
    ratio = statistics.median(seq["routeiq"]) / statistics.median(seq["shuffle"])
    print(
        f"\nRESULT per-request overhead (acompletion, sequential, median): "
        f"{statistics.median(seq['routeiq']) - statistics.median(seq['shuffle']):+.2f} ms; "
        f"RouteIQ / simple-shuffle = {ratio:.2f}x"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--requests", type=int, default=200, help="sequential requests per mode (total)"
    )
    parser.add_argument("--embedder", choices=("full", "static", "cascade"), default="full",
                        help="RouteIQ's embedder (default: full, the ONNX model)")
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=4)
    asyncio.run(main(parser.parse_args()))
