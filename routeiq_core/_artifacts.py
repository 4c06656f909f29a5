"""The artifact format on disk: a JSON manifest plus an ``.npz`` of arrays, never pickle.

It knows nothing of strategies or registries: strategies (``_persist.py``) and
centroid sets (``_centroids.py``) are both written in it.

Layout of an artifact directory::

    manifest.json   {"format": "routeiq-strategy", "format_version": 1, "strategy": "knn",
                     "params": {...}, "state": {...JSON values...}, "embedding_model": "<sha256>",
                     "routeiq_version": "0.1.0", "arrays": ["embeddings_", ...]}
    arrays.npz      the fitted numpy arrays, read with allow_pickle=False
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ArtifactError, ArtifactVersionWarning

__all__ = ["FORMAT_VERSION", "read_artifact", "write_artifact"]

FORMAT = "routeiq-strategy"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ARRAYS = "arrays.npz"


def _routeiq_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("routeiq")
    except PackageNotFoundError:
        return "0+unknown"


def _jsonable(value: Any, where: str) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, f"{where}[]") for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v, f"{where}.{k}") for k, v in value.items()}
    raise ArtifactError(f"cannot save {where}: {type(value).__name__} is neither JSON nor a numpy array")


def write_artifact(path: str | os.PathLike[str], manifest: dict[str, Any], arrays: dict[str, np.ndarray]) -> Path:
    """Write ``manifest.json`` and ``arrays.npz`` into directory ``path`` (created if needed)."""
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    for key, arr in arrays.items():
        if np.asarray(arr).dtype == object:
            raise ArtifactError(f"cannot save array {key!r} of dtype object without pickle")
    body = dict(manifest)
    body.setdefault("format", FORMAT)
    body.setdefault("format_version", FORMAT_VERSION)
    body.setdefault("routeiq_version", _routeiq_version())
    body["arrays"] = sorted(arrays)
    tmp = out / (ARRAYS + ".tmp.npz")
    payload: dict[str, Any] = {k: np.asarray(v) for k, v in arrays.items()}
    np.savez(tmp, **payload)
    os.replace(tmp, out / ARRAYS)
    (out / MANIFEST).write_text(json.dumps(_jsonable(body, "manifest"), indent=2, sort_keys=True) + "\n")
    return out


def read_artifact(path: str | os.PathLike[str], *, kind: str = FORMAT) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read an artifact directory; refuses other formats and newer format versions."""
    root = Path(path)
    manifest_path = root / MANIFEST
    if not manifest_path.is_file():
        raise ArtifactError(f"{root}: no {MANIFEST}; expected a directory written by save() / routeiq train")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{manifest_path}: unreadable manifest: {exc}") from None
    if not isinstance(manifest, dict):
        raise ArtifactError(f"{manifest_path}: expected a JSON object, got {type(manifest).__name__}")
    if manifest.get("format") != kind:
        raise ArtifactError(f"{manifest_path}: expected format {kind!r}, got {manifest.get('format')!r}")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise ArtifactError(
            f"{manifest_path}: format_version {version!r} is not supported (this RouteIQ reads "
            f"{FORMAT_VERSION}); retrain with this version or install the RouteIQ that wrote it"
        )
    written_by = str(manifest.get("routeiq_version", ""))
    current = _routeiq_version()
    if written_by.split(".")[:2] != current.split(".")[:2]:
        warnings.warn(
            f"{root}: written by RouteIQ {written_by}, loading with {current}",
            ArtifactVersionWarning,
            stacklevel=3,
        )
    arrays: dict[str, np.ndarray] = {}
    names = manifest.get("arrays", [])
    if names:
        try:
            with np.load(root / ARRAYS, allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
        except Exception as exc:  # OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, ...
            raise ArtifactError(f"{root / ARRAYS}: unreadable arrays: {type(exc).__name__}: {exc}") from None
        missing = set(names) - set(arrays)
        if missing:
            raise ArtifactError(f"{root / ARRAYS}: missing arrays {sorted(missing)}")
    return manifest, arrays


