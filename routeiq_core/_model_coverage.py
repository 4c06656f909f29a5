"""Does the trained strategy know any of the candidates?

A strategy trained on per-model results predicts quality only for the models it saw;
every other candidate gets the same prior, so with no known candidate the cheapest one
wins for no reason. :class:`TrainedModelsCheck` (an extension every Router with a
trained strategy runs) puts a warning into such a decision; ``Router.from_artifact``
refuses the combination outright (:func:`check_coverage`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence

from ._candidates import Candidate
from ._decision import Decision
from ._embedding import Embedder
from ._extensions import DecisionContext, RouterExtension
from ._strategy import Strategy, TrainedStrategy
from .errors import ArtifactError, ConfigError

__all__ = ["TrainedModelsCheck", "check_coverage", "check_trained", "known_candidates"]


def check_trained(strategy: Strategy, embedder: Embedder) -> tuple[str, ...] | None:
    """Refuse a strategy that needs training and has none, or was trained with another embedding
    model; return the models it was trained on (None when it does not say)."""
    if not strategy.is_fitted():
        raise ConfigError(
            f"strategy {strategy.name!r} needs training: fit it (strategy.fit(dataset)), "
            "load one (Router.from_artifact(dir)) or train with 'routeiq train'"
        )
    if not isinstance(strategy, TrainedStrategy):
        return None
    trained_with = strategy.trained_embedding_model()
    if trained_with is not None and trained_with != embedder.model_id:
        raise ArtifactError(
            f"strategy {strategy.name!r} was trained with embedding model {trained_with[:12]}…, "
            f"but the router embeds with {embedder.model_id[:12]}…; retrain it with this model "
            "or pass Router(embedder=...) with the model it was trained with"
        )
    return strategy.trained_models()


def known_candidates(candidates: Sequence[Candidate], trained: Collection[str]) -> frozenset[str]:
    """Names of the candidates whose model (or name) is among the trained models."""
    return frozenset(c.name for c in candidates if c.model in trained or c.name in trained)


def _listing(trained: Sequence[str]) -> str:
    shown = ", ".join(trained[:12])
    return shown + (f" and {len(trained) - 12} more" if len(trained) > 12 else "")


def check_coverage(strategy_name: str, candidates: Sequence[Candidate], trained: Sequence[str]) -> None:
    """Raise ConfigError when none of ``candidates`` was seen in training."""
    if known_candidates(candidates, trained):
        return
    raise ConfigError(
        f"none of the {len(candidates)} candidates is a model strategy {strategy_name!r} was trained on "
        f"(trained models: {_listing(trained)}); pass candidates whose model or name is one of them, "
        "e.g. Router.from_artifact(path, candidates=[...]) or 'routeiq decide --artifact DIR --candidates FILE'"
    )


class TrainedModelsCheck(RouterExtension):
    """Warns in a decision when no ranked candidate is known to the trained strategy."""

    name = "trained-models"
    #: No I/O on the request path (the LiteLLM adapter may then decide on the event loop).
    inline = True

    def __init__(self, strategy_name: str, candidates: Sequence[Candidate], trained: Sequence[str]) -> None:
        self._trained = tuple(trained)
        self._known = known_candidates(candidates, self._trained)
        self._message = (
            f"none of the eligible candidates is a model strategy {strategy_name!r} was trained on "
            f"(trained: {_listing(self._trained)}); every prediction is the same prior, so the cheapest won"
        )

    def after_decide(self, decision: Decision, ctx: DecisionContext) -> Decision | None:
        if decision.candidate.name in self._known or any(a.name in self._known for a in decision.ranking):
            return None
        return dataclasses.replace(decision, warnings=(*decision.warnings, self._message))
