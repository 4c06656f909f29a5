"""RoutingDataset: per-prompt x per-model quality (and cost) used to train and evaluate strategies.

Unknown entries are ``NaN``: a model missing from a row's scores is unknown for
that prompt, not zero. Embeddings are attached later (see ``with_embeddings``)
so loaders never need the embedding model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .errors import DatasetError

__all__ = ["ModelPrice", "RoutingDataset"]


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per 1M input / output tokens of a model in a data set's price table, and its size if known."""

    input_cost_per_mtok: float
    output_cost_per_mtok: float
    #: Parameter count in billions, if the price table knows it (tiers are inferred from it).
    size_b: float | None = None


@dataclass(frozen=True, eq=False)
class RoutingDataset:
    """Prompts, models and an (n_prompts, n_models) quality matrix.

    Attributes:
        ids: unique prompt ids, length n.
        prompts: prompt texts, length n (the text that is embedded).
        models: model names, length m (column order of ``scores`` and ``costs``).
        scores: (n, m) float64 quality in [0, 1]; NaN = unknown.
        costs: (n, m) float64 USD per prompt and model, or None; NaN = unknown.
        tasks: optional task / benchmark name per prompt.
        users: optional user id per prompt (personalised strategies).
        embeddings: optional (n, dim) float32 L2-normalised prompt embeddings.
        embedding_model: sha256 of the embedding model that produced ``embeddings``.
        instruction_embeddings: optional (n, dim) float32: the vector of each prompt's instruction
            ("Summarise this: <text>"), pooled from the prompt's own forward pass as ``decide()``
            does; a NaN row where a prompt has none. Evaluation passes them to the router, so an
            instruction prompt is not embedded again.
        prices: optional model -> ModelPrice table (used when ``costs`` is None).
        name: a label for reports.
    """

    ids: tuple[str, ...]
    prompts: tuple[str, ...]
    models: tuple[str, ...]
    scores: np.ndarray
    costs: np.ndarray | None = None
    tasks: tuple[str | None, ...] | None = None
    users: tuple[str | None, ...] | None = None
    embeddings: np.ndarray | None = None
    embedding_model: str | None = None
    instruction_embeddings: np.ndarray | None = None
    prices: Mapping[str, ModelPrice] = field(default_factory=dict)
    name: str = "dataset"

    def __post_init__(self) -> None:
        n, m = len(self.ids), len(self.models)
        if n == 0:
            raise DatasetError(f"{self.name}: the data set is empty; expected at least one prompt")
        if m == 0:
            raise DatasetError(f"{self.name}: no models; expected at least one model column")
        if len(set(self.models)) != m:
            raise DatasetError(f"{self.name}: duplicate model names in {list(self.models)}")
        if len(self.prompts) != n:
            raise DatasetError(f"{self.name}: {n} ids but {len(self.prompts)} prompts")
        if len(set(self.ids)) != n:
            raise DatasetError(f"{self.name}: prompt ids must be unique")
        scores = np.asarray(self.scores, dtype=np.float64)
        if scores.shape != (n, m):
            raise DatasetError(f"{self.name}: scores must have shape ({n}, {m}), got {scores.shape}")
        finite = scores[~np.isnan(scores)]
        if finite.size and (finite.min() < 0 or finite.max() > 1 or not np.isfinite(finite).all()):
            raise DatasetError(f"{self.name}: scores must lie in [0, 1] (NaN = unknown)")
        object.__setattr__(self, "scores", scores)
        if self.costs is not None:
            costs = np.asarray(self.costs, dtype=np.float64)
            if costs.shape != (n, m):
                raise DatasetError(f"{self.name}: costs must have shape ({n}, {m}), got {costs.shape}")
            if (costs[~np.isnan(costs)] < 0).any():
                raise DatasetError(f"{self.name}: costs must be >= 0")
            object.__setattr__(self, "costs", costs)
        for attr in ("tasks", "users"):
            value = getattr(self, attr)
            if value is not None and len(value) != n:
                raise DatasetError(f"{self.name}: {attr} must have {n} entries, got {len(value)}")
        if self.embeddings is not None:
            emb = np.asarray(self.embeddings, dtype=np.float32)
            if emb.ndim != 2 or emb.shape[0] != n:
                raise DatasetError(f"{self.name}: embeddings must have shape ({n}, dim), got {emb.shape}")
            object.__setattr__(self, "embeddings", emb)
        if self.instruction_embeddings is not None:
            heads = np.asarray(self.instruction_embeddings, dtype=np.float32)
            if self.embeddings is None or heads.shape != self.embeddings.shape:
                raise DatasetError(f"{self.name}: instruction embeddings must have the embeddings' shape "
                                   f"{None if self.embeddings is None else self.embeddings.shape}, got {heads.shape}")
            object.__setattr__(self, "instruction_embeddings", heads)

    # ------------------------------------------------------------------ views
    def __len__(self) -> int:
        return len(self.ids)

    @property
    def n_models(self) -> int:
        return len(self.models)

    def require_embeddings(self) -> np.ndarray:
        if self.embeddings is None:
            raise DatasetError(
                f"{self.name}: this strategy needs prompt embeddings; "
                "embed the data set first (routeiq_core.embed_dataset(dataset))"
            )
        finite = np.isfinite(self.embeddings).all(axis=1)
        if not finite.all():
            bad = np.flatnonzero(~finite)
            raise DatasetError(
                f"{self.name}: {len(bad)} prompt embedding(s) hold NaN or inf (rows {bad[:5].tolist()}); "
                "a strategy is never trained on them: clear the embedding cache (ROUTEIQ_CACHE_DIR) and embed again"
            )
        return self.embeddings

    def with_embeddings(self, embeddings: np.ndarray, embedding_model: str | None,
                        instruction_embeddings: np.ndarray | None = None) -> RoutingDataset:
        return replace(self, embeddings=embeddings, embedding_model=embedding_model,
                       instruction_embeddings=instruction_embeddings)

    def instruction_embedding(self, i: int) -> np.ndarray | None:
        """Prompt ``i``'s instruction vector, or None (no instruction, or none were computed)."""
        if self.instruction_embeddings is None:
            return None
        row = self.instruction_embeddings[i]
        return row if np.isfinite(row).all() else None

    def subset(self, index: Sequence[int] | np.ndarray, name: str | None = None) -> RoutingDataset:
        idx = np.asarray(index, dtype=np.int64)

        def pick(seq: Sequence[Any] | None) -> tuple[Any, ...] | None:
            return None if seq is None else tuple(seq[i] for i in idx)

        return RoutingDataset(
            ids=tuple(self.ids[i] for i in idx),
            prompts=tuple(self.prompts[i] for i in idx),
            models=self.models,
            scores=self.scores[idx],
            costs=None if self.costs is None else self.costs[idx],
            tasks=pick(self.tasks),
            users=pick(self.users),
            embeddings=None if self.embeddings is None else self.embeddings[idx],
            embedding_model=self.embedding_model,
            instruction_embeddings=None if self.instruction_embeddings is None else self.instruction_embeddings[idx],
            prices=self.prices,
            name=name or self.name,
        )

    def split(self, train_fraction: float = 0.7, seed: int = 0) -> tuple[RoutingDataset, RoutingDataset]:
        """A seeded random train/test split."""
        if not 0 < train_fraction < 1:
            raise DatasetError(f"train_fraction must be in (0, 1), got {train_fraction}")
        order = np.random.default_rng(seed).permutation(len(self))
        cut = int(round(train_fraction * len(self)))
        if cut == 0 or cut == len(self):
            raise DatasetError(f"{self.name}: {len(self)} prompts are too few to split at {train_fraction}")
        return (self.subset(np.sort(order[:cut]), f"{self.name}[train]"),
                self.subset(np.sort(order[cut:]), f"{self.name}[test]"))

    def select_models(self, models: Sequence[str]) -> RoutingDataset:
        """Keep only these model columns (in this order)."""
        missing = [m for m in models if m not in self.models]
        if missing:
            raise DatasetError(f"{self.name}: unknown models {missing}; have {list(self.models)}")
        cols = [self.models.index(m) for m in models]
        return replace(
            self,
            models=tuple(models),
            scores=self.scores[:, cols],
            costs=None if self.costs is None else self.costs[:, cols],
            prices={m: p for m, p in self.prices.items() if m in models},
        )

    def cost_matrix(self, output_tokens: float = 256.0) -> np.ndarray:
        """(n, m) USD per prompt and model: ``costs`` if known, else price x token estimate.

        Token estimate without counts: input = len(prompt) / 4 characters per token,
        output = ``output_tokens``. Remaining unknowns become the column mean.
        """
        n, m = self.scores.shape
        out = np.full((n, m), np.nan) if self.costs is None else self.costs.copy()
        if np.isnan(out).any() and self.prices:
            in_tok = np.array([max(1.0, len(p) / 4.0) for p in self.prompts])
            for j, model in enumerate(self.models):
                price = self.prices.get(model)
                if price is None:
                    continue
                est = (in_tok * price.input_cost_per_mtok + output_tokens * price.output_cost_per_mtok) / 1e6
                col = out[:, j]
                col[np.isnan(col)] = est[np.isnan(col)]
        if np.isnan(out).all():
            raise DatasetError(
                f"{self.name}: no costs and no price table; give per-prompt costs or model prices"
            )
        col_mean = np.nanmean(np.where(np.isnan(out), np.nan, out), axis=0)
        col_mean = np.where(np.isnan(col_mean), np.nanmean(out), col_mean)
        return np.where(np.isnan(out), col_mean[None, :], out)

    def mean_model_costs(self) -> dict[str, float]:
        costs = self.cost_matrix()
        return {m: float(costs[:, j].mean()) for j, m in enumerate(self.models)}
