"""The base class of the strategies that ask an LLM while deciding.

:class:`LLMStrategy` binds the user's callables (``bind_llm``; they are never saved with
an artifact), enforces a timeout and a hard cap on calls, and turns any failing call
into a safe estimate (the prior) with a warning detail instead of an exception.

Each strategy writes its decision procedure once, as a generator (see
``_llm_driver.py``); the same generator serves ``predict`` (sync callable) and
``apredict`` (async callable, or the sync one on the bounded executor). The callables
and reply parsing live in ``_llm_binding.py``; the test double ``FakeLLM`` lives in
:mod:`routeiq_core.testing`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from pydantic import Field
from typing_extensions import Self, TypeVar

from routeiq_core import BaseStrategy, Candidate, Estimate, Query, StrategyParams, StrategyTags
from routeiq_core.errors import ConfigError

from ._base import candidate_values, column_means
from ._llm_binding import (
    AsyncLLM,
    LLMBinding,
    LLMCallError,
    LLMRequest,
    Messages,
    SyncLLM,
    as_llm,
    match_candidate,
    response_text,
)
from ._llm_driver import Procedure, Reply, Step, call_with_timeout, drive, run_to_completion, submit
from ._text_embedding import deepcopy_sharing_resources

__all__ = [
    "AsyncLLM",
    "LLMBinding",
    "LLMCallError",
    "LLMParams",
    "LLMRequest",
    "LLMStrategy",
    "Messages",
    "Procedure",
    "SyncLLM",
    "as_llm",
    "match_candidate",
    "response_text",
]


class LLMParams(StrategyParams):
    """Parameters every LLM-calling strategy has."""

    timeout_s: float | None = Field(60.0, gt=0, description="Per-call timeout; None waits forever.")
    max_llm_calls: int = Field(16, ge=1, description="Hard cap on LLM calls per decision.")


LP = TypeVar("LP", bound=LLMParams, default=LLMParams)


@dataclass
class _CallLog:
    """The calls of one decision: the cap, and one entry (model, purpose, ms, ok, error) per call."""

    cap: int
    entries: list[dict[str, Any]] = field(default_factory=list)

    def reserve(self, n: int, model: str) -> None:
        if len(self.entries) + n > self.cap:
            raise LLMCallError(f"call cap of {self.cap} LLM calls per decision reached", model=model, cause="cap")

    def _start(self, req: LLMRequest) -> dict[str, Any]:
        self.reserve(1, req.model)
        entry: dict[str, Any] = {"model": req.model, "purpose": req.purpose}
        self.entries.append(entry)
        return entry

    def record(self, req: LLMRequest, call: Callable[[], str]) -> str:
        entry, start = self._start(req), time.perf_counter()
        try:
            text = call()
        except BaseException as exc:  # any failure of user code becomes a fallback
            raise _failed(entry, start, req, exc) from None
        return _succeeded(entry, start, text)

    async def arecord(self, req: LLMRequest, call: Callable[[], Awaitable[str]]) -> str:
        entry, start = self._start(req), time.perf_counter()
        try:
            text = await call()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            raise _failed(entry, start, req, exc) from None
        return _succeeded(entry, start, text)


def _succeeded(entry: dict[str, Any], start: float, text: str) -> str:
    entry["ms"] = round((time.perf_counter() - start) * 1000, 3)
    entry["ok"] = True
    return str(text)


def _failed(entry: dict[str, Any], start: float, req: LLMRequest, error: BaseException) -> LLMCallError:
    entry["ms"] = round((time.perf_counter() - start) * 1000, 3)
    entry["ok"] = False
    entry["error"] = type(error).__name__
    if isinstance(error, LLMCallError):
        return error
    cause = "timeout" if isinstance(error, (TimeoutError, asyncio.TimeoutError)) else "error"
    return LLMCallError(f"LLM call to {req.model!r} failed: {type(error).__name__}", model=req.model, cause=cause)


class LLMStrategy(BaseStrategy[LP]):
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
    def bind_llm(self, llm: Any = None, *, async_llm: Any = None, **create_kwargs: Any) -> Self:
        """Attach the LLM callable(s) (see :func:`as_llm`); returns self for chaining."""
        self._binding = as_llm(llm, async_llm, **create_kwargs)
        return self

    @property
    def llm(self) -> LLMBinding:
        return self._binding

    def clone(self, **changes: Any) -> Self:
        new = super().clone(**changes)
        new._binding = self._binding
        return new

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        return deepcopy_sharing_resources(self, memo)

    @classmethod
    def conformance_instances(cls) -> Sequence[BaseStrategy[Any]]:
        """Configured instances with a :class:`FakeLLM`, for the conformance kit."""
        from routeiq_core.testing import FakeLLM

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
        binding = self._binding_for(req)
        fn = binding.sync if binding.sync is not None else self._binding.sync
        assert fn is not None
        return log.record(req, lambda: response_text(call_with_timeout(
            lambda: fn(req.model, req.message_list()), self._timeout())))

    async def _call_async(self, req: LLMRequest, log: _CallLog) -> str:
        binding = self._binding_for(req)

        async def call() -> str:
            if binding.async_ is not None:
                coro: Awaitable[str] = binding.async_(req.model, req.message_list())
            elif binding.sync is not None:  # on the bounded LLM executor, never the loop's default one
                sync = binding.sync
                future = submit(lambda: sync(req.model, req.message_list()))
                coro = asyncio.wrap_future(future)
            else:
                raise self._missing_llm()
            return response_text(await asyncio.wait_for(coro, self._timeout()))

        return await log.arecord(req, call)

    def _run(self, query: Query, candidates: Sequence[Candidate], log: _CallLog,
             answer: Callable[[Step], Awaitable[Reply]]) -> Awaitable[Estimate]:
        """The procedure driven by ``answer``; an unhandled call failure gives the prior."""
        async def run() -> Estimate:
            try:
                return _with_calls(await drive(self._procedure(query, candidates), answer), log)
            except LLMCallError as exc:
                return self._fallback(query, candidates, str(exc), log)
        return run()

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
        log = _CallLog(self._cap())

        async def answer(step: Step) -> Reply:  # never suspends: the sync path
            if isinstance(step, list):
                log.reserve(len(step), step[0].model if step else "")
                return [self._call_sync(r, log) for r in step]
            return self._call_sync(step, log)

        return run_to_completion(self._run(query, candidates, log, answer))  # type: ignore[arg-type]

    def _predict_batch(self, queries: Sequence[Query], candidates: Sequence[Candidate]) -> list[Estimate]:
        return [self._predict(q, candidates) for q in queries]

    async def apredict(self, query: Query, candidates: Sequence[Candidate]) -> Estimate:
        """Async ``predict``: awaits the async callable (or runs the sync one on the bounded executor)."""
        self._check_predict_input(query, candidates)
        if not self._binding:
            raise self._missing_llm()
        log = _CallLog(self._cap())

        async def answer(step: Step) -> Reply:
            if isinstance(step, list):
                log.reserve(len(step), step[0].model if step else "")
                results = await asyncio.gather(*(self._call_async(r, log) for r in step), return_exceptions=True)
                failed = [r for r in results if isinstance(r, BaseException)]
                if failed:
                    raise failed[0]
                return [str(r) for r in results]
            return await self._call_async(step, log)

        return await self._run(query, candidates, log, answer)


def _with_calls(estimate: Estimate, log: _CallLog) -> Estimate:
    details = dict(estimate.details)
    details.setdefault("llm_calls", log.entries)
    return Estimate(quality=estimate.quality, cost=estimate.cost, details=details,
                    confidence=estimate.confidence, category=estimate.category)
