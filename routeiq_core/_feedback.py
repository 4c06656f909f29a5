"""Router.feedback: one report of how a decision turned out, to the log and the learners.

Kept out of ``_router.py`` so the Router stays orchestration only. A report goes to the
decision log (validated there) and, when the strategy learns online and the caller passes
the :class:`Decision` itself (it carries the query), to the strategy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._decision import Decision
from .errors import ConfigError

if TYPE_CHECKING:
    from ._router import Router
    from .decisionlog import Feedback


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
    stored = None
    if router.log is not None:
        stored = router.log.feedback(decision_id, **outcome)
        value = stored.score if stored.score is not None else (
            None if stored.success is None else float(stored.success))
    else:
        from .decisionlog import Feedback

        value = Feedback.build(decision_id, **outcome).score  # validates like the log does
        value = value if value is not None else (None if outcome.get("success") is None
                                                 else float(bool(outcome["success"])))
    if online and value is not None:
        if not isinstance(decision, Decision) or decision.query is None:
            if router.log is None:
                raise ConfigError("feedback to an online strategy needs the Decision made by this Router (with its "
                                  f"query), got {type(decision).__name__}")
        else:
            router._strategy.learn(decision.query, decision.candidate, value)
    return stored
