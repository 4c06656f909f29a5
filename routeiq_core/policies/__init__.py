"""Policy rules and budgets, evaluated before the strategy; see ``docs/operations/policies.md``."""

from __future__ import annotations

from ._engine import Policies, PolicyWarning
from ._model import Budget, PolicySet, Rule, load_policies

__all__ = ["Budget", "Policies", "PolicySet", "PolicyWarning", "Rule", "load_policies"]
