"""LLM callables: how strategies that ask an LLM get one, call it safely, and parse its replies.

A strategy never owns an LLM client. The user passes a callable::

    def llm(model: str, messages: list[dict]) -> str: ...          # sync
    async def allm(model: str, messages: list[dict]) -> str: ...   # async twin

or an ``openai``-style client (``client.chat.completions.create``), which
:func:`as_llm` wraps. :class:`LLMStrategy` is the base of the LLM-calling
strategies: it binds the callables (``bind_llm``; they are never saved with an
artifact), enforces a timeout and a hard cap on calls, and turns any failing call
into a safe estimate (the prior) with a warning detail instead of an exception.

Each strategy writes its decision procedure once, as a generator that yields
:class:`LLMRequest` objects (or lists of them, which ``apredict`` sends
concurrently) and receives the reply texts; the same generator serves ``predict``
(sync callable) and ``apredict`` (async callable, or the sync one in a thread).

:class:`FakeLLM` is a deterministic, rule-based **test double** of the callable a
user supplies. It is not a model and not a component of RouteIQ: it exists so
that tests and docs can exercise the LLM-calling strategies without a network.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import threading
import time
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Union

import numpy as np
from pydantic import Field

from routeiq_core import BaseStrategy, Candidate, Estimate, Query, StrategyParams, StrategyTags
from routeiq_core.errors import ConfigError, StrategyError

from ._base import candidate_values, column_means
from ._text_embedding import deepcopy_sharing_resources

__all__ = [
    "AsyncLLM",
    "FakeLLM",
    "FakeRule",
    "LLMBinding",
    "LLMCallError",
    "LLMParams",
    "LLMRequest",
    "LLMStrategy",
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
    elif inspect.iscoroutinefunction(obj) or inspect.iscoroutinefunction(getattr(obj, "__call__", None)):
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


# --------------------------------------------------------------------------- the base class

Step = Union[LLMRequest, list[LLMRequest]]
Reply = Union[str, list[str]]
Procedure = Generator[Step, Reply, Estimate]


class LLMParams(StrategyParams):
    """Parameters every LLM-calling strategy has."""

    timeout_s: float | None = Field(60.0, gt=0, description="Per-call timeout; None waits forever.")
    max_llm_calls: int = Field(16, ge=1, description="Hard cap on LLM calls per decision.")


@dataclass
class _CallLog:
    cap: int
    entries: list[dict[str, Any]] = field(default_factory=list)

    def reserve(self, n: int, model: str) -> None:
        if len(self.entries) + n > self.cap:
            raise LLMCallError(f"call cap of {self.cap} LLM calls per decision reached", model=model, cause="cap")


class LLMStrategy(BaseStrategy):
    """Base of the strategies that call an LLM while deciding.

    Subclasses implement ``_procedure(query, candidates)``: a generator that yields
    :class:`LLMRequest` (or a list of them) and receives the reply text (or list of
    texts), and returns the :class:`Estimate`. A failing call is thrown into the
    generator as :class:`LLMCallError`; if the generator does not handle it, the
    strategy returns the prior with ``details["fallback"] = True`` and a warning.

    The callables are bound with ``Strategy(llm=..., async_llm=...)`` or
    :meth:`bind_llm`; they are not part of the saved artifact, so a loaded strategy
    must be bound again: ``Strategy.load(path).bind_llm(llm)``.
    """

    tags: ClassVar[StrategyTags] = StrategyTags(
        requires_fit=False, deterministic=False, needs_embedding=False, calls_llm=True
    )
    Params: ClassVar[type[StrategyParams]] = LLMParams

    def __init__(
        self,
        params: StrategyParams | Mapping[str, Any] | None = None,
        /,
        *,
        llm: Any = None,
        async_llm: Any = None,
        **overrides: Any,
    ) -> None:
        super().__init__(params, **overrides)
        self._binding = as_llm(llm, async_llm)

    # ------------------------------------------------------------------ binding
    def bind_llm(self, llm: Any = None, *, async_llm: Any = None, **create_kwargs: Any) -> LLMStrategy:
        """Attach the LLM callable(s) (see :func:`as_llm`); returns self for chaining."""
        self._binding = as_llm(llm, async_llm, **create_kwargs)
        return self

    @property
    def llm(self) -> LLMBinding:
        return self._binding

    def clone(self, **changes: Any) -> LLMStrategy:
        new = super().clone(**changes)
        new._binding = self._binding
        return new

    def __deepcopy__(self, memo: dict[int, Any]) -> BaseStrategy:
        return deepcopy_sharing_resources(self, memo)  # type: ignore[no-any-return]

    @classmethod
    def conformance_instances(cls) -> list[LLMStrategy]:
        """Configured instances with a :class:`FakeLLM`, for the conformance kit."""
        return [cls(llm=FakeLLM())]

    def _missing_llm(self) -> ConfigError:
        return ConfigError(
            f"{self.name}: no LLM callable bound; pass one when constructing "
            f"({type(self).__name__}(llm=fn)) or call strategy.bind_llm(fn), where "
            "fn(model: str, messages: list[dict]) -> str, an async twin, or an openai client. "
            "Callables are not saved with an artifact: bind again after load()."
        )

    # ------------------------------------------------------------------ priors
    def _fit(self, dataset: Any) -> None:
        """Optional for strategies that need no training: remember each model's mean score as the prior."""
        self.models_ = [str(m) for m in dataset.models]
        self.model_mean_ = column_means(dataset.scores)

    def _prior(self, query: Query, candidates: Sequence[Candidate]) -> dict[str, float]:
        """Quality without asking the LLM: training means of known models, else the candidate's strength."""
        means = getattr(self, "model_mean_", None)
        models = getattr(self, "models_", None)
        if means is not None and models is not None:
            return candidate_values(np.asarray(means), candidates, models)
        return {c.name: float(c.strength()) for c in candidates}

    def _fallback(self, query: Query, candidates: Sequence[Candidate], reason: str,
                  log: _CallLog | None = None, **details: Any) -> Estimate:
        out: dict[str, Any] = {"fallback": True, "warning": f"{self.name}: {reason}; used the prior quality"}
        if log is not None:
            out["llm_calls"] = log.entries
        out.update(details)
        return Estimate(quality=self._prior(query, candidates), details=out, confidence=0.0)

    # ------------------------------------------------------------------ driving the procedure
    def _procedure(self, query: Query, candidates: Sequence[Candidate]) -> Procedure:
        raise NotImplementedError
        yield  # pragma: no cover

    def _timeout(self) -> float | None:
        return getattr(self.params, "timeout_s", None)

    def _cap(self) -> int:
        return int(getattr(self.params, "max_llm_calls", 16))

    def _binding_for(self, req: LLMRequest) -> LLMBinding:
        """The callables that serve ``req`` (Router-R1 sends pool calls to a second binding)."""
        return self._binding

    def _call_sync(self, req: LLMRequest, log: _CallLog) -> str:
        log.reserve(1, req.model)
        binding = self._binding_for(req)
        fn = binding.sync if binding.sync is not None else self._binding.sync
        assert fn is not None
        start = time.perf_counter()
        entry: dict[str, Any] = {"model": req.model, "purpose": req.purpose}
        log.entries.append(entry)
        box: dict[str, Any] = {}

        def run() -> None:
            try:
                box["text"] = response_text(fn(req.model, req.message_list()))
            except BaseException as exc:  # noqa: BLE001 - any failure of user code becomes a fallback
                box["error"] = exc

        timeout = self._timeout()
        if timeout is None:
            run()
        else:
            worker = threading.Thread(target=run, name=f"routeiq-llm-{self.name}", daemon=True)
            worker.start()
            worker.join(timeout)
            if worker.is_alive():
                box["error"] = TimeoutError(f"no reply within {timeout} s")
        entry["ms"] = round((time.perf_counter() - start) * 1000, 3)
        return self._finish(entry, box, req)

    async def _call_async(self, req: LLMRequest, log: _CallLog) -> str:
        log.reserve(1, req.model)
        start = time.perf_counter()
        entry: dict[str, Any] = {"model": req.model, "purpose": req.purpose}
        log.entries.append(entry)
        box: dict[str, Any] = {}
        binding = self._binding_for(req)
        try:
            if binding.async_ is not None:
                coro = binding.async_(req.model, req.message_list())
            elif binding.sync is not None:
                coro = asyncio.to_thread(binding.sync, req.model, req.message_list())
            else:
                raise self._missing_llm()
            box["text"] = response_text(await asyncio.wait_for(coro, self._timeout()))
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001
            box["error"] = exc
        entry["ms"] = round((time.perf_counter() - start) * 1000, 3)
        return self._finish(entry, box, req)

    @staticmethod
    def _finish(entry: dict[str, Any], box: dict[str, Any], req: LLMRequest) -> str:
        error = box.get("error")
        if error is None:
            entry["ok"] = True
            return str(box["text"])
        entry["ok"] = False
        entry["error"] = type(error).__name__
        if isinstance(error, LLMCallError):
            raise error
        cause = "timeout" if isinstance(error, (TimeoutError, asyncio.TimeoutError)) else "error"
        raise LLMCallError(f"LLM call to {req.model!r} failed: {type(error).__name__}: {error}",
                           model=req.model, cause=cause) from None

    def _drive(self, query: Query, candidates: Sequence[Candidate],
               answer: Callable[[Step, _CallLog], Reply]) -> Estimate:
        log = _CallLog(self._cap())
        gen = self._procedure(query, candidates)
        try:
            step = next(gen)
            while True:
                try:
                    reply = answer(step, log)
                except LLMCallError as exc:
                    step = gen.throw(exc)
                else:
                    step = gen.send(reply)
        except StopIteration as stop:
            estimate: Estimate = stop.value
            return _with_calls(estimate, log)
        except LLMCallError as exc:
            return self._fallback(query, candidates, str(exc), log)

    def _predict(self, query: Query, candidates: Sequence[Candidate]) -> Estimate:
        if not self._binding:
            raise self._missing_llm()
        if self._binding.sync is None:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                return asyncio.run(self.apredict(query, candidates))
            raise ConfigError(
                f"{self.name}: only an async LLM callable is bound and an event loop is running; "
                "await strategy.apredict(...) or bind a sync callable too"
            )

        def answer(step: Step, log: _CallLog) -> Reply:
            if isinstance(step, list):
                log.reserve(len(step), step[0].model if step else "")
                return [self._call_sync(r, log) for r in step]
            return self._call_sync(step, log)

        return self._drive(query, candidates, answer)

    def _predict_batch(self, queries: Sequence[Query], candidates: Sequence[Candidate]) -> list[Estimate]:
        return [self._predict(q, candidates) for q in queries]

    async def apredict(self, query: Query, candidates: Sequence[Candidate]) -> Estimate:
        """Async ``predict``: awaits the async callable (or runs the sync one in a thread)."""
        self._check_predict_input(query, candidates)
        if not self._binding:
            raise self._missing_llm()
        log = _CallLog(self._cap())
        gen = self._procedure(query, candidates)
        try:
            step = next(gen)
            while True:
                try:
                    if isinstance(step, list):
                        log.reserve(len(step), step[0].model if step else "")
                        results = await asyncio.gather(*(self._call_async(r, log) for r in step),
                                                       return_exceptions=True)
                        failed = [r for r in results if isinstance(r, BaseException)]
                        if failed:
                            raise failed[0]
                        reply: Reply = [str(r) for r in results]
                    else:
                        reply = await self._call_async(step, log)
                except LLMCallError as exc:
                    step = gen.throw(exc)
                else:
                    step = gen.send(reply)
        except StopIteration as stop:
            return _with_calls(stop.value, log)
        except LLMCallError as exc:
            return self._fallback(query, candidates, str(exc), log)


def _with_calls(estimate: Estimate, log: _CallLog) -> Estimate:
    details = dict(estimate.details)
    details.setdefault("llm_calls", log.entries)
    return Estimate(quality=estimate.quality, cost=estimate.cost, details=details,
                    confidence=estimate.confidence, category=estimate.category)


# --------------------------------------------------------------------------- the test double

FakeReply = Union[str, Sequence[str], Callable[[str, Messages], str]]


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
            if re.search(rule.pattern, text, flags=re.S):
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
