"""Cost-quality metrics: the single-model hull, lift over it, cost to match, and RouteLLM's metrics.

All functions are pure numpy on (cost, quality) points, so they can be checked on
hand-computed examples.

* **Upper hull** of the single models: the best quality reachable at a given mean
  cost by mixing single models (sending a share of prompts to each) — the upper
  convex hull of their (cost, quality) points, made non-decreasing (past the best
  model it stays flat: spending more buys nothing). Below the cheapest model the
  hull is taken as the cheapest model's quality (a conservative reference).
* **Hull lift**: the largest ``quality - hull(cost)`` over a router's operating points.
* **Cost to match**: the lowest mean cost at which a router's frontier (its points,
  linearly interpolated, which mixing two operating points achieves) reaches a
  target quality.
* **RouteLLM metrics** (two-model data, as in RouteLLM's ``evals/evaluate.py``):
  thresholds at the quantiles of the router's strong-win score (10 equal bins,
  11 thresholds), the strong-call share and accuracy at each; ``CPT(x%)`` = the
  strong-call percentage at which accuracy reaches ``weak + x (strong - weak)``
  (``np.interp`` over the points sorted by call share; CPT(95%) is added for RouteLLM's
  "95% of GPT-4 quality" headline); ``AUC`` = trapezoid area of
  accuracy over call share in [0, 1]; ``APGR = (AUC - weak_auc) / (strong_auc - weak_auc)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "RouteLLMMetrics",
    "chord_quality",
    "cost_to_reach",
    "frontier",
    "hull_lift",
    "quality_at_cost",
    "routellm_curve",
    "routellm_metrics",
    "upper_hull",
]


def _points(cost: ArrayLike, quality: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    c = np.asarray(cost, dtype=np.float64).ravel()
    q = np.asarray(quality, dtype=np.float64).ravel()
    if c.shape != q.shape or c.size == 0:
        raise ValueError(f"cost and quality must be non-empty and of equal length, got {c.shape} and {q.shape}")
    keep = np.isfinite(c) & np.isfinite(q)
    return c[keep], q[keep]


def upper_hull(cost: ArrayLike, quality: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (cost ascending) of the non-decreasing upper convex hull of the points."""
    c, q = _points(cost, quality)
    order = np.lexsort((-q, c))  # by cost, then best quality first
    hull: list[tuple[float, float]] = []
    for x, y in zip(c[order], q[order]):
        if hull and x == hull[-1][0]:
            continue  # same cost, lower quality
        if hull and y <= hull[-1][1]:
            continue  # costs more, no better: never on the non-decreasing hull
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = hull[-2], hull[-1]
            # drop the middle vertex if it lies on or below the segment from x1 to x
            if (y2 - y1) * (x - x1) <= (y - y1) * (x2 - x1):
                hull.pop()
            else:
                break
        hull.append((float(x), float(y)))
    arr = np.array(hull)
    return arr[:, 0], arr[:, 1]


def _interp_flat(x: np.ndarray | float, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Piecewise-linear through (xs, ys), flat outside the range."""
    return np.asarray(np.interp(np.asarray(x, dtype=np.float64), xs, ys, left=ys[0], right=ys[-1]))


def hull_lift(
    cost: ArrayLike, quality: ArrayLike, single_cost: ArrayLike, single_quality: ArrayLike
) -> tuple[float, float]:
    """Largest ``quality - hull(cost)`` over the given points, and the cost where it occurs."""
    c, q = _points(cost, quality)
    hc, hq = upper_hull(single_cost, single_quality)
    gaps = q - _interp_flat(c, hc, hq)
    i = int(np.argmax(gaps))
    return float(gaps[i]), float(c[i])


def frontier(cost: ArrayLike, quality: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """The router's own Pareto frontier: points no other point beats on both cost and quality."""
    c, q = _points(cost, quality)
    order = np.lexsort((-q, c))
    xs: list[float] = []
    ys: list[float] = []
    for x, y in zip(c[order], q[order]):
        if ys and y <= ys[-1]:
            continue
        if xs and x == xs[-1]:
            continue
        xs.append(float(x))
        ys.append(float(y))
    return np.array(xs), np.array(ys)


def cost_to_reach(cost: ArrayLike, quality: ArrayLike, target: float) -> float | None:
    """Lowest mean cost at which the frontier (linearly interpolated) reaches ``target``; None if never."""
    fc, fq = frontier(cost, quality)
    if fq[-1] < target - 1e-12:
        return None
    if fq[0] >= target:
        return float(fc[0])
    j = int(np.argmax(fq >= target - 1e-12))
    c0, c1, q0, q1 = fc[j - 1], fc[j], fq[j - 1], fq[j]
    return float(c0 + (target - q0) * (c1 - c0) / (q1 - q0))


def quality_at_cost(cost: ArrayLike, quality: ArrayLike, budget: float) -> float | None:
    """Best quality of the frontier at mean cost <= ``budget`` (interpolated); None if every point costs more."""
    fc, fq = frontier(cost, quality)
    if fc[0] > budget:
        return None
    return float(np.interp(budget, fc, fq))


def chord_quality(cost: float, cheap: tuple[float, float], expensive: tuple[float, float]) -> float:
    """Quality on the straight line from the cheapest to the most expensive model, at ``cost``."""
    (c0, q0), (c1, q1) = cheap, expensive
    if c1 == c0:
        return max(q0, q1)
    t = min(1.0, max(0.0, (cost - c0) / (c1 - c0)))
    return q0 + t * (q1 - q0)


# ---------------------------------------------------------------------------- RouteLLM
@dataclass(frozen=True)
class RouteLLMMetrics:
    """RouteLLM's summary of a strong/weak router curve (quality in the data's units)."""

    cpt20: float
    cpt50: float
    cpt80: float
    cpt95: float  # not in RouteLLM's table; compares with its "95% of GPT-4 quality" headline
    auc: float
    apgr: float
    strong_pct: tuple[float, ...]
    quality: tuple[float, ...]

    def to_dict(self) -> dict[str, object]:
        return {"cpt20": self.cpt20, "cpt50": self.cpt50, "cpt80": self.cpt80, "cpt95": self.cpt95, "auc": self.auc,
                "apgr": self.apgr, "strong_pct": list(self.strong_pct), "quality": list(self.quality)}


def routellm_curve(
    score: np.ndarray, strong: np.ndarray, weak: np.ndarray, num_results: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """(strong-call %, mean quality) at RouteLLM's thresholds over a router's strong-win ``score``.

    Thresholds are the ``num_results``-quantile bin edges of the scores (duplicates kept);
    a prompt goes to the strong model if its score is >= the threshold (> for the last one).
    """
    s = np.asarray(score, dtype=np.float64)
    qs, qw = np.asarray(strong, dtype=np.float64), np.asarray(weak, dtype=np.float64)
    edges = np.quantile(s, np.linspace(0.0, 1.0, num_results + 1))
    pct, acc = [], []
    for i, threshold in enumerate(edges):
        to_strong = s >= threshold if i != len(edges) - 1 else s > threshold
        pct.append(100.0 * to_strong.mean())
        acc.append(float(np.where(to_strong, qs, qw).mean()))
    return np.array(pct), np.array(acc)


def routellm_metrics(strong_pct: np.ndarray, quality: np.ndarray, strong_quality: float,
                     weak_quality: float) -> RouteLLMMetrics:
    """CPT(20/50/80%), AUC and APGR of a curve, exactly as RouteLLM computes them."""
    order = np.argsort(np.asarray(strong_pct, dtype=np.float64), kind="stable")
    x = np.asarray(strong_pct, dtype=np.float64)[order]
    y = np.asarray(quality, dtype=np.float64)[order]
    gap = strong_quality - weak_quality
    cpt = [float(np.interp(p * gap + weak_quality, y, x)) for p in (0.2, 0.5, 0.8, 0.95)]
    auc = float(np.trapezoid(y, x / 100.0))
    weak_auc = float(np.trapezoid(np.full_like(y, weak_quality), x / 100.0))
    strong_auc = float(np.trapezoid(np.full_like(y, strong_quality), x / 100.0))
    denom = strong_auc - weak_auc
    apgr = float((auc - weak_auc) / denom) if denom != 0 else float("nan")
    return RouteLLMMetrics(cpt[0], cpt[1], cpt[2], cpt[3], auc, apgr, tuple(map(float, x)), tuple(map(float, y)))


def calibration_error(predicted: ArrayLike, observed: ArrayLike, bins: int = 10) -> tuple[float, list[dict[str, float]]]:
    """Expected calibration error of predicted qualities against observed ones, and the reliability bins.

    Every (prompt, model) pair counts: predictions are clipped to [0, 1] and put in ``bins``
    equal-width bins; each non-empty bin gives its mean prediction, mean observed quality and
    size, and the error is the size-weighted mean of ``|prediction - observed|`` over bins. A
    calibrated predictor's 0.7 is right 70% of the time (error 0); NaN pairs are left out.
    """
    p = np.clip(np.asarray(predicted, dtype=np.float64).ravel(), 0.0, 1.0)
    y = np.asarray(observed, dtype=np.float64).ravel()
    keep = np.isfinite(p) & np.isfinite(y)
    p, y = p[keep], y[keep]
    if len(p) == 0:
        return float("nan"), []
    which = np.minimum((p * bins).astype(int), bins - 1)
    out, error = [], 0.0
    for b in range(bins):
        mask = which == b
        n = int(mask.sum())
        if n:
            mp, my = float(p[mask].mean()), float(y[mask].mean())
            out.append({"low": b / bins, "high": (b + 1) / bins, "predicted": mp, "observed": my, "n": n})
            error += n * abs(mp - my)
    return error / len(p), out


def percentile_interval(values: ArrayLike) -> tuple[float, float]:
    """The 95% percentile interval (2.5% and 97.5%) of bootstrap values."""
    low, high = np.percentile(np.asarray(values, dtype=np.float64), [2.5, 97.5])
    return float(low), float(high)

