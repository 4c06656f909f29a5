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


def _thread_of_decide(engine: RoutingEngine) -> tuple[int, int]:
    """(the event loop's thread, the thread engine.decide ran on) for one adecide on GROUP."""
    import asyncio
    import threading

    seen: list[int] = []
    decide = engine.decide

    def recording(*args: Any, **kwargs: Any) -> Pick:
        seen.append(threading.get_ident())
        return decide(*args, **kwargs)

    engine.decide = recording  # type: ignore[method-assign]
    engine.warm_up(GROUP)
    inputs = engine.inputs([{"role": "user", "content": "What is the capital of Australia?"}], None, {"metadata": {}})

    async def main() -> int:
        pick = await engine.adecide(GROUP, GROUP, {}, inputs, group="g")
        assert pick.decision is not None and pick.fallback_reason is None
        return threading.get_ident()

    loop_thread = asyncio.run(main())
    return loop_thread, seen[0]


def test_a_static_router_decides_on_the_event_loop_and_the_onnx_model_on_a_thread(tmp_path: Any) -> None:
    """The hop to a thread and back cost more than a static decision (benchmarks/litellm_overhead.py):
    with the static embedder and extensions without I/O (here the decision log's queue), adecide runs
    on the event loop; the ONNX model, or a static router with plugins' decision hooks, keeps the engine's pool."""
    from routeiq_litellm._engine import _decides_inline
    from routeiq_litellm.settings import load_settings

    log = f"sqlite:///{tmp_path / 'log.db'}"
    # telemetry off: another test may have configured an OpenTelemetry SDK for the whole process,
    # and its span processors may export synchronously (then the decision keeps the thread)
    static = RoutingEngine(load_settings({"embedder": "static", "log": log, "telemetry": False}))
    loop_thread, ran_on = _thread_of_decide(static)
    assert ran_on == loop_thread and _decides_inline(static.router_for(GROUP))
    full = RoutingEngine(load_settings({"embedder": "full"}))
    loop_thread, ran_on = _thread_of_decide(full)
    assert ran_on != loop_thread and not _decides_inline(full.router_for(GROUP))
    hooked = RoutingEngine(load_settings({"embedder": "static", "decision_hooks": True}))
    loop_thread, ran_on = _thread_of_decide(hooked)
    assert ran_on != loop_thread
    unloaded = RoutingEngine(load_settings({"embedder": "static"}))
    assert not _decides_inline(unloaded.router_for(GROUP))  # the first decision loads it on the pool
