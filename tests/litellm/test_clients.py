"""RouteIQ in front of the real openai SDK, talking to a local OpenAI-shaped stub server (loopback)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from routeiq_litellm.clients import (
    AsyncRoutedClient,
    RoutedClient,
    arouted_call,
    decision_of,
    is_retryable,
    routed_call,
    routing_of,
)

CANDIDATES = [
    {
        "name": "small",
        "model": "small-model",
        "input_cost_per_mtok": 0.1,
        "output_cost_per_mtok": 0.4,
    },
    {
        "name": "medium",
        "model": "medium-model",
        "input_cost_per_mtok": 1.0,
        "output_cost_per_mtok": 4.0,
    },
    {
        "name": "large",
        "model": "large-model",
        "input_cost_per_mtok": 5.0,
        "output_cost_per_mtok": 20.0,
    },
]
HARD = (
    "Prove rigorously, step by step, that there are infinitely many primes, then prove that "
    "there are infinitely many primes congruent to 3 modulo 4."
)
EASY = "hello!"


class StubProvider:
    """An OpenAI-compatible chat endpoint that can be told to fail or stall for a given model."""

    def __init__(self) -> None:
        self.failures: dict[str, int] = {}  # model -> HTTP status to answer with
        self.stall: dict[str, float] = {}  # model -> seconds to wait before answering
        self.calls: list[str] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                model = body["model"]
                stub.calls.append(model)
                time.sleep(stub.stall.get(model, 0.0))
                status = stub.failures.get(model, 200)
                if status == 200 and body.get("stream"):
                    self._stream(model)
                    return
                if status != 200:
                    payload = {
                        "error": {
                            "message": f"stub {status} for {model}",
                            "type": "stub",
                            "code": status,
                        }
                    }
                else:
                    payload = {
                        "id": "chatcmpl-stub",
                        "object": "chat.completion",
                        "created": 0,
                        "model": model,
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": "stop",
                                "message": {"role": "assistant", "content": f"answered by {model}"},
                            }
                        ],
                        "usage": {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6},
                    }
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out on a stalled model and hung up, as intended

            def _stream(self, model: str) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.end_headers()
                for piece in ("answered ", f"by {model}"):
                    chunk = {
                        "id": "c",
                        "object": "chat.completion.chunk",
                        "created": 0,
                        "model": model,
                        "choices": [
                            {"index": 0, "delta": {"content": piece}, "finish_reason": None}
                        ],
                    }
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub() -> Iterator[StubProvider]:
    provider = StubProvider()
    yield provider
    provider.close()


@pytest.fixture(scope="module")
def rq() -> Any:
    from routeiq_core._router import Router

    return Router(CANDIDATES)


def text(response: Any) -> str:
    return response.choices[0].message.content


def test_routed_openai_client_calls_the_decided_model(stub: StubProvider, rq: Any) -> None:
    """The wrapped OpenAI client is called with RouteIQ's model; the decision is on the result."""
    from openai import OpenAI

    client = RoutedClient(OpenAI(base_url=stub.base_url, api_key="sk-stub", max_retries=0), rq)
    models = {}
    for prompt in (EASY, HARD):
        response = client.chat.completions.create(messages=[{"role": "user", "content": prompt}])
        decision = decision_of(response)
        assert decision is not None and decision.model == rq.route(prompt)
        assert text(response) == f"answered by {decision.model}"
        models[prompt] = decision.model
    assert stub.calls == [models[EASY], models[HARD]]
    assert models[EASY] != models[HARD], "an easy and a hard prompt should not go to the same model"
    assert "routeiq" not in response.model_dump(), "the decision does not leak into the payload"


@pytest.mark.parametrize("status", [429, 500, 503])
def test_retryable_error_moves_to_the_next_ranked_model(
    stub: StubProvider, rq: Any, status: int
) -> None:
    """A rate limit or server error on the chosen model is retried on the next alternative."""
    from openai import OpenAI

    first, second = [a.model for a in rq.decide(HARD).ranking[:2]]
    stub.failures[first] = status
    client = RoutedClient(OpenAI(base_url=stub.base_url, api_key="sk-stub", max_retries=0), rq)
    response = client.chat.completions.create(
        model="auto", messages=[{"role": "user", "content": HARD}]
    )
    assert text(response) == f"answered by {second}"
    routing = routing_of(response)
    assert routing is not None and routing.model == second and routing.fallback_used
    assert [a.model for a in routing.attempts] == [first, second]
    assert str(status) in (routing.attempts[0].error or "")
    assert stub.calls == [first, second]


def test_timeout_moves_to_the_next_ranked_model(stub: StubProvider, rq: Any) -> None:
    """A model that does not answer in time is left for the next alternative."""
    from openai import OpenAI

    first, second = [a.model for a in rq.decide(EASY).ranking[:2]]
    stub.stall[first] = 1.5
    client = RoutedClient(
        OpenAI(base_url=stub.base_url, api_key="sk-stub", max_retries=0, timeout=0.3), rq
    )
    response = client.chat.completions.create(messages=[{"role": "user", "content": EASY}])
    assert text(response) == f"answered by {second}"
    assert "Timeout" in (routing_of(response).attempts[0].error or "")


def test_non_retryable_error_is_raised_unchanged(stub: StubProvider, rq: Any) -> None:
    """A 400 from the provider is the caller's problem: raised as the SDK's own error, no retry."""
    import openai

    first = rq.route(EASY)
    stub.failures[first] = 400
    client = RoutedClient(
        openai.OpenAI(base_url=stub.base_url, api_key="sk-stub", max_retries=0), rq
    )
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(messages=[{"role": "user", "content": EASY}])
    assert stub.calls == [first]


def test_every_model_failing_raises_the_last_error(stub: StubProvider, rq: Any) -> None:
    """After max_attempts retryable failures the last error propagates."""
    import openai

    for cand in CANDIDATES:
        stub.failures[cand["model"]] = 429
    client = RoutedClient(
        openai.OpenAI(base_url=stub.base_url, api_key="sk-stub", max_retries=0), rq, max_attempts=2
    )
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(messages=[{"role": "user", "content": EASY}])
    assert len(stub.calls) == 2


def test_explicit_model_passes_through_unrouted(stub: StubProvider, rq: Any) -> None:
    """Naming a concrete model skips routing; other attributes reach the wrapped client."""
    from openai import OpenAI

    inner = OpenAI(base_url=stub.base_url, api_key="sk-stub", max_retries=0)
    client = RoutedClient(inner, rq)
    response = client.chat.completions.create(
        model="large-model", messages=[{"role": "user", "content": EASY}]
    )
    assert text(response) == "answered by large-model" and decision_of(response) is None
    assert client.base_url == inner.base_url


def test_streaming_carries_the_decision(stub: StubProvider, rq: Any) -> None:
    """stream=True returns the SDK's stream with the decision attached; the chunks come from the decided model."""
    from openai import OpenAI

    client = RoutedClient(OpenAI(base_url=stub.base_url, api_key="sk-stub", max_retries=0), rq)
    stream = client.chat.completions.create(
        messages=[{"role": "user", "content": HARD}], stream=True
    )
    decision = decision_of(stream)
    assert decision is not None and decision.model == rq.route(HARD)
    assert (
        "".join(c.choices[0].delta.content or "" for c in stream) == f"answered by {decision.model}"
    )


def test_profile_per_call(stub: StubProvider, rq: Any) -> None:
    """routeiq_profile= chooses the profile for one call."""
    from openai import OpenAI

    client = RoutedClient(OpenAI(base_url=stub.base_url, api_key="sk-stub", max_retries=0), rq)
    premium = client.chat.completions.create(
        messages=[{"role": "user", "content": EASY}], routeiq_profile="premium"
    )
    assert decision_of(premium).profile == "premium"
    assert decision_of(premium).model == rq.route(EASY, profile="premium")


@pytest.mark.asyncio(loop_scope="session")
async def test_async_openai_client_with_retry(stub: StubProvider, rq: Any) -> None:
    """AsyncOpenAI behind AsyncRoutedClient: decided model, then the next one on a 429."""
    from openai import AsyncOpenAI

    client = AsyncRoutedClient(
        AsyncOpenAI(base_url=stub.base_url, api_key="sk-stub", max_retries=0), rq
    )
    ok = await client.chat.completions.create(messages=[{"role": "user", "content": HARD}])
    assert text(ok) == f"answered by {decision_of(ok).model}"
    first, second = [a.model for a in rq.decide(HARD).ranking[:2]]
    stub.failures[first] = 429
    retried = await client.chat.completions.create(messages=[{"role": "user", "content": HARD}])
    assert text(retried) == f"answered by {second}"


def test_plain_callable_of_any_shape(rq: Any) -> None:
    """routed_call works with any callable(model, messages); Router.route gives the model name only."""
    seen = []

    def call(model: str, messages: Any, temperature: float = 1.0) -> str:
        seen.append((model, temperature))
        if len(seen) == 1:
            raise TimeoutError("first one times out")
        return f"{model} says hi"

    result = routed_call(rq, call, [{"role": "user", "content": HARD}], temperature=0.2)
    ranking = [a.model for a in rq.decide(HARD).ranking]
    assert seen == [(ranking[0], 0.2), (ranking[1], 0.2)]
    assert result.value == f"{ranking[1]} says hi" and result.decision.model == ranking[0]
    assert rq.route([{"role": "user", "content": HARD}]) == ranking[0]


@pytest.mark.asyncio(loop_scope="session")
async def test_plain_async_callable(rq: Any) -> None:
    """arouted_call awaits the callable with the decided model."""

    async def call(model: str, prompt: Any) -> str:
        return model

    result = await arouted_call(rq, call, EASY)
    assert result.value == rq.route(EASY)


def test_retryable_classification() -> None:
    """Status codes and exception class names decide what is worth another model."""

    class Status(Exception):
        def __init__(self, code: int) -> None:
            self.status_code = code

    assert is_retryable(Status(429)) and is_retryable(Status(502)) and not is_retryable(Status(401))
    assert is_retryable(TimeoutError()) and is_retryable(ConnectionResetError())
    assert not is_retryable(ValueError("bad input"))


def test_client_without_chat_completions_is_rejected(rq: Any) -> None:
    """A wrong client shape is a ConfigError pointing at routed_call."""
    from routeiq_core.errors import ConfigError

    with pytest.raises(ConfigError, match="routed_call"):
        RoutedClient(object(), rq)


def test_importing_the_adapters_loads_neither_openai_nor_litellm() -> None:
    """routeiq_litellm and its client adapter import no LLM SDK."""
    code = (
        "import sys, routeiq_litellm, routeiq_litellm.clients; "
        "print(sorted(m for m in ('openai', 'litellm') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "[]"


def test_the_client_records_outcomes_in_the_decision_log(stub: StubProvider) -> None:
    """With a log, each routed call records its outcome (who served after a retry, latency, the
    error type of a failure) and the result takes user feedback."""
    from openai import OpenAI

    from routeiq_core._router import Router
    from routeiq_core.decisionlog import LogFilter

    router = Router(CANDIDATES, log="memory://")
    first, second = [a.model for a in router.decide(HARD).ranking[:2]]
    stub.failures[first] = 503
    client = RoutedClient(OpenAI(base_url=stub.base_url, api_key="sk-stub", max_retries=0), router)
    response = client.chat.completions.create(model="auto", messages=[{"role": "user", "content": HARD}])
    decision = decision_of(response)
    assert decision is not None and router.log is not None and router.log.flush()
    got = router.log.log.get(decision.id)
    assert got is not None and got.outcome is not None
    names = {a.model: a.name for a in decision.ranking}
    assert got.outcome.success is True and got.outcome.served_by == names[second]
    assert got.outcome.sources == ("client",) and got.outcome.latency_ms is not None
    result = routed_call(router, lambda model, prompt: f"answer from {model}", EASY)
    result.feedback(0.25)
    assert router.log.flush()
    got = router.log.log.get(result.decision.id)
    assert got is not None and got.outcome is not None
    assert got.outcome.score == 0.25 and set(got.outcome.sources) == {"client", "user"}
    stub.failures[first] = 400  # not retryable: the error type is recorded, then raised
    from openai import BadRequestError

    with pytest.raises(BadRequestError):
        client.chat.completions.create(model="auto", messages=[{"role": "user", "content": HARD}])
    assert router.log.flush()
    failed = [r for r in router.log.log.query(LogFilter(with_feedback=True)) if r.outcome.success is False]
    assert failed and failed[-1].outcome.error == "BadRequestError"  # the type, not the provider's text
