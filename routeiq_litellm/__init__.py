"""RouteIQ inside LiteLLM: a CustomRoutingStrategyBase adapter, proxy plugins, and client adapters.

``import routeiq_litellm`` imports neither litellm nor openai: each name loads its module on
first use, so the client adapters work without LiteLLM installed.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "AdapterSettings",
    "AsyncRoutedClient",
    "Attempt",
    "NoHealthyDeploymentError",
    "RouteIQRoutingPlugin",
    "RouteIQRoutingStrategy",
    "RoutedClient",
    "RoutedResult",
    "Routing",
    "UnknownModelGroupError",
    "arouted_call",
    "decision_of",
    "install",
    "is_retryable",
    "load_settings",
    "make_engine",
    "routed_call",
    "routing_of",
]

_LOCATIONS = {
    "AdapterSettings": "settings",
    "load_settings": "settings",
    "NoHealthyDeploymentError": "errors",
    "UnknownModelGroupError": "errors",
    "install": "_install",
    "make_engine": "_install",
    "RouteIQRoutingStrategy": "strategy",
    "RouteIQRoutingPlugin": "plugin",
    "RoutedClient": "clients",
    "AsyncRoutedClient": "clients",
    "decision_of": "clients",
    "routed_call": "clients",
    "arouted_call": "clients",
    "routing_of": "clients",
    "Attempt": "clients",
    "RoutedResult": "clients",
    "Routing": "clients",
    "is_retryable": "clients",
}


def __getattr__(name: str) -> Any:
    module = _LOCATIONS.get(name)
    if module is None:
        raise AttributeError(f"module 'routeiq_litellm' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
