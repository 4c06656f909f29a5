"""Multi-round routers: split a query into sub-queries and route each one.

LLMRouter's multi-round routers decompose a query with an LLM, route every
sub-query, execute them and aggregate the answers with another LLM call. A
router only has to decide, so both versions here stop after routing and turn the
per-sub-query routing into one quality per candidate (the aggregate is what the
request as a whole is expected to get):

* :class:`KNNMultiRoundStrategy` ("knn_multiround"): one LLM call decomposes the
  query (one sub-query per line); each sub-query is embedded and routed with the
  kNN estimate (neighbours' mean score, :class:`~.knn.KNNStrategy`); the quality
  is the mean of the sub-queries' estimates. Cost: 1 call to ``decomposer_model``
  plus one embedding per sub-query.
* :class:`LLMMultiRoundStrategy` ("llm_multiround"): one LLM call decomposes the
  query *and* assigns a candidate to each sub-query (``sub-query => candidate``
  lines); a candidate's quality is ``(1 - assignment_weight) * prior +
  assignment_weight * share of sub-queries assigned to it``. Cost: 1 call to
  ``router_model``. Needs no training (``fit`` only sets the prior).

Unparseable replies fall back clearly: the kNN router routes the whole query as
one sub-query, the LLM router returns the prior; both say so in ``details``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from routeiq_core import BaseStrategy, Candidate, Estimate, Query, RoutingDataset, StrategyTags

from ._base import candidate_values_batch
from ._llm_driver import one
from ._text_embedding import TextEmbeddingMixin
from .knn import KNNParams, KNNStrategy
from .llm_callable import (
    LLMParams,
    LLMRequest,
    LLMStrategy,
    Messages,
    Procedure,
    match_candidate,
)

__all__ = ["KNNMultiRoundStrategy", "LLMMultiRoundStrategy", "parse_assignments", "parse_subqueries"]

_DECOMPOSE = (
    "Split the user's request into at most {n} self-contained sub-questions that together answer it. "
    "Write one sub-question per line and nothing else. If the request is a single question, "
    "write it unchanged on one line."
)
_DECOMPOSE_ROUTE = (
    "Split the user's request into at most {n} self-contained sub-questions and assign each to the "
    "model best suited to answer it. Write one line per sub-question in the form\n"
    "<sub-question> => <model name>\nand nothing else. Models:\n{candidates}"
)
_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\(?\d+[.):]|(?:sub-?(?:question|query)\s*\d*\s*[:.)-]))\s*", re.IGNORECASE)
_ARROW = re.compile(r"\s*(?:=>|->|\u2192|\|)\s*")


def parse_subqueries(text: str, limit: int) -> list[str]:
    """Sub-queries from a decomposition reply: one per line, bullets and numbering removed, deduplicated."""
    out: list[str] = []
    for line in (text or "").splitlines():
        item = _BULLET.sub("", line).strip().strip('"').strip()
        if len(item) >= 2 and item not in out:
            out.append(item)
    return out[:limit]


def parse_assignments(text: str, candidates: Sequence[Candidate], limit: int) -> list[tuple[str, Candidate]]:
    """``(sub-query, candidate)`` pairs from ``sub-query => model`` lines (also ``->``, ``|`` or a last ``:``)."""
    out: list[tuple[str, Candidate]] = []
    for line in (text or "").splitlines():
        line = _BULLET.sub("", line).strip()
        if not line:
            continue
        parts = _ARROW.split(line)
        if len(parts) < 2 and ":" in line:
            parts = line.rsplit(":", 1)
        if len(parts) < 2:
            continue
        cand = match_candidate(parts[-1], candidates)
        sub = " ".join(parts[:-1]).strip().strip('"')
        if cand is not None and sub:
            out.append((sub, cand))
    return out[:limit]


class KNNMultiRoundParams(LLMParams, KNNParams):
    decomposer_model: str = Field("gpt-4o-mini", min_length=1, description="The model that decomposes.")
    max_subqueries: int = Field(4, ge=1, le=16)
    query_chars: int = Field(4000, ge=20)


class KNNMultiRoundStrategy(TextEmbeddingMixin, LLMStrategy[KNNMultiRoundParams], KNNStrategy):
    """Decompose with an LLM, route each sub-query by kNN, average the estimates.

    Sub-queries are embedded with the bound embedder (``bind_embedder``; default:
    RouteIQ's shipped model, which must be the one the strategy was trained with).
    """

    name: ClassVar[str] = "knn_multiround"
    partial_feedback: ClassVar[bool | None] = True
    tags: ClassVar[StrategyTags] = StrategyTags(
        requires_fit=True, deterministic=False, needs_embedding=True, calls_llm=True
    )

    def _fit(self, dataset: RoutingDataset) -> None:
        KNNStrategy._fit(self, dataset)

    def _knn(self, queries: Sequence[Query], candidates: Sequence[Candidate]) -> np.ndarray:
        """(len(queries), len(candidates)) kNN estimates (the neighbours' mean scores)."""
        quality, _ = self._quality_matrix(queries, candidates)
        return np.clip(candidate_values_batch(quality, candidates, self.models_,
                                              prior=self.params.unknown_quality), 0.0, 1.0)

    def _prior(self, query: Query, candidates: Sequence[Candidate]) -> dict[str, float]:
        """The whole query's kNN estimate."""
        return dict(zip((c.name for c in candidates), self._knn([query], candidates)[0].tolist()))

    def _procedure(self, query: Query, candidates: Sequence[Candidate]) -> Procedure:
        p = self.params
        text = query.text[: p.query_chars]
        reply = yield LLMRequest.user(p.decomposer_model, text, system=_DECOMPOSE.format(n=p.max_subqueries),
                                      purpose="decompose")
        subs = parse_subqueries(one(reply), p.max_subqueries)
        details: dict[str, Any] = {}
        if not subs:
            details["warning"] = f"{self.name}: the decomposition had no sub-queries; routed the whole query"
        routed: list[Query] = [query]
        if subs and subs != [text]:
            vectors, warning = self._embed_texts(subs)
            if vectors is None:
                details["warning"] = f"{self.name}: {warning}; routed the whole query"
                subs = []
            else:
                routed = [Query(text=sub, embedding=vec) for sub, vec in zip(subs, vectors)]
        per_sub = self._knn(routed, candidates)
        names = [c.name for c in candidates]
        details["sub_queries"] = subs or [text]
        details["choices"] = [names[int(np.argmax(row))] for row in per_sub]
        quality = dict(zip(names, per_sub.mean(axis=0).tolist()))
        return Estimate(quality=quality, details=details)

    @classmethod
    def conformance_instances(cls) -> Sequence[BaseStrategy[Any]]:
        """Bound to a FakeLLM (test double) that splits on " and " / "?"."""
        from routeiq_core.testing import FakeLLM

        return [cls(llm=FakeLLM(default=split_on_and), k=5)]


class LLMMultiRoundParams(LLMParams):
    router_model: str = Field("gpt-4o-mini", min_length=1, description="The model that decomposes and assigns.")
    max_subqueries: int = Field(4, ge=1, le=16)
    assignment_weight: float = Field(0.5, ge=0, le=1)
    query_chars: int = Field(4000, ge=20)


class LLMMultiRoundStrategy(LLMStrategy[LLMMultiRoundParams]):
    """One LLM call decomposes the query and assigns a candidate to each sub-query."""

    name: ClassVar[str] = "llm_multiround"

    def _procedure(self, query: Query, candidates: Sequence[Candidate]) -> Procedure:
        p = self.params
        listing = "\n".join(f"- {c.name}" for c in candidates)
        system = _DECOMPOSE_ROUTE.format(n=p.max_subqueries, candidates=listing)
        reply = yield LLMRequest.user(p.router_model, query.text[: p.query_chars], system=system, purpose="route")
        pairs = parse_assignments(one(reply), candidates, p.max_subqueries)
        if not pairs:
            return self._fallback(query, candidates, "no 'sub-query => model' line named a candidate",
                                  reply_chars=len(reply))
        counts: dict[str, int] = {}
        for _, cand in pairs:
            counts[cand.name] = counts.get(cand.name, 0) + 1
        prior = self._prior(query, candidates)
        w = p.assignment_weight
        quality = {name: (1 - w) * q + w * counts.get(name, 0) / len(pairs) for name, q in prior.items()}
        return Estimate(quality=quality, details={"sub_queries": [s for s, _ in pairs],
                                                  "choices": [c.name for _, c in pairs]})

    @classmethod
    def conformance_instances(cls) -> Sequence[BaseStrategy[Any]]:
        """Bound to a FakeLLM (test double) that assigns every sub-query to the first listed model."""
        from routeiq_core.testing import FakeLLM

        return [cls(llm=FakeLLM(default=assign_first_candidate))]


def split_on_and(model: str, messages: Messages) -> str:
    """Test-double decomposer: split the request on " and " and "?"."""
    text = str(messages[-1].get("content", ""))
    parts = [p.strip(" ?.") for p in re.split(r"\band\b|\?", text) if p.strip(" ?.")]
    return "\n".join(f"{i + 1}. {p}" for i, p in enumerate(parts))


def assign_first_candidate(model: str, messages: Messages) -> str:
    """Test-double router: every " and "-separated part goes to the first model in the system prompt."""
    system = str(messages[0].get("content", ""))
    listed = [line[2:] for line in system.splitlines() if line.startswith("- ")]
    return "\n".join(f"{part} => {listed[0] if listed else '?'}" for part in split_on_and(model, messages).splitlines())
