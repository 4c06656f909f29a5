"""Adapter settings: the router configuration plus what only the LiteLLM adapter needs.

:class:`AdapterSettings` extends :class:`routeiq_core.RouterConfig` with the adapter's own
fields. In code, pass them to :func:`routeiq_litellm.install` as keyword arguments. In the
proxy, where everything comes from config, point ``ROUTEIQ_CONFIG`` (or its alias
``ROUTEIQ_LITELLM_CONFIG``) at a YAML or JSON file (it may be the proxy's own
``config.yaml``: a top-level ``routeiq:`` section is used); ``ROUTEIQ_PROFILE`` and the other
``ROUTEIQ_*`` variables override the file (see ``docs/settings.md``).

In the adapter the candidates are the model group's deployments, so ``candidates`` here is
a mapping of hints (tier, quality, prices, ...) by deployment id, group name or model.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import Field, model_validator

from routeiq_core._config import RouterConfig, read_config_data, validate_config
from routeiq_core.errors import ConfigError

__all__ = ["AdapterSettings", "load_settings"]


class AdapterSettings(RouterConfig):
    """Everything the adapter needs to build RouteIQ routers for LiteLLM model groups."""

    #: Settings the environment may override (candidates come from the deployments here).
    env_overrides: ClassVar[tuple[str, ...]] = ("profile", "strategy", "artifact", "centroids", "embedder",
                                                 "cascade_margin", "deadline_ms",
                                                 "log", "log_prompts", "log_embeddings", "state",
                                                 "session_policy", "session_ttl_s", "policies", "telemetry",
                                                 "prometheus", "decision_hooks")

    deadline_ms: float | None = Field(
        2000.0, gt=0, allow_inf_nan=False,
        description="The longest a decision waits for its embedding; a request's own timeout lowers "
        "it to a quarter of that timeout.",
    )

    candidate_hints: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Candidate fields (tier, quality, prices, ...) by deployment id, group, model; "
        "written as `candidates:` in a settings file.",
    )
    profile_header: str = Field(
        "x-routeiq-profile", description="Request header that selects a profile."
    )
    metadata_key: str = Field(
        "routeiq", description="Request-metadata key the decision is stamped under."
    )
    threads: int = Field(
        default_factory=lambda: min(4, os.cpu_count() or 1),
        ge=1,
        le=64,
        description="Threads that run decisions for async requests (off the event loop).",
    )

    @model_validator(mode="before")
    @classmethod
    def _candidates_are_hints(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "candidates" in data:
            data = dict(data)
            hints = data.pop("candidates")
            if hints is None:
                return data
            if not isinstance(hints, Mapping):
                raise ValueError(
                    "in the LiteLLM adapter the candidates are the model group's deployments; "
                    "'candidates' takes hints by deployment id, group name or model "
                    f"(a mapping), got {type(hints).__name__}"
                )
            data["candidate_hints"] = {**dict(hints), **dict(data.get("candidate_hints") or {})}
        return data


def load_settings(
    source: AdapterSettings | Mapping[str, Any] | str | os.PathLike[str] | None = None,
) -> AdapterSettings:
    """Settings from an object, a mapping, a file, or ``None`` (the environment and its config file)."""
    if isinstance(source, AdapterSettings):
        return source
    if source is None:
        from routeiq_core._settings import effective_config

        return effective_config(AdapterSettings)[0]
    if isinstance(source, (str, os.PathLike)):
        return validate_config(AdapterSettings, read_config_data(source, "RouteIQ settings file"), str(source))
    if not isinstance(source, Mapping):
        raise ConfigError(
            f"settings: expected a mapping of RouteIQ settings, got {type(source).__name__}"
        )
    return validate_config(AdapterSettings, source, "settings")
