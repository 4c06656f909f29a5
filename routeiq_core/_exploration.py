"""Exploration: now and then serve a close alternative, so the log can evaluate other policies.

A deterministic router only ever shows the outcome of its own choice, and off-policy
evaluation (``routeiq eval --from-log``) cannot say what another strategy or profile would
have achieved where it would have chosen differently. ``Exploration(epsilon)`` is an
after-decision extension: with probability ``epsilon`` it serves a candidate drawn uniformly
from the *exploration set* — the choice and the next ``top_k - 1`` ranked alternatives whose
estimated cost is at most ``max_cost_ratio`` times the choice's (a cost cap: exploring never
means an expensive surprise). The decision records the probability with which its candidate
was selected (``Decision.propensity``), which the log keeps for the estimators:

    P(greedy choice) = 1 - epsilon + epsilon / |S|,   P(other member of S) = epsilon / |S|

Off by default. Cost: one random draw per decision (about a microsecond); when it explores,
one re-ordered ranking.
"""

from __future__ import annotations

import dataclasses
import math
import random
import threading
from typing import TYPE_CHECKING

from ._decision import Decision, serve_ranked
from .errors import ConfigError

if TYPE_CHECKING:
    from ._extensions import DecisionContext

__all__ = ["Exploration"]


class Exploration:
    """Epsilon-exploration among the top alternatives under a cost cap (see the module docstring).

    Args:
        epsilon: probability of drawing from the exploration set instead of serving the choice.
        top_k: size of the exploration set, the choice included (>= 2).
        max_cost_ratio: an alternative joins the set only if its estimated cost is at most this
            times the choice's (``inf`` for no cap). A free choice admits only free alternatives.
        seed: seed of the draws (None: fresh randomness).
    """

    name = "exploration"
    #: No I/O on the request path (the LiteLLM adapter may then decide on the event loop).
    inline = True

    def __init__(self, epsilon: float = 0.05, *, top_k: int = 3, max_cost_ratio: float = 3.0,
                 seed: int | None = None) -> None:
        if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not 0.0 <= epsilon <= 1.0:
            raise ConfigError(f"exploration epsilon must be a number in [0, 1], got {epsilon!r}")
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 2:
            raise ConfigError(f"exploration top_k must be an integer >= 2, got {top_k!r}")
        if isinstance(max_cost_ratio, bool) or not isinstance(max_cost_ratio, (int, float)) or \
                math.isnan(max_cost_ratio) or max_cost_ratio < 1.0:
            raise ConfigError(f"exploration max_cost_ratio must be >= 1 (inf for no cap), got {max_cost_ratio!r}")
        self.epsilon, self.top_k, self.max_cost_ratio = float(epsilon), top_k, float(max_cost_ratio)
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def exploration_set(self, decision: Decision) -> list[int]:
        """Indices into ``decision.ranking`` of the candidates that may be served (0 = the choice)."""
        ranking = decision.ranking
        if not ranking:
            return []
        cap = ranking[0].cost * self.max_cost_ratio
        members = [0]
        for i in range(1, len(ranking)):
            if len(members) >= self.top_k:
                break
            if ranking[i].cost <= cap or math.isinf(self.max_cost_ratio):
                members.append(i)
        return members

    def after_decide(self, decision: Decision, ctx: DecisionContext) -> Decision | None:
        session = ctx.scratch.get("session")
        if self.epsilon == 0.0 or decision.fallback or ctx.pin is not None or (
                isinstance(session, tuple) and session[2] is not None):
            return None  # a pinned, fallback or continuing-session decision is not the policy's to explore
        members = self.exploration_set(decision)
        if len(members) < 2:
            return None
        with self._lock:
            explore = self._rng.random() < self.epsilon
            pick = members[self._rng.randrange(len(members))] if explore else 0
        share = self.epsilon / len(members)
        if pick == 0:
            return dataclasses.replace(decision, propensity=1.0 - self.epsilon + share)
        chosen = decision.ranking[pick]
        note = (f"explored: served {chosen.name} (ranked {pick + 1}, probability {share:.3f}) instead of "
                f"{decision.candidate.name}")
        return serve_ranked(decision, pick, ctx.candidates, propensity=share, reason=f"{decision.reason}; {note}",
                            details={**decision.details, "explored": True, "greedy": decision.candidate.name})
