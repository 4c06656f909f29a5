"""Profiles: the one utility rule, the built-in profiles' semantics, and which profile applies."""

from __future__ import annotations

import numpy as np
import pytest

from routeiq_core import BUILTIN_PROFILES, Candidate, ConfigError, OnnxEmbedder, Profile, Router
from routeiq_core._profiles import rank_indices, relative_costs, select_many, utilities

PROMPTS = [
    "hello!",
    "What is the capital of Canada?",
    "Write a Python function that parses ISO 8601 dates and handle time zones.",
    "Prove that there is no largest prime number.",
    "Design a fault-tolerant job scheduler for a cluster of 1,000 machines; explain the trade-offs.",
]


# --------------------------------------------------------------------------- the rule


def test_relative_costs_log_scale() -> None:
    """Free is 0, the most expensive 1, and costs in between sit on a log scale."""
    rel = relative_costs(np.array([0.0, 1.0, 10.0, 100.0]))
    assert rel[0] == 0.0 and rel[-1] == pytest.approx(1.0)
    assert rel[1] == pytest.approx(np.log(2) / np.log(101))
    assert rel[2] == pytest.approx(np.log(11) / np.log(101))
    assert np.all(np.diff(rel) > 0)
    assert np.array_equal(relative_costs(np.zeros(3)), np.zeros(3))  # all free: no cost pressure


def test_utility_is_quality_minus_weighted_relative_cost() -> None:
    """utility = quality - cost_weight * relative_cost."""
    q, c = np.array([0.9, 0.8, 0.7]), np.array([10.0, 1.0, 0.0])
    assert np.allclose(utilities(q, c, 0.5), q - 0.5 * relative_costs(c))
    assert np.array_equal(utilities(q, c, 0.0), q)


def test_rank_indices_tie_breaks_quality_then_cost_then_name() -> None:
    """Equal utility goes to higher quality, then lower cost, then name order."""
    order, _ = rank_indices([0.8, 0.8, 0.8], [0.0, 0.0, 0.0], 0.5, ["b", "c", "a"])
    assert order == [2, 0, 1]
    order, _ = rank_indices([0.8, 0.8], [2.0, 1.0], 0.0, ["x", "y"])
    assert order == [1, 0]  # premium-like: same quality, the cheaper one first


def test_select_many_matches_rank_indices() -> None:
    """The vectorised evaluation rule picks what rank_indices ranks first, at several cost weights."""
    rng = np.random.default_rng(7)
    quality = np.round(rng.uniform(0.3, 1.0, size=(300, 6)), 2)
    cost = rng.choice([0.0, 0.0001, 0.001, 0.01, 0.05], size=(300, 6))
    for weight in (0.0, 0.15, 0.5, 2.0):
        picks = select_many(quality, cost, weight)
        for i in range(len(quality)):
            order, _ = rank_indices(quality[i], cost[i], weight)
            assert picks[i] == order[0], (weight, i)


def test_builtin_profiles_settings() -> None:
    """The built-in profiles have the documented cost weights and filters."""
    assert {n: p.cost_weight for n, p in BUILTIN_PROFILES.items()} == {
        "auto": 0.15, "eco": 0.5, "premium": 0.0, "free": 0.15, "reasoning": 0.1}
    assert BUILTIN_PROFILES["free"].free_only
    assert BUILTIN_PROFILES["reasoning"].require == {"reasoning"}
    assert all(not p.min_tier for p in BUILTIN_PROFILES.values())


# --------------------------------------------------------------------------- semantics on real decisions


@pytest.mark.parametrize("prompt", PROMPTS)
def test_premium_picks_a_highest_quality_candidate(router: Router, prompt: str) -> None:
    """premium chooses a candidate with the highest predicted quality; cost only breaks ties."""
    decision = router.decide(prompt, profile="premium")
    best = max(alt.quality for alt in decision.ranking)
    assert decision.ranking[0].quality == best
    cheapest_best = min(alt.cost for alt in decision.ranking if alt.quality == best)
    assert decision.ranking[0].cost == cheapest_best
    assert not decision.excluded


@pytest.mark.parametrize("prompt", PROMPTS)
def test_free_only_considers_free_candidates(router: Router, prompt: str) -> None:
    """free ranks only zero-cost candidates and explains every paid one in excluded."""
    decision = router.decide(prompt, profile="free")
    assert decision.candidate.is_free
    assert all(router.catalog.get(alt.name).is_free for alt in decision.ranking)
    paid = {c.name for c in router.candidates if not c.is_free}
    assert set(decision.excluded) == paid
    assert set(decision.excluded.values()) == {"profile 'free' admits only free candidates"}


@pytest.mark.parametrize("prompt", PROMPTS)
def test_reasoning_only_considers_reasoning_candidates(router: Router, prompt: str) -> None:
    """reasoning ranks only candidates that declare the reasoning capability."""
    decision = router.decide(prompt, profile="reasoning")
    assert all(router.catalog.get(alt.name).has("reasoning") for alt in decision.ranking)
    assert {c.name for c in router.candidates if not c.has("reasoning")} == set(decision.excluded)


@pytest.mark.parametrize("prompt", PROMPTS)
def test_eco_never_costs_more_than_auto(router: Router, prompt: str) -> None:
    """For the same prompt, eco's choice is never more expensive than auto's, nor auto's than premium's."""
    cost = {p: router.decide(prompt, profile=p).ranking[0].cost for p in ("eco", "auto", "premium")}
    assert cost["eco"] <= cost["auto"] <= cost["premium"]


def test_cost_weight_trades_quality_for_price(small_router: Router) -> None:
    """On an easy prompt premium buys headroom (the strongest model) while eco takes the cheapest adequate one."""
    premium = small_router.decide("What is the capital of Canada?", profile="premium")
    eco = small_router.decide("What is the capital of Canada?", profile="eco")
    assert premium.name == "frontier"
    assert eco.name == "local"  # free and adequate for a tier-1 question
    assert premium.ranking[0].quality > eco.ranking[0].quality


def test_hard_prompt_needs_a_high_tier_even_on_eco(small_router: Router) -> None:
    """A complexity-5 prompt requires tier 5: the shortfall penalty outweighs eco's cost saving."""
    prompt = ("Design a Byzantine fault-tolerant consensus protocol for a geo-replicated database, prove its "
              "safety and liveness rigorously, and analyse its message complexity step by step.")
    eco = small_router.decide(prompt, profile="eco")
    assert eco.complexity == 5 and eco.details["required_tier"] == 5
    assert eco.name == "frontier"


# --------------------------------------------------------------------------- which profile applies


@pytest.fixture(scope="module")
def mapped_router(embedder: OnnxEmbedder) -> Router:
    return Router(profile="premium", team_profiles={"research": "reasoning", "ops": "eco"},
                  key_profiles={"ci-key": "free"}, embedder=embedder)


@pytest.mark.parametrize(
    ("metadata", "profile", "expected"),
    [
        (None, None, "premium"),  # the router's default
        ({"team": "research"}, None, "reasoning"),  # team_profiles
        ({"user_api_key_team_id": "ops"}, None, "eco"),  # LiteLLM's team spelling
        ({"team": "research", "key_alias": "ci-key"}, None, "free"),  # key beats team
        ({"team": "research", "user_api_key_alias": "ci-key"}, None, "free"),  # LiteLLM's key spelling
        ({"team": "research", "key_alias": "ci-key", "profile": "auto"}, None, "auto"),  # metadata beats key
        ({"team": "research", "key_alias": "ci-key", "profile": "auto"}, "eco", "eco"),  # per call beats all
        ({"team": "unknown-team", "key_alias": "unknown-key"}, None, "premium"),  # unmapped -> default
    ],
)
def test_profile_precedence(mapped_router: Router, metadata: dict | None, profile: str | None, expected: str) -> None:
    """per-call profile > metadata profile > key_profiles > team_profiles > the router default."""
    decision = mapped_router.decide("Say hello in French.", metadata=metadata, profile=profile)
    assert decision.profile == expected


def test_custom_profiles(small: tuple[Candidate, ...], embedder: OnnxEmbedder) -> None:
    """Custom profiles (dict or Profile) can add filters, and can override a built-in."""
    router = Router(
        small,
        profiles={
            "big-only": {"cost_weight": 0.3, "min_tier": 4, "description": "tier 4+"},
            "coder": Profile(name="coder", cost_weight=0.2, require=frozenset({"code"})),
            "auto": {"cost_weight": 0.0},
        },
        embedder=embedder,
    )
    big = router.decide("hi", profile="big-only")
    assert {alt.name for alt in big.ranking} == {"thinker", "frontier"}
    assert big.excluded["nano"] == "profile 'big-only' requires tier >= 4"
    coder = router.decide("hi", profile="coder")
    assert {alt.name for alt in coder.ranking} == {"mid", "thinker", "frontier"}
    auto = router.decide("hi")  # overridden: quality only
    assert auto.ranking[0].quality == max(alt.quality for alt in auto.ranking)


@pytest.mark.parametrize(
    ("profiles", "fragment"),
    [
        ({"x": {"cost_weight": -1}}, "cost_weight"),
        ({"x": {"cost_weight": 0.1, "require": ["telepathy"]}}, "unknown capabilities"),
        ({"x": {"cost_weight": 0.1, "bogus": 1}}, "bogus"),
        ({"x": Profile(name="y", cost_weight=0.1)}, "differ"),
        ({"x": 0.3}, "expected a Profile or a dict"),
    ],
)
def test_invalid_custom_profiles(embedder: OnnxEmbedder, profiles: dict, fragment: str) -> None:
    """A malformed custom profile raises a one-line ConfigError naming it."""
    with pytest.raises(ConfigError, match=fragment) as info:
        Router(profiles=profiles, embedder=embedder)
    assert str(info.value).startswith("profiles['x']: ") and "\n" not in str(info.value)
