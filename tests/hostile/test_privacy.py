"""The prompt never leaks through an error path (defect 7): a canary string in the prompt, and in
every exception message that quotes it, appears in no warning, log record, decision or metadata."""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Sequence
from typing import Any

import pytest

from routeiq_core import (
    Candidate,
    DecisionContext,
    Estimate,
    OnnxEmbedder,
    Query,
    Router,
    RouterExtension,
)
from routeiq_core.testing import FakeLLM

from .conftest import CANARY, litellm_model_list

PROMPT = f"Please summarise this confidential note: {CANARY}"


class _QuotingStrategy:
    """A strategy whose exception message quotes the prompt (as a careless one would)."""

    name = "quoting"
    from routeiq_core import StrategyTags as _Tags

    tags = _Tags(requires_fit=False, needs_embedding=False)

    def is_fitted(self) -> bool:
        return True

    def predict(self, query: Query, candidates: Sequence[Candidate]) -> Estimate:
        raise ValueError(f"could not score {query.text!r}")


class _QuotingExtension(RouterExtension):
    name = "quoting-extension"

    def before_decide(self, ctx: DecisionContext) -> None:
        raise RuntimeError(f"policy lookup failed for {ctx.request.prompt}")

    def after_decide(self, decision: Any, ctx: DecisionContext) -> None:
        raise KeyError(ctx.query.text)


class _QuotingEmbedder:
    """An embedder that fails with the text in its message."""

    dim = 384

    def __init__(self, real: OnnxEmbedder) -> None:
        self.model_id = real.model_id

    def embed(self, text: str) -> Any:
        raise RuntimeError(f"cannot embed {text}")

    def embed_many(self, texts: Any) -> Any:
        raise RuntimeError(f"cannot embed {texts}")


def _everything(caplog: pytest.LogCaptureFixture, caught: list[warnings.WarningMessage], *payloads: Any) -> str:
    # RouteIQ's own log records (LiteLLM's debug log prints the request it was given, prompt and all)
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("routeiq")]
    return "\n".join([*ours, *(str(w.message) for w in caught),
                      *(json.dumps(p, default=str) for p in payloads)])


def test_failing_strategy_extension_and_llm_calls_never_echo_the_prompt(
    caplog: pytest.LogCaptureFixture, embedder: OnnxEmbedder
) -> None:
    caplog.set_level(logging.DEBUG)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        decisions = [
            Router(strategy=_QuotingStrategy(), embedder=embedder).decide(PROMPT),  # type: ignore[arg-type]
            Router(embedder=embedder, extensions=[_QuotingExtension()]).decide(PROMPT),
        ]
        from routeiq_strategies.multiround import LLMMultiRoundStrategy

        llm = LLMMultiRoundStrategy(llm=FakeLLM(default=lambda m, msgs: (_ for _ in ()).throw(
            RuntimeError(f"provider rejected {msgs[-1]['content']}"))))
        decisions.append(Router(strategy=llm, embedder=embedder).decide(PROMPT))
    assert all(d.fallback or d.warnings or d.details.get("fallback") for d in decisions)
    text = _everything(caplog, caught, *(d.to_dict() for d in decisions), *(d.warnings for d in decisions))
    assert "ValueError" in text and "RuntimeError" in text  # the failures are reported ...
    assert CANARY not in text  # ... without the prompt


def test_litellm_fallback_metadata_and_logs_never_echo_the_prompt(
    caplog: pytest.LogCaptureFixture, embedder: OnnxEmbedder
) -> None:
    """Defect 7 in the adapter: the stamped metadata (LiteLLM logs it) names the error type only."""
    pytest.importorskip("litellm")
    import litellm

    import routeiq_litellm

    model_list = litellm_model_list()
    caplog.set_level(logging.DEBUG)
    for template in (Router([{"name": "x", "model": "x"}], embedder=_QuotingEmbedder(embedder)),  # type: ignore[arg-type]
                     Router([{"name": "x", "model": "x"}], strategy=_QuotingStrategy(), embedder=embedder)):  # type: ignore[arg-type]
        router = litellm.Router(model_list=model_list, num_retries=0)
        routeiq_litellm.install(router, template, warm_up=False)
        metadata: dict[str, Any] = {}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            router.completion(model="chat", messages=[{"role": "user", "content": PROMPT}], metadata=metadata)
        assert metadata["routeiq"]["fallback"] is True  # defect 8: the fallback is stamped as such
        text = _everything(caplog, caught, metadata["routeiq"], metadata.get("spend_logs_metadata"))
        assert CANARY not in text
