"""RouteIQ as a LiteLLM ``CustomRoutingStrategyBase``: RouteIQ picks every deployment.

A bound custom strategy replaces LiteLLM's whole pick (filters included), so this class
re-applies what matters itself: it resolves the model group, drops blocked, cooling-down
and unhealthy deployments, avoids deployments that already failed the request, and never
returns ``None``. Bind it with :func:`routeiq_litellm.install`.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Mapping
from typing import Any

from ._compat import (
    aactive_cooldown_ids,
    active_cooldown_ids,
    all_deployments,
    deployment_id,
    group_deployments,
    import_litellm,
    unhealthy_ids,
)
from ._engine import Pick, RoutingEngine, metadata_of, previous_deployment_ids

import_litellm()
from litellm.router import CustomRoutingStrategyBase  # type: ignore[attr-defined]  # noqa: E402

__all__ = ["RouteIQRoutingStrategy"]

log = logging.getLogger("routeiq.litellm")


class RouteIQRoutingStrategy(CustomRoutingStrategyBase):
    """Chooses the deployment of a LiteLLM model group with RouteIQ.

    Args:
        router: the ``litellm.Router`` whose deployments are chosen from (held weakly).
        engine: the shared :class:`~routeiq_litellm._engine.RoutingEngine` (routers per group).
    """

    def __init__(self, router: Any, engine: RoutingEngine) -> None:
        try:
            self._router_ref: Any = weakref.ref(router)
        except TypeError:  # not weak-referenceable: keep a strong reference
            self._router_ref = lambda: router
        self.engine = engine
        #: ``register_plugin`` or ``set_custom_routing_strategy`` (set by install).
        self.bound_with: str | None = None

    @property
    def router(self) -> Any:
        router = self._router_ref()
        if router is None:
            raise RuntimeError(
                "routeiq: the litellm.Router this strategy was bound to no longer exists"
            )
        return router

    # ------------------------------------------------------------------ helpers
    def _group(self, model: str) -> list[Mapping[str, Any]]:
        router = self.router
        deployments = group_deployments(router, model)
        if deployments:
            return deployments
        everything = all_deployments(router)
        by_id = [d for d in everything if deployment_id(d) == model]
        if by_id:  # a request for one specific deployment id
            return by_id
        raise RoutingEngine.unknown_group(model, {str(d.get("model_name")) for d in everything})

    def _plan(
        self,
        model: str,
        deployments: list[Mapping[str, Any]],
        cooling: Mapping[str, float],
        request_kwargs: Mapping[str, Any] | None,
    ) -> tuple[list[Mapping[str, Any]], dict[str, str]]:
        previous = previous_deployment_ids(metadata_of(request_kwargs))
        return RoutingEngine.pool(
            deployments,
            cooling=cooling,
            unhealthy=unhealthy_ids(self.router),
            previous=previous,
            model=model,
        )

    def _finish(
        self, model: str, pick: Pick, request_kwargs: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        md = metadata_of(request_kwargs)
        attempt = len(previous_deployment_ids(md)) + 1
        self.engine.stamp(md, self.engine.summary(pick, group=model, attempt=attempt))
        return pick.deployment  # type: ignore[return-value]  # the router's own model_list entry

    def _cooling(self, ids: list[str]) -> dict[str, float]:
        try:
            return active_cooldown_ids(self.router, ids)
        except Exception as exc:  # cooldown state is advisory: route without it rather than fail
            log.warning(
                "routeiq: could not read cooldowns (%s); routing without them", type(exc).__name__
            )
            return {}

    async def _acooling(self, ids: list[str]) -> dict[str, float]:
        try:
            return await aactive_cooldown_ids(self.router, ids)
        except Exception as exc:
            log.warning(
                "routeiq: could not read cooldowns (%s); routing without them", type(exc).__name__
            )
            return {}

    # ------------------------------------------------------------------ LiteLLM's entry points
    def get_available_deployment(  # type: ignore[override]
        self,
        model: str,
        messages: list[dict[str, Any]] | None = None,
        input: str | list[Any] | None = None,
        specific_deployment: bool | None = False,
        request_kwargs: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The sync pick (``router.completion``): decides inline."""
        deployments = self._group(model)
        cooling = self._cooling([deployment_id(d) for d in deployments])
        pool, excluded = self._plan(model, deployments, cooling, request_kwargs)
        inputs = self.engine.inputs(messages, input, request_kwargs)
        pick = self.engine.decide(deployments, pool, excluded, inputs, group=model)
        return self._finish(model, pick, request_kwargs)

    async def async_get_available_deployment(  # type: ignore[override]
        self,
        model: str,
        messages: list[dict[str, Any]] | None = None,
        input: str | list[Any] | None = None,
        specific_deployment: bool | None = False,
        request_kwargs: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The async pick (``router.acompletion`` and friends): inference runs in a thread pool."""
        deployments = self._group(model)
        cooling = await self._acooling([deployment_id(d) for d in deployments])
        pool, excluded = self._plan(model, deployments, cooling, request_kwargs)
        inputs = self.engine.inputs(messages, input, request_kwargs)
        pick = await self.engine.adecide(deployments, pool, excluded, inputs, group=model)
        return self._finish(model, pick, request_kwargs)
