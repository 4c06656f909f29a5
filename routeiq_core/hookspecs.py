"""Plugin hooks: what a RouteIQ plugin may implement.

A plugin is a module (or any object) with ``@hookimpl`` functions, named by a
``[project.entry-points.routeiq]`` entry in its distribution's ``pyproject.toml``::

    from routeiq_core.hookspecs import hookimpl

    @hookimpl
    def routeiq_register_strategies(register):
        register(MyStrategy)                    # registered under MyStrategy.name

Hooks run once, when a :class:`~routeiq_core.StrategyRegistry` first loads its
plugins (the first ``get``/``names``), never per request and never at import.
Implementations may take fewer arguments than the spec (pluggy allows it), so
new arguments can be added later without breaking existing plugins.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import pluggy

if TYPE_CHECKING:
    from ._decision import Decision
    from ._embedding import Embedder

__all__ = [
    "PROJECT_NAME",
    "RegisterDecisionLog",
    "RegisterEmbedder",
    "RegisterStrategy",
    "hookimpl",
    "hookspec",
    "routeiq_on_decision",
    "routeiq_on_decision_async",
    "routeiq_register_decision_logs",
    "routeiq_register_embedders",
    "routeiq_register_strategies",
]

#: The pluggy project name and the entry-point group plugins are declared in.
PROJECT_NAME = "routeiq"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


class RegisterStrategy(Protocol):
    """The ``register`` callable passed to :func:`routeiq_register_strategies`."""

    def __call__(self, cls: type, *, name: str | None = None, replace: bool = False) -> None:
        """Register strategy class ``cls``.

        Args:
            cls: a :class:`~routeiq_core.BaseStrategy` subclass (or any class with
                ``name``, ``tags``, ``Params``, ``fit``, ``predict``, ``save`` and ``load``).
            name: the registered name; defaults to ``cls.name`` and must equal it,
                because saved artifacts record ``cls.name``. Third-party names are
                namespaced: ``"vendor.strategy"``.
            replace: replace an already registered strategy of the same name
                instead of raising.
        """


class RegisterEmbedder(Protocol):
    """The ``register`` callable passed to :func:`routeiq_register_embedders`."""

    def __call__(self, factory: Callable[[], Embedder], *, name: str, replace: bool = False) -> None:
        """Register ``factory`` (called with no arguments) as the embedder ``name``.

        The factory is called only when the embedder is asked for, so it may load
        a model file; it returns an object with ``model_id``, ``dim``, ``embed``
        and ``embed_many`` (see :class:`~routeiq_core.Embedder`).
        """


class RegisterDecisionLog(Protocol):
    """The ``register`` callable passed to :func:`routeiq_register_decision_logs`."""

    def __call__(self, scheme: str, factory: Callable[..., Any], *, replace: bool = False) -> None:
        """Open decision-log URLs ``scheme://...`` with ``factory(url, **options)``."""


@hookspec
def routeiq_register_strategies(register: RegisterStrategy) -> None:
    """Register strategy classes by calling ``register(cls, *, name=None, replace=False)``.

    Called once per registry when it loads its plugins. Import heavy libraries
    (scikit-learn, torch, litellm) inside the strategy's methods, not at module level:
    ``routeiq strategies list`` imports every plugin. Returns nothing.
    """


@hookspec
def routeiq_register_embedders(register: RegisterEmbedder) -> None:
    """Register embedding models by calling ``register(factory, *, name, replace=False)``.

    Called once per registry when it loads its plugins. A registered embedder can
    be used for training (``routeiq train --embedder NAME``) and routing
    (``Router(embedder=registry.create_embedder(NAME))``). Returns nothing.
    """


@hookspec
def routeiq_register_decision_logs(register: RegisterDecisionLog) -> None:
    """Register decision-log backends by calling ``register(scheme, factory, *, replace=False)``.

    ``factory(url, **options)`` is called by :func:`routeiq_core.decisionlog.open_log` for a
    URL ``scheme://...`` and returns an object implementing
    :class:`~routeiq_core.decisionlog.DecisionLog`. Returns nothing.
    """


@hookspec
def routeiq_on_decision(decision: Decision) -> None:
    """Called after every decision of a router with decision hooks on (your own sink: a queue, a
    metric, a log). Runs on the request's thread: keep it quick. An exception is contained:
    counted in ``hook_failures`` and logged, the decision goes on. Never receives prompt text
    unless you read ``decision.query``."""


@hookspec
def routeiq_on_decision_async(decision: Decision) -> None:
    """The async twin of :func:`routeiq_on_decision`: a coroutine function, run on RouteIQ's
    background event loop (the request does not wait for it). Exceptions are contained likewise."""
