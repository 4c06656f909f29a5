"""Automatic feedback from LiteLLM: every routed call's outcome into the decision log.

:class:`OutcomeRecorder` is a LiteLLM ``CustomLogger``. After each call LiteLLM hands it the
request's kwargs, where RouteIQ stamped the decision (``metadata["routeiq"]["id"]``); the
recorder reports, for that decision, the deployment that served it, LiteLLM's real
``response_cost``, the latency and, for a failure, the exception's type (never its text,
which may quote the prompt). Nothing is recorded for a call RouteIQ did not route or when
the engine has no decision log. A failure here is logged at debug level and never reaches
the call.

In process, :func:`routeiq_litellm.install` adds one to ``litellm.callbacks`` when the
settings name a log. In the proxy, both callbacks (``routeiq_litellm.proxy.binder`` and
``routeiq_litellm.proxy.headers``) are recorders.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ._compat import import_litellm
from ._engine import RoutingEngine, stamped_record

import_litellm()
from litellm.integrations.custom_logger import CustomLogger  # noqa: E402

__all__ = ["OutcomeRecorder", "outcome_of"]

log = logging.getLogger("routeiq.litellm")


def _milliseconds(start: Any, end: Any) -> float | None:
    if isinstance(start, datetime) and isinstance(end, datetime):
        return max(0.0, (end - start).total_seconds() * 1e3)
    if isinstance(start, (int, float)) and isinstance(end, (int, float)):
        return max(0.0, (float(end) - float(start)) * 1e3)
    return None


def _params(kwargs: Mapping[str, Any]) -> Mapping[str, Any]:
    params = kwargs.get("litellm_params")
    return params if isinstance(params, Mapping) else {}


def outcome_of(kwargs: Mapping[str, Any], start: Any, end: Any, *, failed: bool,
               metadata_key: str = "routeiq") -> tuple[str, dict[str, Any]] | None:
    """(decision id, outcome fields) for a LiteLLM call's kwargs; None if RouteIQ did not route it."""
    params = _params(kwargs)
    record = stamped_record(params, metadata_key) or stamped_record(kwargs, metadata_key)
    decision_id = record.get("id") if isinstance(record, Mapping) else None
    if not isinstance(decision_id, str):
        return None
    model_info = params.get("model_info") if isinstance(params.get("model_info"), Mapping) else None
    model_info = model_info or (kwargs.get("model_info") if isinstance(kwargs.get("model_info"), Mapping) else {})
    served = model_info.get("id") if model_info else None
    cost = kwargs.get("response_cost")
    if cost is None:
        slo = kwargs.get("standard_logging_object")
        cost = slo.get("response_cost") if isinstance(slo, Mapping) else None
    outcome: dict[str, Any] = {
        "success": not failed,
        "latency_ms": _milliseconds(start, end),
        "served_by": None if served is None else str(served),
        "cost_usd": float(cost) if isinstance(cost, (int, float)) and not isinstance(cost, bool) and cost >= 0
        else None,
    }
    if failed:
        exc = kwargs.get("exception")
        outcome["error"] = type(exc).__name__ if exc is not None else "failure"
        outcome["cost_usd"] = outcome["cost_usd"] or None
    return decision_id, outcome


class OutcomeRecorder(CustomLogger):
    """Reports each routed call's outcome to the engine's decision log (see the module docstring)."""

    def __init__(self, engine: RoutingEngine | None = None) -> None:
        super().__init__()
        self._engine = engine
        self.recorded = 0

    @property
    def engine(self) -> RoutingEngine | None:
        return self._engine

    def _record(self, kwargs: Any, start: Any, end: Any, failed: bool) -> None:
        try:
            engine = self.engine
            logger = engine.decision_log if engine is not None else None
            if engine is None or logger is None or not isinstance(kwargs, Mapping):
                return
            found = outcome_of(kwargs, start, end, failed=failed, metadata_key=engine.settings.metadata_key)
            if found is None:
                return
            decision_id, outcome = found
            engine.feedback(decision_id, source="litellm", **outcome)
            self.recorded += 1
        except Exception as exc:  # feedback must never fail or slow the call
            log.debug("routeiq: could not record a LiteLLM outcome (%s)", type(exc).__name__)

    def log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self._record(kwargs, start_time, end_time, failed=False)

    def log_failure_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self._record(kwargs, start_time, end_time, failed=True)

    async def async_log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self._record(kwargs, start_time, end_time, failed=False)

    async def async_log_failure_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self._record(kwargs, start_time, end_time, failed=True)
