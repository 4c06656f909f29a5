"""Hyper-parameter search: a budgeted, cross-validated search of a strategy's main parameters.

``routeiq train --tune`` (and :func:`tune`) tries up to ``budget`` settings drawn (seeded, without
repeats) from the strategy's search space, the default settings always first. Each setting is
scored out of fold, the way :func:`~routeiq_core.evaluation.calibration.calibrate` measures: the
strategy trained ``folds`` times, each time without one fold, predicting that fold; its score is
the hull lift of the cost-quality curve those predictions realise (what ``results.md`` reports),
the cost to match the best single model breaking ties. The best setting trains the artifact, and
every trial is recorded in the artifact's manifest under ``tuning``.

A strategy declares its space as ``tuning_space`` (parameter -> values); the built-ins' spaces are
below. A stack tunes each of its bases in turn and stores the winners in ``base_params``.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._dataset import RoutingDataset
from ..errors import ConfigError
from . import metrics as M
from .calibration import _queries, _scorable, fold_predictions
from .harness import _curve, default_cost_weights

__all__ = ["SPACES", "Trial", "TuningResult", "search_space", "tune"]

#: The built-in strategies' main hyper-parameters and the values tried.
SPACES: dict[str, dict[str, tuple[Any, ...]]] = {
    "knn": {"k": (5, 10, 20, 40, 80), "weighting": ("uniform", "similarity"), "shrinkage": (0.0, 1.0, 5.0)},
    "mlp": {"hidden": ((128, 64), (64,), (256, 128)), "weight_decay": (1e-5, 1e-4, 1e-3), "epochs": (30, 60)},
    "svm": {"c": (0.1, 0.3, 1.0, 3.0, 10.0)},
    "mf": {"hidden": (32, 64, 128), "weight_decay": (1e-6, 1e-5, 1e-4), "epochs": (4, 8, 16)},
    "elo": {"groups": ("none", "cluster"), "n_clusters": (4, 8, 16)},
    "routerdc": {"latent_dim": (64, 128), "temperature": (0.1, 0.2, 0.5)},
    "graph": {"hidden_dim": (32, 64), "steps": (300, 600, 1200)},
    "personalized": {},
}
MAX_BUDGET = 200
#: The cost weights a trial's curve is traced at: ``evaluate``'s default sweep, its non-negative part.
_WEIGHTS = default_cost_weights()[default_cost_weights() >= 0]


@dataclass(frozen=True)
class Trial:
    params: dict[str, Any]
    hull_lift: float
    cost_to_match_pct: float | None
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {"params": self.params, "hull_lift": self.hull_lift, "cost_to_match_pct": self.cost_to_match_pct,
                "seconds": round(self.seconds, 3)}


@dataclass
class TuningResult:
    strategy: str
    best: dict[str, Any]
    trials: list[Trial]
    folds: int
    seed: int
    budget: int
    per_base: dict[str, TuningResult] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"strategy": self.strategy, "best": self.best, "folds": self.folds, "seed": self.seed,
                               "budget": self.budget, "trials": [t.to_dict() for t in self.trials]}
        if self.per_base:
            out["bases"] = {name: r.to_dict() for name, r in self.per_base.items()}
        return out


def search_space(strategy_cls: type) -> dict[str, tuple[Any, ...]]:
    """The values ``--tune`` tries per parameter: the class's ``tuning_space``, else the built-in table."""
    own = getattr(strategy_cls, "tuning_space", None)
    if isinstance(own, Mapping):
        return {str(k): tuple(v) for k, v in own.items()}
    return dict(SPACES.get(getattr(strategy_cls, "name", ""), {}))


def tune(dataset: RoutingDataset, strategy: str, *, budget: int = 8, folds: int = 3, seed: int = 0,
         params: Mapping[str, Any] | None = None, registry: Any = None, embedder: Any = None, cache_dir: Any = None,
         log: Any = None) -> TuningResult:
    """Search ``strategy``'s space with ``budget`` settings (module docstring); ``params`` are kept fixed."""
    if isinstance(budget, bool) or not isinstance(budget, int) or not 1 <= budget <= MAX_BUDGET:
        raise ConfigError(f"--tune budget: expected a number of settings to try from 1 to {MAX_BUDGET} (8 is a "
                          f"quick search), got {budget!r}; without tuning, leave --tune out")
    if registry is None:
        from .._registry import default_registry

        registry = default_registry()
    cls = registry.get(strategy)
    fixed = dict(params or {})
    if strategy == "stack":
        return _tune_stack(dataset, cls, budget=budget, folds=folds, seed=seed, fixed=fixed, registry=registry,
                           embedder=embedder, cache_dir=cache_dir, log=log)
    space = {k: v for k, v in search_space(cls).items() if k not in fixed}
    if not space:
        raise ConfigError(f"strategy {strategy!r} has no tuning space (set tuning_space on the class, or pass "
                          "--param instead of --tune)")
    data, queries, candidates = _queries(_scorable(dataset), embedder, cache_dir, False)
    trials = []
    for setting in _settings(space, budget, seed):
        values = {**fixed, **setting}
        t0 = time.perf_counter()
        lift, match = _score(data, queries, candidates, registry.create(strategy, values), folds, seed)
        trials.append(Trial(values, lift, match, time.perf_counter() - t0))
        if log is not None:
            log(f"tune {strategy} {setting}: hull lift {lift:+.4f}, cost to match "
                f"{'-' if match is None else f'{match:.0f}%'}")
    best = max(trials, key=lambda t: (t.hull_lift, -(t.cost_to_match_pct if t.cost_to_match_pct is not None
                                                      else float("inf"))))
    return TuningResult(strategy, best.params, trials, folds, seed, budget)


def _tune_stack(dataset: RoutingDataset, cls: type, *, budget: int, folds: int, seed: int, fixed: dict[str, Any],
                registry: Any, embedder: Any, cache_dir: Any, log: Any) -> TuningResult:
    bases = tuple(fixed.get("bases") or cls.Params().bases)  # type: ignore[attr-defined]
    per_base = {name: tune(dataset, name, budget=budget, folds=folds, seed=seed, registry=registry, embedder=embedder,
                           cache_dir=cache_dir, log=log) for name in bases if search_space(registry.get(name))}
    base_params = {**fixed.get("base_params", {}), **{name: r.best for name, r in per_base.items()}}
    return TuningResult("stack", {**fixed, "base_params": base_params}, [], folds, seed, budget, per_base)


def _settings(space: Mapping[str, Sequence[Any]], budget: int, seed: int) -> list[dict[str, Any]]:
    """The class defaults first (no override: tuning never returns a setting scored below them), then
    a seeded sample of the grid without repeats."""
    names = sorted(space)
    grid = [dict(zip(names, combo)) for combo in itertools.product(*(space[n] for n in names))]
    order = np.random.default_rng(seed).permutation(len(grid))
    picked: list[dict[str, Any]] = [{}]  # the defaults, so tuning never returns worse than not tuning
    for i in order:
        if len(picked) >= budget:
            break
        picked.append(grid[int(i)])
    return picked[:budget]


def _score(data: RoutingDataset, queries: list[Any], candidates: list[Any], strategy: Any, folds: int,
           seed: int) -> tuple[float, float | None]:
    qhat, chat = fold_predictions(data, queries, candidates, strategy, folds=folds, seed=seed)
    quality, cost = data.scores, data.cost_matrix()
    curve_c, curve_q = _curve(qhat, chat, quality, cost, _WEIGHTS)
    single_q, single_c = quality.mean(axis=0), cost.mean(axis=0)
    lift = float(M.hull_lift(curve_c, curve_q, single_c, single_q)[0])
    best = int(np.lexsort((single_c, -single_q))[0])
    match = M.cost_to_reach(curve_c, curve_q, float(single_q[best]))
    pct = 100.0 * match / float(single_c[best]) if match is not None and single_c[best] > 0 else None
    return lift, pct
