"""GraphRouter: message passing on the bipartite query-model graph whose edges carry performance.

GraphRouter (Feng et al., ICLR 2025) puts training queries and LLMs in one graph,
every query-LLM edge labelled with the LLM's performance on that query, and trains
a GNN to predict masked edges. A new query joins the graph with no edges, so at
inference the LLM node states are fixed and the score is bilinear between the
query's initial features and each LLM's state. This numpy version keeps that shape:

* query node features ``q0 = x Wq + bq`` (GraphRouter's FeatureAlign of the embedding);
* one layer of mean aggregation into each model node, with edge-conditioned
  messages (the neighbour's features split by the edge's performance ``p`` into
  ``p * q0`` and ``(1 - p) * q0``): ``h_m = ReLU(m0 Ws + [mean p q0, mean (1-p) q0] Wn + b)``;
* edge score ``sigmoid(q0 . h_m / hidden + b_m)`` (GraphRouter's ``mean(x_ini[q] * x_gnn[m])``
  plus a per-model bias), trained with BCE on edges hidden from the messages (30% per step).

Differences from the original, on purpose: one message-passing layer instead of two
``GeneralConv`` + BatchNorm (a second layer would only feed query states that a new
query never gets); messages conditioned on performance multiplicatively instead of
adding an edge-feature vector; learned model node vectors instead of fixed random
features plus an alignment layer (equivalent when there are fewer models than
hidden units); neighbour sampling (a random batch of queries per step) instead of
full-graph epochs; targets are the performance itself (BCE with soft labels, so the
output is a quality estimate) unless ``target="best"`` (every tied-best model is 1;
rows where all models score 0 are all 0), never the first maximum.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field
from typing_extensions import TypeVar

from routeiq_core import (
    BaseStrategy,
    Candidate,
    Query,
    RoutingDataset,
    StrategyTags,
)
from routeiq_core.errors import DatasetError

from ._base import best_mask
from ._nn import Adam, sigmoid, small_matrix_threads
from ._per_model import PerModelParams, PerModelStrategy, query_matrix

__all__ = ["GraphParams", "GraphRouterStrategy", "graph_loss", "init_graph_params", "model_states"]


def init_graph_params(dim: int, n_models: int, hidden: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Initial weights of the query-model graph network."""
    return {
        "wq": rng.normal(0.0, 1.0 / np.sqrt(dim), size=(dim, hidden)),
        "bq": np.zeros(hidden),
        "m0": rng.normal(0.0, 1.0, size=(n_models, hidden)),
        "ws": rng.normal(0.0, 1.0 / np.sqrt(hidden), size=(hidden, hidden)),
        "wn": rng.normal(0.0, 1.0 / np.sqrt(2 * hidden), size=(2 * hidden, hidden)),
        "bh": np.zeros(hidden),
        "bm": np.zeros(n_models),
    }


def _aggregate(q0: np.ndarray, perf: np.ndarray, visible: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean performance-conditioned messages into each model node: (m, 2h), plus the edge weights."""
    p = np.where(visible, np.nan_to_num(perf), 0.0)
    n = np.where(visible, 1.0 - np.nan_to_num(perf), 0.0)
    deg = np.maximum(visible.sum(axis=0), 1.0)[:, None]
    return np.concatenate([p.T @ q0, n.T @ q0], axis=1) / deg, p, n


def model_states(params: dict[str, np.ndarray], x: np.ndarray, perf: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """(m, hidden) model node states after one round of messages from the visible edges."""
    q0 = x @ params["wq"] + params["bq"]
    agg, _, _ = _aggregate(q0, perf, visible)
    return np.maximum(params["m0"] @ params["ws"] + agg @ params["wn"] + params["bh"], 0.0)


@dataclass
class GraphForward:
    """What :func:`graph_loss` computed, for models that add terms on top (GMT)."""

    q0: np.ndarray
    states: np.ndarray
    grad_query: np.ndarray  # dL / d(query representation used in the score)
    grad_states_extra: np.ndarray  # filled by callers that use states elsewhere


def graph_loss(
    params: dict[str, np.ndarray],
    x: np.ndarray,
    perf: np.ndarray,
    visible: np.ndarray,
    target: np.ndarray,
    supervise: np.ndarray,
    query_offset: np.ndarray | None = None,
) -> tuple[float, dict[str, np.ndarray], GraphForward]:
    """BCE on the supervised (hidden) edges and gradients for every parameter.

    ``query_offset`` (B, hidden) is added to the query representation in the score
    only (not to the messages); GMT uses it for user and history terms.
    """
    hidden = params["wq"].shape[1]
    q0 = x @ params["wq"] + params["bq"]
    agg, pw, nw = _aggregate(q0, perf, visible)
    pre = params["m0"] @ params["ws"] + agg @ params["wn"] + params["bh"]
    states = np.maximum(pre, 0.0)
    rep = q0 if query_offset is None else q0 + query_offset
    logits = rep @ states.T / hidden + params["bm"]
    prob = sigmoid(logits)
    count = max(int(supervise.sum()), 1)
    y = np.nan_to_num(target)
    with np.errstate(divide="ignore"):
        bce = -(y * np.log(np.maximum(prob, 1e-12)) + (1 - y) * np.log(np.maximum(1 - prob, 1e-12)))
    loss = float(bce[supervise].sum() / count)
    g_logits = np.where(supervise, prob - y, 0.0) / count
    g_rep = g_logits @ states / hidden
    g_states = g_logits.T @ rep / hidden
    g_pre = g_states * (pre > 0)
    deg = np.maximum(visible.sum(axis=0), 1.0)[:, None]
    g_agg = g_pre @ params["wn"].T / deg
    g_q0 = g_rep + pw @ g_agg[:, :hidden] + nw @ g_agg[:, hidden:]
    grads = {
        "wq": x.T @ g_q0,
        "bq": g_q0.sum(axis=0),
        "m0": g_pre @ params["ws"].T,
        "ws": params["m0"].T @ g_pre,
        "wn": agg.T @ g_pre,
        "bh": g_pre.sum(axis=0),
        "bm": g_logits.sum(axis=0),
    }
    return loss, grads, GraphForward(q0, states, g_rep, np.zeros_like(states))


class GraphParams(PerModelParams):
    """Hyper-parameters of the query-model graph network."""

    hidden_dim: int = Field(64, ge=2, description="Node state size (GraphRouter aligns features to 64).")
    edge_mask_ratio: float = Field(0.3, gt=0, lt=1, description="Share of edges hidden from the messages and predicted.")
    target: Literal["score", "best"] = "score"
    steps: int = Field(600, ge=1)
    batch_size: int = Field(512, ge=2, description="Queries sampled into the training subgraph per step.")
    learning_rate: float = Field(5e-3, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    seed: int = 0


GP = TypeVar("GP", bound=GraphParams, default=GraphParams)


class GraphRouterStrategy(PerModelStrategy[GP]):
    """GraphRouter on numpy: a query-model graph whose edges carry performance.

    Attributes set by fit:
        query_weight_, query_bias_: (dim, hidden), (hidden,) query feature map.
        model_vectors_: (m, hidden) model node states after message passing over all training edges.
        model_bias_: (m,) per-model score bias.
        models_, model_mean_, embedding_dim_: see :class:`~._per_model.PerModelStrategy`.
    """

    name: ClassVar[str] = "graph"
    partial_feedback: ClassVar[bool | None] = True
    tags: ClassVar[StrategyTags] = StrategyTags(requires_fit=True, deterministic=True, needs_embedding=True)

    def min_training_prompts(self) -> int:
        return 4

    @classmethod
    def conformance_instances(cls) -> Sequence[BaseStrategy[Any]]:
        """Short training runs for the conformance kit (its toy data has 48 prompts)."""
        return [cls(steps=150)]

    # ------------------------------------------------------------------ training
    def _targets(self, scores: np.ndarray) -> np.ndarray:
        if self.params.target == "score":
            return scores
        best = best_mask(scores).astype(np.float64)
        top = np.nanmax(np.where(np.isnan(scores), -np.inf, scores), axis=1)
        best[top <= 0] = 0.0
        return np.where(np.isnan(scores), np.nan, best)

    def _check_data(self, dataset: RoutingDataset) -> tuple[np.ndarray, np.ndarray]:
        x = dataset.require_embeddings().astype(np.float64)
        known = ~np.isnan(dataset.scores)
        if known.sum() < 4:
            raise DatasetError(f"{self.name}: needs at least 4 known prompt-model scores (edges), got {int(known.sum())}")
        return x, known

    def _train(self, dataset: RoutingDataset, extra: _ExtraTerm | None = None) -> dict[str, np.ndarray]:
        """Train the graph network (and an optional extra query term); returns the parameters."""
        p = self.params
        x, known = self._check_data(dataset)
        scores = dataset.scores
        target = self._targets(scores)
        rng = np.random.default_rng(p.seed)
        n, dim = x.shape
        params = init_graph_params(dim, scores.shape[1], p.hidden_dim, rng)
        if extra is not None:
            params.update(extra.init(p.hidden_dim, rng))
        opt = Adam(params, lr=p.learning_rate, weight_decay=p.weight_decay)
        batch = min(p.batch_size, n)
        with small_matrix_threads():
            for _ in range(p.steps):
                idx = rng.choice(n, size=batch, replace=False) if batch < n else np.arange(n)
                hide = rng.random((batch, scores.shape[1])) < p.edge_mask_ratio
                visible = known[idx] & ~hide
                supervise = known[idx] & hide
                offset = None if extra is None else extra.forward(params, idx, rng)
                _, grads, fwd = graph_loss(params, x[idx], scores[idx], visible, target[idx], supervise, offset)
                if extra is not None:
                    grads.update(extra.backward(params, fwd, grads))
                opt.step(grads)
        return params

    def _store(self, params: dict[str, np.ndarray], dataset: RoutingDataset) -> None:
        x, known = self._check_data(dataset)
        self.query_weight_ = params["wq"].astype(np.float32)
        self.query_bias_ = params["bq"].astype(np.float32)
        self.model_vectors_ = model_states(params, x, dataset.scores, known).astype(np.float32)
        self.model_bias_ = params["bm"].astype(np.float64)
        self._fit_common(dataset)

    def _fit(self, dataset: RoutingDataset) -> None:
        with small_matrix_threads():
            self._store(self._train(dataset), dataset)

    # ------------------------------------------------------------------ predicting
    def _query_features(self, embeddings: np.ndarray) -> np.ndarray:
        return np.asarray(embeddings, dtype=np.float64) @ self.query_weight_.astype(np.float64) + self.query_bias_

    def _quality(self, rep: np.ndarray) -> np.ndarray:
        hidden = self.model_vectors_.shape[1]
        return sigmoid(rep @ self.model_vectors_.T.astype(np.float64) / hidden + self.model_bias_)

    def model_quality(self, embeddings: np.ndarray) -> np.ndarray:
        """(n, m) predicted quality of every trained model for (n, dim) embeddings."""
        self.check_fitted()
        return self._quality(self._query_features(np.atleast_2d(embeddings)))

    def _quality_matrix(
        self, queries: Sequence[Query], candidates: Sequence[Candidate]
    ) -> tuple[np.ndarray, list[dict[str, Any]] | None]:
        return self.model_quality(query_matrix(queries)), None

class _ExtraTerm:
    """A term added to the query representation in the score (see GMT)."""

    def init(self, hidden: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def forward(self, params: dict[str, np.ndarray], idx: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def backward(self, params: dict[str, np.ndarray], fwd: GraphForward,
                 grads: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        raise NotImplementedError
