"""The zero-config strategy: task category + complexity -> the tier a prompt needs.

No training. The centroid classifier (run by the Router's featurize stage) gives a
category with its floor tier (e.g. reasoning needs at least tier 3) and the
signals give a complexity level 1..5;
the required tier is the larger of the two (the runner-up category's floor
counts too when the top-two margin is thin). Every candidate at or above the
required tier is predicted the same "adequate" quality (plus a little headroom),
so the profile's cost weight picks the cheapest adequate one; each tier of
shortfall costs ``shortfall_penalty``. Capabilities
shift the prediction: reasoning models on reasoning prompts, code models on
code, and a model without tool support on an agentic request.

The strategy reads everything from the :class:`Query` (classification and
features); it holds no centroid set and does no I/O. A query built without a
classification is routed on its complexity alone (no category floor).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pydantic import Field

from ._candidates import Candidate
from ._strategy import BaseStrategy
from ._types import Classification, Estimate, Query, StrategyParams, StrategyTags

__all__ = ["CentroidParams", "CentroidStrategy"]

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


class CentroidParams(StrategyParams):
    shortfall_penalty: float = Field(0.2, ge=0.0, le=1.0)
    reasoning_bonus: float = Field(0.05, ge=0.0, le=0.5)
    specialty_bonus: float = Field(0.03, ge=0.0, le=0.5)
    missing_tools_penalty: float = Field(0.15, ge=0.0, le=1.0)


class CentroidStrategy(BaseStrategy[CentroidParams]):
    """Category centroids + complexity -> required tier -> predicted quality per candidate."""

    name = "centroid"
    # It reads the classification and the features, never the embedding itself.
    tags = StrategyTags(requires_fit=False, deterministic=True, needs_embedding=False)

    def __init__(self, params: StrategyParams | Mapping[str, object] | None = None, /, **overrides: object) -> None:
        super().__init__(params, **overrides)
        self._tables: dict[int, tuple[Sequence[Candidate], _CandidateTable]] = {}

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

    @staticmethod
    def required_tier(classification: Classification | None, complexity: int) -> int:
        """The lowest tier that serves the query: the category's floor (and the runner-up's when
        the margin is thin) or the complexity level, whichever is higher."""
        floor = 1
        if classification is not None:
            floor = classification.floor_tier
            if classification.margin < AMBIGUOUS_MARGIN:
                floor = max(floor, classification.runner_up_floor_tier)
        return max(1, min(5, max(floor, complexity)))

    def _predict(self, query: Query, candidates: Sequence[Candidate]) -> Estimate:
        classification = query.classification
        complexity = query.complexity or (
            _level_from_difficulty(classification.difficulty) if classification is not None else 3)
        required = self.required_tier(classification, complexity)
        category = classification.category if classification is not None else None
        reasoning = query.features.get("reasoning", 0.0) >= 0.35 or category in ("math", "reasoning")
        agentic = query.features.get("agentic", 0.0) >= 0.35 or category == "agentic"
        table = self._table(candidates)
        key = (required, reasoning, category == "code", agentic)
        cached = table.quality_cache.get(key)
        if cached is None:
            cached = table.quality_cache[key] = self._quality(table, *key)
        details: dict[str, object] = {"required_tier": required}
        if classification is not None:
            details.update(runner_up=classification.runner_up, margin=round(classification.margin, 4))
        return Estimate(
            quality=dict(cached),  # a copy: callers may keep or change it
            category=category,
            confidence=classification.confidence if classification is not None else None,
            details=details,
        )


def _level_from_difficulty(difficulty: float) -> int:
    return 1 + min(4, int(difficulty * 5))
