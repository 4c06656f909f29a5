"""Router.feedback: one report of how a decision turned out, to the log and the learners.

Kept out of ``_router.py`` so the Router stays orchestration only. A report goes to the
decision log (validated there) and, when the strategy learns online and the caller passes
the :class:`Decision` itself (it carries the query), to the strategy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._decision import Decision
from ._refinement import SAVE_EVERY, RefinableStrategy, save_refinement
from .errors import ConfigError

if TYPE_CHECKING:
    from ._router import Router
    from .decisionlog import Feedback

#: Reports of these sources say whether the *call* worked (LiteLLM's outcomes, the client adapters'),
#: not whether the answer was good: logged, but their success does not train quality (a score does).
TRANSPORT_SOURCES = frozenset({"litellm", "client"})


def _refined(router: Router) -> None:
    router.observations += 1
    if router.observations % SAVE_EVERY == 0:
        save_refinement(router)


def record_feedback(router: Router, decision: Decision | str, quality: float | None, **outcome: Any) -> Feedback | None:
    """See :meth:`Router.feedback`."""
    if quality is not None:
        if outcome.get("score") is not None:
            raise ConfigError("feedback: give quality or score, not both (quality is an alias of score)")
        outcome["score"] = quality
    decision_id = decision.id if isinstance(decision, Decision) else decision
    online = router._strategy.online
    if router.log is None and not online:
        raise ConfigError(f"feedback needs a decision log (Router(log='sqlite:///decisions.db')) or an online "
                          f"strategy such as 'thompson'; this router has neither (strategy {router.strategy.name!r})")
    if router.log is not None:
        report = router.log.feedback(decision_id, **outcome)
    else:
        from .decisionlog import Feedback

        report = Feedback.build(decision_id, **outcome)  # validates like the log does
    value = report.score
    if value is None and report.success is not None and report.source not in TRANSPORT_SOURCES:
        value = float(report.success)
    router.extensions.feedback(report.decision_id, report)  # e.g. budgets charging the real cost
    if online and value is not None:
        if isinstance(decision, Decision) and decision.query is not None:
            router._strategy.learn(decision.query, decision.candidate, value)
            if isinstance(router.strategy, RefinableStrategy):
                _refined(router)
        elif isinstance(router.strategy, RefinableStrategy) and router.log is not None:
            # feedback by id (LiteLLM's outcomes, HTTP): the log remembers what was decided
            made = router.log.recent(decision_id)
            if made is not None:
                router.strategy.observe(made[0], made[1], value)
                _refined(router)
        elif router.log is None:
            raise ConfigError("feedback to an online strategy needs the Decision made by this Router (with its "
                              f"query), got {type(decision).__name__}")
    return report if router.log is not None else None


def close_router(router: Router) -> None:
    """``Router.close``: extensions first (shadow decisions still queue records), the log last."""
    for ext in router._extensions:
        close = getattr(ext, "close", None)
        if callable(close) and ext is not router.log:
            close()
    if router.log is not None:
        if router.observations:
            save_refinement(router)
        router.log.close()
