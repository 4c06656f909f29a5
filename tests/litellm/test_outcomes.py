"""Automatic feedback from a real litellm.Router: served deployment, real cost, latency, failures."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from routeiq_core.decisionlog import LogFilter, iter_log

from .conftest import PROMPTS, model_list


def _install(litellm: Any, tmp_path: Path, models: list[dict[str, Any]] | None = None) -> tuple[Any, Any]:
    import routeiq_litellm

    router = litellm.Router(model_list=models or model_list(), num_retries=0)
    strategy = routeiq_litellm.install(router, log=f"sqlite:///{tmp_path}/litellm.db")
    return router, strategy.engine


def test_every_routed_call_records_its_outcome(litellm: Any, tmp_path: Path) -> None:
    """12 calls (sync and async) -> 12 decisions, each with one report: the served deployment
    (the one named in the mock answer), LiteLLM's response_cost, latency, success."""
    router, engine = _install(litellm, tmp_path)
    served = {}
    for prompt in PROMPTS.values():
        for _ in range(2):
            r = router.completion(model="chat", messages=[{"role": "user", "content": prompt}])
            served[r._hidden_params["model_id"]] = r.choices[0].message.content

    async def many() -> list[Any]:
        out = await asyncio.gather(*[
            router.acompletion(model="chat", messages=[{"role": "user", "content": p}]) for p in PROMPTS.values()])
        await asyncio.sleep(1.0)  # LiteLLM runs its success callbacks as tasks on this loop
        return out

    for r in asyncio.run(many()):
        served[r._hidden_params["model_id"]] = r.choices[0].message.content
    logger = engine.decision_log
    assert logger is not None
    assert _wait_reports(logger, 12)
    rows = list(iter_log(logger.log))
    assert len(rows) == 12
    for row in rows:
        o = row.outcome
        assert o is not None and o.reports == 1 and o.sources == ("litellm",)  # one report per call
        assert o.success is True and o.served_by == row.record.candidate
        assert served[o.served_by] == f"served by {o.served_by}"
        assert o.latency_ms is not None and o.latency_ms >= 0
        assert o.cost_usd is not None and o.cost_usd > 0  # LiteLLM's own price map, local copy
    # a call that worked says nothing about the answer: LiteLLM's outcomes do not refine quality
    assert engine._template.strategy.refinement_state() == {}
    engine.feedback(rows[0].record.id, score=0.2, source="user")  # a user's score does
    assert engine._template.strategy.refinement_state() != {}
    logger.close()


def test_a_failed_call_records_the_error_type_only(litellm: Any, tmp_path: Path) -> None:
    """A deployment that fails: the outcome says success False and the exception's type, no text."""
    from .conftest import deployment

    models = [deployment("solo", "solo-1", "openai/gpt-4o-mini", mock="litellm.InternalServerError")]
    router, engine = _install(litellm, tmp_path, models)
    try:
        router.completion(model="solo", messages=[{"role": "user", "content": "secret plan CANARY-x"}])
    except Exception as exc:
        assert "InternalServerError" in type(exc).__name__
    logger = engine.decision_log
    assert _wait_reports(logger, 1)
    (row,) = logger.log.query(LogFilter(with_feedback=True))
    assert row.outcome.success is False and row.outcome.error == "InternalServerError"
    assert row.outcome.served_by == "solo-1"
    logger.close()


def _wait_reports(logger: Any, n: int, timeout: float = 20.0) -> bool:
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        logger.flush()
        if len(logger.log.query(LogFilter(with_feedback=True), limit=1000)) >= n:
            return True
        time.sleep(0.1)
    return False
