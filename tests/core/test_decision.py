"""The Decision: deterministic, JSON-serialisable, stable field names, a complete ranking."""

from __future__ import annotations

import json

import pytest

from routeiq_core import Candidate, Decision, OnnxEmbedder, Router

PROMPTS = [
    "hi",
    "Write a Python function that merges overlapping intervals and handle empty input.",
    "Prove that the sum of the first n odd numbers is n squared.",
    "Give me three names for a bakery that only sells croissants.",
]

DECISION_KEYS = {
    "schema_version", "candidate", "model", "tier", "tier_name", "profile", "strategy", "category", "confidence",
    "complexity", "complexity_label", "reason", "signals", "ranking", "excluded", "fallback", "warnings", "details",
    "timings_ms", "id", "propensity",
}
RANKING_KEYS = {"name", "model", "rank", "score", "quality", "cost_usd", "tier"}
SIGNAL_KEYS = {"name", "value", "weight", "detail"}
TIMING_KEYS = {"parse", "signals", "load", "embed", "classify", "before", "eligibility", "strategy", "choice", "explain",
               "total"}


@pytest.fixture(scope="module")
def fresh_router() -> Router:
    return Router(embedder=OnnxEmbedder(cache_size=0))


@pytest.mark.parametrize("prompt", PROMPTS)
def test_same_input_same_decision(router: Router, fresh_router: Router, prompt: str) -> None:
    """Deciding twice, and with a fresh router and cache-less embedder, gives equal decisions (timings aside)."""
    first = router.decide(prompt).to_dict(timings=False)
    assert router.decide(prompt).to_dict(timings=False) == first
    assert fresh_router.decide(prompt).to_dict(timings=False) == first


def test_to_dict_is_json_with_stable_field_names(router: Router) -> None:
    """to_dict() round-trips through JSON and has exactly the documented keys."""
    decision = router.decide(PROMPTS[1])
    data = json.loads(json.dumps(decision.to_dict()))
    assert set(data) == DECISION_KEYS
    assert data["schema_version"] == 1
    assert all(set(r) == RANKING_KEYS for r in data["ranking"])
    assert all(set(s) == SIGNAL_KEYS for s in data["signals"])
    assert set(data["timings_ms"]) == TIMING_KEYS
    assert set(decision.to_dict(timings=False)) == DECISION_KEYS - {"timings_ms", "id"}
    assert data["candidate"] == decision.name and data["model"] == decision.model
    assert data["tier_name"] in {"nano", "small", "medium", "large", "frontier"}
    assert data["complexity_label"] == decision.complexity_label


def test_ranking_covers_every_eligible_candidate(router: Router) -> None:
    """ranking lists every candidate not in excluded, best first, ranks 1..n, chosen first."""
    decision = router.decide(PROMPTS[2], profile="reasoning")
    names = [alt.name for alt in decision.ranking]
    all_names = {c.name for c in router.candidates}
    assert len(names) == len(set(names))
    assert set(names) | set(decision.excluded) == all_names
    assert not set(names) & set(decision.excluded)
    assert names[0] == decision.name
    assert [alt.rank for alt in decision.ranking] == list(range(1, len(names) + 1))
    scores = [alt.score for alt in decision.ranking]
    assert scores == sorted(scores, reverse=True)
    assert tuple(decision.alternatives) == tuple(decision.ranking[1:])
    assert decision.candidate == router.catalog.get(decision.name)


def test_excluded_explains_each_filtered_candidate(router: Router) -> None:
    """Candidates dropped by the profile, the caller or the request's needs each have a reason."""
    decision = router.decide(
        messages=[{"role": "user", "content": [{"type": "text", "text": "What is in this photo?"},
                                               {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}],
        profile="reasoning",
        exclude=["openai/o3"],
    )
    assert decision.excluded["openai/o3"].startswith("excluded by the caller")
    assert decision.excluded["openai/gpt-4o"] == "profile 'reasoning' requires reasoning"
    assert decision.excluded["deepseek/deepseek-reasoner"] == "the request needs vision"
    assert all(why for why in decision.excluded.values())


def test_timings_are_present_and_non_negative(router: Router) -> None:
    """timings_ms has every stage, all >= 0, and total is their sum."""
    timings = router.decide(PROMPTS[0]).timings_ms
    assert set(timings) == TIMING_KEYS
    assert all(v >= 0 for v in timings.values())
    assert timings["total"] == pytest.approx(sum(v for k, v in timings.items() if k != "total"))


def test_decision_fields_are_consistent(router: Router) -> None:
    """category, confidence, complexity, signals, reason and details agree with each other."""
    decision = router.decide(PROMPTS[1])
    assert isinstance(decision, Decision)
    assert decision.strategy == "centroid" and decision.profile == "auto"
    assert 0.0 <= decision.confidence <= 1.0
    assert 1 <= decision.complexity <= 5
    assert decision.category in decision.reason and decision.name in decision.reason
    assert decision.signal("category") is not None and decision.category in decision.signal("category").detail
    assert decision.signal("complexity").detail == f"level {decision.complexity}"
    assert 1 <= decision.details["required_tier"] <= 5
    assert decision.fallback is False and decision.warnings == ()
    assert decision.signal("no-such-signal") is None


def test_ranking_costs_follow_prices(embedder: OnnxEmbedder) -> None:
    """Estimated cost is price x estimated tokens, so a 10x pricier twin costs 10x more."""
    twins = [Candidate(name="cheap", input_cost_per_mtok=1.0, output_cost_per_mtok=2.0, tier=3),
             Candidate(name="dear", input_cost_per_mtok=10.0, output_cost_per_mtok=20.0, tier=3)]
    decision = Router(twins, embedder=embedder).decide("Summarise the plot of Hamlet in two sentences.")
    cost = {alt.name: alt.cost for alt in decision.ranking}
    assert cost["dear"] == pytest.approx(10 * cost["cheap"])
    assert decision.name == "cheap"
    assert "cheap" in decision.reason and "10.0x the cost" in decision.reason
