"""The strategy stage: predicted quality (and maybe cost) for each eligible candidate.

A strategy that raises, or answers something that is not a finite quality for every
candidate, degrades to the zero-config centroid prediction with a
:class:`FallbackWarning` and a counter; if that fails too, each candidate's general
strength serves. The request is never lost. The message names the exception's type,
never its text: a strategy's error may quote the prompt.
"""

from __future__ import annotations

import asyncio
import logging
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._candidates import Candidate
from ._centroid_strategy import CentroidStrategy
from ._counters import Counters
from ._strategy import AsyncStrategy, OnlineStrategy, Strategy, StrategyAbilities, validate_strategy
from ._types import Estimate, Query
from ._validation import short_repr
from .errors import ConfigError, FallbackWarning, NoCandidatesError, describe_error

__all__ = ["StrategyResult", "StrategyStage", "check_estimate"]

log = logging.getLogger("routeiq")


@dataclass(frozen=True, slots=True)
class StrategyResult:
    """What the strategy stage produced: the estimate, quality in candidate order, and why it fell back."""

    estimate: Estimate
    quality: list[float]
    failure: str | None = None
    #: The clause the decision's reason gets when it fell back.
    note: str = "strategy failed, centroid fallback used"


class StrategyStage:
    """Runs one strategy (sync or async) with the centroid fallback behind it."""

    def __init__(self, strategy: Strategy, *, counters: Counters, abilities: StrategyAbilities | None = None) -> None:
        abilities = abilities if abilities is not None else validate_strategy(strategy)
        self.strategy = strategy
        self.is_async = abilities.is_async
        self.online = abilities.online and strategy.tags.online
        self._fallback = CentroidStrategy()
        self._counters = counters

    @property
    def name(self) -> str:
        return getattr(self.strategy, "name", "") or type(self.strategy).__name__

    def run(self, query: Query, candidates: Sequence[Candidate], missed: str | None = None) -> StrategyResult:
        """The strategy's estimate; ``missed`` (the deadline passed, no embedding) goes straight to the
        centroid prediction on the signals."""
        if missed is not None:
            return self._without_embedding(query, candidates, missed)
        try:
            estimate = self.strategy.predict(query, candidates)
            return StrategyResult(estimate, check_estimate(estimate, candidates))
        except (NoCandidatesError, ConfigError):
            raise
        except Exception as exc:
            return self._fall_back(query, candidates, exc)

    async def arun(self, query: Query, candidates: Sequence[Candidate], missed: str | None = None) -> StrategyResult:
        if missed is not None:
            return self._without_embedding(query, candidates, missed)
        if not self.is_async:
            return await asyncio.get_running_loop().run_in_executor(None, self.run, query, candidates)
        assert isinstance(self.strategy, AsyncStrategy)
        try:
            estimate = await self.strategy.apredict(query, candidates)
            return StrategyResult(estimate, check_estimate(estimate, candidates))
        except (NoCandidatesError, ConfigError):
            raise
        except Exception as exc:
            return self._fall_back(query, candidates, exc)

    def learn(self, query: Query, candidate: Candidate, quality: float) -> None:
        """Pass an observed quality (0..1) to an online strategy."""
        if not self.online:
            raise ConfigError(f"strategy {self.name!r} does not learn online; feedback needs an online "
                              "strategy such as 'thompson'")
        if isinstance(quality, bool) or not isinstance(quality, (int, float)) or not 0.0 <= quality <= 1.0:
            raise ConfigError(f"quality must be a number in [0, 1], got {short_repr(quality)}")
        assert isinstance(self.strategy, OnlineStrategy)
        self.strategy.update(query, candidate, float(quality))

    def _without_embedding(self, query: Query, candidates: Sequence[Candidate], missed: str) -> StrategyResult:
        estimate = self._fallback.predict(query, candidates)
        return StrategyResult(estimate, check_estimate(estimate, candidates), missed,
                              note="deadline passed: decided on signals and profile only")

    def _fall_back(self, query: Query, candidates: Sequence[Candidate], exc: BaseException) -> StrategyResult:
        message = f"strategy {self.name!r} failed ({describe_error(exc)}); used the centroid fallback"
        self._counters.inc("strategy_failures")
        warnings.warn(message, FallbackWarning, stacklevel=5)
        log.warning("routeiq: %s", message)
        try:
            estimate = self._fallback.predict(query, candidates)
            return StrategyResult(estimate, check_estimate(estimate, candidates), message)
        except Exception as inner:  # the last resort never fails: general strength per candidate
            message += f"; fallback failed too ({type(inner).__name__}), used candidate strength"
            quality = [c.strength() for c in candidates]
            return StrategyResult(Estimate(quality=dict(zip((c.name for c in candidates), quality))), quality, message)


def check_estimate(estimate: Estimate, candidates: Sequence[Candidate]) -> list[float]:
    """The estimate's quality per candidate, in candidate order; raises if one is missing or not finite."""
    if not isinstance(estimate, Estimate):
        raise TypeError(f"predict() returned {type(estimate).__name__}, expected an Estimate")
    quality = estimate.quality
    try:
        # numpy scalars count: a strategy often builds its dict from a float32 array.
        values = [float(quality[c.name]) for c in candidates]
    except (KeyError, TypeError, ValueError):
        values = []
    if len(values) == len(candidates) and all(map(math.isfinite, values)):
        return values
    bad = next(c.name for c in candidates if not _finite_number(quality.get(c.name)))
    raise ValueError(f"predict() gave no finite quality for candidate {bad!r}")


def _finite_number(value: object) -> bool:
    return isinstance(value, (float, int, np.floating, np.integer)) and math.isfinite(value)
