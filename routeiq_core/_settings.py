"""RouteIQSettings: every environment variable RouteIQ reads, in one pydantic-settings model.

The environment is read here and nowhere else, and only at the edges: the CLI, the
LiteLLM adapters, the plugin registry and the default embedder call
:meth:`RouteIQSettings.from_env`; a ``Router`` built in code never looks at it.

Precedence for a router's configuration, highest first::

    explicit arguments  >  environment (ROUTEIQ_*)  >  config file (ROUTEIQ_CONFIG)  >  defaults

:func:`effective_config` applies it and records where each value came from;
``routeiq config show`` prints that. ``docs/settings.md`` is generated from this model
(:func:`settings_markdown`), and a test fails when code reads a variable that is not here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import AliasChoices, BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ._config import RouterConfig, read_config_data, validate_config
from ._validation import format_validation_error
from .errors import ConfigError

__all__ = ["ENV_PREFIX", "ROUTER_FIELDS", "RouteIQSettings", "effective_config", "settings_markdown"]

ENV_PREFIX = "ROUTEIQ_"
#: Settings that override the same-named field of a router config file.
ROUTER_FIELDS = ("profile", "strategy", "artifact", "candidates", "centroids", "embedder", "cascade_margin",
                 "deadline_ms", "log", "log_prompts",
                 "log_embeddings", "state", "session_policy", "session_ttl_s", "policies", "telemetry", "prometheus",
                 "decision_hooks")

C = TypeVar("C", bound=RouterConfig)


class RouteIQSettings(BaseSettings):
    """Process-wide settings, from ``ROUTEIQ_*`` environment variables (or passed explicitly)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="forbid", populate_by_name=True)

    config: Path | None = Field(
        None,
        validation_alias=AliasChoices("ROUTEIQ_CONFIG", "ROUTEIQ_LITELLM_CONFIG", "config"),
        description="A router config file (JSON or YAML). A top-level `routeiq:` section is used when "
        "present, so this may be the LiteLLM proxy's own `config.yaml`. `ROUTEIQ_LITELLM_CONFIG` is an alias.",
    )
    profile: str | None = Field(None, description="The default profile (`auto`, `eco`, `premium`, `free`, "
                                "`reasoning` or a configured one).")
    strategy: str | None = Field(None, description="A registered strategy name (default `centroid`).")
    artifact: Path | None = Field(None, description="Directory of a trained strategy (`routeiq train --out`).")
    candidates: Path | None = Field(None, description="A JSON/YAML candidates file (default: the built-in "
                                    "catalog; in LiteLLM, the model group's deployments).")
    centroids: Path | None = Field(None, description="A centroid directory (`routeiq centroids build --out`).")
    deadline_ms: float | None = Field(None, gt=0, allow_inf_nan=False, description="The longest a decision "
                                      "waits for its embedding, in ms; past it, it is decided on the request's "
                                      "signals and the profile only (default: no limit; LiteLLM adapter: 2000).")
    log: SecretStr | None = Field(None, description="Decision log URL: `sqlite:///decisions.db` (embedded), "
                                  "`postgresql://USER:PASSWORD@HOST:PORT/DB` (shared), `jsonl:///PATH` or "
                                  "`memory://`. Unset: no log. Printed with the password hidden.")
    log_prompts: bool = Field(False, description="Store the routed prompt text in the decision log (default: "
                              "only its sha256 fingerprint).")
    log_embeddings: bool = Field(True, description="Store each query's embedding (float16) in the decision log, "
                                 "for `routeiq train --from-log`.")
    state: SecretStr | None = Field(None, description="Shared state store for sessions and experiments: "
                                    "`memory://` (default, per process) or `redis://[:PASSWORD@]HOST:PORT/DB` "
                                    "(`rediss://` for TLS), shared by every worker. Printed with the password hidden.")
    session_policy: Literal["upgrade-only", "sticky", "off"] | None = Field(
        None, description="How the turns of one conversation are routed: `upgrade-only` (default: never to a "
        "weaker tier), `sticky` (the same candidate while eligible) or `off`.")
    session_ttl_s: float | None = Field(None, gt=0, le=7 * 86400, allow_inf_nan=False,
                                        description="How long a session's pin lives after its last turn "
                                        "(default 1800 s).")
    policies: Path | None = Field(None, description="A policy file (YAML/JSON rules and budgets; see "
                                  "docs/operations/policies.md).")
    telemetry: bool | None = Field(None, description="OpenTelemetry spans and metrics (default on; a no-op "
                                   "without an OpenTelemetry SDK).")
    prometheus: bool | None = Field(None, description="Prometheus metrics (default off; needs prometheus-client).")
    decision_hooks: bool | None = Field(None, description="Call plugins' `routeiq_on_decision` hooks (default off).")
    prometheus_multiproc_dir: Path | None = Field(
        None, validation_alias=AliasChoices("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir"),
        description="prometheus-client's own variable: with it set (before the workers start), RouteIQ's "
        "Prometheus metrics add up every worker's values (multiprocess mode).")
    dashboard_token: SecretStr | None = Field(None, description="The dashboard's access token (`routeiq "
                                              "dashboard`; default: a new random one, printed at start).")
    dashboard: bool = Field(False, description="In the LiteLLM proxy: serve the dashboard at `/routeiq/ui/`, "
                            "behind the proxy's master key (needs a decision log and `routeiq[ui]`).")
    embedder: Literal["full", "static", "cascade"] | None = Field(
        None, description="Which embedder routes: `full` (the ONNX model, default), `static` (the distilled "
        "word-piece table: no forward pass) or `cascade` (static, the full model when the category is uncertain).")
    cascade_margin: float | None = Field(None, ge=0, le=1, allow_inf_nan=False,
                                         description="The cascade escalates to the full model below this "
                                         "category margin (default 0.02).")
    embedding_model: Path | None = Field(None, description="Another all-MiniLM-style ONNX file instead of "
                                         "the pinned one; its sha256 then identifies the model.")
    cache_dir: Path | None = Field(None, description="Folder of the embedding cache used by `train` and "
                                   "`eval` (default: `~/.cache/routeiq`).")
    strict_plugins: bool = Field(False, description="Make a plugin that fails to load an error instead of "
                                 "a warning.")
    load_plugins: str | None = Field(None, description="Comma-separated plugins to load (entry-point or "
                                     "distribution names); empty loads none. RouteIQ's built-ins always load.")

    @field_validator("strict_plugins", "log_prompts", mode="before")
    @classmethod
    def _blank_is_false(cls, value: Any) -> Any:
        return False if isinstance(value, str) and not value.strip() else value

    @field_validator("config", "artifact", "candidates", "centroids", "embedding_model", "cache_dir", "policies",
                     "prometheus_multiproc_dir", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @classmethod
    def from_env(cls) -> RouteIQSettings:
        """The settings from the environment; a bad value is a ConfigError naming the variable."""
        try:
            return cls()
        except ValidationError as exc:
            raise ConfigError(format_validation_error(exc, "invalid RouteIQ environment variable", root="env",
                                                      show_input=False)) from None

    @property
    def allowed_plugins(self) -> frozenset[str] | None:
        """``load_plugins`` as a set of names; None when unset (load all)."""
        if self.load_plugins is None:
            return None
        return frozenset(p.strip() for p in self.load_plugins.split(",") if p.strip())

    def source_of(self, name: str) -> str:
        """``env <VARIABLE>`` for a value from the environment, else ``default``."""
        return f"env {env_name(name, type(self))}" if name in self.model_fields_set else "default"


def _env_keys(name: str, cls: type[BaseSettings]) -> list[str]:
    alias = cls.model_fields[name].validation_alias
    if isinstance(alias, AliasChoices):  # the environment's spellings: ROUTEIQ_* and other tools' own (upper case)
        return [str(a) for a in alias.choices if str(a).startswith(ENV_PREFIX) or str(a).isupper()]
    return [ENV_PREFIX + name.upper()]


def settings_with_config(config: str | Path | None = None) -> RouteIQSettings:
    """The environment's settings, with an explicit config file (e.g. ``--config``) taking precedence."""
    settings = RouteIQSettings.from_env()
    return settings if config is None else settings.model_copy(update={"config": Path(config)})


def env_name(name: str, cls: type[BaseSettings] = RouteIQSettings) -> str:
    """The environment variable of setting ``name``."""
    return _env_keys(name, cls)[0]


def env_names() -> frozenset[str]:
    """Every environment variable RouteIQ reads."""
    return frozenset(k for name in RouteIQSettings.model_fields for k in _env_keys(name, RouteIQSettings))


def effective_config(
    model: type[C] = RouterConfig,  # type: ignore[assignment]
    *,
    settings: RouteIQSettings | None = None,
    explicit: Mapping[str, Any] | None = None,
) -> tuple[C, dict[str, str]]:
    """The router config after precedence (arguments > environment > config file > defaults).

    Returns the validated ``model`` (``RouterConfig`` or a subclass such as the LiteLLM
    adapter's settings) and, per field, where its value came from.
    """
    settings = settings if settings is not None else RouteIQSettings.from_env()
    data: dict[str, Any] = {}
    sources = dict.fromkeys(model.model_fields, "default")
    where = "settings"
    if settings.config is not None:
        where = str(settings.config)
        file_data = read_config_data(settings.config, "RouteIQ settings file")
        data.update(file_data)
        sources.update(dict.fromkeys(file_data, f"file {settings.config}"))
    for name in getattr(model, "env_overrides", ROUTER_FIELDS):
        if name in settings.model_fields_set and name in model.model_fields:
            value = getattr(settings, name)
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            data[name] = str(value) if isinstance(value, Path) else value
            sources[name] = settings.source_of(name)
    for name, value in (explicit or {}).items():
        if value is not None:
            data[name] = value
            sources[name] = "argument"
    return validate_config(model, data, where), sources


def masked(value: Any) -> Any:
    """A value fit to print: secrets as ``********``, paths as strings."""
    if isinstance(value, SecretStr):
        return "********" if value.get_secret_value() else ""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return value


def settings_markdown() -> str:
    """The settings reference table of ``docs/settings.md``, generated from the model."""
    rows = ["| variable | type | default | meaning |", "|---|---|---|---|"]
    for name, info in RouteIQSettings.model_fields.items():
        kind = str(info.annotation).replace("pathlib.", "").replace("typing.", "").replace("<class '", "")
        kind = kind.replace("'>", "").replace("|", "or")
        default = json.dumps(masked(info.default))
        names = " / ".join(f"`{k}`" for k in _env_keys(name, RouteIQSettings))
        rows.append(f"| {names} | {kind} | `{default}` | {info.description or ''} |")
    return "\n".join(rows) + "\n"

