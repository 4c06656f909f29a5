"""The value types every stage and strategy shares, below everything else in the package.

``Query`` (what a strategy sees), ``Estimate`` (what it answers), ``Classification``
(the centroid classifier's verdict), ``Signal`` (one explainable input of a decision),
and the pydantic bases of strategy tags and parameters. This module imports nothing
from RouteIQ at run time, so any module may import it without a cycle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from ._request import Request

__all__ = ["Classification", "Estimate", "Query", "Signal", "StrategyParams", "StrategyTags"]


class Signal(NamedTuple):
    """One pre-classification signal: its value in [0, 1] and its weight in the decision."""

    name: str
    value: float
    weight: float
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": round(float(self.value), 4), "weight": round(float(self.weight), 4),
                "detail": self.detail}


@dataclass(frozen=True, slots=True)
class Classification:
    """Category of a prompt: the winner, its confidence, the runner-up and the margin.

    ``floor_tier`` and ``runner_up_floor_tier`` are the two categories' minimum tiers
    (from the centroid manifest), so no later stage needs the centroid set again.
    """

    category: str
    confidence: float
    runner_up: str
    margin: float
    similarities: Mapping[str, float]
    difficulty: float
    floor_tier: int = 1
    runner_up_floor_tier: int = 1


@dataclass(frozen=True, slots=True)
class Query:
    """What a strategy sees of a request.

    Attributes:
        text: the routed text (last user turn), already cleaned.
        embedding: (dim,) float32 L2-normalised embedding of ``text``, or None
            when the strategy declares ``needs_embedding=False``.
        request: the full normalised request (messages, tools, metadata), if any.
        features: pre-classification signals by name (``agentic``, ``reasoning``,
            ``complexity`` (level 1..5), ``complexity_score``, ``difficulty``,
            ``category_confidence``), each a float.
        classification: the centroid classifier's category for ``text``, if computed.
        input_tokens / output_tokens: the token estimate of the request and its answer.
        signals: every weighted signal behind the features, for the explanation.
    """

    text: str
    embedding: np.ndarray | None = None
    request: Request | None = None
    features: Mapping[str, float] = field(default_factory=dict)
    classification: Classification | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    signals: tuple[Signal, ...] = ()

    @property
    def category(self) -> str | None:
        return self.classification.category if self.classification is not None else None

    @property
    def user(self) -> str | None:
        return self.request.metadata.user if self.request is not None else None

    @property
    def complexity(self) -> int:
        """The complexity level 1..5 (0 when the query was built without signals)."""
        return int(self.features.get("complexity", 0))


@dataclass(frozen=True, slots=True)
class Estimate:
    """A strategy's prediction for one query.

    Attributes:
        quality: candidate name -> predicted quality in [0, 1].
        cost: candidate name -> predicted USD for this request, or None to let the
            router estimate cost from prices and token counts.
        details: free-form, JSON-serialisable explanation (e.g. category, neighbours).
        confidence: how sure the strategy is, in [0, 1], if it knows.
        category: a task category, if the strategy classifies.
    """

    quality: Mapping[str, float]
    cost: Mapping[str, float] | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    confidence: float | None = None
    category: str | None = None


class StrategyTags(BaseModel):
    """What a strategy needs and promises. The conformance kit picks its checks from these.

    ``online`` promises an ``update`` method (:class:`~routeiq_core.OnlineStrategy`);
    ``calls_llm`` promises ``bind_llm`` (:class:`~routeiq_core.LLMCallingStrategy`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    requires_fit: bool = True
    deterministic: bool = True
    needs_embedding: bool = True
    calls_llm: bool = False
    online: bool = False
    extras: tuple[str, ...] = ()


class StrategyParams(BaseModel):
    """Base of every strategy's hyper-parameters: frozen, and misspelled names are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid")
