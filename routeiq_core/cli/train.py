"""``routeiq train``: fit a strategy on a routing data set and save it as an artifact.

The artifact (``manifest.json`` + ``arrays.npz``, no pickle) records the strategy,
its parameters and the embedding model; ``Router.from_artifact(DIR)`` loads it and
refuses one trained with another embedding model or artifact format version.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from ..errors import ConfigError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "train",
        help="train a strategy on a routing data set and save the artifact",
        description="Load a routing data set (any format 'routeiq eval' reads), embed its prompts "
        "(disk cache; a progress bar shows new embeddings), fit the strategy and write an artifact "
        "directory for Router.from_artifact(DIR).",
    )
    parser.add_argument("--strategy", required=True, help="registered strategy name (see 'routeiq strategies list')")
    parser.add_argument("--data", type=Path, help="data file or folder (or --from-log)")
    parser.add_argument("--from-log", metavar="URL",
                        help="train on the decision log instead: logged embeddings and the outcome of the served "
                        "candidate (partial feedback; strategies that need several models' outcomes per prompt "
                        "are refused)")
    parser.add_argument("--since", help="with --from-log: only decisions newer than 30m, 2h, 7d, an ISO date")
    parser.add_argument("--format", default=None,
                        help="data format (canonical, routerbench, llmrouter, routellm-mmlu, routellm-csv, "
                        "mt-bench); default: detected")
    parser.add_argument("--out", required=True, type=Path, help="artifact directory to write")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                        help="a strategy hyper-parameter (VALUE is read as JSON when it parses, else as text); "
                        "repeatable")
    parser.add_argument("--prices", help="model price table (JSON) for data without per-prompt costs")
    parser.add_argument("--models", help="comma-separated model columns to keep (default: all)")
    parser.add_argument("--limit", type=int, help="train on a seeded random sample of this many prompts")
    parser.add_argument("--seed", type=int, default=0, help="seed of the --limit sample (default 0)")
    parser.add_argument("--embedder", default="default", help="registered embedder name (default: the shipped model)")
    parser.add_argument("--cache-dir", type=Path,
                        help="embedding cache (default $ROUTEIQ_CACHE_DIR or ~/.cache/routeiq)")
    parser.add_argument("--tune", action="store_true",
                        help="search the strategy's main hyper-parameters first (cross-validated; the trials are "
                        "recorded in the artifact); --param values stay fixed")
    parser.add_argument("--budget", type=int, default=8, metavar="N",
                        help="with --tune: settings to try, the defaults included (default 8)")
    parser.add_argument("--tune-folds", type=int, default=3, metavar="K", help="with --tune: folds (default 3)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(func=_run)


def parse_params(items: list[str]) -> dict[str, Any]:
    """``["k=5", "metric=cosine"]`` -> ``{"k": 5, "metric": "cosine"}``."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--param {item!r}: expected KEY=VALUE, e.g. --param k=10")
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        out[key.strip()] = value
    return out


def _from_log(args: argparse.Namespace, strategy: Any) -> Any:
    """The partial-feedback data set of a decision log, for a strategy that can learn from it."""
    from ..decisionlog import LogFilter, iter_log, open_log
    from ..decisionlog._training import dataset_from_log
    from .log import parse_since

    if not strategy.tags.requires_fit:
        raise ConfigError(f"strategy {strategy.name!r} has nothing to train" + (
            "; it learns online from Router.feedback()" if strategy.tags.online else ""))
    if getattr(strategy, "partial_feedback", None) is False:
        raise ConfigError(f"strategy {strategy.name!r} cannot train on the decision log: it compares several "
                          "models' outcomes on the same prompt, and the log knows only the served one's. Use a "
                          "per-model strategy (knn, mlp, svm, gmt, graph, personalized) or a full data set (--data)")
    log = open_log(args.from_log)
    return dataset_from_log(iter_log(log, LogFilter(since=parse_since(args.since), with_feedback=True)),
                            name=log.url)


def _log(args: argparse.Namespace, message: str) -> None:
    if not args.json:
        print(message, file=sys.stderr, flush=True)


def _run(args: argparse.Namespace) -> int:
    import numpy as np

    from .._embedding_cache import embed_dataset
    from ..datasets import load_dataset
    from .plugins import loaded_registry

    registry = loaded_registry()
    # Fail on a bad name or bad parameters before reading any data.
    strategy = registry.create(args.strategy, parse_params(args.param))
    if args.limit is not None and args.limit < 2:
        raise ConfigError(f"--limit must be at least 2, got {args.limit}")

    t0 = time.perf_counter()
    if (args.data is None) == (args.from_log is None):
        raise ConfigError("routeiq train needs exactly one of --data FILE and --from-log URL")
    if args.tune and args.from_log is not None:
        raise ConfigError("--tune needs a full data set (--data): it compares settings on held-out prompts")
    if args.from_log is not None:
        dataset = _from_log(args, strategy)
    else:
        dataset = load_dataset(args.data, args.format, prices=args.prices)
    if args.models:
        dataset = dataset.select_models([m.strip() for m in args.models.split(",") if m.strip()])
    if args.limit is not None and args.limit < len(dataset):
        pick = np.random.default_rng(args.seed).choice(len(dataset), size=args.limit, replace=False)
        dataset = dataset.subset(np.sort(pick))
    t_load = time.perf_counter() - t0
    source = args.data if args.data is not None else dataset.name
    _log(args, f"loaded {len(dataset)} prompts x {dataset.n_models} models from {source} ({t_load:.1f} s)")

    t1 = time.perf_counter()
    if strategy.tags.needs_embedding and dataset.embeddings is None:
        embedder = registry.create_embedder(args.embedder)
        dataset = embed_dataset(dataset, embedder, args.cache_dir, progress=not args.no_progress and not args.json)
    t_embed = time.perf_counter() - t1

    tuning = None
    if args.tune:
        from ..evaluation.tuning import tune

        tuning = tune(dataset, args.strategy, budget=args.budget, folds=args.tune_folds, seed=args.seed,
                      params=parse_params(args.param), registry=registry, cache_dir=args.cache_dir,
                      log=None if args.json else (lambda message: _log(args, message)))
        strategy = registry.create(args.strategy, tuning.best)
        _log(args, f"tuned: {tuning.best}")
    _log(args, f"fitting {strategy!r} ...")
    t2 = time.perf_counter()
    try:
        strategy.fit(dataset)
    except Exception as exc:
        if args.from_log is None:
            raise
        from ..errors import describe_error

        raise ConfigError(f"strategy {strategy.name!r} could not train on the decision log's partial feedback "
                          f"({describe_error(exc)})") from None
    t_fit = time.perf_counter() - t2
    strategy.save(args.out)
    if tuning is not None:  # the trials go into the manifest, beside the parameters they chose
        from .._artifacts import read_artifact, write_artifact

        manifest, arrays = read_artifact(args.out)
        manifest["tuning"] = tuning.to_dict()
        write_artifact(args.out, manifest, arrays)

    summary = {
        "strategy": strategy.name,
        "params": strategy.params.model_dump(mode="json"),
        "data": str(source),
        "prompts": len(dataset),
        "models": list(dataset.models),
        "embedding_model": getattr(strategy, "embedding_model_", None),
        "out": str(args.out),
        "seconds": {"load": round(t_load, 3), "embed": round(t_embed, 3), "fit": round(t_fit, 3)},
        "tuning": tuning.to_dict() if tuning is not None else None,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"trained {strategy.name!r} on {len(dataset)} prompts x {dataset.n_models} models "
              f"(embed {t_embed:.1f} s, fit {t_fit:.1f} s) -> {args.out}\n"
              f"use it with: Router.from_artifact({str(args.out)!r})")
    return 0
