"""Small numpy building blocks for the hand-differentiated models (RouterDC, GraphRouter, GMT).

Only what those models need: Adam, sigmoid, row normalisation with its backward
pass, masked log-softmax, a seeded k-means and a two-parameter logistic
calibration. Gradients are written by hand in each model and checked against
finite differences in the tests.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import numpy as np

__all__ = [
    "Adam",
    "fit_logistic_calibration",
    "kmeans",
    "masked_softmax",
    "normalize_rows",
    "normalize_rows_backward",
    "sigmoid",
    "small_matrix_threads",
]


@contextmanager
def small_matrix_threads() -> Iterator[None]:
    """Run BLAS single-threaded inside the block (when ``threadpoolctl`` is installed).

    Training steps multiply small matrices (a batch of 64-512 rows); a multi-threaded
    BLAS spends more time synchronising than computing on them, and on a busy
    machine it slowed RouterDC's training 20-fold. Without threadpoolctl this does nothing.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function."""
    out = np.empty_like(np.asarray(x, dtype=np.float64))
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    return out


def normalize_rows(x: np.ndarray, eps: float = 1e-12) -> tuple[np.ndarray, np.ndarray]:
    """Rows scaled to unit length, and the row norms (kept for the backward pass)."""
    norms = np.sqrt((x * x).sum(axis=-1, keepdims=True)) + eps
    return x / norms, norms


def normalize_rows_backward(grad_unit: np.ndarray, unit: np.ndarray, norms: np.ndarray) -> np.ndarray:
    """Gradient w.r.t. ``x`` of a loss, given its gradient w.r.t. ``unit = x / |x|``."""
    return (grad_unit - unit * (grad_unit * unit).sum(axis=-1, keepdims=True)) / norms


def masked_softmax(logits: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Softmax along the last axis over the True entries of ``mask`` (others get 0)."""
    z = np.where(mask, logits, -np.inf)
    top = z.max(axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    e = np.where(mask, np.exp(z - top), 0.0)
    total = e.sum(axis=-1, keepdims=True)
    return np.divide(e, total, out=np.zeros_like(e), where=total > 0)


class Adam:
    """Adam over a dict of parameter arrays (updated in place)."""

    def __init__(self, params: Mapping[str, np.ndarray], lr: float = 1e-3, beta1: float = 0.9,
                 beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        self.params = params
        self.lr, self.beta1, self.beta2, self.eps, self.weight_decay = lr, beta1, beta2, eps, weight_decay
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.t = 0

    def step(self, grads: Mapping[str, np.ndarray]) -> None:
        self.t += 1
        c1 = 1.0 - self.beta1 ** self.t
        c2 = 1.0 - self.beta2 ** self.t
        for key, g in grads.items():
            p = self.params[key]
            self.m[key] = self.beta1 * self.m[key] + (1 - self.beta1) * g
            self.v[key] = self.beta2 * self.v[key] + (1 - self.beta2) * g * g
            if self.weight_decay:
                p -= self.lr * self.weight_decay * p  # decoupled (AdamW)
            p -= self.lr * (self.m[key] / c1) / (np.sqrt(self.v[key] / c2) + self.eps)


def kmeans(x: np.ndarray, k: int, *, seed: int = 0, iters: int = 100, tol: float = 1e-8) -> tuple[np.ndarray, np.ndarray]:
    """Seeded Lloyd's k-means with k-means++ initialisation.

    Returns ``(labels (n,), centers (k', d))``; ``k' = min(k, distinct rows)``, so
    duplicated points never produce empty clusters.
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    distinct = np.unique(x, axis=0).shape[0]
    k = max(1, min(int(k), distinct))
    rng = np.random.default_rng(seed)
    centers = np.empty((k, x.shape[1]))
    centers[0] = x[rng.integers(n)]
    d2 = ((x - centers[0]) ** 2).sum(axis=1)
    for c in range(1, k):
        probs = d2 / d2.sum() if d2.sum() > 0 else np.full(n, 1.0 / n)
        centers[c] = x[rng.choice(n, p=probs)]
        d2 = np.minimum(d2, ((x - centers[c]) ** 2).sum(axis=1))
    sq = (x * x).sum(axis=1, keepdims=True)

    def distances(c: np.ndarray) -> np.ndarray:
        return np.maximum(sq - 2.0 * x @ c.T + (c * c).sum(axis=1)[None, :], 0.0)

    labels = np.zeros(n, dtype=np.int64)
    for _ in range(iters):
        dist = distances(centers)
        labels = dist.argmin(axis=1)
        new = centers.copy()
        for c in range(k):
            members = x[labels == c]
            if len(members):
                new[c] = members.mean(axis=0)
            else:  # re-seed an empty cluster at the point farthest from its center
                new[c] = x[dist.min(axis=1).argmax()]
        shift = float(((new - centers) ** 2).sum())
        centers = new
        if shift <= tol:
            break
    return distances(centers).argmin(axis=1), centers


def fit_logistic_calibration(score: np.ndarray, target: np.ndarray, *, iters: int = 50,
                             l2: float = 1e-4) -> tuple[float, float]:
    """``(a, b)`` minimising cross-entropy of ``sigmoid(a * score + b)`` against soft targets in [0, 1].

    Newton's method on two parameters; ``a`` is clipped at 0 so the calibration
    never reverses the model's ranking.
    """
    s = np.asarray(score, dtype=np.float64).ravel()
    y = np.asarray(target, dtype=np.float64).ravel()
    keep = ~(np.isnan(s) | np.isnan(y))
    s, y = s[keep], y[keep]
    if s.size == 0:
        return 0.0, 0.0
    mean = float(np.clip(y.mean(), 1e-3, 1 - 1e-3))
    a, b = 0.0, float(np.log(mean / (1 - mean)))
    feats = np.stack([s, np.ones_like(s)], axis=1)
    w = np.array([a, b])
    for _ in range(iters):
        p = sigmoid(feats @ w)
        grad = feats.T @ (p - y) / s.size + l2 * np.array([w[0], 0.0])
        hess = (feats * (p * (1 - p))[:, None]).T @ feats / s.size + l2 * np.eye(2)
        step = np.linalg.solve(hess + 1e-9 * np.eye(2), grad)
        w = w - step
        if np.abs(step).max() < 1e-10:
            break
    return max(float(w[0]), 0.0), float(w[1])
