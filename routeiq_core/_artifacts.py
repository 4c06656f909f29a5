"""The artifact format on disk: a JSON manifest plus an ``.npz`` of arrays, never pickle.

It knows nothing of strategies or registries: strategies (``_persist.py``) and
centroid sets (``_centroids.py``) are both written in it.

Layout of an artifact directory::

    manifest.json   {"format": "routeiq-strategy", "format_version": 1, "strategy": "knn",
                     "params": {...}, "state": {...JSON values...}, "embedding_model": "<sha256>",
                     "routeiq_version": "0.1.0", "arrays": ["embeddings_", ...],
                     "array_specs": {"embeddings_": {"shape": [500, 384], "dtype": "<f4"}, ...},
                     "arrays_digest": "<sha256 of names, dtypes, shapes and bytes>"}
    arrays.npz      the fitted numpy arrays, read with allow_pickle=False

Reading is bounded and validated, since an artifact may come from anywhere: the manifest
and the archive must be regular files inside the directory; only the members the manifest
lists are read (any other member is an error), each header is checked against its declared
shape and dtype *before* its data is read, the total is capped (``max_bytes``), object
arrays are refused, and the recorded digest is verified. Writing goes through temporary
files and renames and refuses to write through a symbolic link.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import warnings
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ._files import check_structure, parse_json
from ._safe_io import as_path, atomic_write, check_regular_file, read_regular_bytes
from ._validation import short_repr
from .errors import ArtifactError, ArtifactVersionWarning

__all__ = ["FORMAT_VERSION", "MAX_ARTIFACT_BYTES", "arrays_digest", "read_artifact", "write_artifact"]

#: Default cap on the arrays of one artifact, uncompressed.
MAX_ARTIFACT_BYTES = 1024 * 1024 * 1024
#: Array dtypes an artifact may hold (bool, integers, floats, complex, fixed-width strings).
ALLOWED_KINDS = frozenset("biufcUS")

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


def arrays_digest(arrays: Mapping[str, np.ndarray]) -> str:
    """sha256 over every array's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        arr = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{arr.dtype.str}|{arr.shape}|".encode())
        digest.update(arr.tobytes())
    return digest.hexdigest()


def write_artifact(path: str | os.PathLike[str], manifest: dict[str, Any], arrays: dict[str, np.ndarray]) -> Path:
    """Write ``manifest.json`` and ``arrays.npz`` into directory ``path`` (created if needed)."""
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ArtifactError(f"cannot create artifact directory {out}: {exc.strerror or type(exc).__name__}") from None
    payload: dict[str, Any] = {k: np.asarray(v) for k, v in arrays.items()}
    for key, arr in payload.items():
        if arr.dtype.kind not in ALLOWED_KINDS:
            raise ArtifactError(f"cannot save array {key!r} of dtype {arr.dtype} (pickle is never used)")
    body = dict(manifest)
    body.setdefault("format", FORMAT)
    body.setdefault("format_version", FORMAT_VERSION)
    body.setdefault("routeiq_version", _routeiq_version())
    body["arrays"] = sorted(payload)
    body["array_specs"] = {k: {"shape": list(v.shape), "dtype": v.dtype.str} for k, v in sorted(payload.items())}
    body["arrays_digest"] = arrays_digest(payload)
    buffer = io.BytesIO()
    np.savez(buffer, **payload)
    atomic_write(out / ARRAYS, buffer.getvalue(), "artifact arrays", ArtifactError)
    text = json.dumps(_jsonable(body, "manifest"), indent=2, sort_keys=True) + "\n"
    atomic_write(out / MANIFEST, text.encode("utf-8"), "artifact manifest", ArtifactError)
    return out


def read_artifact(
    path: str | os.PathLike[str], *, kind: str = FORMAT, max_bytes: int = MAX_ARTIFACT_BYTES
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read an artifact directory; refuses other formats, newer format versions and anything
    outside the bounds described above (:class:`ArtifactError` naming the file or array)."""
    root = as_path(path, "artifact", ArtifactError)
    manifest_path = root / MANIFEST
    if not root.is_dir():
        raise ArtifactError(f"{root}: no {MANIFEST} (not a directory); expected a directory written by "
                            "save() / routeiq train")
    if not manifest_path.exists() and not manifest_path.is_symlink():
        raise ArtifactError(f"{root}: no {MANIFEST}; expected a directory written by save() / routeiq train")
    raw = read_regular_bytes(check_regular_file(manifest_path, root, "artifact manifest", ArtifactError),
                             "artifact manifest", ArtifactError)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ArtifactError(f"{manifest_path}: unreadable manifest: not UTF-8 (byte {exc.start})") from None
    manifest = parse_json(text, f"{manifest_path}: unreadable manifest", ArtifactError)
    check_structure(manifest, str(manifest_path), ArtifactError)
    if not isinstance(manifest, dict):
        raise ArtifactError(f"{manifest_path}: expected a JSON object, got {type(manifest).__name__}")
    if manifest.get("format") != kind:
        raise ArtifactError(f"{manifest_path}: expected format {kind!r}, got {short_repr(manifest.get('format'), 40)}")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise ArtifactError(
            f"{manifest_path}: format_version {short_repr(version, 20)} is not supported (this RouteIQ reads "
            f"{FORMAT_VERSION}); retrain with this version or install the RouteIQ that wrote it"
        )
    written_by = str(manifest.get("routeiq_version", ""))[:40]
    current = _routeiq_version()
    if written_by.split(".")[:2] != current.split(".")[:2]:
        warnings.warn(
            f"{root}: written by RouteIQ {written_by}, loading with {current}",
            ArtifactVersionWarning,
            stacklevel=3,
        )
    names = manifest.get("arrays", [])
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise ArtifactError(f"{manifest_path}: 'arrays' must be a list of array names")
    specs = manifest.get("array_specs")
    if specs is not None and not (isinstance(specs, dict) and set(specs) == set(names)):
        raise ArtifactError(f"{manifest_path}: 'array_specs' must describe exactly the listed arrays")
    arrays = _read_arrays(root, names, specs, max_bytes) if names else {}
    recorded = manifest.get("arrays_digest")
    if recorded is not None and recorded != arrays_digest(arrays):
        raise ArtifactError(
            f"{root / ARRAYS}: the arrays do not match the digest recorded in {MANIFEST} "
            "(changed or corrupted after saving); save or train the artifact again"
        )
    return manifest, arrays


def _read_arrays(root: Path, names: list[str], specs: dict[str, Any] | None, max_bytes: int) -> dict[str, np.ndarray]:
    where = root / ARRAYS
    if not where.exists() and not where.is_symlink():
        raise ArtifactError(f"{where}: unreadable arrays (the file is missing)")
    npz = check_regular_file(where, root, "artifact arrays", ArtifactError)
    arrays: dict[str, np.ndarray] = {}
    budget = max_bytes
    try:
        with zipfile.ZipFile(npz) as archive:
            members = {info.filename: info for info in archive.infolist()}
            expected = {f"{name}.npy": name for name in names}
            unexpected = sorted(set(members) - set(expected))
            if unexpected:
                raise ArtifactError(f"{where}: members the manifest does not list: {unexpected[:5]}")
            missing = sorted(n for m, n in expected.items() if m not in members)
            if missing:
                raise ArtifactError(f"{where}: missing arrays {missing}")
            for member, name in expected.items():
                spec = specs.get(name) if specs is not None else None
                with archive.open(members[member]) as fh:
                    arrays[name] = _read_member(fh, name, spec, budget, where)
                budget -= arrays[name].nbytes
    except ArtifactError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, KeyError) as exc:
        raise ArtifactError(f"{where}: unreadable arrays ({type(exc).__name__})") from None
    return arrays


def _read_member(fh: Any, name: str, spec: Any, budget: int, where: Path) -> np.ndarray:
    """One ``.npy`` member: header checked (dtype, declared shape, size budget) before the data is read."""
    fmt = np.lib.format
    version = fmt.read_magic(fh)
    if version == (1, 0):
        shape, fortran, dtype = fmt.read_array_header_1_0(fh)
    elif version == (2, 0):
        shape, fortran, dtype = fmt.read_array_header_2_0(fh)
    else:
        raise ArtifactError(f"{where}: array {name!r} has .npy format version {version}, expected 1.0 or 2.0")
    if dtype.hasobject or dtype.kind not in ALLOWED_KINDS:
        raise ArtifactError(f"{where}: array {name!r} has dtype {dtype}, which would need pickle "
                            "(RouteIQ reads with allow_pickle=False)")
    if spec is not None:
        if not isinstance(spec, dict) or list(spec.get("shape", ())) != list(shape) or spec.get("dtype") != dtype.str:
            raise ArtifactError(
                f"{where}: array {name!r} is {dtype.str} {tuple(shape)}, but the manifest declares "
                f"{str(spec)[:80]}"
            )
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > budget:
        raise ArtifactError(
            f"{where}: array {name!r} needs {nbytes / 2**20:.1f} MiB, over the artifact size limit "
            f"({budget / 2**20:.1f} MiB left)"
        )
    data = fh.read(nbytes)
    if len(data) != nbytes:
        raise ArtifactError(f"{where}: array {name!r} is truncated ({len(data)} of {nbytes} bytes)")
    arr = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")
    return np.array(arr)  # a writable, owned copy
