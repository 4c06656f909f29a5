"""Conformance kit for strategies and plugins (public; imports pytest only when asked to).

In a plugin's test suite::

    from routeiq_core.testing import parametrize_with_checks
    from my_plugin import MyStrategy

    @parametrize_with_checks([MyStrategy(), MyStrategy(k=3)])
    def test_conformance(strategy, check):
        check(strategy)

``check_strategy(s)`` runs the same checks without pytest; ``make_toy_dataset``
builds a small in-memory routing problem; ``check_plugin("my-dist")`` loads a
plugin in a fresh interpreter and checks what it registers and imports.
"""

from ._checks import (
    ALL_CHECKS,
    check_strategy,
    conformance_instances,
    parametrize_with_checks,
    strategy_checks,
)
from ._fake_llm import FakeCall, FakeLLM, FakeRule
from ._plugin_check import HEAVY_MODULES, PluginReport, check_plugin
from ._toy import make_toy_dataset, toy_candidates, toy_queries

__all__ = [
    "ALL_CHECKS",
    "HEAVY_MODULES",
    "FakeCall",
    "FakeLLM",
    "FakeRule",
    "PluginReport",
    "check_plugin",
    "check_strategy",
    "conformance_instances",
    "make_toy_dataset",
    "parametrize_with_checks",
    "strategy_checks",
    "toy_candidates",
    "toy_queries",
]
