"""LiteLLM deployments -> RouteIQ candidates, and request shapes -> Router.decide inputs."""

from __future__ import annotations

from typing import Any

import pytest

from routeiq_core.errors import CandidateError
from routeiq_litellm._engine import RoutingEngine
from routeiq_litellm.candidates import deployment_candidates, group_key

from .conftest import deployment


def test_prices_come_from_litellms_cost_map(litellm: Any) -> None:
    """A known model gets LiteLLM's cost-map prices, context window and capabilities."""
    (cand,) = deployment_candidates([deployment("g", "a", "openai/gpt-4o-mini")])
    info = litellm.get_model_info("openai/gpt-4o-mini")
    assert cand.name == "a" and cand.model == "openai/gpt-4o-mini"
    assert cand.input_cost_per_mtok == pytest.approx(info["input_cost_per_token"] * 1e6)
    assert cand.output_cost_per_mtok == pytest.approx(info["output_cost_per_token"] * 1e6)
    assert cand.context_window == info["max_input_tokens"]
    assert {"tools", "vision"} <= cand.capabilities
    assert cand.metadata == {"model_group": "g", "price_source": "cost_map"}


def test_deployment_prices_and_hints_win_over_the_cost_map(litellm: Any) -> None:
    """Custom prices on the deployment and model_info.routeiq hints override the cost map."""
    dep = deployment(
        "g",
        "a",
        "openai/gpt-4o-mini",
        routeiq={"tier": 5, "quality": 0.9, "capabilities": ["code"]},
    )
    dep["litellm_params"]["input_cost_per_token"] = 1e-6
    dep["litellm_params"]["output_cost_per_token"] = 2e-6
    (cand,) = deployment_candidates([dep])
    assert (cand.input_cost_per_mtok, cand.output_cost_per_mtok) == (
        pytest.approx(1.0),
        pytest.approx(2.0),
    )
    assert cand.tier == 5 and cand.quality == 0.9 and cand.capabilities == frozenset({"code"})
    assert cand.metadata["price_source"] == "deployment"


def test_overrides_by_group_model_and_id_most_specific_wins(litellm: Any) -> None:
    """Adapter overrides apply by model string, then group, then deployment id."""
    deps = [deployment("g", "a", "openai/gpt-4o-mini"), deployment("g", "b", "openai/gpt-4o")]
    overrides = {
        "g": {"tier": 2},
        "b": {"tier": 4},
        "openai/gpt-4o-mini": {"tier": 1, "quality": 0.5},
    }
    a, b = deployment_candidates(deps, overrides=overrides)
    assert (a.tier, a.quality) == (2, 0.5)
    assert b.tier == 4


def test_unpriced_deployment_gets_the_group_median(litellm: Any) -> None:
    """A model missing from the cost map is neither free nor the most expensive: group median."""
    deps = [
        deployment("g", "a", "openai/gpt-4o-mini"),
        deployment("g", "b", "openai/gpt-4o"),
        deployment("g", "c", "openai/o3-mini"),
        deployment("g", "x", "my-provider/unknown-model-7b"),
    ]
    cands = {c.name: c for c in deployment_candidates(deps)}
    known = sorted(cands[n].input_cost_per_mtok for n in "abc")
    assert cands["x"].input_cost_per_mtok == pytest.approx(known[1])
    assert cands["x"].metadata["price_source"] == "group_median"


def test_unknown_hint_field_is_a_candidate_error(litellm: Any) -> None:
    """A misspelled hint names the deployment and the valid fields."""
    with pytest.raises(CandidateError, match="deployment 'a'.*'teir'.*expected some of"):
        deployment_candidates([deployment("g", "a", "openai/gpt-4o", routeiq={"teir": 3})])


def test_non_numeric_price_is_a_candidate_error(litellm: Any) -> None:
    """A price LiteLLM would accept as a string must still be a number."""
    dep = deployment("g", "a", "openai/gpt-4o")
    dep["model_info"]["input_cost_per_token"] = "cheap"
    with pytest.raises(
        CandidateError, match="deployment 'a': input_cost_per_token must be a number, got 'cheap'"
    ):
        deployment_candidates([dep])


def test_group_key_changes_when_the_group_changes() -> None:
    """The router cache key follows deployment ids and models."""
    one = [deployment("g", "a", "openai/gpt-4o")]
    assert group_key(one) == group_key([deployment("g", "a", "openai/gpt-4o")])
    assert group_key(one) != group_key([deployment("g", "a", "openai/gpt-4o-mini")])
    assert group_key(one) != group_key([*one, deployment("g", "b", "openai/gpt-4o")])


@pytest.mark.parametrize(
    ("messages", "input_", "want"),
    [
        (
            [{"role": "user", "content": "hi"}],
            None,
            {"messages": [{"role": "user", "content": "hi"}]},
        ),
        (None, "embed me", {"prompt": "embed me"}),
        (None, ["first", "second"], {"prompt": "first\nsecond"}),
        (
            None,
            [
                {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": "from responses"}],
                },
                {"type": "function_call_output", "call_id": "c", "output": "42"},
            ],
            {
                "messages": [
                    {"role": "user", "content": [{"type": "input_text", "text": "from responses"}]}
                ]
            },
        ),
    ],
)
def test_request_shapes_become_decide_inputs(
    messages: Any, input_: Any, want: dict[str, Any]
) -> None:
    """Chat messages, embedding input and Responses-API input all become something to route on."""
    inputs = RoutingEngine().inputs(messages, input_, {"metadata": {}})
    assert {k: v for k, v in inputs.items() if k not in ("metadata", "deadline_ms")} == want


def test_the_decision_deadline_never_outlives_the_request() -> None:
    """The setting (2000 ms by default), lowered to a quarter of the request's own timeout."""
    engine = RoutingEngine()
    messages = [{"role": "user", "content": "hi"}]
    assert engine.inputs(messages, None, {})["deadline_ms"] == 2000.0
    assert engine.inputs(messages, None, {"timeout": 2})["deadline_ms"] == 500.0
    assert engine.inputs(messages, None, {"request_timeout": 600})["deadline_ms"] == 2000.0
    assert engine.inputs(messages, None, {"timeout": "soon"})["deadline_ms"] == 2000.0


def test_routing_metadata_keeps_only_what_routing_uses() -> None:
    """Team, key, user and tags pass through; other metadata (and odd types) do not."""
    md = {
        "user_api_key_team_id": "t1",
        "user_api_key_alias": "k1",
        "user_api_key_user_id": 7,
        "tags": ["a", "b"],
        "headers": {"x-routeiq-profile": "eco"},
        "secret_thing": object(),
        "user_api_key_auth": {"token": "sk-..."},
        "session_id": None,
    }
    inputs = RoutingEngine().inputs([{"role": "user", "content": "x"}], None, {"metadata": md})
    assert inputs["metadata"] == {
        "user_api_key_team_id": "t1",
        "user_api_key_alias": "k1",
        "user_api_key_user_id": 7,
        "tags": ["a", "b"],
    }
    assert inputs["profile"] == "eco"


def test_decide_inputs_parse_with_the_core(engine: Any) -> None:
    """Anthropic-shaped content blocks route like chat messages (text, images, tool results)."""
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in this picture?"},
                {"type": "image", "source": {"type": "base64", "data": "..."}},
            ],
        },
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t", "name": "look", "input": {}}],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "t",
                    "content": [{"type": "text", "text": "a cat"}],
                }
            ],
        },
    ]
    router = engine.router_for(
        [deployment("g", "a", "openai/gpt-4o"), deployment("g", "b", "openai/gpt-4o-mini")]
    )
    decision = router.decide(**engine.inputs(messages, None, {"metadata": {}}))
    assert decision.name in {"a", "b"}
