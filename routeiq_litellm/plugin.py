"""RouteIQ as a LiteLLM routing plugin (``Router(plugins=[...])`` / ``router_settings.plugins``).

A routing plugin does not pick the deployment: it narrows ``context.candidate_models`` (the
``litellm_params.model`` strings of the group) to the model RouteIQ chose, and LiteLLM's own
strategy, cooldowns and health filters then pick among the deployments serving that model.
So load balancing across several deployments of one model keeps working.

Limits (LiteLLM's, not RouteIQ's): plugins run on async calls only, and they choose by model
string, so two deployments of the same model cannot be told apart.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Mapping
from typing import Any

from ._compat import aactive_cooldown_ids, deployment_id, group_deployments, unhealthy_ids
from ._engine import RoutingEngine, previous_deployment_ids
from .errors import NoHealthyDeploymentError

__all__ = ["RouteIQRoutingPlugin"]

log = logging.getLogger("routeiq.litellm")


_logged: set[str] = set()


def _log_once(message: str) -> None:
    """Log a configuration error once per process (it would otherwise repeat on every request)."""
    if message not in _logged:
        _logged.add(message)
        log.error(message)


class RouteIQRoutingPlugin:
    """Narrows a LiteLLM request's candidate models to the one RouteIQ chooses.

    Args:
        engine: the :class:`RoutingEngine`; default: built on first use from
            ``ROUTEIQ_LITELLM_CONFIG`` (or defaults).
        router: the ``litellm.Router`` (for prices, cooldowns and failed attempts); set it
            later with :meth:`attach`. In the LiteLLM proxy it is found automatically.
    """

    def __init__(self, engine: RoutingEngine | None = None, *, router: Any = None) -> None:
        self._engine = engine
        self._router = router
        self._lock = threading.Lock()

    @property
    def engine(self) -> RoutingEngine:
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    from ._install import make_engine

                    self._engine = make_engine()
        return self._engine

    def attach(self, router: Any) -> RouteIQRoutingPlugin:
        """Use ``router``'s deployments, cooldowns and failed attempts when deciding."""
        self._router = router
        return self

    def _current_router(self) -> Any:
        if self._router is not None:
            return self._router
        proxy = sys.modules.get("litellm.proxy.proxy_server")
        return getattr(proxy, "llm_router", None) if proxy is not None else None

    async def _deployments(
        self, group: str, models: list[str], metadata: Mapping[str, Any]
    ) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]], dict[str, str]]:
        """The group's deployments still in ``models``, and the pool RouteIQ may choose from."""
        router = self._current_router()
        wanted = set(models)
        deployments: list[Mapping[str, Any]] = []
        if router is not None:
            deployments = [
                d
                for d in group_deployments(router, group)
                if (d.get("litellm_params") or {}).get("model") in wanted
            ]
        if not deployments:  # no router known: one pseudo-deployment per model string
            return self._pseudo(group, models), self._pseudo(group, models), {}
        try:
            cooling = await aactive_cooldown_ids(router, [deployment_id(d) for d in deployments])
            unhealthy = unhealthy_ids(router)
        except Exception as exc:
            log.warning(
                "routeiq: could not read cooldowns (%s); routing without them", type(exc).__name__
            )
            cooling, unhealthy = {}, set()
        pool, excluded = RoutingEngine.pool(
            deployments,
            cooling=cooling,
            unhealthy=unhealthy,
            previous=previous_deployment_ids(metadata),
            model=group,
        )
        return deployments, pool, excluded

    @staticmethod
    def _pseudo(group: str, models: list[str]) -> list[Mapping[str, Any]]:
        return [
            {"model_name": group, "litellm_params": {"model": m}, "model_info": {"id": m}}
            for m in dict.fromkeys(models)
        ]

    async def run(self, context: Any) -> Any:
        """LiteLLM's ``RoutingPlugin`` hook: narrow ``context.candidate_models`` to one model."""
        models = [m for m in context.candidate_models if isinstance(m, str)]
        if len(set(models)) <= 1:
            return context
        metadata = context.metadata if isinstance(context.metadata, Mapping) else {}
        group = str(metadata.get("model_group") or "")
        try:
            deployments, pool, excluded = await self._deployments(group, models, metadata)
        except NoHealthyDeploymentError:
            return context  # leave the whole list: LiteLLM reports the cooldowns itself
        except Exception as exc:
            log.warning(
                "routeiq: plugin could not resolve model group %r (%s); not narrowing",
                group,
                type(exc).__name__,
            )
            return context
        try:
            engine = self.engine
        except Exception as exc:  # e.g. a bad settings file: LiteLLM's own routing serves instead
            _log_once(
                "routeiq: routing plugin disabled, cannot build RouteIQ "
                f"({type(exc).__name__}: {exc})"
            )
            return context
        inputs = engine.inputs(
            context.structured_messages or context.raw_messages or None,
            None,
            {"metadata": metadata},
        )
        pick = await engine.adecide(deployments, pool, excluded, inputs, group=group)
        chosen = str((pick.deployment.get("litellm_params") or {}).get("model"))
        context.candidate_models = [m for m in models if m == chosen]
        attempt = len(previous_deployment_ids(metadata)) + 1
        record = engine.summary(pick, group=group, attempt=attempt)
        context.signals[engine.settings.metadata_key] = record
        if isinstance(context.metadata, dict):
            engine.stamp(context.metadata, record)
        return context
