"""Hybrid-LLM: predict whether a small model is as good as a large one on this prompt.

For an ordered model pair (small S, large L) a ridge regressor on the prompt
embedding predicts p = P(S is at least as good as L) from one of Hybrid-LLM's
labels: ``deterministic`` 1[q_S >= q_L], ``probabilistic`` sigmoid((q_S - q_L) / tau),
or ``transformed`` 1[q_S >= q_L - t*] with the relaxation t* chosen per pair to
make the labels as balanced as possible. The paper routes to S when p exceeds a
threshold; here p becomes quality estimates instead, so the router's cost weight
plays the threshold's role: by total expectation,
``q_S(x) = p * E[q_S | S wins] + (1 - p) * E[q_S | S loses]`` (same for L), with the
conditional means measured on the training data (soft-weighted by the labels).

More than two candidates: the regressors are trained for every ordered pair of
trained models; at prediction the pair is (cheapest known candidate, strongest
known candidate by mean training score). Every other known candidate gets its
mean training score, an unknown one the explicit prior.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from routeiq_core import BaseStrategy, Candidate, Query, RoutingDataset, StrategyTags

from ._base import TIE_ATOL, model_columns
from ._nn import sigmoid
from ._numeric import ridge_fit, unit_rows
from ._per_model import PerModelParams, PerModelStrategy, query_matrix

__all__ = ["HybridLLMStrategy"]


def _transformed_threshold(gap: np.ndarray) -> float:
    """Hybrid-LLM's t*: the relaxation on a 50-point grid that maximises 2 p (1 - p)."""
    grid = np.linspace(0.0, max(float(np.abs(gap).max()), TIE_ATOL), 50)
    balance = [2 * p * (1 - p) for p in ((gap[None, :] >= -grid[:, None]).mean(axis=1))]
    return float(grid[int(np.argmax(balance))])


class HybridLLMParams(PerModelParams):
    label: Literal["deterministic", "probabilistic", "transformed"] = Field(
        "deterministic", description="Hybrid-LLM's label for 'small is good enough'."
    )
    tau: float = Field(0.1, gt=0.0, description="Temperature of the probabilistic label.")
    alpha: float = Field(1.0, gt=0.0, description="Ridge penalty of the pair regressors.")


class HybridLLMStrategy(PerModelStrategy[HybridLLMParams]):
    """P(small >= large) regressors for every ordered model pair; quality by total expectation.

    Attributes set by fit:
        coef_: (n_models * n_models, dim) ridge weights; row ``s * n_models + l`` is the pair
            (small s, large l); diagonal rows are unused zeros.
        intercept_: (n_models * n_models,) ridge intercepts.
        cond_: (n_models * n_models, 4) E[q_S | win], E[q_S | lose], E[q_L | win], E[q_L | lose].
        models_, model_mean_, embedding_dim_: see :class:`PerModelStrategy`.
    """

    #: Its quality is already an expectation of observed qualities (P(small is good enough) times the
    #: conditional means), and a single known candidate gets its mean: nothing to recalibrate.
    calibrates_quality: ClassVar[bool] = False

    name = "hybrid_llm"
    partial_feedback: ClassVar[bool | None] = False
    tags = StrategyTags(requires_fit=True, deterministic=True, needs_embedding=True)

    @classmethod
    def conformance_instances(cls) -> Sequence[BaseStrategy[Any]]:
        """Deterministic and probabilistic labels (for routeiq_core.testing)."""
        return [cls(), cls(label="probabilistic")]

    def _fit(self, dataset: RoutingDataset) -> None:
        self._fit_common(dataset)
        x = unit_rows(dataset.require_embeddings())
        s = dataset.scores
        n, m = s.shape
        labels = np.full((n, m * m), np.nan)
        cond = np.zeros((m * m, 4))
        for small in range(m):
            for large in range(m):
                k = small * m + large
                both = ~np.isnan(s[:, small]) & ~np.isnan(s[:, large])
                cond[k] = [self.model_mean_[small]] * 2 + [self.model_mean_[large]] * 2
                if small == large or not both.any():
                    continue
                y = self._labels(s[both, small] - s[both, large])
                labels[both, k] = y
                cond[k] = [
                    _weighted_mean(s[both, small], y, self.model_mean_[small]),
                    _weighted_mean(s[both, small], 1 - y, self.model_mean_[small]),
                    _weighted_mean(s[both, large], y, self.model_mean_[large]),
                    _weighted_mean(s[both, large], 1 - y, self.model_mean_[large]),
                ]
        weights, bias = ridge_fit(x, labels, self.params.alpha)
        self.coef_ = weights.T
        self.intercept_ = bias
        self.cond_ = cond

    def _labels(self, gap: np.ndarray) -> np.ndarray:
        if self.params.label == "deterministic":
            return (gap >= -TIE_ATOL).astype(np.float64)
        if self.params.label == "probabilistic":
            return sigmoid(gap / self.params.tau)
        return (gap >= -_transformed_threshold(gap) - TIE_ATOL).astype(np.float64)

    def pair_for(self, candidates: Sequence[Candidate]) -> tuple[int, int] | None:
        """(small, large) model columns: cheapest and strongest known candidates, or None."""
        cols = model_columns(candidates, self.models_)
        known = [(c, col) for c, col in zip(candidates, cols) if col is not None]
        if not known:
            return None
        mean = self.model_mean_
        small = min(known, key=lambda cc: (cc[0].blended_cost_per_mtok, -mean[cc[1]], cc[0].name))[1]
        large = min(known, key=lambda cc: (-mean[cc[1]], cc[0].blended_cost_per_mtok, cc[0].name))[1]
        return None if small == large else (small, large)

    def _quality_matrix(
        self, queries: Sequence[Query], candidates: Sequence[Candidate]
    ) -> tuple[np.ndarray, list[dict[str, Any]]]:
        quality = np.tile(np.asarray(self.model_mean_, dtype=np.float64), (len(queries), 1))
        pair = self.pair_for(candidates)
        if pair is None:  # at most one known model: nothing to compare
            return quality, [{"pair": None} for _ in queries]
        small, large = pair
        k = small * len(self.models_) + large
        p = np.clip(query_matrix(queries).astype(np.float64) @ self.coef_[k] + self.intercept_[k], 0.0, 1.0)
        win_s, lose_s, win_l, lose_l = self.cond_[k]
        quality[:, small] = p * win_s + (1 - p) * lose_s
        quality[:, large] = p * win_l + (1 - p) * lose_l
        names = [self.models_[small], self.models_[large]]
        return quality, [{"pair": names, "p_small_ok": round(float(v), 4)} for v in p]


def _weighted_mean(values: np.ndarray, weights: np.ndarray, default: float) -> float:
    total = float(weights.sum())
    return float((values * weights).sum() / total) if total > 1e-12 else float(default)
