"""Adapter settings: which strategy and profiles RouteIQ uses inside LiteLLM.

In code, pass them to :func:`routeiq_litellm.install` as keyword arguments. In the proxy,
where everything comes from config, point ``ROUTEIQ_LITELLM_CONFIG`` at a YAML or JSON
file (it may be the proxy's own ``config.yaml``: a top-level ``routeiq:`` section is used);
without it the defaults apply.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from routeiq_core._files import read_structured_file
from routeiq_core.errors import ConfigError

__all__ = ["ENV_CONFIG", "AdapterSettings", "load_settings"]

ENV_CONFIG = "ROUTEIQ_LITELLM_CONFIG"


class AdapterSettings(BaseModel):
    """Everything the adapter needs to build RouteIQ routers for LiteLLM model groups."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    strategy: str = Field("centroid", description="A registered strategy name.")
    strategy_params: dict[str, Any] = Field(default_factory=dict)
    artifact: str | None = Field(
        None, description="Directory of a trained strategy (routeiq train)."
    )
    centroids: str | None = Field(None, description="Centroid directory; default: the shipped one.")
    profile: str = "auto"
    profiles: dict[str, dict[str, Any]] = Field(default_factory=dict)
    team_profiles: dict[str, str] = Field(default_factory=dict)
    key_profiles: dict[str, str] = Field(default_factory=dict)
    candidates: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Candidate fields (tier, quality, prices, ...) by deployment id, group, model.",
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


def load_settings(
    source: AdapterSettings | Mapping[str, Any] | str | os.PathLike[str] | None = None,
) -> AdapterSettings:
    """Settings from an object, a mapping, a file, or ``None`` (``ROUTEIQ_LITELLM_CONFIG``)."""
    if isinstance(source, AdapterSettings):
        return source
    where = "settings"
    if source is None:
        env = os.environ.get(ENV_CONFIG)
        if not env:
            return AdapterSettings()
        source = env
    if isinstance(source, (str, os.PathLike)):
        where = str(source)
        data = read_structured_file(Path(source), "RouteIQ settings file", ConfigError)
        if isinstance(data, Mapping) and "routeiq" in data:
            data = data["routeiq"]
        source = data if data is not None else {}
    if not isinstance(source, Mapping):
        raise ConfigError(
            f"{where}: expected a mapping of RouteIQ settings, got {type(source).__name__}"
        )
    try:
        return AdapterSettings.model_validate(dict(source))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"{where}: invalid RouteIQ settings: {problems}") from None
