"""example.cluster: per-cluster mean model scores with shrinkage."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from routeiq_core import (
    BaseStrategy,
    Candidate,
    Estimate,
    Query,
    RoutingDataset,
    StrategyParams,
    StrategyTags,
)

from ._columns import candidate_matrix

__all__ = ["ClusterStrategy", "spherical_kmeans"]


class ClusterParams(StrategyParams):
    n_clusters: int = Field(16, ge=1, description="Number of k-means clusters (at most one per prompt).")
    shrinkage: float = Field(
        5.0, ge=0.0, description="Pseudo-prompts at the model's global mean added to every cluster (0 = none)."
    )
    neighbours: int = Field(3, ge=1, description="Nearest clusters blended for a query.")
    temperature: float = Field(
        0.05, gt=0.0, description="Softmax temperature over cosine similarity to the nearest clusters."
    )
    max_iter: int = Field(50, ge=1, description="k-means iterations at most.")
    seed: int = Field(0, description="Seed of the k-means++ initialisation.")
    unknown_quality: float | None = Field(
        None, ge=0.0, le=1.0, description="Quality of a candidate whose model was not trained on; None = mean."
    )


def spherical_kmeans(x: np.ndarray, k: int, *, seed: int = 0, max_iter: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """k-means on the unit sphere (cosine similarity), k-means++ initialised.

    Returns ``(centres (k, dim) unit rows, labels (n,))``. Deterministic for a seed.
    """
    rng = np.random.default_rng(seed)
    n = x.shape[0]
    k = min(k, n)
    centres = np.empty((k, x.shape[1]))
    centres[0] = x[rng.integers(n)]
    distance = np.maximum(1.0 - x @ centres[0], 0.0)
    for c in range(1, k):
        weight = distance**2
        total = weight.sum()
        pick = rng.integers(n) if total <= 0 else rng.choice(n, p=weight / total)
        centres[c] = x[pick]
        distance = np.minimum(distance, np.maximum(1.0 - x @ centres[c], 0.0))
    labels = np.full(n, -1)
    for _ in range(max_iter):
        sims = x @ centres.T
        new_labels = sims.argmax(axis=1)
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
        sums = np.zeros_like(centres)
        np.add.at(sums, labels, x)
        counts = np.bincount(labels, minlength=k)
        for c in np.flatnonzero(counts == 0):
            # An empty cluster takes the prompt farthest from its own centre.
            far = int(np.argmin(sims[np.arange(n), labels]))
            sums[c] = x[far]
            labels[far] = c
            sims[far, c] = 1.0
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        centres = sums / np.where(norms > 0, norms, 1.0)
    return centres, labels


class ClusterStrategy(BaseStrategy[ClusterParams]):
    """Clusters of similar prompts; quality = each model's shrunk mean score in the nearest clusters.

    Training runs spherical k-means on the prompt embeddings. For cluster ``c`` and
    model ``j`` with ``n`` known scores summing to ``s``, the predicted quality is
    ``(s + shrinkage * global_j) / (n + shrinkage)``: small clusters lean on the
    model's overall mean. A query blends its ``neighbours`` nearest clusters with a
    softmax over cosine similarity.

    Attributes set by fit:
        centroids_: (k, dim) float32 unit cluster centres.
        quality_: (k, n_models) predicted quality per cluster and model.
        sizes_: (k,) prompts per cluster.
        global_quality_: (n_models,) mean score of each model.
        models_: model names in the column order of ``quality_``.
        cluster_tasks_: most common task per cluster (None without tasks).
        embedding_dim_: embedding dimension.
    """

    name: ClassVar[str] = "example.cluster"
    tags: ClassVar[StrategyTags] = StrategyTags(requires_fit=True, deterministic=True, needs_embedding=True)

    def _fit(self, dataset: RoutingDataset) -> None:
        x = dataset.require_embeddings().astype(np.float64)
        x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        centres, labels = spherical_kmeans(x, self.params.n_clusters, seed=self.params.seed,
                                           max_iter=self.params.max_iter)
        k = centres.shape[0]
        scores = dataset.scores
        known = ~np.isnan(scores)
        filled = np.where(known, scores, 0.0)
        global_quality = np.divide(filled.sum(0), known.sum(0), out=np.full(scores.shape[1], 0.5),
                                   where=known.sum(0) > 0)
        sums = np.zeros((k, scores.shape[1]))
        counts = np.zeros((k, scores.shape[1]))
        np.add.at(sums, labels, filled)
        np.add.at(counts, labels, known.astype(np.float64))
        lam = self.params.shrinkage
        denominator = counts + lam
        self.quality_ = np.divide(sums + lam * global_quality, denominator,
                                  out=np.broadcast_to(global_quality, sums.shape).copy(), where=denominator > 0)
        self.centroids_ = centres.astype(np.float32)
        self.sizes_ = np.bincount(labels, minlength=k).astype(np.int64)
        self.global_quality_ = global_quality
        self.models_ = [str(m) for m in dataset.models]
        self.cluster_tasks_ = _majority(labels, dataset.tasks, k)
        self.embedding_dim_ = int(x.shape[1])

    def _predict(self, query: Query, candidates: Sequence[Candidate]) -> Estimate:
        return self._predict_batch([query], candidates)[0]

    def _predict_batch(self, queries: Sequence[Query], candidates: Sequence[Candidate]) -> list[Estimate]:
        x = np.stack([np.asarray(q.embedding, dtype=np.float64) for q in queries])
        x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        sims = x @ self.centroids_.T.astype(np.float64)  # (b, k)
        top = min(self.params.neighbours, sims.shape[1])
        nearest = np.argsort(-sims, axis=1, kind="stable")[:, :top]
        near_sims = np.take_along_axis(sims, nearest, axis=1)
        logits = (near_sims - near_sims[:, :1]) / self.params.temperature
        weights = np.exp(logits)
        weights /= weights.sum(axis=1, keepdims=True)
        quality = np.einsum("bt,btm->bm", weights, self.quality_[nearest])
        values = candidate_matrix(quality, candidates, self.models_, self.params.unknown_quality)
        names = [c.name for c in candidates]
        out = []
        for i in range(len(queries)):
            best = int(nearest[i, 0])
            size = int(self.sizes_[best])
            details: dict[str, Any] = {"cluster": best, "cluster_size": size,
                                       "similarity": round(float(near_sims[i, 0]), 4)}
            if self.cluster_tasks_[best] is not None:
                details["cluster_task"] = self.cluster_tasks_[best]
            confidence = size / (size + self.params.shrinkage) if size + self.params.shrinkage > 0 else 0.0
            out.append(Estimate(quality=dict(zip(names, values[i].tolist())), details=details,
                                confidence=float(confidence)))
        return out


def _majority(labels: np.ndarray, tasks: Sequence[str | None] | None, k: int) -> list[str | None]:
    if tasks is None:
        return [None] * k
    out: list[str | None] = []
    for c in range(k):
        counter = Counter(t for t, lab in zip(tasks, labels) if lab == c and t is not None)
        out.append(min(counter, key=lambda t: (-counter[t], t)) if counter else None)
    return out
