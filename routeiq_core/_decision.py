"""The Decision: what was chosen, what else was considered, and why.

Field names are stable: ``to_dict()`` is the JSON contract used by the CLI,
logs and the LiteLLM adapter. Everything except ``timings_ms`` is deterministic
for the same input and configuration.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, overload

from ._candidates import TIER_NAMES, Candidate
from ._ids import new_decision_id
from ._types import Signal

if TYPE_CHECKING:
    from ._types import Query

__all__ = ["Alternative", "Decision", "Ranking", "Signal"]

DECISION_SCHEMA_VERSION = 1


class Alternative(NamedTuple):
    """A ranked candidate: its utility ``score``, predicted ``quality`` and estimated ``cost`` (USD).

    A named tuple: immutable and cheap to build (a decision ranks every candidate).
    """

    name: str
    model: str
    rank: int
    score: float
    quality: float
    cost: float
    tier: int

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "model": self.model, "rank": self.rank, "score": round(self.score, 6),
                "quality": round(self.quality, 6), "cost_usd": self.cost, "tier": self.tier}


class Ranking(Sequence[Alternative]):
    """Candidates best first, as :class:`Alternative` tuples built on first access.

    A decision ranks every eligible candidate, but most callers read only the first
    few; building the tuples lazily keeps ``decide()`` cheap.
    """

    __slots__ = ("_candidates", "_costs", "_items", "_order", "_quality", "_scores")

    def __init__(self, candidates: Sequence[Candidate], order: Sequence[int], scores: Sequence[float],
                 quality: Sequence[float], costs: Sequence[float]) -> None:
        """``order``: indices into ``candidates`` (and the three per-candidate lists), best first."""
        self._candidates, self._order, self._scores = candidates, order, scores
        self._quality, self._costs = quality, costs
        self._items: tuple[Alternative, ...] | None = None

    @classmethod
    def of(cls, alternatives: Sequence[Alternative]) -> Ranking:
        ranking = cls((), (), (), (), ())
        ranking._items = tuple(alternatives)
        return ranking

    def _materialise(self) -> tuple[Alternative, ...]:
        if self._items is None:
            cands, scores, quality, costs = self._candidates, self._scores, self._quality, self._costs
            self._items = tuple(
                Alternative(cands[i].name, cands[i].model, rank, float(scores[i]), quality[i], costs[i], cands[i].tier)
                for rank, i in enumerate(self._order, start=1)
            )
        return self._items

    def __len__(self) -> int:
        return len(self._items) if self._items is not None else len(self._order)

    @overload
    def __getitem__(self, index: int) -> Alternative: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Alternative, ...]: ...

    def __getitem__(self, index: int | slice) -> Alternative | tuple[Alternative, ...]:
        return self._materialise()[index]

    def __iter__(self) -> Iterator[Alternative]:
        return iter(self._materialise())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return tuple(self) == tuple(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"Ranking({list(self._materialise())!r})"


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of :meth:`Router.decide`.

    Attributes:
        candidate: the chosen candidate.
        ranking: every eligible candidate, best first (``ranking[0]`` is the choice);
            use it as a fallback order.
        profile: the profile applied (``auto``, ``eco``, ...).
        strategy: the strategy that predicted quality (``centroid``, ``knn``, ...).
        category: the task category, if the strategy classifies, else None.
        confidence: in [0, 1]: how clearly the top category / top candidate won.
        complexity: 1 (trivial) .. 5 (expert).
        signals: pre-classification signals with their weights.
        reason: one human-readable line.
        excluded: candidate name -> why it was not eligible (profile, capability, context).
        timings_ms: per-stage wall time in milliseconds (not deterministic).
        fallback: True when the strategy failed and the router's fallback chose.
        warnings: anything the caller should know (e.g. the fallback's cause).
        details: the strategy's own explanation (e.g. required tier, neighbours).
        id: a time-ordered UUIDv7 naming this decision (the decision log's key; pass it to
            :meth:`Router.feedback`).
        propensity: the probability with which ``candidate`` was selected: 1.0 for the
            deterministic choice, less when exploration picked it (off-policy evaluation
            reads it from the log).
    """

    candidate: Candidate
    ranking: Sequence[Alternative]
    profile: str
    strategy: str
    category: str | None
    confidence: float
    complexity: int
    signals: tuple[Signal, ...] = ()
    reason: str = ""
    excluded: dict[str, str] = field(default_factory=dict)
    timings_ms: dict[str, float] = field(default_factory=dict)
    fallback: bool = False
    warnings: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=new_decision_id, compare=False)
    propensity: float = 1.0
    #: The strategy input (embedding, category, features); kept for feedback, not serialised.
    query: Query | None = field(default=None, repr=False, compare=False)

    @property
    def model(self) -> str:
        """The chosen candidate's model string."""
        return self.candidate.model

    @property
    def name(self) -> str:
        """The chosen candidate's name (deployment id)."""
        return self.candidate.name

    @property
    def alternatives(self) -> tuple[Alternative, ...]:
        """The ranked candidates after the chosen one (a fallback order)."""
        return tuple(self.ranking[1:])

    @property
    def complexity_label(self) -> str:
        return COMPLEXITY_LABELS.get(self.complexity, str(self.complexity))

    def signal(self, name: str) -> Signal | None:
        for s in self.signals:
            if s.name == name:
                return s
        return None

    def to_dict(self, *, timings: bool = True, ids: bool | None = None) -> dict[str, Any]:
        """A JSON-serialisable dict with stable field names.

        ``timings`` and ``ids`` (default: as ``timings``) add the two per-call values,
        ``timings_ms`` and ``id``; without them the dict is deterministic.
        """
        out: dict[str, Any] = {"id": self.id} if (timings if ids is None else ids) else {}
        out |= {
            "schema_version": DECISION_SCHEMA_VERSION,
            "candidate": self.candidate.name,
            "model": self.candidate.model,
            "tier": self.candidate.tier,
            "tier_name": TIER_NAMES.get(self.candidate.tier, str(self.candidate.tier)),
            "profile": self.profile,
            "strategy": self.strategy,
            "category": self.category,
            "confidence": round(self.confidence, 4),
            "complexity": self.complexity,
            "complexity_label": self.complexity_label,
            "reason": self.reason,
            "signals": [s.to_dict() for s in self.signals],
            "ranking": [a.to_dict() for a in self.ranking],
            "excluded": dict(self.excluded),
            "fallback": self.fallback,
            "propensity": self.propensity,
            "warnings": list(self.warnings),
            "details": _jsonable(self.details),
        }
        if timings:
            out["timings_ms"] = {k: round(v, 3) for k, v in self.timings_ms.items()}
        return out


COMPLEXITY_LABELS = {1: "trivial", 2: "simple", 3: "moderate", 4: "complex", 5: "expert"}


def _jsonable(value: Any) -> Any:
    """Plain JSON types for a strategy's free-form details (numpy scalars and arrays included)."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return _jsonable(value.tolist())
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def serve_ranked(decision: Decision, index: int, candidates: Sequence[Candidate], **changes: Any) -> Decision:
    """``decision`` with ``ranking[index]`` served instead, first in the fallback order (exploration
    and sessions use it); ``candidates`` must hold that candidate, ``changes`` are further fields."""
    import dataclasses

    ranking = list(decision.ranking)
    chosen = ranking.pop(index)
    reordered = Ranking.of([a._replace(rank=i + 1) for i, a in enumerate([chosen, *ranking])])
    candidate = next(c for c in candidates if c.name == chosen.name)
    return dataclasses.replace(decision, candidate=candidate, ranking=reordered, **changes)
