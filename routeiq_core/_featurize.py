"""The featurize stage: a parsed request -> the :class:`Query` a strategy sees, in one pass.

The :class:`Featurizer` owns the embedder, the centroid set and the signal rules. For
one request it computes the text signals, the embedding of the routed text, the
category (with the floor tiers of the winner and the runner-up), the embedding-based
difficulty, the complexity level, the token estimate of the request and of its answer,
and every weighted signal behind them. No later stage needs the embedder or the
centroids again.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from ._centroids import CentroidSet
from ._embedding import Embedder, embed_with_instruction
from ._request import Request
from ._signals import TextSignals, analyse, complexity_level, complexity_score
from ._stages import StageClock
from ._types import Classification, Query, Signal
from .errors import CentroidError, ConfigError

__all__ = ["CentroidsLike", "Featurizer", "LoadableEmbedder", "routed_text"]

#: Without an embedding: the difficulty taken as neutral, and the answer length assumed.
NEUTRAL_DIFFICULTY = 0.5
DEFAULT_OUTPUT_TOKENS = 300

CentroidsLike = str | os.PathLike[str] | CentroidSet | None


@runtime_checkable
class LoadableEmbedder(Protocol):
    """An embedder that can load its model ahead of the first request (``OnnxEmbedder`` can)."""

    def load(self) -> None: ...


@runtime_checkable
class BatchEmbedder(Protocol):
    """An embedder with a padded, batched forward pass for many texts (``OnnxEmbedder`` has one)."""

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray: ...


def routed_text(request: Request) -> str:
    """The text a decision is made on: the last user turn, else the system prompt."""
    return request.prompt or request.system_text or "(no text)"


class Featurizer:
    """Request -> Query: signals, embedding, category, difficulty, complexity, token estimate.

    Args:
        embedder: any :class:`Embedder`.
        centroids: a centroid directory, a :class:`CentroidSet`, or None for the shipped one.
            Checked now; loaded (and checked against the embedder's model) on first use.
    """

    def __init__(self, embedder: Embedder, centroids: CentroidsLike = None) -> None:
        if not isinstance(embedder, Embedder):
            raise ConfigError(
                f"embedder: expected an object with model_id, dim, embed() and embed_many() "
                f"(e.g. OnnxEmbedder()), got {type(embedder).__name__}"
            )
        if centroids is not None and not isinstance(centroids, (str, os.PathLike, CentroidSet)):
            raise ConfigError(
                f"centroids: expected a directory (routeiq centroids build --out DIR) or a CentroidSet, "
                f"got {type(centroids).__name__}"
            )
        self.embedder = embedder
        self._source = centroids
        self._centroids: CentroidSet | None = None
        self._lock = threading.Lock()

    @property
    def source(self) -> CentroidsLike:
        """The centroid source as given (a directory, a set, or None for the shipped one)."""
        return self._source

    @property
    def loaded(self) -> bool:
        return self._centroids is not None

    @property
    def inline(self) -> bool:
        """Whether the stage runs on the caller's thread even in async code and under a deadline:
        once loaded, for an embedder that says ``inline = True`` (the static table: microseconds of
        work holding the GIL, nothing native that can hang). The ONNX model and the cascade, whose
        escalations run it, go to the embedding pool."""
        return self._centroids is not None and getattr(self.embedder, "inline", False) is True

    def load(self) -> CentroidSet:
        """Load the embedding model and the centroids (once; thread-safe) and return the centroids."""
        if self._centroids is None:
            with self._lock:
                if self._centroids is None:
                    if isinstance(self.embedder, LoadableEmbedder):
                        self.embedder.load()
                    # an embedder with its own space (the static table) brings its own centroids
                    source = self._source if self._source is not None else getattr(
                        self.embedder, "default_centroids", None)
                    cset = source if isinstance(source, CentroidSet) else CentroidSet.load(source)
                    if cset.embedding_model != self.embedder.model_id:
                        raise CentroidError(
                            f"the centroids were built with embedding model {cset.embedding_model[:12]}…, "
                            f"but the router embeds with {self.embedder.model_id[:12]}…; rebuild them for "
                            "this model with 'routeiq centroids build --out DIR' and pass Router(centroids=DIR)"
                        )
                    self._centroids = cset
        return self._centroids

    # ------------------------------------------------------------------ the stage
    def featurize(
        self, request: Request, *, embedding: np.ndarray | None = None,
        instruction_embedding: np.ndarray | None = None, clock: StageClock | None = None,
    ) -> Query:
        """The query for one request; sub-steps are timed on ``clock`` (signals, load, embed, classify).

        ``embedding`` (and, for an "instruction: pasted text" prompt, ``instruction_embedding``, as
        :func:`~routeiq_core._embedding_cache.instruction_vectors` makes it) skip the model: an
        evaluation passes both from its cache. Without the instruction's vector such a prompt runs
        the model once more to pool it."""
        clock = clock if clock is not None else StageClock()
        clock.start()
        text = analyse(request)
        clock.lap("signals")
        cset = self._centroids if self._centroids is not None else self.load()
        clock.lap("load")
        routed = routed_text(request)
        head = cset.instruction(routed)
        head_vector = None
        if head is not None and embedding is not None and instruction_embedding is not None:
            head_vector = instruction_embedding
        elif head is not None:  # the instruction comes from the prompt's own forward pass
            whole, head_vector = embed_with_instruction(self.embedder, routed, head)
            embedding = whole if embedding is None else embedding
        elif embedding is None:
            embedding = self.embedder.embed(routed)
        clock.lap("embed")
        query = self._query(request, text, routed, embedding, cset, head_vector)
        clock.lap("classify")
        return query

    def featurize_many(self, requests: Sequence[Request]) -> list[Query]:
        """Queries for many requests, as :meth:`featurize` on each; embeds them in one batched call
        (``embed_batch`` where the embedder has it: the same vectors up to float rounding)."""
        texts = [analyse(r) for r in requests]
        cset = self.load()
        routed = [routed_text(r) for r in requests]
        if not routed:
            return []
        embed = self.embedder.embed_batch if isinstance(self.embedder, BatchEmbedder) else self.embedder.embed_many
        heads = [cset.instruction(s) for s in routed]
        # A prompt with an instruction is embedded with it, as featurize does; the rest in one batch.
        pairs = {i: embed_with_instruction(self.embedder, routed[i], h) for i, h in enumerate(heads) if h is not None}
        rest = [i for i in range(len(routed)) if i not in pairs]
        batched = dict(zip(rest, embed([routed[i] for i in rest]))) if rest else {}
        return [self._query(r, t, s, pairs[i][0] if i in pairs else batched[i], cset,
                            pairs[i][1] if i in pairs else None)
                for i, (r, t, s) in enumerate(zip(requests, texts, routed))]

    def without_embedding(self, request: Request) -> Query:
        """The query from the request's text signals alone: no embedding, no category (the
        difficulty counts as neutral, 0.5). What a decision past its deadline is made on."""
        text = analyse(request)
        score, parts = complexity_score(text, NEUTRAL_DIFFICULTY)
        level = complexity_level(score)
        features = {"agentic": text.agentic, "reasoning": text.reasoning, "difficulty": NEUTRAL_DIFFICULTY,
                    "complexity_score": score, "complexity": float(level)}
        return Query(
            text=routed_text(request), embedding=None, request=request, features=features, classification=None,
            input_tokens=text.input_tokens, output_tokens=int(DEFAULT_OUTPUT_TOKENS * (0.5 + 0.25 * level)),
            signals=(
                Signal("agentic", text.agentic, 1.0, "agentic request" if text.is_agentic else ""),
                Signal("reasoning", text.reasoning, 1.0, "reasoning request" if text.is_reasoning else ""),
                Signal("complexity", score, 1.0, f"level {level} (text signals only)"),
                *text.parts, *parts,
            ),
        )

    def query(self, request: Request, embedding: np.ndarray | None = None,
              instruction_embedding: np.ndarray | None = None) -> Query:
        """The query for a request (embedding it unless one is given; see :meth:`featurize`)."""
        return self.featurize(request, embedding=embedding, instruction_embedding=instruction_embedding)

    def _query(
        self, request: Request, text: TextSignals, routed: str, embedding: np.ndarray, cset: CentroidSet,
        instruction: np.ndarray | None = None,
    ) -> Query:
        classification = cset.classify(embedding, instruction)
        escalation: tuple[Signal, ...] = ()
        refine = getattr(self.embedder, "refine", None)  # the cascade: the full model when uncertain
        if refine is not None:
            classification, signal = refine(routed, classification)
            escalation = (signal,)
        if instruction is not None:  # says that it happened, never the prompt's words
            escalation += (Signal("instruction", 1.0, 0.0, "category also read from the instruction before "
                                                           "the pasted text"),)
        score, parts = complexity_score(text, classification.difficulty)
        level = complexity_level(score)
        features = {
            "agentic": text.agentic,
            "reasoning": text.reasoning,
            "difficulty": classification.difficulty,
            "complexity_score": score,
            "complexity": float(level),
            "category_confidence": classification.confidence,
        }
        output_tokens = int(cset.info(classification.category).output_tokens * (0.5 + 0.25 * level))
        return Query(
            text=routed,
            embedding=embedding,
            request=request,
            features=features,
            classification=classification,
            input_tokens=text.input_tokens,
            output_tokens=output_tokens,
            signals=(*_signals(text, classification, score, level, parts), *escalation),
        )


def _signals(
    text: TextSignals, classification: Classification, score: float, level: int, complexity_parts: Sequence[Signal]
) -> tuple[Signal, ...]:
    """Every signal behind the features, in the order the decision shows them."""
    return (
        Signal("agentic", text.agentic, 1.0, "agentic request" if text.is_agentic else ""),
        Signal("reasoning", text.reasoning, 1.0, "reasoning request" if text.is_reasoning else ""),
        Signal("category", classification.confidence, 1.0,
               f"{classification.category} (runner-up {classification.runner_up}, "
               f"margin {classification.margin:.3f})"),
        Signal("complexity", score, 1.0, f"level {level}"),
        *text.parts,
        *complexity_parts,
    )
