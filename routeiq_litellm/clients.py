"""RouteIQ in front of an LLM client you already have.

* :class:`RoutedClient` / :class:`AsyncRoutedClient` wrap any object exposing
  ``chat.completions.create(model=..., messages=...)`` (the openai SDK's ``OpenAI`` /
  ``AsyncOpenAI``, or anything shaped like it): RouteIQ decides, the client is called with the
  chosen model, and on a retryable error (rate limit, 5xx, timeout, connection) the next
  ranked alternative is tried. ``decision_of(response)`` gives the decision.
* :func:`routed_call` / :func:`arouted_call` do the same for a plain callable
  ``call(model, messages, **kwargs)`` of any shape.
* For the model name only, use ``routeiq_core.Router.route(messages)``.

This module imports neither openai nor litellm: errors are classified by their HTTP status
and class names.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from routeiq_core import Decision
from routeiq_core.errors import ConfigError

__all__ = [
    "AsyncRoutedClient",
    "Attempt",
    "RoutedClient",
    "RoutedResult",
    "Routing",
    "arouted_call",
    "decision_of",
    "is_retryable",
    "routed_call",
    "routing_of",
]

log = logging.getLogger("routeiq.clients")

#: ``model=`` values that ask RouteIQ to choose (any other explicit model is used as given).
AUTO_MODELS = frozenset({"auto", "routeiq", "routeiq/auto"})
_RETRYABLE_NAMES = frozenset(
    {
        "RateLimitError",
        "InternalServerError",
        "ServiceUnavailableError",
        "APITimeoutError",
        "APIConnectionError",
        "Timeout",
        "TimeoutException",
        "ConnectError",
        "RemoteProtocolError",
        "TimeoutError",
        "ConnectionError",
    }
)


def is_retryable(exc: BaseException) -> bool:
    """Rate limits, server errors, timeouts and connection failures: worth trying another model."""
    status = getattr(exc, "status_code", None)
    if not isinstance(status, int):
        status = getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(status, int):
        return status in (408, 409, 429) or status >= 500
    return any(cls.__name__ in _RETRYABLE_NAMES for cls in type(exc).__mro__)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One call: the candidate and model tried, and the error (None if it served)."""

    name: str
    model: str
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Routing:
    """What RouteIQ did for one call: its decision, who served, and every attempt."""

    decision: Decision | None
    model: str
    name: str | None
    attempts: tuple[Attempt, ...]

    @property
    def fallback_used(self) -> bool:
        """True when the first choice failed and an alternative served."""
        return len(self.attempts) > 1


@dataclass(frozen=True, slots=True)
class RoutedResult:
    """The return value of :func:`routed_call`: the call's result and its :class:`Routing`."""

    value: Any
    routing: Routing
    router: Any = field(default=None, repr=False, compare=False)

    @property
    def decision(self) -> Decision | None:
        return self.routing.decision

    def feedback(self, score: float | None = None, **outcome: Any) -> Any:
        """Report how good the answer was (``score`` in [0, 1], ``success``, ...) to the router's
        decision log: ``Router.feedback(result.decision, ...)`` with ``source="user"``."""
        if self.router is None or self.decision is None:
            raise ConfigError("this result has no router to send feedback to; call Router.feedback(decision, ...)")
        return self.router.feedback(self.decision, score, **outcome)


_SIDE_TABLE: dict[int, Routing] = {}


def _attach(result: Any, routing: Routing) -> Any:
    """Attach ``routing`` to a client's result without changing how it serialises."""
    try:
        object.__setattr__(result, "routeiq", routing)
        return result
    except (AttributeError, TypeError):
        pass
    try:  # __slots__ objects: a side table entry that dies with the result
        key = id(result)
        weakref.finalize(result, _SIDE_TABLE.pop, key, None)
        _SIDE_TABLE[key] = routing
    except TypeError:
        log.debug(
            "routeiq: cannot attach the decision to a %s; use routed_call()", type(result).__name__
        )
    return result


def routing_of(result: Any) -> Routing | None:
    """The :class:`Routing` of a result returned by a routed client (or a :class:`RoutedResult`)."""
    if isinstance(result, RoutedResult):
        return result.routing
    routing = getattr(result, "routeiq", None)
    if isinstance(routing, Routing):
        return routing
    return _SIDE_TABLE.get(id(result))


def decision_of(result: Any) -> Decision | None:
    """RouteIQ's decision for a result returned by a routed client."""
    routing = routing_of(result)
    return routing.decision if routing is not None else None


# --------------------------------------------------------------------------- the retry loop


class _Attempts:
    """A decision's retry order (its ranking, up to ``max_attempts``) and what was tried."""

    def __init__(
        self, decision: Decision, max_attempts: int, retry_on: Callable[[BaseException], bool],
        router: Any = None,
    ) -> None:
        self.decision, self.router = decision, router
        self.t0 = time.perf_counter()
        self.order = [(a.name, a.model) for a in decision.ranking][:max_attempts]
        self.retry_on = retry_on
        self.tried: list[Attempt] = []

    def retry(self, i: int, exc: Exception) -> bool:
        """Record a failure of attempt ``i``; True if the next model should be tried."""
        if i + 1 == len(self.order) or not self.retry_on(exc):
            self.record(success=False, served_by=self.order[i][0], error=type(exc).__name__)
            return False
        name, model = self.order[i]
        self.tried.append(Attempt(name, model, f"{type(exc).__name__}: {str(exc)[:200]}"))
        log.warning(
            "routeiq: %s failed (%s); trying the next ranked model", model, type(exc).__name__
        )
        return True

    def served(self, i: int, value: Any) -> RoutedResult:
        name, model = self.order[i]
        attempts = (*self.tried, Attempt(name, model))
        self.record(success=True, served_by=name)
        return RoutedResult(value, Routing(self.decision, model, name, attempts), self.router)

    def record(self, **outcome: Any) -> None:
        """The call's outcome to the router's decision log, if it has one (never raises)."""
        if getattr(self.router, "log", None) is None:
            return
        try:
            self.router.feedback(self.decision, latency_ms=(time.perf_counter() - self.t0) * 1e3, source="client",
                                 **outcome)
        except Exception as exc:  # the call's result matters more than its log entry
            log.debug("routeiq: could not record the outcome (%s)", type(exc).__name__)


def _decide_kwargs(
    prompt_or_messages: Any, tools: Any, profile: str | None, metadata: Mapping[str, Any] | None
) -> dict[str, Any]:
    key = "messages" if isinstance(prompt_or_messages, (list, tuple)) else "prompt"
    return {key: prompt_or_messages, "tools": tools, "profile": profile, "metadata": metadata}


def _check(max_attempts: int) -> None:
    if not isinstance(max_attempts, int) or max_attempts < 1:
        raise ConfigError(f"max_attempts must be an integer >= 1, got {max_attempts!r}")


def routed_call(
    router: Any,
    call: Callable[..., Any],
    prompt_or_messages: Any,
    *,
    tools: Any = None,
    profile: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    max_attempts: int = 3,
    retry_on: Callable[[BaseException], bool] = is_retryable,
    **kwargs: Any,
) -> RoutedResult:
    """Decide, then ``call(model, prompt_or_messages, **kwargs)``; retryable errors try the next.

    ``tools`` informs the decision and is forwarded to ``call`` as ``tools=`` when given.
    Non-retryable errors and the last attempt's error propagate unchanged.
    """
    _check(max_attempts)
    decision = router.decide(**_decide_kwargs(prompt_or_messages, tools, profile, metadata))
    if tools is not None:
        kwargs["tools"] = tools
    plan = _Attempts(decision, max_attempts, retry_on, router)
    for i, (_, model) in enumerate(plan.order):
        try:
            value = call(model, prompt_or_messages, **kwargs)
        except Exception as exc:
            if plan.retry(i, exc):
                continue
            raise
        return plan.served(i, value)
    raise AssertionError("unreachable: a decision ranks at least one candidate")


async def arouted_call(
    router: Any,
    call: Callable[..., Awaitable[Any]],
    prompt_or_messages: Any,
    *,
    tools: Any = None,
    profile: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    max_attempts: int = 3,
    retry_on: Callable[[BaseException], bool] = is_retryable,
    **kwargs: Any,
) -> RoutedResult:
    """Async :func:`routed_call`: ``await router.adecide(...)`` then ``await call(model, ...)``."""
    _check(max_attempts)
    decision = await router.adecide(**_decide_kwargs(prompt_or_messages, tools, profile, metadata))
    if tools is not None:
        kwargs["tools"] = tools
    plan = _Attempts(decision, max_attempts, retry_on, router)
    for i, (_, model) in enumerate(plan.order):
        try:
            value = await call(model, prompt_or_messages, **kwargs)
        except Exception as exc:
            if plan.retry(i, exc):
                continue
            raise
        return plan.served(i, value)
    raise AssertionError("unreachable: a decision ranks at least one candidate")


# --------------------------------------------------------------------------- client wrappers


@dataclass(slots=True)
class _CreateArgs:
    """``create()`` keyword arguments split into routing inputs and the rest."""

    model: Any
    messages: Any
    tools: Any
    profile: str | None
    metadata: Mapping[str, Any] | None
    rest: dict[str, Any]

    @property
    def routed(self) -> bool:
        return self.model is None or self.model in AUTO_MODELS

    def passthrough(self) -> dict[str, Any]:
        extra = {"tools": self.tools} if self.tools is not None else {}
        return {"model": self.model, "messages": self.messages, **extra, **self.rest}


class _Completions:
    def __init__(self, owner: Any) -> None:
        self._owner = owner

    def create(self, **kwargs: Any) -> Any:
        return self._owner._create(kwargs)


class _Chat:
    def __init__(self, owner: Any) -> None:
        self.completions = _Completions(owner)


class _RoutedBase:
    def __init__(
        self,
        client: Any,
        router: Any,
        *,
        max_attempts: int = 3,
        retry_on: Callable[[BaseException], bool] = is_retryable,
        profile: str | None = None,
    ) -> None:
        create = getattr(
            getattr(getattr(client, "chat", None), "completions", None), "create", None
        )
        if not callable(create):
            raise ConfigError(
                f"{type(self).__name__} needs a client with "
                f"chat.completions.create(model=..., messages=...), got {type(client).__name__}; "
                "for other shapes use routed_call(router, call, messages)"
            )
        _check(max_attempts)
        self.client = client
        self.router = router
        self.max_attempts = max_attempts
        self.retry_on = retry_on
        self.profile = profile
        self.chat = _Chat(self)

    def __getattr__(self, name: str) -> Any:  # everything else goes to the wrapped client
        if name == "client":
            raise AttributeError(name)
        return getattr(self.client, name)

    def _args(self, kwargs: dict[str, Any]) -> _CreateArgs:
        rest = dict(kwargs)
        messages = rest.pop("messages", None)
        if messages is None:
            raise ConfigError("chat.completions.create() needs messages=[...] to route on")
        return _CreateArgs(
            model=rest.pop("model", None),
            messages=messages,
            tools=rest.pop("tools", None),
            profile=rest.pop("routeiq_profile", None) or self.profile,
            metadata=rest.pop("routeiq_metadata", None),
            rest=rest,
        )


class RoutedClient(_RoutedBase):
    """A sync OpenAI-compatible client with RouteIQ choosing ``model``.

    ``client.chat.completions.create(messages=[...])`` (``model`` omitted or ``"auto"``)
    decides, calls the wrapped client, and retries the next ranked model on retryable errors.
    An explicit other ``model=`` is passed through unrouted. Extra routing inputs:
    ``routeiq_profile="eco"``, ``routeiq_metadata={"team": ...}``. Other attributes are the
    wrapped client's. Set the client's own retries low (``OpenAI(max_retries=0)``) so that a
    rate-limited model is left quickly.
    """

    def _create(self, kwargs: dict[str, Any]) -> Any:
        args = self._args(kwargs)
        create = self.client.chat.completions.create
        if not args.routed:
            return create(**args.passthrough())
        result = routed_call(
            self.router,
            lambda m, msgs, **kw: create(model=m, messages=msgs, **kw),
            args.messages,
            tools=args.tools,
            profile=args.profile,
            metadata=args.metadata,
            max_attempts=self.max_attempts,
            retry_on=self.retry_on,
            **args.rest,
        )
        return _attach(result.value, result.routing)


class AsyncRoutedClient(_RoutedBase):
    """The async twin of :class:`RoutedClient` (e.g. around ``openai.AsyncOpenAI``)."""

    async def _create(self, kwargs: dict[str, Any]) -> Any:
        args = self._args(kwargs)
        create = self.client.chat.completions.create
        if not args.routed:
            return await create(**args.passthrough())
        result = await arouted_call(
            self.router,
            lambda m, msgs, **kw: create(model=m, messages=msgs, **kw),
            args.messages,
            tools=args.tools,
            profile=args.profile,
            metadata=args.metadata,
            max_attempts=self.max_attempts,
            retry_on=self.retry_on,
            **args.rest,
        )
        return _attach(result.value, result.routing)
