"""The choice stage: the profile's rule turns predicted quality and cost into a ranking.

Costs come from the strategy when it predicts them, else from each candidate's prices
and the query's token estimate. :func:`~routeiq_core._profiles.rank_indices` applies the
one utility rule; a pin (set by an extension, e.g. a conversation's candidate) moves
an eligible candidate to the front and keeps the rest in rule order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from ._candidates import Candidate, PoolCache
from ._decision import Ranking
from ._profiles import Profile, rank_indices
from ._types import Estimate, Query

__all__ = ["Choice", "choose"]


@dataclass(frozen=True, slots=True)
class Choice:
    """The ranking (best first) and, per rank, the candidate, its quality and cost."""

    ranking: Ranking
    order: list[int]
    quality: list[float]
    costs: list[float]
    pinned: bool = False

    @property
    def first(self) -> int:
        return self.order[0]


class _Prices(NamedTuple):
    """A candidate pool's names and prices as plain lists, built once per pool."""

    names: list[str]
    input_per_mtok: list[float]
    output_per_mtok: list[float]


_prices = PoolCache(lambda pool: _Prices([c.name for c in pool], [c.input_cost_per_mtok for c in pool],
                                         [c.output_cost_per_mtok for c in pool]))


def choose(
    candidates: Sequence[Candidate],
    quality: list[float],
    estimate: Estimate,
    query: Query,
    profile: Profile,
    pin: str | None = None,
) -> Choice:
    """Rank ``candidates`` by the profile's utility; ``pin`` (a candidate name) goes first if present."""
    predicted = estimate.cost
    tin, tout = query.input_tokens, query.output_tokens
    prices = _prices(candidates)
    # Candidate.expected_cost's formula, on the pool's price lists (no call per candidate).
    costs = [(a * tin + b * tout) / 1e6 for a, b in zip(prices.input_per_mtok, prices.output_per_mtok)]
    if predicted:
        costs = [float(predicted[n]) if n in predicted else c for n, c in zip(prices.names, costs)]
    order, utils = rank_indices(quality, costs, profile.cost_weight, prices.names)
    pinned = False
    if pin is not None:
        at = next((k for k, i in enumerate(order) if candidates[i].name == pin), None)
        if at:
            order.insert(0, order.pop(at))
        pinned = at is not None
    return Choice(Ranking(candidates, order, utils, quality, costs), order, quality, costs, pinned)
