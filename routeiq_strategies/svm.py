"""One-vs-rest support vector machines: "is this model among the best for this prompt?".

One binary SVM per model learns, from prompt embeddings, whether the model is tied
for the best score of a prompt (all tied models are positives; prompts where every
model scored zero are dropped, since they say nothing about which model is best).
Each SVM's decision value is then mapped to a predicted quality by a per-model
sigmoid fitted to the model's actual training scores (Platt calibration).

The default backend is numpy: a linear SVM with the squared hinge loss, trained by
accelerated gradient descent. ``backend="sklearn"`` trains scikit-learn's ``SVC``
(e.g. the RBF kernel of LLMRouter's svmrouter) and needs ``pip install 'routeiq[sklearn]'``
for training only: the fitted support vectors are stored as arrays and prediction is numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from routeiq_core import (
    BaseStrategy,
    Candidate,
    DatasetError,
    MissingDependencyError,
    Query,
    RoutingDataset,
    StrategyTags,
)

from ._base import best_mask
from ._numeric import informative_rows, platt_apply, platt_fit, unit_rows
from ._per_model import PerModelParams, PerModelStrategy, query_matrix

__all__ = ["SVMStrategy"]


class SVMParams(PerModelParams):
    backend: Literal["numpy", "sklearn"] = Field(
        "numpy", description="numpy (linear, no extra) or sklearn (SVC; needs routeiq[sklearn] to train)."
    )
    kernel: Literal["linear", "rbf"] = Field("linear", description="rbf needs backend='sklearn'.")
    c: float = Field(1.0, gt=0.0, description="Inverse regularisation strength (as in sklearn's C).")
    class_weight: Literal["balanced"] | None = Field(
        "balanced", description="'balanced' weighs positives and negatives of each model equally."
    )
    max_iter: int = Field(300, ge=1, description="Gradient steps of the numpy backend.")

    @model_validator(mode="after")
    def _kernel_needs_backend(self) -> SVMParams:
        if self.kernel == "rbf" and self.backend != "sklearn":
            raise ValueError("kernel='rbf' needs backend='sklearn' (the numpy backend is linear)")
        return self


class SVMStrategy(PerModelStrategy[SVMParams]):
    """Per-model SVMs on tie-aware "among the best" labels, calibrated to scores.

    Attributes set by fit:
        kernel_: "linear" or "rbf".
        coef_: (dim, n_models) weights (linear kernel).
        support_: (n_support, dim) float32 support vectors (rbf kernel).
        dual_: (n_support, n_models) dual coefficients (rbf kernel; 0 where unused).
        gamma_: RBF width (rbf kernel).
        intercept_: (n_models,) decision offsets.
        calib_a_, calib_b_: (n_models,) Platt slope and offset: quality = sigmoid(a f + b).
        models_, model_mean_, embedding_dim_: see :class:`PerModelStrategy`.
    """

    name = "svm"
    partial_feedback: ClassVar[bool | None] = True
    tags = StrategyTags(requires_fit=True, deterministic=True, needs_embedding=True)

    @classmethod
    def conformance_instances(cls) -> Sequence[BaseStrategy[Any]]:
        """The numpy backend, plus sklearn's RBF SVC when scikit-learn is installed."""
        from importlib.util import find_spec

        return [cls(), cls(backend="sklearn", kernel="rbf")] if find_spec("sklearn") else [cls()]

    def min_training_prompts(self) -> int:
        return 4

    def _fit(self, dataset: RoutingDataset) -> None:
        self._fit_common(dataset)
        x_all = unit_rows(dataset.require_embeddings()).astype(np.float64)
        keep = informative_rows(dataset.scores)
        if keep.sum() < 2:
            raise DatasetError(
                f"svm: needs at least 2 prompts where some model scored above 0, got {int(keep.sum())}; "
                "add training prompts that some model answered well"
            )
        x = x_all[keep]
        scores = dataset.scores[keep]
        labels = np.where(best_mask(scores), 1.0, -1.0)
        labels[np.isnan(scores)] = np.nan
        self.kernel_ = self.params.kernel
        if self.params.backend == "numpy":
            self._fit_linear(x, labels)
        else:
            self._fit_sklearn(x, labels)
        decision = self._decision(x_all)
        self.calib_a_, self.calib_b_ = platt_fit(decision, dataset.scores)

    # -------------------------------------------------------------- numpy backend
    def _fit_linear(self, x: np.ndarray, y: np.ndarray) -> None:
        """Minimise, per model, 1/(2C n) |w|^2 + mean_i c_i max(0, 1 - y_i (w.x_i + b))^2.

        Nesterov-accelerated gradient descent with step 1/L (L = Lipschitz constant
        of the gradient), all models at once.
        """
        n, d = x.shape
        known = ~np.isnan(y)
        yk = np.where(known, y, 0.0)
        weights = self._sample_weights(yk, known)  # (n, m), mean 1 over known rows
        xb = np.hstack([x, np.ones((n, 1))])
        alpha = 1.0 / (self.params.c * n)
        lips = alpha + 2.0 * float(weights.max()) * float(np.linalg.eigvalsh(xb.T @ xb / n)[-1])
        step = 1.0 / lips
        m = y.shape[1]
        w = np.zeros((d + 1, m))
        look = w.copy()
        t = 1.0
        penal = np.ones((d + 1, 1))
        penal[-1] = 0.0  # the intercept is not penalised
        for _ in range(self.params.max_iter):
            margin = np.maximum(0.0, 1.0 - yk * (xb @ look))
            grad = -2.0 * xb.T @ (weights * yk * margin) / n + alpha * penal * look
            w_next = look - step * grad
            t_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
            look = w_next + ((t - 1.0) / t_next) * (w_next - w)
            w, t = w_next, t_next
        self.coef_ = w[:-1]
        self.intercept_ = w[-1].copy()

    def _sample_weights(self, y: np.ndarray, known: np.ndarray) -> np.ndarray:
        if self.params.class_weight is None:
            return known.astype(np.float64)
        pos = ((y > 0) & known).sum(axis=0)
        neg = ((y < 0) & known).sum(axis=0)
        total = known.sum(axis=0)
        w_pos = np.where(pos > 0, total / (2.0 * np.maximum(pos, 1)), 0.0)
        w_neg = np.where(neg > 0, total / (2.0 * np.maximum(neg, 1)), 0.0)
        return np.where(known, np.where(y > 0, w_pos, w_neg), 0.0)

    # -------------------------------------------------------------- sklearn backend
    def _fit_sklearn(self, x: np.ndarray, y: np.ndarray) -> None:
        try:
            from sklearn.svm import SVC
        except ImportError:
            raise MissingDependencyError(
                "svm: backend='sklearn' needs scikit-learn: pip install 'routeiq[sklearn]' "
                "(or use backend='numpy')"
            ) from None
        d, m = x.shape[1], y.shape[1]
        gamma = 1.0 / (d * float(x.var())) if x.var() > 0 else 1.0
        coef = np.zeros((d, m))
        intercept = np.zeros(m)
        support_rows: dict[int, int] = {}
        dual_parts: list[tuple[int, np.ndarray, np.ndarray]] = []
        rows_all = np.flatnonzero(np.ones(len(x), dtype=bool))
        for j in range(m):
            known = ~np.isnan(y[:, j])
            labels = y[known, j]
            rows = rows_all[known]
            if len(np.unique(labels)) < 2:  # one class only: a constant decision
                intercept[j] = float(labels[0]) if len(labels) else -1.0
                continue
            svc = SVC(kernel=self.params.kernel, C=self.params.c, gamma=gamma,
                      class_weight=self.params.class_weight)
            svc.fit(x[rows], labels)
            # sklearn orders classes [-1, +1]; its decision_function is positive for +1.
            intercept[j] = float(svc.intercept_[0])
            if self.params.kernel == "linear":
                coef[:, j] = svc.coef_[0]
            else:
                sv_rows = rows[svc.support_]
                for r in sv_rows:
                    support_rows.setdefault(int(r), len(support_rows))
                dual_parts.append((j, sv_rows, svc.dual_coef_[0]))
        self.intercept_ = intercept
        if self.params.kernel == "linear":
            self.coef_ = coef
            return
        order = np.array(sorted(support_rows, key=support_rows.__getitem__), dtype=np.int64)
        self.support_ = x[order].astype(np.float32) if len(order) else np.zeros((0, d), np.float32)
        dual = np.zeros((len(order), m))
        for j, sv_rows, coefs in dual_parts:
            dual[[support_rows[int(r)] for r in sv_rows], j] = coefs
        self.dual_ = dual
        self.gamma_ = float(gamma)

    # -------------------------------------------------------------- prediction
    def _decision(self, x: np.ndarray) -> np.ndarray:
        if self.kernel_ == "linear":
            return x @ self.coef_ + self.intercept_
        sv = self.support_.astype(np.float64)
        sq = (x * x).sum(axis=1)[:, None] + (sv * sv).sum(axis=1)[None, :] - 2.0 * x @ sv.T
        return np.exp(-self.gamma_ * np.maximum(sq, 0.0)) @ self.dual_ + self.intercept_

    def _quality_matrix(
        self, queries: Sequence[Query], candidates: Sequence[Candidate]
    ) -> tuple[np.ndarray, list[dict[str, Any]] | None]:
        decision = self._decision(query_matrix(queries).astype(np.float64))
        return platt_apply(decision, self.calib_a_, self.calib_b_), None
