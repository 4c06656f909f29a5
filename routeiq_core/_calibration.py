"""A calibrated operating point, as stored in an artifact and applied by ``Router.from_artifact``.

:func:`routeiq_core.evaluation.calibration.calibrate` measures it; this module holds only the
record, its validation on load and the profile it gives (no data, no training), so loading an
artifact never imports the evaluation code.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ._profiles import BUILTIN_PROFILES, Profile
from .errors import ConfigError, RouteIQWarning

__all__ = ["TARGETS", "Calibration", "CalibrationError", "calibrated_profile", "check_calibration_candidates",
           "describe_target"]

TARGETS = ("quality", "max_cost", "strong_share")


class CalibrationError(ConfigError):
    """No operating point meets the target (the message gives the closest one), or the data cannot calibrate."""


@dataclass(frozen=True)
class Calibration:
    """A calibrated operating point: the target, the weight that meets it and what it achieved there.

    ``quality`` / ``cost`` are the mean realised quality and cost per request of the out-of-fold
    choices at ``cost_weight``; ``share_of_best`` is ``quality`` over the best single model's;
    the ``*_ci`` pairs are 95% bootstrap intervals (None without a bootstrap).
    """

    target: str
    value: float
    cost_weight: float
    profile: str
    quality: float
    share_of_best: float
    cost: float
    cost_of_best: float
    best_model: str
    strong_share: float | None
    models: tuple[str, ...]
    n: int
    folds: int
    seed: int
    confidence: float = 0.0
    quality_ci: tuple[float, float] | None = None
    share_of_best_ci: tuple[float, float] | None = None
    cost_ci: tuple[float, float] | None = None

    @property
    def met(self) -> bool:
        """Whether the point meets its target on the data it was measured on."""
        return _meets(self.target, self.value, self.share_of_best, self.cost, self.strong_share)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["models"] = list(self.models)
        for key in ("quality_ci", "share_of_best_ci", "cost_ci"):
            out[key] = list(out[key]) if out[key] is not None else None
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "calibration") -> Calibration:
        """Read a stored calibration back, checking every field (artifacts are data, not code)."""
        try:
            target, value = str(data["target"]), float(data["value"])
            weight = float(data["cost_weight"])
            pairs = {k: (None if data.get(k) is None else (float(data[k][0]), float(data[k][1])))
                     for k in ("quality_ci", "share_of_best_ci", "cost_ci")}
            share = data.get("strong_share")
            cal = cls(target=target, value=value, cost_weight=weight, profile=str(data["profile"]),
                      quality=float(data["quality"]), share_of_best=float(data["share_of_best"]),
                      cost=float(data["cost"]), cost_of_best=float(data["cost_of_best"]),
                      best_model=str(data["best_model"]), strong_share=None if share is None else float(share),
                      models=tuple(str(m) for m in data["models"]), n=int(data["n"]), folds=int(data["folds"]),
                      seed=int(data["seed"]), confidence=float(data.get("confidence", 0.0)), **pairs)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ConfigError(f"{where}: malformed calibration ({exc!r}); run 'routeiq calibrate' again") from None
        if target not in TARGETS or not (math.isfinite(weight) and weight >= 0.0):
            raise ConfigError(f"{where}: calibration target {target!r} / cost weight {weight!r} is not valid; "
                              f"expected one of {list(TARGETS)} and a weight >= 0")
        return cal


def calibrated_profile(calibration: Calibration) -> Profile:
    """The calibrated profile: the built-in profile of that name (if any) with the calibrated cost weight."""
    base = BUILTIN_PROFILES.get(calibration.profile)
    note = f"calibrated: {describe_target(calibration)}"
    if base is None:
        return Profile(name=calibration.profile, cost_weight=calibration.cost_weight, description=note)
    return base.model_copy(update={"cost_weight": calibration.cost_weight, "description": note})


def check_calibration_candidates(calibration: Calibration, candidates: Sequence[Any], where: str) -> list[str]:
    """Warn (and return the differences) when the router's candidates are not the calibrated models."""
    calibrated = set(calibration.models)
    have = {getattr(c, "name", str(c)) for c in candidates} | {getattr(c, "model", str(c)) for c in candidates}
    missing = [m for m in calibration.models if m not in have]
    # a candidate is calibrated when its name or its model is one of the data's models
    extra = sorted(c.name for c in candidates if c.name not in calibrated and c.model not in calibrated)
    diffs = ([f"not candidates: {missing}"] if missing else []) + ([f"not calibrated: {extra}"] if extra else [])
    if diffs:
        warnings.warn(f"{where}: the cost weight was calibrated on other candidates than this router's ("
                      f"{'; '.join(diffs)}); the target ({describe_target(calibration)}) may not hold. Run "
                      "'routeiq calibrate' on data with these models", RouteIQWarning, stacklevel=3)
    return diffs


def describe_target(cal: Calibration) -> str:
    what = {"quality": f"quality >= {cal.value:.0%} of the best single model",
            "max_cost": f"mean cost <= {cal.value:.6g} per request",
            "strong_share": f"<= {cal.value:.0%} of requests to the strong model"}[cal.target]
    return f"{what}, cost weight {cal.cost_weight:.4g}"


def _meets(target: str, value: float, share: float, cost: float, strong_share: float | None) -> bool:
    eps = 1e-12
    if target == "quality":
        return bool(share >= value - eps)
    if target == "max_cost":
        return bool(cost <= value + eps)
    return strong_share is not None and bool(strong_share <= value + eps)
