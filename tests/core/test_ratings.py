"""Public ratings: the built-in dated snapshot, its validation, and how the zero-config
strategy places candidates by rating (real Router, real embedder)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from routeiq_core import Candidate, Catalog, OnnxEmbedder, Router
from routeiq_core._candidates import make_candidates
from routeiq_core._centroid_strategy import CentroidStrategy, rating_strengths, required_strength
from routeiq_core._ratings import MAX_RATINGS, RatingTable, builtin_ratings, rating_key
from routeiq_core.errors import CandidateError, ConfigError

DATA = Path(__file__).resolve().parents[2] / "routeiq_core" / "data" / "ratings.json"
HARD_REASONING = ("Prove that there are infinitely many primes of the form 4k + 3, then explain step by step "
                  "why the same argument fails for primes of the form 4k + 1.")


def test_builtin_snapshot_is_dated_sourced_and_valid() -> None:
    doc = json.loads(DATA.read_text(encoding="utf-8"))
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", doc["source"]["as_of"])
    assert doc["source"]["url"].startswith("https://") and "@" in doc["source"]["copy"]
    table = builtin_ratings()
    assert len(table) == len(doc["ratings"]) >= 30
    assert all(1000 <= r.score <= 1600 for r in table.ratings.values())
    assert "2025-08-04" in table.source


def test_lookup_ignores_case_and_provider_prefix() -> None:
    table = builtin_ratings()
    assert rating_key("openai/GPT-4.1") == "gpt-4.1"
    found = table.get("openai/gpt-4.1")
    assert found is not None and found.score == table.get("GPT-4.1").score  # type: ignore[union-attr]
    assert table.get("nobody/unknown-model") is None
    # the shared data sets' own spellings resolve (RouterBench, RouteLLM, LLMRouter)
    for name in ("mistralai/mixtral-8x7b-chat", "gpt-4-1106-preview", "claude-v1", "WizardLM/WizardLM-13B-V1.2",
                 "mistralai/Mixtral-8x7B-Instruct-v0.1", "llama-3.1-nemotron-51b-instruct"):
        assert table.get(name) is not None, name


def test_every_catalog_model_is_rated_or_reported_as_estimated() -> None:
    catalog = Catalog.builtin().candidates
    strengths, note = rating_strengths(catalog)
    assert strengths is not None and len(strengths) == len(catalog)
    estimated = set(note.get("estimated_from_tier", []))  # type: ignore[arg-type]
    table = builtin_ratings()
    for cand in catalog:
        assert (table.get(cand.model, cand.name) is None) == (cand.name in estimated), cand.name


def test_required_strength_runs_from_the_weakest_to_the_strongest() -> None:
    values = (1000.0, 1100.0, 1300.0)
    assert required_strength(values, 1) == 1000.0 and required_strength(values, 5) == 1300.0
    assert required_strength(values, 3) == 1100.0 and required_strength(values, 2) == 1050.0
    assert required_strength((1200.0,), 4) == 1200.0


def test_price_separates_models_the_leaderboard_rates_alike() -> None:
    """gpt-4o and gpt-4o-mini are within 3 arena points; the price tier breaks the near-tie."""
    pair = (Candidate(name="4o", model="openai/gpt-4o", input_cost_per_mtok=2.5, output_cost_per_mtok=10, tier=4),
            Candidate(name="mini", model="openai/gpt-4o-mini", input_cost_per_mtok=0.15, output_cost_per_mtok=0.6,
                      tier=2))
    table = builtin_ratings()
    assert abs(table.get("gpt-4o").score - table.get("gpt-4o-mini").score) <= 5  # type: ignore[union-attr]
    strengths, _ = rating_strengths(pair)
    assert strengths is not None and strengths[0] > strengths[1]


@pytest.mark.parametrize("doc, expected", [
    ([], "expected an object with a 'ratings' object"),
    ({"ratings": {"m": {"score": float("nan")}}}, "expected a name and a 'score'"),
    ({"ratings": {"m": {"score": True}}}, "expected a name and a 'score'"),
    ({"ratings": {"m": {"score": 99999}}}, "expected a name and a 'score'"),
    ({"ratings": {"m": "1200"}}, "expected a name and a 'score'"),
    ({"ratings": {"": {"score": 1200}}}, "expected a name and a 'score'"),
    ({"ratings": {f"m{i}": {"score": 1000} for i in range(MAX_RATINGS + 1)}}, "at most"),
])
def test_bad_ratings_document_is_refused_with_a_reason(doc: object, expected: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(expected)):
        RatingTable.from_dict(doc, "my-ratings.json")


def test_candidate_rating_is_validated() -> None:
    with pytest.raises(CandidateError, match="rating"):
        make_candidates([{"name": "x", "input_cost_per_mtok": 1, "rating": -5}])
    with pytest.raises(CandidateError, match="rating"):
        make_candidates([{"name": "x", "input_cost_per_mtok": 1, "rating": float("inf")}])


#: Same price tier for the two strong-or-weak pairs: price cannot tell them apart, ratings can.
RATED = (
    Candidate(name="cheap-weak", model="v/cheap-weak", input_cost_per_mtok=0.1, output_cost_per_mtok=0.4,
              rating=1000),
    Candidate(name="cheap-strong", model="v/cheap-strong", input_cost_per_mtok=0.3, output_cost_per_mtok=1.2,
              rating=1300),
    Candidate(name="dear-weak", model="v/dear-weak", input_cost_per_mtok=8.0, output_cost_per_mtok=24.0,
              rating=1120),
)


def test_ratings_pick_the_strong_cheap_model_price_tiers_cannot_see(embedder: OnnxEmbedder) -> None:
    with_ratings = Router(RATED, embedder=embedder).decide(HARD_REASONING)
    assert with_ratings.details["required_tier"] >= 3
    assert with_ratings.candidate.name == "cheap-strong"
    assert with_ratings.details["ratings"]["source"] == "given"
    price_only = Router(RATED, embedder=embedder, strategy=CentroidStrategy(use_ratings=False)).decide(HARD_REASONING)
    assert price_only.candidate.name == "dear-weak"  # the only candidate whose price tier reaches the floor
    assert "ratings" not in price_only.details


def test_own_rating_overrides_the_builtin_one() -> None:
    builtin = builtin_ratings().get("openai/gpt-4.1")
    assert builtin is not None
    pair = (Candidate(name="a", model="openai/gpt-4.1", input_cost_per_mtok=2, output_cost_per_mtok=8, tier=3),
            Candidate(name="b", model="openai/gpt-4.1-nano", input_cost_per_mtok=0.1, output_cost_per_mtok=0.4,
                      tier=3))
    strengths, _ = rating_strengths(pair)
    assert strengths is not None and strengths[0] > strengths[1]  # gpt-4.1 is rated above gpt-4.1-nano
    demoted = (pair[0].model_copy(update={"rating": builtin.score - 500}), pair[1])
    strengths, note = rating_strengths(demoted)
    assert strengths is not None and strengths[0] < strengths[1] and "given" in str(note["source"])


def test_unrated_candidate_is_rated_by_its_tier_and_named(embedder: OnnxEmbedder) -> None:
    cands = (*RATED, Candidate(name="newcomer", model="v/newcomer", input_cost_per_mtok=0.2, output_cost_per_mtok=0.8,
                               tier=5))
    decision = Router(cands, embedder=embedder).decide("hello there")
    assert decision.details["ratings"]["estimated_from_tier"] == ["newcomer"]
    strengths, _ = rating_strengths(cands)
    # price says these ratings fall with tier (no usable slope), so the default points per tier
    # place the declared tier 5 above the rated candidates' mean
    assert strengths is not None and strengths[-1] > sum(strengths[:3]) / 3


def test_no_rating_at_all_keeps_the_tiers(embedder: OnnxEmbedder) -> None:
    cands = tuple(c.model_copy(update={"rating": None, "model": f"unknown/{c.name}"}) for c in RATED)
    strengths, note = rating_strengths(cands)
    assert strengths is None and note == {}
    decision = Router(cands, embedder=embedder).decide(HARD_REASONING)
    assert "ratings" not in decision.details


def test_unreadable_builtin_ratings_fall_back_to_price_tiers_with_a_warning(monkeypatch: pytest.MonkeyPatch,
                                                                            tmp_path: Path) -> None:
    import routeiq_core._ratings as ratings_module
    from routeiq_core.errors import RouteIQWarning

    broken = tmp_path / "ratings.json"
    broken.write_text("{not json")
    monkeypatch.setattr(ratings_module, "_BUILTIN", broken)
    monkeypatch.setattr(ratings_module, "_builtin", None)
    pair = (Candidate(name="a", model="openai/gpt-4.1", input_cost_per_mtok=2, output_cost_per_mtok=8),
            Candidate(name="b", model="openai/gpt-4.1-nano", input_cost_per_mtok=0.1, output_cost_per_mtok=0.4))
    with pytest.warns(RouteIQWarning, match="built-in ratings unreadable"):
        strengths, note = rating_strengths(pair)
    assert strengths is None and note == {}
