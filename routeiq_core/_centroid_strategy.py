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

**Progressive refinement.** Feedback (``Router.feedback``, LiteLLM's automatic outcomes)
updates a Beta posterior per (category, candidate): each report adds its quality q to
the successes and 1 - q to the failures. The prediction becomes the posterior mean with
the static prediction as its prior, worth ``prior_strength`` observations::

    quality = (prior_strength * static + successes) / (prior_strength + successes + failures)

so a handful of reports moves little and hundreds move it to what was observed. Evidence
per cell is capped at ``max_evidence`` (older evidence is scaled down: the posterior keeps
adapting) and at 64 categories x 512 candidates. The reason line names the refined
candidates' evidence; ``refinement_state()`` / ``load_refinement()`` persist it (the Router
keeps it in the decision log's database).

**Public ratings.** Price-only tiers cannot tell a weak model of a tier from a strong one
(RouterBench's claude-v1 costs 13x Mixtral and scores lower). When any candidate has a
public rating (its own ``rating``, else RouteIQ's built-in LMArena snapshot, see
:mod:`routeiq_core._ratings`), each candidate gets a strength in rating points: its rating,
plus ``PRICE_POINTS_PER_TIER`` per price tier above the set's mean tier (price is a second,
weaker indicator; it separates models the leaderboard rates alike, such as gpt-4o and
gpt-4o-mini). A prompt of required tier t needs the strength at quantile (t - 1) / 4 of the
set's strengths (tier 1: the weakest candidate is enough, tier 5: the strongest is needed),
and shortfall and headroom are counted in tiers of ``POINTS_PER_TIER`` points. A candidate
without a rating is given one from its tier (a least-squares line of rating on tier over the
rated candidates); ``details["ratings"]`` names them. With no rating at all, or
``use_ratings=False``, the tiers are used as they are.
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pydantic import Field

from ._candidates import Candidate, PoolCache
from ._ratings import RatingTable, builtin_ratings
from ._strategy import BaseStrategy
from ._types import Classification, Estimate, Query, StrategyParams, StrategyTags
from .errors import ConfigError, RouteIQWarning

__all__ = ["CentroidParams", "CentroidStrategy"]

#: Predicted quality of a candidate at the required tier; each tier above adds HEADROOM.
ADEQUATE = 0.85
HEADROOM = 0.01
#: Below this top-two cosine margin the runner-up category's floor also applies.
AMBIGUOUS_MARGIN = 0.015
#: Arena points per tier: the slope of rating on price tier over the built-in catalog's rated
#: models (also the slope used to rate an unrated candidate when the rated share one tier).
POINTS_PER_TIER = 48.0
#: What a price tier adds to a rated candidate's strength (a quarter of a tier's points).
PRICE_POINTS_PER_TIER = 12.0


@dataclass(frozen=True)
class _CandidateTable:
    """Per-candidate values, computed once per candidate set (decide() is on the hot path)."""

    names: tuple[str, ...]
    tiers: tuple[int, ...]
    priors: tuple[float | None, ...]
    reasoning: tuple[float, ...]
    code: tuple[float, ...]
    lacks_tools: tuple[float, ...]
    #: Strength of each candidate in rating points, or None: the tiers are used as they are.
    strengths: tuple[float, ...] | None
    #: What the ratings were (``details["ratings"]``); empty when the tiers are used as they are.
    rating_note: dict[str, object]
    #: Predicted quality per (required tier, reasoning, code, agentic): a handful of keys.
    quality_cache: dict[tuple[int, bool, bool, bool], dict[str, float]] = field(default_factory=dict)


def _build_table(candidates: Sequence[Candidate], use_ratings: bool) -> _CandidateTable:
    strengths, note = rating_strengths(candidates) if use_ratings else (None, {})
    return _CandidateTable(
        names=tuple(c.name for c in candidates),
        tiers=tuple(c.tier for c in candidates),
        priors=tuple(c.quality for c in candidates),
        reasoning=tuple(float(c.has("reasoning")) for c in candidates),
        code=tuple(float(c.has("code")) for c in candidates),
        # Only candidates that declare capabilities but not tools are known to lack them.
        lacks_tools=tuple(float(bool(c.capabilities) and not c.has("tools")) for c in candidates),
        strengths=strengths,
        rating_note=note,
    )


def rating_strengths(candidates: Sequence[Candidate]) -> tuple[tuple[float, ...] | None, dict[str, object]]:
    """Each candidate's strength in rating points (see the module docstring), or None when no
    candidate is rated; and what ``details["ratings"]`` says about them."""
    try:
        table = builtin_ratings()
    except (ConfigError, OSError, ValueError) as exc:  # a damaged install: route on price tiers, say so
        warnings.warn(f"built-in ratings unreadable ({type(exc).__name__}: {str(exc)[:120]}); the zero-config "
                      "strategy uses price tiers (reinstall routeiq)", RouteIQWarning, stacklevel=2)
        table = RatingTable({}, "none")
    ratings: list[float | None] = []
    sources = set()
    for c in candidates:
        if c.rating is not None:
            ratings.append(c.rating)
            sources.add("given")
            continue
        found = table.get(c.model, c.name)
        ratings.append(found.score if found is not None else None)
        if found is not None:
            sources.add(found.source)
    rated = [(float(c.tier), r) for c, r in zip(candidates, ratings) if r is not None]
    if not rated:
        return None, {}
    estimated = [c.name for c, r in zip(candidates, ratings) if r is None]
    if estimated:  # rate the unrated by their tier: rating = a + b * tier over the rated
        mean_t = sum(t for t, _ in rated) / len(rated)
        mean_r = sum(r for _, r in rated) / len(rated)
        var = sum((t - mean_t) ** 2 for t, _ in rated)
        slope = sum((t - mean_t) * (r - mean_r) for t, r in rated) / var if var else 0.0
        slope = slope if slope > 0 else POINTS_PER_TIER
        ratings = [r if r is not None else mean_r + slope * (c.tier - mean_t) for c, r in zip(candidates, ratings)]
    mean_tier = sum(c.tier for c in candidates) / len(candidates)
    strengths = tuple(float(r) + PRICE_POINTS_PER_TIER * (c.tier - mean_tier)  # type: ignore[arg-type]
                      for c, r in zip(candidates, ratings))
    note: dict[str, object] = {"source": "; ".join(sorted(sources)),
                               "range": [round(min(strengths)), round(max(strengths))]}
    if estimated:
        note["estimated_from_tier"] = estimated
    return strengths, note


def required_strength(strengths: Sequence[float], required: int) -> float:
    """The strength a prompt of tier ``required`` needs: the (required - 1) / 4 quantile."""
    ordered = sorted(strengths)
    pos = (len(ordered) - 1) * (min(5, max(1, required)) - 1) / 4.0
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


MAX_CATEGORIES = 64
MAX_CANDIDATES = 512


class CentroidParams(StrategyParams):
    shortfall_penalty: float = Field(0.2, ge=0.0, le=1.0)
    #: pseudo-observations of the static prediction in the refined posterior (0 turns refinement off)
    prior_strength: float = Field(20.0, ge=0.0, le=1e6)
    #: most observations kept per (category, candidate); older evidence is scaled down beyond it
    max_evidence: float = Field(5000.0, ge=1.0, le=1e9)
    #: place candidates by public ratings (their own ``rating``, else the built-in table) when known
    use_ratings: bool = True
    reasoning_bonus: float = Field(0.05, ge=0.0, le=0.5)
    specialty_bonus: float = Field(0.03, ge=0.0, le=0.5)
    missing_tools_penalty: float = Field(0.15, ge=0.0, le=1.0)


class CentroidStrategy(BaseStrategy[CentroidParams]):
    """Category centroids + complexity -> required tier -> predicted quality per candidate."""

    name = "centroid"
    # It reads the classification and the features, never the embedding itself; it learns from
    # feedback (progressive refinement), deterministically for the same evidence.
    tags = StrategyTags(requires_fit=False, deterministic=True, needs_embedding=False, online=True)

    def __init__(self, params: StrategyParams | Mapping[str, object] | None = None, /, **overrides: object) -> None:
        super().__init__(params, **overrides)
        # Lists too, as before: the evaluation harness passes its candidates as one list per run.
        self._table = PoolCache(lambda pool: _build_table(pool, self.params.use_ratings), size=32, keep_mutable=True)
        #: category -> candidate name -> [successes, failures]
        self._evidence: dict[str, dict[str, list[float]]] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ refinement
    def update(self, query: Query, candidate: Candidate, quality: float) -> None:
        """Online learning (OnlineStrategy): one observed quality of ``candidate`` on ``query``."""
        self.observe(query.category, candidate.name, quality)

    def observe(self, category: str | None, candidate: str, quality: float) -> None:
        """One observed quality in [0, 1] of ``candidate`` on a prompt of ``category``."""
        if self.params.prior_strength == 0.0:
            return
        q = min(1.0, max(0.0, float(quality)))
        key = category or "-"
        with self._lock:
            cell_map = self._evidence.get(key)
            if cell_map is None:
                if len(self._evidence) >= MAX_CATEGORIES:
                    return
                cell_map = self._evidence[key] = {}
            cell = cell_map.get(candidate)
            if cell is None:
                if len(cell_map) >= MAX_CANDIDATES:
                    return
                cell = cell_map[candidate] = [0.0, 0.0]
            cell[0] += q
            cell[1] += 1.0 - q
            total = cell[0] + cell[1]
            if total > self.params.max_evidence:
                scale = self.params.max_evidence / total
                cell[0] *= scale
                cell[1] *= scale

    def refinement_state(self) -> dict[str, dict[str, list[float]]]:
        """The evidence as JSON-safe data: ``{category: {candidate: [successes, failures]}}``."""
        with self._lock:
            return {c: {n: [round(a, 6), round(b, 6)] for n, (a, b) in m.items()} for c, m in self._evidence.items()}

    def load_refinement(self, state: object) -> None:
        """Replace the evidence with ``state`` (from :meth:`refinement_state`); invalid entries are skipped."""
        evidence: dict[str, dict[str, list[float]]] = {}
        if isinstance(state, Mapping):
            for category, cells in list(state.items())[:MAX_CATEGORIES]:
                if not isinstance(category, str) or not isinstance(cells, Mapping):
                    continue
                kept = {}
                for name, pair in list(cells.items())[:MAX_CANDIDATES]:
                    if (isinstance(name, str) and isinstance(pair, (list, tuple)) and len(pair) == 2 and
                            all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                                and v >= 0 for v in pair)):
                        kept[name] = [float(pair[0]), float(pair[1])]
                evidence[category] = kept
        with self._lock:
            self._evidence = evidence

    def _refine(self, quality: dict[str, float], category: str | None, details: dict[str, object]) -> None:
        cells = self._evidence.get(category or "-")
        if not cells:
            return
        k = self.params.prior_strength
        seen = {}
        for name, (successes, failures) in cells.items():
            static = quality.get(name)
            if static is None:
                continue
            n = successes + failures
            quality[name] = (k * static + successes) / (k + n)
            seen[name] = (round(n), round(successes / n, 3) if n else None)
        if seen:
            details["refined"] = {name: {"reports": n, "observed": mean} for name, (n, mean) in seen.items()}
            top = sorted(seen.items(), key=lambda item: -item[1][0])[:3]
            details["note"] = "refined by feedback: " + ", ".join(
                f"{name} {mean:.2f} over {n}" for name, (n, mean) in top if mean is not None)

    def _quality(
        self, table: _CandidateTable, required: int, reasoning: bool, code: bool, agentic: bool
    ) -> dict[str, float]:
        p = self.params
        quality = {}
        if table.strengths is not None:  # tiers above (+) or below (-) what the prompt needs
            need = required_strength(table.strengths, required)
            gaps = [(s - need) / POINTS_PER_TIER for s in table.strengths]
        else:
            gaps = [float(tier - required) for tier in table.tiers]
        for name, gap, prior, has_reasoning, has_code, lacks_tools in zip(
            table.names, gaps, table.priors, table.reasoning, table.code, table.lacks_tools
        ):
            if prior is not None:  # an explicit strength prior shifts the adequate level
                q = ADEQUATE + 0.1 * (prior - 0.75)
            else:  # a small preference for headroom above the required tier
                q = ADEQUATE + HEADROOM * max(0.0, gap)
            q -= p.shortfall_penalty * max(0.0, -gap)
            q += p.reasoning_bonus * has_reasoning * reasoning + p.specialty_bonus * has_code * code
            q -= p.missing_tools_penalty * lacks_tools * agentic
            quality[name] = min(1.0, max(0.0, q))
        return quality

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
        if table.rating_note:
            details["ratings"] = dict(table.rating_note)
        if classification is not None:
            details.update(runner_up=classification.runner_up, margin=round(classification.margin, 4))
        quality = dict(cached)  # a copy: callers may keep or change it
        if self._evidence:
            self._refine(quality, category, details)
        return Estimate(
            quality=quality,
            category=category,
            confidence=classification.confidence if classification is not None else None,
            details=details,
        )


def _level_from_difficulty(difficulty: float) -> int:
    return 1 + min(4, int(difficulty * 5))
