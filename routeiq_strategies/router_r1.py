"""Router-R1: an LLM policy that thinks, consults candidate models, and answers, over several rounds.

Router-R1 (Zhang et al., 2025) trains a small LLM with reinforcement learning to
interleave ``<think>`` reasoning with ``<search> Model-Name: sub-query </search>``
calls to a pool of models (whose replies come back inside ``<information>``) and
to finish with ``<answer>``. Here the policy is whatever LLM your callable serves
(for instance a Router-R1 checkpoint behind vLLM, or any instruction-following
chat model): the strategy runs the loop, answers each ``<search>`` by calling the
named candidate (through ``pool_llm`` if bound, else the same callable with that
candidate's model id), and stops at ``<answer>``, at ``max_rounds`` policy turns, or
at ``max_llm_calls`` calls in total, whichever comes first.

Quality per candidate: ``(1 - selection_weight) * prior + selection_weight * v``,
where ``v`` is 1 for the candidate whose information the policy used last, 0.5
for other candidates it consulted successfully and 0 otherwise; the prior is the
training mean score (after ``fit``) or the candidate's tier strength. A policy
that answers without consulting anyone leaves the prior unchanged.

Cost per decision: up to ``max_rounds`` calls to ``policy_model`` plus one call per
``<search>`` to the named candidate, never more than ``max_llm_calls``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from pydantic import Field

from routeiq_core import BaseStrategy, Candidate, Estimate, Query, StrategyParams

from ._llm_driver import one
from .llm_callable import (
    LLMBinding,
    LLMCallError,
    LLMParams,
    LLMRequest,
    LLMStrategy,
    Messages,
    Procedure,
    as_llm,
    match_candidate,
)

__all__ = ["RouterR1Strategy", "parse_policy_turn"]

_SYSTEM = (
    "Answer the user's question. You may consult other language models before answering.\n"
    "Think inside <think> </think>. To consult a model, write <search> Model-Name: your sub-question </search> "
    "and stop; its reply will come back inside <information> </information>. Consult at most one model per turn. "
    "When you are ready, give the final answer inside <answer> </answer>.\n"
    "Models you can consult:\n{candidates}"
)
_ANSWER = re.compile(r"<answer>(.*?)(?:</answer>|$)", re.DOTALL | re.IGNORECASE)
_SEARCH = re.compile(r"<search>(.*?)(?:</search>|$)", re.DOTALL | re.IGNORECASE)
POOL = "pool"


def parse_policy_turn(text: str) -> tuple[str, str | None, str | None]:
    """Classify one policy turn: ``("search", model_text, sub_query)``, ``("answer", answer, None)`` or ``("none", None, None)``.

    Whichever of ``<search>`` and ``<answer>`` comes first counts. A search without
    ``Model: question`` uses the whole content as the model text and no sub-query.
    """
    text = text or ""
    search = _SEARCH.search(text)
    answer = _ANSWER.search(text)
    if search and (answer is None or search.start() < answer.start()):
        body = search.group(1).strip()
        if ":" in body:
            model, sub = body.split(":", 1)
            return "search", model.strip(), sub.strip() or None
        return "search", body, None
    if answer:
        return "answer", answer.group(1).strip(), None
    return "none", None, None


class RouterR1Params(LLMParams):
    policy_model: str = Field("ulab-ai/Router-R1-Qwen2.5-3B-Instruct", min_length=1,
                              description="The policy model your callable serves.")
    max_rounds: int = Field(4, ge=1, le=16, description="Policy turns at most (Router-R1 uses up to 4-5).")
    max_llm_calls: int = Field(8, ge=1, description="Hard cap on policy + pool calls per decision.")
    selection_weight: float = Field(0.5, ge=0, le=1)
    info_chars: int = Field(1500, ge=50, description="Longest pool reply fed back to the policy.")
    query_chars: int = Field(4000, ge=20)


class RouterR1Strategy(LLMStrategy[RouterR1Params]):
    """The Router-R1 think/search/answer loop with your LLM as the policy.

    ``pool_llm`` (optional) answers the ``<search>`` calls; without it the main
    callable is called with the candidate's model id. Callables are never saved:
    after ``load`` call ``bind_llm(llm, pool_llm=...)`` again.
    """

    name: ClassVar[str] = "router_r1"

    def __init__(
        self,
        params: StrategyParams | Mapping[str, Any] | None = None,
        /,
        *,
        llm: Any = None,
        async_llm: Any = None,
        pool_llm: Any = None,
        async_pool_llm: Any = None,
        **overrides: Any,
    ) -> None:
        super().__init__(params, llm=llm, async_llm=async_llm, **overrides)
        self._pool_binding = as_llm(pool_llm, async_pool_llm)

    def bind_llm(self, llm: Any = None, *, async_llm: Any = None, pool_llm: Any = None,
                 async_pool_llm: Any = None, **create_kwargs: Any) -> RouterR1Strategy:
        """Attach the policy callable(s) and, optionally, separate pool callable(s); returns self."""
        super().bind_llm(llm, async_llm=async_llm, **create_kwargs)
        if pool_llm is not None or async_pool_llm is not None:
            self._pool_binding = as_llm(pool_llm, async_pool_llm, **create_kwargs)
        return self

    def clone(self, **changes: Any) -> RouterR1Strategy:
        new = super().clone(**changes)
        new._pool_binding = self._pool_binding
        return new

    def _binding_for(self, req: LLMRequest) -> LLMBinding:
        if req.purpose == POOL and self._pool_binding:
            return self._pool_binding
        return self._binding

    def _procedure(self, query: Query, candidates: Sequence[Candidate]) -> Procedure:
        p = self.params
        listing = "\n".join(f"- {c.name}" for c in candidates)
        messages: Messages = [
            {"role": "system", "content": _SYSTEM.format(candidates=listing)},
            {"role": "user", "content": f"Question: {query.text[: p.query_chars]}"},
        ]
        searches: list[dict[str, Any]] = []
        consulted: list[str] = []
        outcome = "rounds_exhausted"
        warning: str | None = None
        rounds = 0
        for rounds in range(1, p.max_rounds + 1):
            try:
                turn = one((yield LLMRequest(p.policy_model, tuple(messages), purpose="policy")))
            except LLMCallError as exc:
                if rounds == 1:
                    raise
                outcome = "call_cap" if exc.cause == "cap" else "policy_failed"
                warning = f"{self.name}: policy call failed in round {rounds}: {exc}"
                break
            messages.append({"role": "assistant", "content": turn})
            kind, model_text, sub_query = parse_policy_turn(turn)
            if kind != "search":
                outcome = "answered" if kind == "answer" else "no_tags"
                break
            target = match_candidate(model_text or "", candidates)
            record: dict[str, Any] = {"model": model_text, "candidate": target.name if target else None,
                                      "sub_query": sub_query or query.text[: p.query_chars], "ok": False}
            searches.append(record)
            if target is None:
                info = f"Unknown model {model_text!r}. Choose one of: {', '.join(c.name for c in candidates)}."
            else:
                try:
                    info = one((yield LLMRequest.user(target.model, record["sub_query"], purpose=POOL)))
                except LLMCallError as exc:
                    if exc.cause == "cap":
                        outcome, warning = "call_cap", f"{self.name}: {exc}"
                        break
                    info = "The model did not reply."
                else:
                    record["ok"] = True
                    consulted.append(target.name)
            messages.append({"role": "user", "content": f"<information>{info[: p.info_chars]}</information>"})
        prior = self._prior(query, candidates)
        w = p.selection_weight
        selected = consulted[-1] if consulted else None
        quality = {}
        for name, q in prior.items():
            v = 1.0 if name == selected else (0.5 if name in consulted else 0.0)
            quality[name] = q if selected is None else (1 - w) * q + w * v
        details: dict[str, Any] = {"rounds": rounds, "outcome": outcome, "searches": searches, "selected": selected}
        if warning:
            details["warning"] = warning
        return Estimate(quality=quality, details=details)

    @classmethod
    def conformance_instances(cls) -> Sequence[BaseStrategy[Any]]:
        """A FakeLLM policy (test double) that consults the first listed candidate once, then answers."""
        from routeiq_core.testing import FakeLLM, FakeRule

        fake = FakeLLM([FakeRule(r"<information>", "<answer>done</answer>"),
                        FakeRule(r"^Question:", search_first_candidate)],
                       default="a pool model's reply")
        return [cls(llm=fake)]


def search_first_candidate(model: str, messages: Messages) -> str:
    """Test-double policy turn: search the first model listed in the system prompt with the question."""
    system = str(messages[0].get("content", ""))
    listed = [line[2:] for line in system.splitlines() if line.startswith("- ")]
    question = str(messages[-1].get("content", "")).removeprefix("Question:").strip()
    return f"<think>ask someone</think><search> {listed[0] if listed else 'nobody'}: {question} </search>"
