"""What sessions and experiments cost on the request path, measured in one run on the same inputs.

decide() p50 / p99 for: nothing; sessions on the in-memory store; sessions on a real local
redis-server (started here on a free port, if the binary is installed); an experiment with two
served arms; the same experiment plus a shadow arm (the shadow runs on a background thread;
the served request does not wait for it). Every decide() runs the real forward pass (no
embedding cache); the variants decide each prompt back to back, so drift hits them alike.

    python benchmarks/sessions_experiments.py [--n 300] [--rounds 5]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import warnings


def _redis() -> tuple[subprocess.Popen[bytes], str] | None:
    binary = shutil.which("redis-server")
    if binary is None:
        return None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir",
                             tempfile.mkdtemp()], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    return proc, f"redis://127.0.0.1:{port}/0"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    from routeiq_core import OnnxEmbedder, Router
    from routeiq_core._sessions import Sessions
    from routeiq_core.experiments import Experiments
    from routeiq_core.state import open_store

    embedder = OnnxEmbedder(cache_size=0)
    embedder.load()
    served_arms = {"name": "e", "unit": "user", "arms": [{"name": "a"}, {"name": "b", "profile": "eco"}]}
    with_shadow = {**served_arms, "arms": [*served_arms["arms"], {"name": "s", "shadow": True, "profile": "premium"}]}
    variants = {
        "off": Router(embedder=embedder),
        "sessions (memory)": Router(embedder=embedder, extensions=[Sessions()]),
        "experiment, 2 arms": Router(embedder=embedder, extensions=[Experiments([served_arms])]),
        "experiment + shadow": Router(embedder=embedder, extensions=[Experiments([with_shadow])], log="memory://"),
    }
    server = _redis()
    if server is not None:
        variants["sessions (redis)"] = Router(embedder=embedder, extensions=[Sessions(open_store(server[1]))])
    texts = [f"Question {i}: what is the capital of country number {i}?" for i in range(args.n)]
    metadata = [{"session_id": f"s{i % 50}", "user": f"u{i % 50}"} for i in range(args.n)]
    times: dict[str, list[float]] = {k: [] for k in variants}
    for router in variants.values():
        for t, m in zip(texts[:20], metadata[:20]):
            router.decide(t, metadata=m)
    for _ in range(args.rounds):
        for t, m in zip(texts, metadata):  # every variant on the same prompt, back to back
            for name, router in variants.items():
                t0 = time.perf_counter()
                router.decide(t, metadata=m)
                times[name].append((time.perf_counter() - t0) * 1e3)
    base = statistics.median(times["off"])
    print(f"decide() with sessions and experiments ({args.n} prompts x {args.rounds} rounds, 50 sessions/users)")
    for name, values in times.items():
        ordered = sorted(values)
        p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
        print(f"   {name:<22} p50 {statistics.median(values):6.3f} ms  p99 {p99:6.3f} ms  "
              f"ratio to off {statistics.median(values) / base:.3f}")
    shadowed = variants["experiment + shadow"]
    print(f"   shadow decisions made in the background: {shadowed.counters.get('shadow_decisions')}, dropped "
          f"{shadowed.counters.get('shadow_dropped')}")
    if server is None:
        print("   (redis-server not installed: the Redis row is missing)")
    else:
        server[0].terminate()


if __name__ == "__main__":
    main()
