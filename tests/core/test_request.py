"""Request parsing: prompt strings, every OpenAI chat message shape, metadata."""

from __future__ import annotations

import pytest

from routeiq_core import Request, RequestError, RequestMetadata, parse_request

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}

AGENT_CONVERSATION = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "developer", "content": "Answer in metric units."},
    {"role": "user", "content": "What's the weather in Oslo?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": '{"temp_c": 4, "sky": "overcast"}'},
    {"role": "assistant", "content": "It is 4 °C and overcast in Oslo."},
    {"role": "user", "content": "And tomorrow?"},
]


def test_prompt_string_becomes_one_user_message() -> None:
    """A plain prompt is a single user message whose text is the routed prompt."""
    req = parse_request("Explain recursion to a child.")
    assert isinstance(req, Request)
    assert [(m.role, m.text) for m in req.messages] == [("user", "Explain recursion to a child.")]
    assert req.prompt == "Explain recursion to a child."
    assert req.tools == ()
    assert req.metadata == RequestMetadata()


def test_list_as_prompt_is_messages() -> None:
    """A list passed positionally is treated as chat messages."""
    req = parse_request([{"role": "user", "content": "hello"}])
    assert req.prompt == "hello"


def test_full_agent_conversation_parses_every_role() -> None:
    """system, developer, user, assistant (tool_calls, null content) and tool messages all parse."""
    req = parse_request(messages=AGENT_CONVERSATION, tools=[WEATHER_TOOL])
    assert [m.role for m in req.messages] == ["system", "developer", "user", "assistant", "tool", "assistant", "user"]
    call = req.messages[3]
    assert call.text == "" and call.tool_calls == 1
    assert req.messages[4].tool_call_id == "call_1"
    assert req.prompt == "And tomorrow?"  # the last user turn is routed
    assert req.system_text == "You are a helpful assistant.\nAnswer in metric units."
    assert req.tools == (WEATHER_TOOL,)


def test_legacy_functions_and_function_role() -> None:
    """The legacy ``functions`` list, ``function_call`` and the ``function`` role are understood."""
    functions = [{"name": "lookup", "parameters": {"type": "object", "properties": {}}}]
    req = parse_request(
        messages=[
            {"role": "user", "content": "look it up"},
            {"role": "assistant", "content": None, "function_call": {"name": "lookup", "arguments": "{}"}},
            {"role": "function", "name": "lookup", "content": "42"},
        ],
        functions=functions,
    )
    assert req.messages[1].tool_calls == 1
    assert req.messages[2].role == "function" and req.messages[2].name == "lookup"
    assert req.tools == tuple(functions)


def test_content_parts_text_image_audio_file() -> None:
    """Content-part lists keep the text and count images, audio and files."""
    req = parse_request(
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in this picture"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}},
                    {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
                    {"type": "file", "file": {"file_id": "file-abc"}},
                    {"type": "text", "text": "and this recording?"},
                ],
            }
        ]
    )
    msg = req.messages[0]
    assert msg.text == "What is in this picture\nand this recording?"
    assert (msg.images, msg.audio, msg.files) == (1, 1, 1)
    assert req.has_images and req.has_audio


def test_other_part_spellings() -> None:
    """Responses-API parts, bare strings, a single unwrapped part and Assistants-style text values parse."""
    req = parse_request(
        messages=[
            {"role": "user", "content": [{"type": "input_text", "text": "one"}, "two",
                                         {"type": "input_image", "image_url": "https://example.org/a.png"}]},
            {"role": "assistant", "content": {"type": "output_text", "text": "three"}},
            {"role": "user", "content": [{"type": "text", "text": {"value": "four"}}]},
        ]
    )
    assert req.messages[0].text == "one\ntwo" and req.messages[0].images == 1
    assert req.messages[1].text == "three"
    assert req.prompt == "four"


def test_unknown_part_types_are_ignored_but_nested_text_is_kept() -> None:
    """Unknown part types (refusal, thinking, future ones) never fail; nested content is read."""
    req = parse_request(
        messages=[
            {"role": "assistant",
             "content": [{"type": "refusal", "refusal": "no"}, {"type": "thinking", "thinking": "hm"}]},
            {"role": "user",
             "content": [{"type": "tool_result", "content": [{"type": "text", "text": "nested text"}]}]},
        ]
    )
    assert req.messages[0].text == ""
    assert req.prompt == "nested text"


def test_prompt_falls_back_to_last_text_message() -> None:
    """Without a user turn the routed text is the last message that has text."""
    req = parse_request(messages=[{"role": "system", "content": "Be terse."},
                                  {"role": "assistant", "content": "Done."}])
    assert req.prompt == "Done."


def test_image_only_request_is_accepted() -> None:
    """A request with only an image (no text) is routable."""
    req = parse_request(messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}])
    assert req.prompt == "" and req.has_images


def test_surrogates_and_control_characters_are_cleaned() -> None:
    """Lone surrogates become '?', control characters are dropped; newlines and tabs stay."""
    req = parse_request("a\ud800b\x00c\x1b[0m\td\ne")
    assert req.prompt == "a?bc[0m\td\ne"
    req.prompt.encode("utf-8")  # always encodable


def test_metadata_plain_spellings() -> None:
    """user, team, key_alias, session_id, profile and tags are read; other keys are kept in extra."""
    meta = parse_request(
        "hi",
        metadata={"user": "u1", "team": "t1", "key_alias": "k1", "session_id": "s1", "profile": "eco",
                  "tags": ["a", "b"], "trace": "x"},
    ).metadata
    assert (meta.user, meta.team, meta.key_alias, meta.session_id, meta.profile) == ("u1", "t1", "k1", "s1", "eco")
    assert meta.tags == ("a", "b")
    assert meta.extra == {"trace": "x"}


def test_metadata_litellm_spellings() -> None:
    """LiteLLM proxy's user_api_key_* keys, team_id and routeiq_profile map to the same fields."""
    meta = parse_request(
        "hi",
        metadata={"user_api_key_user_id": "u2", "user_api_key_team_id": "t2", "user_api_key_alias": "k2",
                  "routeiq_profile": "premium", "tags": "one-tag"},
    ).metadata
    assert (meta.user, meta.team, meta.key_alias, meta.profile) == ("u2", "t2", "k2", "premium")
    assert meta.tags == ("one-tag",)
    assert parse_request("hi", metadata={"team_id": "t3"}).metadata.team == "t3"


def test_metadata_integers_become_strings_and_profile_argument_wins() -> None:
    """Numeric ids are accepted as strings; profile= overrides the metadata profile."""
    req = parse_request("hi", metadata={"user": 42, "profile": "eco"}, profile="premium")
    assert req.metadata.user == "42"
    assert req.metadata.profile == "premium"


def test_request_metadata_object_is_accepted() -> None:
    """A RequestMetadata instance passes through, with profile= applied on top."""
    meta = RequestMetadata(user="u", team="t")
    assert parse_request("hi", metadata=meta).metadata is meta
    assert parse_request("hi", metadata=meta, profile="eco").metadata.profile == "eco"


def test_existing_request_is_returned_unchanged() -> None:
    """Passing a Request returns it; mixing it with parts is an error."""
    req = parse_request("hi")
    assert parse_request(req) is req
    with pytest.raises(RequestError, match="either a Request or its parts"):
        parse_request(req, metadata={"user": "x"})


@pytest.mark.parametrize(
    ("kwargs", "field", "fragment"),
    [
        ({"prompt": 3.5}, "prompt", "expected a string or a list of chat messages, got float"),
        ({"prompt": b"hi"}, "prompt", "decode it first"),
        ({"prompt": "hi", "messages": [{"role": "user", "content": "hi"}]}, "prompt", "pass one of them"),
        ({}, "prompt", "nothing to route"),
        ({"messages": []}, "messages", "at least one message"),
        ({"messages": [{"role": "user", "content": "x"}, 7]}, "messages[1]", "got int"),
        ({"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]}, "messages[0].content[0].text",
         "expected a string, got int"),
        ({"messages": [{"role": "user", "content": [{"type": ["text"], "text": "x"}]}]},
         "messages[0].content[0].type", "expected a string such as 'text'"),
        ({"messages": [{"role": "assistant", "content": None, "tool_calls": "call"}, {"role": "user", "content": "x"}]},
         "messages[0].tool_calls", "expected a list"),
        ({"prompt": "hi", "tools": {"type": "function"}}, "tools", "expected a list of tool definitions"),
        ({"prompt": "hi", "tools": ["get_weather"]}, "tools[0]", "expected a tool object"),
        ({"prompt": "hi", "functions": 1}, "functions", "expected a list of tool definitions"),
        ({"prompt": "hi", "metadata": ["user", "u"]}, "metadata", "expected a mapping, got list"),
        ({"prompt": "hi", "metadata": {"user": {"id": 1}}}, "metadata.user", "expected a string, got dict"),
        ({"prompt": "hi", "metadata": {"tags": ["a", 1]}}, "metadata.tags", "list of strings"),
    ],
)
def test_malformed_parts_name_the_field(kwargs: dict, field: str, fragment: str) -> None:
    """Each malformed part raises RequestError whose .field and message name it."""
    with pytest.raises(RequestError) as info:
        parse_request(**kwargs)
    assert info.value.field == field
    assert fragment in str(info.value)
