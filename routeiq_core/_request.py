"""The routing request: a prompt or OpenAI-style chat messages, plus metadata.

Every shape the OpenAI chat API accepts is normalised into immutable
:class:`Message` objects once, so the signals, the embedder and the strategies
never deal with raw dicts. Anything malformed raises :class:`RequestError`
naming the field, what was expected and what arrived.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .errors import ConfigError, RequestError

__all__ = ["Message", "Request", "RequestMetadata", "parse_request"]

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
TEXT_PART_TYPES = frozenset({"text", "input_text", "output_text"})
IMAGE_PART_TYPES = frozenset({"image_url", "input_image", "image"})
AUDIO_PART_TYPES = frozenset({"input_audio", "audio"})
FILE_PART_TYPES = frozenset({"file", "input_file"})
# Anything else (e.g. "refusal", "thinking") is kept as unknown and ignored for routing.

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: Content parts may wrap parts (e.g. a tool result holding text); deeper nesting is refused.
MAX_CONTENT_DEPTH = 16


def clean_text(text: str) -> str:
    """Make text safe for tokenising and logging: lone surrogates are replaced, control characters dropped."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return _CONTROL.sub("", text)


def _describe(value: object) -> str:
    name = type(value).__name__
    if isinstance(value, (str, bytes)):
        return f"{name} of length {len(value)}"
    return name


@dataclass(frozen=True, slots=True)
class Message:
    """One normalised chat message."""

    role: str
    text: str = ""
    images: int = 0
    audio: int = 0
    files: int = 0
    tool_calls: int = 0
    tool_call_id: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class RequestMetadata:
    """Who is asking and how they want to be routed."""

    user: str | None = None
    team: str | None = None
    key_alias: str | None = None
    session_id: str | None = None
    profile: str | None = None
    tags: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Request:
    """A normalised routing request. Build one with :func:`parse_request`."""

    messages: tuple[Message, ...]
    tools: tuple[Mapping[str, Any], ...] = ()
    metadata: RequestMetadata = field(default_factory=RequestMetadata)

    @property
    def prompt(self) -> str:
        """The text that is routed on: the last user turn, else the last message with text."""
        for message in reversed(self.messages):
            if message.role == "user" and message.text.strip():
                return message.text
        for message in reversed(self.messages):
            if message.text.strip():
                return message.text
        return ""

    @property
    def system_text(self) -> str:
        return "\n".join(m.text for m in self.messages if m.role in ("system", "developer"))

    @property
    def has_images(self) -> bool:
        return any(m.images for m in self.messages)

    @property
    def has_audio(self) -> bool:
        return any(m.audio for m in self.messages)

    @property
    def total_chars(self) -> int:
        return sum(len(m.text) for m in self.messages)


# --------------------------------------------------------------------------- parsing


def _parse_content(content: object, where: str, depth: int = 0) -> tuple[str, int, int, int]:
    """Return (text, images, audio, files) of an OpenAI ``content`` value."""
    if depth > MAX_CONTENT_DEPTH:
        raise RequestError(
            f"{where}: content parts nested more than {MAX_CONTENT_DEPTH} levels deep; flatten the content",
            field=where,
        )
    if content is None:
        return "", 0, 0, 0
    if isinstance(content, str):
        return clean_text(content), 0, 0, 0
    if isinstance(content, Mapping):  # a single part not wrapped in a list
        content = [content]
    if not isinstance(content, (list, tuple)):
        raise RequestError(
            f"{where}: expected a string, a list of content parts or null, got {_describe(content)}; "
            "pass content='text' or content=[{'type': 'text', 'text': '...'}]",
            field=where,
        )
    texts: list[str] = []
    images = audio = files = 0
    for i, part in enumerate(content):
        part_where = f"{where}[{i}]"
        if isinstance(part, str):
            texts.append(clean_text(part))
            continue
        if not isinstance(part, Mapping):
            raise RequestError(
                f"{part_where}: expected a content part object like {{'type': 'text', 'text': '...'}}, "
                f"got {_describe(part)}",
                field=part_where,
            )
        kind = part.get("type")
        if kind is not None and not isinstance(kind, str):
            raise RequestError(
                f"{part_where}.type: expected a string such as 'text' or 'image_url', got {_describe(kind)}",
                field=f"{part_where}.type",
            )
        if kind in TEXT_PART_TYPES or (kind is None and "text" in part):
            value = part.get("text")
            if isinstance(value, Mapping):  # {"text": {"value": ...}} as in the Assistants API
                value = value.get("value")
            if value is None:
                continue
            if not isinstance(value, str):
                raise RequestError(
                    f"{part_where}.text: expected a string, got {_describe(value)}", field=f"{part_where}.text"
                )
            texts.append(clean_text(value))
        elif kind in IMAGE_PART_TYPES:
            images += 1
        elif kind in AUDIO_PART_TYPES:
            audio += 1
        elif kind in FILE_PART_TYPES:
            files += 1
        else:
            # Unknown or future part types (refusal, thinking, ...) carry nothing we route on.
            nested = part.get("content")
            if isinstance(nested, (list, tuple, str)):
                text, i2, a2, f2 = _parse_content(nested, f"{part_where}.content", depth + 1)
                texts.append(text)
                images, audio, files = images + i2, audio + a2, files + f2
    return "\n".join(t for t in texts if t), images, audio, files


def _parse_message(raw: object, index: int) -> Message:
    where = f"messages[{index}]"
    if not isinstance(raw, Mapping):
        raise RequestError(
            f"{where}: expected a message object with 'role' and 'content', got {_describe(raw)}",
            field=where,
        )
    role = raw.get("role")
    if role is None:
        raise RequestError(
            f"{where}.role: missing; expected one of {sorted(ROLES)}", field=f"{where}.role"
        )
    if not isinstance(role, str) or role not in ROLES:
        shown = repr(role)[:40] if isinstance(role, str) else _describe(role)
        raise RequestError(
            f"{where}.role: expected one of {sorted(ROLES)}, got {shown}", field=f"{where}.role"
        )
    text, images, audio, files = _parse_content(raw.get("content"), f"{where}.content")
    tool_calls = raw.get("tool_calls")
    n_calls = 0
    if tool_calls is not None:
        if not isinstance(tool_calls, (list, tuple)):
            raise RequestError(
                f"{where}.tool_calls: expected a list, got {_describe(tool_calls)}", field=f"{where}.tool_calls"
            )
        n_calls = len(tool_calls)
    if raw.get("function_call") is not None:
        n_calls += 1
    tool_call_id = raw.get("tool_call_id")
    name = raw.get("name")
    return Message(
        role=role,
        text=text,
        images=images,
        audio=audio,
        files=files,
        tool_calls=n_calls,
        tool_call_id=str(tool_call_id) if tool_call_id is not None else None,
        name=name if isinstance(name, str) else None,
    )


def _parse_tools(tools: object, field_name: str) -> tuple[Mapping[str, Any], ...]:
    if tools is None:
        return ()
    if not isinstance(tools, (list, tuple)):
        raise RequestError(
            f"{field_name}: expected a list of tool definitions, got {_describe(tools)}", field=field_name
        )
    parsed = []
    for i, tool in enumerate(tools):
        if not isinstance(tool, Mapping):
            raise RequestError(
                f"{field_name}[{i}]: expected a tool object like {{'type': 'function', 'function': {{...}}}}, "
                f"got {_describe(tool)}",
                field=f"{field_name}[{i}]",
            )
        parsed.append(tool)
    return tuple(parsed)


#: Bounds of an id in metadata (user, team, key alias, session, profile).
MAX_ID_CHARS = 4096
MAX_ID_INT_BITS = 256


def _opt_str(meta: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = meta.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise RequestError(
                f"metadata.{key}: expected a string, got {_describe(value)}", field=f"metadata.{key}"
            )
        if isinstance(value, int) and value.bit_length() > MAX_ID_INT_BITS:
            raise RequestError(f"metadata.{key}: an integer of {value.bit_length()} bits is not an id; "
                               "pass a string", field=f"metadata.{key}")
        text = str(value)
        if len(text) > MAX_ID_CHARS:
            raise RequestError(f"metadata.{key}: {len(text)} characters, at most {MAX_ID_CHARS} for an id",
                               field=f"metadata.{key}")
        return text
    return None


#: The metadata of a request that has none (shared: it is frozen, and its ``extra`` is read-only).
_NO_METADATA = RequestMetadata(extra=MappingProxyType({}))


def parse_metadata(metadata: object, *, profile: str | None = None) -> RequestMetadata:
    """Normalise request metadata (LiteLLM's ``user_api_key_*`` spellings are understood too)."""
    if metadata is None:
        return _NO_METADATA if profile is None else RequestMetadata(profile=profile, extra=MappingProxyType({}))
    if isinstance(metadata, RequestMetadata):
        if profile is None:
            return metadata
        return RequestMetadata(
            metadata.user, metadata.team, metadata.key_alias, metadata.session_id, profile,
            metadata.tags, metadata.extra,
        )
    if not isinstance(metadata, Mapping):
        raise RequestError(f"metadata: expected a mapping, got {_describe(metadata)}", field="metadata")
    tags = metadata.get("tags") or ()
    if isinstance(tags, str):
        tags = (tags,)
    if not isinstance(tags, (list, tuple)) or not all(isinstance(t, str) for t in tags):
        raise RequestError("metadata.tags: expected a list of strings", field="metadata.tags")
    chosen_profile = profile if profile is not None else _opt_str(metadata, "profile", "routeiq_profile")
    known = {"user", "team", "team_id", "key_alias", "user_api_key_alias", "user_api_key_team_id",
             "user_api_key_team_alias",
             "user_api_key_user_id", "session_id", "litellm_session_id", "profile", "routeiq_profile", "tags"}
    return RequestMetadata(
        user=_opt_str(metadata, "user", "user_api_key_user_id"),
        team=_opt_str(metadata, "team", "team_id", "user_api_key_team_id", "user_api_key_team_alias"),
        key_alias=_opt_str(metadata, "key_alias", "user_api_key_alias"),
        session_id=_opt_str(metadata, "session_id", "litellm_session_id"),
        profile=chosen_profile,
        tags=tuple(tags),
        extra={k: v for k, v in metadata.items() if k not in known},
    )


def parse_request(
    prompt: object = None,
    *,
    messages: object = None,
    tools: object = None,
    functions: object = None,
    metadata: object = None,
    profile: str | None = None,
) -> Request:
    """Build a :class:`Request` from a prompt string or OpenAI chat ``messages``.

    ``prompt`` may also be a list of messages or an existing :class:`Request`.
    """
    if isinstance(prompt, Request):
        if messages is None and tools is None and functions is None and metadata is None and profile is None:
            return prompt
        raise RequestError("pass either a Request or its parts, not both", field="request")
    if prompt is not None and messages is not None:
        raise RequestError(
            "got both a prompt and messages; pass one of them", field="prompt"
        )
    if prompt is not None and not isinstance(prompt, str):
        if isinstance(prompt, (list, tuple)):
            messages, prompt = prompt, None
        elif isinstance(prompt, bytes):
            raise RequestError(
                "prompt: expected str, got bytes; decode it first (prompt.decode('utf-8'))", field="prompt"
            )
        else:
            raise RequestError(
                f"prompt: expected a string or a list of chat messages, got {_describe(prompt)}",
                field="prompt",
            )
    if prompt is not None:
        parsed: tuple[Message, ...] = (Message(role="user", text=clean_text(prompt)),)
    elif messages is not None:
        if not isinstance(messages, (list, tuple)):
            raise RequestError(
                f"messages: expected a list of message objects, got {_describe(messages)}", field="messages"
            )
        parsed = tuple(_parse_message(m, i) for i, m in enumerate(messages))
    else:
        raise RequestError("nothing to route: pass a prompt string or messages", field="prompt")
    if not parsed:
        raise RequestError("messages: expected at least one message, got an empty list", field="messages")
    all_tools = _parse_tools(tools, "tools") + _parse_tools(functions, "functions")
    request = Request(messages=parsed, tools=all_tools, metadata=parse_metadata(metadata, profile=profile))
    if not request.prompt.strip() and not (request.has_images or request.has_audio or request.tools):
        raise RequestError(
            "the request has no text to route on (empty or whitespace-only prompt); send a non-empty prompt",
            field="prompt" if prompt is not None else "messages",
        )
    return request


DECIDE_KEYS = frozenset({"prompt", "messages", "tools", "functions", "metadata", "profile", "exclude"})


def batch_arguments(requests: Any, profile: str | None) -> list[tuple[Any, ...]]:
    """``decide_batch`` items as ``(prompt, messages, tools, functions, metadata, profile, exclude)``.

    An item is a prompt, a message list, a :class:`Request`, or a dict of ``decide()``
    keyword arguments; anything else fails in parsing, as it would in ``decide()``.
    """
    if isinstance(requests, (str, bytes, Mapping)) or not isinstance(requests, Sequence):
        raise ConfigError(f"decide_batch expects a list of requests, got {type(requests).__name__}; "
                           "use decide() for one")
    out = []
    for item in requests:
        if not isinstance(item, Mapping):
            out.append((item, None, None, None, None, profile, ()))
            continue
        unknown = [k for k in item if k not in DECIDE_KEYS]
        if unknown:
            raise ConfigError(f"decide_batch item has unknown keys {[repr(k)[:40] for k in unknown][:10]}; "
                               f"expected some of {sorted(DECIDE_KEYS)}")
        out.append((item.get("prompt"), item.get("messages"), item.get("tools"), item.get("functions"),
                    item.get("metadata"), item.get("profile", profile), item.get("exclude", ())))
    return out
