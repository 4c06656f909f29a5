"""k-nearest-neighbour quality estimates on prompt embeddings.

For a query, find the ``k`` training prompts with the highest cosine similarity and
predict each model's quality as the (similarity-weighted) mean of its known scores
on those neighbours, shrunk towards the model's global mean score by ``shrinkage``
pseudo-neighbours. Averaging the neighbours' scores (rather than voting on a
"best model" label) sidesteps the tie problem of binary scores entirely.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from pydantic import Field

from routeiq_core import Candidate, Query, RoutingDataset, StrategyTags

from ._numeric import unit_rows
from ._per_model import PerModelParams, PerModelStrategy, query_matrix

__all__ = ["KNNStrategy"]

# Queries per chunk of the batch path (bounds the (chunk, n_train) similarity matrix).
_CHUNK = 256


class KNNStrategy(PerModelStrategy):
    """Cosine kNN over training prompts; quality = neighbours' mean score per model.

    Attributes set by fit:
        embeddings_: (n_prompts, dim) float32, L2-normalised training embeddings.
        scores_: (n_prompts, n_models) float32 training scores, NaN = unknown.
        models_, model_mean_, embedding_dim_: see :class:`PerModelStrategy`.
    """

    name = "knn"
    tags = StrategyTags(requires_fit=True, deterministic=True, needs_embedding=True)

    class Params(PerModelParams):
        k: int = Field(20, ge=1, description="Number of neighbours.")
        weighting: Literal["uniform", "similarity"] = Field(
            "similarity", description="Neighbour weights: equal, or the (non-negative) cosine similarity."
        )
        shrinkage: float = Field(
            1.0, ge=0.0, description="Pseudo-neighbours at the model's global mean (0 = none)."
        )

    params: Params

    def _fit(self, dataset: RoutingDataset) -> None:
        self._fit_common(dataset)
        self.embeddings_ = unit_rows(dataset.require_embeddings())
        self.scores_ = dataset.scores.astype(np.float32)

    def _quality_matrix(
        self, queries: Sequence[Query], candidates: Sequence[Candidate]
    ) -> tuple[np.ndarray, list[dict[str, Any]]]:
        x = query_matrix(queries)
        out = np.empty((len(queries), len(self.models_)))
        details: list[dict[str, Any]] = []
        for start in range(0, len(queries), _CHUNK):
            q, info = self._neighbour_estimate(x[start : start + _CHUNK])
            out[start : start + len(q)] = q
            details.extend(info)
        return out, details

    def _neighbour_estimate(self, x: np.ndarray) -> tuple[np.ndarray, list[dict[str, Any]]]:
        sims = x @ self.embeddings_.T  # (b, n)
        n = sims.shape[1]
        k = min(self.params.k, n)
        if k < n:
            idx = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        else:
            idx = np.broadcast_to(np.arange(n), (sims.shape[0], n))
        near = np.take_along_axis(sims, idx, axis=1).astype(np.float64)  # (b, k)
        weights = np.ones_like(near) if self.params.weighting == "uniform" else np.maximum(near, 0.0)
        scores = self.scores_[idx].astype(np.float64)  # (b, k, m)
        known = ~np.isnan(scores)
        w = weights[:, :, None] * known
        lam = self.params.shrinkage
        num = (w * np.where(known, scores, 0.0)).sum(axis=1) + lam * self.model_mean_[None, :]
        den = w.sum(axis=1) + lam
        mean = np.asarray(self.model_mean_, dtype=np.float64)
        quality = np.divide(num, den, out=np.broadcast_to(mean, num.shape).copy(), where=den > 0)
        details = [{"neighbours": int(k), "mean_similarity": round(float(row.mean()), 4)} for row in near]
        return quality, details
