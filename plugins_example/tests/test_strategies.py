"""The example strategies learn the structure of routing data, on toy data and on real RouterBench data."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("routeiq_example", reason="install the example plugin: pip install -e ./plugins_example")

from routeiq_example import ClusterStrategy, RidgeStrategy
from routeiq_example._cluster import spherical_kmeans

from routeiq_core import RoutingDataset
from routeiq_core._profiles import select_many
from routeiq_core.testing import make_toy_dataset, toy_candidates, toy_queries

MODELS = ("a", "b", "c", "d")


def _picked_quality(strategy: object, train: RoutingDataset, test: RoutingDataset) -> float:
    """Mean true score of the candidate with the highest predicted quality on ``test``."""
    strategy.fit(train)  # type: ignore[attr-defined]
    names = list(test.models)
    estimates = strategy.predict_batch(toy_queries(test), toy_candidates(test))  # type: ignore[attr-defined]
    picks = [names.index(max(names, key=lambda n: e.quality[n])) for e in estimates]
    scores = np.nan_to_num(test.scores, nan=0.0)
    return float(scores[np.arange(len(test)), picks].mean())


@pytest.mark.parametrize("strategy", [ClusterStrategy(n_clusters=4), RidgeStrategy()], ids=lambda s: s.name)
def test_learns_which_model_is_good_for_which_topic(strategy: object) -> None:
    """On toy data where each model masters one topic, picking by prediction beats every single model."""
    data = make_toy_dataset(n_prompts=400, models=MODELS, seed=3)
    train, test = data.split(0.7, seed=3)
    picked = _picked_quality(strategy, train, test)
    best_single = float(np.nanmean(test.scores, axis=0).max())
    assert picked > best_single + 0.3, (picked, best_single)


def test_kmeans_recovers_the_topics() -> None:
    """Spherical k-means puts prompts of one toy topic in one cluster."""
    data = make_toy_dataset(n_prompts=120, models=MODELS, seed=1)
    _, labels = spherical_kmeans(data.embeddings.astype(np.float64), 4, seed=0)
    topics = np.arange(120) % 4
    for t in range(4):
        assert len(set(labels[topics == t])) == 1


def test_shrinkage_pulls_small_clusters_to_the_global_mean() -> None:
    """With a huge shrinkage every cluster predicts each model's global mean."""
    data = make_toy_dataset(n_prompts=90, models=MODELS, seed=2)
    s = ClusterStrategy(n_clusters=4, shrinkage=1e9).fit(data)
    assert np.allclose(s.quality_, s.global_quality_[None, :], atol=1e-6)


def test_unknown_model_gets_the_configured_prior() -> None:
    """A candidate whose model was never trained on gets unknown_quality."""
    from routeiq_core import Candidate

    data = make_toy_dataset(n_prompts=60, seed=4)
    s = RidgeStrategy(unknown_quality=0.123).fit(data)
    est = s.predict(toy_queries(data, [0])[0], [*toy_candidates(data), Candidate(name="new", model="x/new")])
    assert est.quality["new"] == pytest.approx(0.123)


def _shared_data() -> Path:
    root = Path(os.environ.get("ROUTEIQ_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
    if not (root / "routerbench").is_dir():
        pytest.skip(f"shared RouterBench data not found at {root}; set ROUTEIQ_SHARED_DATA")
    return root / "routerbench"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["example.cluster", "example.ridge"])
def test_beats_the_best_single_model_on_routerbench(name: str) -> None:
    """Trained on RouterBench (ARC + MBPP + Winogrande train), it routes well on the test split.

    At the ``auto`` profile's cost weight its utility (score - w * cost / largest mean
    model cost) beats every single model's; at cost weight 0 its quality is within
    0.01 of the best single model's (gpt-4), using several models.
    """
    from routeiq_core import default_registry
    from routeiq_core._embedding_cache import embed_dataset
    from routeiq_core._profiles import BUILTIN_PROFILES
    from routeiq_core.datasets import load_dataset

    root = _shared_data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the source CSVs repeat a few ids; the loader skips and reports them
        parts = {split: [load_dataset(root / f"{task}_{split}.csv") for task in ("arc_challenge", "mbpp", "winograde")]
                 for split in ("train", "test")}
    train, test = (embed_dataset(_concat(parts[s]), progress=False) for s in ("train", "test"))
    strategy = default_registry().create(name).fit(train)
    est = strategy.predict_batch(toy_queries(test), [_candidate(m) for m in test.models])
    quality = np.array([[e.quality[m] for m in test.models] for e in est])
    truth = np.nan_to_num(test.scores, nan=0.0)
    true_cost = test.cost_matrix()
    known_cost = train.cost_matrix().mean(axis=0)  # what the router knows: each model's mean cost
    scale = known_cost.max()
    rows = np.arange(len(test))
    for weight, margin in ((BUILTIN_PROFILES["auto"].cost_weight, 0.01), (0.0, -0.01)):
        picks = select_many(quality, np.broadcast_to(known_cost, quality.shape), weight)
        routed = float((truth[rows, picks] - weight * true_cost[rows, picks] / scale).mean())
        singles = (truth - weight * true_cost / scale).mean(axis=0)
        assert routed > singles.max() + margin, (weight, routed, dict(zip(test.models, singles.round(4))))
        assert len(set(picks.tolist())) > 1, "a router that always picks one model"


def _candidate(model: str) -> object:
    from routeiq_core import Candidate

    return Candidate(name=model, model=model)


def _concat(parts: list[RoutingDataset]) -> RoutingDataset:
    models = parts[0].models
    assert all(p.models == models for p in parts)
    return RoutingDataset(
        ids=tuple(i for p in parts for i in p.ids),
        prompts=tuple(t for p in parts for t in p.prompts),
        models=models,
        scores=np.vstack([p.scores for p in parts]),
        costs=np.vstack([p.cost_matrix() for p in parts]),
        tasks=tuple(t for p in parts for t in (p.tasks or (p.name,) * len(p))),
        name="routerbench",
    )
