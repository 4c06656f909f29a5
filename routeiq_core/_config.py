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
never reads the environment: configuration is explicit.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ._files import read_structured_file
from .errors import ConfigError

__all__ = ["RouterConfig", "load_config"]


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

    def resolve_paths(self, base: Path) -> RouterConfig:
        """A copy with relative file paths made relative to ``base``."""
        def fix(value: str | None) -> str | None:
            if value is None or Path(value).is_absolute():
                return value
            return str(base / value)

        update: dict[str, Any] = {"artifact": fix(self.artifact), "centroids": fix(self.centroids)}
        if isinstance(self.candidates, str):
            update["candidates"] = fix(self.candidates)
        return self.model_copy(update=update)


def load_config(source: str | os.PathLike[str] | Mapping[str, Any] | RouterConfig) -> RouterConfig:
    """A :class:`RouterConfig` from a file path (JSON or YAML), a dict, or a config."""
    if isinstance(source, RouterConfig):
        return source
    base = Path.cwd()
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        data = read_structured_file(path, "router config", ConfigError)
        base = path.resolve().parent
        where = str(path)
    else:
        data, where = source, "config"
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a mapping of router settings, got {type(data).__name__}")
    try:
        config = RouterConfig.model_validate(dict(data))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{where}: invalid router config: {problems}") from None
    return config.resolve_paths(base)
