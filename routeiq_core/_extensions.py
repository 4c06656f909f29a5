"""Extensions: how operations features act on a decision without editing the Router.

An extension is an object with either or both of two hooks, passed as
``Router(extensions=[...])``:

``before_decide(ctx)``
    runs after the request is featurized and before eligibility and the strategy.
    Through the :class:`DecisionContext` it may switch the profile, narrow the
    candidates (with a reason per removed one), pin a candidate, and add notes to the
    reason or warnings to the decision.
``after_decide(decision, ctx)``
    runs once the decision is made: record it, emit it, or return a changed copy
    (``dataclasses.replace``); returning None keeps it.
``on_feedback(decision_id, report)`` (optional)
    runs when an outcome is reported (``Router.feedback``), e.g. to charge a budget.

Extensions run in list order. One that raises is skipped: its changes to the
context are undone, the decision gets a warning naming the extension and the
exception's type (never its text), a :class:`ExtensionWarning` is issued and the
``extension_failures`` counter goes up. The request is never lost.
"""

from __future__ import annotations

import dataclasses
import logging
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ._candidates import Candidate
from ._counters import Counters
from ._decision import Decision
from ._profiles import Profile, resolve_profile
from ._request import Request
from ._types import Query
from .errors import ConfigError, ExtensionWarning, PolicyError, describe_error

if TYPE_CHECKING:
    from ._strategy import Strategy

__all__ = ["AfterDecide", "BeforeDecide", "DecisionContext", "ExtensionRunner", "ExtensionWarning", "RouterExtension"]

log = logging.getLogger("routeiq")


@dataclass
class DecisionContext:
    """One decision as the extensions see it (and, before the strategy, may change it).

    Read: ``request``, ``query`` (category, features, embedding), ``strategy``,
    ``profiles``. Change through the methods, which keep the invariants: a profile
    switch names a known profile, narrowing never empties the pool, a pin names a
    candidate in the pool.
    """

    request: Request
    query: Query
    profile: Profile
    candidates: tuple[Candidate, ...]
    strategy: Strategy
    profiles: Mapping[str, Profile]
    pin: str | None = None
    pin_reason: str = ""
    excluded: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: Per-decision data an extension passes from its before_decide to its after_decide.
    scratch: dict[str, object] = field(default_factory=dict)
    #: The strategy stage that will estimate quality (None: the router's); see use_strategy.
    stage: Any = None
    #: The Router making the decision (for extensions that decide again, e.g. shadow arms).
    router: Any = field(default=None, repr=False)

    def use_profile(self, name: str, why: str = "") -> None:
        """Decide under profile ``name`` instead (raises ConfigError for an unknown name)."""
        self.profile = resolve_profile(name, self.profiles)
        if why:
            self.notes.append(why)

    def use_strategy(self, stage: Any, why: str = "") -> None:
        """Estimate quality with another :class:`~routeiq_core._estimation.StrategyStage` (an
        experiment arm's strategy or artifact) instead of the router's."""
        self.stage = stage
        self.strategy = stage.strategy
        if why:
            self.notes.append(why)

    def use_query(self, query: Query) -> None:
        """Decide on another featurization of this request (e.g. an arm's own centroids)."""
        self.query = query

    def narrow(self, keep: Iterable[str], why: str) -> None:
        """Keep only the candidates named in ``keep``; each removed one is excluded with ``why``."""
        wanted = set(keep)
        kept = tuple(c for c in self.candidates if c.name in wanted)
        if not kept:
            raise ConfigError(f"narrow() would leave no candidate (kept none of {sorted(wanted)[:10]})")
        for c in self.candidates:
            if c.name not in wanted:
                self.excluded[c.name] = why
        self.candidates = kept

    def pin_candidate(self, name: str, why: str) -> None:
        """Serve ``name`` if it is still eligible after the rules; otherwise the ranking decides."""
        if not any(c.name == name for c in self.candidates):
            raise ConfigError(f"cannot pin {name!r}: it is not among the candidates")
        self.pin, self.pin_reason = name, why

    def add_note(self, text: str) -> None:
        """Add a clause to the decision's one-line reason."""
        self.notes.append(text)

    def warn(self, text: str) -> None:
        """Add an entry to ``Decision.warnings``."""
        self.warnings.append(text)

    def _state(self) -> tuple[object, ...]:
        return (self.profile, self.candidates, self.pin, self.pin_reason, dict(self.excluded), len(self.notes),
                len(self.warnings), self.stage, self.strategy, self.query)

    def _restore(self, state: tuple[object, ...]) -> None:
        profile, candidates, pin, pin_reason, excluded, notes, warns, stage, strategy, query = state
        self.stage, self.strategy, self.query = stage, strategy, query  # type: ignore[assignment]
        self.profile = profile  # type: ignore[assignment]
        self.candidates = candidates  # type: ignore[assignment]
        self.pin = pin  # type: ignore[assignment]
        self.pin_reason = pin_reason  # type: ignore[assignment]
        self.excluded = excluded  # type: ignore[assignment]
        del self.notes[int(notes):]  # type: ignore[call-overload]
        del self.warnings[int(warns):]  # type: ignore[call-overload]


@runtime_checkable
class BeforeDecide(Protocol):
    def before_decide(self, ctx: DecisionContext) -> None: ...


@runtime_checkable
class AfterDecide(Protocol):
    def after_decide(self, decision: Decision, ctx: DecisionContext) -> Decision | None: ...


class RouterExtension:
    """Convenience base with both hooks as no-ops; override one or both."""

    name: str = ""

    def before_decide(self, ctx: DecisionContext) -> None:
        return None

    def after_decide(self, decision: Decision, ctx: DecisionContext) -> Decision | None:
        return None


def extension_name(ext: object) -> str:
    return str(getattr(ext, "name", "") or type(ext).__name__)


class ExtensionRunner:
    """Runs the extensions' hooks in order, each isolated from the others' failures."""

    def __init__(self, extensions: Sequence[object], counters: Counters) -> None:
        for ext in extensions:
            if not isinstance(ext, (BeforeDecide, AfterDecide)):
                raise ConfigError(
                    f"extensions: {type(ext).__name__} has neither before_decide(ctx) nor "
                    "after_decide(decision, ctx); subclass routeiq_core.RouterExtension"
                )
        self.extensions = tuple(extensions)
        self._before = tuple(e for e in extensions if isinstance(e, BeforeDecide))
        self._after = tuple(e for e in extensions if isinstance(e, AfterDecide))
        self._counters = counters

    def __bool__(self) -> bool:
        return bool(self.extensions)

    def before(self, ctx: DecisionContext) -> None:
        for ext in self._before:
            state = ctx._state()
            try:
                ext.before_decide(ctx)
            except PolicyError:
                raise  # a rejection is the request's answer, not a failure of the extension
            except Exception as exc:
                ctx._restore(state)
                ctx.warnings.append(self._failed(ext, "before_decide", exc))

    def after(self, decision: Decision, ctx: DecisionContext) -> Decision:
        for ext in self._after:
            try:
                changed = ext.after_decide(decision, ctx)
            except Exception as exc:
                message = self._failed(ext, "after_decide", exc)
                decision = dataclasses.replace(decision, warnings=(*decision.warnings, message))
                continue
            if changed is not None:
                if isinstance(changed, Decision):
                    decision = changed
                else:
                    message = self._failed(ext, "after_decide", TypeError(type(changed).__name__))
                    decision = dataclasses.replace(decision, warnings=(*decision.warnings, message))
        return decision

    def feedback(self, decision_id: str, report: object) -> None:
        """``on_feedback(decision_id, report)`` of the extensions that have it (budgets charge real costs);
        one that raises is skipped like a failing decision hook."""
        for ext in self.extensions:
            hook = getattr(ext, "on_feedback", None)
            if callable(hook):
                try:
                    hook(decision_id, report)
                except Exception as exc:
                    self._failed(ext, "on_feedback", exc)

    def _failed(self, ext: object, hook: str, exc: BaseException) -> str:
        message = f"extension {extension_name(ext)!r} failed in {hook} ({describe_error(exc)}); skipped it"
        self._counters.inc("extension_failures")
        warnings.warn(message, ExtensionWarning, stacklevel=4)
        log.warning("routeiq: %s", message)
        return message
