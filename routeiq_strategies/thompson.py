"""Thompson sampling: an online Beta-Bernoulli bandit per (context cluster, model).

Each arm (a model in a cluster of prompt embeddings) keeps a Beta(alpha, beta)
posterior of its quality; :meth:`ThompsonStrategy.update` adds a reward in [0, 1]
(alpha += q, beta += 1 - q). Predicted quality is one posterior draw per arm
(``sample=True``, exploration) or the posterior mean (``sample=False``, greedy and
deterministic). ``fit`` is optional: it learns the clusters and a prior from
offline data, counted as at most ``prior_strength`` observations per arm so that
live feedback can still move it. Unfitted, every arm starts at Beta(a0, b0) and a
model first seen in :meth:`update` gets its own arm.

Draws come from a generator seeded with ``seed`` when the strategy is built (or
loaded), so a sequence of calls is reproducible; the conformance kit's
determinism checks apply to ``sample=False`` (the strategy's tags say so).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import Field

from routeiq_core import (
    BaseStrategy,
    Candidate,
    DatasetError,
    Estimate,
    Query,
    RoutingDataset,
    StrategyParams,
    StrategyTags,
)

from ._base import model_columns
from ._nn import kmeans
from ._numeric import assign_nearest, unit_rows
from ._per_model import query_matrix

__all__ = ["ThompsonStrategy"]

# Serialises update() so concurrent feedback never loses a count.
_UPDATE_LOCK = threading.Lock()


class ThompsonParams(StrategyParams):
    n_clusters: int = Field(8, ge=1, description="Context clusters learned by fit (1 = no context).")
    a0: float = Field(1.0, gt=0.0, description="Base Beta prior alpha of every arm.")
    b0: float = Field(1.0, gt=0.0, description="Base Beta prior beta of every arm.")
    prior_strength: float = Field(
        20.0, ge=0.0, description="Observations the offline data counts for, at most, per arm."
    )
    sample: bool = Field(True, description="Draw from the posterior (True) or use its mean (False).")
    seed: int = 0


class ThompsonStrategy(BaseStrategy[ThompsonParams]):
    """Beta-Bernoulli Thompson sampling per (cluster, model); learns online via ``update``.

    Attributes (set by fit, or created by the first update):
        models_: model names, the columns of ``alpha_`` / ``beta_`` (grows as models appear).
        alpha_, beta_: (n_clusters, n_models) Beta posterior parameters.
        centroids_: (n_clusters, dim) float32 cluster centroids (fit with n_clusters > 1).
        n_updates_: feedback events received.
        embedding_dim_: embedding dimension (fit with n_clusters > 1).
    """

    name = "thompson"
    tags = StrategyTags(requires_fit=False, deterministic=False, needs_embedding=True, online=True)

    @classmethod
    def conformance_instances(cls) -> Sequence[BaseStrategy[Any]]:
        """Sampling (non-deterministic) and posterior means (deterministic) (for routeiq_core.testing)."""
        return [cls(), cls(sample=False, n_clusters=2)]

    def __init__(self, params: Any = None, /, **overrides: Any) -> None:
        super().__init__(params, **overrides)
        self.tags = type(self).tags.model_copy(  # type: ignore[misc]
            update={"deterministic": not self.params.sample, "needs_embedding": self.params.n_clusters > 1}
        )
        self._rng = np.random.default_rng(self.params.seed)

    # ------------------------------------------------------------------ learning
    def _fit(self, dataset: RoutingDataset) -> None:
        self.models_ = [str(m) for m in dataset.models]
        p = self.params
        s = dataset.scores
        if p.n_clusters > 1:
            x = unit_rows(dataset.require_embeddings())
            labels, centers = kmeans(x, p.n_clusters, seed=p.seed)
            self.centroids_ = centers.astype(np.float32)
            self.embedding_dim_ = int(x.shape[1])
        else:
            labels = np.zeros(len(dataset), dtype=np.int64)
        groups = int(labels.max()) + 1
        known = ~np.isnan(s)
        filled = np.where(known, s, 0.0)
        count = np.stack([known[labels == g].sum(axis=0) for g in range(groups)]).astype(np.float64)
        total = np.stack([filled[labels == g].sum(axis=0) for g in range(groups)])
        scale = np.minimum(1.0, p.prior_strength / np.maximum(count, 1.0))
        self.alpha_ = p.a0 + scale * total
        self.beta_ = p.b0 + scale * (count - total)
        self.n_updates_ = 0

    def update(self, query: Query, candidate: Candidate, quality: float) -> None:
        """Record the observed quality (in [0, 1]) of ``candidate`` on ``query``."""
        q = float(quality)
        if not 0.0 <= q <= 1.0:
            raise DatasetError(f"thompson: feedback quality must be in [0, 1], got {quality!r}")
        with _UPDATE_LOCK:
            if not hasattr(self, "alpha_"):
                self.models_ = []
                self.alpha_ = np.zeros((1, 0))
                self.beta_ = np.zeros((1, 0))
                self.n_updates_ = 0
            col = model_columns([candidate], self.models_)[0]
            if col is None:
                self.models_ = [*self.models_, candidate.model]
                grow = np.ones((self.alpha_.shape[0], 1))
                self.alpha_ = np.hstack([self.alpha_, self.params.a0 * grow])
                self.beta_ = np.hstack([self.beta_, self.params.b0 * grow])
                col = len(self.models_) - 1
            group = int(self._groups([query])[0])
            self.alpha_[group, col] += q
            self.beta_[group, col] += 1.0 - q
            self.n_updates_ = int(self.n_updates_) + 1

    # ------------------------------------------------------------------ predicting
    def _groups(self, queries: Sequence[Query]) -> np.ndarray:
        centroids = getattr(self, "centroids_", None)
        if centroids is None:
            return np.zeros(len(queries), dtype=np.int64)
        if any(q.embedding is None for q in queries):
            raise DatasetError("thompson: this bandit has context clusters; the query needs an embedding")
        return assign_nearest(query_matrix(queries), centroids)

    def _predict(self, query: Query, candidates: Sequence[Candidate]) -> Estimate:
        return self._predict_batch([query], candidates)[0]

    def _predict_batch(self, queries: Sequence[Query], candidates: Sequence[Candidate]) -> list[Estimate]:
        models: list[str] = list(getattr(self, "models_", []))
        cols = model_columns(candidates, models)
        groups = self._groups(queries)
        a = np.full((len(queries), len(candidates)), self.params.a0)
        b = np.full((len(queries), len(candidates)), self.params.b0)
        if models:
            for k, col in enumerate(cols):
                if col is not None:
                    a[:, k] = self.alpha_[groups, col]
                    b[:, k] = self.beta_[groups, col]
        quality = self._rng.beta(a, b) if self.params.sample else a / (a + b)
        names = [c.name for c in candidates]
        unknown = [c.name for c, col in zip(candidates, cols) if col is None]
        out = []
        for i, row in enumerate(quality):
            details: dict[str, Any] = {"cluster": int(groups[i]), "pseudo_counts": (a[i] + b[i]).round(2).tolist()}
            if unknown:
                details["unknown_models"] = unknown
            out.append(Estimate(quality=dict(zip(names, row.tolist())), details=details))
        return out
