"""Telemetry: OpenTelemetry spans and metrics, Prometheus metrics, decision hooks.

See ``docs/operations/telemetry.md``. Nothing here imports an OpenTelemetry SDK or
prometheus-client until the extension that needs it is created.
"""

from __future__ import annotations

from ._hooks import DecisionHooks
from ._otel import OpenTelemetryExtension, decision_attributes
from ._prometheus import PrometheusMetrics, metrics_text

__all__ = ["DecisionHooks", "OpenTelemetryExtension", "PrometheusMetrics", "decision_attributes", "metrics_text"]
