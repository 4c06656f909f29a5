"""Helpers shared by the built-in strategies (numpy only).

* Candidates are matched to trained model columns by ``candidate.model``, falling
  back to ``candidate.name`` (:func:`model_columns`); a candidate the strategy never
  saw gets an explicit prior, never a crash (:func:`candidate_values`).
* Routing data is full of ties (97% of LLMRouter scores are exactly 0 or 1), so
  "the best model" of a prompt is a *set*: :func:`best_mask`, :func:`soft_labels`
  and :func:`tie_aware_best` (cheapest of the tied best) never take the first maximum.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from routeiq_core import Candidate

__all__ = [
    "TIE_ATOL",
    "best_mask",
    "candidate_values",
    "candidate_values_batch",
    "column_means",
    "fill_unknown",
    "model_columns",
    "soft_labels",
    "tie_aware_best",
]

#: Two scores closer than this are a tie.
TIE_ATOL = 1e-9


def model_columns(candidates: Sequence[Candidate], models: Sequence[str]) -> list[int | None]:
    """Column of each candidate in ``models``: by ``candidate.model``, else by ``candidate.name``.

    ``None`` marks a candidate whose model was not in the training data.
    """
    index = {str(m): j for j, m in enumerate(models)}
    out: list[int | None] = []
    for cand in candidates:
        col = index.get(cand.model)
        if col is None:
            col = index.get(cand.name)
        out.append(col)
    return out


def _prior(values: np.ndarray, columns: Sequence[int | None], prior: float | None) -> np.ndarray:
    """Prior per row for unknown candidates: ``prior`` if given, else the mean over known columns."""
    if prior is not None:
        return np.full(values.shape[0], float(prior))
    known = sorted({c for c in columns if c is not None})
    cols = known or list(range(values.shape[1]))
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(values[:, cols], axis=1) if values.shape[1] else np.full(values.shape[0], np.nan)
    return np.where(np.isnan(mean), 0.5, mean)


def candidate_values_batch(
    values: np.ndarray,
    candidates: Sequence[Candidate],
    models: Sequence[str],
    *,
    prior: float | None = None,
    columns: Sequence[int | None] | None = None,
) -> np.ndarray:
    """(n, m) per-model values -> (n, k) per-candidate values.

    Unknown candidates (and NaN entries) get ``prior``, or when it is None the
    row mean of the candidates' known models (or of all models if none is known).
    """
    vals = np.atleast_2d(np.asarray(values, dtype=np.float64))
    cols = model_columns(candidates, models) if columns is None else list(columns)
    fallback = _prior(vals, cols, prior)
    out = np.empty((vals.shape[0], len(cols)), dtype=np.float64)
    for k, col in enumerate(cols):
        out[:, k] = fallback if col is None else vals[:, col]
    bad = np.isnan(out)
    if bad.any():
        out[bad] = np.broadcast_to(fallback[:, None], out.shape)[bad]
    return out


def candidate_values(
    values: np.ndarray,
    candidates: Sequence[Candidate],
    models: Sequence[str],
    *,
    prior: float | None = None,
    columns: Sequence[int | None] | None = None,
) -> dict[str, float]:
    """(m,) per-model values (e.g. predicted quality) -> ``{candidate.name: value}``."""
    row = candidate_values_batch(np.asarray(values)[None, :], candidates, models, prior=prior, columns=columns)[0]
    return {c.name: float(v) for c, v in zip(candidates, row)}


def column_means(scores: np.ndarray, default: float = 0.5) -> np.ndarray:
    """NaN-aware mean of each column; an all-unknown column gets ``default``."""
    s = np.asarray(scores, dtype=np.float64)
    known = ~np.isnan(s)
    counts = known.sum(axis=0)
    sums = np.where(known, s, 0.0).sum(axis=0)
    return np.where(counts > 0, sums / np.maximum(counts, 1), default)


def fill_unknown(scores: np.ndarray, default: float = 0.5) -> np.ndarray:
    """A copy of ``scores`` with NaN replaced by the column mean (see :func:`column_means`)."""
    s = np.asarray(scores, dtype=np.float64)
    return np.where(np.isnan(s), column_means(s, default)[None, :], s)


def best_mask(scores: np.ndarray, atol: float = TIE_ATOL) -> np.ndarray:
    """(n, m) bool: True for every model tied for the best known score of its row.

    NaN is never best; a row with no known score is all False.
    """
    s = np.asarray(scores, dtype=np.float64)
    filled = np.where(np.isnan(s), -np.inf, s)
    top = filled.max(axis=1, keepdims=True)
    return np.isfinite(filled) & (filled >= top - atol)


def soft_labels(scores: np.ndarray, atol: float = TIE_ATOL) -> np.ndarray:
    """(n, m) rows summing to 1, shared equally among the tied best models (all-unknown rows: 0)."""
    mask = best_mask(scores, atol).astype(np.float64)
    counts = mask.sum(axis=1, keepdims=True)
    return np.divide(mask, counts, out=np.zeros_like(mask), where=counts > 0)


def tie_aware_best(
    scores: np.ndarray,
    costs: np.ndarray | None = None,
    *,
    atol: float = TIE_ATOL,
) -> np.ndarray:
    """(n,) label per row: the cheapest model among those tied for the best score.

    ``costs`` is (n, m) per-prompt or (m,) per-model cost; without costs, ties go to
    the column with the highest mean score (the generally stronger model), then the
    lowest index. Rows with no known score get -1.
    """
    s = np.asarray(scores, dtype=np.float64)
    mask = best_mask(s, atol)
    if costs is None:
        # Prefer the generally stronger model: lower key = better.
        key = np.broadcast_to(-column_means(s)[None, :], s.shape)
    else:
        c = np.asarray(costs, dtype=np.float64)
        c = np.where(np.isnan(c), np.finfo(np.float64).max, c)  # unknown cost: last among ties
        key = np.broadcast_to(c if c.ndim == 2 else c[None, :], s.shape)
    keyed = np.where(mask, key, np.inf)
    labels = np.argmin(keyed, axis=1)
    return np.where(mask.any(axis=1), labels, -1)
