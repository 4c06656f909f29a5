"""AutoMix: answer, self-verify, escalate; the IBC-fitted threshold; safe fallbacks."""

from __future__ import annotations

import asyncio
import dataclasses

import numpy as np
import pytest

from routeiq_core import Candidate, ConfigError, DatasetError, Query, RoutingDataset
from routeiq_core.testing import FakeLLM, FakeRule
from routeiq_strategies.automix import AutoMixStrategy, ibc_lift, parse_verdict

SMALL = Candidate(name="small", input_cost_per_mtok=0.1, output_cost_per_mtok=0.1)
LARGE = Candidate(name="large", input_cost_per_mtok=5.0, output_cost_per_mtok=15.0)
MID = Candidate(name="mid", input_cost_per_mtok=1.0, output_cost_per_mtok=1.0)


def _cascade_data(n: int = 400, seed: int = 0) -> RoutingDataset:
    """The small model is right 50% of the time, the large one 90%; prices make "small" the cheap one."""
    from routeiq_core import ModelPrice

    rng = np.random.default_rng(seed)
    scores = np.stack([rng.random(n) < 0.5, rng.random(n) < 0.9, rng.random(n) < 0.6], axis=1).astype(float)
    return RoutingDataset(
        ids=tuple(f"q{i}" for i in range(n)), prompts=tuple(f"question {i}" for i in range(n)),
        models=("small", "large", "mid"), scores=scores,
        prices={"small": ModelPrice(0.1, 0.1), "large": ModelPrice(5.0, 15.0), "mid": ModelPrice(1.0, 1.0)},
    )


def _verifier(verdict: str) -> FakeLLM:
    return FakeLLM([FakeRule("Verification Decision", f"Reasoning...\nVerification Decision: {verdict}")],
                   default="4")


@pytest.mark.parametrize(
    ("reply", "expected"),
    [("Verification Decision: Correct", 1.0), ("Verification Decision: Incorrect", 0.0),
     ("The answer looks right.\nVerification Decision: correct", 1.0), ("This is not correct.", 0.0),
     ("Correct at first sight, but Verification Decision: Incorrect", 0.0), ("I cannot tell.", None), ("", None)],
)
def test_parse_verdict(reply: str, expected: float | None) -> None:
    """The decision line wins; "incorrect"/"not correct" are never read as "correct"; silence is None."""
    assert parse_verdict(reply) == expected


def test_ibc_lift_known_values() -> None:
    """Escalating exactly the small model's failures beats the straight line; never escalating is zero gain."""
    small = np.array([1.0, 0.0, 1.0, 0.0])
    large = np.array([1.0, 1.0, 1.0, 1.0])
    perfect = ibc_lift(small == 0, small, large, 1, 50, 1)
    # P_method = 1, P_small = 0.5, C_method - C_small = 1 + 25 = 26; base slope = 0.5 / 50.
    assert perfect == pytest.approx((0.5 / 26) / (0.5 / 50) - 1)
    assert ibc_lift(np.zeros(4, dtype=bool), small, large, 1, 50, 1) == pytest.approx(-1.0)
    assert ibc_lift(small == 0, small, small, 1, 50, 1) == -np.inf  # large no better: undefined


def test_escalates_exactly_when_verification_says_incorrect() -> None:
    """Correct -> the small model ranks above the large one; Incorrect -> the large one wins; 1 + n calls to small."""
    data = _cascade_data()
    for verdict, escalate in (("Correct", False), ("Incorrect", True)):
        fake = _verifier(verdict)
        strategy = AutoMixStrategy(llm=fake, n_verifications=3).fit(data)
        est = strategy.predict(Query(text="What is 2 + 2?"), [SMALL, LARGE, MID])
        assert est.details["escalate"] is escalate
        assert est.details["p_ver"] == (0.0 if escalate else 1.0)
        assert (est.quality["large"] > est.quality["small"]) is escalate
        assert fake.models_called() == ["small"] * 4
        assert [c["purpose"] for c in est.details["llm_calls"]] == ["answer", "verify", "verify", "verify"]
        b = 0 if escalate else -1  # p_ver 0 or 1: the first or last bin
        assert est.quality["mid"] == pytest.approx(strategy.bin_quality_[b, 2])


def test_verifier_model_and_async_path() -> None:
    """verifier_model receives the verification calls; apredict sends them concurrently with the same result."""
    fake = _verifier("Incorrect")
    strategy = AutoMixStrategy(llm=fake, verifier_model="judge").fit(_cascade_data())
    est = asyncio.run(strategy.apredict(Query(text="q"), [SMALL, LARGE]))
    assert est.details["escalate"] is True
    assert fake.models_called() == ["small", "judge", "judge"]


def test_fitted_threshold_with_a_perfect_verifier() -> None:
    """With real verifier outputs equal to the small model's correctness, escalation happens exactly on failures."""
    data = _cascade_data()
    strategy = AutoMixStrategy(llm=_verifier("Correct")).fit_with_verifier(data, data.scores[:, 0])
    assert 0.0 < strategy.threshold_ <= 1.0
    small = strategy.bin_quality_[:, 0]
    assert small[0] == pytest.approx(0.0) and small[-1] == pytest.approx(1.0)
    assert strategy.ibc_lift_ > 0
    assert (strategy.small_model_, strategy.large_model_) == ("small", "large")
    with pytest.raises(DatasetError, match="p_ver"):
        strategy.clone().fit_with_verifier(data, np.full(3, 0.5))


def test_simulated_verifier_gives_monotone_calibration() -> None:
    """Without verifier outputs the simulated p_ver gives a small-model quality that rises with p_ver."""
    strategy = AutoMixStrategy(llm=_verifier("Correct"), n_verifications=4).fit(_cascade_data(n=2000))
    small = strategy.bin_quality_[:, 0]
    assert np.all(np.diff(small) >= 0)
    assert small[-1] > 0.7 > 0.3 > small[0]


def test_unparseable_verification_and_failing_answer_fall_back() -> None:
    """Verdicts that say neither, or an answer call that raises, give the prior with a warning."""
    data = _cascade_data()
    mute = AutoMixStrategy(llm=FakeLLM(default="hmm")).fit(data)
    est = mute.predict(Query(text="q"), [SMALL, LARGE])
    assert est.details["fallback"] is True and "Correct or Incorrect" in est.details["warning"]
    broken = AutoMixStrategy(llm=FakeLLM(fail_models=["small"])).fit(data)
    est = broken.predict(Query(text="q"), [SMALL, LARGE])
    assert est.details["fallback"] is True and est.quality["large"] == pytest.approx(data.scores[:, 1].mean())


def test_call_cap_limits_verifications() -> None:
    """More verifications than max_llm_calls allows is refused up front: the prior, no verification call."""
    fake = _verifier("Correct")
    strategy = AutoMixStrategy(llm=fake, n_verifications=5, max_llm_calls=3).fit(_cascade_data())
    est = strategy.predict(Query(text="q"), [SMALL, LARGE])
    assert est.details["fallback"] is True and "cap" in est.details["warning"]
    assert fake.models_called() == ["small"]


def test_candidates_without_the_trained_pair() -> None:
    """Missing cascade models are replaced by the cheapest / strongest candidates; one candidate needs no call."""
    fake = _verifier("Incorrect")
    strategy = AutoMixStrategy(llm=fake).fit(_cascade_data())
    newcomer = Candidate(name="newcomer", input_cost_per_mtok=0.01, output_cost_per_mtok=0.01)
    est = strategy.predict(Query(text="q"), [newcomer, MID])
    assert est.details["cascade"] == ["newcomer", "mid"] and est.details["escalate"] is True
    alone = strategy.predict(Query(text="q"), [MID])
    assert "llm_calls" in alone.details and alone.details["llm_calls"] == []


def test_policies_params_and_bad_data(clustered, tmp_path) -> None:
    """self_consistency uses 0.5; bad parameters are ConfigErrors; one-model data is a DatasetError; save/load works."""
    data = _cascade_data()
    strategy = AutoMixStrategy(llm=_verifier("Correct"), policy="self_consistency").fit(data)
    assert strategy.predict(Query(text="q"), [SMALL, LARGE]).details["threshold"] == 0.5
    for bad in ({"sim_tpr": 2}, {"n_verifications": 0}, {"policy": "pomdp"}, {"n_verification": 2}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            AutoMixStrategy(**bad)
    with pytest.raises(DatasetError, match="two different models"):
        AutoMixStrategy().fit(data.select_models(["small"]))
    with pytest.raises(DatasetError, match="not in the training data"):
        AutoMixStrategy(large_model="nope").fit(data)
    strategy.save(tmp_path)
    loaded = AutoMixStrategy.load(tmp_path).bind_llm(_verifier("Correct"))
    assert loaded.predict(Query(text="q"), [SMALL, LARGE]).quality == strategy.predict(Query(text="q"), [SMALL, LARGE]).quality
    toy = dataclasses.replace(clustered.dataset)  # no prices: the weakest model plays the small one
    assert AutoMixStrategy().fit(toy).small_model_ == "c"
