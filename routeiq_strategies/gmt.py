"""GMT: the query-model graph extended with user nodes and conversation turns.

GMTRouter (LLMRouter) builds a heterogeneous graph of users, conversation turns,
queries and LLMs and predicts a user's preference with a head that looks at the
query, the user and the LLM. This numpy version extends :mod:`.graph`:

* **query nodes and model nodes** exactly as in :class:`~.graph.GraphRouterStrategy`
  (performance-conditioned messages into each model's state ``h_m``);
* **turn edges**: the current turn receives the mean embedding of the user's
  previous turns (``history_turns`` of them) through its own weight ``Wc``;
* **user nodes**: a user's state is the message from the model nodes it prefers
  or dislikes, ``u = d_u m0 Wu``, where ``d_u`` is the user's mean score per model
  minus the global mean (edges weighted by preference, as GMT's user-prefers-LLM edges);
* **preference head**: ``sigmoid((q0 + c + u) . h_m / hidden + b_m)``.

Training data: rows with the same ``users`` entry are that user's conversation, in
data set order; a row's history is the preceding rows of its user, and its ``d_u``
leaves the row itself out. User and history terms are dropped at random
(``context_dropout``) so the model also works without them. At decision time the
history is the earlier user turns of ``query.request.messages`` (embedded with the
bound embedder, see ``bind_embedder``) and the user is ``metadata.user``; a query
with neither, or a data set without users, gives exactly the query-only graph.

Not ported: GMT's HGT attention layers, response nodes, and its pairwise loss over
ratings (we regress the score like GraphRouter).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from routeiq_core import Candidate, Query, RoutingDataset

from ._base import column_means
from ._nn import small_matrix_threads
from ._per_model import query_matrix
from ._text_embedding import TextEmbeddingMixin
from .graph import GraphForward, GraphParams, GraphRouterStrategy, _ExtraTerm

__all__ = ["GMTStrategy", "conversation_context"]


def conversation_context(
    embeddings: np.ndarray, scores: np.ndarray, users: Sequence[str | None] | None, history_turns: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per training row: mean embedding of the user's previous turns, and the leave-one-out user preference.

    Returns ``(history (n, dim), preference (n, m))``; rows without a user (or without
    earlier turns / other rows) get zeros.
    """
    n, dim = embeddings.shape
    m = scores.shape[1]
    history = np.zeros((n, dim))
    preference = np.zeros((n, m))
    if users is None or history_turns < 0:
        return history, preference
    global_mean = column_means(scores)
    known = ~np.isnan(scores)
    filled = np.where(known, scores, 0.0)
    rows_of: dict[str, list[int]] = {}
    for i, user in enumerate(users):
        if user is not None:
            rows_of.setdefault(str(user), []).append(i)
    for rows in rows_of.values():
        idx = np.asarray(rows)
        sums = filled[idx].sum(axis=0)
        counts = known[idx].sum(axis=0)
        for pos, i in enumerate(rows):
            if history_turns > 0 and pos > 0:
                history[i] = embeddings[rows[max(0, pos - history_turns):pos]].mean(axis=0)
            c = counts - known[i]
            mean = np.divide(sums - filled[i], c, out=global_mean.copy(), where=c > 0)
            preference[i] = mean - global_mean
    return history, preference


class _Context(_ExtraTerm):
    """User and history terms added to the query representation (with random dropout)."""

    def __init__(self, history: np.ndarray, preference: np.ndarray, dropout: float) -> None:
        self.history, self.preference, self.dropout = history, preference, dropout
        self._cache: tuple[np.ndarray, np.ndarray] | None = None

    def init(self, hidden: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        return {"wc": np.zeros((self.history.shape[1], hidden)), "wu": np.zeros((hidden, hidden))}

    def forward(self, params: dict[str, np.ndarray], idx: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        keep_c = (rng.random(len(idx)) >= self.dropout)[:, None]
        keep_u = (rng.random(len(idx)) >= self.dropout)[:, None]
        c = self.history[idx] * keep_c
        d = self.preference[idx] * keep_u
        self._cache = (c, d)
        return c @ params["wc"] + d @ params["m0"] @ params["wu"]

    def backward(self, params: dict[str, np.ndarray], fwd: GraphForward,
                 grads: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        assert self._cache is not None
        c, d = self._cache
        g = fwd.grad_query
        dm0 = d @ params["m0"]
        return {
            "wc": c.T @ g,
            "wu": dm0.T @ g,
            "m0": grads["m0"] + d.T @ (g @ params["wu"].T),
        }


class GMTParams(GraphParams):
    history_turns: int = Field(3, ge=0, description="Earlier user turns averaged into the history term.")
    context_dropout: float = Field(0.3, ge=0, lt=1, description="Training dropout of the user/history terms.")


class GMTStrategy(TextEmbeddingMixin, GraphRouterStrategy[GMTParams]):
    """GraphRouter plus user nodes and conversation history (GMT-style personalised routing).

    Attributes set by fit (besides GraphRouter's):
        history_weight_: (dim, hidden) weight of the previous-turns message.
        user_projection_: (m, hidden) ``m0 Wu``: a user's state is ``d_u @ user_projection_``.
        user_ids_: users seen in training; user_preference_: (n_users, m) their ``d_u``.
    """

    name: ClassVar[str] = "gmt"
    partial_feedback: ClassVar[bool | None] = True
    calibrates_quality: ClassVar[bool] = False  # its predictions read the conversation's earlier turns

    def _fit(self, dataset: RoutingDataset) -> None:
        x = dataset.require_embeddings().astype(np.float64)
        history, preference = conversation_context(x, dataset.scores, dataset.users, self.params.history_turns)
        with small_matrix_threads():
            params = self._train(dataset, _Context(history, preference, self.params.context_dropout))
            self._store(params, dataset)
        self.history_weight_ = params["wc"].astype(np.float32)
        self.user_projection_ = (params["m0"] @ params["wu"]).astype(np.float32)
        users: list[str] = []
        prefs: list[np.ndarray] = []
        if dataset.users is not None:
            global_mean = column_means(dataset.scores)
            for user in sorted({str(u) for u in dataset.users if u is not None}):
                rows = [i for i, u in enumerate(dataset.users) if u is not None and str(u) == user]
                users.append(user)
                prefs.append(column_means(dataset.scores[rows], default=np.nan) - global_mean)
        self.user_ids_ = users
        m = len(dataset.models)
        self.user_preference_ = np.nan_to_num(np.array(prefs).reshape(len(users), m))

    # ------------------------------------------------------------------ predicting
    def _context(self, query: Query) -> tuple[np.ndarray, dict[str, Any]]:
        hidden = self.model_vectors_.shape[1]
        offset = np.zeros(hidden)
        details: dict[str, Any] = {"user_known": False, "history_turns": 0}
        user = query.user
        if user is not None and str(user) in self.user_ids_:
            d = self.user_preference_[self.user_ids_.index(str(user))]
            offset += d @ self.user_projection_.astype(np.float64)
            details["user_known"] = True
        turns = self._history_texts(query)
        if turns:
            vectors, warning = self._embed_texts(turns)
            if vectors is None:
                details["warning"] = f"{self.name}: history ignored: {warning}"
            else:
                offset += vectors.astype(np.float64).mean(axis=0) @ self.history_weight_.astype(np.float64)
                details["history_turns"] = len(turns)
        if not details["user_known"] and not details["history_turns"]:
            details["fallback"] = "query-only graph (no known user, no history)"
        return offset, details

    def _history_texts(self, query: Query) -> list[str]:
        k = self.params.history_turns
        if k == 0 or query.request is None:
            return []
        turns = [m.text for m in query.request.messages if m.role == "user" and m.text.strip()]
        if turns and turns[-1] == query.text:
            turns = turns[:-1]
        return turns[-k:]

    def _quality_matrix(
        self, queries: Sequence[Query], candidates: Sequence[Candidate]
    ) -> tuple[np.ndarray, list[dict[str, Any]] | None]:
        contexts = [self._context(q) for q in queries]
        rep = self._query_features(query_matrix(queries)) + np.stack([c[0] for c in contexts])
        return self._quality(rep), [c[1] for c in contexts]

    def model_quality(self, embeddings: np.ndarray, *, user: str | None = None,
                      history: np.ndarray | None = None) -> np.ndarray:
        """(n, m) quality for embeddings, optionally for a known ``user`` and a (dim,) mean ``history``."""
        self.check_fitted()
        rep = self._query_features(np.atleast_2d(embeddings))
        if user is not None and str(user) in self.user_ids_:
            rep = rep + self.user_preference_[self.user_ids_.index(str(user))] @ self.user_projection_
        if history is not None:
            rep = rep + np.asarray(history, dtype=np.float64) @ self.history_weight_
        return self._quality(rep)

