"""Experiment configuration: named experiments, their arms, the unit of assignment, a window.

In a router config (YAML/JSON, or Python dicts)::

    experiments:
      - name: knn-vs-centroid
        unit: user                   # user | team | key | session | request
        start: 2026-12-01T00:00:00Z  # optional window, [start, stop)
        arms:
          - {name: control, weight: 90}                       # the router as configured
          - {name: knn, weight: 10, artifact: artifacts/knn}  # a trained strategy on 10%
          - {name: eco, shadow: true, profile: eco}           # decides alongside, never served

An arm may change the strategy (``strategy`` + ``strategy_params``, or ``artifact``), the
``profile``, the ``centroids``, or the ``candidates`` (a subset by name). Shadow arms take no
traffic of their own. Two experiments whose windows overlap would claim the same traffic: that
is an error at start, naming both.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["ArmConfig", "ExperimentConfig", "check_overlaps"]

NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class ArmConfig(BaseModel):
    """One arm: what it changes, and its share of the experiment's traffic."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=NAME)
    weight: float = Field(1.0, ge=0.0, allow_inf_nan=False, description="relative share of the served traffic")
    shadow: bool = Field(False, description="decide alongside the served arm, logged, never served")
    strategy: str | None = None
    strategy_params: dict[str, Any] = Field(default_factory=dict)
    artifact: str | None = None
    profile: str | None = None
    centroids: str | None = None
    candidates: list[str] | None = Field(None, min_length=1, description="a subset of the router's candidates")

    @model_validator(mode="after")
    def _one_strategy(self) -> ArmConfig:
        if self.strategy is not None and self.artifact is not None:
            raise ValueError(f"arm {self.name!r}: give strategy or artifact, not both")
        return self


class ExperimentConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=NAME)
    unit: Literal["user", "team", "key", "session", "request"] = "user"
    arms: list[ArmConfig] = Field(min_length=1)
    start: datetime | None = None
    stop: datetime | None = None

    @model_validator(mode="after")
    def _arms(self) -> ExperimentConfig:
        names = [a.name for a in self.arms]
        if len(set(names)) != len(names):
            raise ValueError(f"experiment {self.name!r}: arm names must be unique, got {names}")
        served = [a for a in self.arms if not a.shadow]
        if not served:
            raise ValueError(f"experiment {self.name!r}: every arm is a shadow; at least one must serve")
        if sum(a.weight for a in served) <= 0:
            raise ValueError(f"experiment {self.name!r}: the served arms' weights sum to 0; give at least one a "
                             "positive weight")
        if self.start is not None and self.stop is not None and self.stop <= self.start:
            raise ValueError(f"experiment {self.name!r}: stop must be after start")
        return self

    def _bounds(self) -> tuple[float, float]:
        def ts(value: datetime | None, default: float) -> float:
            if value is None:
                return default
            return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()

        return ts(self.start, float("-inf")), ts(self.stop, float("inf"))

    def active(self, now: float) -> bool:
        start, stop = self._bounds()
        return start <= now < stop


def check_overlaps(experiments: list[ExperimentConfig]) -> None:
    """Two experiments active at the same time would claim the same traffic: refuse them."""
    from ..errors import ConfigError

    bounds = [(e, *e._bounds()) for e in experiments]
    for i, (a, a0, a1) in enumerate(bounds):
        for b, b0, b1 in bounds[i + 1:]:
            if a0 < b1 and b0 < a1:
                raise ConfigError(f"experiments {a.name!r} and {b.name!r} overlap in time and would claim the same "
                                  "traffic; give them disjoint start/stop windows (one experiment at a time), or "
                                  "make the second an arm of the first")
