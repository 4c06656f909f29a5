"""Embedding extra texts at decision time (conversation history, sub-queries).

A :class:`~routeiq_core.Query` carries the embedding of the routed text only. GMT
(earlier turns) and the kNN multi-round router (sub-queries) need more; they use
the embedder bound with ``bind_embedder`` or, by default, RouteIQ's shipped
model, and refuse (with a warning detail, not an exception) when its model id
differs from the one the strategy was trained with.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np

from routeiq_core import Embedder
from routeiq_core.errors import RouteIQError

__all__ = ["TextEmbeddingMixin", "deepcopy_sharing_resources"]

#: Live resources a strategy holds but does not own: shared by copies, never deep-copied or saved.
SHARED_RESOURCES = ("_binding", "_pool_binding", "_embedder")


def deepcopy_sharing_resources(obj: Any, memo: dict[int, Any]) -> Any:
    """Deep copy of a strategy whose LLM clients and embedder are shared, not copied."""
    new = object.__new__(type(obj))  # strategies define no __new__ of their own
    for key, value in vars(obj).items():
        setattr(new, key, value if key in SHARED_RESOURCES else copy.deepcopy(value, memo))
    return new


class TextEmbeddingMixin:
    """Adds ``bind_embedder`` and ``_embed_texts`` to a strategy."""

    _embedder: Embedder | None = None

    def bind_embedder(self, embedder: Embedder | None) -> Any:
        """Embed extra texts with ``embedder`` (default: RouteIQ's shipped model); returns self."""
        self._embedder = embedder
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return deepcopy_sharing_resources(self, memo)

    def _embed_texts(self, texts: Sequence[str]) -> tuple[np.ndarray | None, str | None]:
        """``(len(texts), dim)`` embeddings, or ``(None, warning)`` when they cannot be made."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32), None
        try:
            embedder = self._embedder
            if embedder is None:
                from routeiq_core import default_embedder

                embedder = default_embedder()
            trained_with = getattr(self, "embedding_model_", None)
            if trained_with is not None and embedder.model_id != trained_with:
                return None, (
                    f"the embedder ({embedder.model_id[:12]}…) is not the model this strategy was trained "
                    f"with ({str(trained_with)[:12]}…); bind the right one with bind_embedder()"
                )
            vectors = np.asarray(embedder.embed_many(list(texts)), dtype=np.float32)
        except RouteIQError as exc:
            return None, f"could not embed {len(texts)} extra text(s): {exc}"
        dim = getattr(self, "embedding_dim_", None)
        if dim is not None and vectors.shape[1] != int(dim):
            return None, f"extra texts embedded to dimension {vectors.shape[1]}, trained on {int(dim)}"
        return vectors, None
