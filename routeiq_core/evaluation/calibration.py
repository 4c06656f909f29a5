"""Calibration: the cost weight that meets a stated target at the lowest cost.

``cost_weight`` is abstract; a target is not. :func:`calibrate` turns one of

* ``quality=0.98``: at least 98% of the best single model's mean quality,
* ``max_cost=0.002``: at most this mean cost per request (USD; ``per=1000`` for per 1,000),
* ``strong_share=0.3``: at most 30% of requests to the stronger (dearer) of two models,

into a cost weight, measured on held-out data: the strategy is trained ``folds`` times, each
time without one fold, and predicts that fold (seeded folds, out-of-fold predictions). Every
cost weight of a fine sweep is scored by what its choices *realise* on the data (true quality
and cost), the cheapest point that meets the target wins, and a bootstrap over the prompts
gives its 95% interval. The result is stored in the artifact (``routeiq calibrate``), and
``Router.from_artifact`` uses it for the calibrated profile (``auto`` unless named).

The weight assumes the router's candidates cost what the data's models cost relative to
each other; a router built on other candidates gets a warning naming the differences.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._calibration import (
    TARGETS,
    Calibration,
    CalibrationError,
    _meets,
    calibrated_profile,
    check_calibration_candidates,
    describe_target,
)
from .._dataset import RoutingDataset
from .._profiles import BUILTIN_PROFILES, select_many
from ..errors import ConfigError, DatasetError
from . import metrics as M

__all__ = ["TARGETS", "Calibration", "CalibrationError", "calibrate", "calibrated_profile",
           "check_calibration_candidates", "describe_target", "holdout_predictions", "operating_point", "out_of_fold",
           "point_stats"]

#: The cost weights calibration chooses from: 0 and 10^-4 .. 10^2, 25 per decade.
WEIGHTS = np.unique(np.concatenate([[0.0], np.logspace(-4, 2, 151)]))
MAX_FOLDS = 20


def calibrate(
    dataset: RoutingDataset,
    strategy: Any,
    *,
    quality: float | None = None,
    max_cost: float | None = None,
    per: float = 1.0,
    strong_share: float | None = None,
    folds: int = 5,
    seed: int = 0,
    bootstrap: int = 200,
    confidence: float = 0.9,
    profile: str = "auto",
    embedder: Any = None,
    cache_dir: Any = None,
    registry: Any = None,
    progress: bool = False,
) -> Calibration:
    """The cost weight meeting one target on ``dataset`` at the lowest cost (module docstring).

    ``strategy`` is a registered name, a class or an instance (its parameters are kept; a fresh
    copy is trained per fold). Exactly one of ``quality``, ``max_cost`` and ``strong_share``.
    """
    target, value = _target(quality, max_cost, per, strong_share)
    _check_confidence(confidence)
    if isinstance(folds, bool) or not isinstance(folds, int) or not 2 <= folds <= MAX_FOLDS:
        raise ConfigError(f"folds: expected a whole number from 2 to {MAX_FOLDS}, got {folds!r}")
    if profile not in BUILTIN_PROFILES and not (isinstance(profile, str) and profile.isidentifier()):
        raise ConfigError(f"profile: expected a profile name such as 'auto', got {profile!r}")
    data = _scorable(dataset)
    if target == "strong_share" and data.n_models != 2:
        raise CalibrationError(f"--strong-share needs a two-model data set (strong and weak), "
                               f"{data.name} has {data.n_models}: use --quality or --max-cost")
    if len(data) < 2 * folds:
        raise CalibrationError(f"{data.name}: {len(data)} scorable prompts are too few for {folds} folds "
                               f"(at least {2 * folds})")
    qhat, chat = out_of_fold(data, strategy, folds=folds, seed=seed, embedder=embedder, cache_dir=cache_dir,
                             registry=registry, progress=progress)
    return operating_point(qhat, chat, data.scores, data.cost_matrix(), list(data.models), target, value,
                           profile=profile, folds=folds, seed=seed, bootstrap=bootstrap, strong=_strong(data),
                           confidence=confidence)


def out_of_fold(data: RoutingDataset, strategy: Any, *, folds: int, seed: int, embedder: Any = None,
                cache_dir: Any = None, registry: Any = None, progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(n, m) predicted quality and the cost the choice rule uses, each row from a strategy trained
    without that row's fold (seeded folds)."""
    data, queries, candidates = _queries(data, embedder, cache_dir, progress)
    return fold_predictions(data, queries, candidates, strategy, folds=folds, seed=seed, registry=registry)


def fold_predictions(data: RoutingDataset, queries: list[Any], candidates: list[Any], strategy: Any, *, folds: int,
                     seed: int, registry: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`out_of_fold` on a data set already embedded, with its queries and candidates (``_queries``)."""
    fold_of = np.random.default_rng(seed).permutation(len(data)) % folds
    qhat, chat = np.empty(data.scores.shape), np.empty(data.scores.shape)
    for k in range(folds):
        held, rest = np.flatnonzero(fold_of == k), np.flatnonzero(fold_of != k)
        q, c = _fit_predict(data.subset(rest), [queries[i] for i in held], candidates, strategy, seed, registry)
        qhat[held], chat[held] = q, c
    return qhat, chat


def holdout_predictions(train: RoutingDataset, test: RoutingDataset, strategy: Any, *, seed: int = 0,
                        embedder: Any = None, cache_dir: Any = None, registry: Any = None,
                        progress: bool = False) -> tuple[RoutingDataset, np.ndarray, np.ndarray]:
    """The scorable test rows and a fresh copy of the strategy's predictions for them after training on
    ``train``: to check a calibrated weight on data calibration never saw."""
    train, test = _scorable(train), _scorable(test).select_models(sorted(train.models))
    train, _, candidates = _queries(train, embedder, cache_dir, progress, with_queries=False)
    test, queries, _ = _queries(test, embedder, cache_dir, progress)
    qhat, chat = _fit_predict(train, queries, candidates, strategy, seed, registry)
    return test, qhat, chat


def _queries(data: RoutingDataset, embedder: Any, cache_dir: Any, progress: bool, *,
             with_queries: bool = True) -> tuple[RoutingDataset, list[Any], list[Any]]:
    """The data set embedded, the router's queries for its prompts and its candidates (as ``evaluate``)."""
    from .._embedding_cache import embed_dataset
    from .harness import candidates_for, router_queries

    if embedder is None:
        from .._embedding import default_embedder

        embedder = default_embedder()
    data = embed_dataset(data, embedder, cache_dir=cache_dir, progress=progress)
    candidates = candidates_for(data)
    if not with_queries:
        return data, [], candidates
    return data, router_queries(data, candidates, embedder), candidates


def _fit_predict(train: RoutingDataset, queries: list[Any], candidates: list[Any], strategy: Any, seed: int,
                 registry: Any) -> tuple[np.ndarray, np.ndarray]:
    from .harness import _predict_all, _resolve

    model = _fresh(strategy, seed, registry, _resolve)
    if getattr(model.tags, "requires_fit", True):
        model.fit(train)
    train_cost = np.array([train.mean_model_costs()[m] for m in train.models])
    return _predict_all(model, queries, candidates, train_cost, False, model.name)


def operating_point(qhat: np.ndarray, chat: np.ndarray, quality: np.ndarray, cost: np.ndarray,
                    models: Sequence[str], target: str, value: float, *, profile: str = "auto", folds: int = 0,
                    seed: int = 0, bootstrap: int = 200, strong: int | None = None, confidence: float = 0.9,
                    weights: np.ndarray = WEIGHTS) -> Calibration:
    """The cheapest cost weight whose realised choices meet the target (``qhat``/``chat``: predictions;
    ``quality``/``cost``: the truth). Raises :class:`CalibrationError` naming the closest point.

    With ``confidence`` > 0 (and a bootstrap) a point must meet the target with that one-sided
    bootstrap confidence (its lower quality bound, its upper cost or strong-share bound), so the
    target still holds on new prompts more often than not; 0 takes the point estimates.
    """
    _check_confidence(confidence)
    n = quality.shape[0]
    rows = np.arange(n)
    choices = np.stack([select_many(qhat, chat, float(w)) for w in weights], axis=1)  # (n, W)
    per_q, per_c = quality[rows[:, None], choices], cost[rows[:, None], choices]
    got_q, got_c = per_q.mean(axis=0), per_c.mean(axis=0)
    single_q, single_c = quality.mean(axis=0), cost.mean(axis=0)
    best = int(np.lexsort((single_c, -single_q))[0])
    share = got_q / single_q[best] if single_q[best] > 0 else np.ones_like(got_q)
    is_strong = (choices == strong) if strong is not None else None
    strong_share = is_strong.mean(axis=0) if is_strong is not None else None
    # the values a point is judged on: the estimates, or their one-sided bootstrap bounds
    judged_share, judged_cost, judged_strong = share, got_c, strong_share
    if confidence > 0 and bootstrap:
        rng = np.random.default_rng(seed + 1)
        shares, costs, strongs = [], [], []
        for _ in range(bootstrap):
            idx = rng.integers(0, n, n)
            best_q = float(quality[idx, best].mean())
            shares.append(per_q[idx].mean(axis=0) / best_q if best_q > 0 else np.ones(len(weights)))
            costs.append(per_c[idx].mean(axis=0))
            if is_strong is not None:
                strongs.append(is_strong[idx].mean(axis=0))
        tail = 100.0 * (1.0 - confidence)
        judged_share = np.percentile(shares, tail, axis=0)
        judged_cost = np.percentile(costs, 100.0 - tail, axis=0)
        judged_strong = np.percentile(strongs, 100.0 - tail, axis=0) if strongs else None
    ok = np.array([_meets(target, value, judged_share[i], judged_cost[i],
                          None if judged_strong is None else judged_strong[i]) for i in range(len(weights))])
    if not ok.any():
        raise CalibrationError(_unreachable(target, value, judged_share, judged_cost, judged_strong, models[best],
                                            confidence if bootstrap else 0.0))
    if target == "quality":  # the cheapest point that is good enough (then the better, then the larger weight)
        pick = min(np.flatnonzero(ok), key=lambda i: (got_c[i], -got_q[i], -weights[i]))
    elif target == "max_cost":  # the best point that is cheap enough
        pick = min(np.flatnonzero(ok), key=lambda i: (-got_q[i], got_c[i], -weights[i]))
    else:  # as many strong calls as allowed, the best of those
        assert strong_share is not None
        pick = min(np.flatnonzero(ok), key=lambda i: (-strong_share[i], -got_q[i], got_c[i]))
    return Calibration(
        target=target, value=float(value), cost_weight=float(weights[pick]), profile=profile,
        models=tuple(models), folds=folds, seed=seed, confidence=float(confidence) if bootstrap else 0.0,
        **point_stats(quality, cost, choices[:, pick], models, strong=strong, bootstrap=bootstrap, seed=seed))


def point_stats(quality: np.ndarray, cost: np.ndarray, choice: np.ndarray, models: Sequence[str], *,
                strong: int | None = None, bootstrap: int = 200, seed: int = 0) -> dict[str, Any]:
    """What the choices (one column per prompt) realise: quality, its share of the best single model's,
    mean cost, the strong model's share, and their 95% bootstrap intervals (prompts resampled)."""
    n = quality.shape[0]
    rows = np.arange(n)
    single_q, single_c = quality.mean(axis=0), cost.mean(axis=0)
    best = int(np.lexsort((single_c, -single_q))[0])
    got_q, got_c = quality[rows, choice], cost[rows, choice]
    q = float(got_q.mean())
    out: dict[str, Any] = {
        "quality": q, "share_of_best": q / float(single_q[best]) if single_q[best] > 0 else 1.0,
        "cost": float(got_c.mean()), "cost_of_best": float(single_c[best]), "best_model": str(models[best]),
        "strong_share": None if strong is None else float((choice == strong).mean()), "n": n,
        "quality_ci": None, "share_of_best_ci": None, "cost_ci": None,
    }
    if bootstrap:
        rng = np.random.default_rng(seed)
        qs, ss, cs = [], [], []
        for _ in range(bootstrap):
            idx = rng.integers(0, n, n)
            qi, best_q = float(got_q[idx].mean()), float(quality[idx, best].mean())
            qs.append(qi)
            ss.append(qi / best_q if best_q > 0 else 1.0)
            cs.append(float(got_c[idx].mean()))
        out.update(quality_ci=M.percentile_interval(qs), share_of_best_ci=M.percentile_interval(ss),
                   cost_ci=M.percentile_interval(cs))
    return out


# ---------------------------------------------------------------------------- helpers
def _target(quality: float | None, max_cost: float | None, per: float, strong_share: float | None) -> tuple[str, float]:
    given = {k: v for k, v in (("quality", quality), ("max_cost", max_cost), ("strong_share", strong_share))
             if v is not None}
    if len(given) != 1:
        raise ConfigError("calibrate: give exactly one target: --quality SHARE (e.g. 0.98), --max-cost USD "
                          f"or --strong-share SHARE; got {sorted(given) or 'none'}")
    (kind, raw), = given.items()
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
        raise ConfigError(f"calibrate: {kind} must be a number, got {raw!r}")
    if kind in ("quality", "strong_share") and not 0.0 <= raw <= 1.0:
        raise ConfigError(f"calibrate: {kind} is a share in [0, 1] (0.98 = 98%), got {raw!r}")
    if kind == "max_cost":
        if raw < 0:
            raise ConfigError(f"calibrate: max_cost must be >= 0 USD, got {raw!r}")
        if isinstance(per, bool) or not isinstance(per, (int, float)) or not per >= 1:
            raise ConfigError(f"calibrate: per must be a number of requests >= 1 (1 or 1000), got {per!r}")
        return kind, float(raw) / float(per)
    return kind, float(raw)


def _check_confidence(confidence: object) -> None:
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0.0 <= confidence < 1.0:
        raise ConfigError(f"confidence: expected a share in [0, 1) such as 0.9 (0: the point estimate), "
                          f"got {confidence!r}")


def _unreachable(target: str, value: float, share: np.ndarray, cost: np.ndarray, strong_share: np.ndarray | None,
                 best_model: str, confidence: float) -> str:
    sure = f" with {confidence:.0%} confidence" if confidence else ""
    hint = " (or lower --confidence)" if confidence else ""
    if target == "quality":
        i = int(np.argmax(share))
        return (f"no operating point reaches {value:.1%} of the best single model's quality ({best_model}){sure}; "
                f"the closest is {share[i]:.1%} at mean cost {cost[i]:.6g} per request: lower --quality{hint}, or "
                "train a stronger strategy")
    if target == "max_cost":
        i = int(np.argmin(cost))
        return (f"no operating point costs at most {value:.6g} per request{sure}; the cheapest costs {cost[i]:.6g} "
                f"({share[i]:.1%} of {best_model}'s quality): raise --max-cost{hint}")
    assert strong_share is not None
    i = int(np.argmin(strong_share))
    return (f"no operating point sends at most {value:.1%} of requests to the strong model{sure}; the fewest is "
            f"{strong_share[i]:.1%}: raise --strong-share{hint}")


def _scorable(dataset: RoutingDataset) -> RoutingDataset:
    """The prompts every model has a score for, with costs; refuses data that cannot calibrate."""
    if not isinstance(dataset, RoutingDataset):
        raise ConfigError(f"calibrate: expected a RoutingDataset, got {type(dataset).__name__}")
    if dataset.n_models < 2:
        raise CalibrationError(f"{dataset.name}: calibration needs at least two models to choose between, "
                               f"got {list(dataset.models)}")
    if dataset.costs is None and not dataset.prices:
        raise CalibrationError(f"{dataset.name}: no costs and no price table, so no operating point has a cost; "
                               "give per-prompt costs or a price table (--prices)")
    known = ~np.isnan(dataset.scores).any(axis=1)
    data = dataset.subset(np.flatnonzero(known)) if not known.all() else dataset
    data = data.select_models(sorted(data.models))  # name order: exact ties go as in Router.decide
    try:
        data.cost_matrix()
    except DatasetError as exc:
        raise CalibrationError(str(exc)) from None
    return data


def _strong(data: RoutingDataset) -> int | None:
    """The stronger of two models: the dearer one (the better one at equal cost), as in ``evaluate``."""
    if data.n_models != 2:
        return None
    mean_cost = data.cost_matrix().mean(axis=0)
    if mean_cost[0] != mean_cost[1]:
        return int(np.argmax(mean_cost))
    return int(np.argmax(data.scores.mean(axis=0)))


def _fresh(strategy: Any, seed: int, registry: Any, resolve: Any) -> Any:
    """A new, unfitted copy of the strategy for one fold (same class and parameters)."""
    if isinstance(strategy, (str, type)):
        return resolve(strategy, seed, registry)
    params = getattr(strategy, "params", None)
    return type(strategy)(params.model_dump()) if params is not None else resolve(type(strategy), seed, registry)
