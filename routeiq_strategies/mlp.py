"""A small multi-layer perceptron from prompt embeddings to per-model quality.

The network (default hidden layers [128, 64], ReLU) has one sigmoid output per
model, trained with Adam on a masked binary cross-entropy: unknown (NaN) scores
contribute nothing. ``target="score"`` regresses each model's score directly (the
outputs are predicted quality); ``target="best"`` learns the tie-aware multi-label
"this model is tied for the best score" (all-zero prompts dropped) and maps the
outputs to quality with a per-model Platt calibration on the training scores.
Training is seeded and deterministic; a held-out slice stops it early.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, field_validator

from routeiq_core import BaseStrategy, Candidate, DatasetError, Query, RoutingDataset, StrategyTags

from ._base import best_mask
from ._nn import Adam, sigmoid
from ._numeric import informative_rows, platt_apply, platt_fit, unit_rows
from ._per_model import PerModelParams, PerModelStrategy, query_matrix

__all__ = ["MLPStrategy"]


class MLPParams(PerModelParams):
    hidden: tuple[int, ...] = Field((128, 64), description="Hidden layer widths.")
    target: Literal["score", "best"] = Field(
        "score", description="Regress scores, or learn tie-aware 'among the best' labels."
    )
    epochs: int = Field(60, ge=1, description="Maximum training epochs.")
    batch_size: int = Field(64, ge=1)
    learning_rate: float = Field(1e-3, gt=0.0)
    weight_decay: float = Field(1e-4, ge=0.0, description="Decoupled weight decay (AdamW).")
    validation_fraction: float = Field(
        0.1, ge=0.0, lt=1.0, description="Share of prompts held out for early stopping (0 = none)."
    )
    patience: int = Field(5, ge=1, description="Epochs without validation improvement before stopping.")
    seed: int = 0

    @field_validator("hidden")
    @classmethod
    def _positive_widths(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(width < 1 for width in value):
            raise ValueError(f"hidden layer widths must be >= 1, got {value}")
        return value


class MLPStrategy(PerModelStrategy[MLPParams]):
    """Numpy MLP with one sigmoid output per model.

    Attributes set by fit:
        weights_0_, bias_0_, weights_1_, bias_1_, ...: layer parameters (float32),
            the last pair maps to the (n_models,) output logits.
        n_layers_: number of weight layers.
        calib_a_, calib_b_: (n_models,) Platt calibration (``target="best"`` only).
        epochs_trained_: epochs run before early stopping.
        models_, model_mean_, embedding_dim_: see :class:`PerModelStrategy`.
    """

    name = "mlp"
    partial_feedback: ClassVar[bool | None] = True
    tags = StrategyTags(requires_fit=True, deterministic=True, needs_embedding=True)

    @classmethod
    def conformance_instances(cls) -> Sequence[BaseStrategy[Any]]:
        """Score regression, and tie-aware labels with calibration (for routeiq_core.testing)."""
        return [cls(), cls(target="best", hidden=(16,))]

    def min_training_prompts(self) -> int:
        return 4

    def _fit(self, dataset: RoutingDataset) -> None:
        self._fit_common(dataset)
        x = unit_rows(dataset.require_embeddings())
        if self.params.target == "score":
            y = dataset.scores.astype(np.float32)
        else:
            keep = informative_rows(dataset.scores)
            if keep.sum() < 2:
                raise DatasetError(
                    f"mlp: target='best' needs at least 2 prompts where some model scored above 0, "
                    f"got {int(keep.sum())}; add such prompts or use target='score'"
                )
            x_all, x = x, x[keep]
            y = np.where(best_mask(dataset.scores[keep]), 1.0, 0.0).astype(np.float32)
            y[np.isnan(dataset.scores[keep])] = np.nan
        layers = self._train(x, y)
        for i, (w, b) in enumerate(layers):
            setattr(self, f"weights_{i}_", w)
            setattr(self, f"bias_{i}_", b)
        self.n_layers_ = len(layers)
        if self.params.target == "best":
            self.calib_a_, self.calib_b_ = platt_fit(self._logits(x_all), dataset.scores)

    def _train(self, x: np.ndarray, y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        p = self.params
        rng = np.random.default_rng(p.seed)
        n = x.shape[0]
        order = rng.permutation(n)
        n_val = int(round(p.validation_fraction * n)) if n >= 10 else 0
        val, train = order[:n_val], order[n_val:]
        sizes = [x.shape[1], *p.hidden, y.shape[1]]
        layers: list[tuple[np.ndarray, np.ndarray]] = []
        for fan_in, fan_out in itertools.pairwise(sizes):
            bound = np.sqrt(6.0 / fan_in)  # He-uniform for ReLU
            layers.append((rng.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32),
                           np.zeros(fan_out, dtype=np.float32)))
        params = [a for pair in layers for a in pair]
        keys = [str(i) for i in range(len(params))]
        opt = Adam(dict(zip(keys, params)), lr=p.learning_rate, weight_decay=p.weight_decay)
        mask = ~np.isnan(y)
        target = np.where(mask, y, 0.0).astype(np.float32)
        best_loss, best_params, stale = np.inf, [a.copy() for a in params], 0
        epochs = 0
        for _ in range(p.epochs):
            epochs += 1
            rng.shuffle(train)
            for start in range(0, len(train), p.batch_size):
                rows = train[start : start + p.batch_size]
                opt.step(dict(zip(keys, self._gradients(layers, x[rows], target[rows], mask[rows]))))
            if n_val == 0:
                continue
            loss = _masked_bce(_forward(layers, x[val])[-1], target[val], mask[val])
            if loss < best_loss - 1e-6:
                best_loss, best_params, stale = loss, [a.copy() for a in params], 0
            else:
                stale += 1
                if stale >= p.patience:
                    break
        if n_val:
            for a, best in zip(params, best_params):
                a[...] = best
        self.epochs_trained_ = epochs
        return layers

    @staticmethod
    def _gradients(
        layers: list[tuple[np.ndarray, np.ndarray]], x: np.ndarray, y: np.ndarray, mask: np.ndarray
    ) -> list[np.ndarray]:
        acts = _forward(layers, x)
        count = max(float(mask.sum()), 1.0)
        delta = (sigmoid(acts[-1]) - y) * mask / count  # d(mean masked BCE)/d(logits)
        grads: list[np.ndarray] = []
        for i in range(len(layers) - 1, -1, -1):
            w, _ = layers[i]
            grads.append(delta.sum(axis=0))
            grads.append(acts[i].T @ delta)
            if i:
                delta = (delta @ w.T) * (acts[i] > 0)
        grads.reverse()  # now [w0, b0, w1, b1, ...]
        return [g.astype(np.float32) for g in grads]

    def _layers(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(getattr(self, f"weights_{i}_"), getattr(self, f"bias_{i}_")) for i in range(int(self.n_layers_))]

    def _logits(self, x: np.ndarray) -> np.ndarray:
        # float64 at prediction: a batch then equals a loop of single predictions to the last bits.
        layers = [(w.astype(np.float64), b.astype(np.float64)) for w, b in self._layers()]
        return _forward(layers, np.asarray(x, dtype=np.float64))[-1]

    def _quality_matrix(
        self, queries: Sequence[Query], candidates: Sequence[Candidate]
    ) -> tuple[np.ndarray, list[dict[str, Any]] | None]:
        logits = self._logits(query_matrix(queries))
        if self.params.target == "best":
            return platt_apply(logits, self.calib_a_, self.calib_b_), None
        return sigmoid(logits), None


def _forward(layers: list[tuple[np.ndarray, np.ndarray]], x: np.ndarray) -> list[np.ndarray]:
    """Inputs of every layer plus the output logits: [x, h1, ..., logits]."""
    acts = [x]
    for i, (w, b) in enumerate(layers):
        z = acts[-1] @ w + b
        acts.append(z if i == len(layers) - 1 else np.maximum(z, 0.0))
    return acts


def _masked_bce(logits: np.ndarray, y: np.ndarray, mask: np.ndarray) -> float:
    loss = np.logaddexp(0.0, logits) - y * logits
    return float((loss * mask).sum() / max(float(mask.sum()), 1.0))
