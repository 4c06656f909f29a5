"""CausalLLM router: ask an LLM which candidate is best, showing it the nearest training examples.

LLMRouter's ``causallm_router`` fine-tunes Llama-2-7B (LoRA) to continue
"Query: ... Best LLM:" with a model name. Fine-tuning a 7B model is out of scope
for an embeddable router, so this version does in-context learning instead: the
prompt shows the ``n_examples`` training queries nearest to the query (cosine on
the embeddings) with the candidate that was best on each (tie-aware: the cheapest
of the tied best; queries where every candidate failed are skipped), then asks for
the query's best candidate. The reply is matched against candidate names and
model ids (:func:`~.llm_callable.match_candidate`).

Cost per decision: one call to ``router_model``. Quality:
``(1 - llm_weight) * kNN estimate + llm_weight * [candidate is the LLM's pick]``,
where the kNN estimate is the neighbours' mean score (:class:`~.knn.KNNStrategy`);
an unparseable reply or a failing call gives the kNN estimate alone, with a warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from routeiq_core import BaseStrategy, Candidate, Estimate, Query, RoutingDataset, StrategyTags

from ._base import candidate_values_batch, model_columns, tie_aware_best
from ._llm_driver import one
from ._per_model import query_matrix
from .knn import KNNParams, KNNStrategy
from .llm_callable import LLMParams, LLMRequest, LLMStrategy, Messages, Procedure, match_candidate

__all__ = ["CausalLLMStrategy", "build_routing_prompt"]

_SYSTEM = (
    "You route user queries to the language model most likely to answer them correctly.\n"
    "Candidates:\n{candidates}\n"
    "Reply with the name of exactly one candidate and nothing else."
)


def build_routing_prompt(query: str, candidates: Sequence[Candidate], examples: Sequence[tuple[str, str]]) -> Messages:
    """The chat messages of one routing question with few-shot ``(query, best candidate)`` examples."""
    listing = "\n".join(f"- {c.name}" + (f" (model {c.model})" if c.model != c.name else "") for c in candidates)
    shots = "".join(f"Query: {q}\nBest model: {name}\n\n" for q, name in examples)
    intro = "Past queries and the model that answered best:\n\n" if examples else ""
    return [
        {"role": "system", "content": _SYSTEM.format(candidates=listing)},
        {"role": "user", "content": f"{intro}{shots}Query: {query}\nBest model:"},
    ]


class CausalLLMParams(LLMParams, KNNParams):
    router_model: str = Field("gpt-4o-mini", min_length=1, description="The model your callable asks.")
    n_examples: int = Field(8, ge=0, le=64, description="Nearest training queries shown as examples.")
    example_chars: int = Field(300, ge=20, description="Longest example text (characters).")
    query_chars: int = Field(4000, ge=20, description="Longest query text sent (characters).")
    llm_weight: float = Field(0.5, ge=0, le=1, description="Weight of the LLM's pick against the kNN estimate.")


class CausalLLMStrategy(LLMStrategy[CausalLLMParams], KNNStrategy):
    """An LLM picks the best candidate from few-shot nearest-neighbour examples.

    Attributes set by fit (besides :class:`~.knn.KNNStrategy`'s ``embeddings_``, ``scores_``, ...):
        example_texts_: training prompts, truncated to ``example_chars`` (shown as examples).
    """

    name: ClassVar[str] = "causal_llm"
    partial_feedback: ClassVar[bool | None] = False
    tags: ClassVar[StrategyTags] = StrategyTags(
        requires_fit=True, deterministic=False, needs_embedding=True, calls_llm=True
    )

    def _fit(self, dataset: RoutingDataset) -> None:
        KNNStrategy._fit(self, dataset)
        self.example_texts_ = [p[: self.params.example_chars] for p in dataset.prompts]

    def _prior(self, query: Query, candidates: Sequence[Candidate]) -> dict[str, float]:
        """The kNN estimate: neighbours' mean score per candidate."""
        quality, _ = self._quality_matrix([query], candidates)
        row = candidate_values_batch(quality, candidates, self.models_, prior=self.params.unknown_quality)[0]
        return {c.name: float(np.clip(v, 0, 1)) for c, v in zip(candidates, row)}

    def _examples(self, query: Query, candidates: Sequence[Candidate]) -> list[tuple[str, str]]:
        k = self.params.n_examples
        cols = model_columns(candidates, self.models_)
        known = [(c, j) for c, j in zip(candidates, cols) if j is not None]
        if k == 0 or not known:
            return []
        sims = query_matrix([query])[0] @ self.embeddings_.T
        order = np.argsort(-sims, kind="stable")[: 4 * k]
        scores = self.scores_[order][:, [j for _, j in known]].astype(np.float64)
        price = np.array([c.blended_cost_per_mtok for c, _ in known])
        labels = tie_aware_best(scores, price)
        top = np.where(np.isnan(scores), -np.inf, scores).max(axis=1)
        examples = [(self.example_texts_[i], known[lab][0].name)
                    for i, lab, t in zip(order, labels, top) if lab >= 0 and t > 0]
        return examples[:k][::-1]  # nearest last, closest to the question

    def _procedure(self, query: Query, candidates: Sequence[Candidate]) -> Procedure:
        examples = self._examples(query, candidates)
        messages = build_routing_prompt(query.text[: self.params.query_chars], candidates, examples)
        reply = one((yield LLMRequest(self.params.router_model, tuple(messages), purpose="route")))
        pick = match_candidate(reply, candidates)
        details: dict[str, Any] = {"examples": len(examples), "reply_chars": len(reply)}
        if pick is None:
            return self._fallback(query, candidates, "the reply names no candidate", **details)
        w = self.params.llm_weight
        prior = self._prior(query, candidates)
        quality = {name: (1 - w) * q + w * (1.0 if name == pick.name else 0.0) for name, q in prior.items()}
        return Estimate(quality=quality, details={**details, "choice": pick.name})

    @classmethod
    def conformance_instances(cls) -> Sequence[BaseStrategy[Any]]:
        """Bound to a FakeLLM (test double) that answers with the examples' most frequent best model."""
        from routeiq_core.testing import FakeLLM

        return [cls(llm=FakeLLM(default=majority_of_examples), n_examples=5)]


def majority_of_examples(model: str, messages: Messages) -> str:
    """A test-double policy: the most frequent "Best model:" among the prompt's examples (else the first candidate)."""
    text = str(messages[-1].get("content", ""))
    names = [line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Best model:")]
    names = [n for n in names if n]
    if names:
        return max(sorted(set(names)), key=names.count)
    system = str(messages[0].get("content", ""))
    listed = [line[2:].split(" (model", 1)[0] for line in system.splitlines() if line.startswith("- ")]
    return listed[0] if listed else ""
