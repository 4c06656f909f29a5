"""The strategy contract: what the Router relies on, and a base class that saves boilerplate.

A strategy predicts, for each candidate, the quality it would deliver on a query
(and optionally the cost). It never chooses: the :class:`~routeiq_core.Router`
turns predicted quality and cost into a choice with the profile's cost weight, so
every strategy becomes cost-aware the same way.

The contract is :class:`Strategy`; optional abilities are sub-protocols
(:class:`AsyncStrategy`, :class:`OnlineStrategy`, :class:`LLMCallingStrategy`,
:class:`TrainedStrategy`) checked once, at construction, by
:func:`validate_strategy` against the strategy's tags. The registry validates
classes with the same function.

Fitted state lives only in attributes ending in ``_``; ``save``/``load`` write
those as a JSON manifest plus an ``.npz`` (no pickle).
"""

from __future__ import annotations

import copy
import os
import threading
import typing
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, cast, runtime_checkable

import numpy as np
from pydantic import ValidationError
from typing_extensions import Self, TypeVar

from ._candidates import Candidate
from ._types import Estimate, Query, StrategyParams, StrategyTags
from ._validation import format_validation_error
from .errors import ConfigError, DatasetError, NoCandidatesError, NotFittedError

if TYPE_CHECKING:
    from ._dataset import RoutingDataset

__all__ = [
    "AsyncStrategy",
    "BaseStrategy",
    "Estimate",
    "LLMCallingStrategy",
    "OnlineStrategy",
    "Query",
    "Strategy",
    "StrategyAbilities",
    "StrategyParams",
    "StrategyTags",
    "TrainedStrategy",
    "validate_strategy",
]

P = TypeVar("P", bound=StrategyParams, default=StrategyParams)

#: Methods a strategy class must have to be registered (it can be trained, saved and loaded).
REQUIRED_METHODS = ("fit", "predict", "predict_batch", "save", "load", "is_fitted")
#: Methods a strategy instance needs to route (what the Router calls).
ROUTING_METHODS = ("predict", "is_fitted")


@runtime_checkable
class Strategy(Protocol):
    """What the Router relies on. Duck typing is enough; :class:`BaseStrategy` saves boilerplate."""

    name: ClassVar[str]
    tags: ClassVar[StrategyTags]

    @property
    def params(self) -> StrategyParams: ...

    def fit(self, dataset: RoutingDataset) -> Any: ...

    def predict(self, query: Query, candidates: Sequence[Candidate]) -> Estimate: ...

    def predict_batch(self, queries: Sequence[Query], candidates: Sequence[Candidate]) -> list[Estimate]: ...

    def is_fitted(self) -> bool: ...

    def save(self, path: str | os.PathLike[str]) -> None: ...


@runtime_checkable
class AsyncStrategy(Protocol):
    """A strategy with a native async prediction (LLM-calling strategies): the Router awaits it."""

    async def apredict(self, query: Query, candidates: Sequence[Candidate]) -> Estimate: ...


@runtime_checkable
class OnlineStrategy(Protocol):
    """A strategy that learns from feedback (``tags.online``), e.g. ``thompson``."""

    def update(self, query: Query, candidate: Candidate, quality: float) -> None: ...


@runtime_checkable
class LLMCallingStrategy(Protocol):
    """A strategy that asks an LLM while deciding (``tags.calls_llm``); callables are bound, not saved."""

    def bind_llm(self, llm: Any = None, *, async_llm: Any = None, **create_kwargs: Any) -> Any: ...


@runtime_checkable
class TrainedStrategy(Protocol):
    """A strategy that knows what it was trained on: the embedding model and the model names."""

    def trained_embedding_model(self) -> str | None: ...

    def trained_models(self) -> tuple[str, ...] | None: ...


class StrategyAbilities(typing.NamedTuple):
    """The optional abilities of one strategy, found once by :func:`validate_strategy`."""

    is_async: bool
    online: bool
    calls_llm: bool
    trained: bool


def validate_strategy(strategy: object, name: str | None = None) -> StrategyAbilities:
    """Check a strategy class or instance against the contract; the one validator there is.

    A class (to register) needs ``Params`` and every method of :data:`REQUIRED_METHODS`;
    an instance (to route with) needs ``predict`` and ``is_fitted``. Raises
    :class:`ConfigError` naming what is missing: ``tags``, ``Params``, a method, or the
    ability a tag promises (``online`` needs ``update``, ``calls_llm`` needs ``bind_llm``).
    """
    cls = strategy if isinstance(strategy, type) else type(strategy)
    label = f"{cls.__module__}:{cls.__qualname__}"
    tags = getattr(strategy, "tags", None)
    if not isinstance(tags, StrategyTags):
        raise ConfigError(f"{label}: tags must be a StrategyTags instance, got {type(tags).__name__}")
    if isinstance(strategy, type):
        params = getattr(cls, "Params", None)
        if not (isinstance(params, type) and issubclass(params, StrategyParams)):
            raise ConfigError(f"{label}: Params must be a StrategyParams subclass")
    required = REQUIRED_METHODS if isinstance(strategy, type) else ROUTING_METHODS
    missing = [m for m in required if not callable(getattr(strategy, m, None))]
    if missing:
        raise ConfigError(f"{label}: missing methods {missing}; subclass routeiq_core.BaseStrategy")
    abilities = StrategyAbilities(
        is_async=_has_method(strategy, AsyncStrategy),
        online=_has_method(strategy, OnlineStrategy),
        calls_llm=_has_method(strategy, LLMCallingStrategy),
        trained=_has_method(strategy, TrainedStrategy),
    )
    if tags.online and not abilities.online:
        raise ConfigError(f"{label}: tags.online is set but it has no update(query, candidate, quality) method")
    if tags.calls_llm and not abilities.calls_llm:
        raise ConfigError(f"{label}: tags.calls_llm is set but it has no bind_llm(llm) method")
    return abilities


def _has_method(obj: object, protocol: type) -> bool:
    names = [n for n in vars(protocol) if not n.startswith("_") and callable(getattr(protocol, n))]
    return all(callable(getattr(obj, n, None)) for n in names)


class BaseStrategy(Generic[P]):
    """Base class for strategies: parameter validation, fitted-state checks, save/load.

    Subclasses set ``name`` and ``tags``, give their parameters as the type argument
    (``class MyStrategy(BaseStrategy[MyParams])``, which also sets ``Params``; a nested
    ``class Params(StrategyParams)`` works too) and implement ``_fit(dataset)`` (if
    ``tags.requires_fit``) and ``_predict(query, candidates)``. Override
    ``_predict_batch`` for a vectorised batch path.
    """

    name: ClassVar[str] = ""
    tags: ClassVar[StrategyTags] = StrategyTags()
    Params: ClassVar[type[StrategyParams]] = StrategyParams
    #: Prior quality for a candidate model never seen in training.
    unknown_model_prior: ClassVar[float] = 0.5
    #: Whether ``fit`` learns soundly when each prompt has one model's outcome only (training from
    #: the decision log): True for per-model estimators that skip unknown (NaN) scores, False for
    #: methods that compare several models' outcomes on one prompt; None: not declared
    #: (``routeiq train --from-log`` then tries, and reports the error if fitting fails).
    partial_feedback: ClassVar[bool | None] = None
    #: Fitted arrays in which NaN means "unknown" (all others must be finite when loaded).
    nan_allowed: ClassVar[frozenset[str]] = frozenset()
    #: Fitted arrays of embeddings, (n, embedding_dim_), checked when loaded.
    embedding_arrays: ClassVar[tuple[str, ...]] = ("embeddings_",)
    #: Fitted arrays with one value per trained model on their last axis, checked when loaded.
    per_model_arrays: ClassVar[tuple[str, ...]] = ("model_mean_",)
    params: P

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "Params" in cls.__dict__:
            return
        for base in cls.__dict__.get("__orig_bases__", ()):
            for arg in typing.get_args(base):
                arg = getattr(arg, "__default__", arg)  # a generic subclass: its type variable's default
                if isinstance(arg, type) and issubclass(arg, StrategyParams):
                    cls.Params = arg
                    return

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
            self.params = cast(P, self.Params(**values))
        except ValidationError as exc:
            raise ConfigError(format_validation_error(exc, f"{type(self).__name__}: invalid parameters")) from None

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

    def fit(self, dataset: RoutingDataset) -> Self:
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

    def clone(self, **changes: Any) -> Self:
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

    def validate_state(self, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any], *, where: str = "") -> None:
        """Check loaded state before it is used (raises :class:`ArtifactError` naming the array).

        Every floating-point array must be finite, except NaN in :attr:`nan_allowed` arrays
        (unknown scores); ``embedding_dim_`` and ``models_`` must agree with the arrays built
        from them. Override to add a strategy's own consistency rules (call ``super()``).
        """
        from .errors import ArtifactError

        prefix = f"{where}: " if where else ""
        for name, arr in arrays.items():
            if arr.dtype.kind in "fc":
                values = arr[~np.isnan(arr)] if name in self.nan_allowed else arr
                if not np.all(np.isfinite(values)):
                    raise ArtifactError(f"{prefix}array {name!r} holds non-finite values (NaN or inf); "
                                        "the artifact is corrupt: train it again")
        dim = meta.get("embedding_dim_")
        if dim is not None:
            if not isinstance(dim, int) or dim < 1:
                raise ArtifactError(f"{prefix}embedding_dim_ must be a positive integer, got {type(dim).__name__}")
            for name in self.embedding_arrays:
                emb = arrays.get(name)
                if emb is not None and (emb.ndim != 2 or emb.shape[1] != dim):
                    raise ArtifactError(f"{prefix}array {name!r} has shape {emb.shape}, expected (n, {dim}) "
                                        "(embedding_dim_)")
        models = meta.get("models_")
        if models is not None:
            if not (isinstance(models, list) and all(isinstance(m, str) for m in models)):
                raise ArtifactError(f"{prefix}models_ must be a list of model names")
            for name in self.per_model_arrays:
                per_model = arrays.get(name)
                if per_model is not None and (per_model.ndim < 1 or per_model.shape[-1] != len(models)):
                    raise ArtifactError(f"{prefix}array {name!r} has shape {per_model.shape}, but there are "
                                        f"{len(models)} models (models_)")

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
    def load(cls, path: str | os.PathLike[str]) -> Self:
        """Read a strategy written by :meth:`save`."""
        from ._persist import load_strategy

        return cast(Self, load_strategy(path, expected=cls))

    # ------------------------------------------------------------------ what it was trained on
    def trained_embedding_model(self) -> str | None:
        """The sha256 (``model_id``) of the embedding model it was trained with, if it learned from one."""
        value = getattr(self, "embedding_model_", None)
        return None if value is None else str(value)

    def trained_models(self) -> tuple[str, ...] | None:
        """The model names it was trained on (``models_``), or None when it learned none."""
        models = getattr(self, "models_", None)
        return None if models is None else tuple(str(m) for m in models)

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
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
