"""MLP strategy: numpy MLP regressing per-model scores (or tie-aware best labels)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from routeiq_core import ConfigError
from routeiq_strategies.mlp import MLPStrategy


@pytest.mark.parametrize("target", ["score", "best"])
def test_each_cluster_gets_its_winner(clustered, best_of, target: str) -> None:
    """Both targets learn that a wins cluster 0 and b wins cluster 1."""
    mlp = MLPStrategy(target=target, hidden=(32, 16), epochs=40).fit(clustered.dataset)
    assert best_of(mlp, clustered.query(0), clustered.candidates) == "a"
    assert best_of(mlp, clustered.query(1), clustered.candidates) == "b"


def test_seeded_and_deterministic(clustered) -> None:
    """Same seed, same network; another seed, another network."""
    first = MLPStrategy(hidden=(16,), epochs=5, seed=3).fit(clustered.dataset)
    again = MLPStrategy(hidden=(16,), epochs=5, seed=3).fit(clustered.dataset)
    other = MLPStrategy(hidden=(16,), epochs=5, seed=4).fit(clustered.dataset)
    assert np.array_equal(first.weights_0_, again.weights_0_)
    assert not np.array_equal(first.weights_0_, other.weights_0_)


def test_unknown_scores_are_masked(clustered, best_of) -> None:
    """NaN scores contribute no loss: hiding b's failures still lets the net learn a and c."""
    scores = clustered.dataset.scores.copy()
    scores[::2, 1] = np.nan
    mlp = MLPStrategy(hidden=(32,), epochs=40).fit(dataclasses.replace(clustered.dataset, scores=scores))
    assert best_of(mlp, clustered.query(0), clustered.candidates) == "a"


def test_early_stopping_records_epochs(clustered) -> None:
    """epochs_trained_ never exceeds epochs; without validation all epochs run."""
    mlp = MLPStrategy(hidden=(8,), epochs=7, validation_fraction=0.0).fit(clustered.dataset)
    assert mlp.epochs_trained_ == 7 and mlp.n_layers_ == 2


def test_candidate_sets(clustered, checks) -> None:
    """Subset and superset candidates; unknown models get the explicit prior."""
    checks.candidate_sets(MLPStrategy(hidden=(32,), epochs=30).fit(clustered.dataset), clustered)


def test_roundtrip_and_purity(clustered, checks, tmp_path) -> None:
    """save/load, batch == single, predict leaves fitted arrays alone."""
    checks.roundtrip(MLPStrategy(target="best", hidden=(16, 8), epochs=5).fit(clustered.dataset),
                     clustered, tmp_path)


def test_tiny_data(clustered, checks) -> None:
    """Fewer than 4 prompts is a DatasetError; all-zero data regresses to ~0 quality."""
    checks.tiny_data(MLPStrategy(hidden=(8,), epochs=200, validation_fraction=0), clustered,
                     needs_differences=False)


@pytest.mark.parametrize("bad", [{"hidden": (0,)}, {"epochs": 0}, {"validation_fraction": 1.0},
                                 {"target": "rank"}, {"learning_rate": -1}])
def test_bad_params(bad: dict) -> None:
    """Out-of-range hyper-parameters are ConfigErrors."""
    with pytest.raises(ConfigError):
        MLPStrategy(**bad)


@pytest.mark.slow
def test_llmrouter_mlp(llmrouter) -> None:
    """MLP score regression on LLMRouter: beats the best single model's quality at lower cost."""
    result = llmrouter.evaluate(MLPStrategy().fit(llmrouter.train))
    llmrouter.evaluate(MLPStrategy(target="best").fit(llmrouter.train), label="mlp[best]")
    assert result["margin"] > 0.0, result
