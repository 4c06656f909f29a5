"""The strategy contract: what the Router relies on, and a base class that saves boilerplate.

A strategy predicts, for each candidate, the quality it would deliver on a query
(and optionally the cost). It never chooses: the :class:`~routeiq_core.Router`
turns predicted quality and cost into a choice with the profile's cost weight, so
every strategy becomes cost-aware the same way.

Fitted state lives only in attributes ending in ``_``; ``save``/``load`` write
those as a JSON manifest plus an ``.npz`` (no pickle).
"""

from __future__ import annotations

import copy
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar, runtime_checkable

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from ._candidates import Candidate
from .errors import ConfigError, DatasetError, NoCandidatesError, NotFittedError

if TYPE_CHECKING:
    from ._centroids import Classification
    from ._dataset import RoutingDataset
    from ._request import Request

__all__ = [
    "BaseStrategy",
    "Estimate",
    "Query",
    "Strategy",
    "StrategyParams",
    "StrategyTags",
]

S = TypeVar("S", bound="BaseStrategy")


@dataclass(frozen=True, slots=True)
class Query:
    """What a strategy sees of a request.

    Attributes:
        text: the routed text (last user turn), already cleaned.
        embedding: (dim,) float32 L2-normalised embedding of ``text``, or None
            when the strategy declares ``needs_embedding=False``.
        request: the full normalised request (messages, tools, metadata), if any.
        features: pre-classification signals by name (``agentic``, ``reasoning``,
            ``complexity`` (level 1..5), ``complexity_score``, ``difficulty``), each a float.
        classification: the centroid classifier's category for ``text``, if computed.
    """

    text: str
    embedding: np.ndarray | None = None
    request: Request | None = None
    features: Mapping[str, float] = field(default_factory=dict)
    classification: Classification | None = None

    @property
    def category(self) -> str | None:
        return self.classification.category if self.classification is not None else None

    @property
    def user(self) -> str | None:
        return self.request.metadata.user if self.request is not None else None


@dataclass(frozen=True, slots=True)
class Estimate:
    """A strategy's prediction for one query.

    Attributes:
        quality: candidate name -> predicted quality in [0, 1].
        cost: candidate name -> predicted USD for this request, or None to let the
            router estimate cost from prices and token counts.
        details: free-form, JSON-serialisable explanation (e.g. category, neighbours).
        confidence: how sure the strategy is, in [0, 1], if it knows.
        category: a task category, if the strategy classifies.
    """

    quality: Mapping[str, float]
    cost: Mapping[str, float] | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    confidence: float | None = None
    category: str | None = None


class StrategyTags(BaseModel):
    """What a strategy needs and promises. The conformance kit picks its checks from these."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    requires_fit: bool = True
    deterministic: bool = True
    needs_embedding: bool = True
    calls_llm: bool = False
    online: bool = False
    extras: tuple[str, ...] = ()


class StrategyParams(BaseModel):
    """Base of every strategy's hyper-parameters: frozen, and misspelled names are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid")


@runtime_checkable
class Strategy(Protocol):
    """What the Router relies on. Duck typing is enough; :class:`BaseStrategy` saves boilerplate."""

    name: ClassVar[str]
    tags: ClassVar[StrategyTags]
    params: StrategyParams

    def fit(self, dataset: RoutingDataset) -> Any: ...

    def predict(self, query: Query, candidates: Sequence[Candidate]) -> Estimate: ...

    def predict_batch(self, queries: Sequence[Query], candidates: Sequence[Candidate]) -> list[Estimate]: ...

    def is_fitted(self) -> bool: ...

    def save(self, path: str | os.PathLike[str]) -> None: ...


class BaseStrategy:
    """Base class for strategies: parameter validation, fitted-state checks, save/load.

    Subclasses set ``name``, ``tags``, a nested ``Params(StrategyParams)`` and implement
    ``_fit(dataset)`` (if ``tags.requires_fit``) and ``_predict(query, candidates)``.
    Override ``_predict_batch`` for a vectorised batch path.
    """

    name: ClassVar[str] = ""
    tags: ClassVar[StrategyTags] = StrategyTags()
    Params: ClassVar[type[StrategyParams]] = StrategyParams
    #: Prior quality for a candidate model never seen in training.
    unknown_model_prior: ClassVar[float] = 0.5

    def __init__(self, params: StrategyParams | Mapping[str, Any] | None = None, /, **overrides: Any) -> None:
        if isinstance(params, StrategyParams):
            values = params.model_dump()
        elif params is None:
            values = {}
        elif isinstance(params, Mapping):
            values = dict(params)
        else:
            raise ConfigError(
                f"{type(self).__name__}: params must be a {self.Params.__name__}, a dict or None, "
                f"got {type(params).__name__}"
            )
        values.update(overrides)
        try:
            self.params = self.Params(**values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']} (got {e.get('input')!r:.40})" for e in exc.errors()
            )
            raise ConfigError(f"{type(self).__name__}: invalid parameters: {problems}") from None

    def __repr__(self) -> str:
        defaults = self.Params().model_dump() if _constructible(self.Params) else {}
        changed = {k: v for k, v in self.params.model_dump().items() if defaults.get(k, object()) != v}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in changed.items())})"

    # ------------------------------------------------------------------ fitting
    def fitted_attributes(self) -> dict[str, Any]:
        """Learned state: public attributes ending in ``_`` (not dunder)."""
        return {k: v for k, v in vars(self).items() if k.endswith("_") and not k.startswith("_")}

    def is_fitted(self) -> bool:
        return not self.tags.requires_fit or bool(self.fitted_attributes())

    def check_fitted(self) -> None:
        if not self.is_fitted():
            raise NotFittedError(
                f"{self.name or type(self).__name__} is not fitted; call fit(dataset) or "
                f"load a saved artifact first"
            )

    def fit(self: S, dataset: RoutingDataset) -> S:
        """Train on ``dataset`` and return self. Refitting replaces all learned state."""
        for key in list(self.fitted_attributes()):
            delattr(self, key)
        if len(dataset) < self.min_training_prompts():
            raise DatasetError(
                f"{self.name}: needs at least {self.min_training_prompts()} training prompts, "
                f"got {len(dataset)}"
            )
        if self.tags.needs_embedding and self.tags.requires_fit:
            dataset.require_embeddings()
        self._fit(dataset)
        if dataset.embedding_model is not None and not hasattr(self, "embedding_model_"):
            self.embedding_model_ = dataset.embedding_model
        if self.tags.needs_embedding and dataset.embeddings is not None and not hasattr(self, "embedding_dim_"):
            self.embedding_dim_ = int(dataset.embeddings.shape[1])
        if self.tags.requires_fit and not self.fitted_attributes():
            raise RuntimeError(f"{type(self).__name__}._fit set no fitted '*_' attributes")
        return self

    def min_training_prompts(self) -> int:
        return 2

    def _fit(self, dataset: RoutingDataset) -> None:
        """Learn from ``dataset``; store state in ``*_`` attributes. Default: nothing to learn."""

    def clone(self: S, **changes: Any) -> S:
        """An unfitted copy with the same (or changed) parameters."""
        values = self.params.model_dump()
        values.update(changes)
        return type(self)(**values)

    # ------------------------------------------------------------------ predicting
    def predict(self, query: Query, candidates: Sequence[Candidate]) -> Estimate:
        """Predicted quality (and maybe cost) of each candidate on ``query``."""
        self._check_predict_input(query, candidates)
        return self._predict(query, candidates)

    def predict_batch(self, queries: Sequence[Query], candidates: Sequence[Candidate]) -> list[Estimate]:
        """``predict`` over many queries; equal to a loop of ``predict``."""
        if not queries:
            return []
        for q in queries:
            self._check_predict_input(q, candidates)
        return self._predict_batch(queries, candidates)

    def _predict(self, query: Query, candidates: Sequence[Candidate]) -> Estimate:
        raise NotImplementedError

    def _predict_batch(self, queries: Sequence[Query], candidates: Sequence[Candidate]) -> list[Estimate]:
        return [self._predict(q, candidates) for q in queries]

    def _check_predict_input(self, query: Query, candidates: Sequence[Candidate]) -> None:
        self.check_fitted()
        if not candidates:
            raise NoCandidatesError(f"{self.name}: no candidates to score; pass at least one")
        if self.tags.needs_embedding:
            if query.embedding is None:
                raise DatasetError(f"{self.name}: the query has no embedding; this strategy needs one")
            dim = getattr(self, "embedding_dim_", None)
            if dim is not None and query.embedding.shape != (int(dim),):
                raise DatasetError(
                    f"{self.name}: query embedding has shape {query.embedding.shape}, "
                    f"the strategy was trained on dimension {int(dim)}; "
                    "use the same embedding model for training and routing"
                )

    # ------------------------------------------------------------------ persistence
    def get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Split fitted state into numpy arrays and JSON-serialisable values."""
        arrays: dict[str, np.ndarray] = {}
        meta: dict[str, Any] = {}
        for key, value in self.fitted_attributes().items():
            if isinstance(value, np.ndarray):
                if value.dtype == object:
                    raise TypeError(f"{key}: object arrays cannot be saved without pickle")
                arrays[key] = value
            else:
                meta[key] = value
        return arrays, meta

    def set_state(self, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        for key, value in arrays.items():
            setattr(self, key, value)
        for key, value in meta.items():
            setattr(self, key, value)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the fitted strategy to a directory (``manifest.json`` + ``arrays.npz``)."""
        from ._persist import save_strategy

        save_strategy(self, path)

    @classmethod
    def load(cls: type[S], path: str | os.PathLike[str]) -> S:
        """Read a strategy written by :meth:`save`."""
        from ._persist import load_strategy

        strategy = load_strategy(path, expected=cls)
        return strategy  # type: ignore[return-value]

    def __deepcopy__(self, memo: dict[int, Any]) -> BaseStrategy:
        new = type(self).__new__(type(self))
        for key, value in vars(self).items():
            # Locks cannot be copied; a copy gets its own.
            if isinstance(value, _LOCK_TYPES):
                setattr(new, key, threading.RLock() if isinstance(value, _LOCK_TYPES[1]) else threading.Lock())
            else:
                setattr(new, key, copy.deepcopy(value, memo))
        return new


_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))


def _constructible(params_cls: type[StrategyParams]) -> bool:
    try:
        params_cls()
    except ValidationError:
        return False
    return True
