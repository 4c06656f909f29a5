"""Errors the LiteLLM adapter raises on purpose (part of RouteIQ's one error hierarchy).

``status_code`` lets the LiteLLM proxy answer with a meaningful HTTP status.
"""

from __future__ import annotations

from routeiq_core.errors import NoCandidatesError, RequestError

__all__ = ["NoHealthyDeploymentError", "UnknownModelGroupError"]


class UnknownModelGroupError(RequestError):
    """The requested model is not a model group (nor an alias or wildcard) of the LiteLLM router."""

    status_code = 400


class NoHealthyDeploymentError(NoCandidatesError):
    """Every deployment of the group is cooling down, blocked or unhealthy (fallbacks run next)."""

    status_code = 429

    def __init__(self, message: str, *, cooldown_seconds: float = 0.0) -> None:
        super().__init__(message)
        self.cooldown_seconds = cooldown_seconds
