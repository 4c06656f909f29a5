"""Property tests: hostile request structures never crash Router.decide()."""

from __future__ import annotations

import json
import warnings

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routeiq_core import RouteIQError, Router

ROLES = ["system", "developer", "user", "assistant", "tool", "function"]
PART_TYPES = ["text", "input_text", "output_text", "image_url", "input_image", "input_audio", "file",
              "refusal", "thinking", "tool_result"]
KEYS = ["role", "content", "type", "text", "tool_calls", "name", "tool_call_id", "function_call", "image_url"]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
    st.text(max_size=40), st.binary(max_size=8),
)
anything = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=6)), inner, max_size=4),
    ),
    max_leaves=24,
)
roles = st.one_of(st.sampled_from(ROLES), st.text(max_size=10), anything)
part_types = st.one_of(st.sampled_from(PART_TYPES), st.text(max_size=10), anything)
parts = st.one_of(
    anything,
    st.fixed_dictionaries({"type": part_types},
                          optional={"text": anything, "content": anything, "image_url": anything}),
)
contents = st.one_of(st.none(), st.text(max_size=200), st.lists(parts, max_size=5), anything)
messages = st.one_of(
    anything,
    st.lists(
        st.one_of(
            anything,
            st.fixed_dictionaries(
                {"role": roles},
                optional={"content": contents, "tool_calls": anything, "name": anything,
                          "tool_call_id": anything, "function_call": anything},
            ),
        ),
        max_size=6,
    ),
)
metadata = st.one_of(
    st.none(), anything,
    st.dictionaries(st.sampled_from(["user", "team", "team_id", "key_alias", "user_api_key_alias", "session_id",
                                     "profile", "tags"]), anything, max_size=4),
)
profiles = st.one_of(st.none(), st.sampled_from(["auto", "eco", "premium", "free", "reasoning", "nope"]), anything)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                            HealthCheck.function_scoped_fixture])


def _decide_or_routeiq_error(router: Router, **kwargs: object) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a warning here would mean the strategy failed
            decision = router.decide(**kwargs)  # type: ignore[arg-type]
    except RouteIQError:
        return
    assert decision.candidate in router.candidates
    assert decision.name == decision.ranking[0].name
    json.dumps(decision.to_dict())


@SETTINGS
@given(messages=messages, tools=st.one_of(st.none(), anything), metadata=metadata, profile=profiles)
def test_hostile_messages_decide_or_raise_routeiq_error(router: Router, messages: object, tools: object,
                                                        metadata: object, profile: object) -> None:
    """Random nested messages, roles, part types, tools, metadata and profiles decide or raise RouteIQError."""
    _decide_or_routeiq_error(router, messages=messages, tools=tools, metadata=metadata, profile=profile)


@SETTINGS
@given(prompt=st.one_of(st.text(max_size=300), anything))
def test_hostile_prompts_decide_or_raise_routeiq_error(router: Router, prompt: object) -> None:
    """Any string (surrogates, control characters) or any other value as prompt decides or raises RouteIQError."""
    _decide_or_routeiq_error(router, prompt=prompt)


@SETTINGS
@given(prompt=st.text(min_size=1, max_size=200).filter(lambda s: s.strip()))
def test_non_blank_text_always_decides(router: Router, prompt: str) -> None:
    """Every prompt with visible text (after cleaning) gets a decision."""
    try:
        decision = router.decide(prompt)
    except RouteIQError as exc:  # only when cleaning removed everything (control characters)
        assert "no text to route on" in str(exc)
        return
    assert decision.ranking[0].name == decision.name
