"""RouterConfig: a whole router described in one JSON/YAML file or dict.

Example (YAML)::

    candidates: models.yaml        # or an inline list of candidates; omitted = built-in catalog
    strategy: centroid             # or a registered name; or artifact: ./knn-artifact
    profile: auto
    profiles:
      cheap-code: {cost_weight: 0.6, require: [code]}
    team_profiles: {research: premium}
    key_profiles: {batch-jobs: eco}

Relative paths are resolved against the config file's folder. The Router itself
never reads the environment: configuration is explicit. :func:`build_router` is the
one builder (``Router.from_config`` and the LiteLLM adapter use it); the environment
is read only by :class:`~routeiq_core.RouteIQSettings`, at the edges.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ._files import read_structured_file
from ._validation import format_validation_error
from .errors import ConfigError

if TYPE_CHECKING:
    from ._router import Router

__all__ = ["RouterConfig", "build_router", "load_config"]


class RouterConfig(BaseModel):
    """Everything a :class:`~routeiq_core.Router` is built from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    candidates: str | list[dict[str, Any]] | None = None
    strategy: str = "centroid"
    strategy_params: dict[str, Any] = Field(default_factory=dict)
    artifact: str | None = None
    profile: str = "auto"
    profiles: dict[str, dict[str, Any]] = Field(default_factory=dict)
    team_profiles: dict[str, str] = Field(default_factory=dict)
    key_profiles: dict[str, str] = Field(default_factory=dict)
    centroids: str | None = None


def read_config_data(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The router settings in a JSON/YAML file: the file itself, or its top-level ``routeiq:``
    section (so a LiteLLM proxy ``config.yaml`` works); relative paths resolved against its folder."""
    path = Path(path)
    data = read_structured_file(path, "router config", ConfigError)
    if isinstance(data, Mapping) and isinstance(data.get("routeiq"), Mapping):
        data = data["routeiq"]
    elif isinstance(data, Mapping) and "routeiq" in data and data["routeiq"] is None:
        data = {}
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: expected a mapping of router settings, got {type(data).__name__}")
    return _resolve_paths(dict(data), path.resolve().parent)


def _resolve_paths(data: dict[str, Any], base: Path) -> dict[str, Any]:
    for key in ("artifact", "centroids", "candidates"):
        value = data.get(key)
        if isinstance(value, str) and not Path(value).is_absolute():
            data[key] = str(base / value)
    return data


def load_config(source: str | os.PathLike[str] | Mapping[str, Any] | RouterConfig) -> RouterConfig:
    """A :class:`RouterConfig` from a file path (JSON or YAML), a dict, or a config."""
    if isinstance(source, RouterConfig):
        return source
    if isinstance(source, (str, os.PathLike)):
        return validate_config(RouterConfig, read_config_data(source), str(source))
    if not isinstance(source, Mapping):
        raise ConfigError(f"config: expected a mapping of router settings, got {type(source).__name__}")
    return validate_config(RouterConfig, _resolve_paths(dict(source), Path.cwd()), "config")


C = TypeVar("C", bound=BaseModel)


def validate_config(model: type[C], data: Mapping[str, Any], where: str) -> C:
    """``model`` validated from ``data``, or a one-line ConfigError naming ``where`` and each field."""
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, f"{where}: invalid {model.__name__}", root="config")) from None


def build_router(config: str | os.PathLike[str] | Mapping[str, Any] | RouterConfig, **overrides: Any) -> Router:
    """A :class:`~routeiq_core.Router` from a config (file, dict or object); ``overrides`` win.

    ``overrides`` are Router keyword arguments (``embedder=``, ``registry=``, ``extensions=``, ...).
    With ``artifact`` set, the strategy is loaded from it (``Router.from_artifact``).
    """
    from ._router import Router

    cfg = load_config(config)
    kwargs: dict[str, Any] = {
        "profile": cfg.profile, "profiles": cfg.profiles or None, "team_profiles": cfg.team_profiles or None,
        "key_profiles": cfg.key_profiles or None, "centroids": cfg.centroids,
    }
    kwargs.update(overrides)
    candidates = kwargs.pop("candidates", cfg.candidates)
    if cfg.artifact is not None:
        kwargs.pop("strategy", None)
        return Router.from_artifact(cfg.artifact, candidates, **kwargs)
    kwargs.setdefault("strategy", cfg.strategy)
    kwargs.setdefault("strategy_params", cfg.strategy_params or None)
    return Router(candidates, **kwargs)
