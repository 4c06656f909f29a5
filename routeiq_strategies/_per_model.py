"""A base for strategies that learn one predicted quality per *trained model*.

Such a strategy computes an (n_queries, n_models) quality matrix over the models it
was trained on; this base turns it into per-candidate estimates. Candidates map to
model columns by ``candidate.model`` (then ``candidate.name``); a candidate whose
model was never seen gets an explicit prior, so the candidate list may be a subset
or a superset of the trained models.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import Field
from typing_extensions import TypeVar

from routeiq_core import BaseStrategy, Candidate, Estimate, Query, RoutingDataset, StrategyParams

from ._base import candidate_values_batch, column_means, model_columns
from ._numeric import unit_rows

__all__ = ["PerModelParams", "PerModelStrategy", "query_matrix"]


class PerModelParams(StrategyParams):
    """Parameters every per-model strategy has."""

    unknown_quality: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description=(
            "Quality assumed for a candidate whose model is not in the training data; "
            "None = the mean predicted quality of the known candidates for that query."
        ),
    )


def query_matrix(queries: Sequence[Query]) -> np.ndarray:
    """(n, dim) float32 unit-norm embeddings of ``queries`` (the base class checked they exist)."""
    return unit_rows(np.stack([np.asarray(q.embedding, dtype=np.float32) for q in queries]))


PM = TypeVar("PM", bound=PerModelParams, default=PerModelParams)


class PerModelStrategy(BaseStrategy[PM]):
    """Subclasses set ``models_`` in ``_fit`` and implement :meth:`_quality_matrix`.

    Common fitted attributes (set by :meth:`_fit_common`):
        models_: trained model names, the column order of every per-model array.
        model_mean_: (n_models,) mean training score of each model.
        embedding_dim_: embedding dimension (for strategies that use embeddings).
    """

    def _fit_common(self, dataset: RoutingDataset) -> None:
        self.models_ = [str(m) for m in dataset.models]
        self.model_mean_ = column_means(dataset.scores)
        if self.tags.needs_embedding and dataset.embeddings is not None:
            self.embedding_dim_ = int(dataset.embeddings.shape[1])

    def _quality_matrix(
        self, queries: Sequence[Query], candidates: Sequence[Candidate]
    ) -> tuple[np.ndarray, list[dict[str, Any]] | None]:
        """(n_queries, n_models) predicted quality, plus optional per-query details."""
        raise NotImplementedError

    def _unknown_prior(self) -> float | None:
        return getattr(self.params, "unknown_quality", None)

    def _predict(self, query: Query, candidates: Sequence[Candidate]) -> Estimate:
        return self._predict_batch([query], candidates)[0]

    def _predict_batch(self, queries: Sequence[Query], candidates: Sequence[Candidate]) -> list[Estimate]:
        quality, details = self._quality_matrix(queries, candidates)
        columns = model_columns(candidates, self.models_)
        values = np.clip(
            candidate_values_batch(quality, candidates, self.models_, prior=self._unknown_prior(), columns=columns),
            0.0,
            1.0,
        )
        unknown = [c.name for c, col in zip(candidates, columns) if col is None]
        names = [c.name for c in candidates]
        out = []
        for i, row in enumerate(values):
            info: dict[str, Any] = dict(details[i]) if details is not None else {}
            if unknown:
                info["unknown_models"] = unknown
            out.append(Estimate(quality=dict(zip(names, row.tolist())), details=info))
        return out
