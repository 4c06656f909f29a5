"""Every registered strategy passes the conformance kit (a new built-in or plugin gets every check)."""

from __future__ import annotations

import warnings

from routeiq_core import default_registry
from routeiq_core.testing import conformance_instances, parametrize_with_checks


def _all_strategies() -> list[object]:
    with warnings.catch_warnings():
        # A broken plugin is reported by tests/plugins; here, check what did load.
        warnings.simplefilter("ignore")
        registry = default_registry()
        names = registry.names()
    return [inst for name in names for inst in conformance_instances(registry.get(name))]


@parametrize_with_checks(_all_strategies())
def test_strategy_conformance(strategy: object, check: object) -> None:
    """The strategy satisfies one conformance check."""
    check(strategy)  # type: ignore[operator]
