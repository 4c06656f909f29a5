"""A static embedder: one vector per word piece, distilled from the shipped ONNX model.

The model2vec recipe, on the pinned all-MiniLM-L6-v2 only (nothing is downloaded):

1. run the ONNX model on ``[CLS] id [SEP]`` for every one of the tokenizer's 30,522 word-piece
   ids (batched) and mean-pool, as the model pools a sentence (then L2-normalise);
2. centre the table and project it on its first 256 principal components (the sign of each
   component fixed so its largest coordinate is positive: the same table on every run);
3. weight each row SIF-style by a Zipf prior on the id's rank, ``a / (a + p(id))`` with
   ``p(rank) = 1 / (rank * H)`` and ``a = 1e-4`` (frequent pieces weigh less);
4. store it as int8 with one float32 scale per row (cosine >= 0.9999 to the float32 table).

To embed a text: the full model's truncation policy, its word pieces without special tokens,
the mean of their rows, L2-normalised. No forward pass: the vector work is tens of
microseconds and tokenization is most of the cost. A text without pieces (empty) is the
``[UNK]`` row: a defined vector, never NaN.

The table ships in ``routeiq_core/data/static/`` with a manifest naming the source model's sha256
and the recipe, checked on load like the model. :class:`StaticEmbedder` also reads a model2vec
directory (``model.safetensors`` + ``tokenizer.json``) that a user obtained themselves; it then
uses that directory's own tokenizer.
"""

from __future__ import annotations

import json
import math
import os
import struct
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ._embedding import (
    CLS_ID,
    DEFAULT_MODEL_SHA256,
    SEP_ID,
    TOKENIZER_PATH,
    OnnxEmbedder,
    load_tokenizer,
    truncated_pieces,
)
from ._safe_io import as_path, read_regular_bytes
from ._wordpiece import PieceEncoder
from .errors import ArtifactError, EmbeddingError

__all__ = ["DEFAULT_STATIC", "KIND", "StaticEmbedder", "distill", "shared_static"]

DATA = Path(__file__).parent / "data"
DEFAULT_STATIC = DATA / "static"
KIND = "routeiq-static-embedder"
UNK_ID = 100
#: The recipe's parameters (recorded in the manifest; ``routeiq embedder distill --check`` rebuilds with them).
RECIPE = {"dims": 256, "sif_a": 1e-4, "pooling": "mean over [CLS] id [SEP], L2-normalised", "pca": "centred",
          "weights": "a / (a + 1 / (rank * H_n))", "storage": "int8 rows, float32 row scales"}
#: Largest table read from disk (the shipped one is 7.9 MB; a model2vec float32 table of 30k x 512 is 62 MB).
MAX_TABLE_BYTES = 512 * 1024 * 1024


# ---------------------------------------------------------------------------------------- distilling
def distill(full: OnnxEmbedder | None = None, *, dims: int = 256, sif_a: float = 1e-4, batch_size: int = 512,
            progress: Callable[[int], None] | None = None) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The static table distilled from ``full`` (default: the pinned model): (manifest, arrays)."""
    full = full if full is not None else OnnxEmbedder(cache_size=0)
    full.load()
    tokenizer = load_tokenizer(TOKENIZER_PATH)
    vocab = int(tokenizer.get_vocab_size())
    rows = np.empty((vocab, full.dim), dtype=np.float32)
    for start in range(0, vocab, batch_size):
        ids = list(range(start, min(vocab, start + batch_size)))
        rows[start:start + len(ids)] = full._forward_padded([[CLS_ID, i, SEP_ID] for i in ids])
        if progress is not None:
            progress(len(ids))
    table = _project(rows, dims)
    rank = np.arange(1, vocab + 1, dtype=np.float64)
    zipf = 1.0 / (rank * np.sum(1.0 / rank))
    table *= (sif_a / (sif_a + zipf))[:, None].astype(np.float32)
    values, scales = _quantize(table)
    manifest = {"format": KIND, "source_model": full.model_id, "tokenizer": "routeiq_core/data/tokenizer.json",
                "vocab_size": vocab, "dims": dims, "recipe": {**RECIPE, "dims": dims, "sif_a": sif_a}}
    return manifest, {"values": values, "scales": scales}


def _project(rows: np.ndarray, dims: int) -> np.ndarray:
    """The centred rows on their first ``dims`` principal components, each with a fixed sign."""
    centred = rows.astype(np.float64) - rows.mean(axis=0, dtype=np.float64)
    eigenvalues, vectors = np.linalg.eigh(centred.T @ centred)
    order = np.argsort(eigenvalues)[::-1][:dims]
    components = vectors[:, order]
    signs = np.sign(components[np.argmax(np.abs(components), axis=0), np.arange(components.shape[1])])
    return np.asarray(centred @ (components * signs), dtype=np.float32)


def _quantize(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scales = np.abs(table).max(axis=1) / 127.0
    scales[scales == 0] = 1.0
    values = np.clip(np.rint(table / scales[:, None]), -127, 127).astype(np.int8)
    return values, scales.astype(np.float32)


# ---------------------------------------------------------------------------------------- embedding
class StaticEmbedder:
    """An :class:`~routeiq_core.Embedder` that averages word-piece vectors: no forward pass.

    Args:
        path: a table written by ``routeiq embedder distill`` (default: the shipped one), or a
            model2vec directory (``model.safetensors`` and ``tokenizer.json``, its own tokenizer).
        source_model: the sha256 the table's manifest must name as its source (default: the pinned
            model's); ``None`` skips the check (a model2vec directory has no such manifest).
    """

    #: Its work is a few hundred microseconds of Python and numpy holding the GIL, with no native
    #: code that can hang: async and deadline-bound decisions run it on the caller's thread, since
    #: handing it to a pool thread and back cost more than the embedding (see ``Featurizer.inline``).
    inline: ClassVar[bool] = True

    def __init__(self, path: str | os.PathLike[str] | None = None, *,
                 source_model: str | None = DEFAULT_MODEL_SHA256) -> None:
        self.path = as_path(path, "static embedder", EmbeddingError) if path is not None else DEFAULT_STATIC
        self._source_model = source_model
        self._lock = threading.Lock()
        self._table: np.ndarray | None = None  # int8 rows (distilled) or float32 (model2vec)
        self._scales: np.ndarray | None = None  # per-row scales of an int8 table
        self._tokenizer: Any = None
        self._pieces: PieceEncoder | None = None
        self._model_id = ""
        self._dim = 0
        self.manifest: dict[str, Any] = {}

    @property
    def default_centroids(self) -> Path | None:
        """Centroids built for this table from the shipped seed prompts (shipped with it)."""
        root = self.path / "centroids"
        return root if root.is_dir() else None

    def load(self) -> None:
        if self._table is not None:
            return
        with self._lock:
            if self._table is not None:
                return
            if (self.path / "model.safetensors").is_file():
                table, scales, tokenizer, model_id, manifest = _load_model2vec(self.path)
            else:
                table, scales, tokenizer, model_id, manifest = _load_distilled(self.path, self._source_model)
            self._tokenizer, self._model_id, self._dim, self.manifest = tokenizer, model_id, table.shape[1], manifest
            self._pieces = PieceEncoder(tokenizer)
            self._scales = scales
            self._table = table

    @property
    def model_id(self) -> str:
        """The table's digest (arrays and shape): artifacts and centroids trained on it name it."""
        self.load()
        return self._model_id

    @property
    def dim(self) -> int:
        self.load()
        return self._dim

    def token_ids(self, text: str) -> list[int]:
        """The word pieces that are averaged (the full model's truncation policy, no [CLS]/[SEP])."""
        self.load()
        assert self._pieces is not None
        return truncated_pieces(self._pieces, text) or [self._unk]

    @property
    def _unk(self) -> int:
        assert self._table is not None
        return UNK_ID if UNK_ID < len(self._table) else 0

    def vector(self, ids: Sequence[int]) -> np.ndarray:
        """The normalised mean of the rows of ``ids`` (what :meth:`embed` does after tokenising)."""
        assert self._table is not None
        vec = self._sum(np.asarray(ids, dtype=np.intp))  # the mean's direction: it is normalised anyway
        norm = math.sqrt(float(vec @ vec))  # math on one number: numpy's per-call cost is the larger
        if not math.isfinite(norm) or norm == 0.0:  # pieces that cancel out: the [UNK] row instead
            vec = self._sum(np.asarray([self._unk], dtype=np.intp))
            norm = math.sqrt(float(vec @ vec)) or 1.0
        out: np.ndarray = (vec / norm).astype(np.float32, copy=False)
        return out

    def table(self) -> np.ndarray:
        """The whole table as float32 rows (dequantised): what ``distill --check`` compares."""
        self.load()
        assert self._table is not None
        rows = self._table.astype(np.float32)
        return rows * self._scales[:, None] if self._scales is not None else rows

    def _sum(self, ids: np.ndarray) -> np.ndarray:
        """The sum of the rows of ``ids``: one dot product with the row scales for an int8 table."""
        assert self._table is not None
        if self._scales is not None:
            summed: np.ndarray = np.dot(self._scales[ids], self._table[ids])
            return summed
        return np.asarray(self._table[ids].sum(axis=0), dtype=np.float32)

    def embed(self, text: str) -> np.ndarray:
        if not isinstance(text, str):
            raise EmbeddingError(f"embed() expects str, got {type(text).__name__}")
        vec = self.vector(self.token_ids(text))
        vec.setflags(write=False)
        return vec

    def embed_many(self, texts: Sequence[str]) -> np.ndarray:
        self.load()
        out = np.empty((len(texts), self._dim), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i] = self.embed(text)
        return out

    embed_batch = embed_many

    def __repr__(self) -> str:
        return f"<StaticEmbedder {self.path}>"


def _load_distilled(root: Path, source_model: str | None) -> tuple[np.ndarray, np.ndarray | None, Any, str,
                                                                   dict[str, Any]]:
    from ._artifacts import read_artifact

    try:
        manifest, arrays = read_artifact(root, kind=KIND, max_bytes=MAX_TABLE_BYTES)
    except ArtifactError as exc:
        raise EmbeddingError(f"static embedder {root}: {exc}; rebuild it with 'routeiq embedder distill "
                             "--out DIR' (or reinstall routeiq for the shipped one)") from None
    values, scales = arrays.get("values"), arrays.get("scales")
    if (values is None or scales is None or values.dtype != np.int8 or values.ndim != 2 or scales.ndim != 1
            or scales.shape[0] != values.shape[0] or not np.all(np.isfinite(scales))):
        raise EmbeddingError(f"static embedder {root}: expected int8 'values' (vocab x dims) and float32 "
                             "'scales' (vocab), finite")
    named = manifest.get("source_model")
    if source_model is not None and named != source_model:
        raise EmbeddingError(f"static embedder {root} was distilled from model {str(named)[:12]}…, not "
                             f"{source_model[:12]}… (the pinned one); distil it again from this model with "
                             "'routeiq embedder distill --out DIR'")
    tokenizer = load_tokenizer(TOKENIZER_PATH)
    if tokenizer.get_vocab_size() != values.shape[0]:
        raise EmbeddingError(f"static embedder {root}: {values.shape[0]} rows for a tokenizer of "
                             f"{tokenizer.get_vocab_size()} pieces")
    return values, scales.astype(np.float32), tokenizer, str(manifest["arrays_digest"]), manifest


def _load_model2vec(root: Path) -> tuple[np.ndarray, np.ndarray | None, Any, str, dict[str, Any]]:
    """A model2vec directory: ``model.safetensors`` (a 2-D float tensor) and its ``tokenizer.json``."""
    import hashlib

    tok_path = root / "tokenizer.json"
    if not tok_path.is_file():
        raise EmbeddingError(f"model2vec directory {root}: no tokenizer.json (a model2vec model brings its own)")
    data = read_regular_bytes(root / "model.safetensors", "model2vec table", EmbeddingError, limit=MAX_TABLE_BYTES)
    table = _safetensors_matrix(data, root)
    tokenizer = load_tokenizer(tok_path)
    if tokenizer.get_vocab_size() != table.shape[0]:
        raise EmbeddingError(f"model2vec directory {root}: the table has {table.shape[0]} rows but its "
                             f"tokenizer has {tokenizer.get_vocab_size()} pieces; they do not belong together")
    digest = hashlib.sha256(data + read_regular_bytes(tok_path, "tokenizer", EmbeddingError)).hexdigest()
    return table, None, tokenizer, digest, {"kind": "model2vec", "path": str(root)}


_SAFETENSORS_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64}


def _safetensors_matrix(data: bytes, where: Path) -> np.ndarray:
    """The one 2-D float tensor of a safetensors file (a JSON header and raw little-endian bytes:
    no pickle), bounded and validated."""
    if len(data) < 8:
        raise EmbeddingError(f"{where}: model.safetensors is truncated")
    (size,) = struct.unpack("<Q", data[:8])
    if size > min(len(data) - 8, 1 << 24):
        raise EmbeddingError(f"{where}: model.safetensors has a header of {size} bytes (truncated or not safetensors)")
    try:
        header = json.loads(data[8:8 + size])
    except ValueError:
        raise EmbeddingError(f"{where}: model.safetensors has an unreadable header") from None
    tensors = {k: v for k, v in header.items() if k != "__metadata__"} if isinstance(header, dict) else {}
    name = "embeddings" if "embeddings" in tensors else (next(iter(tensors)) if len(tensors) == 1 else None)
    spec = tensors.get(name) if name else None
    if not isinstance(spec, dict) or spec.get("dtype") not in _SAFETENSORS_DTYPES:
        raise EmbeddingError(f"{where}: expected one float tensor 'embeddings' in model.safetensors, got "
                             f"{sorted(tensors)[:5]}")
    shape, (begin, end) = spec.get("shape"), spec.get("data_offsets", (0, -1))
    dtype = np.dtype(_SAFETENSORS_DTYPES[spec["dtype"]]).newbyteorder("<")
    if (not isinstance(shape, list) or len(shape) != 2 or not all(isinstance(d, int) and d > 0 for d in shape)
            or end - begin != shape[0] * shape[1] * dtype.itemsize or 8 + size + end > len(data)):
        raise EmbeddingError(f"{where}: model.safetensors tensor {name!r} is truncated or its shape is wrong")
    matrix = np.frombuffer(data, dtype=dtype, count=shape[0] * shape[1], offset=8 + size + begin)
    table = matrix.reshape(shape).astype(np.float32)
    if not np.all(np.isfinite(table)):
        raise EmbeddingError(f"{where}: model.safetensors holds non-finite values")
    return table


_shared: StaticEmbedder | None = None
_shared_lock = threading.Lock()


def shared_static() -> StaticEmbedder:
    """The process-wide shipped static embedder (the table loads on first use)."""
    global _shared
    if _shared is None:
        with _shared_lock:
            if _shared is None:
                _shared = StaticEmbedder()
    return _shared
