"""CausalLLM router: few-shot nearest-neighbour prompt, robust name parsing, kNN fallback."""

from __future__ import annotations

import asyncio
import dataclasses

import numpy as np
import pytest

from routeiq_core import Candidate, ConfigError
from routeiq_core.testing import FakeLLM
from routeiq_strategies.causal_llm import (
    CausalLLMStrategy,
    build_routing_prompt,
    majority_of_examples,
)


def _examples_in(prompt: str) -> list[tuple[str, str]]:
    lines = prompt.splitlines()
    return [(lines[i][len("Query: "):], lines[i + 1][len("Best model: "):])
            for i in range(len(lines) - 1) if lines[i].startswith("Query: ") and lines[i + 1].startswith("Best model: ")]


def test_prompt_shows_nearest_examples_with_tie_aware_labels(clustered) -> None:
    """Examples are the nearest training prompts, labelled with the cheapest tied-best candidate; all-fail rows skipped."""
    data = clustered.dataset
    scores = data.scores.copy()
    scores[:, 0] = np.where(data.embeddings @ clustered.centers[0] > 0.5, 1.0, 0.0)
    scores[:, 2] = scores[:, 0]  # c ties with a wherever a is right; c is cheaper
    scores[:, 1] = 0.0
    scores[:3] = 0.0  # a few prompts nobody answers
    ds = dataclasses.replace(data, scores=scores)
    fake = FakeLLM(default="c")
    strategy = CausalLLMStrategy(llm=fake, n_examples=4).fit(ds)
    est = strategy.predict(clustered.query(0), clustered.candidates)
    examples = _examples_in(fake.calls[0].messages[1]["content"])
    assert len(examples) == 4 == est.details["examples"]
    assert {name for _, name in examples} == {"c"}  # cheapest of the tied a/c
    sims = ds.embeddings @ clustered.query(0).embedding
    nearest_answerable = [ds.prompts[i] for i in np.argsort(-sims) if scores[i].max() > 0][:4]
    assert [text for text, _ in examples] == nearest_answerable[::-1]
    assert "- a\n- b\n- c" in fake.calls[0].messages[0]["content"]


def test_the_llm_pick_leads_and_mixes_with_knn(clustered) -> None:
    """The named candidate gets llm_weight on top of (1 - llm_weight) * the kNN estimate."""
    strategy = CausalLLMStrategy(llm=FakeLLM(default="I would send this to B."), llm_weight=0.6).fit(clustered.dataset)
    est = strategy.predict(clustered.query(0), clustered.candidates)
    prior = strategy._prior(clustered.query(0), clustered.candidates)
    assert est.details["choice"] == "b"
    assert est.quality["b"] == pytest.approx(0.4 * prior["b"] + 0.6)
    assert est.quality["a"] == pytest.approx(0.4 * prior["a"])
    assert asyncio.run(strategy.apredict(clustered.query(0), clustered.candidates)).details["choice"] == "b"


def test_unparseable_or_failing_llm_falls_back_to_knn(clustered) -> None:
    """A reply naming no candidate, or a raising callable, gives the kNN estimate with a warning."""
    mute = CausalLLMStrategy(llm=FakeLLM(default="Hard to say!")).fit(clustered.dataset)
    est = mute.predict(clustered.query(1), clustered.candidates)
    assert est.details["fallback"] is True and "names no candidate" in est.details["warning"]
    assert max(est.quality, key=est.quality.get) == "b"  # kNN still knows cluster 1
    broken = CausalLLMStrategy(llm=FakeLLM(fail_models=["gpt-4o-mini"])).fit(clustered.dataset)
    assert broken.predict(clustered.query(1), clustered.candidates).details["fallback"] is True


def test_majority_test_double_routes_clusters(clustered, best_of) -> None:
    """With the majority-of-examples test double, the loop end to end routes each cluster to its model."""
    strategy = CausalLLMStrategy(llm=FakeLLM(default=majority_of_examples), n_examples=6).fit(clustered.dataset)
    assert best_of(strategy, clustered.query(0), clustered.candidates) == "a"
    assert best_of(strategy, clustered.query(1), clustered.candidates) == "b"


def test_unknown_candidates_save_load_and_params(clustered, tmp_path) -> None:
    """An unseen candidate gets a prior and is never an example label; save/load + bind_llm; bad params fail."""
    fake = FakeLLM(default="newcomer")
    strategy = CausalLLMStrategy(llm=fake).fit(clustered.dataset)
    cands = [*list(clustered.candidates), Candidate(name="newcomer")]
    est = strategy.predict(clustered.query(0), cands)
    assert est.details["choice"] == "newcomer" and set(est.quality) == {"a", "b", "c", "newcomer"}
    assert "Best model: newcomer" not in fake.calls[-1].messages[1]["content"]
    strategy.save(tmp_path)
    loaded = CausalLLMStrategy.load(tmp_path).bind_llm(fake)
    assert loaded.predict(clustered.query(0), cands).quality == pytest.approx(est.quality)
    assert loaded.example_texts_ == strategy.example_texts_
    for bad in ({"llm_weight": 1.5}, {"n_examples": -1}, {"router_model": ""}, {"n_example": 3}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            CausalLLMStrategy(**bad)


def test_build_routing_prompt_without_examples() -> None:
    """Zero-shot prompts list the candidates (with model ids when they differ) and end with the question."""
    msgs = build_routing_prompt("hi", [Candidate(name="fast", model="openai/gpt-4o-mini")], [])
    assert "- fast (model openai/gpt-4o-mini)" in msgs[0]["content"]
    assert msgs[1]["content"] == "Query: hi\nBest model:"
