"""Hybrid-LLM strategy: P(small >= large) per ordered pair, turned into quality by total expectation."""

from __future__ import annotations

import numpy as np
import pytest

from routeiq_core import Candidate, ConfigError
from routeiq_strategies.hybrid_llm import HybridLLMStrategy, _transformed_threshold


def test_pair_is_cheapest_versus_strongest(clustered) -> None:
    """The pair compares the cheapest known candidate with the strongest known one."""
    hybrid = HybridLLMStrategy().fit(clustered.dataset)
    models = hybrid.models_
    small, large = hybrid.pair_for(clustered.candidates)
    assert models[small] == "c"
    assert models[large] in {"a", "b"}
    only_a = hybrid.pair_for(clustered.candidate("a", "brand-new"))
    assert only_a is None  # one known model: nothing to compare


def test_small_model_chosen_where_it_is_good_enough(clustered) -> None:
    """Against a, the cheap c is as good in cluster 1 (a fails there) but not in cluster 0."""
    hybrid = HybridLLMStrategy().fit(clustered.dataset)
    cands = clustered.candidate("a", "c")
    in_a = hybrid.predict(clustered.query(0), cands)
    in_b = hybrid.predict(clustered.query(1), cands)
    assert in_a.details["pair"] == ["c", "a"]
    assert in_b.details["p_small_ok"] > 0.8 > 0.4 > in_a.details["p_small_ok"]
    assert in_a.quality["a"] > in_a.quality["c"]
    assert in_b.quality["a"] < 0.2


@pytest.mark.parametrize("label", ["deterministic", "probabilistic", "transformed"])
def test_label_variants_train(clustered, label: str) -> None:
    """All three Hybrid-LLM labels fit and keep p in [0, 1]."""
    hybrid = HybridLLMStrategy(label=label).fit(clustered.dataset)
    p = hybrid.predict(clustered.query(1), clustered.candidate("a", "c")).details["p_small_ok"]
    assert 0.0 <= p <= 1.0


def test_transformed_threshold_balances_labels() -> None:
    """t* is the relaxation that makes 1[gap >= -t] closest to a 50/50 split."""
    gap = np.array([-1.0, -0.6, -0.6, -0.2, 0.0, 0.0, 0.0, 0.0])
    t = _transformed_threshold(gap)
    assert np.mean(gap >= -t) == pytest.approx(0.5, abs=0.13)
    assert 0.0 <= t < 0.6


def test_candidate_sets(clustered, checks) -> None:
    """Subset and superset candidates; unknown models get the explicit prior."""
    checks.candidate_sets(HybridLLMStrategy().fit(clustered.dataset), clustered)


def test_roundtrip_and_purity(clustered, checks, tmp_path) -> None:
    """save/load, batch == single, predict leaves fitted arrays alone."""
    checks.roundtrip(HybridLLMStrategy(label="probabilistic").fit(clustered.dataset), clustered, tmp_path)


def test_tiny_data(clustered, checks) -> None:
    """One prompt is a DatasetError; all-zero data means small is always good enough (quality ~0)."""
    checks.tiny_data(HybridLLMStrategy(), clustered, needs_differences=False)


def test_single_known_candidate_gets_its_mean(clustered) -> None:
    """With one known candidate the estimate is its mean training score."""
    hybrid = HybridLLMStrategy().fit(clustered.dataset)
    est = hybrid.predict(clustered.query(0), [Candidate(name="c", input_cost_per_mtok=0.1)])
    assert est.quality["c"] == pytest.approx(float(clustered.dataset.scores[:, 2].mean()))


@pytest.mark.parametrize("bad", [{"label": "soft"}, {"tau": 0}, {"alpha": -1}])
def test_bad_params(bad: dict) -> None:
    """Unknown labels and non-positive settings are ConfigErrors."""
    with pytest.raises(ConfigError):
        HybridLLMStrategy(**bad)


@pytest.mark.slow
def test_llmrouter_hybrid(llmrouter) -> None:
    """Hybrid-LLM (gemma-2-9b vs nemotron-51b) on LLMRouter: better than the cheap model alone."""
    result = llmrouter.evaluate(HybridLLMStrategy().fit(llmrouter.train))
    gemma = llmrouter.train.models.index("gemma-2-9b-it")
    assert result["max_quality"] > float(llmrouter.test.scores[:, gemma].mean()), result
    llmrouter.evaluate(HybridLLMStrategy(label="transformed").fit(llmrouter.train), label="hybrid_llm[transformed]")
