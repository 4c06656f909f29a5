"""k-nearest-neighbour quality estimates on prompt embeddings.

For a query, find the ``k`` training prompts with the highest cosine similarity and
predict each model's quality as the (similarity-weighted) mean of its known scores
on those neighbours, shrunk towards the model's global mean score by ``shrinkage``
pseudo-neighbours. Averaging the neighbours' scores (rather than voting on a
"best model" label) sidesteps the tie problem of binary scores entirely.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from routeiq_core import BaseStrategy, Candidate, Query, RoutingDataset, StrategyTags

from ._nn import kmeans
from ._numeric import assign_nearest, unit_rows
from ._per_model import PerModelParams, PerModelStrategy, query_matrix

__all__ = ["KNNStrategy"]

# Queries per chunk of the batch path (bounds the (chunk, n_train) similarity matrix).
_CHUNK = 256


class KNNParams(PerModelParams):
    k: int = Field(20, ge=1, description="Number of neighbours.")
    weighting: Literal["uniform", "similarity"] = Field(
        "similarity", description="Neighbour weights: equal, or the (non-negative) cosine similarity."
    )
    shrinkage: float = Field(
        1.0, ge=0.0, description="Pseudo-neighbours at the model's global mean (0 = none)."
    )
    approximate_above: int | None = Field(
        20_000, ge=1, description="Index the data (approximate search) above this many prompts; None = exact."
    )
    n_probe: int = Field(12, ge=1, description="Index lists scanned per query (approximate search).")
    seed: int = Field(0, description="Seed of the index's k-means.")


class KNNStrategy(PerModelStrategy[KNNParams]):
    """Cosine kNN over training prompts; quality = neighbours' mean score per model.

    Above ``approximate_above`` training prompts the search uses an inverted-file
    index: k-means lists over the embeddings, and only the ``n_probe`` lists whose
    centroids are closest to the query are scanned (then ranked exactly), so one
    decision reads a few thousand vectors instead of all of them.

    Attributes set by fit:
        embeddings_: (n_prompts, dim) float32, L2-normalised training embeddings
            (grouped by list when indexed).
        scores_: (n_prompts, n_models) float32 training scores in the same row order, NaN = unknown.
        list_centroids_: (n_lists, dim) float32 list centroids (indexed only).
        list_starts_: (n_lists + 1,) int64 row offsets of each list (indexed only).
        models_, model_mean_, embedding_dim_: see :class:`PerModelStrategy`.
    """

    name = "knn"
    partial_feedback: ClassVar[bool | None] = True
    nan_allowed: ClassVar[frozenset[str]] = frozenset({"scores_"})  # NaN = score unknown
    tags = StrategyTags(requires_fit=True, deterministic=True, needs_embedding=True)

    @classmethod
    def conformance_instances(cls) -> Sequence[BaseStrategy[Any]]:
        """Exact search, and the index with few probes (for routeiq_core.testing)."""
        return [cls(), cls(approximate_above=10, n_probe=2)]

    def _fit(self, dataset: RoutingDataset) -> None:
        self._fit_common(dataset)
        x = unit_rows(dataset.require_embeddings())
        scores = dataset.scores.astype(np.float32)
        limit = self.params.approximate_above
        if limit is not None and len(x) > limit:
            order, self.list_centroids_, self.list_starts_ = _build_index(x, self.params.seed)
            x, scores = x[order], scores[order]
        self.embeddings_ = np.ascontiguousarray(x)
        self.scores_ = scores

    def _quality_matrix(
        self, queries: Sequence[Query], candidates: Sequence[Candidate]
    ) -> tuple[np.ndarray, list[dict[str, Any]]]:
        x = query_matrix(queries)
        indexed = getattr(self, "list_starts_", None) is not None
        quality = np.empty((len(queries), len(self.models_)))
        details: list[dict[str, Any]] = []
        step = 1 if indexed else _CHUNK
        for start in range(0, len(queries), step):
            if indexed:
                rows, sims = self._search_index(x[start])
            else:
                rows, sims = _top_k(x[start : start + step] @ self.embeddings_.T, self.params.k)
            q, info = self._estimate(rows, sims)
            quality[start : start + len(q)] = q
            details.extend(info)
        return quality, details

    def _search_index(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(1, k) rows and similarities of the nearest prompts in the ``n_probe`` closest lists."""
        starts = self.list_starts_
        cents = self.list_centroids_
        closeness = cents @ x - 0.5 * (cents * cents).sum(axis=1)  # the order of assign_nearest
        near_lists = _top_k(closeness[None, :], self.params.n_probe)[0][0]
        spans = [(int(starts[c]), int(starts[c + 1])) for c in near_lists]
        sims = np.concatenate([self.embeddings_[a:b] @ x for a, b in spans])
        rows = np.concatenate([np.arange(a, b) for a, b in spans])
        local, near = _top_k(sims[None, :], self.params.k)
        return rows[local], near

    def _estimate(self, idx: np.ndarray, near: np.ndarray) -> tuple[np.ndarray, list[dict[str, Any]]]:
        """Per-model quality from the neighbours ``idx`` (b, k) with similarities ``near``."""
        near = near.astype(np.float64)
        weights = np.ones_like(near) if self.params.weighting == "uniform" else np.maximum(near, 0.0)
        scores = self.scores_[idx].astype(np.float64)  # (b, k, m)
        known = ~np.isnan(scores)
        w = weights[:, :, None] * known
        lam = self.params.shrinkage
        mean = np.asarray(self.model_mean_, dtype=np.float64)
        num = (w * np.where(known, scores, 0.0)).sum(axis=1) + lam * mean[None, :]
        den = w.sum(axis=1) + lam
        quality = np.divide(num, den, out=np.broadcast_to(mean, num.shape).copy(), where=den > 0)
        k = idx.shape[1]
        details = [{"neighbours": int(k), "mean_similarity": round(float(row.mean()), 4)} for row in near]
        return quality, details


def _top_k(sims: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Column indices and values of the ``k`` largest entries of each row (unordered)."""
    n = sims.shape[1]
    if k >= n:
        idx = np.broadcast_to(np.arange(n), sims.shape)
    else:
        idx = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    return idx, np.take_along_axis(sims, idx, axis=1)


def _build_index(x: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row order grouped by k-means list, list centroids and list offsets (sqrt(n) lists)."""
    n = len(x)
    n_lists = max(1, int(round(np.sqrt(n))))
    rng = np.random.default_rng(seed)
    sample = x[rng.choice(n, size=min(n, 40 * n_lists), replace=False)]
    _, centers = kmeans(sample, n_lists, seed=seed, iters=15)
    centroids = centers.astype(np.float32)
    labels = assign_nearest(x, centroids)
    order = np.argsort(labels, kind="stable")
    starts = np.searchsorted(labels[order], np.arange(len(centroids) + 1)).astype(np.int64)
    return order, centroids, starts
