"""Decision hooks: ``routeiq_on_decision(decision)`` (and its async twin) for users' own sinks.

Implementations come from plugins (the ``routeiq`` entry points, like strategies) and from
objects registered in code (``DecisionHooks.register(obj)``). Each implementation is called on
its own, so one that raises does not stop the others: the exception is contained, counted in
``hook_failures`` and logged (by type). Async implementations run on one background event loop
thread; the request never waits for them.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._decision import Decision
    from .._extensions import DecisionContext

__all__ = ["DecisionHooks"]

log = logging.getLogger("routeiq")


class DecisionHooks:
    """Calls the decision hooks after each decision (an after-decision extension)."""

    name = "decision-hooks"

    def __init__(self, *objects: object, registry: Any = None, plugins: bool = True) -> None:
        import pluggy

        from .. import hookspecs

        self._pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self._pm.add_hookspecs(hookspecs)
        if plugins:
            from .._registry import default_registry

            source = (registry or default_registry())
            source.load()
            for plugin in source._plugin_manager().get_plugins():
                if hasattr(plugin, "routeiq_on_decision") or hasattr(plugin, "routeiq_on_decision_async"):
                    self._pm.register(plugin)
        for obj in objects:
            self.register(obj)
        self._counters: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def register(self, obj: object) -> None:
        """Add an object (or module) with ``@hookimpl`` functions ``routeiq_on_decision`` / ``..._async``."""
        self._pm.register(obj)

    def bind_router(self, router: Any) -> None:
        self._counters = router.counters

    def _failed(self, where: str, exc: BaseException) -> None:
        if self._counters is not None:
            self._counters.inc("hook_failures")
        log.warning("routeiq: decision hook %s failed (%s); skipped it", where, type(exc).__name__)

    def _background_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="routeiq-hooks", daemon=True).start()
                self._loop = loop
            return self._loop

    def after_decide(self, decision: Decision, ctx: DecisionContext) -> None:
        for impl in self._pm.hook.routeiq_on_decision.get_hookimpls():
            try:
                impl.function(decision=decision)
            except Exception as exc:
                self._failed(impl.plugin_name, exc)
        for impl in self._pm.hook.routeiq_on_decision_async.get_hookimpls():
            try:
                coroutine: Any = impl.function(decision=decision)
                future: Any = asyncio.run_coroutine_threadsafe(coroutine, self._background_loop())
            except Exception as exc:
                self._failed(impl.plugin_name, exc)
                continue
            future.add_done_callback(self._done(impl.plugin_name))
        return None

    def _done(self, name: str) -> Any:
        def check(future: Any) -> None:
            exc = future.exception()
            if exc is not None:
                self._failed(name, exc)

        return check
