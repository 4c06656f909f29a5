"""Sessions: a conversation keeps its tier (upgrade-only) or its candidate (sticky), on real state."""

from __future__ import annotations

from typing import Any

import pytest

from routeiq_core import Candidate, ConfigError, OnnxEmbedder, Router, default_embedder
from routeiq_core._request import parse_request
from routeiq_core._sessions import Sessions, session_key
from routeiq_core.state import MemoryStore, open_store

CANDIDATES = [
    Candidate(name="local", model="ollama/llama3.2", free=True, tier=1),
    Candidate(name="mini", model="openai/gpt-4o-mini", input_cost_per_mtok=0.15, output_cost_per_mtok=0.6),
    Candidate(name="sonnet", model="anthropic/claude-sonnet-4", input_cost_per_mtok=3.0, output_cost_per_mtok=15.0,
              capabilities=("reasoning", "tools", "code")),
    Candidate(name="o3", model="openai/o3", input_cost_per_mtok=2.0, output_cost_per_mtok=8.0,
              capabilities=("reasoning", "tools")),
]
PROOF = "Prove that there are infinitely many primes, rigorously, step by step, then generalise to 4k+3."


@pytest.fixture(scope="module")
def embedder() -> OnnxEmbedder:
    emb = default_embedder()
    emb.load()
    return emb


def _conversation(router: Router) -> list[Any]:
    turns = [PROOF, "ok, continue", "thanks!"]
    return [router.decide(t, metadata={"session_id": "s1"}) for t in turns]


def test_the_conversation_from_the_issue(embedder: OnnxEmbedder, capsys: pytest.CaptureFixture[str]) -> None:
    """Without sessions the model drops mid-conversation; with upgrade-only every turn stays at or
    above the first turn's tier."""
    before = _conversation(Router(CANDIDATES, embedder=embedder))
    after = _conversation(Router(CANDIDATES, embedder=embedder, extensions=[Sessions()]))
    assert min(d.candidate.tier for d in before[1:]) < before[0].candidate.tier  # the bug, as reported
    assert all(d.candidate.tier >= after[0].candidate.tier for d in after)
    assert after[0].name == before[0].name and after[1].details["session"]["changed"] is True
    assert "session upgrade-only: kept at tier" in after[1].reason and after[1].signal("session") is not None
    with capsys.disabled():
        print("\nsession s1, without sessions -> with upgrade-only:")
        for turn, b, a in zip([PROOF[:40] + "...", "ok, continue", "thanks!"], before, after):
            print(f"  {turn:<44} {b.name:>7} (tier {b.candidate.tier}) -> {a.name:>7} (tier {a.candidate.tier})")


def test_an_agent_loop_with_tool_calls_keeps_its_tier(embedder: OnnxEmbedder) -> None:
    """No session id: the key is the system prompt and the first user turn, so the loop's turns,
    which resend the history with tool calls and results, are one session."""
    router = Router(CANDIDATES, embedder=embedder, extensions=[Sessions()])
    tools = [{"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}}]
    history: list[dict[str, Any]] = [{"role": "system", "content": "You are a research agent."},
                                     {"role": "user", "content": PROOF}]
    tiers = []
    for step in range(4):
        d = router.decide(messages=history, tools=tools)
        tiers.append(d.candidate.tier)
        history += [{"role": "assistant", "content": None, "tool_calls": [
                        {"id": f"c{step}", "type": "function", "function": {"name": "search", "arguments": "{}"}}]},
                    {"role": "tool", "tool_call_id": f"c{step}", "content": "ok"}]
    assert all(t >= tiers[0] for t in tiers) and tiers[0] >= 3
    key = session_key(parse_request(messages=history))
    assert key is not None and key[1] == "first turn"
    assert session_key(parse_request("a single prompt")) is None


def test_sticky_keeps_the_candidate_until_it_is_ineligible(embedder: OnnxEmbedder) -> None:
    router = Router(CANDIDATES, embedder=embedder, extensions=[Sessions(policy="sticky")])
    first = router.decide(PROOF, metadata={"session_id": "s2"})
    second = router.decide("hi", metadata={"session_id": "s2"})
    assert second.name == first.name and "session pin (sticky)" in second.reason
    third = router.decide("hi again", metadata={"session_id": "s2"}, exclude={first.name})  # e.g. in cooldown
    assert third.name != first.name and f"session pin {first.name} not eligible" in third.reason
    fourth = router.decide("and again", metadata={"session_id": "s2"})
    assert fourth.name == third.name  # the replacement is the new pin


def test_a_free_request_is_never_upgraded_out_of_free(embedder: OnnxEmbedder) -> None:
    router = Router(CANDIDATES, embedder=embedder, extensions=[Sessions()])
    router.decide(PROOF, metadata={"session_id": "s3"})
    d = router.decide("ok, continue", metadata={"session_id": "s3"}, profile="free")
    assert d.candidate.free and "no eligible candidate is that strong" in d.reason


def test_sessions_off_and_bad_settings(embedder: OnnxEmbedder) -> None:
    router = Router(CANDIDATES, embedder=embedder, extensions=[Sessions(policy="off")])
    assert "session" not in router.decide(PROOF, metadata={"session_id": "s"}).details
    with pytest.raises(ConfigError, match="session policy 'forever' is unknown; expected one of upgrade-only"):
        Sessions(policy="forever")
    with pytest.raises(ConfigError, match="ttl_s"):
        Sessions(ttl_s=-1)
    with pytest.raises(ConfigError, match="state store URL 'mongo://x' is not one RouteIQ can open"):
        open_store("mongo://x")
    with pytest.raises(ConfigError, match="session_policy"):
        Router.from_config({"session_policy": "forever"}, candidates=CANDIDATES, embedder=embedder)


def test_sessions_from_config_are_on_by_default(embedder: OnnxEmbedder) -> None:
    router = Router.from_config({}, candidates=CANDIDATES, embedder=embedder)
    turns = _conversation(router)
    assert all(d.candidate.tier >= turns[0].candidate.tier for d in turns)


def test_a_value_from_another_version_is_ignored(embedder: OnnxEmbedder) -> None:
    store = MemoryStore()
    sessions = Sessions(store)
    router = Router(CANDIDATES, embedder=embedder, extensions=[sessions])
    router.decide(PROOF, metadata={"session_id": "s4"})
    (key,) = [k for k in store._data]
    store.set(key, '{"v": 99, "pin": "something else"}')
    with pytest.warns(Warning, match="written by another version"):
        d = router.decide("ok, continue", metadata={"session_id": "s4"})
    assert "session started" in d.reason


def test_memory_is_bounded_for_10000_sessions(embedder: OnnxEmbedder, capsys: pytest.CaptureFixture[str]) -> None:
    import tracemalloc

    store = MemoryStore(max_entries=5_000)
    router = Router(CANDIDATES, embedder=embedder, extensions=[Sessions(store)])
    tracemalloc.start()
    base = tracemalloc.take_snapshot()
    for i in range(10_000):
        router.decide(f"question {i % 50}", metadata={"session_id": f"user-{i}"})
    grown = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(base, "filename"))
    tracemalloc.stop()
    assert len(store) == 5_000
    with capsys.disabled():
        print(f"\n10,000 sessions into a 5,000-entry store: {len(store)} kept, {grown / 1e6:.1f} MB allocated net")
    assert grown < 50e6
