"""Training data from the decision log: logged embeddings and the outcome of what was served.

Feedback is *partial*: for each decision only the served candidate's outcome is known, so
the data set has one known score per prompt and NaN (unknown) for every other candidate.
Strategies declare whether they learn soundly from that (``BaseStrategy.partial_feedback``):
per-model estimators (knn, mlp, svm, gmt, graph, personalized) learn each candidate's
quality from the prompts it served; methods that compare several candidates on one prompt
(elo, mf, automix, hybrid_llm, routerdc, causal_llm) cannot, and are refused.

The data reflect the logging router's choices: a candidate is seen only on the prompts it
was sent. Turning on :class:`~routeiq_core.Exploration` widens what each candidate sees.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .._dataset import RoutingDataset
from ..errors import ConfigError
from ._records import LoggedDecision

__all__ = ["dataset_from_log"]


def dataset_from_log(rows: Iterable[LoggedDecision], name: str = "decision log") -> RoutingDataset:
    """A :class:`RoutingDataset` of the logged decisions that have an embedding and an outcome.

    Columns are candidate names (a trained artifact matches router candidates by name or model);
    ``scores`` holds the served candidate's quality (score, else 1/0 for success), ``costs`` its
    real cost when reported.
    """
    kept: list[tuple[LoggedDecision, str, float]] = []
    models: dict[str, int] = {}
    embedding_models: set[str] = set()
    skipped_no_embedding = 0
    for row in rows:
        o = row.outcome
        quality = o.quality if o is not None else None
        if quality is None:
            continue
        if row.record.embedding is None:
            skipped_no_embedding += 1
            continue
        served = (o.served_by if o is not None and o.served_by else None) or row.record.candidate
        models.setdefault(served, len(models))
        if row.record.embedding_model:
            embedding_models.add(row.record.embedding_model)
        kept.append((row, served, float(quality)))
    if not kept:
        extra = (f" ({skipped_no_embedding} have an outcome but no stored embedding: log_embeddings was off)"
                 if skipped_no_embedding else "")
        raise ConfigError("the log has no decision with both an embedding and an outcome (score or success) to "
                          f"train on{extra}")
    if len(embedding_models) > 1:
        raise ConfigError(f"the log mixes embeddings of {len(embedding_models)} embedding models; train on one "
                          "period with --since, or one router's log")
    n, m = len(kept), len(models)
    scores = np.full((n, m), np.nan)
    costs = np.full((n, m), np.nan)
    embeddings = np.zeros((n, len(kept[0][0].record.embedding or b"") // 2), dtype=np.float32)
    for i, (row, served, quality) in enumerate(kept):
        j = models[served]
        scores[i, j] = quality
        if row.outcome is not None and row.outcome.cost_usd is not None:
            costs[i, j] = row.outcome.cost_usd
        vector = row.record.embedding_array()
        assert vector is not None
        norm = float(np.linalg.norm(vector))
        embeddings[i] = vector / norm if norm > 0 else vector
    return RoutingDataset(
        ids=tuple(row.record.id for row, _, _ in kept),
        prompts=tuple(row.record.fingerprint for row, _, _ in kept),  # no text: the embeddings stand in
        models=tuple(models), scores=scores, costs=None if np.isnan(costs).all() else costs,
        tasks=tuple(row.record.category for row, _, _ in kept),
        users=tuple(row.record.user for row, _, _ in kept),
        embeddings=embeddings, embedding_model=next(iter(embedding_models), None), name=name,
    )
