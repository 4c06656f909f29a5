"""Matrix factorisation strategy: RouteLLM-style bilinear scores from tie-aware pairs."""

from __future__ import annotations

import numpy as np
import pytest

from routeiq_core import ConfigError
from routeiq_strategies.matrix_factorization import (
    MatrixFactorizationStrategy,
    _pair_gradients,
    preference_pairs,
)


def test_pairs_skip_ties_and_unknowns() -> None:
    """Only strictly ordered, known pairs become training pairs; all-zero rows give none."""
    scores = np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 0.0], [0.5, np.nan, 0.2]])
    pairs = {tuple(p) for p in preference_pairs(scores).tolist()}
    assert pairs == {(0, 0, 1), (0, 2, 1), (2, 0, 2)}


def test_hand_written_gradients_match_finite_differences() -> None:
    """The analytic gradients (incl. the normalisation Jacobian) agree with central differences."""
    rng = np.random.default_rng(0)
    d, h, m, b = 5, 4, 3, 6
    x = rng.normal(size=(b, d))
    win, lose = rng.integers(0, m, b), rng.integers(0, m, b)
    params = [rng.normal(size=(d, h)), rng.normal(size=(m, h)), rng.normal(size=h)]

    def loss(proj, vectors, readout):
        p_hat = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        u = x @ proj
        gap = ((p_hat[win] - p_hat[lose]) * u) @ readout
        return float(np.mean(np.logaddexp(0.0, -gap)))

    grads = _pair_gradients(x, win, lose, *params)
    eps = 1e-6
    for k, (param, grad) in enumerate(zip(params, grads)):
        numeric = np.zeros_like(param)
        for idx in np.ndindex(param.shape):
            plus = [p.copy() for p in params]
            minus = [p.copy() for p in params]
            plus[k][idx] += eps
            minus[k][idx] -= eps
            numeric[idx] = (loss(*plus) - loss(*minus)) / (2 * eps)
        assert grad == pytest.approx(numeric, rel=1e-3, abs=1e-6)


def test_each_cluster_gets_its_winner(clustered, best_of) -> None:
    """Pairwise training ranks a first in cluster 0 and b first in cluster 1."""
    mf = MatrixFactorizationStrategy(hidden=16, epochs=20).fit(clustered.dataset)
    assert best_of(mf, clustered.query(0), clustered.candidates) == "a"
    assert best_of(mf, clustered.query(1), clustered.candidates) == "b"
    assert mf.n_pairs_ == len(preference_pairs(clustered.dataset.scores))


def test_candidate_sets(clustered, checks) -> None:
    """Subset and superset candidates; unknown models get the explicit prior."""
    checks.candidate_sets(MatrixFactorizationStrategy(hidden=16, epochs=20).fit(clustered.dataset), clustered)


def test_roundtrip_and_purity(clustered, checks, tmp_path) -> None:
    """save/load, batch == single, predict leaves fitted arrays alone."""
    checks.roundtrip(MatrixFactorizationStrategy(hidden=8, epochs=2).fit(clustered.dataset), clustered, tmp_path)


def test_tiny_data(clustered, checks) -> None:
    """One prompt, or data with no strict preference, is a DatasetError."""
    checks.tiny_data(MatrixFactorizationStrategy(hidden=8, epochs=1), clustered, needs_differences=True)


def test_seeded(clustered) -> None:
    """The same seed gives the same factors."""
    one = MatrixFactorizationStrategy(hidden=8, epochs=2, seed=5).fit(clustered.dataset)
    two = MatrixFactorizationStrategy(hidden=8, epochs=2, seed=5).fit(clustered.dataset)
    assert np.array_equal(one.model_vectors_, two.model_vectors_)


@pytest.mark.parametrize("bad", [{"hidden": 0}, {"epochs": 0}, {"learning_rate": 0}, {"dim": 3}])
def test_bad_params(bad: dict) -> None:
    """Out-of-range or unknown hyper-parameters are ConfigErrors."""
    with pytest.raises(ConfigError):
        MatrixFactorizationStrategy(**bad)


@pytest.mark.slow
def test_llmrouter_mf(llmrouter) -> None:
    """MF on LLMRouter: about the best single model's quality at a lower cost (random choice: 0.40)."""
    result = llmrouter.evaluate(MatrixFactorizationStrategy().fit(llmrouter.train))
    assert result["margin"] > -0.02, result
