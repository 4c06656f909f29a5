"""kNN strategy: neighbours' mean scores with shrinkage."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from routeiq_core import ConfigError, DatasetError, NotFittedError
from routeiq_strategies.knn import KNNStrategy


def test_each_cluster_gets_its_winner(clustered, best_of) -> None:
    """Model a wins cluster 0 and b cluster 1; the nearest neighbours know it."""
    knn = KNNStrategy(k=10).fit(clustered.dataset)
    assert best_of(knn, clustered.query(0), clustered.candidates) == "a"
    assert best_of(knn, clustered.query(1), clustered.candidates) == "b"
    estimate = knn.predict(clustered.query(0), clustered.candidates)
    assert estimate.details["neighbours"] == 10 and estimate.details["mean_similarity"] > 0.8


def test_candidate_sets(clustered, checks) -> None:
    """Subset and superset candidates; unknown models get the explicit prior."""
    checks.candidate_sets(KNNStrategy().fit(clustered.dataset), clustered)


def test_roundtrip_and_purity(clustered, checks, tmp_path) -> None:
    """save/load, batch == single, and predict leaves fitted arrays alone."""
    checks.roundtrip(KNNStrategy(k=7, weighting="uniform").fit(clustered.dataset), clustered, tmp_path)


def test_tiny_data(clustered, checks) -> None:
    """One prompt is too few; all-zero scores are fine (it regresses scores) and predict ~0."""
    checks.tiny_data(KNNStrategy(), clustered, needs_differences=False)


def test_shrinkage_pulls_towards_global_mean(clustered) -> None:
    """Huge shrinkage makes every query look like the global model means."""
    knn = KNNStrategy(k=5, shrinkage=1e9, quality_calibration="none").fit(clustered.dataset)
    quality = knn.predict(clustered.query(0), clustered.candidates).quality
    means = np.nanmean(clustered.dataset.scores, axis=0)
    assert [quality[m] for m in "abc"] == pytest.approx(means.tolist(), abs=1e-6)


def test_uniform_weights_equal_plain_mean(clustered) -> None:
    """Uniform weights with no shrinkage give the plain mean of the k neighbours' scores."""
    data = clustered.dataset
    knn = KNNStrategy(k=4, weighting="uniform", shrinkage=0).fit(data)
    query = clustered.query(1, noise=0.4, seed=7)
    sims = data.embeddings @ query.embedding
    top = np.argsort(-sims)[:4]
    quality = knn.predict(query, clustered.candidates).quality
    assert [quality[m] for m in "abc"] == pytest.approx(data.scores[top].mean(axis=0).tolist())


def test_unknown_scores_are_ignored(clustered) -> None:
    """NaN (unknown) neighbour scores do not count as zeros."""
    scores = clustered.dataset.scores.copy()
    scores[:, 0] = np.where(scores[:, 0] == 0, np.nan, scores[:, 0])  # a: only its successes known
    knn = KNNStrategy(k=10, shrinkage=0).fit(dataclasses.replace(clustered.dataset, scores=scores))
    assert knn.predict(clustered.query(1), clustered.candidates).quality["a"] == pytest.approx(1.0)


def test_k_larger_than_data(clustered) -> None:
    """k above the number of training prompts uses all of them."""
    small = clustered.dataset.subset(range(6))
    knn = KNNStrategy(k=50).fit(small)
    assert knn.predict(clustered.query(0), clustered.candidates).details["neighbours"] == 6


def test_errors(clustered) -> None:
    """Bad params, predict before fit, and a wrong embedding dimension are clear errors."""
    with pytest.raises(ConfigError, match="k"):
        KNNStrategy(k=0)
    with pytest.raises(ConfigError):
        KNNStrategy(weighting="cosine")
    with pytest.raises(NotFittedError):
        KNNStrategy().predict(clustered.query(0), clustered.candidates)
    knn = KNNStrategy().fit(clustered.dataset)
    bad = dataclasses.replace(clustered.query(0), embedding=np.ones(5, dtype=np.float32))
    with pytest.raises(DatasetError, match="dimension"):
        knn.predict(bad, clustered.candidates)
    with pytest.raises(DatasetError, match="embed"):
        KNNStrategy().fit(dataclasses.replace(clustered.dataset, embeddings=None))


@pytest.mark.slow
def test_llmrouter_knn(llmrouter) -> None:
    """kNN on LLMRouter: beats the best single model's quality at lower cost at some cost weight."""
    result = llmrouter.evaluate(KNNStrategy(k=20).fit(llmrouter.train))
    assert result["margin"] > 0.01, result


def test_index_scanning_every_list_equals_exact_search(make_toy) -> None:
    """The inverted-file index with all lists probed finds exactly the neighbours of the exact search."""
    data = make_toy(n=400, seed=2)
    exact = KNNStrategy(k=15).fit(data.dataset)
    indexed = KNNStrategy(k=15, approximate_above=100, n_probe=1000).fit(data.dataset)
    assert indexed.list_starts_[-1] == 400 and len(indexed.list_centroids_) == 20
    queries = [data.query(c, noise=0.6, seed=s) for c in (0, 1) for s in range(5)]
    for q in queries:
        assert indexed.predict(q, data.candidates).quality == pytest.approx(exact.predict(q, data.candidates).quality)


def test_index_with_few_probes_still_routes(make_toy, best_of, checks, tmp_path) -> None:
    """Probing 2 of 20 lists keeps the cluster winners, and the index survives save/load."""
    data = make_toy(n=400, seed=2)
    indexed = KNNStrategy(k=15, approximate_above=100, n_probe=2).fit(data.dataset)
    assert best_of(indexed, data.query(0), data.candidates) == "a"
    assert best_of(indexed, data.query(1), data.candidates) == "b"
    checks.roundtrip(indexed, data, tmp_path)


@pytest.mark.slow
def test_llmrouter_artifact_through_the_router(llmrouter, tmp_path) -> None:
    """A kNN artifact trained on real data loads into a Router and routes real prompts without fallback."""
    from routeiq_core import Router

    KNNStrategy().fit(llmrouter.train).save(tmp_path / "knn")
    router = Router.from_artifact(tmp_path / "knn", candidates=llmrouter.candidates, profile="premium")
    decision = router.decide(llmrouter.test.prompts[0])
    assert not decision.fallback and decision.strategy == "knn"
    assert decision.name in {c.name for c in llmrouter.candidates}
