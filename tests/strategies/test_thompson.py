"""Thompson sampling strategy: online Beta-Bernoulli bandit per (cluster, model)."""

from __future__ import annotations

import numpy as np
import pytest

from routeiq_core import Candidate, ConfigError, DatasetError, Query
from routeiq_strategies.thompson import ThompsonStrategy

PLAIN = Query(text="hello")


def _cands(*names: str) -> list[Candidate]:
    return [Candidate(name=n) for n in names]


def test_unfitted_bandit_learns_from_feedback() -> None:
    """Without fit every arm starts at Beta(1, 1); feedback moves the posterior means."""
    bandit = ThompsonStrategy(n_clusters=1, sample=False)
    assert bandit.tags.online and bandit.tags.deterministic and not bandit.tags.needs_embedding
    assert bandit.predict(PLAIN, _cands("x", "y")).quality == {"x": 0.5, "y": 0.5}
    for _ in range(8):
        bandit.update(PLAIN, Candidate(name="x"), 1.0)
        bandit.update(PLAIN, Candidate(name="y"), 0.0)
    quality = bandit.predict(PLAIN, _cands("x", "y", "z")).quality
    assert quality["x"] == pytest.approx(9 / 10) and quality["y"] == pytest.approx(1 / 10)
    assert quality["z"] == 0.5 and bandit.models_ == ["x", "y"] and bandit.n_updates_ == 16


def test_sampling_is_seeded_and_explores() -> None:
    """Draws are reproducible for a seed, differ between calls, and favour the better arm."""
    one, two = ThompsonStrategy(n_clusters=1, seed=7), ThompsonStrategy(n_clusters=1, seed=7)
    assert not one.tags.deterministic
    for bandit in (one, two):
        for _ in range(20):
            bandit.update(PLAIN, Candidate(name="good"), 0.9)
            bandit.update(PLAIN, Candidate(name="bad"), 0.2)
    draws = [one.predict(PLAIN, _cands("good", "bad")).quality for _ in range(200)]
    assert draws == [two.predict(PLAIN, _cands("good", "bad")).quality for _ in range(200)]
    assert len({d["good"] for d in draws}) > 100
    assert np.mean([d["good"] > d["bad"] for d in draws]) > 0.9


def test_fitted_prior_per_cluster(clustered, best_of) -> None:
    """fit learns clusters and a capped prior: a leads in cluster 0, b in cluster 1."""
    bandit = ThompsonStrategy(n_clusters=2, sample=False, prior_strength=20).fit(clustered.dataset)
    assert bandit.alpha_.shape == (2, 3)
    assert (bandit.alpha_ + bandit.beta_).max() == pytest.approx(22.0)
    assert best_of(bandit, clustered.query(0), clustered.candidates) == "a"
    assert best_of(bandit, clustered.query(1), clustered.candidates) == "b"


def test_feedback_overrides_a_weak_prior(clustered, best_of) -> None:
    """Enough live failures of a in cluster 0 hand the cluster to another model."""
    bandit = ThompsonStrategy(n_clusters=2, sample=False, prior_strength=5).fit(clustered.dataset)
    query = clustered.query(0)
    for _ in range(30):
        bandit.update(query, clustered.candidates[0], 0.0)
    assert best_of(bandit, query, clustered.candidates) != "a"
    assert best_of(bandit, clustered.query(1), clustered.candidates) == "b"  # other cluster untouched


def test_bad_feedback_and_params() -> None:
    """Feedback outside [0, 1] is a DatasetError; bad params are ConfigErrors."""
    bandit = ThompsonStrategy(n_clusters=1)
    with pytest.raises(DatasetError, match=r"\[0, 1\]"):
        bandit.update(PLAIN, Candidate(name="x"), 1.5)
    with pytest.raises(DatasetError):
        bandit.update(PLAIN, Candidate(name="x"), float("nan"))
    for bad in ({"a0": 0}, {"n_clusters": 0}, {"prior_strength": -1}):
        with pytest.raises(ConfigError):
            ThompsonStrategy(**bad)


def test_roundtrip_after_updates(clustered, tmp_path) -> None:
    """Posterior counts (incl. arms added online) survive save/load."""
    bandit = ThompsonStrategy(n_clusters=2, sample=False).fit(clustered.dataset)
    bandit.update(clustered.query(1), Candidate(name="newcomer"), 1.0)
    bandit.save(tmp_path)
    loaded = ThompsonStrategy.load(tmp_path)
    cands = clustered.candidate("a", "b", "c", "newcomer")
    assert loaded.predict(clustered.query(1), cands).quality == bandit.predict(clustered.query(1), cands).quality
    assert loaded.models_ == ["a", "b", "c", "newcomer"]


def test_predict_is_pure(clustered, checks) -> None:
    """Predicting (even with sampling) never changes the posterior."""
    bandit = ThompsonStrategy(n_clusters=2).fit(clustered.dataset)
    before = checks.fitted_arrays(bandit)
    bandit.predict_batch([clustered.query(0), clustered.query(1)], clustered.candidates)
    after = checks.fitted_arrays(bandit)
    assert all(np.array_equal(before[k], after[k]) for k in before)


@pytest.mark.slow
def test_llmrouter_thompson(llmrouter) -> None:
    """Posterior means with a data prior over 8 clusters route better than random (0.40)."""
    bandit = ThompsonStrategy(sample=False).fit(llmrouter.train)
    result = llmrouter.evaluate(bandit)
    assert result["max_quality"] > 0.5, result


def test_router_feedback_reaches_the_bandit() -> None:
    """A real Router forwards feedback to the bandit, and repeated failures move the choice."""
    from routeiq_core import Router

    cands = [Candidate(name="alpha", input_cost_per_mtok=1.0, output_cost_per_mtok=1.0),
             Candidate(name="beta", input_cost_per_mtok=1.0, output_cost_per_mtok=1.0)]
    router = Router(cands, strategy=ThompsonStrategy(n_clusters=1, sample=False), profile="premium")
    first = router.decide("Summarise this paragraph in one sentence.")
    assert not first.fallback
    for _ in range(5):
        router.feedback(first, 0.0)
    second = router.decide("Summarise this paragraph in one sentence.")
    assert second.name != first.name
    assert router.strategy.n_updates_ == 5
