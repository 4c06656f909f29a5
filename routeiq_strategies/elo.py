"""Elo ratings (Bradley-Terry) from the pairwise battles in the training data.

Every prompt on which two models' scores differ is a battle won by the higher
score; ties (including prompts every model failed) are skipped or, with
``ties="half"``, count half a win each. Strengths come from a Bradley-Terry fit by
Newton's method; Elo = 1000 + 400 * strength / ln(10). Predicted quality is a
model's expected win rate against the other trained models, so by default the
estimate is the same for every query. With ``groups="cluster"`` (k-means on
embeddings) or ``groups="task"`` (the data's task labels) each group gets its own
ratings, pulled towards the global ones, and a query uses the group of its nearest
centroid; those modes need query embeddings.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from routeiq_core import BaseStrategy, Candidate, DatasetError, Query, RoutingDataset, StrategyTags

from ._base import TIE_ATOL
from ._nn import kmeans, sigmoid
from ._numeric import assign_nearest, bradley_terry, unit_rows
from ._per_model import PerModelParams, PerModelStrategy, query_matrix

__all__ = ["EloStrategy", "battle_counts"]


def battle_counts(scores: np.ndarray, ties: str = "skip", atol: float = TIE_ATOL) -> np.ndarray:
    """(m, m) wins[j, k]: prompts on which model j scored higher than model k (NaN = no battle)."""
    s = np.asarray(scores, dtype=np.float64)
    known = ~np.isnan(s)
    filled = np.where(known, s, 0.0)
    both = known[:, :, None] & known[:, None, :]
    diff = filled[:, :, None] - filled[:, None, :]
    wins = ((diff > atol) & both).sum(axis=0).astype(np.float64)
    if ties == "half":
        tied = (np.abs(diff) <= atol) & both
        wins += 0.5 * tied.sum(axis=0)
        np.fill_diagonal(wins, 0.0)
    return wins


class EloParams(PerModelParams):
    groups: Literal["none", "cluster", "task"] = Field(
        "none", description="One global rating, per k-means cluster, or per task label."
    )
    n_clusters: int = Field(8, ge=1, description="Clusters for groups='cluster'.")
    ties: Literal["skip", "half"] = Field("skip", description="Skip tied battles or count half a win each.")
    l2: float = Field(1e-3, gt=0.0, description="Pull of the global strengths towards 0 (identifiability).")
    group_shrinkage: float = Field(
        20.0, ge=0.0, description="Pull of a group's strengths towards the global ones (in battles)."
    )
    seed: int = 0


class EloStrategy(PerModelStrategy[EloParams]):
    """Bradley-Terry / Elo ratings; query-independent unless grouped.

    Attributes set by fit:
        strength_: (n_groups + 1, n_models) Bradley-Terry strengths; row 0 is global,
            rows 1.. the groups (if any).
        elo_: (n_models,) global Elo ratings (1000 + 400 * strength / ln 10).
        centroids_: (n_groups, dim) float32 group centroids (grouped modes only).
        group_names_: group labels (task names, or "cluster-<i>").
        models_, model_mean_, embedding_dim_: see :class:`PerModelStrategy`.
    """

    name = "elo"
    partial_feedback: ClassVar[bool | None] = False
    tags = StrategyTags(requires_fit=True, deterministic=True, needs_embedding=False)

    @classmethod
    def conformance_instances(cls) -> Sequence[BaseStrategy[Any]]:
        """Global ratings, and per-cluster ratings that need embeddings (for routeiq_core.testing)."""
        return [cls(), cls(groups="cluster", n_clusters=2, ties="half")]

    def __init__(self, params: Any = None, /, **overrides: Any) -> None:
        super().__init__(params, **overrides)
        if self.params.groups != "none":
            # Grouped ratings look up the query's group by its embedding.
            self.tags = type(self).tags.model_copy(update={"needs_embedding": True})  # type: ignore[misc]

    def _fit(self, dataset: RoutingDataset) -> None:
        self._fit_common(dataset)
        p = self.params
        wins = battle_counts(dataset.scores, p.ties)
        if wins.sum() == 0:
            raise DatasetError(
                "elo: no battles; on every prompt all models tied (e.g. all scored 0). "
                "It needs prompts on which models differ"
            )
        strengths = [bradley_terry(wins, l2=p.l2)]
        if p.groups != "none":
            labels, centroids, names = self._groups(dataset)
            for g in range(len(centroids)):
                group_wins = battle_counts(dataset.scores[labels == g], p.ties)
                strengths.append(bradley_terry(group_wins, l2=max(p.group_shrinkage, 1e-6), center=strengths[0]))
            self.centroids_ = centroids
            self.group_names_ = names
        self.strength_ = np.vstack(strengths)
        self.elo_ = 1000.0 + 400.0 * self.strength_[0] / math.log(10.0)

    def _groups(self, dataset: RoutingDataset) -> tuple[np.ndarray, np.ndarray, list[str]]:
        x = unit_rows(dataset.require_embeddings())
        if self.params.groups == "cluster":
            labels, centers = kmeans(x, self.params.n_clusters, seed=self.params.seed)
            centroids = centers.astype(np.float32)
            return labels, centroids, [f"cluster-{i}" for i in range(len(centroids))]
        if dataset.tasks is None or all(t is None for t in dataset.tasks):
            raise DatasetError("elo: groups='task' needs task labels in the data set (dataset.tasks)")
        names = sorted({str(t) for t in dataset.tasks if t is not None})
        index = {t: i for i, t in enumerate(names)}
        labels = np.array([index.get(str(t), -1) if t is not None else -1 for t in dataset.tasks])
        centroids = unit_rows(np.stack([x[labels == i].mean(axis=0) for i in range(len(names))]))
        return labels, centroids, names

    def _quality_matrix(
        self, queries: Sequence[Query], candidates: Sequence[Candidate]
    ) -> tuple[np.ndarray, list[dict[str, Any]]]:
        if self.params.groups == "none":
            rows = np.zeros(len(queries), dtype=np.int64)
            details: list[dict[str, Any]] = [{} for _ in queries]
        else:
            groups = assign_nearest(query_matrix(queries), self.centroids_)
            rows = groups + 1
            details = [{"group": self.group_names_[int(g)]} for g in groups]
        theta = self.strength_[rows]  # (b, m)
        m = theta.shape[1]
        p = sigmoid(theta[:, :, None] - theta[:, None, :])  # P(j beats k)
        win_rate = (p.sum(axis=2) - 0.5) / max(m - 1, 1)  # drop the self-match (0.5)
        if m == 1:
            win_rate = np.full_like(win_rate, 0.5)
        return win_rate, details
