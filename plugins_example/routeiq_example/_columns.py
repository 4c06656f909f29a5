"""Map candidates to the model columns a strategy was trained on."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from routeiq_core import Candidate


def candidate_matrix(
    quality: np.ndarray, candidates: Sequence[Candidate], models: Sequence[str], prior: float | None
) -> np.ndarray:
    """(n, n_models) predicted quality -> (n, n_candidates).

    A candidate matches a trained model by ``candidate.model``, then by
    ``candidate.name``. A candidate whose model was never seen in training gets
    ``prior``, or (None) the mean predicted quality of the known models for that
    query: an explicit, neutral guess instead of an error.
    """
    index = {m: j for j, m in enumerate(models)}
    cols = [index.get(c.model, index.get(c.name)) for c in candidates]
    known = [c for c in cols if c is not None]
    if prior is not None:
        fallback = np.full(quality.shape[0], prior)
    else:
        fallback = quality[:, known].mean(axis=1) if known else quality.mean(axis=1)
    out = np.empty((quality.shape[0], len(candidates)))
    for k, col in enumerate(cols):
        out[:, k] = fallback if col is None else quality[:, col]
    return np.clip(out, 0.0, 1.0)
