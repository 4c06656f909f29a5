"""The example strategies pass RouteIQ's conformance kit, as any third-party plugin's would."""

from __future__ import annotations

import pytest

pytest.importorskip("routeiq_example", reason="install the example plugin: pip install -e ./plugins_example")

from routeiq_example import ClusterStrategy, RidgeStrategy

from routeiq_core.testing import check_plugin, parametrize_with_checks


@parametrize_with_checks(
    [
        ClusterStrategy(),
        ClusterStrategy(n_clusters=2, neighbours=1, shrinkage=0.0),
        RidgeStrategy(),
        RidgeStrategy(alpha=10.0, unknown_quality=0.2),
    ]
)
def test_conformance(strategy: object, check: object) -> None:
    """Each example strategy satisfies one conformance check."""
    check(strategy)  # type: ignore[operator]


def test_plugin_loads_cleanly() -> None:
    """The installed distribution registers its strategies, collides with nothing and imports nothing heavy."""
    report = check_plugin("routeiq-example")
    assert set(report.strategies) == {"example.cluster", "example.ridge"}
    assert report.distribution == "routeiq-example"
    assert report.heavy_imports == ()
