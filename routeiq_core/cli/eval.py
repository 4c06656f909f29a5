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
    parser.add_argument("--data", type=Path, help="data file or folder (the train part with --test)")
    parser.add_argument("--test", type=Path, help="a separate test file (default: split --data)")
    parser.add_argument("--split", type=float, default=0.7, help="train fraction when there is no --test (default 0.7)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split, the random baseline and the strategies")
    parser.add_argument("--strategies", default="centroid",
                        help="comma-separated strategy names (default: centroid; see 'routeiq strategies list')")
    parser.add_argument("--profile", default="auto", help="profile whose cost weight is the operating point (default auto)")
    parser.add_argument("--out", type=Path, help="output directory for the report (required with --data)")
    parser.add_argument("--format", default=None, help=f"data format ({FORMATS_HELP}); default: detected")
    parser.add_argument("--prices", type=Path, help="model price table (JSON) for data without per-prompt costs")
    parser.add_argument("--on-error", choices=("skip", "raise"), default="skip",
                        help="malformed rows: skip them (listed with file:line) or stop (default skip)")
    parser.add_argument("--limit-train", type=int, help="use a seeded random sample of this many training prompts")
    parser.add_argument("--limit-test", type=int, help="use a seeded random sample of this many test prompts")
    parser.add_argument("--cache-dir", type=Path, help="embedding cache (default $ROUTEIQ_CACHE_DIR or ~/.cache/routeiq)")
    parser.add_argument("--bootstrap", type=int, default=0, metavar="N",
                        help="resample the test prompts N times for 95%% intervals of hull lift, cost to match "
                        "and quality (default 0: none; 200 is plenty)")
    parser.add_argument("--embedder", choices=("full", "static", "cascade"), default="full",
                        help="embed with the full ONNX model (default), the static table, or the cascade (static, "
                        "the full model for the category when it is uncertain)")
    parser.add_argument("--no-plot", action="store_true", help="skip the PNG/HTML")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    logged = parser.add_argument_group(
        "off-policy evaluation on the decision log",
        "--from-log URL estimates, from logged decisions and their feedback, the quality and cost that "
        "another router (--strategies NAME, --artifact DIR, --profile P, --config FILE) would have had "
        "(IPS, SNIPS and doubly-robust estimators with 95%% intervals).")
    logged.add_argument("--from-log", metavar="URL", help="a decision log (sqlite:///..., postgresql://...)")
    logged.add_argument("--artifact", metavar="DIR", help="a trained strategy to evaluate (with --from-log)")
    logged.add_argument("--candidates", metavar="FILE", help="the candidates the log routed among (with --from-log; "
                        "default: the config's or the built-in catalog)")
    logged.add_argument("--config", metavar="FILE", help="a router config for the target router (with --from-log)")
    logged.add_argument("--since", help="only decisions newer than this: 30m, 2h, 7d, an ISO date (with --from-log)")
    logged.add_argument("--json", action="store_true", help="print JSON (with --from-log)")
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


def _run_from_log(args: argparse.Namespace) -> int:
    import json

    from .._config import RouterConfig
    from .._router import Router
    from .._settings import effective_config, settings_with_config
    from ..decisionlog import LogFilter, iter_log, open_log
    from ..decisionlog._offpolicy import evaluate_policy
    from .log import parse_since

    names = [s.strip() for s in args.strategies.split(",") if s.strip()]
    if len(names) != 1:
        raise ConfigError("--from-log evaluates one target: give one --strategies name (or --artifact DIR)")
    explicit = {"candidates": args.candidates, "artifact": args.artifact, "strategy": names[0]}
    config: RouterConfig
    config, _ = effective_config(settings=settings_with_config(args.config), explicit=explicit)
    target = Router.from_config(config.model_copy(update={"log": None, "exploration": None}))
    log = open_log(args.from_log)
    rows = list(iter_log(log, LogFilter(since=parse_since(args.since), with_feedback=True)))
    result = evaluate_policy(target, rows, profile=args.profile)
    result.update(log=log.url, target={"strategy": target.strategy.name, "profile": args.profile,
                                       "artifact": args.artifact})
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{log.url}: {result['decisions_with_outcome']} decisions with an outcome; target: strategy "
          f"{target.strategy.name}, profile {args.profile}" + (f", artifact {args.artifact}" if args.artifact else ""))
    if "quality" in result:
        print(f"  the target agrees with the served choice on {result['matched']}; {result['explored']} were explored")
        for warning in result.get("warnings", []):
            print(f"  warning: {warning}")
    for metric in ("quality", "cost"):
        if metric not in result:
            continue
        logged_value = result[metric]["logged"]
        print(f"  {metric:<8} logged {logged_value['value']:.6g}")
        for name in ("ips", "snips", "dr"):
            e = result[metric][name]
            print(f"  {'':<8} {name:<6} {e['value']:.6g}  (95% {e['low']:.6g} .. {e['high']:.6g}, n={e['n']})")
    return 0


def _run(args: argparse.Namespace) -> int:
    from ..evaluation import evaluate, write_report
    from ..evaluation.report import interval_text, match_interval_text

    if args.from_log is not None:
        return _run_from_log(args)
    if args.data is None or args.out is None:
        raise ConfigError("routeiq eval needs --data FILE and --out DIR (or --from-log URL for off-policy evaluation)")

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
    from .._building import named_embedder

    result = evaluate(train, test, names, profile=args.profile, seed=args.seed, cache_dir=args.cache_dir,
                      progress=not args.no_progress, log=log, embedder=named_embedder(args.embedder),
                      bootstrap=args.bootstrap)
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
        lift = interval_text(s.hull_lift_ci, "{:+.4f}")
        print(f"  {s.name:14s} quality {s.quality:.4f}  cost {s.cost:.4g}  hull lift {s.hull_lift:+.4f}{lift}  "
              f"cost to match best {match}{match_interval_text(s)}{extra}")
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 1 if all(s.error for s in result.strategies) else 0
