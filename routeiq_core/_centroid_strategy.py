"""The zero-config strategy: task category + complexity -> the tier a prompt needs.

No training. The centroid classifier gives a category (with a floor tier, e.g.
reasoning needs at least tier 3) and the signals give a complexity level 1..5;
the required tier is the larger of the two (the runner-up category's floor
counts too when the top-two margin is thin). Every candidate at or above the
required tier is predicted the same "adequate" quality (plus a little headroom),
so the profile's cost weight picks the cheapest adequate one; each tier of
shortfall costs ``shortfall_penalty``. Capabilities
shift the prediction: reasoning models on reasoning prompts, code models on
code, and a model without tool support on an agentic request.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from pydantic import Field

from ._candidates import Candidate
from ._centroids import CentroidSet, Classification
from ._strategy import BaseStrategy, Estimate, Query, StrategyParams, StrategyTags

__all__ = ["CentroidStrategy"]

#: Predicted quality of a candidate at the required tier; each tier above adds HEADROOM.
ADEQUATE = 0.85
HEADROOM = 0.01
#: Below this top-two cosine margin the runner-up category's floor also applies.
AMBIGUOUS_MARGIN = 0.015


@dataclass(frozen=True)
class _CandidateTable:
    """Per-candidate values, computed once per candidate set (decide() is on the hot path)."""

    names: tuple[str, ...]
    tiers: tuple[int, ...]
    priors: tuple[float | None, ...]
    reasoning: tuple[float, ...]
    code: tuple[float, ...]
    lacks_tools: tuple[float, ...]
    #: Predicted quality per (required tier, reasoning, code, agentic): a handful of keys.
    quality_cache: dict[tuple[int, bool, bool, bool], dict[str, float]] = field(default_factory=dict)


def _build_table(candidates: Sequence[Candidate]) -> _CandidateTable:
    return _CandidateTable(
        names=tuple(c.name for c in candidates),
        tiers=tuple(c.tier for c in candidates),
        priors=tuple(c.quality for c in candidates),
        reasoning=tuple(float(c.has("reasoning")) for c in candidates),
        code=tuple(float(c.has("code")) for c in candidates),
        # Only candidates that declare capabilities but not tools are known to lack them.
        lacks_tools=tuple(float(bool(c.capabilities) and not c.has("tools")) for c in candidates),
    )


class CentroidStrategy(BaseStrategy):
    """Category centroids + complexity -> required tier -> predicted quality per candidate."""

    name = "centroid"
    tags = StrategyTags(requires_fit=False, deterministic=True, needs_embedding=True)

    class Params(StrategyParams):
        centroids: str | None = Field(None, description="Centroid directory; default: the shipped one.")
        shortfall_penalty: float = Field(0.2, ge=0.0, le=1.0)
        reasoning_bonus: float = Field(0.05, ge=0.0, le=0.5)
        specialty_bonus: float = Field(0.03, ge=0.0, le=0.5)
        missing_tools_penalty: float = Field(0.15, ge=0.0, le=1.0)

    def __init__(self, params: StrategyParams | dict | None = None, /, **overrides: object) -> None:
        super().__init__(params, **overrides)
        self._centroids: CentroidSet | None = None
        self._lock = threading.Lock()
        self._tables: dict[int, tuple[Sequence[Candidate], _CandidateTable]] = {}

    @property
    def centroids(self) -> CentroidSet:
        """The centroid set (loaded on first use)."""
        if self._centroids is None:
            with self._lock:
                if self._centroids is None:
                    self._centroids = CentroidSet.load(self.params.centroids)
        return self._centroids

    def use_centroids(self, centroids: CentroidSet) -> None:
        """Share an already loaded centroid set (the Router does this)."""
        self._centroids = centroids

    def _quality(
        self, table: _CandidateTable, required: int, reasoning: bool, code: bool, agentic: bool
    ) -> dict[str, float]:
        p = self.params
        quality = {}
        for name, tier, prior, has_reasoning, has_code, lacks_tools in zip(
            table.names, table.tiers, table.priors, table.reasoning, table.code, table.lacks_tools
        ):
            if prior is not None:  # an explicit strength prior shifts the adequate level
                q = ADEQUATE + 0.1 * (prior - 0.75)
            else:  # a small preference for headroom above the required tier
                q = ADEQUATE + HEADROOM * max(0, tier - required)
            q -= p.shortfall_penalty * max(0, required - tier)
            q += p.reasoning_bonus * has_reasoning * reasoning + p.specialty_bonus * has_code * code
            q -= p.missing_tools_penalty * lacks_tools * agentic
            quality[name] = min(1.0, max(0.0, q))
        return quality

    def _table(self, candidates: Sequence[Candidate]) -> _CandidateTable:
        # Keyed by identity: the Router passes the same tuple while the candidate set is unchanged.
        cached = self._tables.get(id(candidates))
        if cached is not None and cached[0] is candidates:
            return cached[1]
        table = _build_table(candidates)
        if len(self._tables) >= 32:
            self._tables.clear()
        self._tables[id(candidates)] = (candidates, table)
        return table

    def required_tier(self, classification: Classification, complexity: int) -> int:
        cset = self.centroids
        floor = cset.info(classification.category).floor_tier
        if classification.margin < AMBIGUOUS_MARGIN:
            floor = max(floor, cset.info(classification.runner_up).floor_tier)
        return max(1, min(5, max(floor, complexity)))

    def _predict(self, query: Query, candidates: Sequence[Candidate]) -> Estimate:
        assert query.embedding is not None
        classification = query.classification or self.centroids.classify(query.embedding)
        complexity = int(query.features.get("complexity", 0)) or _level_from_difficulty(classification.difficulty)
        required = self.required_tier(classification, complexity)
        reasoning = query.features.get("reasoning", 0.0) >= 0.35 or classification.category in ("math", "reasoning")
        agentic = query.features.get("agentic", 0.0) >= 0.35 or classification.category == "agentic"
        table = self._table(candidates)
        key = (required, reasoning, classification.category == "code", agentic)
        cached = table.quality_cache.get(key)
        if cached is None:
            cached = table.quality_cache[key] = self._quality(table, *key)
        return Estimate(
            quality=dict(cached),  # a copy: callers may keep or change it
            category=classification.category,
            confidence=classification.confidence,
            details={"required_tier": required, "runner_up": classification.runner_up,
                     "margin": round(classification.margin, 4)},
        )


def _level_from_difficulty(difficulty: float) -> int:
    return 1 + min(4, int(difficulty * 5))
