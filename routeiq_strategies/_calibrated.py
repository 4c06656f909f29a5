"""Calibrated quality: a per-model isotonic map from a raw prediction to the observed quality.

A per-model strategy's raw output is a score (a neighbours' mean, a network's output, a
margin). Fitted on out-of-fold predictions of the training data, the isotonic map turns each
model's score into the mean quality that model actually reached at that score: a
probability for 0/1 outcomes. It is monotone, so each model's ranking of prompts is
unchanged; what changes is the scale the models are compared on. Stored as values on a
fixed grid of scores (``quality_grid_``, ``quality_map_``), applied by linear interpolation.
"""

from __future__ import annotations

import numpy as np

__all__ = ["GRID", "apply_maps", "isotonic_map", "platt_map"]

#: Scores at which each model's map is stored (the map is linear between them).
GRID = np.linspace(0.0, 1.0, 101)


def isotonic_map(score: np.ndarray, quality: np.ndarray, grid: np.ndarray = GRID) -> np.ndarray:
    """The non-decreasing least-squares fit of ``quality`` on ``score`` (pool adjacent violators),
    evaluated on ``grid`` (flat beyond the observed scores). NaN qualities are left out."""
    keep = np.isfinite(score) & np.isfinite(quality)
    x, y = np.clip(score[keep], 0.0, 1.0), quality[keep]
    if len(x) == 0:
        return np.asarray(grid, dtype=np.float64).copy()  # nothing observed: the identity
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    # blocks of (sum, count, mean); merge while a block's mean is above the next one's
    sums: list[float] = []
    counts: list[int] = []
    for value in y.tolist():
        sums.append(value)
        counts.append(1)
        while len(sums) > 1 and sums[-2] * counts[-1] > sums[-1] * counts[-2]:
            s, c = sums.pop(), counts.pop()
            sums[-1] += s
            counts[-1] += c
    means = np.repeat(np.array(sums) / np.array(counts), counts)
    # one knot per distinct score (the mean of its fitted values), then interpolate on the grid
    distinct, start = np.unique(x, return_index=True)
    knot_y = np.add.reduceat(means, start) / np.diff(np.append(start, len(x)))
    return np.clip(np.interp(grid, distinct, knot_y), 0.0, 1.0)


def platt_map(score: np.ndarray, quality: np.ndarray, grid: np.ndarray = GRID, iters: int = 50) -> np.ndarray:
    """Platt scaling: ``sigmoid(a * logit(score) + b)`` fitted by Newton's method on the cross-entropy
    (qualities in [0, 1] are soft labels), evaluated on ``grid``. Smooth and monotone (``a >= 0``):
    what few held-out points support, where an isotonic fit would be a staircase."""
    keep = np.isfinite(score) & np.isfinite(quality)
    if not keep.any():
        return np.asarray(grid, dtype=np.float64).copy()
    eps = 1e-4
    x = np.log(np.clip(score[keep], eps, 1 - eps) / (1 - np.clip(score[keep], eps, 1 - eps)))
    y = np.clip(quality[keep], 0.0, 1.0)
    # a weak ridge prior towards the identity (a = 1, b = 0) keeps separable data finite
    ridge = 1e-3 * len(x)
    a, b = 1.0, 0.0
    for _ in range(iters):
        p = _sigmoid(a * x + b)
        w = p * (1 - p) + 1e-9
        g = np.array([np.sum((p - y) * x) + ridge * (a - 1.0), np.sum(p - y) + ridge * b])
        h = np.array([[np.sum(w * x * x) + ridge, np.sum(w * x)], [np.sum(w * x), np.sum(w) + ridge]])
        step = np.clip(np.linalg.solve(h, g), -5.0, 5.0)
        a, b = a - float(step[0]), b - float(step[1])
        if np.abs(step).max() < 1e-9:
            break
    a = min(max(a, 0.0), 50.0)  # never invert a model's ranking of prompts
    g = np.clip(np.asarray(grid, dtype=np.float64), eps, 1 - eps)
    return np.clip(_sigmoid(a * np.log(g / (1 - g)) + b), 0.0, 1.0)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    result: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(z, -35.0, 35.0)))
    return result


def apply_maps(quality: np.ndarray, grid: np.ndarray, maps: np.ndarray) -> np.ndarray:
    """(n, m) raw predictions -> calibrated ones, column j through ``maps[:, j]`` (NaN stays NaN)."""
    out = np.array(quality, dtype=np.float64, copy=True)
    for j in range(out.shape[1]):
        col = out[:, j]
        finite = np.isfinite(col)
        col[finite] = np.interp(np.clip(col[finite], 0.0, 1.0), grid, maps[:, j])
    return out
