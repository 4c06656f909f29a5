"""RouteLLM-style bilinear matrix factorisation, trained on pairwise wins.

A model M and a prompt q interact through ``delta(M, q) = w . (normalize(P_M) * (W q))``
(P: one learned vector per model, W: a projection of the prompt embedding, w: a
read-out). Training takes every pair of models whose scores on a prompt differ
(ties, including all-zero prompts, are skipped: they are not evidence of a
preference) and minimises the logistic loss of ``delta(winner) - delta(loser)``,
with hand-written gradients and Adam. Because ``delta`` is only a relative score,
a per-model sigmoid fitted to the training scores turns it into predicted quality.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from routeiq_core import Candidate, DatasetError, Query, RoutingDataset, StrategyTags

from ._base import TIE_ATOL
from ._nn import Adam, sigmoid
from ._numeric import platt_apply, platt_fit, unit_rows
from ._per_model import PerModelParams, PerModelStrategy, query_matrix

__all__ = ["MatrixFactorizationStrategy"]


def preference_pairs(scores: np.ndarray, atol: float = TIE_ATOL) -> np.ndarray:
    """(n_pairs, 3) int rows ``(prompt, winner, loser)`` for every strictly ordered, known pair."""
    s = np.asarray(scores, dtype=np.float64)
    diff = s[:, :, None] - s[:, None, :]  # (n, m, m): winner j, loser k
    with np.errstate(invalid="ignore"):
        wins = diff > atol  # NaN compares False: unknown scores make no pairs
    return np.argwhere(wins).astype(np.int64)


class MatrixFactorizationParams(PerModelParams):
    hidden: int = Field(128, ge=1, description="Width of the shared latent space.")
    epochs: int = Field(8, ge=1)
    batch_size: int = Field(256, ge=1, description="Pairs per Adam step.")
    learning_rate: float = Field(3e-3, gt=0.0)
    weight_decay: float = Field(1e-5, ge=0.0)
    seed: int = 0


class MatrixFactorizationStrategy(PerModelStrategy[MatrixFactorizationParams]):
    """Bilinear model-prompt scores from pairwise preferences, calibrated per model.

    Attributes set by fit:
        proj_: (dim, hidden) float32 prompt projection W (stored transposed).
        model_vectors_: (n_models, hidden) float32 model embeddings P.
        readout_: (hidden,) float32 read-out vector w.
        calib_a_, calib_b_: (n_models,) Platt calibration of delta to quality.
        n_pairs_: number of training pairs.
        models_, model_mean_, embedding_dim_: see :class:`PerModelStrategy`.
    """

    name = "mf"
    partial_feedback: ClassVar[bool | None] = False
    tags = StrategyTags(requires_fit=True, deterministic=True, needs_embedding=True)

    def min_training_prompts(self) -> int:
        return 2

    def _fit(self, dataset: RoutingDataset) -> None:
        self._fit_common(dataset)
        x = unit_rows(dataset.require_embeddings())
        pairs = preference_pairs(dataset.scores)
        if len(pairs) == 0:
            raise DatasetError(
                "mf: no training pairs; every prompt has all models tied (e.g. all scored 0). "
                "It needs prompts on which models differ"
            )
        p = self.params
        rng = np.random.default_rng(p.seed)
        d, m, h = x.shape[1], len(self.models_), p.hidden
        bound = 1.0 / np.sqrt(d)
        proj = rng.uniform(-bound, bound, (d, h)).astype(np.float32)
        vectors = rng.normal(size=(m, h)).astype(np.float32)
        readout = rng.uniform(-1.0 / np.sqrt(h), 1.0 / np.sqrt(h), h).astype(np.float32)
        opt = Adam({"proj": proj, "vectors": vectors, "readout": readout},
                   lr=p.learning_rate, weight_decay=p.weight_decay)
        for _ in range(p.epochs):
            order = rng.permutation(len(pairs))
            for start in range(0, len(order), p.batch_size):
                batch = pairs[order[start : start + p.batch_size]]
                grads = _pair_gradients(x[batch[:, 0]], batch[:, 1], batch[:, 2], proj, vectors, readout)
                opt.step(dict(zip(("proj", "vectors", "readout"), grads)))
        self.proj_ = proj
        self.model_vectors_ = vectors
        self.readout_ = readout
        self.n_pairs_ = len(pairs)
        self.calib_a_, self.calib_b_ = platt_fit(self._delta(x), dataset.scores)

    def _delta(self, x: np.ndarray) -> np.ndarray:
        """(n, n_models) bilinear scores."""
        vec = unit_rows(self.model_vectors_).astype(np.float64)
        proj = self.proj_.astype(np.float64)
        return (np.asarray(x, dtype=np.float64) @ proj) @ (vec * self.readout_.astype(np.float64)).T

    def _quality_matrix(
        self, queries: Sequence[Query], candidates: Sequence[Candidate]
    ) -> tuple[np.ndarray, list[dict[str, Any]] | None]:
        return platt_apply(self._delta(query_matrix(queries)), self.calib_a_, self.calib_b_), None


def _pair_gradients(
    x: np.ndarray,
    win: np.ndarray,
    lose: np.ndarray,
    proj: np.ndarray,
    vectors: np.ndarray,
    readout: np.ndarray,
) -> list[np.ndarray]:
    """Gradients of mean(-log sigmoid(delta(win) - delta(lose))) w.r.t. (proj, vectors, readout).

    With u = W q, p_hat = P_M / |P_M|, delta = w . (p_hat * u):
    d delta/d w = p_hat * u, d delta/d u = w * p_hat, d delta/d P_M = (I - p_hat p_hat^T)(w * u) / |P_M|.
    """
    b = len(x)
    u = x @ proj  # (b, h)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms = np.where(norms > 0, norms, 1.0)
    p_hat = vectors / norms  # (m, h)
    pw, pl = p_hat[win], p_hat[lose]
    gap = ((pw - pl) * u) @ readout  # delta(win) - delta(lose)
    g = ((sigmoid(gap) - 1.0) / b)[:, None].astype(np.float32)  # d loss / d gap, per pair
    grad_readout = (g * (pw - pl) * u).sum(axis=0)
    grad_u = g * readout[None, :] * (pw - pl)
    grad_proj = x.T @ grad_u
    wu = readout[None, :] * u  # d delta / d p_hat
    grad_vectors = np.zeros_like(vectors)
    eye = np.eye(len(vectors), dtype=vectors.dtype)
    for rows, sign, ph in ((win, 1.0, pw), (lose, -1.0, pl)):
        tangent = wu - (wu * ph).sum(axis=1, keepdims=True) * ph  # (I - p p^T) wu
        grad_vectors += eye[rows].T @ (sign * g * tangent / norms[rows])  # scatter-add by model
    return [grad_proj.astype(np.float32), grad_vectors.astype(np.float32), grad_readout.astype(np.float32)]
