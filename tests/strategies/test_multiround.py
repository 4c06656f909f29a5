"""Multi-round routers: decomposition parsing, per-sub-query kNN routing, LLM assignment, fallbacks."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from routeiq_core import Candidate, ConfigError, Query, RoutingDataset, default_embedder
from routeiq_core.testing import FakeLLM
from routeiq_strategies.multiround import (
    KNNMultiRoundStrategy,
    LLMMultiRoundStrategy,
    parse_assignments,
    parse_subqueries,
)

ARITHMETIC = ["What is 7 times 8?", "Add 125 and 379.", "What is 1000 divided by 8?", "Subtract 45 from 300.",
              "What is 12 squared?", "Multiply 19 by 21.", "What is half of 96?", "What is 3 to the power of 5?"]
HISTORY = ["Who was the first emperor of Rome?", "When did the Berlin Wall fall?", "Who signed the Magna Carta?",
           "In which year did the French Revolution begin?", "Who was Cleopatra?", "When did World War I end?",
           "Which empire built Machu Picchu?", "Who was the first president of the United States?"]
CANDS = [Candidate(name="calc", input_cost_per_mtok=0.1, output_cost_per_mtok=0.1),
         Candidate(name="historian", input_cost_per_mtok=0.1, output_cost_per_mtok=0.1)]


@pytest.fixture(scope="module")
def topics() -> RoutingDataset:
    """Arithmetic prompts answered only by "calc", history prompts only by "historian" (real embeddings)."""
    embedder = default_embedder()
    texts = ARITHMETIC + HISTORY
    scores = np.array([[1.0, 0.0]] * len(ARITHMETIC) + [[0.0, 1.0]] * len(HISTORY))
    return RoutingDataset(ids=tuple(f"t{i}" for i in range(len(texts))), prompts=tuple(texts),
                          models=("calc", "historian"), scores=scores, embeddings=embedder.embed_many(texts),
                          embedding_model=embedder.model_id, name="topics")


def _query(text: str) -> Query:
    return Query(text=text, embedding=default_embedder().embed(text))


@pytest.mark.parametrize(
    ("reply", "expected"),
    [("1. What is 2+2?\n2. Who was Caesar?", ["What is 2+2?", "Who was Caesar?"]),
     ("- a b\n* c d\n\n- a b", ["a b", "c d"]),
     ("Sub-question 1: first part\nSub-query 2) second part", ["first part", "second part"]),
     ("", []), ("x", [])],
)
def test_parse_subqueries(reply: str, expected: list[str]) -> None:
    """Bullets, numbering and "Sub-question n:" prefixes go; duplicates and empty lines are dropped."""
    assert parse_subqueries(reply, 4) == expected


def test_parse_assignments() -> None:
    """"sub-query => model" lines (also ->, |, a last colon) pair each sub-query with a candidate; junk is skipped."""
    reply = ("1. What is 2+2? => calc\n- Who was Caesar? -> Historian\nsummary | nobody\n"
             "When was Rome founded: historian\nrandom chatter")
    pairs = parse_assignments(reply, CANDS, 8)
    assert [(s, c.name) for s, c in pairs] == [("What is 2+2?", "calc"), ("Who was Caesar?", "historian"),
                                               ("When was Rome founded", "historian")]
    assert parse_assignments("nothing useful", CANDS, 8) == []


def test_knn_multiround_routes_each_subquery(topics) -> None:
    """A mixed request is split; each part is routed by kNN; the aggregate is the mean of the parts' estimates."""
    fake = FakeLLM(default="1. What is 45 times 3?\n2. Who founded the Mongol Empire?")
    strategy = KNNMultiRoundStrategy(llm=fake, k=4).fit(topics)
    est = strategy.predict(_query("What is 45 times 3, and who founded the Mongol Empire?"), CANDS)
    assert est.details["sub_queries"] == ["What is 45 times 3?", "Who founded the Mongol Empire?"]
    assert est.details["choices"] == ["calc", "historian"]
    per_part = [strategy._prior(_query(s), CANDS) for s in est.details["sub_queries"]]  # kNN of each part alone
    for name in ("calc", "historian"):
        assert est.quality[name] == pytest.approx(np.mean([p[name] for p in per_part]))
    assert fake.models_called() == ["gpt-4o-mini"]
    aest = asyncio.run(strategy.apredict(_query("What is 45 times 3, and who founded the Mongol Empire?"), CANDS))
    assert aest.quality == pytest.approx(est.quality)


def test_knn_multiround_falls_back_to_the_whole_query(topics, clustered) -> None:
    """An empty decomposition, a failing call, or an embedder mismatch route the whole query, with a warning."""
    empty = KNNMultiRoundStrategy(llm=FakeLLM(default=""), k=4).fit(topics)
    est = empty.predict(_query("Who was the last tsar of Russia?"), CANDS)
    assert "no sub-queries" in est.details["warning"] and est.details["choices"] == ["historian"]
    broken = KNNMultiRoundStrategy(llm=FakeLLM(fail_models=["gpt-4o-mini"]), k=4).fit(topics)
    est = broken.predict(_query("What is 9 times 9?"), CANDS)
    assert est.details["fallback"] is True and max(est.quality, key=est.quality.get) == "calc"
    toy = KNNMultiRoundStrategy(llm=FakeLLM(default="part one\npart two"), k=5).fit(clustered.dataset)
    est = toy.predict(clustered.query(0), clustered.candidates)
    assert "not the model this strategy was trained with" in est.details["warning"]


def test_llm_multiround_shares_and_fallback(topics) -> None:
    """Quality mixes the prior with each candidate's share of assigned sub-queries; unparseable -> prior + warning."""
    fake = FakeLLM(default="What is 2+2? => calc\nWho was Caesar? => historian\nWhat is 3+3? => calc")
    strategy = LLMMultiRoundStrategy(llm=fake, assignment_weight=0.6)
    est = strategy.predict(_query("mixed"), CANDS)
    prior = {c.name: c.strength() for c in CANDS}  # unfitted: tier strength
    assert est.quality["calc"] == pytest.approx(0.4 * prior["calc"] + 0.6 * 2 / 3)
    assert est.details["choices"] == ["calc", "historian", "calc"]
    assert "- calc\n- historian" in fake.calls[0].messages[0]["content"]
    fitted = LLMMultiRoundStrategy(llm=FakeLLM(default="I'd rather not.")).fit(topics)
    est = fitted.predict(_query("mixed"), CANDS)
    assert est.details["fallback"] is True and "named a candidate" in est.details["warning"]
    assert est.quality == pytest.approx({"calc": 0.5, "historian": 0.5})


def test_bad_params_and_save_load(topics, tmp_path) -> None:
    """Bad parameters are ConfigErrors; a fitted kNN multi-round router survives save/load (re-bound)."""
    for cls, bad in ((KNNMultiRoundStrategy, {"max_subqueries": 0}), (LLMMultiRoundStrategy, {"assignment_weight": 2}),
                     (KNNMultiRoundStrategy, {"decomposer": "x"})):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            cls(**bad)
    fake = FakeLLM(default="What is 5 times 5?")
    strategy = KNNMultiRoundStrategy(llm=fake, k=4).fit(topics)
    strategy.save(tmp_path)
    loaded = KNNMultiRoundStrategy.load(tmp_path).bind_llm(fake)
    q = _query("What is 5 times 5?")
    assert loaded.predict(q, CANDS).quality == pytest.approx(strategy.predict(q, CANDS).quality)
