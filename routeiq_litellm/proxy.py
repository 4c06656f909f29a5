"""RouteIQ in the LiteLLM proxy (``litellm --config config.yaml``), configured by YAML only.

Two routes, both per worker process (each ``--num_workers`` worker builds its own router):

* ``router_settings: {plugins: ["routeiq_litellm.proxy.plugin"]}`` — the official routing
  plugin hook: RouteIQ narrows the candidate models and LiteLLM keeps its load balancing,
  cooldowns and health filters. For ``x-routeiq-*`` response headers add
  ``litellm_settings: {callbacks: ["routeiq_litellm.proxy.headers"]}``.
* ``litellm_settings: {callbacks: ["routeiq_litellm.proxy.binder"]}`` — full control: a callback
  that binds :class:`~routeiq_litellm.strategy.RouteIQRoutingStrategy` to the worker's router
  before its first request, and binds again whenever the proxy rebuilds the router or its
  ``routing_strategy`` changes (which silently drops a custom strategy in LiteLLM).

Settings come from the file named by ``ROUTEIQ_LITELLM_CONFIG`` (it may be the proxy's own
config with a top-level ``routeiq:`` section).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import weakref
from collections.abc import Mapping
from typing import Any

from ._compat import (
    all_deployments,
    bind_strategy,
    group_deployments,
    import_litellm,
    routing_strategy_name,
)
from ._engine import RoutingEngine, stamped_record
from .outcomes import OutcomeRecorder
from .plugin import RouteIQRoutingPlugin, _log_once

import_litellm()  # checks the installed litellm version first, with an error naming the extra

__all__ = ["RouteIQProxyCallback", "binder", "headers", "plugin", "shared_engine"]

log = logging.getLogger("routeiq.litellm")

_engine: RoutingEngine | None = None
_engine_lock = threading.Lock()


def shared_engine() -> RoutingEngine:
    """The worker's engine (settings from ``ROUTEIQ_LITELLM_CONFIG``), shared by all hooks."""
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                from ._install import make_engine

                _engine = make_engine()
    return _engine


class _ProxyPlugin(RouteIQRoutingPlugin):
    """The routing plugin with the worker's shared engine."""

    @property
    def engine(self) -> RoutingEngine:
        return shared_engine()


def _keep_served_model_name(data: dict[str, Any]) -> None:
    """Ask LiteLLM not to restamp the response's ``model`` with the requested group name, so the body
    can name the served model (LiteLLM's own metadata flag for routers; absent in other versions)."""
    try:
        from litellm.constants import RETURN_RAW_MODEL_NAME_METADATA_KEY as key
    except ImportError:
        return
    md = data.get("metadata")
    if isinstance(md, dict):
        md[key] = True
    elif md is None:
        data["metadata"] = {key: True}


class RouteIQProxyCallback(OutcomeRecorder):
    """Binds RouteIQ to the proxy's router (``bind=True``); adds ``x-routeiq-*`` headers; records
    each routed call's outcome in the decision log when the settings name one."""

    def __init__(self, *, bind: bool) -> None:
        super().__init__()
        self.bind = bind
        self._bound: Any = None  # weakref to the router we bound to
        self._bound_strategy: str | None = None
        self._lock = threading.Lock()
        self.binds = 0

    @property
    def engine(self) -> RoutingEngine | None:
        return _engine  # the worker's engine once a hook has built it (outcomes never build it)

    # ------------------------------------------------------------------ binding
    def _needs_bind(self, router: Any) -> bool:
        current = self._bound() if self._bound is not None else None
        return current is not router or routing_strategy_name(router) != self._bound_strategy

    def ensure_bound(self, router: Any) -> bool:
        """Bind unless bound to ``router`` under the same routing_strategy; True if it bound."""
        if router is None or not self._needs_bind(router):
            return False
        with self._lock:
            if not self._needs_bind(router):
                return False
            from .strategy import RouteIQRoutingStrategy

            try:
                engine = shared_engine()
            except (
                Exception
            ) as exc:  # e.g. a bad settings file: LiteLLM's own routing serves instead
                _log_once(
                    f"routeiq: not binding, cannot build RouteIQ ({type(exc).__name__}: {exc})"
                )
                return False
            bind_strategy(router, RouteIQRoutingStrategy(router, engine))
            try:
                self._bound = weakref.ref(router)
            except TypeError:
                self._bound = lambda: router
            self._bound_strategy = routing_strategy_name(router)
            self.binds += 1
            log.info("routeiq: bound to the proxy router %#x in worker %d", id(router), os.getpid())
            return True

    @staticmethod
    def _proxy_router() -> Any:
        from litellm.proxy import proxy_server

        return proxy_server.llm_router

    def _warm_up(self, router: Any) -> None:
        engine = shared_engine()
        for group in sorted({str(d.get("model_name")) for d in all_deployments(router)}):
            deployments = group_deployments(router, group)
            if deployments:
                try:
                    engine.warm_up(deployments)
                except Exception as exc:  # per-request picks fall back and log, too
                    log.warning("routeiq: warm-up of model group %r failed: %s", group, exc)

    async def async_pre_call_hook(
        self, user_api_key_dict: Any, cache: Any, data: dict[str, Any], call_type: Any
    ) -> Any:
        _keep_served_model_name(data)
        if self.bind:
            router = self._proxy_router()
            if self.ensure_bound(router):
                # Load the embedding model off the event loop before the first pick needs it.
                await asyncio.get_running_loop().run_in_executor(None, self._warm_up, router)
        return data

    # ------------------------------------------------------------------ visible decisions
    def _key(self) -> str:
        return _engine.settings.metadata_key if _engine is not None else "routeiq"

    @staticmethod
    def _public(record: Mapping[str, Any]) -> dict[str, Any]:
        """What a client sees of the decision in the response body (no prompt text)."""
        keys = ("id", "deployment", "model", "tier", "category", "profile", "confidence", "fallback", "experiment",
                "arm", "session_tier")
        return {k: record.get(k) for k in keys if record.get(k) is not None}

    async def async_post_call_success_hook(self, data: dict[str, Any], user_api_key_dict: Any, response: Any) -> Any:
        """The response body names the served model (not the group) and carries a ``routeiq`` object."""
        record = stamped_record(data, self._key())
        if record is not None and response is not None:
            try:
                if record.get("model"):
                    response.model = record["model"]
                response.routeiq = self._public(record)
            except Exception as exc:  # a response type that takes no attributes: headers still say it
                log.debug("routeiq: could not annotate the response (%s)", type(exc).__name__)
        return response

    async def async_post_call_streaming_iterator_hook(self, user_api_key_dict: Any, response: Any,
                                                      request_data: dict[str, Any]) -> Any:
        """Every stream chunk names the served model (the ``routeiq`` object is in the headers: LiteLLM's
        chunk type does not serialise extra fields)."""
        record = stamped_record(request_data, self._key())
        async for chunk in response:
            if record is not None and record.get("model"):
                try:
                    chunk.model = record["model"]
                except Exception:
                    pass
            yield chunk

    async def async_pre_call_deployment_hook(self, kwargs: dict[str, Any], call_type: Any) -> Any:
        """After the pick, before the call: copy the decision into the spend logs' metadata (the
        routing-plugin route keeps it in ``routing_plugin_signals`` only)."""
        try:
            for md in (kwargs.get("metadata"), kwargs.get("litellm_metadata")):
                if not isinstance(md, dict) or _engine is None:
                    continue
                record = stamped_record({"metadata": md}, self._key())
                spend = md.get("spend_logs_metadata")
                if record is not None and not (isinstance(spend, Mapping) and "routeiq_decision_id" in spend):
                    _engine.stamp(md, record)
        except Exception as exc:
            log.debug("routeiq: could not stamp the spend logs (%s)", type(exc).__name__)
        return None

    async def async_post_call_failure_hook(self, request_data: dict[str, Any], original_exception: Exception,
                                           user_api_key_dict: Any, traceback_str: str | None = None) -> Any:
        """A policy's rejection becomes a 403 with the rule's message (not a 500)."""
        from routeiq_core.errors import PolicyError

        exc: BaseException | None = original_exception
        for _ in range(5):  # LiteLLM may wrap it
            if isinstance(exc, PolicyError) or exc is None:
                break
            exc = exc.__cause__ or exc.__context__
        if isinstance(exc, PolicyError):
            from fastapi import HTTPException

            raise HTTPException(status_code=403, detail={"error": str(exc), "routeiq_rule": exc.rule})
        return None

    # ------------------------------------------------------------------ response headers
    async def async_post_call_response_headers_hook(
        self,
        data: dict[str, Any],
        user_api_key_dict: Any,
        response: Any,
        request_headers: dict[str, str] | None = None,
        litellm_call_info: dict[str, Any] | None = None,
    ) -> dict[str, str] | None:
        out = {"x-routeiq-worker-pid": str(os.getpid())}
        key = _engine.settings.metadata_key if _engine is not None else "routeiq"
        record = stamped_record(data, key)
        if record is not None:
            for key in ("id", "deployment", "model", "tier", "category", "profile", "confidence", "fallback",
                        "experiment", "arm", "session_tier"):
                if record.get(key) is not None:
                    out[f"x-routeiq-{key.replace('_', '-')}"] = str(record[key])
        return out


# ---------------------------------------------------------------------- user feedback over HTTP
FEEDBACK_PATH = "/routeiq/feedback"
_FEEDBACK_FIELDS = ("success", "score", "cost_usd", "latency_ms", "served_by", "error")


async def feedback_endpoint(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """``POST /routeiq/feedback`` ``{"id": "<x-routeiq-id>", "score": 0.9, ...}`` -> (status, JSON body)."""
    from routeiq_core.errors import FeedbackError

    logger = _engine.decision_log if _engine is not None else None
    if logger is None:
        return 503, {"error": "RouteIQ has no decision log here: set `log:` in the routeiq settings "
                              "(or ROUTEIQ_LOG)"}
    if not isinstance(body, dict):
        return 400, {"error": "expected a JSON object such as {\"id\": \"...\", \"score\": 0.9}"}
    unknown = sorted(set(body) - {"id", "source", *_FEEDBACK_FIELDS})
    if unknown:
        return 400, {"error": f"unknown fields {unknown[:10]}; expected id, source and any of {list(_FEEDBACK_FIELDS)}"}
    outcome = {k: body[k] for k in _FEEDBACK_FIELDS if k in body}
    try:
        report = await asyncio.to_thread(logger.feedback, body.get("id"), source=body.get("source") or "http",
                                         **outcome)
    except FeedbackError as exc:
        return (404 if "no decision with id" in str(exc) else 400), {"error": str(exc)}
    return 200, {"recorded": True, "decision_id": report.decision_id, "feedback_id": report.id}


def proxy_key() -> Any:
    """A FastAPI dependency: LiteLLM's own key check; any failure in it (a bad key, no database for
    virtual keys) is a 401 that reveals nothing."""
    import inspect

    from fastapi import HTTPException
    from litellm.proxy.auth.user_api_key_auth import user_api_key_auth

    async def check(**credentials: Any) -> Any:
        try:
            return await user_api_key_auth(**credentials)
        except Exception:
            raise HTTPException(status_code=401, detail="a valid proxy key is required") from None

    check.__signature__ = inspect.signature(user_api_key_auth)  # type: ignore[attr-defined]
    return check


def add_feedback_route(app: Any) -> bool:
    """Add ``POST /routeiq/feedback`` to the proxy's FastAPI app, behind LiteLLM's own key check
    (``Authorization: Bearer <a proxy key>``). True if it added the route."""
    from fastapi import Depends, Request
    from fastapi.responses import JSONResponse

    if any(getattr(route, "path", None) == FEEDBACK_PATH for route in app.routes):
        return False

    async def routeiq_feedback(request: Any) -> Any:
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "the body is not JSON"}, status_code=400)
        status, payload = await feedback_endpoint(body)
        return JSONResponse(payload, status_code=status)

    # real objects, not the strings `from __future__ import annotations` makes: FastAPI reads them
    routeiq_feedback.__annotations__ = {"request": Request, "return": JSONResponse}
    app.add_api_route(FEEDBACK_PATH, routeiq_feedback, methods=["POST"], tags=["RouteIQ"],
                      dependencies=[Depends(proxy_key())])
    # LiteLLM may register catch-all routes (pass-through endpoints): ours must match first.
    app.router.routes.insert(0, app.router.routes.pop())
    return True


METRICS_PATH = "/routeiq/metrics"


def add_metrics_route(app: Any) -> bool:
    """``GET /routeiq/metrics``: RouteIQ's Prometheus metrics (all workers' in multiprocess mode),
    behind the proxy's key check like the feedback endpoint."""
    from fastapi import Depends
    from fastapi.responses import Response

    if any(getattr(route, "path", None) == METRICS_PATH for route in app.routes):
        return False
    async def routeiq_metrics() -> Any:
        from routeiq_core.errors import MissingDependencyError
        from routeiq_core.telemetry import metrics_text

        try:
            return Response(metrics_text(), media_type="text/plain; version=0.0.4")
        except MissingDependencyError as exc:
            return Response(str(exc), status_code=503)

    app.add_api_route(METRICS_PATH, routeiq_metrics, methods=["GET"], tags=["RouteIQ"],
                      dependencies=[Depends(proxy_key())])
    app.router.routes.insert(0, app.router.routes.pop())
    return True


DASHBOARD_PATH = "/routeiq/ui"


def add_dashboard_route(app: Any) -> bool:
    """Mount the dashboard at ``/routeiq/ui/`` (``ROUTEIQ_DASHBOARD=true``): it reads the worker's
    decision log, and its access token is the proxy's master key, read at every request (LiteLLM
    sets it while it starts). True if it mounted it; a warning says why not."""
    import sys

    from routeiq_core._settings import RouteIQSettings

    if not RouteIQSettings.from_env().dashboard:
        return False
    if any(getattr(route, "path", None) == DASHBOARD_PATH for route in app.routes):
        return False
    settings = shared_engine().settings
    if not settings.log:
        log.warning("routeiq: ROUTEIQ_DASHBOARD is set but there is no decision log (ROUTEIQ_LOG or `log:`); "
                    "the dashboard is not served")
        return False
    from routeiq_core.dashboard import create_app

    server = sys.modules["litellm.proxy.proxy_server"]

    def master_key() -> str | None:
        key = getattr(server, "master_key", None)
        return key if isinstance(key, str) and key else None

    def router() -> Any:
        return shared_engine().template  # the first group's router, once a request has built it

    app.mount(DASHBOARD_PATH, create_app(settings.log, token=master_key, root_path=DASHBOARD_PATH, router=router))
    app.router.routes.insert(0, app.router.routes.pop())  # before LiteLLM's own /ui and catch-alls
    return True


def _decision_lines() -> None:
    """One INFO line per decision on stderr in the proxy, unless the logger is configured already."""
    from ._engine import decision_log

    if not decision_log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s routeiq %(levelname)s %(message)s"))
        decision_log.addHandler(handler)
        decision_log.setLevel(logging.INFO)
        decision_log.propagate = False


def _add_route_in_the_proxy() -> None:
    import sys

    server = sys.modules.get("litellm.proxy.proxy_server")
    if server is None or getattr(server, "app", None) is None:
        return  # imported outside the proxy (tests, the SDK): no web app to extend
    _decision_lines()
    try:
        add_feedback_route(server.app)
        add_metrics_route(server.app)
        add_dashboard_route(server.app)
    except Exception as exc:  # routing must work even if the endpoints cannot be added
        log.warning("routeiq: could not add RouteIQ's endpoints to the proxy (%s)", type(exc).__name__)


_add_route_in_the_proxy()

#: ``router_settings.plugins: ["routeiq_litellm.proxy.plugin"]``
plugin = _ProxyPlugin()
#: ``litellm_settings.callbacks: ["routeiq_litellm.proxy.binder"]``
binder = RouteIQProxyCallback(bind=True)
#: ``litellm_settings.callbacks: ["routeiq_litellm.proxy.headers"]`` (response headers only)
headers = RouteIQProxyCallback(bind=False)
