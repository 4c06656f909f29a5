"""Refinement evidence (the centroid's learned posteriors) kept in the decision log's database.

The strategy owns the evidence; the decision log's state table keeps it between runs: loaded
when a router first binds its log, saved every :data:`SAVE_EVERY` reports and at ``close()``.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ._router import Router

__all__ = ["SAVE_EVERY", "RefinableStrategy", "restore_refinement", "save_refinement"]

log = logging.getLogger("routeiq")

#: Refinement evidence is written to the log's database after this many observations.
SAVE_EVERY = 25


@runtime_checkable
class RefinableStrategy(Protocol):
    """A strategy that refines its predictions from feedback and can persist the evidence (centroid)."""

    def observe(self, category: str | None, candidate: str, quality: float) -> None: ...

    def refinement_state(self) -> dict[str, dict[str, list[float]]]: ...

    def load_refinement(self, state: object) -> None: ...


def _state_key(router: Router) -> str:
    return f"refinement:{router.strategy.name}"


def restore_refinement(router: Router) -> None:
    """Load the strategy's refinement evidence from the decision log's database, if kept there."""
    if router.log is None or not isinstance(router.strategy, RefinableStrategy):
        return
    raw = router.log.load_state(_state_key(router))
    if raw is None:
        return
    try:
        router.strategy.load_refinement(json.loads(raw))
    except ValueError:
        log.warning("routeiq: the refinement evidence in %s is not JSON; starting without it", router.log.url)


def save_refinement(router: Router) -> None:
    """Queue the strategy's refinement evidence for the decision log's database."""
    if router.log is not None and isinstance(router.strategy, RefinableStrategy):
        router.log.save_state(_state_key(router), json.dumps(router.strategy.refinement_state()))
