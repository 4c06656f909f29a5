"""The policy engine: conditions, actions, combination, budgets, bad policy files (with lines)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from routeiq_core import Candidate, ConfigError, OnnxEmbedder, PolicyError, Router, default_embedder
from routeiq_core.cli import main
from routeiq_core.policies import Policies, PolicyWarning
from routeiq_core.state import open_store

CANDIDATES = [
    Candidate(name="local", model="ollama/llama3.2", free=True),
    Candidate(name="mini", model="openai/gpt-4o-mini", input_cost_per_mtok=0.15, output_cost_per_mtok=0.6,
              capabilities=("tools", "vision", "code")),
    Candidate(name="sonnet", model="anthropic/claude-sonnet-4", input_cost_per_mtok=3.0, output_cost_per_mtok=15.0,
              capabilities=("reasoning", "tools", "code", "vision")),
    Candidate(name="opus", model="anthropic/claude-opus-4", input_cost_per_mtok=15.0, output_cost_per_mtok=75.0,
              capabilities=("reasoning", "tools", "code", "vision")),
]
PROOF = "Prove rigorously that there are infinitely many primes, step by step, and generalise it."
CODE = "Write a Python function that parses a CSV file and returns the mean of each numeric column."
POLICY = {"rules": [
    {"name": "interns-no-premium", "when": {"teams": ["interns"]}, "then": {"deny": {"tiers_above": 3},
                                                                           "profile": "eco"}},
    {"name": "code-needs-code", "when": {"categories": ["code"]}, "then": {"require": ["code"]}},
    {"name": "legacy-keys", "when": {"match": {"key_alias": "^legacy-"}}, "then": {"reject": "legacy keys are retired"}},
    {"name": "no-anthropic-for-eu", "when": {"tags": ["eu"]}, "then": {"deny": {"providers": ["anthropic"]}}},
    {"name": "vip-pin", "when": {"users": ["ceo"]}, "then": {"pin": "opus"}},
    {"name": "cheap-tools", "when": {"tools": True}, "then": {"max_cost_usd": 0.001}},
]}


@pytest.fixture(scope="module")
def embedder() -> OnnxEmbedder:
    emb = default_embedder()
    emb.load()
    return emb


def _router(embedder: OnnxEmbedder, policy: Any = POLICY, **kw: Any) -> Router:
    return Router(CANDIDATES, embedder=embedder, extensions=[Policies(policy, **kw)])


def test_rules_apply_and_are_named(embedder: OnnxEmbedder) -> None:
    router = _router(embedder)
    d = router.decide(PROOF, metadata={"team": "interns"})
    assert d.profile == "eco" and d.candidate.tier <= 3 and d.details["policies"] == ["interns-no-premium"]
    assert "policies: interns-no-premium" in d.reason and d.excluded["opus"].startswith("policy interns-no-premium")
    d = router.decide(CODE, metadata={"team": "interns"})
    assert d.details["policies"] == ["interns-no-premium", "code-needs-code"]
    assert d.candidate.has("code") and d.candidate.tier <= 3  # both rules: the intersection
    assert router.decide("hi", metadata={"user": "ceo"}).name == "opus"  # pinned
    d = router.decide(PROOF, metadata={"tags": ["eu"]})
    assert not d.model.startswith("anthropic/")
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    d = router.decide(messages=[{"role": "user", "content": PROOF}], tools=tools)
    assert d.candidate.expected_cost(d.query.input_tokens, d.query.output_tokens) <= 0.001  # type: ignore[union-attr]
    assert "policies" not in router.decide("hello").details  # no rule matched


def test_reject_and_a_policy_that_leaves_nothing(embedder: OnnxEmbedder) -> None:
    router = _router(embedder)
    with pytest.raises(PolicyError, match="legacy keys are retired") as info:
        router.decide("hi", metadata={"key_alias": "legacy-42"})
    assert info.value.rule == "legacy-keys" and info.value.status_code == 403
    empty = {"rules": [{"name": "only-free", "when": {}, "then": {"allow_only": {"names": ["local"]}}},
                       {"name": "needs-code", "when": {}, "then": {"require": ["code"]}}]}
    with pytest.raises(PolicyError, match="no candidate is left after the policies \\(only-free removed mini, opus, "
                                          "sonnet; needs-code removed local\\)"):
        _router(embedder, empty).decide("hi")


def test_raise_and_lower_profile_and_time_windows(embedder: OnnxEmbedder) -> None:
    policy = {"rules": [
        {"name": "up", "when": {"users": ["a"]}, "then": {"raise_profile": True}},
        {"name": "down", "when": {"users": ["b"]}, "then": {"lower_profile": True}},
        {"name": "office-hours", "when": {"time": {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00",
                                                   "end": "17:00"}}, "then": {"profile": "premium"}},
    ]}
    monday_10 = 1796637600.0  # Monday 2026-12-07 10:00 UTC
    router = _router(embedder, policy, clock=lambda: monday_10)
    assert router.decide("hi", metadata={"user": "a"}).profile == "premium"  # auto -> premium, then office hours
    saturday = _router(embedder, policy, clock=lambda: monday_10 + 5 * 86400)
    assert saturday.decide("hi", metadata={"user": "a"}).profile == "premium"  # raised from auto
    assert saturday.decide("hi", metadata={"user": "b"}).profile == "eco"  # lowered from auto
    assert saturday.decide("hi").profile == "auto"  # outside the window


def test_budgets_downgrade_then_reject(embedder: OnnxEmbedder) -> None:
    policy = {"budgets": [
        {"name": "team-soft", "scope": "team", "period": "day", "limit_usd": 0.01, "action": "downgrade",
         "profile": "eco"},
        {"name": "team-hard", "scope": "team", "period": "day", "limit_usd": 0.03, "action": "reject"},
    ]}
    router = Router(CANDIDATES, embedder=embedder, extensions=[Policies(policy)], log="memory://")
    policies = router.extensions.extensions[-2]
    profiles = []
    with pytest.raises(PolicyError, match="budget team-hard exceeded for team t1"):
        for _ in range(10):
            d = router.decide(PROOF, metadata={"team": "t1"})
            profiles.append(d.profile)
            router.feedback(d, cost_usd=0.006, source="litellm")
    assert profiles[:2] == ["auto", "auto"] and "eco" in profiles
    assert policies.spent("team-hard", "t1") >= 0.03  # type: ignore[attr-defined]
    assert router.decide(PROOF, metadata={"team": "t2"}).profile == "auto"  # another team is not affected


def test_budgets_are_atomic_on_redis(embedder: OnnxEmbedder, redis: Any) -> None:
    """Two routers (as two workers) on one Redis add up one team's spend."""
    policy = {"budgets": [{"name": "b", "scope": "team", "limit_usd": 1.0, "action": "reject"}]}
    routers = [Router(CANDIDATES, embedder=embedder, log="memory://",
                      extensions=[Policies(policy, store=open_store(redis.url))]) for _ in range(2)]
    for i in range(20):
        r = routers[i % 2]
        r.feedback(r.decide("hi", metadata={"team": "shared"}), cost_usd=0.01)
    assert routers[0].extensions.extensions[-2].spent("b", "shared") == pytest.approx(0.2)  # type: ignore[attr-defined]


@pytest.mark.parametrize("text, message", [
    ("rules:\n  - name: a\n    then: {profile: eco\n", "not valid YAML: .* line 3, column 11"),
    ("rules:\n  - name: a\n    when: {teams: [x]}\n    then: {profile: eco, colour: red}\n",
     "line 4: rules.0.then.colour: Extra inputs are not permitted"),
    ("rules:\n  - name: a\n    then: {explode: true}\n", "line 3: rules.0.then.explode"),
    ("rules:\n  - name: a\n    when: {match: {user: '(['}}\n    then: {profile: eco}\n",
     "line 3: rules.0.when.match: match.user: '\\(\\[' is not a valid regular expression"),
    ("rules:\n  - name: a\n    then: {min_tier: 4, max_tier: 2}\n", "min_tier 4 is above max_tier 2"),
    ("rules:\n  - name: a\n    then: {raise_profile: true, lower_profile: true}\n", "contradict each other"),
    ("rules:\n  - name: a\n    then: {allow_only: {names: [x]}, deny: {names: [x]}}\n", "both name \\['x'\\]"),
    ("budgets:\n  - {name: b, scope: team, limit_usd: -5}\n", "line 2: budgets.0.limit_usd"),
    ("rules:\n  - name: a\n    then: {}\n", "no action"),
])
def test_bad_policy_files_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        Policies(path)


def test_a_rule_that_can_never_match_warns(tmp_path: Path) -> None:
    with pytest.warns(PolicyWarning, match="'nobody' can never match: an empty list"):
        Policies({"rules": [{"name": "nobody", "when": {"teams": []}, "then": {"profile": "eco"}}]})


def test_unknown_profile_is_an_error_at_start(embedder: OnnxEmbedder) -> None:
    with pytest.raises(ConfigError, match="policy rule 'x': unknown profile 'platinum'"):
        _router(embedder, {"rules": [{"name": "x", "then": {"profile": "platinum"}}]})


def test_policy_cli_check_and_test(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import yaml

    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(POLICY))
    cands = tmp_path / "c.json"
    cands.write_text(json.dumps([c.model_dump(mode="json") for c in CANDIDATES]))
    assert main(["policy", "check", str(path)]) == 0
    assert "6 rules, 0 budgets: valid" in capsys.readouterr().out
    assert main(["policy", "test", str(path), PROOF, "--metadata", "team=interns", "--candidates", str(cands)]) == 0
    out = capsys.readouterr().out
    assert "rules matched: interns-no-premium" in out and "excluded opus: policy interns-no-premium" in out
    assert main(["policy", "test", str(path), "hi", "--metadata", "key_alias=legacy-1", "--json",
                 "--candidates", str(cands)]) == 0
    assert json.loads(capsys.readouterr().out) == {"rejected": True, "rule": "legacy-keys",
                                                   "message": "legacy keys are retired"}
    path.write_text("rules: [")
    assert main(["policy", "check", str(path)]) == 2


def test_policies_from_config(embedder: OnnxEmbedder) -> None:
    router = Router.from_config({"policies": POLICY}, candidates=CANDIDATES, embedder=embedder)
    assert router.decide(PROOF, metadata={"team": "interns"}).details["policies"] == ["interns-no-premium"]
