"""Evaluate routing strategies on real per-prompt x per-model data.

``evaluate(train, test, ["knn", "mlp", "centroid"])`` trains each strategy, decides
on the test prompts with the router's own choice rule, and measures quality and
cost against every single model, random routing and the oracle; ``write_report``
writes Markdown, JSON, a cost-quality PNG and an HTML page. The command line is
``routeiq eval``.
"""

from __future__ import annotations

from .harness import (
    Baseline,
    EvaluationResult,
    StrategyResult,
    candidates_for,
    default_cost_weights,
    evaluate,
)
from .metrics import (
    RouteLLMMetrics,
    chord_quality,
    cost_to_reach,
    frontier,
    hull_lift,
    quality_at_cost,
    routellm_curve,
    routellm_metrics,
    upper_hull,
)
from .report import markdown_report, summary_rows, write_report

__all__ = [
    "Baseline",
    "EvaluationResult",
    "RouteLLMMetrics",
    "StrategyResult",
    "candidates_for",
    "chord_quality",
    "cost_to_reach",
    "default_cost_weights",
    "evaluate",
    "frontier",
    "hull_lift",
    "markdown_report",
    "quality_at_cost",
    "routellm_curve",
    "routellm_metrics",
    "summary_rows",
    "upper_hull",
    "write_report",
]
