"""The disk embedding cache: a second embed_dataset call runs no forward pass; shards are safe .npz files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from routeiq_core import RoutingDataset, default_embedder
from routeiq_core._embedding_cache import EmbeddingCache, embed_dataset, embed_texts
from routeiq_core.errors import RouteIQWarning


class CountingEmbedder:
    """Wraps the real embedder and counts the texts it is asked to embed."""

    def __init__(self) -> None:
        self.inner = default_embedder()
        self.texts = 0
        self.calls = 0

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed(self, text: str) -> np.ndarray:
        return self.embed_many([text])[0]

    def embed_many(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        self.texts += len(texts)
        # bypass the embedder's in-memory LRU so that every count is a real forward pass
        return np.vstack([self.inner.forward(self.inner.token_ids(t)) for t in texts])


def small_dataset(prompts: Sequence[str]) -> RoutingDataset:
    n = len(prompts)
    return RoutingDataset(ids=tuple(f"p{i}" for i in range(n)), prompts=tuple(prompts), models=("a", "b"),
                          scores=np.zeros((n, 2)))


PROMPTS = ["What is the capital of France?", "Write a haiku about routers.", "Prove that sqrt(2) is irrational.",
           "What is the capital of France?", "Translate 'good morning' into German."]


def test_second_call_does_not_run_the_model(cache_dir: Path) -> None:
    """The first call embeds each distinct text once; a second call (fresh process state) embeds nothing."""
    ds = small_dataset(PROMPTS)
    first = CountingEmbedder()
    out1 = embed_dataset(ds, first, cache_dir=cache_dir, progress=False)
    assert first.texts == 4  # one duplicate prompt
    second = CountingEmbedder()
    out2 = embed_dataset(ds, second, cache_dir=cache_dir, progress=False)
    assert second.texts == 0 and second.calls == 0
    assert out2.embedding_model == default_embedder().model_id
    np.testing.assert_array_equal(out1.embeddings, out2.embeddings)
    # identical to the embedder's own vectors
    np.testing.assert_allclose(out2.embeddings[2], default_embedder().embed(PROMPTS[2]), atol=1e-6)
    # only new texts are embedded when the data grows
    third = CountingEmbedder()
    embed_dataset(small_dataset([*PROMPTS, "A brand new prompt."]), third, cache_dir=cache_dir, progress=False)
    assert third.texts == 1


def test_shards_are_plain_npz_keyed_by_model(cache_dir: Path) -> None:
    """Shards live under the model sha256, hold fixed-width unicode keys and float32 vectors, load without pickle."""
    emb = CountingEmbedder()
    embed_texts(PROMPTS[:2], emb, cache_dir, progress=False)
    shards = list((cache_dir / "embeddings" / emb.model_id).glob("shard-*.npz"))
    assert len(shards) == 1
    with np.load(shards[0], allow_pickle=False) as data:
        assert data["keys"].dtype == np.dtype("<U64")
        assert data["vectors"].dtype == np.float32 and data["vectors"].shape == (2, emb.dim)
    assert not list(shards[0].parent.glob(".*tmp*")), "temporary files must not be left behind"


def test_corrupt_shard_is_skipped_with_a_warning(cache_dir: Path) -> None:
    """A truncated shard (e.g. from a crashed foreign tool) is skipped; its texts are embedded again."""
    emb = CountingEmbedder()
    embed_texts(PROMPTS[:2], emb, cache_dir, progress=False)
    folder = cache_dir / "embeddings" / emb.model_id
    (folder / "shard-broken.npz").write_bytes(b"PK\x03\x04 not really a zip")
    again = CountingEmbedder()
    with pytest.warns(RouteIQWarning, match=r"skipped 1 shard\(s\).*unreadable"):
        embed_texts(PROMPTS[:3], again, cache_dir, progress=False)
    assert again.texts == 1


def test_two_cache_objects_see_each_others_shards(cache_dir: Path) -> None:
    """Writers never overwrite each other: two caches on one folder both end up with every vector."""
    dim = 4
    a = EmbeddingCache(cache_dir, "m" * 64, dim)
    b = EmbeddingCache(cache_dir, "m" * 64, dim)
    a.add(["k1"], np.ones((1, dim), dtype=np.float32))
    b.add(["k2"], np.full((1, dim), 2.0, dtype=np.float32))
    a.refresh()
    b.refresh()
    assert len(a) == len(b) == 2
    np.testing.assert_array_equal(a.get("k2"), np.full(dim, 2.0, dtype=np.float32))


def test_real_data_slice_embeds_once(data_dir: Path, cache_dir: Path) -> None:
    """A slice of the shared LLMRouter test set: a second embed_dataset call does no forward pass."""
    from routeiq_core.datasets import load_dataset

    ds = load_dataset(data_dir / "llmrouter" / "test.json").subset(range(40))
    first = CountingEmbedder()
    embed_dataset(ds, first, cache_dir=cache_dir, progress=False)
    second = CountingEmbedder()
    out = embed_dataset(ds, second, cache_dir=cache_dir, progress=False)
    assert first.texts == 40 and second.texts == 0
    assert out.embeddings is not None and out.embeddings.shape == (40, 384)
    np.testing.assert_allclose(np.linalg.norm(out.embeddings, axis=1), 1.0, atol=1e-5)
