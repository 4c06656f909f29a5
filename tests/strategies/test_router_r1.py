"""Router-R1 loop: think/search/answer turns, pool calls, hard caps, failures."""

from __future__ import annotations

import asyncio

import pytest

from routeiq_core import Candidate, ConfigError, Query
from routeiq_core.testing import FakeLLM, FakeRule
from routeiq_strategies.router_r1 import RouterR1Strategy, parse_policy_turn

CANDS = [Candidate(name="qwen2.5-7b-instruct", model="nim/qwen2.5-7b-instruct"),
         Candidate(name="llama-3.1-70b-instruct", model="nim/llama-3.1-70b-instruct"),
         Candidate(name="mistral-7b-instruct")]
QUERY = Query(text="Who wrote the novel that the film Blade Runner is based on, and when was it published?")
POLICY = "ulab-ai/Router-R1-Qwen2.5-3B-Instruct"


@pytest.mark.parametrize(
    ("turn", "expected"),
    [("<think>hmm</think><search> LLaMA-3.1-70B-Instruct: who wrote it? </search>",
      ("search", "LLaMA-3.1-70B-Instruct", "who wrote it?")),
     ("<search>Qwen2.5-7B-Instruct</search>", ("search", "Qwen2.5-7B-Instruct", None)),
     ("<answer> Philip K. Dick, 1968 </answer>", ("answer", "Philip K. Dick, 1968", None)),
     ("<answer>first</answer> <search>x: y</search>", ("answer", "first", None)),
     ("<search> Mistral: truncated", ("search", "Mistral", "truncated")),
     ("no tags at all", ("none", None, None))],
)
def test_parse_policy_turn(turn: str, expected: tuple) -> None:
    """The first of <search>/<answer> counts; "Model: sub-query" splits at the first colon; unclosed tags still parse."""
    assert parse_policy_turn(turn) == expected


def _policy(*turns: str) -> FakeLLM:
    """A test-double policy that plays ``turns`` in order (only for the policy model)."""
    return FakeLLM([FakeRule(r".", list(turns), model=POLICY)], default="pool says: Philip K. Dick")


def test_search_then_answer_consults_the_named_candidate() -> None:
    """The named candidate is called with the sub-query, its reply goes back in <information>, and it ranks first."""
    fake = _policy("<think>who?</think><search> Llama 3.1 70B Instruct: Who wrote Do Androids Dream? </search>",
                   "<answer>Philip K. Dick, 1968</answer>")
    strategy = RouterR1Strategy(llm=fake, selection_weight=0.5)
    est = strategy.predict(QUERY, CANDS)
    assert fake.models_called() == [POLICY, "nim/llama-3.1-70b-instruct", POLICY]
    assert fake.calls[1].messages == [{"role": "user", "content": "Who wrote Do Androids Dream?"}]
    assert fake.calls[2].messages[-1]["content"] == "<information>pool says: Philip K. Dick</information>"
    assert est.details["outcome"] == "answered" and est.details["rounds"] == 2
    assert est.details["selected"] == "llama-3.1-70b-instruct"
    prior = {c.name: c.strength() for c in CANDS}
    assert est.quality["llama-3.1-70b-instruct"] == pytest.approx(0.5 * prior["llama-3.1-70b-instruct"] + 0.5)
    assert est.quality["mistral-7b-instruct"] == pytest.approx(0.5 * prior["mistral-7b-instruct"])


def test_round_and_call_caps_are_respected() -> None:
    """A policy that never answers stops at max_rounds, and never exceeds max_llm_calls."""
    loop = "<search> qwen2.5-7b-instruct: again </search>"
    by_rounds = FakeLLM([FakeRule(r".", loop, model=POLICY)])
    est = RouterR1Strategy(llm=by_rounds, max_rounds=3, max_llm_calls=100).predict(QUERY, CANDS)
    assert est.details["rounds"] == 3 and est.details["outcome"] == "rounds_exhausted"
    assert by_rounds.models_called().count(POLICY) == 3 and len(by_rounds.calls) == 6
    by_calls = FakeLLM([FakeRule(r".", loop, model=POLICY)])
    est = RouterR1Strategy(llm=by_calls, max_rounds=16, max_llm_calls=5).predict(QUERY, CANDS)
    assert len(by_calls.calls) == 5 and est.details["outcome"] == "call_cap"
    assert est.details["selected"] == "qwen2.5-7b-instruct"


def test_unknown_model_is_told_and_not_called() -> None:
    """A search naming no candidate gets an <information> listing the candidates, without a pool call."""
    fake = _policy("<search> gpt-9: hi </search>", "<answer>ok</answer>")
    est = RouterR1Strategy(llm=fake).predict(QUERY, CANDS)
    assert fake.models_called() == [POLICY, POLICY]
    assert "Unknown model 'gpt-9'" in fake.calls[1].messages[-1]["content"]
    assert est.details["selected"] is None and est.quality == {c.name: c.strength() for c in CANDS}


def test_separate_pool_callable_and_async() -> None:
    """pool_llm answers the searches, the policy callable only the policy turns; apredict behaves the same."""
    policy = _policy("<search> mistral-7b-instruct: sub </search>", "<answer>a</answer>")
    pool = FakeLLM(default="from the pool")
    strategy = RouterR1Strategy(llm=policy, pool_llm=pool)
    est = strategy.predict(QUERY, CANDS)
    assert policy.models_called() == [POLICY, POLICY] and pool.models_called() == ["mistral-7b-instruct"]
    assert policy.calls[1].messages[-1]["content"] == "<information>from the pool</information>"
    assert est.details["selected"] == "mistral-7b-instruct"
    policy2 = _policy("<search> mistral-7b-instruct: sub </search>", "<answer>a</answer>")
    aest = asyncio.run(RouterR1Strategy(llm=policy2, pool_llm=pool).apredict(QUERY, CANDS))
    assert aest.quality == pytest.approx(est.quality)
    assert strategy.clone().predict(QUERY, CANDS).details["selected"] == "mistral-7b-instruct"


def test_failures_degrade_safely(clustered) -> None:
    """A failing first policy call gives the prior; a failing pool call is reported to the policy and the loop goes on."""
    dead = FakeLLM(fail_models=[POLICY])
    est = RouterR1Strategy(llm=dead).predict(QUERY, CANDS)
    assert est.details["fallback"] is True and "failed" in est.details["warning"]
    fake = FakeLLM([FakeRule(r".", ["<search> mistral-7b-instruct: x </search>", "<answer>a</answer>"], model=POLICY)],
                   fail_models=["mistral-7b-instruct"])
    est = RouterR1Strategy(llm=fake).predict(QUERY, CANDS)
    assert est.details["outcome"] == "answered" and est.details["searches"][0]["ok"] is False
    assert est.details["selected"] is None
    assert "did not reply" in fake.calls[-1].messages[-1]["content"]
    fitted = RouterR1Strategy(llm=_policy("<answer>x</answer>")).fit(clustered.dataset)
    assert fitted.predict(clustered.query(0), clustered.candidates).quality == pytest.approx(
        dict(zip("abc", fitted.model_mean_)))


def test_missing_llm_and_bad_params() -> None:
    """No callable -> ConfigError naming bind_llm; bad caps are ConfigErrors."""
    with pytest.raises(ConfigError, match="bind_llm"):
        RouterR1Strategy().predict(QUERY, CANDS)
    for bad in ({"max_rounds": 0}, {"max_llm_calls": 0}, {"selection_weight": 2}, {"max_round": 3}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            RouterR1Strategy(**bad)
