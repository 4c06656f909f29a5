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
never reads the environment: configuration is explicit. ``Router.from_config`` is the
one builder (the CLI and the LiteLLM adapter use it); the environment
is read only by :class:`~routeiq_core.RouteIQSettings`, at the edges.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ._files import read_structured_file
from ._validation import format_validation_error
from .errors import ConfigError
from .experiments._config import ExperimentConfig

__all__ = ["RouterConfig", "load_config", "read_config_data", "validate_config"]


class ExplorationConfig(BaseModel):
    """``exploration:`` in a router config (see :class:`~routeiq_core.Exploration`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    epsilon: float = Field(0.05, ge=0.0, le=1.0, allow_inf_nan=False)
    top_k: int = Field(3, ge=2, le=64)
    max_cost_ratio: float = Field(3.0, ge=1.0)
    seed: int | None = None


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
    embedder: Literal["full", "static", "cascade"] = Field(
        "full", description="full: the ONNX model (default); static: the distilled word-piece table, no forward "
        "pass; cascade: static, and the full model when the category is uncertain.")
    cascade_margin: float | None = Field(None, ge=0, le=1, allow_inf_nan=False,
                                         description="The cascade escalates below this category margin (0.02).")
    deadline_ms: float | None = Field(None, gt=0, allow_inf_nan=False,
                                      description="The longest a decision waits for its embedding.")
    log: str | None = Field(None, description="Decision log URL (sqlite:///..., postgresql://..., jsonl:///..., "
                            "memory://).")
    log_prompts: bool = Field(False, description="Store the routed text in the decision log (off: only its sha256).")
    log_embeddings: bool = Field(True, description="Store each query's embedding (float16) in the decision log.")
    state: str | None = Field(None, description="Shared state store URL: memory:// (default) or "
                              "redis://[:PASSWORD@]HOST:PORT/DB (rediss:// for TLS).")
    session_policy: Literal["upgrade-only", "sticky", "off"] = Field(
        "upgrade-only", description="How the turns of a conversation are routed: upgrade-only, sticky or off.")
    session_ttl_s: float = Field(1800.0, gt=0, le=7 * 86400, allow_inf_nan=False,
                                 description="How long a session's pin lives after its last turn, in seconds.")
    policies: str | dict[str, Any] | None = Field(None, description="Policy rules and budgets: a YAML/JSON file "
                                                  "or the mapping itself (see docs/operations/policies.md).")
    experiments: list[ExperimentConfig] = Field(default_factory=list, description="A/B and shadow experiments "
                                                "(see docs/operations/experiments.md).")
    telemetry: bool = Field(True, description="OpenTelemetry spans and metrics through the global providers "
                            "(a no-op without opentelemetry-api or an SDK).")
    prometheus: bool = Field(False, description="Prometheus metrics (prometheus-client).")
    decision_hooks: bool = Field(False, description="Call the plugins' routeiq_on_decision hooks.")
    exploration: ExplorationConfig | None = Field(None, description="Serve a close alternative now and then, with "
                                                  "logged propensities, for off-policy evaluation.")


def read_config_data(path: str | os.PathLike[str], what: str = "router config") -> dict[str, Any]:
    """The router settings in a JSON/YAML file: the file itself, or its top-level ``routeiq:``
    section (so a LiteLLM proxy ``config.yaml`` works); relative paths resolved against its folder."""
    path = Path(path)
    data = read_structured_file(path, what, ConfigError)
    if isinstance(data, Mapping) and "routeiq" in data:
        data = data["routeiq"]
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: expected a mapping of router settings, got {type(data).__name__}")
    return _resolve_paths(dict(data), path.resolve().parent)


def _resolve_paths(data: dict[str, Any], base: Path) -> dict[str, Any]:
    for key in ("artifact", "centroids", "candidates", "policies"):
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
