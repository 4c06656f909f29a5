"""Building routers: from a trained artifact, from a config, from a template.

The functions take the Router class as an argument, so this module does not import
``_router`` (which would make an import cycle) and ``Router``'s classmethods stay thin.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from ._candidates import CandidatesLike
from ._config import RouterConfig, load_config
from ._embedding import default_embedder
from ._model_coverage import check_coverage
from ._persist import load_strategy
from ._registry import StrategyRegistry, default_registry
from ._strategy import TrainedStrategy
from .errors import ConfigError

if TYPE_CHECKING:
    from ._router import Router

__all__ = ["router_from_artifact", "router_from_config"]

R = TypeVar("R", bound="Router")


def router_from_artifact(cls: type[R], path: str | os.PathLike[str], candidates: CandidatesLike | None,
                         registry: StrategyRegistry | None, kwargs: dict[str, Any]) -> R:
    """``cls`` with the strategy of an artifact: same embedding model, and some candidate it was trained on."""
    embedder = kwargs["embedder"] = kwargs.get("embedder") or default_embedder()
    strategy = load_strategy(path, registry=registry or default_registry(), embedding_model=embedder.model_id)
    calibration = getattr(strategy, "calibration", None)
    if calibration is not None:  # the calibrated profile, unless the caller defines that profile itself
        from ._calibration import calibrated_profile, check_calibration_candidates

        given = dict(kwargs.get("profiles") or {})
        if calibration.profile not in given:
            kwargs["profiles"] = {**given, calibration.profile: calibrated_profile(calibration)}
    router = cls(candidates, strategy=strategy, registry=registry, **kwargs)
    if calibration is not None:
        check_calibration_candidates(calibration, router.candidates, str(path))
    trained = strategy.trained_models() if isinstance(strategy, TrainedStrategy) else None
    if trained:
        check_coverage(strategy.name, router.candidates, trained)
    return router


def decision_logger(log: Any, registry: StrategyRegistry | None = None) -> Any:
    """The DecisionLogger for ``Router(log=...)`` (None for no log); imports the log package only when used."""
    if log is None:
        return None
    from .decisionlog import DecisionLogger

    return log if isinstance(log, DecisionLogger) else DecisionLogger(log, registry=registry)


def operations_extensions(cfg: RouterConfig) -> list[Any]:
    """The extensions a config asks for, in their order after the caller's own: sessions, experiments,
    policies, exploration, then telemetry (OpenTelemetry, Prometheus, decision hooks); the decision
    log is added last by the Router itself. Sessions and budgets share one state store."""
    out: list[Any] = []
    from .state import open_store

    store = open_store(cfg.state) if (cfg.session_policy != "off" or cfg.policies is not None) else None
    if cfg.session_policy != "off":
        from ._sessions import Sessions

        out.append(Sessions(store, policy=cfg.session_policy, ttl_s=cfg.session_ttl_s))
    if cfg.experiments:
        from .experiments import Experiments

        out.append(Experiments(cfg.experiments))
    if cfg.policies is not None:  # after the arms: a policy has the last word on what may serve
        from .policies import Policies

        out.append(Policies(cfg.policies, store=store))
    if cfg.exploration is not None:
        from ._exploration import Exploration

        out.append(Exploration(**cfg.exploration.model_dump()))
    if cfg.telemetry:  # after every extension that changes the decision: they see it as served
        from .telemetry import OpenTelemetryExtension

        out.append(OpenTelemetryExtension())
    if cfg.prometheus:
        from .telemetry import PrometheusMetrics

        out.append(PrometheusMetrics())
    if cfg.decision_hooks:
        from .telemetry import DecisionHooks

        out.append(DecisionHooks())
    return out


def named_embedder(name: str, cascade_margin: float | None = None) -> Any:
    """The embedder a config names: ``full`` (the process-wide ONNX embedder), ``static`` or ``cascade``."""
    if name == "full":
        return default_embedder()
    from ._static_embedding import shared_static

    if name == "static":
        return shared_static()
    if name == "cascade":
        from ._cascade import DEFAULT_MARGIN, CascadeEmbedder

        return CascadeEmbedder(shared_static(), default_embedder(),
                               margin=DEFAULT_MARGIN if cascade_margin is None else cascade_margin)
    raise ConfigError(f"embedder: expected full, static or cascade, got {name!r}")


def router_from_config(cls: type[R], config: str | os.PathLike[str] | Mapping[str, Any] | RouterConfig,
                       overrides: Mapping[str, Any]) -> R:
    """``cls`` from a config (file, dict, object); ``overrides`` are Router keyword arguments and win."""
    cfg = load_config(config)
    kwargs: dict[str, Any] = {"profile": cfg.profile, "profiles": cfg.profiles or None, "centroids": cfg.centroids,
                              "team_profiles": cfg.team_profiles or None, "key_profiles": cfg.key_profiles or None,
                              "deadline_ms": cfg.deadline_ms}
    if cfg.log is not None and "log" not in overrides:
        from .decisionlog import DecisionLogger

        kwargs["log"] = DecisionLogger(cfg.log, store_prompts=cfg.log_prompts, store_embeddings=cfg.log_embeddings,
                                       registry=overrides.get("registry"))
    if cfg.embedder != "full" and "embedder" not in overrides:
        kwargs["embedder"] = named_embedder(cfg.embedder, cfg.cascade_margin)
    kwargs.update(overrides)
    kwargs["extensions"] = [*kwargs.get("extensions", ()), *operations_extensions(cfg)]
    candidates = kwargs.pop("candidates", cfg.candidates)
    if cfg.artifact is not None:
        kwargs.pop("strategy", None)
        registry = kwargs.pop("registry", None)
        return router_from_artifact(cls, cfg.artifact, candidates, registry, kwargs)
    kwargs.setdefault("strategy", cfg.strategy)
    kwargs.setdefault("strategy_params", cfg.strategy_params or None)
    return cls(candidates, **kwargs)
