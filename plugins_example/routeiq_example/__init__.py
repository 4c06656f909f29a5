"""routeiq-example: a third-party RouteIQ plugin with two routing strategies.

RouteIQ finds this module through the entry point in ``pyproject.toml``::

    [project.entry-points.routeiq]
    example = "routeiq_example"

and calls its ``routeiq_register_strategies`` hook once, when a registry first
loads its plugins. Keep this module light: no scikit-learn / torch at import.
"""

from __future__ import annotations

from routeiq_core import hookimpl
from routeiq_core.hookspecs import RegisterStrategy

from ._cluster import ClusterStrategy
from ._ridge import RidgeStrategy

__all__ = ["ClusterStrategy", "RidgeStrategy", "routeiq_register_strategies"]


@hookimpl
def routeiq_register_strategies(register: RegisterStrategy) -> None:
    # Third-party names are namespaced ("example.") so they never collide with built-ins.
    register(ClusterStrategy)
    register(RidgeStrategy)
