"""How much faster is a second `routeiq eval` on the same data? (the on-disk embedding cache)

Runs the same evaluation twice, each in a fresh process (so no in-memory cache helps),
against an empty temporary cache folder, and prints both wall times and their ratio.
The first run embeds every prompt; the second reads the vectors from disk.

    python benchmarks/eval_cache.py [--data ../shared/data/llmrouter/test.json] [--strategies knn]
        [--markdown note.md]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(os.environ.get("ROUTEIQ_SHARED_DATA", REPO / ".." / "shared" / "data")) / "llmrouter" / "test.json"


def timed_eval(data: Path, strategies: str, cache: Path, out: Path) -> float:
    cmd = [sys.executable, "-m", "routeiq_core", "eval", "--data", str(data), "--split", "0.7", "--seed", "0",
           "--strategies", strategies, "--out", str(out), "--cache-dir", str(cache), "--no-progress", "--no-plot"]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"routeiq eval failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--strategies", default="knn")
    parser.add_argument("--markdown", type=Path, help="also write a one-paragraph Markdown note here")
    args = parser.parse_args()
    if not args.data.exists():
        print(f"data not found: {args.data}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="routeiq-cache-bench-") as tmp:
        cache, out = Path(tmp) / "cache", Path(tmp) / "out"
        first = timed_eval(args.data, args.strategies, cache, out)
        second = timed_eval(args.data, args.strategies, cache, out)
        shards = len(list(cache.rglob("shard-*.npz")))
    ratio = first / second
    print(f"data: {args.data} (strategies: {args.strategies})")
    print(f"first run (empty cache):  {first:7.1f} s")
    print(f"second run (warm cache):  {second:7.1f} s")
    print(f"speed-up: {ratio:.1f}x ({shards} cache shard files)")
    if args.markdown:
        args.markdown.write_text(
            f"`benchmarks/eval_cache.py` on `{args.data.name}` (70/30 split, strategies `{args.strategies}`), each "
            f"run a fresh `routeiq eval` process with an initially empty cache folder: first run {first:.1f} s, "
            f"second run {second:.1f} s, **{ratio:.1f}x faster** (the second run embeds nothing).\n",
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
