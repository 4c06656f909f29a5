"""Shared fixtures: one ``import litellm`` per session, mocked deployments, one RouteIQ engine."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def deployment(
    group: str, dep_id: str, model: str, mock: str | None = None, **info: Any
) -> dict[str, Any]:
    """A mocked deployment whose answer names itself, so the response shows who served it."""
    return {
        "model_name": group,
        "litellm_params": {
            "model": model,
            "api_key": "sk-test-not-used",
            "mock_response": mock or f"served by {dep_id}",
        },
        "model_info": {"id": dep_id, **info},
    }


def model_list(**mocks: str) -> list[dict[str, Any]]:
    """Two groups, five deployments: ``chat`` (three price tiers) and ``backup`` (two)."""
    return [
        deployment("chat", "chat-mini", "openai/gpt-4o-mini", mocks.get("chat-mini")),
        deployment("chat", "chat-4o", "openai/gpt-4o", mocks.get("chat-4o")),
        deployment("chat", "chat-o3", "openai/o3-mini", mocks.get("chat-o3")),
        deployment("backup", "backup-mini", "openai/gpt-4.1-mini", mocks.get("backup-mini")),
        deployment("backup", "backup-41", "openai/gpt-4.1", mocks.get("backup-41")),
    ]


#: Prompts that RouteIQ routes to different tiers (asserted, not assumed, in the tests).
PROMPTS = {
    "simple": "hi there, how are you?",
    "proof": "Prove rigorously, step by step, that the square root of 2 is irrational, and "
    "generalise the argument to every integer that is not a perfect square.",
    "code": "Write a Python function that parses a CSV file and returns the average of each numeric column.",
    "fact": "What is the capital of France?",
}


@pytest.fixture(scope="session")
def litellm() -> Any:
    """litellm, imported once for the whole session (the import takes ~5 s)."""
    import litellm as _litellm

    return _litellm


@pytest.fixture(autouse=True)
def _reset_litellm_callbacks(request: pytest.FixtureRequest) -> Iterator[None]:
    """``litellm.callbacks`` is global: every test starts and ends without extra callbacks."""
    if "litellm" not in request.fixturenames:
        yield
        return
    mod = request.getfixturevalue("litellm")
    saved = list(mod.callbacks)
    yield
    mod.callbacks[:] = saved


@pytest.fixture(scope="session")
def engine(litellm: Any) -> Any:
    """One RouteIQ engine (default settings) shared by the tests: the embedder loads once."""
    from routeiq_litellm._engine import RoutingEngine

    return RoutingEngine()


@pytest.fixture
def make_router(litellm: Any, engine: Any) -> Any:
    """Build a fresh litellm.Router (fresh cooldown state) with RouteIQ installed."""
    import routeiq_litellm

    def make(
        models: list[dict[str, Any]] | None = None, *, install: bool = True, **router_kwargs: Any
    ) -> Any:
        router_kwargs.setdefault("num_retries", 0)
        router = litellm.Router(model_list=models or model_list(), **router_kwargs)
        if install:
            routeiq_litellm.install(router, engine=engine)
        return router

    return make


def pytest_configure(config: pytest.Config) -> None:
    # litellm's own TypedDicts make pydantic warn on first use; not ours to fix.
    config.addinivalue_line(
        "filterwarnings", "ignore::UserWarning:pydantic._internal._generate_schema"
    )
