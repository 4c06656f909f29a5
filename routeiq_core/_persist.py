"""Strategies on disk: save a fitted strategy as an artifact, rebuild one from it.

The class is found by the manifest's strategy name through a lookup the caller
passes (a :class:`~routeiq_core.StrategyRegistry`, or the expected class itself);
nothing is ever imported from a path written in the file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ._artifacts import read_artifact, write_artifact
from .errors import ArtifactError, ConfigError

if TYPE_CHECKING:
    from ._strategy import BaseStrategy

__all__ = ["StrategyLookup", "load_strategy", "save_strategy"]


class StrategyLookup(Protocol):
    """Anything that maps a strategy name to its class (``StrategyRegistry`` does)."""

    def get(self, name: str) -> type[BaseStrategy[Any]]: ...


def save_strategy(strategy: BaseStrategy[Any], path: str | os.PathLike[str]) -> Path:
    strategy.check_fitted()
    arrays, state = strategy.get_state()
    manifest = {
        "strategy": strategy.name,
        "class": f"{type(strategy).__module__}:{type(strategy).__qualname__}",
        "params": strategy.params.model_dump(mode="json"),
        "state": state,
        "embedding_model": state.get("embedding_model_"),
    }
    return write_artifact(path, manifest, arrays)


def load_strategy(
    path: str | os.PathLike[str],
    *,
    expected: type[BaseStrategy[Any]] | None = None,
    registry: StrategyLookup | None = None,
    embedding_model: str | None = None,
) -> BaseStrategy[Any]:
    """Rebuild a strategy from an artifact directory.

    The class is ``expected`` if given, else ``registry.get(<the manifest's strategy name>)``.
    ``embedding_model`` (a sha256), if given, must match the artifact's.
    """
    manifest, arrays = read_artifact(path)
    name = manifest.get("strategy")
    if expected is None:
        if registry is None:
            raise ArtifactError(f"{path}: pass the strategy class or a registry to look {name!r} up in")
        cls = registry.get(str(name))
    else:
        cls = expected
        if cls.name and name != cls.name:
            raise ArtifactError(f"{path}: artifact is for strategy {name!r}, not {cls.name!r}")
    saved_model = manifest.get("embedding_model")
    if embedding_model is not None and saved_model is not None and saved_model != embedding_model:
        raise ArtifactError(
            f"{path}: trained with embedding model {saved_model[:12]}…, but the router uses "
            f"{embedding_model[:12]}…; {_embedder_hint(str(saved_model))}"
        )
    params, state = manifest.get("params") or {}, manifest.get("state") or {}
    for key, value in (("params", params), ("state", state)):
        if not isinstance(value, dict):
            raise ArtifactError(f"{path}: manifest '{key}' must be an object, got {type(value).__name__}")
    bad = sorted(k for k in (*state, *arrays) if not (isinstance(k, str) and k.endswith("_") and k.isidentifier()
                                                       and not k.startswith("_")))
    if bad:
        raise ArtifactError(f"{path}: fitted state may hold only public names ending in '_', got {bad[:5]}")
    try:
        strategy = cls(params)
    except ConfigError as exc:
        raise ArtifactError(f"{path}: the saved parameters are invalid: {exc}") from None
    strategy.validate_state(arrays, state, where=str(path))
    strategy.set_state(arrays, state)
    if manifest.get("calibration") is not None:  # written by 'routeiq calibrate'
        from ._calibration import Calibration

        #: The calibrated operating point, for Router.from_artifact.
        strategy.calibration = Calibration.from_dict(  # type: ignore[attr-defined]
            manifest["calibration"] if isinstance(manifest["calibration"], dict) else {}, where=str(path))
    digest = manifest.get("arrays_digest")
    #: Names the artifact in the decision log: the strategy and the start of its arrays' sha256.
    strategy.artifact_id = f"{name}:{str(digest)[:12]}" if digest else str(name)  # type: ignore[attr-defined]
    return strategy


def _embedder_hint(saved_model: str) -> str:
    """What to do about an artifact trained with another embedder (the shipped ones are named)."""
    from ._embedding import DEFAULT_MODEL_SHA256
    from ._static_embedding import shared_static

    if saved_model == DEFAULT_MODEL_SHA256:
        return "it was trained on the full ONNX model: use embedder: full (the default)"
    try:
        if saved_model == shared_static().model_id:
            return "it was trained on the static embedder: use embedder: static or cascade"
    except Exception:  # the shipped table is unreadable: fall back to the general advice
        pass
    return "retrain with the current model or point ROUTEIQ_EMBEDDING_MODEL at the model it was trained with"
