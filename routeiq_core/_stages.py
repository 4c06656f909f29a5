"""The stage runner: runs the named stages of one decision and times each.

``decide()`` is a straight line of stages (parse, featurize, extensions, eligibility,
strategy, choice, explain); each is a plain function or method, and the runner is
the only place that reads the clock. A stage that has sub-steps (featurize: signals,
load, embed, classify) reports them through :meth:`StageClock.lap`.
"""

from __future__ import annotations

from collections.abc import Callable
from time import perf_counter
from typing import ParamSpec, TypeVar

__all__ = ["STAGES", "StageClock"]

#: Keys of ``Decision.timings_ms`` in order (plus ``total``).
STAGES = ("parse", "signals", "load", "embed", "classify", "before", "eligibility", "strategy", "choice", "explain")

A = ParamSpec("A")
R = TypeVar("R")


class StageClock:
    """Wall time per stage of one decision, in milliseconds."""

    __slots__ = ("_mark", "timings")

    def __init__(self) -> None:
        self.timings: dict[str, float] = dict.fromkeys(STAGES, 0.0)
        self._mark = perf_counter()

    def run(self, stage: str, fn: Callable[A, R], *args: A.args, **kwargs: A.kwargs) -> R:
        """``fn(*args, **kwargs)``, its wall time added to ``stage``."""
        start = perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            now = perf_counter()
            self.timings[stage] += (now - start) * 1e3
            self._mark = now

    def start(self) -> None:
        """Start timing the sub-steps that follow (see :meth:`lap`)."""
        self._mark = perf_counter()

    def lap(self, stage: str) -> None:
        """Add the time since the last mark to ``stage`` (for a stage's sub-steps)."""
        now = perf_counter()
        self.timings[stage] += (now - self._mark) * 1e3
        self._mark = now

    def absorb(self, other: StageClock) -> None:
        """Add another clock's stage times (a stage that ran on another thread since :meth:`start`);
        the rest of the wall time since then (waiting for that thread) counts as ``embed``."""
        now = perf_counter()
        spent = sum(other.timings.values())
        for stage, ms in other.timings.items():
            self.timings[stage] += ms
        self.timings["embed"] += max(0.0, (now - self._mark) * 1e3 - spent)
        self._mark = now

    def finish(self) -> dict[str, float]:
        """The timings with their ``total``."""
        out = dict(self.timings)
        out["total"] = sum(out.values())
        return out
