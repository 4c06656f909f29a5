"""The explanation stage: the decision's category, confidence, warnings, exclusions and the
one line that says what the request looks like, what was chosen, and what came next.

Built from the query's features and the choice only; it never quotes the prompt.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from ._candidates import TIER_NAMES, Candidate
from ._choice import Choice
from ._decision import COMPLEXITY_LABELS
from ._eligibility import Eligibility
from ._signals import AGENTIC_THRESHOLD, REASONING_THRESHOLD
from ._types import Query

if TYPE_CHECKING:
    from ._estimation import StrategyResult
    from ._extensions import DecisionContext

__all__ = ["Explanation", "explain", "reason"]


class Explanation(NamedTuple):
    category: str | None
    confidence: float
    reason: str
    warnings: tuple[str, ...]
    excluded: dict[str, str]


def explain(ctx: DecisionContext, eligibility: Eligibility, choice: Choice, result: StrategyResult) -> Explanation:
    """Category and confidence (the strategy's, else the classifier's), the reason line with the
    pin's and the extensions' notes, the warnings, and every exclusion with its reason."""
    estimate, classification = result.estimate, ctx.query.classification
    category = estimate.category or (classification.category if classification else None)
    confidence = estimate.confidence if estimate.confidence is not None else (
        classification.confidence if classification else 1.0)
    pin_note = ([ctx.pin_reason] if choice.pinned else [f"{ctx.pin} is not eligible; ranked choice used"]
                ) if ctx.pin else []
    note = estimate.details.get("note")  # a clause the strategy adds to the reason (e.g. refinement)
    line = reason(ctx.query, eligibility.candidates, choice, category, confidence, ctx.profile.name,
                  notes=[*pin_note, *ctx.notes, *((result.note,) if result.failure else ()),
                         *((note,) if isinstance(note, str) and note else ())])
    warnings = (*eligibility.notes, *ctx.warnings, *((result.failure,) if result.failure else ()))
    excluded = {**ctx.excluded, **eligibility.excluded} if ctx.excluded else eligibility.excluded
    return Explanation(category, float(confidence), line, warnings, excluded)


def reason(
    query: Query,
    candidates: Sequence[Candidate],
    choice: Choice,
    category: str | None,
    confidence: float,
    profile: str,
    *,
    notes: Sequence[str] = (),
) -> str:
    """The decision's ``reason``: head (category, complexity, flags) -> choice; next; notes."""
    level = query.complexity
    flags = []
    if query.features.get("agentic", 0.0) >= AGENTIC_THRESHOLD:
        flags.append("agentic")
    if query.features.get("reasoning", 0.0) >= REASONING_THRESHOLD:
        flags.append("reasoning")
    head = f"{category} ({confidence:.0%})" if category else "no category"
    head += f", complexity {level}/5 {COMPLEXITY_LABELS.get(level, '')}"
    if flags:
        head += ", " + ", ".join(flags)
    first = choice.order[0]
    chosen = candidates[first]
    quality, cost = choice.quality[first], choice.costs[first]
    text = (f"{head} -> {chosen.name} (tier {TIER_NAMES.get(chosen.tier, chosen.tier)}, "
            f"predicted quality {quality:.2f}, est ${cost:.6f}) under profile '{profile}'")
    if len(choice.order) > 1:
        nxt = choice.order[1]
        next_quality, next_cost = choice.quality[nxt], choice.costs[nxt]
        if cost > 0:
            ratio = next_cost / cost
            cost_txt = f"{ratio:.1f}x the cost" if ratio >= 1 else f"{ratio:.2g}x the cost"
        else:
            cost_txt = "also free" if next_cost == 0 else "paid vs free"
        text += f"; next {candidates[nxt].name} ({next_quality - quality:+.2f} quality, {cost_txt})"
    for note in notes:
        text += f"; {note}"
    return text
