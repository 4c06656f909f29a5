"""``routeiq calibrate``: find the cost weight that meets a target and store it in the artifact.

    routeiq calibrate --artifact knn-model --data routerbench.pkl --quality 0.98
    routeiq calibrate --artifact mlp-model --data data.jsonl --max-cost 2.50 --per 1000
    routeiq calibrate --artifact mf-model --data mmlu.csv --strong-share 0.3

The artifact's strategy (same class and parameters) is trained once per fold on held-out
folds of ``--data``; ``Router.from_artifact(DIR)`` then routes its calibrated profile
(``--profile``, default ``auto``) at the stored cost weight.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .eval import FORMATS_HELP


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "calibrate",
        help="find the cost weight that meets a quality, cost or strong-share target; store it in the artifact",
        description="Cross-validate the artifact's strategy on a routing data set, score every cost weight of a "
        "fine sweep by the quality and cost its choices realise on held-out folds, and store the cheapest "
        "weight that meets the target (with what it achieved and a bootstrap interval) in the artifact.",
    )
    parser.add_argument("--artifact", required=True, type=Path, help="artifact directory from 'routeiq train'")
    parser.add_argument("--data", required=True, type=Path, help="data file or folder (any format 'routeiq eval' reads)")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--quality", type=float, metavar="SHARE",
                        help="at least this share of the best single model's quality (0.98 = 98%%)")
    target.add_argument("--max-cost", type=float, metavar="USD", help="at most this mean cost (see --per)")
    target.add_argument("--strong-share", type=float, metavar="SHARE",
                        help="two-model data: at most this share of requests to the strong model (as RouteLLM)")
    parser.add_argument("--per", type=float, default=1.0, metavar="N",
                        help="--max-cost is per N requests (default 1; 1000 for USD per 1,000 requests)")
    parser.add_argument("--profile", default="auto", help="the profile that gets the weight (default auto)")
    parser.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the folds and the bootstrap (default 0)")
    parser.add_argument("--bootstrap", type=int, default=200, metavar="N",
                        help="resamples for the 95%% intervals (default 200; 0 for none)")
    parser.add_argument("--confidence", type=float, default=0.9, metavar="SHARE",
                        help="meet the target with this one-sided bootstrap confidence, so that it holds on new "
                        "prompts too (default 0.9; 0: the point estimate)")
    parser.add_argument("--out", type=Path, help="write the calibrated artifact here (default: update --artifact)")
    parser.add_argument("--format", default=None, help=f"data format ({FORMATS_HELP}); default: detected")
    parser.add_argument("--prices", type=Path, help="model price table (JSON) for data without per-prompt costs")
    parser.add_argument("--models", help="comma-separated model columns to keep (default: all)")
    parser.add_argument("--cache-dir", type=Path, help="embedding cache (default $ROUTEIQ_CACHE_DIR or ~/.cache/routeiq)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--json", action="store_true", help="print the calibration as JSON")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from .._artifacts import read_artifact, write_artifact
    from .._persist import load_strategy
    from ..datasets import load_dataset
    from ..evaluation.calibration import calibrate, describe_target
    from .plugins import loaded_registry

    registry = loaded_registry()
    manifest, arrays = read_artifact(args.artifact)
    strategy = load_strategy(args.artifact, registry=registry)  # checks the artifact before any data is read
    embedder = embedder_for(manifest.get("embedding_model"))
    dataset = load_dataset(args.data, args.format, prices=args.prices)
    if args.models:
        dataset = dataset.select_models([m.strip() for m in args.models.split(",") if m.strip()])
    cal = calibrate(dataset, strategy, quality=args.quality, max_cost=args.max_cost, per=args.per,
                    strong_share=args.strong_share, folds=args.folds, seed=args.seed, bootstrap=args.bootstrap,
                    confidence=args.confidence, profile=args.profile, embedder=embedder, cache_dir=args.cache_dir, registry=registry,
                    progress=not args.no_progress and not args.json)
    manifest["calibration"] = cal.to_dict()
    out = write_artifact(args.out or args.artifact, manifest, arrays)
    if args.json:
        print(json.dumps({**cal.to_dict(), "artifact": str(out)}, indent=2))
        return 0
    ci = (f" [{cal.share_of_best_ci[0]:.1%}, {cal.share_of_best_ci[1]:.1%}]" if cal.share_of_best_ci else "")
    cost_ci = f" [{cal.cost_ci[0]:.6g}, {cal.cost_ci[1]:.6g}]" if cal.cost_ci else ""
    strong = f", {cal.strong_share:.1%} to the strong model" if cal.strong_share is not None else ""
    print(f"calibrated {strategy.name!r} on {cal.n} prompts ({cal.folds} folds): {describe_target(cal)}\n"
          f"  achieved (out of fold): quality {cal.quality:.4f} = {cal.share_of_best:.1%}{ci} of {cal.best_model}, "
          f"mean cost {cal.cost:.6g}{cost_ci} per request ({cal.cost / cal.cost_of_best:.0%} of its cost){strong}\n"
          f"  profile {cal.profile!r} of Router.from_artifact({str(out)!r}) routes at this weight", file=sys.stdout)
    return 0


def embedder_for(embedding_model: Any) -> Any:
    """The shipped embedder an artifact was trained with (the full model unless it names the static table)."""
    from .._building import named_embedder

    full = named_embedder("full")
    if embedding_model in (None, full.model_id):
        return full
    static = named_embedder("static")
    return static if embedding_model == static.model_id else full  # load_strategy has refused any other
