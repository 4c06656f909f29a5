"""Size baselines: always prefer the smallest (or the largest) candidate.

Nothing is learned; the "quality" these strategies predict is a rank score, not a
calibrated estimate: 1.0 for the preferred candidate, falling evenly to
``1 - spread`` for the opposite end. Size is ``candidate.size_b`` (billions of
parameters); a candidate without it gets a rough size from its tier (which itself
comes from price when not given). Equal sizes go to the cheaper candidate, then
the name, so the order never depends on the order of the candidate list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from pydantic import Field, field_validator

from routeiq_core import BaseStrategy, Candidate, Estimate, Query, StrategyParams, StrategyTags

__all__ = ["LargestLLMStrategy", "SmallestLLMStrategy"]

#: Typical parameter counts (billions) of tiers 1 (nano) .. 5 (frontier); a proxy only.
DEFAULT_TIER_SIZES_B: dict[int, float] = {1: 3.0, 2: 8.0, 3: 30.0, 4: 70.0, 5: 400.0}


class _SizeParams(StrategyParams):
    spread: float = Field(
        0.5, gt=0.0, le=1.0, description="Quality gap between the preferred and the opposite-end candidate."
    )
    tier_sizes_b: dict[int, float] = Field(
        default_factory=lambda: dict(DEFAULT_TIER_SIZES_B),
        description="Size (billions) assumed for a candidate without size_b, by tier 1..5.",
    )

    @field_validator("tier_sizes_b")
    @classmethod
    def _all_tiers(cls, value: dict[int, float]) -> dict[int, float]:
        if set(value) != set(DEFAULT_TIER_SIZES_B):
            raise ValueError(f"give a size for each tier 1..5, got tiers {sorted(value)}")
        if any(not (v > 0) for v in value.values()):
            raise ValueError("tier sizes must be > 0")
        return value


class _SizeBaseline(BaseStrategy[_SizeParams]):
    tags = StrategyTags(requires_fit=False, needs_embedding=False)
    #: True: prefer the largest candidate; False: the smallest.
    prefer_large: ClassVar[bool] = False

    def size_of(self, candidate: Candidate) -> float:
        """Parameter count in billions: ``size_b``, else the tier's typical size."""
        if candidate.size_b is not None:
            return float(candidate.size_b)
        sizes: dict[int, float] = self.params.tier_sizes_b
        return float(sizes[max(1, candidate.tier)])

    def _predict(self, query: Query, candidates: Sequence[Candidate]) -> Estimate:
        sign = -1.0 if self.prefer_large else 1.0
        order = sorted(candidates, key=lambda c: (sign * self.size_of(c), c.blended_cost_per_mtok, c.name))
        spread: float = self.params.spread
        step = spread / (len(order) - 1) if len(order) > 1 else 0.0
        quality = {c.name: 1.0 - rank * step for rank, c in enumerate(order)}
        return Estimate(
            quality={c.name: quality[c.name] for c in candidates},
            details={"size_b": {c.name: self.size_of(c) for c in candidates}},
        )


class SmallestLLMStrategy(_SizeBaseline):
    """Prefer the candidate with the fewest parameters (no training, no embedding)."""

    name = "smallest_llm"
    prefer_large = False


class LargestLLMStrategy(_SizeBaseline):
    """Prefer the candidate with the most parameters (no training, no embedding)."""

    name = "largest_llm"
    prefer_large = True
