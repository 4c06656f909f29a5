"""Requests per second through a real 2-worker LiteLLM proxy: simple-shuffle vs RouteIQ (full and static).

Starts ``litellm`` three times on loopback with the shipped example config (mock responses, no
network): without RouteIQ (LiteLLM's ``simple-shuffle``), with RouteIQ on the full ONNX model,
and with RouteIQ on the static embedder (``ROUTEIQ_EMBEDDER=static``). Each gets the same fixed
number of chat requests from an asyncio client with a fixed concurrency, after a warm-up, and
prints requests/s, client-side p50/p99 latency and the busiest worker's share of the requests
(RouteIQ's worker-pid header), in one run. Each request opens its own connection unless
``--keep-alive``.

    python benchmarks/proxy_load.py [--requests 600] [--concurrency 16] [--workers 2] [--rounds 1] [--keep-alive]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "litellm_proxy_config.yaml"
PROMPTS = ["hi!", "What is the capital of Japan?", "Write a Python function that merges two sorted lists.",
           "Prove that there are infinitely many primes.", "Translate 'good morning' into French.",
           "Summarise the plot of Hamlet in three sentences.", "Design a rate limiter for an API gateway."]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(variant: str, folder: Path) -> Path:
    import yaml

    config = yaml.safe_load(EXAMPLE.read_text())
    if variant == "shuffle":  # LiteLLM alone: its default routing, no RouteIQ hook
        config["router_settings"].pop("plugins", None)
        config["litellm_settings"].pop("callbacks", None)
        config["router_settings"]["routing_strategy"] = "simple-shuffle"
    path = folder / f"{variant}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


async def _load(base: str, key: str, n: int, concurrency: int, offset: int,
                keep_alive: bool = False) -> tuple[float, list[float], int, dict[str, int]]:
    """``n`` requests from ``concurrency`` clients: wall time, latencies, errors, and requests per worker
    (RouteIQ's ``x-routeiq-worker-pid`` header; ``?`` without RouteIQ)."""
    import httpx

    latencies: list[float] = []
    errors = 0
    per_worker: dict[str, int] = {}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(offset + i)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while not queue.empty():
            i = queue.get_nowait()
            body = {"model": "smart", "messages": [{"role": "user", "content": f"{PROMPTS[i % len(PROMPTS)]} #{i}"}]}
            t0 = time.perf_counter()
            r = await client.post("/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"})
            latencies.append((time.perf_counter() - t0) * 1e3)
            errors += r.status_code != 200
            pid = r.headers.get("x-routeiq-worker-pid", "?")
            per_worker[pid] = per_worker.get(pid, 0) + 1

    # Without keep-alive each request opens its own connection, so the workers share the load as
    # they accept; a burst of kept-alive connections is often all accepted by one worker (measured:
    # 600 of 600 requests to one of two workers), which halves the proxy's throughput at random.
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency if keep_alive else 0)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        wall = time.perf_counter() - t0
    return wall, latencies, errors, per_worker


def run_variant(variant: str, args: argparse.Namespace, folder: Path) -> dict[str, float]:
    import httpx

    port, key = _port(), "sk-" + secrets.token_hex(32)
    env = {**os.environ, "LITELLM_MASTER_KEY": key, "LITELLM_LOCAL_MODEL_COST_MAP": "True",
           "ROUTEIQ_LITELLM_CONFIG": str(_config(variant, folder)), "NO_PROXY": "127.0.0.1"}
    if variant == "routeiq-static":
        env["ROUTEIQ_EMBEDDER"] = "static"
    exe = Path(sys.executable).with_name("litellm")
    log = (folder / f"{variant}.log").open("wb")
    proc = subprocess.Popen([str(exe), "--config", env["ROUTEIQ_LITELLM_CONFIG"], "--host", "127.0.0.1", "--port",
                             str(port), "--num_workers", str(args.workers), "--timeout_worker_healthcheck", "120"],
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=folder)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health/readiness", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        else:
            raise SystemExit(f"{variant}: the proxy did not start; see {folder / (variant + '.log')}")
        asyncio.run(_load(base, key, 4 * args.concurrency, args.concurrency, 0, args.keep_alive))  # warm-up
        wall, latencies, errors, per_worker = asyncio.run(
            _load(base, key, args.requests, args.concurrency, 10_000, args.keep_alive))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
    ordered = sorted(latencies)
    return {"rps": args.requests / wall, "p50": statistics.median(ordered),
            "p99": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], "errors": errors,
            "busiest": max(per_worker.values()) / args.requests if "?" not in per_worker else float("nan")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1,
                        help="run the three variants this many times, in turn (a busy machine moves shuffle "
                        "alone by tens of percent between runs); each round's ratios and the median are printed")
    parser.add_argument("--keep-alive", action="store_true",
                        help="reuse connections (one worker often accepts them all; see _load)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="routeiq-load-"))
    variants = ("shuffle", "routeiq-full", "routeiq-static")
    rounds = [{v: run_variant(v, args, folder) for v in variants} for _ in range(max(1, args.rounds))]
    print(f"{args.requests} requests, concurrency {args.concurrency}, {args.workers} workers, {os.cpu_count()} CPUs")
    print(f"{'round':<6} {'variant':<16} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'vs shuffle':>11} "
          f"{'busiest worker':>15}")
    for i, results in enumerate(rounds, start=1):
        for name, r in results.items():
            print(f"{i:<6} {name:<16} {r['rps']:>8.1f} {r['p50']:>8.1f} {r['p99']:>8.1f} {int(r['errors']):>7} "
                  f"{r['rps'] / results['shuffle']['rps']:>10.2f}x "
                  f"{'-' if math.isnan(r['busiest']) else format(r['busiest'], '.0%'):>15}")
    if len(rounds) > 1:
        for name in variants[1:]:
            ratios = [r[name]["rps"] / r["shuffle"]["rps"] for r in rounds]
            print(f"median {name} / shuffle over {len(rounds)} rounds: {statistics.median(ratios):.2f}x "
                  f"(each: {', '.join(f'{x:.2f}x' for x in ratios)})")


if __name__ == "__main__":
    main()
