"""``install(router)``: bind RouteIQ to a ``litellm.Router`` with LiteLLM's public API."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from routeiq_core import Router
from routeiq_core._config import validate_config
from routeiq_core.errors import ConfigError

from ._compat import all_deployments, bind_strategy, group_deployments
from ._engine import RoutingEngine
from .candidates import ModelInfoLookup
from .settings import AdapterSettings, load_settings

if TYPE_CHECKING:
    from .strategy import RouteIQRoutingStrategy

__all__ = ["install"]

log = logging.getLogger("routeiq.litellm")


def make_engine(
    routeiq: Any = None,
    *,
    settings: AdapterSettings | Mapping[str, Any] | str | None = None,
    lookup: ModelInfoLookup | None = None,
    **options: Any,
) -> RoutingEngine:
    """A :class:`RoutingEngine` from settings plus keyword overrides.

    ``settings``: an object, a mapping, a file, or ``None`` for ``ROUTEIQ_LITELLM_CONFIG``.
    """
    base = load_settings(settings)
    if options:
        base = validate_config(AdapterSettings, {**base.model_dump(), **options}, "routeiq_litellm options")
    if routeiq is not None and not isinstance(routeiq, Router):
        raise ConfigError(
            f"routeiq: expected a routeiq_core.Router (or None), got {type(routeiq).__name__}"
        )
    return RoutingEngine(base, routeiq=routeiq, lookup=lookup)


def add_outcome_recorder(engine: RoutingEngine) -> None:
    """Record every routed call's outcome in the engine's decision log (once per engine)."""
    import litellm

    from .outcomes import OutcomeRecorder

    if not any(isinstance(cb, OutcomeRecorder) and cb.engine is engine for cb in litellm.callbacks):
        litellm.callbacks.append(OutcomeRecorder(engine))


def install(
    router: Any,
    routeiq: Any = None,
    *,
    settings: AdapterSettings | Mapping[str, Any] | str | None = None,
    engine: RoutingEngine | None = None,
    warm_up: bool = True,
    **options: Any,
) -> RouteIQRoutingStrategy:
    """Let RouteIQ choose the deployment for every request of ``router``.

    Binds a :class:`~routeiq_litellm.strategy.RouteIQRoutingStrategy` with
    ``router.register_plugin`` (litellm >= 1.109) or ``router.set_custom_routing_strategy``
    (earlier); ``litellm.Router`` itself is never patched.

    Args:
        router: a ``litellm.Router``.
        routeiq: optional :class:`routeiq_core.Router` to reuse (strategy, embedder, profiles;
            its candidates become hints for deployments named alike).
        settings: :class:`AdapterSettings`, a mapping, or a YAML/JSON file path.
        engine: share one engine between several routers (e.g. the proxy binder).
        warm_up: build the RouteIQ routers and load the embedding model now, so that
            configuration errors raise here rather than surface as per-request fallbacks.
        **options: any :class:`AdapterSettings` field, e.g. ``profile="eco"``,
            ``team_profiles={"team-a": "premium"}``, ``candidates={"my-id": {"tier": 4}}``.

    Returns:
        The bound strategy (``strategy.engine`` holds the RouteIQ routers).

    Note:
        Changing the router's ``routing_strategy`` later (``update_settings``) silently
        drops a custom strategy in LiteLLM; call ``install`` again afterwards.
    """
    if not (hasattr(router, "register_plugin") or hasattr(router, "set_custom_routing_strategy")):
        raise ConfigError(
            f"install() expects a litellm.Router, got {type(router).__name__}; "
            "build one with litellm.Router(model_list=[...])"
        )
    from .strategy import RouteIQRoutingStrategy

    if engine is None:
        engine = make_engine(routeiq, settings=settings, **options)
    elif routeiq is not None or settings is not None or options:
        raise ConfigError("pass either engine= or routeiq/settings/options to install(), not both")
    strategy = RouteIQRoutingStrategy(router, engine)
    method = bind_strategy(router, strategy)
    if engine.settings.log is not None or engine.decision_log is not None:
        add_outcome_recorder(engine)
    strategy.bound_with = method
    log.info("routeiq: bound to litellm.Router %#x via %s", id(router), method)
    if warm_up:
        groups = sorted({str(d.get("model_name")) for d in all_deployments(router)})
        for group in groups:
            deployments = group_deployments(router, group)
            if deployments:  # a bad candidate hint or a broken model fails here, loudly, at startup
                engine.warm_up(deployments)
    return strategy
