"""A base for strategies that learn one predicted quality per *trained model*.

Such a strategy computes an (n_queries, n_models) quality matrix over the models it
was trained on; this base turns it into per-candidate estimates. Candidates map to
model columns by ``candidate.model`` (then ``candidate.name``); a candidate whose
model was never seen gets an explicit prior, so the candidate list may be a subset
or a superset of the trained models.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field
from typing_extensions import Self, TypeVar

from routeiq_core import (
    BaseStrategy,
    Candidate,
    Estimate,
    Query,
    RoutingDataset,
    StrategyParams,
    parse_request,
)
from routeiq_core.errors import ArtifactError, RouteIQWarning

from ._base import candidate_values_batch, column_means, model_columns
from ._calibrated import GRID, apply_maps, isotonic_map, platt_map
from ._numeric import unit_rows

#: Fewer training prompts than this: no quality calibration (too few held-out points per model).
MIN_CALIBRATION_PROMPTS = 500
#: From this many training prompts ``auto`` calibration is isotonic (else Platt scaling).
ISOTONIC_FROM = 10_000

__all__ = ["PerModelParams", "PerModelStrategy", "query_matrix"]


class PerModelParams(StrategyParams):
    """Parameters every per-model strategy has."""

    unknown_quality: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description=(
            "Quality assumed for a candidate whose model is not in the training data; "
            "None = the mean predicted quality of the known candidates for that query."
        ),
    )
    quality_calibration: Literal["auto", "isotonic", "platt", "none"] = Field(
        "auto",
        description=(
            "Map each model's raw prediction to the quality it actually reached, fitted on out-of-fold "
            f"predictions of the training data (from {MIN_CALIBRATION_PROMPTS} training prompts), so "
            "predicted quality is a calibrated probability: isotonic regression, Platt scaling, 'auto' "
            f"(isotonic from {ISOTONIC_FROM} prompts, else Platt) or 'none' (the raw scores)."
        ),
    )
    calibration_folds: int = Field(3, ge=2, le=10, description="Folds of the out-of-fold predictions.")


def query_matrix(queries: Sequence[Query]) -> np.ndarray:
    """(n, dim) float32 unit-norm embeddings of ``queries`` (the base class checked they exist)."""
    return unit_rows(np.stack([np.asarray(q.embedding, dtype=np.float32) for q in queries]))


PM = TypeVar("PM", bound=PerModelParams, default=PerModelParams)


class PerModelStrategy(BaseStrategy[PM]):
    """Subclasses set ``models_`` in ``_fit`` and implement :meth:`_quality_matrix`.

    Common fitted attributes (set by :meth:`_fit_common`):
        models_: trained model names, the column order of every per-model array.
        model_mean_: (n_models,) mean training score of each model.
        embedding_dim_: embedding dimension (for strategies that use embeddings).
    """

    def _fit_common(self, dataset: RoutingDataset) -> None:
        self.models_ = [str(m) for m in dataset.models]
        self.model_mean_ = column_means(dataset.scores)
        if self.tags.needs_embedding and dataset.embeddings is not None:
            self.embedding_dim_ = int(dataset.embeddings.shape[1])

    def _quality_matrix(
        self, queries: Sequence[Query], candidates: Sequence[Candidate]
    ) -> tuple[np.ndarray, list[dict[str, Any]] | None]:
        """(n_queries, n_models) predicted quality, plus optional per-query details."""
        raise NotImplementedError

    #: Whether ``quality_calibration`` applies: False for a strategy whose predictions depend on more
    #: than a prompt and its user (a conversation's earlier turns), which held-out rows do not carry.
    calibrates_quality: ClassVar[bool] = True

    def fit(self, dataset: RoutingDataset) -> Self:
        """Train on ``dataset``; then, unless ``quality_calibration="none"`` (or the data is too small),
        fit each model's map from raw prediction to observed quality on out-of-fold predictions
        (module ``_calibrated``)."""
        super().fit(dataset)
        method = getattr(self.params, "quality_calibration", "none")
        if method != "none" and self.calibrates_quality and len(dataset) >= MIN_CALIBRATION_PROMPTS:
            if method == "auto":
                method = "isotonic" if len(dataset) >= ISOTONIC_FROM else "platt"
            fit_map = isotonic_map if method == "isotonic" else platt_map
            raw = self._raw_out_of_fold(dataset)
            self.quality_grid_ = GRID.copy()
            self.quality_map_ = np.stack([fit_map(raw[:, j], dataset.scores[:, j]) for j in
                                          range(dataset.n_models)], axis=1)
            self.quality_calibration_ = method
        return self

    def _raw_out_of_fold(self, dataset: RoutingDataset) -> np.ndarray:
        """(n, n_models) raw predictions, each row by a copy trained without that row's fold."""
        folds = int(getattr(self.params, "calibration_folds", 3))
        fold_of = np.random.default_rng(int(getattr(self.params, "seed", 0))).permutation(len(dataset)) % folds
        candidates = [Candidate(name=m, model=m) for m in dataset.models]
        embeddings = dataset.embeddings
        users = dataset.users or [None] * len(dataset)
        queries = [Query(text=p, embedding=None if embeddings is None else embeddings[i],
                         request=parse_request(p, metadata={"user": users[i]}) if users[i] is not None else None)
                   for i, p in enumerate(dataset.prompts)]
        raw = np.full(dataset.scores.shape, np.nan)
        for k in range(folds):
            held, rest = np.flatnonzero(fold_of == k), np.flatnonzero(fold_of != k)
            with warnings.catch_warnings():  # what the fit itself warns about was said once already
                warnings.simplefilter("ignore", RouteIQWarning)
                part = self.clone(quality_calibration="none").fit(dataset.subset(rest))
            quality, _ = part._quality_matrix([queries[i] for i in held], candidates)
            columns = [part.models_.index(m) for m in dataset.models]
            raw[held] = np.asarray(quality, dtype=np.float64)[:, columns]
        return raw

    def validate_state(self, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any], *, where: str = "") -> None:
        super().validate_state(arrays, meta, where=where)
        grid, maps = arrays.get("quality_grid_"), arrays.get("quality_map_")
        if grid is None and maps is None:
            return
        models = meta.get("models_") or []
        prefix = f"{where}: " if where else ""
        if (grid is None or maps is None or grid.ndim != 1 or maps.shape != (len(grid), len(models))
                or len(grid) < 2 or not np.all(np.diff(grid) > 0)
                or not np.all((maps >= 0.0) & (maps <= 1.0)) or not np.all(np.diff(maps, axis=0) >= -1e-12)):
            raise ArtifactError(f"{prefix}the quality calibration (quality_grid_, quality_map_) is malformed: "
                                "expected increasing scores and, per model, non-decreasing qualities in [0, 1]; "
                                "train the artifact again")

    def _unknown_prior(self) -> float | None:
        return getattr(self.params, "unknown_quality", None)

    def _predict(self, query: Query, candidates: Sequence[Candidate]) -> Estimate:
        return self._predict_batch([query], candidates)[0]

    def _predict_batch(self, queries: Sequence[Query], candidates: Sequence[Candidate]) -> list[Estimate]:
        quality, details = self._quality_matrix(queries, candidates)
        maps = getattr(self, "quality_map_", None)
        if maps is not None:
            quality = apply_maps(quality, self.quality_grid_, maps)
        columns = model_columns(candidates, self.models_)
        values = np.clip(
            candidate_values_batch(quality, candidates, self.models_, prior=self._unknown_prior(), columns=columns),
            0.0,
            1.0,
        )
        unknown = [c.name for c, col in zip(candidates, columns) if col is None]
        names = [c.name for c in candidates]
        out = []
        for i, row in enumerate(values):
            info: dict[str, Any] = dict(details[i]) if details is not None else {}
            if unknown:
                info["unknown_models"] = unknown
            out.append(Estimate(quality=dict(zip(names, row.tolist())), details=info))
        return out
