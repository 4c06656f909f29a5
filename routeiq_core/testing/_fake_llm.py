"""FakeLLM: a deterministic, rule-based test double of the LLM callable a user supplies.

It is not a model and not a component of RouteIQ's runtime: it exists so that tests,
docs and the conformance kit can exercise the LLM-calling strategies without a network.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["FakeCall", "FakeLLM", "FakeRule"]

Messages = list[dict[str, Any]]
FakeReply = str | Sequence[str] | Callable[[str, Messages], str]


@dataclass(frozen=True)
class FakeRule:
    """If ``pattern`` (a regex) occurs in the last message (and ``model`` matches), answer ``reply``.

    ``reply`` is a string, a list of strings (taken in turn, or drawn with the
    FakeLLM's seeded generator when ``sample=True``), or a function of
    ``(model, messages)``.
    """

    pattern: str
    reply: FakeReply
    model: str | None = None
    sample: bool = False


@dataclass(frozen=True, slots=True)
class FakeCall:
    model: str
    messages: Messages


class FakeLLM:
    """A deterministic, rule-based stand-in for a user's LLM callable (tests and docs only).

    It answers by the first matching :class:`FakeRule`, else ``default``; it raises
    for models in ``fail_models`` and blocks for ``delay_s`` seconds for models in
    ``slow_models`` (to exercise timeouts). Every call is recorded in ``calls``.
    The default reply is a neutral sentence that no strategy can parse as a choice,
    so a strategy built with ``FakeLLM()`` and no rules exercises its fallback path.
    """

    def __init__(
        self,
        rules: Sequence[FakeRule | tuple[Any, ...]] = (),
        *,
        default: FakeReply = "I am a test double and have no opinion.",
        seed: int = 0,
        fail_models: Sequence[str] = (),
        slow_models: Sequence[str] = (),
        delay_s: float = 1.0,
    ) -> None:
        self.rules = [r if isinstance(r, FakeRule) else FakeRule(*r) for r in rules]
        self.default = default
        self.fail_models = frozenset(fail_models)
        self.slow_models = frozenset(slow_models)
        self.delay_s = delay_s
        self.calls: list[FakeCall] = []
        self._rng = np.random.default_rng(seed)
        self._turn: dict[int, int] = {}
        self._lock = threading.Lock()
        self._release = threading.Event()

    def __call__(self, model: str, messages: Messages) -> str:
        if model in self.slow_models:
            self._release.wait(self.delay_s)
        return self._answer(model, messages)

    async def acall(self, model: str, messages: Messages) -> str:
        if model in self.slow_models:
            await asyncio.sleep(self.delay_s)
        return self._answer(model, messages)

    def _answer(self, model: str, messages: Messages) -> str:
        with self._lock:
            self.calls.append(FakeCall(model, [dict(m) for m in messages]))
        if model in self.fail_models:
            raise RuntimeError(f"FakeLLM: model {model!r} is configured to fail")
        last = messages[-1].get("content", "") if messages else ""
        text = last if isinstance(last, str) else str(last)
        for i, rule in enumerate(self.rules):
            if rule.model is not None and rule.model != model:
                continue
            if re.search(rule.pattern, text, flags=re.DOTALL):
                return self._reply(i, rule.reply, rule.sample, model, messages)
        return self._reply(-1, self.default, False, model, messages)

    def _reply(self, key: int, reply: FakeReply, sample: bool, model: str, messages: Messages) -> str:
        if callable(reply):
            return str(reply(model, messages))
        if isinstance(reply, str):
            return reply
        options = list(reply)
        with self._lock:
            if sample:
                return str(options[int(self._rng.integers(len(options)))])
            turn = self._turn.get(key, 0)
            self._turn[key] = turn + 1
        return str(options[turn % len(options)])

    def release(self) -> None:
        """Unblock every call waiting on a slow model (ends a timeout test quickly)."""
        self._release.set()

    def models_called(self) -> list[str]:
        return [c.model for c in self.calls]
