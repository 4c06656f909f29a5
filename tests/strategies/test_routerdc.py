"""RouterDC on a frozen encoder: contrastive sets, exact gradients, learning, persistence, real data."""

from __future__ import annotations

import numpy as np
import pytest

from routeiq_core import ConfigError
from routeiq_strategies._nn import kmeans
from routeiq_strategies.routerdc import (
    RouterDCStrategy,
    _cluster_triples,
    contrastive_sets,
    dual_contrastive_loss,
)

FAST = {"steps": 300}


def test_contrastive_sets_are_tie_aware_and_masked() -> None:
    """Ties at the k-th score join the set; zero-score positives and >0.5 negatives are dropped; NaN is neither."""
    scores = np.array([
        [1.0, 1.0, 1.0, 1.0, 0.0, 0.0],  # 4 tied positives with top_k=3; the two zeros are negatives
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],  # nothing scored: no positive
        [0.9, 0.8, 0.7, 0.6, 0.55, np.nan],  # every negative candidate scores > 0.5: masked
        [1.0, 0.2, 0.1, 0.0, np.nan, 0.3],
    ])
    pos, neg = contrastive_sets(scores, top_k=3, last_k=3)
    assert pos[0].tolist() == [True, True, True, True, False, False]
    assert neg[0].tolist() == [False, False, False, False, True, True]
    assert not pos[1].any()
    assert pos[2].tolist() == [True, True, True, False, False, False] and not neg[2].any()
    assert pos[3].tolist() == [True, True, False, False, False, True]
    assert neg[3].tolist() == [False, False, True, True, False, False]


def test_gradients_match_finite_differences() -> None:
    """The hand-written gradients of both losses equal central finite differences."""
    rng = np.random.default_rng(0)
    h, a, e = rng.normal(size=(8, 6)), rng.normal(size=(4, 6)), rng.normal(size=(5, 4))
    scores = rng.integers(0, 2, size=(8, 5)).astype(float)
    scores[0, 1] = np.nan
    pos, neg = contrastive_sets(scores, 2, 2)
    triples = _cluster_triples(rng.integers(0, 2, 8), 2, rng)

    def loss(a_: np.ndarray, e_: np.ndarray) -> float:
        return dual_contrastive_loss(a_, e_, h, pos, neg, 2, 0.5, triples, 0.7)[0]

    _, grads = dual_contrastive_loss(a, e, h, pos, neg, 2, 0.5, triples, 0.7)
    for name, arr in (("a", a), ("e", e)):
        numeric = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            up, down = arr.copy(), arr.copy()
            up[idx] += 1e-6
            down[idx] -= 1e-6
            args_up = (up, e) if name == "a" else (a, up)
            args_down = (down, e) if name == "a" else (a, down)
            numeric[idx] = (loss(*args_up) - loss(*args_down)) / 2e-6
        np.testing.assert_allclose(grads[name], numeric, atol=1e-7)


def test_cluster_triples_pick_same_and_other_clusters() -> None:
    """Each row's positive shares its cluster (not itself); its negatives do not; impossible rows are -1."""
    rng = np.random.default_rng(3)
    clusters = np.array([0, 0, 0, 1, 1, 2])
    triples = _cluster_triples(clusters, 2, rng)
    for i, row in enumerate(triples):
        if i == 5:  # cluster 2 has no other member
            assert (row == -1).all()
            continue
        assert row[0] != i and clusters[row[0]] == clusters[i]
        assert all(clusters[j] != clusters[i] for j in row[1:])


def test_kmeans_is_seeded_and_finds_separated_clusters() -> None:
    """k-means recovers three well-separated groups, is reproducible, and never leaves duplicates' clusters empty."""
    rng = np.random.default_rng(1)
    centers = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    truth = rng.integers(0, 3, 150)
    x = centers[truth] + rng.normal(size=(150, 2))
    labels, _found = kmeans(x, 3, seed=4)
    again, _ = kmeans(x, 3, seed=4)
    assert np.array_equal(labels, again)
    for c in range(3):  # each true group maps to exactly one found cluster
        assert len(set(labels[truth == c])) == 1
    assert len(set(labels)) == 3
    dup_labels, dup_centers = kmeans(np.ones((10, 2)), 3)
    assert dup_centers.shape == (1, 2) and (dup_labels == 0).all()


def test_learns_which_model_serves_which_cluster(clustered, best_of) -> None:
    """On two clusters served by different models, the learned cosine ranks the right model first."""
    strategy = RouterDCStrategy(**FAST).fit(clustered.dataset)
    assert best_of(strategy, clustered.query(0), clustered.candidates) == "a"
    assert best_of(strategy, clustered.query(1), clustered.candidates) == "b"
    quality = strategy.predict(clustered.query(1), clustered.candidates).quality
    assert all(0.0 <= v <= 1.0 for v in quality.values())
    assert quality["b"] > 0.6 > quality["a"]
    assert strategy.calibration_[0] > 0  # monotone calibration keeps RouterDC's ranking
    assert np.allclose(np.linalg.norm(strategy.model_embeddings_, axis=1), 1.0, atol=1e-5)


def test_cluster_loss_off_still_learns(clustered, best_of) -> None:
    """With the cluster loss switched off the sample-LLM loss alone separates the clusters."""
    strategy = RouterDCStrategy(cluster_weight=0.0, **FAST).fit(clustered.dataset)
    assert best_of(strategy, clustered.query(0), clustered.candidates) == "a"


def test_candidates_roundtrip_and_tiny_data(clustered, checks, tmp_path) -> None:
    """Subset/superset candidates, save/load without pickle, pure predict, and too little data."""
    strategy = RouterDCStrategy(**FAST).fit(clustered.dataset)
    checks.candidate_sets(strategy, clustered)
    checks.roundtrip(strategy, clustered, tmp_path)
    checks.tiny_data(strategy, clustered, needs_differences=True)


def test_seeded_training_is_reproducible(clustered) -> None:
    """The same seed gives the same fitted map; another seed a different one."""
    one = RouterDCStrategy(steps=50).fit(clustered.dataset)
    two = RouterDCStrategy(steps=50).fit(clustered.dataset)
    other = RouterDCStrategy(steps=50, seed=1).fit(clustered.dataset)
    assert np.array_equal(one.map_, two.map_)
    assert not np.array_equal(one.map_, other.map_)


@pytest.mark.parametrize("bad", [{"temperature": 0}, {"top_k": 0}, {"latent_dim": 1}, {"steps": 0},
                                 {"learning_rate": -1}, {"lattent_dim": 8}])
def test_bad_params_are_config_errors(bad: dict) -> None:
    """Out-of-range or misspelled parameters raise ConfigError naming the field."""
    with pytest.raises(ConfigError, match=next(iter(bad))):
        RouterDCStrategy(**bad)


def test_llmrouter_routerdc(llmrouter) -> None:
    """RouterDC on LLMRouter: within a point of the best single model's quality (0.563) at a lower cost."""
    strategy = RouterDCStrategy().fit(llmrouter.train)
    result = llmrouter.evaluate(strategy)
    assert result["max_quality"] < llmrouter.oracle
    assert result["margin"] > -0.01, result


def test_unknown_scores_are_ignored(clustered, best_of) -> None:
    """NaN scores are neither positives nor negatives, and k-means fills them with column means: it still learns."""
    import dataclasses

    rng = np.random.default_rng(4)
    scores = clustered.dataset.scores.copy()
    scores[rng.random(scores.shape) < 0.3] = np.nan
    strategy = RouterDCStrategy(**FAST).fit(dataclasses.replace(clustered.dataset, scores=scores))
    assert best_of(strategy, clustered.query(0), clustered.candidates) == "a"
    assert best_of(strategy, clustered.query(1), clustered.candidates) == "b"
