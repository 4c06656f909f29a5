"""example.ridge: one ridge regression per model, embedding -> score."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

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

__all__ = ["RidgeStrategy"]


class RidgeParams(StrategyParams):
    alpha: float | None = Field(
        None, gt=0.0, description="L2 penalty; None picks one per model from `alphas` by generalised cross-validation."
    )
    alphas: tuple[float, ...] = Field((0.01, 0.1, 1.0, 10.0, 100.0), min_length=1,
                                      description="Penalties tried when alpha is None.")
    unknown_quality: float | None = Field(
        None, ge=0.0, le=1.0, description="Quality of a candidate whose model was not trained on; None = mean."
    )


class RidgeStrategy(BaseStrategy[RidgeParams]):
    """One ridge regression per model from the prompt embedding to its score, clipped to [0, 1].

    Each model is fitted on the prompts where its score is known, in closed form
    through one SVD per set of known rows; with ``alpha=None`` the penalty is chosen
    per model by generalised cross-validation (no held-out split needed).

    Attributes set by fit:
        weights_: (dim, n_models) float64 coefficients.
        bias_: (n_models,) intercepts.
        alpha_: (n_models,) penalty used for each model.
        models_: model names in the column order of ``weights_``.
        embedding_dim_: embedding dimension.
    """

    name: ClassVar[str] = "example.ridge"
    tags: ClassVar[StrategyTags] = StrategyTags(requires_fit=True, deterministic=True, needs_embedding=True)

    def _fit(self, dataset: RoutingDataset) -> None:
        x = dataset.require_embeddings().astype(np.float64)
        scores = dataset.scores
        n_models = scores.shape[1]
        weights = np.zeros((x.shape[1], n_models))
        bias = np.zeros(n_models)
        alphas = np.zeros(n_models)
        known = ~np.isnan(scores)
        # Models known on the same prompts share one SVD (usually all of them).
        groups: dict[bytes, list[int]] = {}
        for j in range(n_models):
            groups.setdefault(np.packbits(known[:, j]).tobytes(), []).append(j)
        for cols in groups.values():
            rows = known[:, cols[0]]
            if rows.sum() == 0:
                bias[cols] = 0.5
                alphas[cols] = np.nan
                continue
            xr = x[rows]
            x_mean = xr.mean(axis=0)
            y = scores[np.ix_(rows, cols)]
            y_mean = y.mean(axis=0)
            u, s, vt = np.linalg.svd(xr - x_mean, full_matrices=False)
            uty = u.T @ (y - y_mean)  # (r, len(cols))
            for c, j in enumerate(cols):
                alpha = self.params.alpha or _gcv_alpha(u, s, uty[:, c], y[:, c] - y_mean[c], self.params.alphas)
                w = vt.T @ (s / (s**2 + alpha) * uty[:, c])
                weights[:, j] = w
                bias[j] = y_mean[c] - x_mean @ w
                alphas[j] = alpha
        self.weights_ = weights
        self.bias_ = bias
        self.alpha_ = alphas
        self.models_ = [str(m) for m in dataset.models]
        self.embedding_dim_ = int(x.shape[1])

    def _predict(self, query: Query, candidates: Sequence[Candidate]) -> Estimate:
        return self._predict_batch([query], candidates)[0]

    def _predict_batch(self, queries: Sequence[Query], candidates: Sequence[Candidate]) -> list[Estimate]:
        x = np.stack([np.asarray(q.embedding, dtype=np.float64) for q in queries])
        quality = np.clip(x @ self.weights_ + self.bias_, 0.0, 1.0)
        values = candidate_matrix(quality, candidates, self.models_, self.params.unknown_quality)
        names = [c.name for c in candidates]
        return [Estimate(quality=dict(zip(names, row.tolist()))) for row in values]


def _gcv_alpha(u: np.ndarray, s: np.ndarray, uty: np.ndarray, yc: np.ndarray, alphas: Sequence[float]) -> float:
    """The alpha minimising n * RSS / (n - df)^2 (generalised cross-validation)."""
    n = yc.shape[0]
    outside = float(yc @ yc - uty @ uty)  # part of y outside the span of the data
    best, best_score = float(alphas[0]), np.inf
    for alpha in alphas:
        shrink = s**2 / (s**2 + alpha)
        rss = float(((1.0 - shrink) * uty) @ ((1.0 - shrink) * uty)) + max(outside, 0.0)
        df = float(shrink.sum())
        score = n * rss / max(n - df, 1e-9) ** 2
        if score < best_score:
            best, best_score = float(alpha), score
    return best
