"""The routing-plugin route (LiteLLM keeps the pick) and the proxy binder's re-binding, in process."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from routeiq_litellm import _compat
from routeiq_litellm.plugin import RouteIQRoutingPlugin

from .conftest import PROMPTS, deployment, model_list
from .test_strategy import ask, expected, served_by


@pytest.mark.asyncio(loop_scope="session")
async def test_plugin_narrows_to_routeiqs_model(litellm: Any, engine: Any) -> None:
    """With Router(plugins=[...]) each request is served by a deployment of the model RouteIQ chose."""
    plugin = RouteIQRoutingPlugin(engine)
    router = litellm.Router(model_list=model_list(), num_retries=0, plugins=[plugin])
    plugin.attach(router)
    served = {}
    for name, prompt in PROMPTS.items():
        metadata: dict[str, Any] = {}
        response = await router.acompletion(model="chat", messages=ask(prompt), metadata=metadata)
        served[name] = served_by(response)
        assert served[name] == expected(engine, router, "chat", prompt)
        record = metadata["routing_plugin_signals"]["routeiq"]
        assert record["deployment"] == served[name] and record["fallback"] is False
    assert len(set(served.values())) >= 2


@pytest.mark.asyncio(loop_scope="session")
async def test_plugin_keeps_litellms_load_balancing_and_cooldowns(
    litellm: Any, engine: Any
) -> None:
    """Two deployments of the chosen model share the load; one in cooldown is skipped by LiteLLM and RouteIQ."""
    models = [
        deployment("pair", "pair-a", "openai/gpt-4o-mini"),
        deployment("pair", "pair-b", "openai/gpt-4o-mini"),
        deployment("pair", "pair-big", "openai/gpt-4o"),
    ]
    plugin = RouteIQRoutingPlugin(engine)
    router = litellm.Router(model_list=models, num_retries=0, plugins=[plugin], cooldown_time=60)
    plugin.attach(router)
    prompt = PROMPTS["simple"]
    assert expected(engine, router, "pair", prompt) in ("pair-a", "pair-b"), (
        "the simple prompt should go cheap"
    )
    responses = await asyncio.gather(
        *(router.acompletion(model="pair", messages=ask(prompt)) for _ in range(30))
    )
    seen = {served_by(r) for r in responses}
    assert seen == {"pair-a", "pair-b"}, (
        f"LiteLLM should balance between both mini deployments, saw {seen}"
    )
    with pytest.raises(Exception, match="RateLimit"):
        await router.acompletion(
            model="pair",
            messages=ask(prompt),
            mock_response="litellm.RateLimitError",
            specific_deployment=False,
        )
    cooled = set(_compat.active_cooldown_ids(router, ["pair-a", "pair-b"]))
    assert len(cooled) == 1
    for _ in range(5):
        response = await router.acompletion(model="pair", messages=ask(prompt))
        assert served_by(response) not in cooled


def test_plugin_route_is_async_only_in_litellm(litellm: Any, engine: Any) -> None:
    """LiteLLM refuses sync calls when routing plugins are configured (documented limit)."""
    plugin = RouteIQRoutingPlugin(engine)
    router = litellm.Router(model_list=model_list(), num_retries=0, plugins=[plugin])
    plugin.attach(router)
    with pytest.raises(ValueError, match="plugins"):
        router.completion(model="chat", messages=ask("hi"))


@pytest.mark.asyncio(loop_scope="session")
async def test_plugin_without_a_router_routes_by_model_string(litellm: Any, engine: Any) -> None:
    """Not attached (and not in the proxy), the plugin still decides among the candidate model strings."""
    plugin = RouteIQRoutingPlugin(engine)
    router = litellm.Router(model_list=model_list(), num_retries=0, plugins=[plugin])
    metadata: dict[str, Any] = {}
    response = await router.acompletion(
        model="chat", messages=ask(PROMPTS["proof"]), metadata=metadata
    )
    record = metadata["routing_plugin_signals"]["routeiq"]
    served = served_by(response)
    assert record["model"] == next(
        d["litellm_params"]["model"] for d in model_list() if d["model_info"]["id"] == served
    )


def test_binder_binds_once_and_rebinds_after_a_rebuild_or_strategy_change(litellm: Any) -> None:
    """The proxy callback binds per router, again for a new router, and again after routing_strategy changes."""
    from routeiq_litellm.proxy import RouteIQProxyCallback

    binder = RouteIQProxyCallback(bind=True)
    first = litellm.Router(model_list=model_list(), num_retries=0)
    assert binder.ensure_bound(first) is True
    assert binder.ensure_bound(first) is False
    metadata: dict[str, Any] = {}
    first.completion(model="chat", messages=ask("hi"), metadata=metadata)
    assert "routeiq" in metadata

    second = litellm.Router(model_list=model_list(), num_retries=0)  # the proxy rebuilt its router
    assert binder.ensure_bound(second) is True

    if hasattr(type(second), "apply"):
        from litellm.router_api import ChangeSet

        second.apply(ChangeSet(settings={"routing_strategy": "least-busy"}))
    else:
        second.update_settings(routing_strategy="least-busy")
    unbound: dict[str, Any] = {}
    second.completion(model="chat", messages=ask("hi"), metadata=unbound)
    assert "routeiq" not in unbound, "LiteLLM drops a custom strategy when routing_strategy changes"
    assert binder.ensure_bound(second) is True
    rebound: dict[str, Any] = {}
    second.completion(model="chat", messages=ask("hi"), metadata=rebound)
    assert "routeiq" in rebound
    assert binder.binds == 3


@pytest.mark.asyncio(loop_scope="session")
async def test_bad_settings_file_leaves_litellm_routing_in_charge(
    litellm: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A broken ROUTEIQ_LITELLM_CONFIG never fails requests: no narrowing, no binding, one error log."""
    import routeiq_litellm.proxy as proxy_mod
    from routeiq_litellm.proxy import RouteIQProxyCallback

    bad = tmp_path / "routeiq.yaml"
    bad.write_text("routeiq:\n  profile: auto\n  strategy_parms: {}\n")
    monkeypatch.setenv("ROUTEIQ_LITELLM_CONFIG", str(bad))
    monkeypatch.setattr(proxy_mod, "_engine", None)
    plugin = RouteIQRoutingPlugin()
    router = litellm.Router(model_list=model_list(), num_retries=0, plugins=[plugin])
    metadata: dict[str, Any] = {}
    response = await router.acompletion(
        model="chat", messages=ask(PROMPTS["proof"]), metadata=metadata
    )
    served_by(response)
    assert "routeiq" not in (metadata.get("routing_plugin_signals") or {})
    assert RouteIQProxyCallback(bind=True).ensure_bound(router) is False
    errors = [
        r.getMessage()
        for r in caplog.records
        if r.levelname == "ERROR" and "routeiq" in r.getMessage()
    ]
    assert errors and all("strategy_parms" in e for e in errors)
