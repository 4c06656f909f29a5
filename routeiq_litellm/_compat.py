"""One place that knows which LiteLLM Router API generation it is talking to.

* litellm <= 1.108: ``set_custom_routing_strategy``, ``get_model_list``, ``cooldown_cache``,
  ``health_state_cache``, ``routing_strategy`` attributes.
* litellm >= 1.109: ``register_plugin`` and the entry points ``registry()``, ``health()``,
  ``settings()`` (the old attributes still exist but are deprecated in 1.110).

Everything is feature-detected on the router's class, never by version string, and only
public methods are called: the adapter never patches ``litellm.Router``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from routeiq_core.errors import MissingDependencyError

__all__ = [
    "aactive_cooldown_ids",
    "active_cooldown_ids",
    "bind_strategy",
    "group_deployments",
    "import_litellm",
    "is_blocked",
    "litellm_version",
    "routing_strategy_name",
    "unhealthy_ids",
]

Deployment = Mapping[str, Any]


def import_litellm() -> Any:
    """Import litellm (5-7 s the first time), with a clear error when it is not installed."""
    try:
        import litellm
    except ImportError:
        raise MissingDependencyError(
            "routeiq_litellm needs LiteLLM: pip install 'routeiq[litellm]' "
            "(or 'routeiq[proxy]' for the LiteLLM proxy)"
        ) from None
    return litellm


def litellm_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("litellm")
    except PackageNotFoundError:  # litellm-core ships the same import package
        try:
            return version("litellm-core")
        except PackageNotFoundError:
            return "unknown"


def has_entry_points(router: Any) -> bool:
    """True for the 1.109+ API (``register_plugin``, ``registry()``, ``health()``)."""
    return hasattr(type(router), "register_plugin")


def bind_strategy(router: Any, strategy: Any) -> str:
    """Bind a CustomRoutingStrategyBase with the router's public API; returns the method used."""
    if has_entry_points(router):
        router.register_plugin(strategy)
        return "register_plugin"
    router.set_custom_routing_strategy(strategy)
    return "set_custom_routing_strategy"


def routing_strategy_name(router: Any) -> str | None:
    """The router's configured ``routing_strategy`` (changing it unbinds a custom strategy)."""
    if has_entry_points(router):
        return getattr(router.settings(), "routing_strategy", None)
    return getattr(router, "routing_strategy", None)


def group_deployments(router: Any, model: str) -> list[Deployment]:
    """The deployments serving ``model`` (a group name, alias or wildcard match); [] if unknown."""
    if has_entry_points(router):
        found = router.registry().deployments(model)
    else:
        found = router.get_model_list(model_name=model)
    return [d for d in (found or ()) if isinstance(d, Mapping)]


def all_deployments(router: Any) -> list[Deployment]:
    if has_entry_points(router):
        return list(router.registry().all())
    return list(router.model_list)


def _cooldown_store(router: Any) -> Any:
    if has_entry_points(router):
        return router.health().cooldowns
    return router.cooldown_cache


def active_cooldown_ids(router: Any, ids: Sequence[str]) -> dict[str, float]:
    """Deployment id -> cooldown seconds, for the ids cooling down right now."""
    active = _cooldown_store(router).get_active_cooldowns(list(ids), None)
    return _cooldown_map(active)


async def aactive_cooldown_ids(router: Any, ids: Sequence[str]) -> dict[str, float]:
    """Async twin of :func:`active_cooldown_ids` (reads Redis-backed cooldowns without blocking)."""
    active = await _cooldown_store(router).async_get_active_cooldowns(list(ids), None)
    return _cooldown_map(active)


def _cooldown_map(active: Any) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in active or ():
        try:
            dep_id, value = item
        except (TypeError, ValueError):
            continue
        seconds = value.get("cooldown_time", 0.0) if isinstance(value, Mapping) else 0.0
        out[str(dep_id)] = float(seconds or 0.0)
    return out


def unhealthy_ids(router: Any) -> set[str]:
    """Deployments the background health checks marked unhealthy (when the router uses them)."""
    if has_entry_points(router):
        settings = router.settings()
        if not getattr(settings, "enable_health_check_routing", False):
            return set()
        cache = router.health().health_checks
    else:
        if not getattr(router, "enable_health_check_routing", False):
            return set()
        cache = getattr(router, "health_state_cache", None)
    if cache is None:
        return set()
    try:
        return {str(i) for i in cache.get_unhealthy_deployment_ids(parent_otel_span=None)}
    except Exception:  # health state is advisory; never fail a pick over it
        return set()


def is_blocked(deployment: Deployment) -> bool:
    """An admin paused this deployment (``model_info.blocked``)."""
    info = deployment.get("model_info")
    return isinstance(info, Mapping) and info.get("blocked") is True


def deployment_id(deployment: Deployment) -> str:
    info = deployment.get("model_info")
    if isinstance(info, Mapping) and info.get("id") is not None:
        return str(info["id"])
    raise KeyError("deployment has no model_info.id")
