"""LLM callables: wrapping user callables and openai clients, the FakeLLM test double, safe calls."""

from __future__ import annotations

import asyncio
import copy
import json
from typing import ClassVar

import httpx
import pytest

from routeiq_core import Candidate, ConfigError, Query
from routeiq_core.testing import FakeLLM, FakeRule
from routeiq_strategies.automix import AutoMixStrategy
from routeiq_strategies.llm_callable import (
    LLMBinding,
    LLMCallError,
    as_llm,
    match_candidate,
    response_text,
)
from routeiq_strategies.multiround import LLMMultiRoundStrategy

CANDIDATES = [Candidate(name="small", input_cost_per_mtok=0.1, output_cost_per_mtok=0.1),
              Candidate(name="large", input_cost_per_mtok=5.0, output_cost_per_mtok=15.0)]
QUERY = Query(text="What is 2 + 2?")


def _completion(model: str, text: str) -> dict:
    return {"id": "c1", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}]}


def test_as_llm_accepts_functions_fakes_and_bindings() -> None:
    """Sync and async functions, a FakeLLM (both) and a binding are accepted; anything else is a ConfigError."""

    def sync(model: str, messages: list) -> str:
        return "s"

    async def asyn(model: str, messages: list) -> str:
        return "a"

    assert as_llm(sync).sync is sync and as_llm(sync).async_ is None
    assert as_llm(asyn).sync is None and as_llm(asyn).async_ is asyn
    fake = FakeLLM()
    both = as_llm(fake)
    assert both.sync is fake and both.async_ is not None
    assert as_llm(both) is both
    assert not as_llm(None)
    combined = as_llm(sync, asyn)
    assert combined.sync is sync and combined.async_ is asyn
    with pytest.raises(ConfigError, match="callable"):
        as_llm(42)
    with pytest.raises(ConfigError, match="async_llm"):
        as_llm(sync, sync)


def test_openai_clients_are_wrapped() -> None:
    """A real openai client (sync and async, HTTP answered in-process) becomes a callable returning the text."""
    import openai

    requests: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        requests.append(body)
        return httpx.Response(200, json=_completion(body["model"], f"hello from {body['model']}"))

    client = openai.OpenAI(api_key="test", base_url="http://llm.invalid/v1",
                           http_client=httpx.Client(transport=httpx.MockTransport(handler)))
    binding = as_llm(client, temperature=0.0)
    assert binding.sync is not None and binding.async_ is None
    assert binding.sync("m1", [{"role": "user", "content": "hi"}]) == "hello from m1"
    assert requests[-1] == {"model": "m1", "messages": [{"role": "user", "content": "hi"}], "temperature": 0.0}

    aclient = openai.AsyncOpenAI(api_key="test", base_url="http://llm.invalid/v1",
                                 http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler)))
    abinding = as_llm(aclient)
    assert abinding.sync is None and abinding.async_ is not None
    assert asyncio.run(abinding.async_("m2", [{"role": "user", "content": "hi"}])) == "hello from m2"


def test_response_text_reads_strings_dicts_and_objects() -> None:
    """Strings, completion dicts and objects give their text; a null content is empty; other types fail clearly."""

    class Msg:
        content = "obj"

    class Choice:
        message = Msg()

    class Resp:
        choices: ClassVar[list[Choice]] = [Choice()]

    assert response_text("plain") == "plain"
    assert response_text(_completion("m", "dict")) == "dict"
    assert response_text(Resp()) == "obj"
    assert response_text({"choices": [{"message": {"content": None}}]}) == ""
    assert response_text({"choices": [{"text": "legacy"}]}) == "legacy"
    with pytest.raises(LLMCallError, match="expected a string"):
        response_text(3.5)


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("I pick Llama 3.1 70B Instruct.", "llama-3.1-70b-instruct"),
        ("llama-3.1-8b-instruct", "llama-3.1-8b-instruct"),
        ("Use **gpt-4o** here", "gpt"),
        ("GPT", "gpt"),
        ("no idea", None),
        ("", None),
    ],
)
def test_match_candidate(reply: str, expected: str | None) -> None:
    """Names and model ids match case- and punctuation-insensitively; the longest match wins."""
    cands = [Candidate(name="llama-3.1-8b-instruct"), Candidate(name="llama-3.1-70b-instruct"),
             Candidate(name="gpt", model="openai/gpt-4o")]
    got = match_candidate(reply, cands)
    assert (got.name if got else None) == expected


def test_match_candidate_short_names_need_a_whole_word() -> None:
    """One-letter names match only as a word ("b"), never inside another word ("about")."""
    cands = [Candidate(name="a"), Candidate(name="b")]
    assert match_candidate("Best model: b", cands).name == "b"
    assert match_candidate("about nothing", [Candidate(name="b")]) is None


def test_fake_llm_rules_turns_seeded_sampling_and_records() -> None:
    """Rules match the last message (optionally per model); lists cycle or sample with the seed; calls are recorded."""
    fake = FakeLLM([FakeRule("ping", "pong"), FakeRule("turn", ["one", "two"]),
                    FakeRule("x", "only for m2", model="m2"), FakeRule("roll", ["1", "2", "3", "4"], sample=True)],
                   default="default", seed=7, fail_models=["broken"])
    msg = [{"role": "user", "content": "ping"}]
    assert fake("m", msg) == "pong"
    assert [fake("m", [{"role": "user", "content": "turn"}]) for _ in range(3)] == ["one", "two", "one"]
    assert fake("m1", [{"role": "user", "content": "x"}]) == "default"
    assert fake("m2", [{"role": "user", "content": "x"}]) == "only for m2"
    rolls = [fake("m", [{"role": "user", "content": "roll"}]) for _ in range(6)]
    again = FakeLLM([FakeRule("roll", ["1", "2", "3", "4"], sample=True)], seed=7)
    assert rolls == [again("m", [{"role": "user", "content": "roll"}]) for _ in range(6)]
    assert fake.models_called()[:2] == ["m", "m"] and fake.calls[0].messages == msg
    with pytest.raises(RuntimeError, match="configured to fail"):
        fake("broken", msg)
    assert asyncio.run(fake.acall("m", msg)) == "pong"


def test_failing_call_returns_the_prior_with_a_warning() -> None:
    """A callable that raises gives the prior quality and a warning detail, never an exception."""
    fake = FakeLLM(fail_models=["gpt-4o-mini"])
    est = LLMMultiRoundStrategy(llm=fake).predict(QUERY, CANDIDATES)
    assert est.details["fallback"] is True and "failed" in est.details["warning"]
    assert est.quality == {c.name: c.strength() for c in CANDIDATES}
    assert est.details["llm_calls"][0]["ok"] is False


def test_timeouts_fall_back_in_sync_and_async() -> None:
    """A call slower than timeout_s is abandoned: the prior comes back quickly, sync and async."""
    fake = FakeLLM(slow_models=["gpt-4o-mini"], delay_s=5.0)
    strategy = LLMMultiRoundStrategy(llm=fake, timeout_s=0.05)
    try:
        est = strategy.predict(QUERY, CANDIDATES)
        assert est.details["fallback"] is True and "TimeoutError" in est.details["warning"]
        aest = asyncio.run(strategy.apredict(QUERY, CANDIDATES))
        assert aest.details["fallback"] is True
        assert aest.details["llm_calls"][0]["error"] in ("TimeoutError", "CancelledError")
    finally:
        fake.release()


def test_a_provider_that_never_answers_cannot_exhaust_threads() -> None:
    """Calls to a callable that never returns time out and fall back; the threads they hold are bounded
    by the one LLM executor, however many decisions are made (sync and async)."""
    import threading

    from routeiq_strategies._llm_driver import MAX_LLM_THREADS

    hang = threading.Event()

    def never(model: str, messages: list[dict]) -> str:
        hang.wait(60)
        return "too late"

    strategy = LLMMultiRoundStrategy(llm=never, timeout_s=0.02)
    before = threading.active_count()
    try:
        results = [strategy.predict(QUERY, CANDIDATES) for _ in range(3 * MAX_LLM_THREADS)]

        async def many() -> list:
            return await asyncio.gather(*(strategy.apredict(QUERY, CANDIDATES) for _ in range(2 * MAX_LLM_THREADS)))

        results += asyncio.run(many())
        assert all(r.details["fallback"] is True for r in results)
        assert all(r.quality == {c.name: c.strength() for c in CANDIDATES} for r in results)
        assert threading.active_count() - before <= MAX_LLM_THREADS
    finally:
        hang.set()


def test_missing_callable_is_a_config_error_and_load_needs_rebinding(tmp_path, clustered) -> None:
    """Without a callable predict says how to pass one; a loaded artifact needs bind_llm again."""
    with pytest.raises(ConfigError, match="bind_llm"):
        LLMMultiRoundStrategy().predict(QUERY, CANDIDATES)
    fake = FakeLLM([FakeRule("Verification", "Verification Decision: Correct")], default="4")
    strategy = AutoMixStrategy(llm=fake).fit(clustered.dataset)
    strategy.save(tmp_path)
    loaded = AutoMixStrategy.load(tmp_path)
    with pytest.raises(ConfigError, match="not saved with an artifact"):
        loaded.predict(clustered.query(0), clustered.candidates)
    est = loaded.bind_llm(fake).predict(clustered.query(0), clustered.candidates)
    assert est.quality == strategy.predict(clustered.query(0), clustered.candidates).quality


def test_async_only_binding() -> None:
    """With only an async callable, predict runs it outside an event loop and refuses inside one."""
    fake = FakeLLM(default="2 + 2 => large")
    strategy = LLMMultiRoundStrategy(async_llm=fake.acall)
    assert strategy.llm.sync is None
    assert strategy.predict(QUERY, CANDIDATES).details["choices"] == ["large"]

    async def inside() -> None:
        with pytest.raises(ConfigError, match="apredict"):
            strategy.predict(QUERY, CANDIDATES)
        assert (await strategy.apredict(QUERY, CANDIDATES)).details["choices"] == ["large"]

    asyncio.run(inside())


def test_copies_share_the_client() -> None:
    """clone() and deepcopy keep the same callables (clients are never copied)."""
    fake = FakeLLM()
    strategy = LLMMultiRoundStrategy(llm=fake, max_subqueries=2)
    assert strategy.clone().llm is strategy.llm
    assert copy.deepcopy(strategy).llm is strategy.llm
    assert isinstance(strategy.llm, LLMBinding)
