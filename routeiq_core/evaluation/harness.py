"""Train strategies on one part of a data set, decide on the other, and measure cost and quality.

The choice rule is the router's own (``_profiles.select_many``): each strategy
predicts quality per candidate; the cost per candidate is the strategy's
``Estimate.cost`` when it gives one, else the training part's mean cost of that
model. Sweeping the cost weight (the willingness-to-pay knob) traces a strategy's
cost-quality curve; the profile's cost weight gives its operating point. What a
choice *realises* is the data's true quality and cost for that prompt and model.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._candidates import Candidate
from .._dataset import RoutingDataset
from .._profiles import BUILTIN_PROFILES, select_many
from .._strategy import BaseStrategy, Query
from ..errors import ConfigError, DatasetError, RouteIQWarning
from . import metrics as M

__all__ = [
    "Baseline",
    "EvaluationResult",
    "StrategyResult",
    "bootstrap_intervals",
    "candidates_for",
    "default_cost_weights",
    "evaluate",
]

StrategyLike = str | BaseStrategy | type


#: The most bootstrap resamples ``evaluate`` accepts.
MAX_BOOTSTRAP = 10_000


def default_cost_weights() -> np.ndarray:
    """The sweep of the cost-weight knob: 0, and ±10^-3 .. 10^1.5 (negative = pay for more)."""
    pos = np.logspace(-3, 1.5, 46)
    return np.unique(np.concatenate([-pos, [0.0], pos]))


# ---------------------------------------------------------------------------- results
@dataclass
class Baseline:
    """A fixed policy: a single model, random, or the oracle."""

    name: str
    quality: float
    cost: float
    kind: str  # "model" | "random" | "oracle"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "quality": self.quality, "cost": self.cost}


@dataclass
class StrategyResult:
    """One strategy's numbers on the test part (``error`` set if it failed)."""

    name: str
    quality: float = float("nan")
    cost: float = float("nan")
    curve_cost: list[float] = field(default_factory=list)
    curve_quality: list[float] = field(default_factory=list)
    curve_weight: list[float] = field(default_factory=list)
    hull_lift: float = float("nan")
    hull_lift_cost: float = float("nan")
    cost_to_match_best: float | None = None  # mean cost at which the frontier reaches the best model
    cost_to_match_best_pct: float | None = None  # ... as % of the best single model's cost
    quality_at_best_cost: float | None = None
    chord_gap: float = float("nan")  # operating point minus the cheapest-to-priciest chord
    distribution: dict[str, float] = field(default_factory=dict)
    per_task: dict[str, dict[str, float]] = field(default_factory=dict)
    routellm: M.RouteLLMMetrics | None = None
    fit_seconds: float = 0.0
    predict_seconds: float = 0.0
    trained: bool = True
    error: str | None = None
    #: 95% bootstrap intervals (``evaluate(bootstrap=N)``): (low, high), or None without a bootstrap
    #: (or, for cost to match, when a resample never reaches the best model's quality).
    hull_lift_ci: tuple[float, float] | None = None
    cost_to_match_best_pct_ci: tuple[float, float] | None = None
    quality_ci: tuple[float, float] | None = None
    #: share of resamples in which the curve reaches the best single model's quality
    reaches_best_share: float | None = None
    #: expected calibration error of the predicted qualities on the test prompts (every prompt and
    #: model; :func:`~routeiq_core.evaluation.metrics.calibration_error`) and its reliability bins
    ece: float = float("nan")
    reliability: list[dict[str, float]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "routellm"}
        out["routellm"] = self.routellm.to_dict() if self.routellm else None
        return _clean_dict(out)


@dataclass
class EvaluationResult:
    """Everything one evaluation measured; ``to_dict`` is the JSON report."""

    dataset: str
    n_train: int
    n_test: int
    models: list[str]
    profile: str
    cost_weight: float
    seed: int
    cost_unit: str
    baselines: list[Baseline]
    hull: tuple[list[float], list[float]]
    best_model: str
    strategies: list[StrategyResult]
    oracle_curve: tuple[list[float], list[float]]
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    strong_model: str | None = None
    weak_model: str | None = None
    routellm_baselines: dict[str, M.RouteLLMMetrics] = field(default_factory=dict)
    candidates: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    bootstrap: int = 0  # resamples behind the strategies' intervals (0: none)

    def baseline(self, name: str) -> Baseline:
        return next(b for b in self.baselines if b.name == name)

    @property
    def best(self) -> Baseline:
        return self.baseline(self.best_model)

    def strategy(self, name: str) -> StrategyResult:
        return next(s for s in self.strategies if s.name == name)

    def to_dict(self) -> dict[str, Any]:
        return _clean_dict({
            "dataset": self.dataset, "n_train": self.n_train, "n_test": self.n_test, "models": self.models,
            "profile": self.profile, "cost_weight": self.cost_weight, "seed": self.seed,
            "cost_unit": self.cost_unit, "best_model": self.best_model,
            "strong_model": self.strong_model, "weak_model": self.weak_model,
            "baselines": [b.to_dict() for b in self.baselines],
            "hull": {"cost": self.hull[0], "quality": self.hull[1]},
            "oracle_curve": {"cost": self.oracle_curve[0], "quality": self.oracle_curve[1]},
            "strategies": [s.to_dict() for s in self.strategies],
            "routellm_baselines": {k: v.to_dict() for k, v in self.routellm_baselines.items()},
            "candidates": self.candidates, "tasks": self.tasks, "notes": self.notes, "timings": self.timings,
            "bootstrap": self.bootstrap,
        })


def _clean_dict(value: dict[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = _clean(value)
    return cleaned


def _clean(value: Any) -> Any:
    """JSON-safe: numpy scalars to Python, NaN/inf to None."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, (np.floating, float)):
        f = float(value)
        return f if np.isfinite(f) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


# ---------------------------------------------------------------------------- helpers
def candidates_for(dataset: RoutingDataset, output_tokens: float = 256.0) -> list[Candidate]:
    """One candidate per model of the data set, priced from its price table.

    Without a price for a model, a per-1M price is derived from the model's mean
    per-prompt cost and the mean token estimate (input = characters / 4, output =
    ``output_tokens``), so that tiers can be inferred from price. Model sizes from the
    price table (e.g. LLMRouter's) are passed on: tiers are then inferred from size.
    """
    mean_cost = dataset.mean_model_costs()
    tokens = float(np.mean([max(1.0, len(p) / 4.0) for p in dataset.prompts])) + output_tokens
    out = []
    for model in dataset.models:
        price = dataset.prices.get(model)
        if price is not None:
            inp, outp = price.input_cost_per_mtok, price.output_cost_per_mtok
        else:
            inp = outp = max(0.0, mean_cost[model]) / tokens * 1e6
        size = price.size_b if price is not None else None
        out.append(Candidate(name=model, model=model, input_cost_per_mtok=inp, output_cost_per_mtok=outp,
                             size_b=size))
    return out


def _progress(total: int, enabled: bool, desc: str, unit: str = "it") -> Any:
    if not enabled or total == 0:
        return nullcontext(None)
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return nullcontext(None)
    return tqdm(total=total, desc=desc, unit=unit, leave=False)


def _cost_unit(dataset: RoutingDataset) -> str:
    """How costs read: RouteLLM-style 0/1 strong-call costs, USD, or relative."""
    costs = dataset.costs
    if costs is not None and np.isin(costs, (0.0, 1.0)).all() and (costs == 1.0).all(axis=0).sum() == 1:
        return "share of strong-model calls"
    if costs is not None:
        return "USD per prompt"
    return "USD per prompt, price x token estimate" if dataset.prices else "relative"


def _resolve(spec: StrategyLike, seed: int, registry: Any) -> BaseStrategy:
    """A fresh strategy instance from a name, class or instance (seeded when it has a ``seed``)."""
    if isinstance(spec, str):
        if spec == "centroid":
            from .._centroid_strategy import CentroidStrategy

            cls: type = CentroidStrategy
        else:
            if registry is None:
                from .._registry import default_registry

                registry = default_registry()
            cls = registry.get(spec)
    elif isinstance(spec, type):
        cls = spec
    else:
        return spec
    params = getattr(cls, "Params", None)
    fields = getattr(params, "model_fields", {})
    strategy: BaseStrategy = cls(seed=seed) if "seed" in fields else cls()
    return strategy


def _learns(strategy: BaseStrategy) -> bool:
    """True for a strategy that works untrained but can learn from data (e.g. a warm-started bandit)."""
    fit = getattr(type(strategy), "_fit", None)
    return isinstance(strategy, BaseStrategy) and fit is not None and fit is not BaseStrategy._fit


def _strategy_name(strategy: BaseStrategy) -> str:
    return getattr(strategy, "name", "") or type(strategy).__name__


def _choose(qhat: np.ndarray, chat: np.ndarray, weight: float) -> np.ndarray:
    return select_many(qhat, chat, weight)


def _realise(choice: np.ndarray, quality: np.ndarray, cost: np.ndarray) -> tuple[float, float]:
    rows = np.arange(len(choice))
    return float(quality[rows, choice].mean()), float(cost[rows, choice].mean())


def _curve(qhat: np.ndarray, chat: np.ndarray, quality: np.ndarray, cost: np.ndarray,
           weights: np.ndarray) -> tuple[list[float], list[float]]:
    cs, qs = [], []
    for w in weights:
        q, c = _realise(_choose(qhat, chat, float(w)), quality, cost)
        cs.append(c)
        qs.append(q)
    return cs, qs


# ---------------------------------------------------------------------------- evaluate
def evaluate(
    train: RoutingDataset,
    test: RoutingDataset,
    strategies: Sequence[StrategyLike],
    *,
    profile: str = "auto",
    seed: int = 0,
    embedder: Any = None,
    cache_dir: Any = None,
    progress: bool = True,
    registry: Any = None,
    cost_weights: np.ndarray | None = None,
    cost_unit: str | None = None,
    log: Callable[[str], None] | None = None,
    bootstrap: int = 0,
) -> EvaluationResult:
    """Train each strategy on ``train``, decide on ``test``, and measure it against the baselines.

    Args:
        strategies: registered names (``"knn"``, ``"centroid"``, ...), classes or instances.
            A strategy that does not need training (``centroid``) is used as is.
        profile: a built-in profile whose cost weight is the reported operating point.
        seed: seeds the random baseline and every strategy that has a ``seed`` parameter.
        embedder / cache_dir: the embedder and the embedding cache (default: the shipped
            model, ``$ROUTEIQ_CACHE_DIR`` or ``~/.cache/routeiq``).
        bootstrap: resamples of the test prompts (0: none) for 95% percentile intervals of each
            strategy's hull lift, cost to match the best single model and quality at the
            operating point (:func:`bootstrap_intervals`; seeded by ``seed``).
    """
    from .._embedding_cache import embed_dataset

    say = log or (lambda msg: None)
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, int) or not 0 <= bootstrap <= MAX_BOOTSTRAP:
        raise ConfigError(f"bootstrap: expected a whole number of resamples from 0 to {MAX_BOOTSTRAP} "
                          f"(200 is plenty for 95% intervals), got {bootstrap!r}")
    if profile not in BUILTIN_PROFILES:
        raise ConfigError(f"unknown profile {profile!r}; expected one of {sorted(BUILTIN_PROFILES)}")
    if train.models != test.models:
        missing = [m for m in train.models if m not in test.models]
        if missing or set(test.models) - set(train.models):
            raise DatasetError(
                f"train and test have different models: {list(train.models)} vs {list(test.models)}"
            )
        test = test.select_models(train.models)
    # columns in name order, so that exact ties go to the same model as in Router.decide
    order = sorted(train.models)
    train, test = train.select_models(order), test.select_models(order)
    cost_weight = BUILTIN_PROFILES[profile].cost_weight
    weights = np.unique(np.append(default_cost_weights() if cost_weights is None else cost_weights, cost_weight))
    notes: list[str] = []
    timings: dict[str, float] = {}

    # -- the test rows that can be scored: every model's quality known
    known = ~np.isnan(test.scores).any(axis=1)
    if not known.all():
        notes.append(f"{int((~known).sum())} of {len(test)} test prompts lack a score for some model and "
                     "are left out of the measurements (they would make models incomparable)")
        test = test.subset(np.flatnonzero(known))
    models = list(train.models)
    m = len(models)
    quality = test.scores
    cost = test.cost_matrix()
    train_cost = np.array([train.mean_model_costs()[name] for name in models])
    if cost_unit is None:
        cost_unit = _cost_unit(train)

    # -- embeddings (from the disk cache when present)
    instances = [_resolve(spec, seed, registry) for spec in strategies]
    t0 = time.perf_counter()
    if embedder is None:
        from .._embedding import default_embedder

        embedder = default_embedder()
    if any(s.tags.needs_embedding and (s.tags.requires_fit or _learns(s)) for s in instances):
        train = embed_dataset(train, embedder, cache_dir=cache_dir, progress=progress)
    # the router's query features (category, complexity) need the test embeddings in any case
    test = embed_dataset(test, embedder, cache_dir=cache_dir, progress=progress)
    timings["embed_seconds"] = time.perf_counter() - t0

    # -- candidates and router queries (shared by every strategy)

    candidates = candidates_for(train)
    t0 = time.perf_counter()
    queries = router_queries(test, candidates, embedder, progress)
    timings["query_seconds"] = time.perf_counter() - t0

    # -- baselines
    baselines = [Baseline(name, float(quality[:, j].mean()), float(cost[:, j].mean()), "model")
                 for j, name in enumerate(models)]
    rng = np.random.default_rng(seed)
    rand_choice = rng.integers(0, m, size=len(test))
    rq, rc = _realise(rand_choice, quality, cost)
    baselines.append(Baseline("random", rq, rc, "random"))
    oracle_choice = select_many(quality, cost, 0.0)
    oq, oc = _realise(oracle_choice, quality, cost)
    baselines.append(Baseline("oracle", oq, oc, "oracle"))
    oc_cost, oc_quality = _curve(quality, cost, quality, cost, weights[weights >= 0])
    # past its best point the oracle stays flat (spending more buys nothing)
    oc_cost.append(max(float(cost.mean(axis=0).max()), max(oc_cost)))
    oc_quality.append(max(oc_quality))
    by_cost = np.argsort(oc_cost, kind="stable")
    oracle_curve = ([oc_cost[i] for i in by_cost], [oc_quality[i] for i in by_cost])
    single_c = np.array([b.cost for b in baselines[:m]])
    single_q = np.array([b.quality for b in baselines[:m]])
    hull = M.upper_hull(single_c, single_q)
    best_j = int(np.lexsort((single_c, -single_q))[0])  # best quality, then cheaper
    # the chord's ends: the cheapest and the most expensive model (the better one among equal prices)
    cheap_j = int(np.lexsort((-single_q, single_c))[0])
    dear_j = int(np.lexsort((-single_q, -single_c))[0])

    strong = weak = None
    rl_baselines: dict[str, M.RouteLLMMetrics] = {}
    if m == 2:
        strong_j = int(np.argmax(train_cost)) if train_cost[0] != train_cost[1] else best_j
        strong, weak = models[strong_j], models[1 - strong_j]
        rand_score = np.random.default_rng(seed).random(len(test))
        rl_baselines["random"] = M.routellm_metrics(
            *M.routellm_curve(rand_score, quality[:, strong_j], quality[:, 1 - strong_j]),
            single_q[strong_j], single_q[1 - strong_j])

    # -- per-task tables
    tasks: dict[str, dict[str, Any]] = {}
    task_index: dict[str, np.ndarray] = {}
    if test.tasks is not None:
        labels = np.array([t if t is not None else "(none)" for t in test.tasks], dtype=object)
        for task in sorted(set(labels.tolist())):
            idx = np.flatnonzero(labels == task)
            task_index[task] = idx
            per_model = quality[idx].mean(axis=0)
            tasks[task] = {"n": len(idx), "best_model": models[int(np.argmax(per_model))],
                           "best_model_quality": float(per_model.max()),
                           "oracle_quality": float(quality[idx, oracle_choice[idx]].mean())}

    # -- strategies
    results: list[StrategyResult] = []
    with _progress(len(instances), progress, "training", "strategy") as train_bar:
        for strategy in instances:
            name = _strategy_name(strategy)
            res = StrategyResult(name=name)
            results.append(res)
            if train_bar is not None:
                train_bar.set_postfix_str(name)
            try:
                needs_fit = bool(getattr(strategy.tags, "requires_fit", True)) or _learns(strategy)
                res.trained = needs_fit
                if needs_fit:
                    t0 = time.perf_counter()
                    strategy.fit(train)
                    res.fit_seconds = time.perf_counter() - t0
                t0 = time.perf_counter()
                qhat, chat = _predict_all(strategy, queries, candidates, train_cost, progress, name)
                res.predict_seconds = time.perf_counter() - t0
            except Exception as exc:  # a failing strategy is reported, the others still run
                res.error = f"{type(exc).__name__}: {str(exc)[:300]}"
                say(f"{name}: failed: {res.error}")
                warnings.warn(f"evaluation: strategy {name!r} failed: {res.error}", RouteIQWarning, stacklevel=2)
                if train_bar is not None:
                    train_bar.update(1)
                continue
            if train_bar is not None:
                train_bar.update(1)
            _measure(res, qhat, chat, quality, cost, weights, cost_weight, models, single_c, single_q,
                     best_j, cheap_j, dear_j, task_index)
            if bootstrap:
                bootstrap_intervals(res, qhat, chat, quality, cost, weights, cost_weight, best_j, bootstrap, seed)
            if m == 2:
                sj = models.index(strong)  # type: ignore[arg-type]
                res.routellm = _routellm_for(qhat, chat, quality, sj, single_q)
            say(f"{name}: quality {res.quality:.4f}, cost {res.cost:.6g}, hull lift {res.hull_lift:+.4f}")

    return EvaluationResult(
        dataset=test.name.removesuffix("[test]"), n_train=len(train), n_test=len(test), models=models,
        profile=profile, cost_weight=cost_weight, seed=seed, cost_unit=cost_unit, baselines=baselines,
        hull=(hull[0].tolist(), hull[1].tolist()), best_model=models[best_j], strategies=results,
        oracle_curve=oracle_curve, tasks=tasks, strong_model=strong, weak_model=weak,
        routellm_baselines=rl_baselines, notes=notes, timings=timings, bootstrap=bootstrap,
        candidates=[{"name": c.name, "input_cost_per_mtok": c.input_cost_per_mtok,
                     "output_cost_per_mtok": c.output_cost_per_mtok, "tier": c.tier, "size_b": c.size_b}
                    for c in candidates],
    )


def router_queries(data: RoutingDataset, candidates: Sequence[Candidate], embedder: Any,
                   progress: bool = False) -> list[Query]:
    """The router's queries (category, complexity, signals) for an embedded data set's prompts."""
    from .._centroid_strategy import CentroidStrategy
    from .._router import Router

    router = Router(candidates, strategy=CentroidStrategy(), embedder=embedder)
    queries: list[Query] = []
    assert data.embeddings is not None, "embed the data set first"
    with _progress(len(data), progress, "queries", "prompt") as bar:
        for i, prompt in enumerate(data.prompts):
            queries.append(router.make_query(prompt, embedding=data.embeddings[i],
                                             instruction_embedding=data.instruction_embedding(i)))
            if bar is not None:
                bar.update(1)
    return queries


def _predict_all(strategy: BaseStrategy, queries: Sequence[Query], candidates: Sequence[Candidate],
                 train_cost: np.ndarray, progress: bool, name: str, chunk: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """(n, m) predicted quality and the cost the choice rule uses."""
    names = [c.name for c in candidates]
    n, m = len(queries), len(names)
    qhat = np.empty((n, m))
    chat = np.tile(train_cost, (n, 1))
    missing = 0
    with _progress(n, progress, f"deciding ({name})", "prompt") as bar:
        for start in range(0, n, chunk):
            part = list(queries[start:start + chunk])
            estimates = strategy.predict_batch(part, candidates)
            for k, est in enumerate(estimates):
                row = start + k
                for j, cname in enumerate(names):
                    value = est.quality.get(cname)
                    if value is None or not np.isfinite(value):
                        missing += 1
                        value = 0.0
                    qhat[row, j] = float(value)
                    if est.cost is not None and cname in est.cost:
                        chat[row, j] = float(est.cost[cname])
            if bar is not None:
                bar.update(len(part))
    if missing:
        warnings.warn(f"evaluation: {name} gave no quality for {missing} (prompt, candidate) pairs; used 0",
                      RouteIQWarning, stacklevel=3)
    return qhat, chat


def _measure(res: StrategyResult, qhat: np.ndarray, chat: np.ndarray, quality: np.ndarray, cost: np.ndarray,
             weights: np.ndarray, cost_weight: float, models: list[str], single_c: np.ndarray,
             single_q: np.ndarray, best_j: int, cheap_j: int, dear_j: int,
             task_index: Mapping[str, np.ndarray]) -> None:
    choice = _choose(qhat, chat, cost_weight)
    res.quality, res.cost = _realise(choice, quality, cost)
    res.ece, res.reliability = M.calibration_error(qhat, quality)
    counts = np.bincount(choice, minlength=len(models)) / len(choice)
    res.distribution = {name: float(counts[j]) for j, name in enumerate(models)}
    res.curve_cost, res.curve_quality = _curve(qhat, chat, quality, cost, weights)
    res.curve_weight = [float(w) for w in weights]
    res.hull_lift, res.hull_lift_cost = M.hull_lift(res.curve_cost, res.curve_quality, single_c, single_q)
    best_c, best_q = float(single_c[best_j]), float(single_q[best_j])
    res.cost_to_match_best = M.cost_to_reach(res.curve_cost, res.curve_quality, best_q)
    if res.cost_to_match_best is not None and best_c > 0:
        res.cost_to_match_best_pct = 100.0 * res.cost_to_match_best / best_c
    res.quality_at_best_cost = M.quality_at_cost(res.curve_cost, res.curve_quality, best_c)
    chord = M.chord_quality(res.cost, (single_c[cheap_j], single_q[cheap_j]), (single_c[dear_j], single_q[dear_j]))
    res.chord_gap = res.quality - chord
    rows = np.arange(len(choice))
    for task, idx in task_index.items():
        res.per_task[task] = {"quality": float(quality[rows[idx], choice[idx]].mean()),
                              "cost": float(cost[rows[idx], choice[idx]].mean())}


def bootstrap_intervals(res: StrategyResult, qhat: np.ndarray, chat: np.ndarray, quality: np.ndarray,
                        cost: np.ndarray, weights: np.ndarray, cost_weight: float, best_j: int, n_resamples: int,
                        seed: int) -> None:
    """95% percentile intervals of hull lift, cost to match and quality at the operating point.

    Each resample draws the test prompts with replacement and recomputes everything from them:
    the single models' means (so their hull and the best model's quality and cost move too) and
    the strategy's curve. The strategy's choices stay fixed, because they depend on the prompt,
    not on which other prompts were drawn. Two strategies whose intervals overlap widely cannot
    be told apart on this test set.
    """
    rng = np.random.default_rng(seed)
    n = quality.shape[0]
    rows = np.arange(n)
    choices = np.stack([_choose(qhat, chat, float(w)) for w in weights], axis=1)  # (n, W)
    got_q, got_c = quality[rows[:, None], choices], cost[rows[:, None], choices]
    op = int(np.argmin(np.abs(weights - cost_weight)))
    lifts, pcts, quals, reached = [], [], [], 0
    for _ in range(n_resamples):
        idx = rng.integers(0, n, n)
        curve_q, curve_c = got_q[idx].mean(axis=0), got_c[idx].mean(axis=0)
        single_q, single_c = quality[idx].mean(axis=0), cost[idx].mean(axis=0)
        lifts.append(M.hull_lift(curve_c, curve_q, single_c, single_q)[0])
        quals.append(float(curve_q[op]))
        match = M.cost_to_reach(curve_c, curve_q, float(single_q[best_j]))
        if match is not None and single_c[best_j] > 0:
            reached += 1
            pcts.append(100.0 * match / float(single_c[best_j]))

    res.hull_lift_ci, res.quality_ci = M.percentile_interval(lifts), M.percentile_interval(quals)
    res.reaches_best_share = reached / n_resamples
    res.cost_to_match_best_pct_ci = M.percentile_interval(pcts) if reached == n_resamples else None


def _routellm_for(qhat: np.ndarray, chat: np.ndarray, quality: np.ndarray, strong_j: int,
                  single_q: np.ndarray) -> M.RouteLLMMetrics:
    """RouteLLM's metrics with the cost weight at which the strategy switches to the strong model as score."""
    weak_j = 1 - strong_j
    diff = qhat[:, strong_j] - qhat[:, weak_j]
    top = np.maximum(chat.max(axis=1), 1e-300)
    extra = (chat[:, strong_j] - chat[:, weak_j]) / top  # relative extra cost of the strong model
    score = np.where(extra > 0, diff / np.where(extra > 0, extra, 1.0), np.where(diff >= 0, np.inf, -np.inf))
    score = np.clip(score, -1e9, 1e9)
    pct, acc = M.routellm_curve(score, quality[:, strong_j], quality[:, weak_j])
    return M.routellm_metrics(pct, acc, float(single_q[strong_j]), float(single_q[weak_j]))
