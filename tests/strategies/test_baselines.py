"""Size baselines: smallest_llm / largest_llm."""

from __future__ import annotations

import pytest

from routeiq_core import Candidate, ConfigError, Query
from routeiq_strategies.baselines import LargestLLMStrategy, SmallestLLMStrategy

QUERY = Query(text="hello")


def _cands() -> list[Candidate]:
    return [
        Candidate(name="big", input_cost_per_mtok=0.9, output_cost_per_mtok=0.9, size_b=70),
        Candidate(name="mid", input_cost_per_mtok=0.3, output_cost_per_mtok=0.3, size_b=12),
        Candidate(name="tiny-a", input_cost_per_mtok=0.2, output_cost_per_mtok=0.2, size_b=7),
        Candidate(name="tiny-b", input_cost_per_mtok=0.1, output_cost_per_mtok=0.1, size_b=7),
    ]


def _top(estimate_quality: dict[str, float]) -> str:
    return max(estimate_quality, key=estimate_quality.__getitem__)


def test_smallest_prefers_fewest_parameters_and_cheaper_on_ties() -> None:
    """Among two 7B candidates the cheaper one ranks first; the 70B one last."""
    quality = SmallestLLMStrategy().predict(QUERY, _cands()).quality
    assert _top(quality) == "tiny-b"
    assert quality["tiny-b"] > quality["tiny-a"] > quality["mid"] > quality["big"]
    assert quality["tiny-b"] == 1.0 and quality["big"] == pytest.approx(0.5)


def test_largest_prefers_most_parameters() -> None:
    """largest_llm puts the 70B candidate first and needs no fit or embedding."""
    strategy = LargestLLMStrategy()
    assert strategy.is_fitted() and not strategy.tags.needs_embedding
    quality = strategy.predict(QUERY, _cands()).quality
    assert _top(quality) == "big"
    assert quality["big"] > quality["mid"] > quality["tiny-b"] > quality["tiny-a"]


def test_order_of_candidates_does_not_matter() -> None:
    """Ranks depend on size, price and name only, never on list order."""
    forward = SmallestLLMStrategy().predict(QUERY, _cands()).quality
    backward = SmallestLLMStrategy().predict(QUERY, list(reversed(_cands()))).quality
    assert forward == backward


def test_tier_stands_in_for_missing_size() -> None:
    """Without size_b the tier (inferred from price) gives a rough size."""
    cands = [
        Candidate(name="frontier", input_cost_per_mtok=15, output_cost_per_mtok=60),
        Candidate(name="nano", input_cost_per_mtok=0.05, output_cost_per_mtok=0.1),
        Candidate(name="sized", input_cost_per_mtok=15, output_cost_per_mtok=60, size_b=1),
    ]
    strategy = SmallestLLMStrategy()
    assert strategy.size_of(cands[0]) == 400.0 and strategy.size_of(cands[1]) == 3.0
    assert _top(strategy.predict(QUERY, cands).quality) == "sized"
    custom = SmallestLLMStrategy(tier_sizes_b={1: 100, 2: 100, 3: 100, 4: 100, 5: 0.5})
    assert _top(custom.predict(QUERY, cands).quality) == "frontier"


def test_single_candidate_and_spread() -> None:
    """One candidate gets quality 1; spread sets the distance to the other end."""
    assert SmallestLLMStrategy().predict(QUERY, _cands()[:1]).quality == {"big": 1.0}
    quality = LargestLLMStrategy(spread=1.0).predict(QUERY, _cands()).quality
    assert min(quality.values()) == pytest.approx(0.0)


@pytest.mark.parametrize("bad", [{"spread": 0}, {"spread": 2}, {"tier_sizes_b": {1: 3}},
                                 {"tier_sizes_b": {1: 1, 2: 1, 3: 1, 4: 1, 5: -1}}, {"bogus": 1}])
def test_bad_params_are_config_errors(bad: dict) -> None:
    """Invalid parameters raise ConfigError naming the field."""
    with pytest.raises(ConfigError):
        LargestLLMStrategy(**bad)


def test_save_load_roundtrip(tmp_path) -> None:
    """An unfitted baseline saves its parameters and loads back equal."""
    strategy = SmallestLLMStrategy(spread=0.3)
    strategy.save(tmp_path)
    loaded = SmallestLLMStrategy.load(tmp_path)
    assert loaded.params == strategy.params
    assert loaded.predict(QUERY, _cands()).quality == strategy.predict(QUERY, _cands()).quality


@pytest.mark.slow
def test_llmrouter_baselines(llmrouter) -> None:
    """On LLMRouter test data the size baselines do not beat the best single model (size is not quality)."""
    best_quality, _ = llmrouter.best_single
    for strategy in (SmallestLLMStrategy(), LargestLLMStrategy()):
        result = llmrouter.evaluate(strategy)
        assert result["max_quality"] < best_quality
