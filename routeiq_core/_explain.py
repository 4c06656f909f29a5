"""The explanation stage: one line that says what the request looks like, what was chosen,
and what came next.

Built from the query's features and the choice only; it never quotes the prompt.
"""

from __future__ import annotations

from collections.abc import Sequence

from ._candidates import TIER_NAMES, Candidate
from ._choice import Choice
from ._decision import COMPLEXITY_LABELS
from ._signals import AGENTIC_THRESHOLD, REASONING_THRESHOLD
from ._types import Query

__all__ = ["reason"]


def reason(
    query: Query,
    candidates: Sequence[Candidate],
    choice: Choice,
    category: str | None,
    confidence: float,
    profile: str,
    *,
    fallback: bool = False,
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
    if fallback:
        text += "; strategy failed, centroid fallback used"
    for note in notes:
        text += f"; {note}"
    return text
