"""The pick rules: which deployments RouteIQ may choose from, and how the decision is stamped."""

from __future__ import annotations

from typing import Any

import pytest

from routeiq_litellm._engine import Pick, RoutingEngine
from routeiq_litellm.errors import NoHealthyDeploymentError

from .conftest import deployment

GROUP = [deployment("g", i, "openai/gpt-4o-mini") for i in ("a", "b", "c")]


def ids(deployments: list[Any]) -> list[str]:
    return [d["model_info"]["id"] for d in deployments]


def test_blocked_and_cooling_deployments_are_excluded_with_reasons() -> None:
    """Admin-blocked and cooling-down deployments leave the pool, each with its reason."""
    group = [*GROUP[:2], deployment("g", "c", "openai/gpt-4o-mini", blocked=True)]
    pool, excluded = RoutingEngine.pool(group, cooling={"a": 30.0}, model="g")
    assert ids(pool) == ["b"]
    assert excluded == {"a": "cooling down (30s after failures)", "c": "blocked by an admin"}


def test_health_checks_never_empty_the_group() -> None:
    """Unhealthy-by-health-check deployments are dropped unless that would leave none (as LiteLLM does)."""
    pool, excluded = RoutingEngine.pool(GROUP, cooling={}, unhealthy={"a"}, model="g")
    assert ids(pool) == ["b", "c"] and "health checks" in excluded["a"]
    pool, excluded = RoutingEngine.pool(GROUP, cooling={}, unhealthy={"a", "b", "c"}, model="g")
    assert ids(pool) == ["a", "b", "c"] and not excluded


def test_failed_attempts_are_avoided_while_something_else_is_healthy() -> None:
    """previous_models are excluded, but a retry may reuse them when nothing else is healthy."""
    pool, excluded = RoutingEngine.pool(GROUP, cooling={}, previous={"a", "b"}, model="g")
    assert ids(pool) == ["c"] and excluded["a"] == "already failed for this request"
    pool, _ = RoutingEngine.pool(GROUP, cooling={"c": 5.0}, previous={"a", "b"}, model="g")
    assert ids(pool) == ["a", "b"]


def test_nothing_healthy_is_a_429_with_the_wait() -> None:
    """All cooling down or blocked: NoHealthyDeploymentError, status 429, shortest cooldown."""
    with pytest.raises(
        NoHealthyDeploymentError, match="no healthy deployment in model group 'g'"
    ) as info:
        RoutingEngine.pool(GROUP, cooling={"a": 30.0, "b": 10.0, "c": 60.0}, model="g")
    assert info.value.status_code == 429 and info.value.cooldown_seconds == 10.0


def test_stamp_merges_into_existing_spend_logs_metadata() -> None:
    """The user's own spend_logs_metadata survives; the decision summary is added next to it."""
    engine = RoutingEngine()
    pick = Pick(GROUP[0], None, {"b": "blocked by an admin"}, fallback_reason="RuntimeError: boom")
    record = engine.summary(pick, group="g", attempt=2)
    metadata: dict[str, Any] = {"spend_logs_metadata": {"job": "nightly"}}
    engine.stamp(metadata, record)
    assert metadata["routeiq"]["fallback"] is True and metadata["routeiq"]["attempt"] == 2
    assert metadata["spend_logs_metadata"] == {
        "job": "nightly",
        "routeiq_decision_id": None,
        "routeiq_arm": None,
        "routeiq_deployment": "a",
        "routeiq_model": "openai/gpt-4o-mini",
        "routeiq_category": None,
        "routeiq_profile": None,
        "routeiq_confidence": None,
        "routeiq_fallback": True,
    }
