"""RouterDC on a frozen encoder: dual contrastive learning of a query map and model embeddings.

RouterDC (Chen et al., NeurIPS 2024) fine-tunes an mDeBERTa encoder together with
one learnable embedding per LLM, scoring ``cos(encoder(q), E_k) / t``. Here the
encoder is RouteIQ's frozen MiniLM embedding followed by a learned linear map
``A``, so training is a few seconds of numpy. The two losses are RouterDC's:

* **sample-LLM contrastive**: each of the top-k models of a prompt is pulled
  towards the prompt and contrasted against its last-k models; a "positive" that
  scored 0 is skipped and a "negative" that scored above 0.5 is masked out.
  Ties are handled as sets: all models tied at the k-th best score are positives
  (sharing the weight of k) and all tied at the k-th worst are negatives.
* **sample-sample cluster contrastive**: prompts are clustered by k-means over
  their score vectors; in a batch, each prompt is pulled towards one prompt of
  its cluster and pushed from ``n_negatives`` prompts of other clusters.

Cosine scores are turned into qualities by one shared logistic calibration fitted
on the training scores (monotone, so RouterDC's ranking is unchanged).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from routeiq_core import BaseStrategy, Candidate, Query, RoutingDataset, StrategyTags
from routeiq_core.errors import DatasetError

from ._base import fill_unknown
from ._nn import (
    Adam,
    fit_logistic_calibration,
    kmeans,
    masked_softmax,
    normalize_rows,
    normalize_rows_backward,
    sigmoid,
    small_matrix_threads,
)
from ._per_model import PerModelParams, PerModelStrategy, query_matrix

__all__ = ["RouterDCStrategy", "contrastive_sets", "dual_contrastive_loss"]


def contrastive_sets(scores: np.ndarray, top_k: int, last_k: int,
                     neg_mask_above: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """(n, m) positive and negative masks of the sample-LLM loss (tie-aware, NaN excluded).

    Positives: models scoring at least the ``top_k``-th best known score, and > 0.
    Negatives: models scoring at most the ``last_k``-th worst known score, at most
    ``neg_mask_above``, and not positive.
    """
    s = np.asarray(scores, dtype=np.float64)
    known = ~np.isnan(s)
    n_known = known.sum(axis=1)
    desc = np.sort(np.where(known, s, -np.inf), axis=1)[:, ::-1]
    asc = np.sort(np.where(known, s, np.inf), axis=1)
    kth_best = desc[np.arange(len(s)), np.clip(np.minimum(top_k, n_known) - 1, 0, None)]
    kth_worst = asc[np.arange(len(s)), np.clip(np.minimum(last_k, n_known) - 1, 0, None)]
    filled = np.where(known, s, np.nan)
    with np.errstate(invalid="ignore"):
        pos = known & (filled >= kth_best[:, None] - 1e-12) & (filled > 0)
        neg = known & (filled <= kth_worst[:, None] + 1e-12) & (filled <= neg_mask_above) & ~pos
    return pos, neg


def dual_contrastive_loss(
    a: np.ndarray,
    e: np.ndarray,
    h: np.ndarray,
    pos: np.ndarray,
    neg: np.ndarray,
    top_k: int,
    temperature: float,
    cluster_index: np.ndarray | None,
    cluster_weight: float,
) -> tuple[float, dict[str, np.ndarray]]:
    """RouterDC's loss on one batch and its gradients w.r.t. the map ``a`` and model embeddings ``e``.

    Args:
        a: (p, d) query map; e: (m, p) model embeddings; h: (B, d) frozen embeddings.
        pos, neg: (B, m) masks from :func:`contrastive_sets`.
        cluster_index: (B, 1 + H) batch indices [same-cluster positive, H negatives]
            per row, -1 for rows without a valid triple; None skips the cluster loss.
    """
    batch = h.shape[0]
    z = h @ a.T
    u, zn = normalize_rows(z)
    en, enorm = normalize_rows(e)
    logits = u @ en.T / temperature
    # Sample-LLM loss: every positive against the row's negatives.
    n_pos = pos.sum(axis=1)
    weight = np.divide(np.minimum(n_pos, top_k), n_pos, out=np.zeros(batch), where=n_pos > 0)
    g_logits = np.zeros_like(logits)
    loss = 0.0
    for k in range(pos.shape[1]):
        rows = pos[:, k]
        if not rows.any():
            continue
        mask = neg[rows].copy()
        mask[:, k] = True
        probs = masked_softmax(logits[rows], mask)
        loss -= float((weight[rows] * np.log(np.maximum(probs[:, k], 1e-300))).sum())
        grad = probs
        grad[:, k] -= 1.0
        g_logits[rows] += weight[rows, None] * grad
    loss /= batch
    g_logits /= batch
    g_u = g_logits @ en / temperature
    g_en = g_logits.T @ u / temperature
    # Sample-sample cluster loss on the mapped representation (cosine, no temperature, as in RouterDC).
    if cluster_index is not None and cluster_weight > 0:
        valid = cluster_index[:, 0] >= 0
        if valid.any():
            idx = cluster_index[valid]
            rows = np.flatnonzero(valid)
            sims = np.einsum("bd,bhd->bh", u[rows], u[idx])
            probs = masked_softmax(sims, np.ones_like(sims, dtype=bool))
            loss += cluster_weight * float(-np.log(np.maximum(probs[:, 0], 1e-300)).mean())
            g_s = probs
            g_s[:, 0] -= 1.0
            g_s *= cluster_weight / len(rows)
            pair = np.bincount((rows[:, None] * batch + idx).ravel(), weights=g_s.ravel(),
                               minlength=batch * batch).reshape(batch, batch)
            g_u += pair @ u + pair.T @ u
    g_z = normalize_rows_backward(g_u, u, zn)
    return loss, {"a": g_z.T @ h, "e": normalize_rows_backward(g_en, en, enorm)}


class RouterDCParams(PerModelParams):
    latent_dim: int = Field(128, ge=2, description="Dimension of the mapped query / model space.")
    top_k: int = Field(3, ge=1, description="Positives per prompt (RouterDC top_k).")
    last_k: int = Field(3, ge=1, description="Negatives per prompt (RouterDC last_k).")
    temperature: float = Field(0.2, gt=0, description="Divides the cosine (RouterDC default 1 with a trained encoder).")
    n_clusters: int = Field(3, ge=1, description="k-means clusters over score vectors for the cluster loss.")
    cluster_weight: float = Field(1.0, ge=0, description="Weight of the sample-sample cluster loss.")
    n_negatives: int = Field(3, ge=1, description="Negatives per prompt in the cluster loss (RouterDC H).")
    steps: int = Field(1500, ge=1)
    batch_size: int = Field(64, ge=2)
    learning_rate: float = Field(2e-3, gt=0)
    seed: int = 0


class RouterDCStrategy(PerModelStrategy[RouterDCParams]):
    """RouterDC with a frozen MiniLM encoder, a learned linear map and learned model embeddings.

    Attributes set by fit:
        map_: (latent_dim, dim) query map ``A``.
        model_embeddings_: (m, latent_dim) unit-norm model embeddings ``E``.
        calibration_: [a, b] of ``quality = sigmoid(a * cos + b)``.
        models_, model_mean_, embedding_dim_: see :class:`~._per_model.PerModelStrategy`.
        train_loss_: loss of the last training epoch (diagnostic).
    """

    name: ClassVar[str] = "routerdc"
    partial_feedback: ClassVar[bool | None] = False
    tags: ClassVar[StrategyTags] = StrategyTags(requires_fit=True, deterministic=True, needs_embedding=True)

    def min_training_prompts(self) -> int:
        return max(4, self.params.top_k + 1)

    @classmethod
    def conformance_instances(cls) -> Sequence[BaseStrategy[Any]]:
        """Short training runs for the conformance kit (its toy data has 48 prompts)."""
        return [cls(steps=150)]

    def _fit(self, dataset: RoutingDataset) -> None:
        p = self.params
        x = dataset.require_embeddings().astype(np.float64)
        scores = dataset.scores
        pos, neg = contrastive_sets(scores, p.top_k, p.last_k)
        if not pos.any():
            raise DatasetError(
                f"{self.name}: no prompt has a model with a score above 0, so there is nothing to contrast; "
                "check that the scores are qualities in [0, 1] with 1 = good"
            )
        clusters, _ = kmeans(fill_unknown(scores), p.n_clusters, seed=p.seed)
        rng = np.random.default_rng(p.seed)
        n, dim = x.shape
        m = scores.shape[1]
        params = {
            "a": rng.normal(0.0, 1.0 / np.sqrt(dim), size=(p.latent_dim, dim)),
            "e": rng.normal(0.0, 0.78, size=(m, p.latent_dim)),
        }
        opt = Adam(params, lr=p.learning_rate)
        batch = min(p.batch_size, n)
        order = rng.permutation(n)
        cursor = 0
        losses: list[float] = []
        with small_matrix_threads():
            for _ in range(p.steps):
                if cursor + batch > n:
                    order, cursor = rng.permutation(n), 0
                idx = order[cursor:cursor + batch]
                cursor += batch
                cl_index = _cluster_triples(clusters[idx], p.n_negatives, rng) if p.cluster_weight > 0 else None
                loss, grads = dual_contrastive_loss(params["a"], params["e"], x[idx], pos[idx], neg[idx], p.top_k,
                                                    p.temperature, cl_index, p.cluster_weight)
                opt.step(grads)
                losses.append(loss)
            e_unit, _ = normalize_rows(params["e"])
            cos = self._cosine(x, params["a"], e_unit)
        a_cal, b_cal = fit_logistic_calibration(cos, scores)
        self.map_ = params["a"].astype(np.float32)
        self.model_embeddings_ = e_unit.astype(np.float32)
        self.calibration_ = np.array([a_cal, b_cal])
        self._fit_common(dataset)
        self.train_loss_ = float(np.mean(losses[-max(1, n // batch):]))

    @staticmethod
    def _cosine(x: np.ndarray, a: np.ndarray, e_unit: np.ndarray) -> np.ndarray:
        u, _ = normalize_rows(np.atleast_2d(x) @ np.asarray(a, dtype=np.float64).T)
        return u @ np.asarray(e_unit, dtype=np.float64).T

    def model_quality(self, embeddings: np.ndarray) -> np.ndarray:
        """(n, m) calibrated quality of every trained model for (n, dim) embeddings."""
        self.check_fitted()
        cos = self._cosine(embeddings, self.map_, self.model_embeddings_)
        return sigmoid(self.calibration_[0] * cos + self.calibration_[1])

    def _quality_matrix(
        self, queries: Sequence[Query], candidates: Sequence[Candidate]
    ) -> tuple[np.ndarray, list[dict[str, Any]] | None]:
        return self.model_quality(query_matrix(queries)), None

def _cluster_triples(clusters: np.ndarray, n_negatives: int, rng: np.random.Generator) -> np.ndarray:
    """Per batch row: [one other same-cluster row, ``n_negatives`` other-cluster rows], or -1s."""
    batch = len(clusters)
    same = (clusters[:, None] == clusters[None, :]) & ~np.eye(batch, dtype=bool)
    other = clusters[:, None] != clusters[None, :]
    keys = rng.random((batch, batch))
    out = np.full((batch, 1 + n_negatives), -1, dtype=np.int64)
    out[:, 0] = np.where(same, keys, -1.0).argmax(axis=1)
    out[:, 1:] = np.argsort(np.where(other, -keys, 1.0), axis=1)[:, :n_negatives]
    valid = same.any(axis=1) & (other.sum(axis=1) >= n_negatives)
    out[~valid] = -1
    return out
