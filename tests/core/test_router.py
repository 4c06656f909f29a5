"""Router: async and batch twins, exclusions, the fallback when a strategy fails, helpers."""

from __future__ import annotations

import asyncio
import json
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from routeiq_core import (
    BaseStrategy,
    Candidate,
    Catalog,
    ConfigError,
    Estimate,
    NoCandidatesError,
    OnnxEmbedder,
    Query,
    Router,
    StrategyTags,
)
from routeiq_core.errors import FallbackWarning

MESSAGES = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Define entropy."}]
MIXED_BATCH = [
    "hello",
    MESSAGES,
    {"prompt": "Write a Rust function that parses a CSV line.", "profile": "eco"},
    {"messages": MESSAGES, "metadata": {"user": "u1"}},
    {"prompt": "Prove that 17 is prime.", "exclude": ["openai/o3"]},
]


def _as_kwargs(item: object) -> dict:
    if isinstance(item, dict):
        return dict(item)
    if isinstance(item, str):
        return {"prompt": item}
    return {"messages": item}


# --------------------------------------------------------------------------- twins


def test_decide_batch_equals_a_loop_of_decide(router: Router) -> None:
    """decide_batch over strings, message lists and dicts equals deciding each item."""
    batch = router.decide_batch(MIXED_BATCH)
    singles = [router.decide(**_as_kwargs(item)) for item in MIXED_BATCH]
    assert [d.to_dict(timings=False) for d in batch] == [d.to_dict(timings=False) for d in singles]
    assert batch[2].profile == "eco" and "openai/o3" in batch[4].excluded


def test_decide_batch_profile_default_and_item_override(router: Router) -> None:
    """decide_batch(profile=...) applies to items without their own profile."""
    batch = router.decide_batch(["hello", {"prompt": "hello", "profile": "premium"}], profile="free")
    assert [d.profile for d in batch] == ["free", "premium"]


def test_decide_batch_rejects_non_lists_and_unknown_keys(router: Router) -> None:
    """A bare string or dict, or an item with unknown keys, is a ConfigError."""
    with pytest.raises(ConfigError, match="expects a list"):
        router.decide_batch("hello")
    with pytest.raises(ConfigError, match="unknown keys"):
        router.decide_batch([{"prompt": "hi", "temperature": 0.2}])
    assert router.decide_batch([]) == []


@pytest.mark.asyncio
async def test_adecide_equals_decide(router: Router) -> None:
    """adecide gives the same decision as decide, for prompts and messages."""
    for item in MIXED_BATCH:
        kwargs = _as_kwargs(item)
        sync = router.decide(**kwargs).to_dict(timings=False)
        assert (await router.adecide(**kwargs)).to_dict(timings=False) == sync


@pytest.mark.asyncio
async def test_concurrent_adecide_and_adecide_batch(router: Router) -> None:
    """Many concurrent adecide calls and adecide_batch equal the sync results."""
    prompts = [f"Explain idea number {i} of a small garden in one line." for i in range(12)]
    expected = [router.decide(p).to_dict(timings=False) for p in prompts]
    results = await asyncio.gather(*(router.adecide(p) for p in prompts))
    assert [d.to_dict(timings=False) for d in results] == expected
    batch = await router.adecide_batch(prompts)
    assert [d.to_dict(timings=False) for d in batch] == expected


def test_concurrent_decide_from_threads(embedder: OnnxEmbedder) -> None:
    """Eight threads sharing one fresh router (lazy centroid load included) get the sequential decisions."""
    from concurrent.futures import ThreadPoolExecutor

    prompts = [f"Question {i}: {topic}" for i, topic in enumerate(
        ["hi", "prove a lemma", "write Go code", "a poem", "translate this", "plan a trip"] * 4)]
    expected = [d.to_dict(timings=False) for d in Router(embedder=embedder).decide_batch(prompts)]
    shared = Router(embedder=embedder)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda p: shared.decide(p).to_dict(timings=False), prompts))
    assert results == expected


def test_route_returns_the_model_string(router: Router) -> None:
    """route() returns the chosen candidate's model string, for a prompt or messages."""
    assert router.route("hello") == router.decide("hello").model
    assert router.route(MESSAGES, profile="premium") == router.decide(messages=MESSAGES, profile="premium").model


# --------------------------------------------------------------------------- exclusions


def test_exclude_removes_candidates(router: Router) -> None:
    """exclude= removes the named candidates; the next best is chosen; unknown names are ignored."""
    first = router.decide("hello", profile="premium")
    second = router.decide("hello", profile="premium", exclude=[first.name, "not-a-candidate"])
    assert second.name != first.name
    assert second.name == first.ranking[1].name
    assert first.name not in {alt.name for alt in second.ranking}
    assert second.excluded == {first.name: "excluded by the caller (e.g. cooldown or a failed attempt)"}


def test_exclude_string_is_one_name(router: Router) -> None:
    """A bare string excludes exactly that name (not candidates whose names contain it)."""
    decision = router.decide("hello", exclude="openai/gpt-5")
    assert set(decision.excluded) == {"openai/gpt-5"}
    assert "openai/gpt-5-mini" in {alt.name for alt in decision.ranking}


def test_excluding_everything_raises(small: Sequence[Candidate], small_router: Router) -> None:
    """Excluding every candidate raises NoCandidatesError listing them."""
    with pytest.raises(NoCandidatesError, match="every candidate was excluded"):
        small_router.decide("hello", exclude=[c.name for c in small])


def test_context_window_filters(embedder: OnnxEmbedder) -> None:
    """A prompt too long for a candidate's context window excludes it; if none fits, the largest is used."""
    cands = [Candidate(name="short", input_cost_per_mtok=0.1, context_window=1000),
             Candidate(name="long", input_cost_per_mtok=1.0, context_window=100_000)]
    router = Router(cands, embedder=embedder)
    decision = router.decide("word " * 2000)  # ~2,500 tokens
    assert decision.name == "long" and decision.excluded["short"].startswith("context window 1000 <")
    huge = router.decide("word " * 200_000)
    assert huge.name == "long"
    assert any("no candidate's context window fits" in w for w in huge.warnings)


# --------------------------------------------------------------------------- fallback


class Exploding(BaseStrategy):
    """A strategy whose predict always fails."""

    name = "exploding"
    tags = StrategyTags(requires_fit=False, needs_embedding=True)

    def _predict(self, query: Query, candidates: Sequence[Candidate]) -> Estimate:
        raise RuntimeError("model server unreachable")


class NaNQuality(BaseStrategy):
    """A strategy that returns a NaN quality for one candidate."""

    name = "nan_quality"
    tags = StrategyTags(requires_fit=False)

    def _predict(self, query: Query, candidates: Sequence[Candidate]) -> Estimate:
        return Estimate(quality={c.name: (float("nan") if i == 0 else 0.5) for i, c in enumerate(candidates)})


class Cheapest(BaseStrategy):
    """A working strategy: every candidate equally good (so the cheapest wins); async twin included."""

    name = "cheapest"
    tags = StrategyTags(requires_fit=False)

    def _predict(self, query: Query, candidates: Sequence[Candidate]) -> Estimate:
        return Estimate(quality={c.name: 0.5 for c in candidates}, details={"via": "sync"})

    async def apredict(self, query: Query, candidates: Sequence[Candidate]) -> Estimate:
        return Estimate(quality={c.name: 0.5 for c in candidates}, details={"via": "async"})


class Float32Quality(BaseStrategy):
    """A working strategy whose qualities are numpy float32 scalars (from an array)."""

    name = "float32_quality"
    tags = StrategyTags(requires_fit=False)

    def _predict(self, query: Query, candidates: Sequence[Candidate]) -> Estimate:
        values = np.linspace(0.9, 0.5, len(candidates), dtype=np.float32)
        return Estimate(quality=dict(zip([c.name for c in candidates], values)))


def test_numpy_scalar_qualities_are_accepted(small: Sequence[Candidate], embedder: OnnxEmbedder) -> None:
    """Qualities given as numpy float32 scalars are valid predictions, not a strategy failure."""
    router = Router(small, strategy=Float32Quality(), embedder=embedder)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        decision = router.decide("hello", profile="premium")
    assert not decision.fallback
    assert decision.name == small[0].name  # the highest quality (0.9)
    json.dumps(decision.to_dict())


@pytest.mark.parametrize("strategy", [Exploding(), NaNQuality()])
def test_failing_strategy_falls_back(small: Sequence[Candidate], embedder: OnnxEmbedder,
                                     strategy: BaseStrategy) -> None:
    """A strategy that raises or returns bad quality gives a FallbackWarning and a valid centroid decision."""
    router = Router(small, strategy=strategy, embedder=embedder)
    with pytest.warns(FallbackWarning, match=f"strategy '{strategy.name}' failed"):
        decision = router.decide("Write a limerick about a sleepy cat.")
    assert decision.fallback is True
    assert decision.candidate in small
    assert decision.strategy == strategy.name
    assert any("used the centroid fallback" in w for w in decision.warnings)
    assert "centroid fallback used" in decision.reason
    reference = Router(small, embedder=embedder).decide("Write a limerick about a sleepy cat.")
    assert decision.name == reference.name  # the fallback is the zero-config strategy
    json.dumps(decision.to_dict())


@pytest.mark.asyncio
async def test_failing_strategy_falls_back_in_adecide(small: Sequence[Candidate], embedder: OnnxEmbedder) -> None:
    """adecide degrades the same way as decide."""
    router = Router(small, strategy=Exploding(), embedder=embedder)
    with pytest.warns(FallbackWarning):
        decision = await router.adecide("hello")
    assert decision.fallback and decision.candidate in small


@pytest.mark.asyncio
async def test_adecide_awaits_apredict(small: Sequence[Candidate], embedder: OnnxEmbedder) -> None:
    """A strategy with an async apredict is awaited by adecide; decide uses predict."""
    router = Router(small, strategy=Cheapest(), embedder=embedder)
    assert (await router.adecide("hello")).details == {"via": "async"}
    decision = router.decide("hello")
    assert decision.details == {"via": "sync"}
    assert decision.name == "local"  # equal quality: the free one wins


def test_working_custom_strategy_has_no_warnings(small: Sequence[Candidate], embedder: OnnxEmbedder) -> None:
    """A well-behaved custom strategy decides without warnings or fallback."""
    router = Router(small, strategy=Cheapest(), embedder=embedder)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        decision = router.decide("hello", profile="premium")
    assert not decision.fallback and decision.strategy == "cheapest"
    assert decision.name == "local"  # premium: equal quality, cost breaks the tie


def test_strategy_objects_are_validated(embedder: OnnxEmbedder) -> None:
    """A non-strategy object or params for an instance are ConfigErrors."""
    with pytest.raises(ConfigError, match="predict"):
        Router(strategy=object(), embedder=embedder)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="strategy_params only apply"):
        Router(strategy=Cheapest(), strategy_params={"k": 1}, embedder=embedder)
    with pytest.raises(ConfigError, match="invalid parameters"):
        Router(strategy_params={"shortfall_penalty": 7}, embedder=embedder)


def test_feedback_needs_a_log_or_an_online_strategy(router: Router, embedder: OnnxEmbedder) -> None:
    """feedback() without a decision log on a strategy that does not learn is a ConfigError naming
    both ways; the centroid strategy learns from it (progressive refinement)."""
    fixed = Router(router.candidates, strategy="largest_llm", embedder=embedder)
    with pytest.raises(ConfigError, match="needs a decision log .* or an online strategy"):
        fixed.feedback(fixed.decide("hi"), 1.0)
    d = router.decide("hi")
    assert router.feedback(d, 1.0) is None
    assert router.strategy.refinement_state()[d.category][d.name] == [1.0, 0.0]


# --------------------------------------------------------------------------- construction and helpers


def test_candidates_from_catalog_file_and_objects(tmp_path: Path, embedder: OnnxEmbedder) -> None:
    """Router accepts a Catalog, a JSON/YAML path or a list of dicts, with the same result."""
    items = [{"name": "a", "input_cost_per_mtok": 0.1, "output_cost_per_mtok": 0.4},
             {"name": "b", "input_cost_per_mtok": 3.0, "output_cost_per_mtok": 15.0}]
    path = tmp_path / "cands.yaml"
    path.write_text("candidates:\n" + "".join(
        f"  - name: {c['name']}\n    input_cost_per_mtok: {c['input_cost_per_mtok']}\n"
        f"    output_cost_per_mtok: {c['output_cost_per_mtok']}\n" for c in items))
    routers = [Router(items, embedder=embedder), Router(path, embedder=embedder), Router(str(path), embedder=embedder),
               Router(Catalog(candidates=items), embedder=embedder)]
    decisions = [r.decide("Tell me a joke.").to_dict(timings=False) for r in routers]
    assert all(d == decisions[0] for d in decisions)
    assert Router(embedder=embedder).catalog.name == "builtin"


def test_make_query_exposes_features(router: Router) -> None:
    """make_query gives the strategy input: text, embedding, classification and signal features."""
    query = router.make_query("Prove that 2 + 2 = 4 step by step.")
    assert query.text == "Prove that 2 + 2 = 4 step by step."
    assert query.embedding is not None and query.embedding.shape == (384,)
    assert np.array_equal(query.embedding, router.embedder.embed(query.text))
    assert query.category == query.classification.category
    assert set(query.features) == {"agentic", "reasoning", "difficulty", "complexity_score", "complexity",
                                   "category_confidence"}
    assert query.features["reasoning"] >= 0.35
    assert router.decide(query.text).query.features == query.features
