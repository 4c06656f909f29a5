"""RouteIQRoutingStrategy inside a real litellm.Router (mocked deployments, no network)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest

from routeiq_litellm import _compat
from routeiq_litellm.errors import NoHealthyDeploymentError, UnknownModelGroupError

from .conftest import PROMPTS, deployment, model_list

USER = "user"


def ask(text: str) -> list[dict[str, str]]:
    return [{"role": USER, "content": text}]


def served_by(response: Any) -> str:
    """The deployment that really answered: its mock text and LiteLLM's own model id must agree."""
    text = response.choices[0].message.content
    model_id = response._hidden_params.get("model_id")
    assert text == f"served by {model_id}"
    return str(model_id)


def expected(engine: Any, router: Any, group: str, prompt: str, **kwargs: Any) -> str:
    """What RouteIQ decides for this prompt on the group's deployments, asked directly."""
    deployments = _compat.group_deployments(router, group)
    return engine.router_for(deployments).decide(prompt, **kwargs).name


def test_sync_completion_is_served_by_the_decided_deployment(make_router: Any, engine: Any) -> None:
    """router.completion() goes to the deployment RouteIQ decides, and the decision is stamped."""
    router = make_router()
    served = {}
    for name, prompt in PROMPTS.items():
        metadata: dict[str, Any] = {}
        response = router.completion(model="chat", messages=ask(prompt), metadata=metadata)
        served[name] = served_by(response)
        assert served[name] == expected(engine, router, "chat", prompt)
        record = metadata["routeiq"]
        assert record["deployment"] == served[name]
        assert record["fallback"] is False and record["attempt"] == 1
        assert record["category"] and record["profile"] == "auto"
    assert len(set(served.values())) >= 2, f"routing should differ across prompts: {served}"


@pytest.mark.asyncio(loop_scope="session")
async def test_async_completion_is_served_by_the_decided_deployment(
    make_router: Any, engine: Any
) -> None:
    """router.acompletion() goes to the deployment RouteIQ decides, concurrently too."""
    router = make_router()
    names = list(PROMPTS)
    responses = await asyncio.gather(
        *(router.acompletion(model="chat", messages=ask(PROMPTS[n]), metadata={}) for n in names)
    )
    served = {n: served_by(r) for n, r in zip(names, responses)}
    for n in names:
        assert served[n] == expected(engine, router, "chat", PROMPTS[n])
    assert len(set(served.values())) >= 2


def test_the_deployment_dict_comes_from_the_routers_own_model_list(make_router: Any) -> None:
    """The strategy returns the router's own model_list entry, not a copy or a made-up dict."""
    router = make_router()
    strategy = _bound_strategy(router)
    picked = strategy.get_available_deployment(
        "chat", messages=ask(PROMPTS["code"]), request_kwargs={"metadata": {}}
    )
    assert any(picked is d for d in _compat.group_deployments(router, "chat"))


def _bound_strategy(router: Any) -> Any:
    """Install again to get a handle on a strategy bound to this router."""
    import routeiq_litellm

    return routeiq_litellm.install(router, warm_up=False)


def _cool_down(router: Any, dep_id: str, prompt: str) -> None:
    """Make LiteLLM itself put ``dep_id`` into cooldown: one real (mocked) 429 from it."""
    with pytest.raises(Exception, match="RateLimit"):
        router.completion(
            model="chat", messages=ask(prompt), metadata={}, mock_response="litellm.RateLimitError"
        )
    assert dep_id in _compat.active_cooldown_ids(router, [dep_id])


def test_cooling_down_deployments_are_excluded(make_router: Any, engine: Any) -> None:
    """A deployment LiteLLM put into cooldown is never picked while it cools down."""
    router = make_router(cooldown_time=60)
    prompt = PROMPTS["simple"]
    favourite = expected(engine, router, "chat", prompt)
    _cool_down(router, favourite, prompt)
    for _ in range(3):
        metadata: dict[str, Any] = {}
        response = router.completion(model="chat", messages=ask(prompt), metadata=metadata)
        assert served_by(response) != favourite
        assert "cooling down" in metadata["routeiq"]["excluded"][favourite]
        assert metadata["routeiq"]["attempt"] == 1


def test_all_deployments_cooling_down_is_a_clear_error(make_router: Any, engine: Any) -> None:
    """With every deployment of the group cooling down, the pick says so (and LiteLLM may fall back)."""
    router = make_router(
        [
            deployment("solo", "solo-a", "openai/gpt-4o-mini"),
            deployment("solo", "solo-b", "openai/gpt-4o"),
        ],
        cooldown_time=60,
    )
    strategy = _bound_strategy(router)
    for _dep_id in ("solo-a", "solo-b"):
        with pytest.raises(Exception, match="RateLimit"):
            router.completion(
                model="solo", messages=ask("x"), metadata={}, mock_response="litellm.RateLimitError"
            )
    assert set(_compat.active_cooldown_ids(router, ["solo-a", "solo-b"])) == {"solo-a", "solo-b"}
    with pytest.raises(
        NoHealthyDeploymentError, match="no healthy deployment in model group 'solo'"
    ):
        strategy.get_available_deployment(
            "solo", messages=ask("hello"), request_kwargs={"metadata": {}}
        )


def test_failed_deployment_is_not_retried_on_the_next_attempt(
    make_router: Any, engine: Any
) -> None:
    """The retry after a failure goes to another deployment (LiteLLM's previous_models)."""
    prompt = PROMPTS["code"]
    probe = make_router()
    favourite = expected(engine, probe, "chat", prompt)
    router = make_router(
        model_list(**{favourite: "litellm.InternalServerError"}), num_retries=2, retry_after=0
    )
    metadata: dict[str, Any] = {}
    response = router.completion(model="chat", messages=ask(prompt), metadata=metadata)
    winner = served_by(response)
    assert winner != favourite
    record = metadata["routeiq"]
    assert record["attempt"] == 2 and record["deployment"] == winner
    assert (
        record["excluded"][favourite] in ("already failed for this request",)
        or "cooling" in record["excluded"][favourite]
    )


@pytest.mark.asyncio(loop_scope="session")
async def test_fallback_group_is_routed_by_routeiq(make_router: Any, engine: Any) -> None:
    """When a whole group fails, LiteLLM's fallback group is served by RouteIQ's pick within it."""
    models = [
        deployment("flaky", "flaky-a", "openai/gpt-4o-mini", "litellm.InternalServerError"),
        deployment("flaky", "flaky-b", "openai/gpt-4o", "litellm.InternalServerError"),
        *model_list()[3:],
    ]
    router = make_router(models, fallbacks=[{"flaky": ["backup"]}], num_retries=1, retry_after=0)
    prompt = PROMPTS["proof"]
    metadata: dict[str, Any] = {}
    response = await router.acompletion(model="flaky", messages=ask(prompt), metadata=metadata)
    winner = served_by(response)
    assert winner.startswith("backup-")
    assert winner == expected(engine, router, "backup", prompt)


def test_unknown_model_group_is_a_clear_error(make_router: Any) -> None:
    """A model name the router does not serve raises UnknownModelGroupError naming the known groups."""
    router = make_router()
    with pytest.raises(
        UnknownModelGroupError, match=r"unknown model group 'nope'.*\['backup', 'chat'\]"
    ):
        router.completion(model="nope", messages=ask("hello"))


@pytest.mark.asyncio(loop_scope="session")
async def test_unknown_model_group_is_a_clear_error_async(make_router: Any) -> None:
    """The async path raises the same error."""
    router = make_router()
    with pytest.raises(UnknownModelGroupError, match="unknown model group 'nope'"):
        await router.acompletion(model="nope", messages=ask("hello"))


def test_a_deployment_id_as_model_is_served_by_that_deployment(make_router: Any) -> None:
    """Asking for one deployment id (LiteLLM allows it) serves exactly that deployment."""
    router = make_router()
    response = router.completion(model="chat-o3", messages=ask(PROMPTS["simple"]))
    assert served_by(response) == "chat-o3"


class _BrokenEmbedder:
    """An embedder that fails, standing in for any internal RouteIQ failure."""

    dim = 384

    def __init__(self) -> None:
        from routeiq_core import DEFAULT_MODEL_SHA256

        self.model_id = DEFAULT_MODEL_SHA256  # claims the shipped model, then fails to embed

    def embed(self, text: str) -> Any:
        raise RuntimeError("embedding backend crashed")

    def embed_many(self, texts: Any) -> Any:
        raise RuntimeError("embedding backend crashed")


@pytest.mark.asyncio(loop_scope="session")
async def test_internal_failure_still_serves_the_request(
    litellm: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """An exception inside RouteIQ falls back to a healthy deployment, logs a warning, and says so."""
    import routeiq_litellm
    from routeiq_core._router import Router

    router = litellm.Router(model_list=model_list(), num_retries=0)
    broken = Router([{"name": "x", "model": "x"}], embedder=_BrokenEmbedder())
    routeiq_litellm.install(router, broken, warm_up=False)
    caplog.set_level(logging.WARNING, logger="routeiq.litellm")
    for call in (router.completion, router.acompletion):
        metadata: dict[str, Any] = {}
        response = call(model="chat", messages=ask(PROMPTS["proof"]), metadata=metadata)
        if asyncio.iscoroutine(response):
            response = await response
        assert served_by(response) == "chat-mini"  # the first healthy deployment of the group
        assert metadata["routeiq"]["fallback"] is True
        # the exception's type is named; its message (which could quote the prompt) is not
        assert "RuntimeError" in metadata["routeiq"]["reason"]
        assert "embedding backend crashed" not in metadata["routeiq"]["reason"]
    assert any("decision failed for model group 'chat'" in r.getMessage() for r in caplog.records)
    assert not any("square root" in r.getMessage() for r in caplog.records), (
        "prompt text must not be logged"
    )


def test_profiles_from_metadata_header_team_and_key(litellm: Any, engine: Any) -> None:
    """Profile per request (metadata or header) and per team / key (config) reach the decision."""
    import routeiq_litellm

    router = litellm.Router(model_list=model_list(), num_retries=0)
    routeiq_litellm.install(
        router, team_profiles={"team-a": "premium"}, key_profiles={"key-eco": "eco"}
    )
    prompt = PROMPTS["code"]
    cases = {
        "auto": {},
        "premium": {"routeiq_profile": "premium"},
        "eco": {"headers": {"X-RouteIQ-Profile": "eco"}},
    }
    stamped = {}
    for want, metadata in cases.items():
        router.completion(model="chat", messages=ask(prompt), metadata=metadata)
        stamped[want] = metadata["routeiq"]
        assert metadata["routeiq"]["profile"] == want
    team = {"user_api_key_team_id": "team-a"}
    router.completion(model="chat", messages=ask(prompt), metadata=team)
    assert team["routeiq"]["profile"] == "premium"
    key = {"user_api_key_alias": "key-eco", "user_api_key_team_id": "team-a"}
    router.completion(model="chat", messages=ask(prompt), metadata=key)
    assert key["routeiq"]["profile"] == "eco"  # a key's profile is more specific than its team's
    assert stamped["premium"]["deployment"] == expected(
        engine, router, "chat", prompt, profile="premium"
    )
    assert stamped["eco"]["deployment"] == expected(engine, router, "chat", prompt, profile="eco")
    assert stamped["premium"]["deployment"] != stamped["eco"]["deployment"]


def test_unknown_profile_in_a_header_is_served_with_the_default(make_router: Any) -> None:
    """A misspelled profile header does not fail the request; the decision carries a warning."""
    router = make_router()
    metadata: dict[str, Any] = {"headers": {"x-routeiq-profile": "cheapest-please"}}
    response = router.completion(model="chat", messages=ask(PROMPTS["fact"]), metadata=metadata)
    served_by(response)
    record = metadata["routeiq"]
    assert record["fallback"] is False and record["profile"] == "auto"
    assert any("cheapest-please" in w for w in record["warnings"])


@pytest.mark.asyncio(loop_scope="session")
async def test_decision_reaches_logging_callbacks_and_spend_metadata(
    litellm: Any, make_router: Any
) -> None:
    """LiteLLM callbacks see the stamped decision; spend-log metadata carries its summary."""
    from litellm.integrations.custom_logger import CustomLogger

    class Capture(CustomLogger):
        def __init__(self) -> None:
            super().__init__()
            self.events: list[dict[str, Any]] = []

        async def async_log_success_event(
            self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
        ) -> None:
            self.events.append(kwargs)

    capture = Capture()
    litellm.callbacks.append(capture)
    router = make_router()
    response = await router.acompletion(model="chat", messages=ask(PROMPTS["proof"]), metadata={})
    winner = served_by(response)
    for _ in range(200):  # success callbacks run as tasks after the response
        if capture.events:
            break
        await asyncio.sleep(0.01)
    assert capture.events, "the success callback never ran"
    kwargs = capture.events[0]
    assert kwargs["litellm_params"]["metadata"]["routeiq"]["deployment"] == winner
    payload = kwargs.get("standard_logging_object") or {}
    spend = (payload.get("metadata") or {}).get("spend_logs_metadata") or {}
    assert spend.get("routeiq_deployment") == winner
    assert (
        spend.get("routeiq_category") == kwargs["litellm_params"]["metadata"]["routeiq"]["category"]
    )


class _SlowEmbedder:
    """Wraps the real embedder and holds the thread for 200 ms, like a long prompt would."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dim = inner.dim

    def embed(self, text: str) -> Any:
        time.sleep(0.2)
        return self.inner.embed(text)

    def embed_many(self, texts: Any) -> Any:
        return self.inner.embed_many(texts)


@pytest.mark.asyncio(loop_scope="session")
async def test_async_pick_runs_the_model_off_the_event_loop(litellm: Any, engine: Any) -> None:
    """While a slow embedding runs, the event loop keeps serving other tasks."""
    import routeiq_litellm
    from routeiq_core._router import Router

    router = litellm.Router(model_list=model_list(), num_retries=0)
    template = engine.router_for(_compat.group_deployments(router, "chat"))
    slow = Router([{"name": "x", "model": "x"}], embedder=_SlowEmbedder(template.embedder))
    routeiq_litellm.install(router, slow, warm_up=False)
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.ensure_future(ticker())
    started = time.perf_counter()
    await router.acompletion(model="chat", messages=ask(PROMPTS["fact"]), metadata={})
    elapsed = time.perf_counter() - started
    stop.set()
    await task
    assert elapsed >= 0.2
    assert ticks >= 5, f"the loop ticked only {ticks} times during a {elapsed:.2f}s pick"


def test_install_uses_the_public_binding_api(
    litellm: Any, engine: Any, recwarn: pytest.WarningsRecorder
) -> None:
    """install() binds with register_plugin when it exists, set_custom_routing_strategy before, warning-free."""
    import routeiq_litellm

    router = litellm.Router(model_list=model_list(), num_retries=0)
    strategy = routeiq_litellm.install(router, engine=engine)
    newer = hasattr(type(router), "register_plugin")
    assert strategy.bound_with == ("register_plugin" if newer else "set_custom_routing_strategy")
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)]
    assert type(router) is litellm.Router, "the router's class is left alone"


def test_install_rejects_what_is_not_a_router(engine: Any) -> None:
    """install() on something else is a ConfigError that says what it expected."""
    import routeiq_litellm
    from routeiq_core.errors import ConfigError

    with pytest.raises(ConfigError, match="expects a litellm.Router"):
        routeiq_litellm.install(object(), engine=engine)


def test_bad_candidate_hint_fails_at_install(litellm: Any) -> None:
    """A typo in a RouteIQ hint on a deployment is reported at install time, naming the deployment."""
    import routeiq_litellm
    from routeiq_core.errors import CandidateError

    models = model_list()
    models[1]["model_info"]["routeiq"] = {"teir": 4}
    router = litellm.Router(model_list=models, num_retries=0)
    with pytest.raises(CandidateError, match="chat-4o.*teir"):
        routeiq_litellm.install(router)
