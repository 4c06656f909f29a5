"""Stacking: a per-model logistic meta-model over several base strategies' out-of-fold predictions.

No single strategy is best on every data set (``docs/evaluation/results.md``): knn is local,
the MLP and the SVM are smooth, matrix factorisation shares strength across models. The stack
trains each base strategy ``folds`` times, each time without one fold, so every training
prompt has a prediction from a model that did not see it; then, for each model, it fits a
logistic regression (L2-penalised, soft labels) from the bases' predictions (on the logit
scale) to the observed quality. That meta-model is fitted on held-out predictions, so its
output is a calibrated probability, and it learns which base to trust for which model.
Finally every base is trained on all the data; routing runs the bases and the meta-model.

Training costs ``(folds + 1) x`` each base's training; prediction, the sum of the bases'.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
from pydantic import Field, field_validator

from routeiq_core import Candidate, Query, RoutingDataset, StrategyTags

from ._per_model import PerModelParams, PerModelStrategy

__all__ = ["STACKABLE", "StackStrategy"]

#: Base strategies the stack can combine: per-model strategies that learn from embeddings alone.
STACKABLE: dict[str, tuple[str, str]] = {
    "knn": ("knn", "KNNStrategy"),
    "mlp": ("mlp", "MLPStrategy"),
    "svm": ("svm", "SVMStrategy"),
    "mf": ("matrix_factorization", "MatrixFactorizationStrategy"),
    "elo": ("elo", "EloStrategy"),
    "routerdc": ("routerdc", "RouterDCStrategy"),
    "graph": ("graph", "GraphRouterStrategy"),
    "personalized": ("personalized", "PersonalizedStrategy"),
}
_EPS = 1e-3


def base_class(name: str) -> type[PerModelStrategy[Any]]:
    module, cls = STACKABLE[name]
    found: type[PerModelStrategy[Any]] = getattr(importlib.import_module(f"{__package__}.{module}"), cls)
    return found


class StackParams(PerModelParams):
    bases: tuple[str, ...] = Field(("knn", "mlp", "svm", "mf"), description="Base strategies to combine.")
    base_params: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Parameters per base, e.g. {'knn': {'k': 20}} (what --tune writes).")
    folds: int = Field(3, ge=2, le=10, description="Folds of the bases' out-of-fold predictions.")
    meta_l2: float = Field(10.0, ge=0.0, description="L2 penalty pulling each model's meta-model towards the equal blend of the bases.")
    seed: int = 0

    @field_validator("bases")
    @classmethod
    def _known_bases(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [b for b in value if b not in STACKABLE]
        if unknown:
            raise ValueError(f"unknown base strategies {unknown}; expected some of {sorted(STACKABLE)}")
        if len(set(value)) != len(value) or len(value) < 2:
            raise ValueError(f"expected at least two different base strategies, got {list(value)}")
        return value

    @field_validator("base_params")
    @classmethod
    def _params_for_bases(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        unknown = [b for b in value if b not in STACKABLE]
        if unknown:
            raise ValueError(f"base_params for unknown base strategies {unknown}")
        return value


class StackStrategy(PerModelStrategy[StackParams]):
    """Several base strategies combined per model by a logistic meta-model on out-of-fold predictions.

    Attributes set by fit:
        meta_weights_: (n_bases, n_models) weight of each base's logit per model.
        meta_bias_: (n_models,) each model's intercept.
        bases_: the base strategies, each trained on all the data.
        bases_state_: per base, its name and its JSON state (its arrays are stored as ``b{i}_<name>``).
        models_, model_mean_, embedding_dim_: see :class:`PerModelStrategy`.
    """

    name = "stack"
    tags = StrategyTags(requires_fit=True, deterministic=True, needs_embedding=True)
    calibrates_quality: ClassVar[bool] = False  # the meta-model is fitted on held-out predictions already
    per_model_arrays: ClassVar[tuple[str, ...]] = ("model_mean_", "meta_weights_", "meta_bias_")

    def min_training_prompts(self) -> int:
        return 2 * self.params.folds

    def _base(self, name: str) -> PerModelStrategy[Any]:
        values = {"seed": self.params.seed, **self.params.base_params.get(name, {}), "quality_calibration": "none"}
        cls = base_class(name)
        return cls(**{k: v for k, v in values.items() if k in cls.Params.model_fields})

    def _fit(self, dataset: RoutingDataset) -> None:
        self._fit_common(dataset)
        p = self.params
        n, m = dataset.scores.shape
        fold_of = np.random.default_rng(p.seed).permutation(n) % p.folds
        queries = [Query(text=t, embedding=dataset.embeddings[i] if dataset.embeddings is not None else None)
                   for i, t in enumerate(dataset.prompts)]
        candidates = [Candidate(name=model, model=model) for model in dataset.models]
        features = np.empty((len(p.bases), n, m))
        for b, name in enumerate(p.bases):
            for k in range(p.folds):
                held, rest = np.flatnonzero(fold_of == k), np.flatnonzero(fold_of != k)
                part = self._base(name).fit(dataset.subset(rest))
                features[b, held] = _columns(part, [queries[i] for i in held], candidates, dataset.models)
        logits = _logit(features)
        self.meta_weights_ = np.empty((len(p.bases), m))
        self.meta_bias_ = np.empty(m)
        for j in range(m):
            w, c = _logistic(logits[:, :, j].T, dataset.scores[:, j], p.meta_l2)
            self.meta_weights_[:, j], self.meta_bias_[j] = w, c
        self.bases_ = [self._base(name).fit(dataset) for name in p.bases]
        self.bases_state_ = [{"name": name, "state": base.get_state()[1]} for name, base in zip(p.bases, self.bases_)]

    def _quality_matrix(
        self, queries: Sequence[Query], candidates: Sequence[Candidate]
    ) -> tuple[np.ndarray, list[dict[str, Any]] | None]:
        stacked = np.stack([_columns(base, queries, candidates, self.models_) for base in self.bases_])
        z = np.einsum("bnm,bm->nm", _logit(stacked), self.meta_weights_) + self.meta_bias_
        return 1.0 / (1.0 + np.exp(-np.clip(z, -35.0, 35.0))), None

    # ------------------------------------------------------------------ persistence: the bases inside
    def get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays, meta = super().get_state()
        meta.pop("bases_", None)  # the fitted bases themselves: saved as bases_state_ and b{i}_ arrays
        for i, base in enumerate(self.bases_):
            base_arrays, _ = base.get_state()
            arrays.update({f"b{i}_{key}": value for key, value in base_arrays.items()})
        return arrays, meta

    def validate_state(self, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any], *, where: str = "") -> None:
        from routeiq_core.errors import ArtifactError

        own = {k: v for k, v in arrays.items() if not _is_base_key(k)}
        super().validate_state(own, meta, where=where)
        states = meta.get("bases_state_")
        names = list(self.params.bases)
        if not (isinstance(states, list) and [s.get("name") if isinstance(s, dict) else None for s in states] == names):
            raise ArtifactError(f"{where}: bases_state_ must list the bases {names} in order; train the stack again")
        weights = arrays.get("meta_weights_")
        if weights is None or weights.shape[0] != len(names):
            raise ArtifactError(f"{where}: meta_weights_ must have one row per base ({len(names)})")
        for i, (name, state) in enumerate(zip(names, states)):
            if not isinstance(state.get("state"), dict):
                raise ArtifactError(f"{where}: the state of base {name!r} must be an object")
            self._base(name).validate_state(_base_arrays(arrays, i), state["state"], where=f"{where} [base {name}]")

    def set_state(self, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        super().set_state({k: v for k, v in arrays.items() if not _is_base_key(k)}, meta)
        self.bases_ = []
        for i, (name, state) in enumerate(zip(self.params.bases, meta["bases_state_"])):
            base = self._base(name)
            base.set_state(_base_arrays(arrays, i), state["state"])
            self.bases_.append(base)


def _columns(strategy: PerModelStrategy[Any], queries: Sequence[Query], candidates: Sequence[Candidate],
             models: Sequence[str]) -> np.ndarray:
    """A base's raw (n, n_models) predictions, columns in ``models`` order, NaN as the model's mean."""
    quality, _ = strategy._quality_matrix(queries, candidates)
    out = np.asarray(quality, dtype=np.float64)[:, [strategy.models_.index(m) for m in models]]
    bad = ~np.isfinite(out)
    if bad.any():
        out[bad] = np.broadcast_to(np.asarray(strategy.model_mean_, dtype=np.float64)[
            [strategy.models_.index(m) for m in models]], out.shape)[bad]
    return out


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, _EPS, 1.0 - _EPS)
    result: np.ndarray = np.log(q / (1.0 - q))
    return result


def _logistic(x: np.ndarray, y: np.ndarray, l2: float, iters: int = 50) -> tuple[np.ndarray, float]:
    """Logistic regression with soft labels (Newton's method), its weights L2-penalised towards the
    equal blend of the bases; NaN labels left out."""
    keep = np.isfinite(y)
    x, y = x[keep], np.clip(y[keep], 0.0, 1.0)
    k = x.shape[1]
    if len(y) == 0:
        return np.full(k, 1.0 / k), 0.0
    design = np.hstack([x, np.ones((len(y), 1))])
    prior = np.zeros(k + 1)
    prior[:k] = 1.0 / k  # the penalty pulls towards the bases' mean logit, not towards nothing
    beta = prior.copy()
    penalty = np.full(k + 1, l2)
    penalty[-1] = 0.0  # the intercept is not penalised
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ beta, -35.0, 35.0)))
        w = p * (1.0 - p) + 1e-9
        grad = design.T @ (p - y) + penalty * (beta - prior)
        hess = (design * w[:, None]).T @ design + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hess, grad)
        beta -= np.clip(step, -5.0, 5.0)
        if np.abs(step).max() < 1e-8:
            break
    return beta[:k], float(beta[k])


def _is_base_key(key: str) -> bool:
    head, _, rest = key.partition("_")
    return head[:1] == "b" and head[1:].isdigit() and bool(rest)


def _base_arrays(arrays: Mapping[str, np.ndarray], i: int) -> dict[str, np.ndarray]:
    prefix = f"b{i}_"
    return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
