"""A/B and shadow experiments: arms that differ in strategy, artifact, profile, centroids or candidates.

Configure them as ``experiments:`` in a router config; see ``docs/operations/experiments.md``.
"""

from __future__ import annotations

from ._config import ArmConfig, ExperimentConfig
from ._runner import Experiments, assign

__all__ = ["ArmConfig", "ExperimentConfig", "Experiments", "assign"]
