"""The dashboard web UI over the decision log (``routeiq dashboard``); see ``docs/operations/dashboard.md``."""

from __future__ import annotations

from ._app import create_app

__all__ = ["create_app"]
