"""LLM callables: what a user passes, wrapped into one binding, and how replies are read.

A strategy never owns an LLM client. The user passes a callable::

    def llm(model: str, messages: list[dict]) -> str: ...          # sync
    async def allm(model: str, messages: list[dict]) -> str: ...   # async twin

or an ``openai``-style client (``client.chat.completions.create``), which :func:`as_llm`
wraps into an :class:`LLMBinding`. :func:`response_text` reads a reply;
:func:`match_candidate` finds the candidate a free-text reply names.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from routeiq_core import Candidate
from routeiq_core.errors import ConfigError, StrategyError

__all__ = [
    "AsyncLLM",
    "LLMBinding",
    "LLMCallError",
    "LLMRequest",
    "Messages",
    "SyncLLM",
    "as_llm",
    "match_candidate",
    "response_text",
]

Messages = list[dict[str, Any]]
SyncLLM = Callable[[str, Messages], str]
AsyncLLM = Callable[[str, Messages], Awaitable[str]]


class LLMCallError(StrategyError):
    """An LLM call failed, timed out, returned no text, or exceeded the call cap."""

    def __init__(self, message: str, *, model: str = "", cause: str = "") -> None:
        super().__init__(message)
        self.model = model
        self.cause = cause


@dataclass(frozen=True, slots=True)
class LLMRequest:
    """One call a strategy wants made: ``model`` and OpenAI-style ``messages``."""

    model: str
    messages: tuple[Mapping[str, Any], ...]
    purpose: str = ""

    @classmethod
    def user(cls, model: str, text: str, *, system: str | None = None, purpose: str = "") -> LLMRequest:
        msgs: list[dict[str, Any]] = []
        if system:
            msgs.append({"role": "system", "content": system})
        msgs.append({"role": "user", "content": text})
        return cls(model, tuple(msgs), purpose)

    def message_list(self) -> Messages:
        return [dict(m) for m in self.messages]


# --------------------------------------------------------------------------- wrapping user callables


def response_text(response: Any) -> str:
    """The text of a reply: a string, an OpenAI ``ChatCompletion`` object, or its dict form."""
    if isinstance(response, str):
        return response
    choices = response.get("choices") if isinstance(response, Mapping) else getattr(response, "choices", None)
    if choices:
        first = choices[0]
        message = first.get("message") if isinstance(first, Mapping) else getattr(first, "message", None)
        if message is not None:
            content = message.get("content") if isinstance(message, Mapping) else getattr(message, "content", None)
            if isinstance(content, str):
                return content
            if content is None:
                return ""
        text = first.get("text") if isinstance(first, Mapping) else getattr(first, "text", None)
        if isinstance(text, str):
            return text
    raise LLMCallError(
        f"the LLM callable returned {type(response).__name__}; expected a string or an OpenAI-style "
        "chat completion (choices[0].message.content)",
        cause="bad_response",
    )


@dataclass(frozen=True)
class LLMBinding:
    """The callables a strategy uses: a sync one, an async one, or both."""

    sync: SyncLLM | None = None
    async_: AsyncLLM | None = None

    def __bool__(self) -> bool:
        return self.sync is not None or self.async_ is not None


def _openai_create(client: Any) -> Callable[..., Any] | None:
    chat = getattr(client, "chat", None)
    completions = getattr(chat, "completions", None)
    create = getattr(completions, "create", None)
    return create if callable(create) else None


def _wrap_openai(client: Any, create_kwargs: Mapping[str, Any]) -> LLMBinding:
    create = _openai_create(client)
    assert create is not None
    extra = dict(create_kwargs)
    if inspect.iscoroutinefunction(create) or inspect.iscoroutinefunction(inspect.unwrap(create)):

        async def acall(model: str, messages: Messages) -> str:
            return response_text(await create(model=model, messages=messages, **extra))

        return LLMBinding(async_=acall)

    def call(model: str, messages: Messages) -> str:
        return response_text(create(model=model, messages=messages, **extra))

    return LLMBinding(sync=call)


def _async_call(obj: Any) -> bool:
    """True for an object whose ``__call__`` is a coroutine function (an async callable class)."""
    call = getattr(type(obj), "__call__", None)  # noqa: B004 - the method itself, not callable(obj)
    return inspect.iscoroutinefunction(call)


def as_llm(obj: Any, async_obj: Any = None, **create_kwargs: Any) -> LLMBinding:
    """Turn what a user passes into an :class:`LLMBinding`.

    Accepted: a function ``(model, messages) -> str``, a coroutine function (async),
    an object with both ``__call__`` and an async ``acall`` (like :class:`FakeLLM`),
    an ``openai.OpenAI`` / ``openai.AsyncOpenAI`` client (``create_kwargs`` such as
    ``temperature`` are passed to every ``chat.completions.create``), or a binding.
    ``async_obj`` adds an async twin to a sync ``obj``.
    """
    if isinstance(obj, LLMBinding):
        binding = obj
    elif obj is None:
        binding = LLMBinding()
    elif _openai_create(obj) is not None:
        binding = _wrap_openai(obj, create_kwargs)
    elif inspect.iscoroutinefunction(obj) or _async_call(obj):
        binding = LLMBinding(async_=obj)
    elif callable(obj):
        acall = getattr(obj, "acall", None)
        binding = LLMBinding(sync=obj, async_=acall if inspect.iscoroutinefunction(acall) else None)
    else:
        raise ConfigError(
            f"llm: expected a callable (model, messages) -> str, an async one, or an openai-style client, "
            f"got {type(obj).__name__}"
        )
    if async_obj is not None:
        extra = as_llm(async_obj, **create_kwargs)
        if extra.async_ is None:
            raise ConfigError(
                f"async_llm: expected a coroutine function or an async openai client, got {type(async_obj).__name__}"
            )
        binding = LLMBinding(sync=binding.sync, async_=extra.async_)
    return binding


# --------------------------------------------------------------------------- parsing replies

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def _norm(text: str) -> str:
    return _NON_ALNUM.sub("", text.lower())


def match_candidate(text: str, candidates: Sequence[Candidate]) -> Candidate | None:
    """The candidate a free-text reply names, or None.

    Names and model ids (also the part after the last ``/``) are compared after
    lower-casing and dropping punctuation, so ``"Llama 3.1 8B Instruct"`` matches
    ``llama-3.1-8b-instruct``. The longest match wins; among equally long matches
    the one mentioned first.
    """
    if not text:
        return None
    hay = _norm(text)
    lowered = text.lower()
    best: tuple[int, int, int] | None = None  # (-length, position, index)
    for i, cand in enumerate(candidates):
        keys = {cand.name, cand.model, cand.model.rsplit("/", 1)[-1], cand.name.rsplit("/", 1)[-1]}
        for key in keys:
            k = _norm(key)
            if not k:
                continue
            if len(k) >= 3:
                pos = hay.find(k)
            else:  # very short names ("a", "b2") only as a whole word, or as the whole reply
                found = re.search(rf"(?<![a-z0-9]){re.escape(key.lower())}(?![a-z0-9])", lowered)
                pos = 0 if hay == k else (found.start() if found else -1)
            if pos >= 0:
                rank = (-len(k), pos, i)
                if best is None or rank < best:
                    best = rank
    return None if best is None else candidates[best[2]]
