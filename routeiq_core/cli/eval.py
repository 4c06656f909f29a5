"""``routeiq eval``: train strategies on real data, decide on held-out prompts, report cost and quality.

Writes ``report.md``, ``results.json`` (every number), ``cost_quality.png`` and
``report.html`` (with the ``plot`` extra) into ``--out``.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any

from ..errors import ConfigError

FORMATS_HELP = "canonical, routerbench, llmrouter, routellm-mmlu, routellm-csv, mt-bench"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "eval",
        help="evaluate strategies on a routing data set (cost-quality curves, hull lift, APGR)",
        description="Train each strategy on the train part, decide on the test part with the router's "
        "choice rule, and compare with every single model, random routing and the oracle. Sweeps the "
        "cost weight for whole cost-quality curves. Embeddings are cached on disk.",
    )
    parser.add_argument("--data", required=True, type=Path, help="data file or folder (the train part with --test)")
    parser.add_argument("--test", type=Path, help="a separate test file (default: split --data)")
    parser.add_argument("--split", type=float, default=0.7, help="train fraction when there is no --test (default 0.7)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split, the random baseline and the strategies")
    parser.add_argument("--strategies", default="centroid",
                        help="comma-separated strategy names (default: centroid; see 'routeiq strategies list')")
    parser.add_argument("--profile", default="auto", help="profile whose cost weight is the operating point (default auto)")
    parser.add_argument("--out", required=True, type=Path, help="output directory for the report")
    parser.add_argument("--format", default=None, help=f"data format ({FORMATS_HELP}); default: detected")
    parser.add_argument("--prices", type=Path, help="model price table (JSON) for data without per-prompt costs")
    parser.add_argument("--on-error", choices=("skip", "raise"), default="skip",
                        help="malformed rows: skip them (listed with file:line) or stop (default skip)")
    parser.add_argument("--limit-train", type=int, help="use a seeded random sample of this many training prompts")
    parser.add_argument("--limit-test", type=int, help="use a seeded random sample of this many test prompts")
    parser.add_argument("--cache-dir", type=Path, help="embedding cache (default $ROUTEIQ_CACHE_DIR or ~/.cache/routeiq)")
    parser.add_argument("--no-plot", action="store_true", help="skip the PNG/HTML")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(func=_run)


def _load(path: Path, args: argparse.Namespace) -> Any:
    from ..datasets import DataRowWarning, load_dataset_report

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataRowWarning)  # listed below instead
        result = load_dataset_report(path, args.format, on_error=args.on_error, prices=args.prices)
    for problem in result.problems[:50]:
        print(f"routeiq: skipped {problem}", file=sys.stderr)
    if len(result.problems) > 50:
        print(f"routeiq: ... and {len(result.problems) - 50} more malformed rows", file=sys.stderr)
    for note in result.notes:
        print(f"routeiq: {note}", file=sys.stderr)
    return result.dataset


def _sample(dataset: Any, limit: int | None, seed: int) -> Any:
    import numpy as np

    if limit is None or limit >= len(dataset):
        return dataset
    if limit < 2:
        raise ConfigError(f"--limit-train/--limit-test must be at least 2, got {limit}")
    idx = np.sort(np.random.default_rng(seed).permutation(len(dataset))[:limit])
    return dataset.subset(idx)


def _run(args: argparse.Namespace) -> int:
    from ..evaluation import evaluate, write_report

    names = [s.strip() for s in args.strategies.split(",") if s.strip()]
    if not names:
        raise ConfigError("--strategies: give at least one strategy name, e.g. --strategies knn,mlp")
    data = _load(args.data, args)
    if args.test is not None:
        train, test = data, _load(args.test, args)
    else:
        train, test = data.split(args.split, seed=args.seed)
    train = _sample(train, args.limit_train, args.seed)
    test = _sample(test, args.limit_test, args.seed + 1)
    def log(msg: str) -> None:
        print(f"routeiq: {msg}", file=sys.stderr)
    result = evaluate(train, test, names, profile=args.profile, seed=args.seed, cache_dir=args.cache_dir,
                      progress=not args.no_progress, log=log)
    paths = write_report(result, args.out, plots=not args.no_plot)
    best = result.best
    print(f"{result.dataset}: {result.n_train} train / {result.n_test} test prompts; best single model "
          f"{best.name} (quality {best.quality:.4f}, cost {best.cost:.4g})")
    for s in result.strategies:
        if s.error:
            print(f"  {s.name:14s} failed: {s.error}")
            continue
        match = "not reached" if s.cost_to_match_best_pct is None else f"{s.cost_to_match_best_pct:.1f}%"
        extra = f"  APGR {s.routellm.apgr:.3f}" if s.routellm is not None else ""
        print(f"  {s.name:14s} quality {s.quality:.4f}  cost {s.cost:.4g}  hull lift {s.hull_lift:+.4f}  "
              f"cost to match best {match}{extra}")
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 1 if all(s.error for s in result.strategies) else 0
