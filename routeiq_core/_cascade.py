"""The cascade embedder: the static table first, the full model when the category is uncertain.

Every prompt is embedded with the :class:`~routeiq_core.StaticEmbedder` (tens of microseconds
after tokenization). When its category margin (the winner's confidence minus the runner-up's)
is below ``margin``, the prompt is embedded again with the full ONNX model and classified with
the full model's centroids, and that classification decides. The query's embedding stays the
static vector, so a strategy trained on static vectors works with both the static and the
cascade embedder (the cascade's ``model_id`` is the static table's). Which embedder decided is
an ``embedder`` signal of the decision and ``escalations`` in ``Router.counters``.

On the 52 held-out prompts of the tests: the full model classifies 49 right, the static table
44, the cascade at the default margin 48 with 17% of the prompts escalated.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._embedding import embed_with_instruction
from ._types import Classification, Signal
from .errors import ConfigError, RouteIQWarning

__all__ = ["DEFAULT_MARGIN", "CascadeEmbedder", "decided_by"]

#: Escalate when the static category margin is below this (about 17% of the held-out prompts).
DEFAULT_MARGIN = 0.02


class CascadeEmbedder:
    """Static first; the full model when the static category margin is below ``margin``.

    Args:
        static: a :class:`~routeiq_core.StaticEmbedder` (default: the shipped table).
        full: the full embedder (default: the shipped ONNX model, loaded on the first escalation).
        margin: in [0, 1]; 0 never escalates, 1 always does.
    """

    def __init__(self, static: Any = None, full: Any = None, *, margin: float = DEFAULT_MARGIN) -> None:
        if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not 0.0 <= float(margin) <= 1.0:
            raise ConfigError(f"cascade margin: expected a number in [0, 1] (the default is {DEFAULT_MARGIN}), "
                              f"got {margin!r}")
        from ._embedding import default_embedder
        from ._static_embedding import StaticEmbedder

        self.static = static if static is not None else StaticEmbedder()
        self.full = full if full is not None else default_embedder()
        self.margin = float(margin)
        self._full_centroids: Any = None
        self._lock = threading.Lock()
        #: escalations that fell back to the static category because the full model failed
        self.failures = 0

    # the Embedder protocol: the static table's
    @property
    def model_id(self) -> str:
        return str(self.static.model_id)

    @property
    def dim(self) -> int:
        return int(self.static.dim)

    @property
    def default_centroids(self) -> Any:
        return self.static.default_centroids

    def load(self) -> None:
        self.static.load()

    def embed(self, text: str) -> np.ndarray:
        vec: np.ndarray = self.static.embed(text)
        return vec

    def embed_many(self, texts: Any) -> np.ndarray:
        out: np.ndarray = self.static.embed_many(texts)
        return out

    embed_batch = embed_many

    def refine(self, text: str, classification: Classification) -> tuple[Classification, Signal]:
        """The classification that decides, and the ``embedder`` signal saying which one it was."""
        if classification.margin >= self.margin:
            return classification, Signal("embedder", 0.0, 0.0, f"static (category margin "
                                                                f"{classification.margin:.3f} >= {self.margin:g})")
        try:
            centroids = self._centroids()
            head = centroids.instruction(text)
            full = centroids.classify(*(embed_with_instruction(self.full, text, head) if head is not None
                                        else (self.full.embed(text), None)))
        except Exception as exc:  # the full model is an upgrade, not a requirement: keep the static answer
            self.failures += 1
            if self.failures == 1:
                warnings.warn(f"cascade: the full model failed ({type(exc).__name__}); uncertain prompts keep the "
                              "static category (counted in CascadeEmbedder.failures)", RouteIQWarning, stacklevel=2)
            return classification, Signal("embedder", 0.0, 0.0, f"static (the full model failed: "
                                                                f"{type(exc).__name__})")
        return full, Signal("embedder", 1.0, 0.0, f"full model (static category margin {classification.margin:.3f} "
                                                   f"< {self.margin:g}: {classification.category} -> {full.category})")

    def _centroids(self) -> Any:
        """The full model's centroids, loaded and checked against it as a router's are."""
        if self._full_centroids is None:
            with self._lock:
                if self._full_centroids is None:
                    from ._featurize import Featurizer

                    self._full_centroids = Featurizer(self.full).load()
        return self._full_centroids

    def __repr__(self) -> str:
        return f"<CascadeEmbedder margin={self.margin:g}>"


def decided_by(signals: Sequence[Signal]) -> str | None:
    """Which embedder decided a cascade query's category: ``"static"``, ``"full"``, or None (no cascade)."""
    for signal in reversed(signals):
        if signal.name == "embedder":
            return "full" if signal.value else "static"
    return None
