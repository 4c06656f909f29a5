"""Personalised quality: a global model plus a learned offset per (user, model).

The global part is a ridge regression from the prompt embedding to every model's
score. Each user seen in training gets a per-model offset: the mean of that
user's residuals (actual minus out-of-fold predicted score), shrunk towards zero
by ``user_shrinkage`` pseudo-observations, so a user with few prompts barely moves
and an unknown user gets the global estimate. The user comes from the request
metadata (``Query.user``, i.e. ``metadata={"user": ...}``); training needs
``dataset.users``. Without user ids the strategy is the global model alone (and
warns at fit).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from routeiq_core import Candidate, Query, RoutingDataset, StrategyTags
from routeiq_core.errors import RouteIQWarning

from ._numeric import ridge_fit, unit_rows
from ._per_model import PerModelParams, PerModelStrategy, query_matrix

__all__ = ["PersonalizedStrategy"]


class PersonalizedParams(PerModelParams):
    alpha: float = Field(1.0, gt=0.0, description="Ridge penalty of the global model.")
    user_shrinkage: float = Field(
        10.0, ge=0.0, description="Pseudo-observations pulling each user offset towards 0."
    )
    offset_folds: int = Field(
        5, ge=1, description="Folds for out-of-fold residuals (1 = in-sample residuals)."
    )
    seed: int = 0


class PersonalizedStrategy(PerModelStrategy[PersonalizedParams]):
    """Ridge per-model score regression plus shrunken per-user offsets.

    Attributes set by fit:
        coef_: (dim, n_models) ridge weights; intercept_: (n_models,).
        users_: user ids with offsets (rows of ``offsets_``).
        offsets_: (n_users, n_models) additive quality offsets.
        user_counts_: (n_users,) training prompts per user.
        models_, model_mean_, embedding_dim_: see :class:`PerModelStrategy`.
    """

    name = "personalized"
    partial_feedback: ClassVar[bool | None] = True
    tags = StrategyTags(requires_fit=True, deterministic=True, needs_embedding=True)

    def _fit(self, dataset: RoutingDataset) -> None:
        self._fit_common(dataset)
        x = unit_rows(dataset.require_embeddings()).astype(np.float64)
        s = dataset.scores
        weights, bias = ridge_fit(x, s, self.params.alpha)
        self.coef_ = weights.astype(np.float32)
        self.intercept_ = bias
        users = dataset.users
        if users is None or all(u is None for u in users):
            warnings.warn(
                "personalized: the data set has no user ids (dataset.users); fitting the global model only",
                RouteIQWarning,
                stacklevel=3,
            )
            self.users_ = []
            self.offsets_ = np.zeros((0, s.shape[1]))
            self.user_counts_ = np.zeros(0, dtype=np.int64)
            return
        residual = s - self._out_of_fold(x, s)
        names = sorted({str(u) for u in users if u is not None})
        index = {u: i for i, u in enumerate(names)}
        rows = np.array([index[str(u)] if u is not None else -1 for u in users])
        known = ~np.isnan(residual)
        filled = np.where(known, residual, 0.0)
        sums = np.zeros((len(names), s.shape[1]))
        counts = np.zeros((len(names), s.shape[1]))
        has_user = rows >= 0
        np.add.at(sums, rows[has_user], filled[has_user])
        np.add.at(counts, rows[has_user], known[has_user])
        self.users_ = names
        self.offsets_ = sums / (counts + self.params.user_shrinkage + 1e-12)
        self.user_counts_ = np.bincount(rows[has_user], minlength=len(names)).astype(np.int64)

    def _out_of_fold(self, x: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Predictions for each training prompt from a ridge fit that did not see it."""
        folds = min(self.params.offset_folds, len(x))
        if folds <= 1:
            return x @ self.coef_.astype(np.float64) + self.intercept_
        fold_of = np.random.default_rng(self.params.seed).permutation(len(x)) % folds
        pred = np.empty_like(s)
        for f in range(folds):
            held = fold_of == f
            w, b = ridge_fit(x[~held], s[~held], self.params.alpha)
            pred[held] = x[held] @ w + b
        return pred

    def _user_index(self) -> dict[str, int]:
        cached = getattr(self, "_index_cache", None)
        if cached is None or cached[0] is not self.users_:
            cached = (self.users_, {u: i for i, u in enumerate(self.users_)})
            self._index_cache = cached
        return cached[1]

    def _quality_matrix(
        self, queries: Sequence[Query], candidates: Sequence[Candidate]
    ) -> tuple[np.ndarray, list[dict[str, Any]]]:
        quality = query_matrix(queries).astype(np.float64) @ self.coef_ + self.intercept_
        index = self._user_index()
        details = []
        for i, query in enumerate(queries):
            row = index.get(query.user) if query.user is not None else None
            if row is not None:
                quality[i] += self.offsets_[row]
            details.append({"personalized": row is not None})
        return quality, details
