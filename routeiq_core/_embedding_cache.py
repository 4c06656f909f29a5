"""On-disk embedding cache, so that evaluating or training twice embeds once.

Layout: ``<cache_dir>/embeddings/<embedding model sha256>/shard-*.npz``. Each shard
holds ``keys`` (fixed-width unicode, the sha256 of each text) and ``vectors``
(float32, one row per key) and is read with ``allow_pickle=False``. Shards are
append-only: new vectors go to a new shard written under a temporary name and
renamed into place, so concurrent writers never see or leave a half-written
file. A corrupt or foreign shard is skipped with a warning (its texts are simply
embedded again).
"""

from __future__ import annotations

import os
import uuid
import warnings
from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._embedding import Embedder, embed_with_instruction, text_key
from ._safe_io import check_regular_file
from .errors import EmbeddingError, RouteIQWarning

if TYPE_CHECKING:
    from ._dataset import RoutingDataset

__all__ = ["EmbeddingCache", "default_cache_dir", "embed_dataset", "embed_texts", "instruction_vectors"]

KEY_DTYPE = "<U64"  # a sha256 hex digest
#: Largest shard read (FLUSH_EVERY vectors of 384 float32 are 0.8 MB).
MAX_SHARD_BYTES = 256 * 1024 * 1024
#: New vectors are written to a shard every this many texts (an interrupted run keeps its work).
FLUSH_EVERY = 512
#: Texts per embed_many call (granularity of the progress bar).
CHUNK = 32
#: Hashed before a text for the cache key of its instruction's vector (no prompt starts with NUL).
INSTRUCTION_MARK = "\x00instruction\x00"


def default_cache_dir() -> Path:
    """``$ROUTEIQ_CACHE_DIR`` or ``~/.cache/routeiq``."""
    from ._settings import RouteIQSettings

    env = RouteIQSettings.from_env().cache_dir
    return env.expanduser() if env is not None and str(env) else Path.home() / ".cache" / "routeiq"


#: Shards already warned about in this process (one warning per bad shard, not one per refresh).
_REPORTED: set[str] = set()


class EmbeddingCache:
    """Vectors by text sha256 for one embedding model (append-only ``.npz`` shards)."""

    def __init__(self, cache_dir: str | os.PathLike[str] | None, model_id: str, dim: int) -> None:
        if not model_id or any(ch in model_id for ch in "/\\") or model_id.startswith("."):
            raise EmbeddingError(f"embedding cache: model id {model_id!r} cannot name a folder")
        root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.directory = root / "embeddings" / model_id
        self.model_id = model_id
        self.dim = int(dim)
        self._vectors: dict[str, np.ndarray] = {}
        self._seen_shards: set[str] = set()

    # ------------------------------------------------------------------ reading
    def refresh(self) -> None:
        """Read shards written since the last refresh (by this or another process).

        A shard is used only if it is a regular file that holds unicode keys, float32
        vectors of this dimension, every one finite, and names this cache's model; any
        other shard (corrupt, truncated, foreign, older) is skipped, and one warning says how
        many and why (once per shard and process). Skipped texts are simply embedded again.
        """
        if not self.directory.is_dir():
            return
        skipped: list[str] = []
        for shard in sorted(self.directory.glob("shard-*.npz")):
            if shard.name in self._seen_shards:
                continue
            self._seen_shards.add(shard.name)
            problem = self._read_shard(shard)
            if problem and str(shard) not in _REPORTED:
                _REPORTED.add(str(shard))
                skipped.append(f"{shard.name} ({problem})")
        if skipped:
            warnings.warn(
                f"embedding cache: skipped {len(skipped)} shard(s) in {self.directory}: {'; '.join(skipped[:3])}"
                + (" ..." if len(skipped) > 3 else "") + "; their texts are embedded again (delete the "
                "skipped files to silence this)",
                RouteIQWarning,
                stacklevel=3,
            )

    def _read_shard(self, shard: Path) -> str | None:
        """Add a shard's vectors; a short reason when the shard is skipped."""
        try:
            check_regular_file(shard, self.directory, "embedding cache shard", EmbeddingError)
            if shard.stat().st_size > MAX_SHARD_BYTES:
                return "too large"
            with np.load(shard, allow_pickle=False) as data:
                if set(data.files) != {"keys", "vectors", "model"}:
                    return "written by another RouteIQ version" if "model" not in data.files else "unexpected arrays"
                keys, vectors, model = data["keys"], data["vectors"], data["model"]
        except Exception as exc:  # EmbeddingError, OSError, ValueError, BadZipFile, zlib.error, ...: skip it
            return f"unreadable: {type(exc).__name__}"
        if model.shape != () or str(model) != self.model_id:
            return "vectors of another embedding model"
        if (keys.dtype.kind != "U" or keys.ndim != 1 or vectors.dtype != np.float32 or vectors.ndim != 2
                or vectors.shape != (len(keys), self.dim)):
            return f"expected (n,) keys and (n, {self.dim}) float32 vectors, got {keys.shape} / {vectors.dtype} {vectors.shape}"
        if not np.isfinite(vectors).all():
            return "non-finite vectors"
        for key, vec in zip(keys.tolist(), vectors):
            self._vectors[key] = vec
        return None

    def __len__(self) -> int:
        return len(self._vectors)

    def __contains__(self, key: str) -> bool:
        return key in self._vectors

    def get(self, key: str) -> np.ndarray | None:
        return self._vectors.get(key)

    # ------------------------------------------------------------------ writing
    def add(self, keys: Sequence[str], vectors: np.ndarray) -> Path | None:
        """Store vectors under their keys in a new shard (atomic rename); returns the shard path."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.shape != (len(keys), self.dim):
            raise EmbeddingError(
                f"embedding cache: expected vectors of shape ({len(keys)}, {self.dim}), got {vectors.shape}"
            )
        if not np.isfinite(vectors).all():
            raise EmbeddingError("embedding cache: refusing to store non-finite vectors (the embedder returned NaN or inf)")
        if not len(keys):
            return None
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"shard-{uuid.uuid4().hex}.npz"
        final = self.directory / name
        tmp = self.directory / f".{name}.{os.getpid()}.tmp.npz"
        try:
            with tmp.open("wb") as fh:
                np.savez(fh, keys=np.asarray(list(keys), dtype=KEY_DTYPE), vectors=vectors,
                         model=np.asarray(self.model_id))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
        self._seen_shards.add(name)
        for key, vec in zip(keys, vectors):
            self._vectors[key] = vec
        return final


def _progress_bar(total: int, enabled: bool, desc: str) -> Any:
    if not enabled or total == 0:
        return nullcontext(None)
    try:
        from tqdm.auto import tqdm
    except ImportError:  # the 'progress' extra is not installed
        return nullcontext(None)
    return tqdm(total=total, desc=desc, unit="text", leave=False)


def embed_texts(
    texts: Sequence[str],
    embedder: Embedder | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
    *,
    cache: EmbeddingCache | None = None,
) -> tuple[np.ndarray, str]:
    """``(n, dim)`` float32 embeddings of ``texts`` and the embedder's model id, via the disk cache."""
    if embedder is None:
        from ._embedding import default_embedder

        embedder = default_embedder()
    model_id = embedder.model_id
    dim = int(embedder.dim)
    if cache is None:
        cache = EmbeddingCache(cache_dir, model_id, dim)
    cache.refresh()
    keys = [text_key(t) for t in texts]
    missing: dict[str, str] = {}
    for key, text in zip(keys, texts):
        if key not in cache and key not in missing:
            missing[key] = text
    if missing:
        _embed_missing(list(missing.items()), embedder.embed_many, cache, progress, dim)
    out = np.empty((len(texts), dim), dtype=np.float32)
    for i, key in enumerate(keys):
        out[i] = _stored(cache, key)
    return out, model_id


def instruction_vectors(
    texts: Sequence[str],
    embedder: Embedder | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
    *,
    cache: EmbeddingCache | None = None,
) -> np.ndarray:
    """``(n, dim)`` float32: the vector of each text's instruction (``"Summarise this: <text>"``),
    pooled from the text's own forward pass as ``decide()`` pools it, via the disk cache (keyed by
    the text and a marker, beside the texts' own vectors); a NaN row for a text without one. The
    same pass gives the text's own vector, which is cached too where it is missing, so a text
    costs one forward pass for both."""
    from ._instruction import instruction_of

    if embedder is None:
        from ._embedding import default_embedder

        embedder = default_embedder()
    dim = int(embedder.dim)
    out = np.full((len(texts), dim), np.nan, dtype=np.float32)
    heads = {i: h for i, h in enumerate(map(instruction_of, texts)) if h is not None}
    if not heads:
        return out
    if cache is None:
        cache = EmbeddingCache(cache_dir, embedder.model_id, dim)
    cache.refresh()
    keys = {i: text_key(INSTRUCTION_MARK + texts[i]) for i in heads}
    missing = {keys[i]: texts[i] for i in heads if keys[i] not in cache}
    instruction = {texts[i]: head for i, head in heads.items()}
    wholes: dict[str, np.ndarray] = {}  # the texts' own vectors from the same passes

    def pooled(chunk: Sequence[str]) -> np.ndarray:  # one forward pass per text, as decide() runs it
        rows = []
        for text in chunk:
            whole, head = embed_with_instruction(embedder, text, instruction[text])
            wholes[text_key(text)] = whole
            rows.append(head)
        return np.vstack(rows)

    if missing:
        _embed_missing(list(missing.items()), pooled, cache, progress, dim)
        new = [key for key in wholes if key not in cache]
        if new:
            cache.add(new, np.vstack([wholes[key] for key in new]))
    for i, key in keys.items():
        out[i] = _stored(cache, key)
    return out


def _stored(cache: EmbeddingCache, key: str) -> np.ndarray:
    vec = cache.get(key)
    if vec is None:  # pragma: no cover - _embed_missing stores every key or raises
        raise EmbeddingError("embedding cache lost a vector it just stored")
    return vec


def _embed_missing(
    items: list[tuple[str, str]], embed: Callable[[list[str]], np.ndarray], cache: EmbeddingCache, progress: bool,
    dim: int,
) -> None:
    pending_keys: list[str] = []
    pending_vecs: list[np.ndarray] = []

    def flush() -> None:
        if pending_keys:
            cache.add(pending_keys, np.vstack(pending_vecs))
            pending_keys.clear()
            pending_vecs.clear()

    with _progress_bar(len(items), progress, "embedding") as bar:
        for start in range(0, len(items), CHUNK):
            chunk = items[start:start + CHUNK]
            vectors = np.asarray(embed([text for _, text in chunk]), dtype=np.float32)
            if vectors.shape != (len(chunk), dim):
                raise EmbeddingError(
                    f"embedder returned shape {vectors.shape} for {len(chunk)} texts; expected ({len(chunk)}, {dim})"
                )
            pending_keys.extend(key for key, _ in chunk)
            pending_vecs.append(vectors)
            if len(pending_keys) >= FLUSH_EVERY:
                flush()
            if bar is not None:
                bar.update(len(chunk))
        flush()


def embed_dataset(
    dataset: RoutingDataset,
    embedder: Embedder | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> RoutingDataset:
    """The data set with prompt embeddings and its prompts' instruction vectors, taken from the
    disk cache where present.

    The cache lives at ``cache_dir`` (default ``$ROUTEIQ_CACHE_DIR`` or
    ``~/.cache/routeiq``) under ``embeddings/<model sha256>/``; a second call on
    the same prompts does not run the model.
    """
    if embedder is None:
        from ._embedding import default_embedder

        embedder = default_embedder()
    if dataset.embeddings is not None and dataset.embedding_model == embedder.model_id:
        return dataset
    cache = EmbeddingCache(cache_dir, embedder.model_id, int(embedder.dim))
    # Instruction prompts first: their passes also give (and cache) their own vectors.
    heads = instruction_vectors(dataset.prompts, embedder, progress=progress, cache=cache)
    vectors, model_id = embed_texts(dataset.prompts, embedder, progress=progress, cache=cache)
    return dataset.with_embeddings(vectors, model_id, heads if np.isfinite(heads).any() else None)


def warm(paths: Iterable[str | os.PathLike[str]], cache_dir: str | os.PathLike[str] | None = None,
         log: Callable[[str], None] = print) -> None:
    """Embed every prompt of the given data files into the cache (``python -m routeiq_core._embedding_cache``)."""
    import time

    from .datasets import load_dataset

    for path in paths:
        t0 = time.perf_counter()
        ds = load_dataset(path)
        embed_dataset(ds, cache_dir=cache_dir, progress=True)
        log(f"{path}: {len(ds)} prompts embedded/cached in {time.perf_counter() - t0:.1f}s")


if __name__ == "__main__":  # pragma: no cover
    import sys

    warm(sys.argv[1:])
