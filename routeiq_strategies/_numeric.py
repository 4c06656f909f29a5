"""Numerical building blocks of the learned strategies, on numpy only.

Ridge regression, Platt calibration per model, nearest-centroid assignment and
Bradley-Terry; Adam, k-means and the logistic calibration itself live in
:mod:`routeiq_strategies._nn`, shared with the neural strategies.
"""

from __future__ import annotations

import numpy as np

from ._nn import fit_logistic_calibration, sigmoid

__all__ = [
    "assign_nearest",
    "bradley_terry",
    "informative_rows",
    "platt_apply",
    "platt_fit",
    "ridge_fit",
    "unit_rows",
]


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero), as float32."""
    arr = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(arr, axis=-1, keepdims=True)
    return arr / np.where(norms > 0, norms, 1.0)


def informative_rows(scores: np.ndarray, atol: float = 1e-9) -> np.ndarray:
    """(n,) bool: rows whose best known score is above zero.

    All-zero rows (every model failed) and all-unknown rows say nothing about which
    model is best, so label-based training drops them.
    """
    s = np.asarray(scores, dtype=np.float64)
    top = np.where(np.isnan(s), -np.inf, s).max(axis=1)
    return top > atol


# --------------------------------------------------------------------------- ridge
def ridge_fit(
    x: np.ndarray,
    y: np.ndarray,
    alpha: float,
    mask: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Multi-target ridge regression with an unpenalised intercept.

    Args:
        x: (n, d) features.
        y: (n, t) targets; entries where ``mask`` is False (or y is NaN) are ignored.
        alpha: L2 penalty on the weights.
        mask: optional (n, t) bool of usable entries.

    Returns:
        (d, t) weights and (t,) intercepts. Targets sharing a mask pattern share
        one factorisation, so a complete target matrix costs a single solve.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    usable = ~np.isnan(y) if mask is None else (np.asarray(mask, dtype=bool) & ~np.isnan(y))
    d, t = x.shape[1], y.shape[1]
    weights = np.zeros((d, t))
    bias = np.zeros(t)
    patterns: dict[bytes, list[int]] = {}
    for j in range(t):
        patterns.setdefault(np.packbits(usable[:, j]).tobytes(), []).append(j)
    eye = np.eye(d)
    for cols in patterns.values():
        rows = usable[:, cols[0]]
        if not rows.any():
            continue
        xr = x[rows]
        yr = y[rows][:, cols]
        mu_x = xr.mean(axis=0)
        mu_y = yr.mean(axis=0)
        xc = xr - mu_x
        gram = xc.T @ xc + alpha * eye
        w = np.linalg.solve(gram, xc.T @ (yr - mu_y))
        weights[:, cols] = w
        bias[cols] = mu_y - mu_x @ w
    return weights, bias


# --------------------------------------------------------------------------- clustering
def assign_nearest(x: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """(n,) index of the nearest centroid (Euclidean) for each row of ``x``."""
    c = np.asarray(centroids, dtype=np.float32)
    scores = np.asarray(x, dtype=np.float32) @ c.T - 0.5 * (c * c).sum(axis=1)[None, :]
    return scores.argmax(axis=1)


# --------------------------------------------------------------------------- calibration
def platt_fit(f: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column calibration ``y ~ sigmoid(a * f + b)`` (NaN targets ignored), as (t,) slopes and offsets."""
    f = np.asarray(f, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    pairs = [fit_logistic_calibration(f[:, j], y[:, j]) for j in range(f.shape[1])]
    return np.array([a for a, _ in pairs]), np.array([b for _, b in pairs])


def platt_apply(f: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return sigmoid(np.asarray(f) * a + b)


# --------------------------------------------------------------------------- pairwise ratings
def bradley_terry(
    wins: np.ndarray,
    *,
    l2: float = 1e-3,
    center: np.ndarray | None = None,
    n_iter: int = 100,
) -> np.ndarray:
    """Bradley-Terry strengths by Newton's method (IRLS).

    ``wins[j, k]`` counts (possibly fractional) battles model j won against model k;
    P(j beats k) = sigmoid(theta_j - theta_k). An L2 pull of strength ``l2`` towards
    ``center`` (default 0) makes the solution unique even for a model that never
    lost. Returns (m,) strengths in natural-log units.
    """
    n_w = np.asarray(wins, dtype=np.float64)
    m = n_w.shape[0]
    total = n_w + n_w.T
    c = np.zeros(m) if center is None else np.asarray(center, dtype=np.float64)
    theta = c.copy()
    for _ in range(n_iter):
        p = sigmoid(theta[:, None] - theta[None, :])
        grad = (n_w - total * p).sum(axis=1) - l2 * (theta - c)
        v = total * p * (1 - p)
        hess = v - np.diag(v.sum(axis=1)) - l2 * np.eye(m)
        step = np.linalg.solve(hess, grad)
        theta -= step
        if np.abs(step).max() < 1e-10:
            break
    return theta
