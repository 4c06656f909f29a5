"""The disk embedding cache: a second embed_dataset call runs no forward pass; shards are safe .npz files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

import routeiq_core
from routeiq_core import OnnxEmbedder, RoutingDataset, default_embedder
from routeiq_core._embedding_cache import (
    EmbeddingCache,
    embed_dataset,
    embed_texts,
    instruction_vectors,
)
from routeiq_core._instruction import instruction_of
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


INSTRUCTION_PROMPTS = ["Summarise this article in two sentences: The council voted to expand the bike lanes downtown.",
                       "What is the capital of France?",
                       "Translate this paragraph into German: The meeting moved to Thursday because the venue flooded."]


def counted_onnx(monkeypatch: pytest.MonkeyPatch) -> tuple[OnnxEmbedder, list[int]]:
    """A real ONNX embedder (no in-memory cache) whose forward passes are counted."""
    embedder = OnnxEmbedder(cache_size=0)
    passes: list[int] = []
    hidden = embedder._hidden

    def counting(ids: Sequence[int]) -> np.ndarray:
        passes.append(len(ids))
        return hidden(ids)

    monkeypatch.setattr(embedder, "_hidden", counting)
    return embedder, passes


def test_instruction_vectors_are_decides_and_come_from_the_cache_the_second_time(
        cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each instruction prompt's vector is the one decide() pools from the prompt's own pass; a
    prompt without an instruction gets a NaN row; a second call runs the model not at all."""
    first, passes = counted_onnx(monkeypatch)
    heads = instruction_vectors(INSTRUCTION_PROMPTS, first, cache_dir=cache_dir, progress=False)
    assert len(passes) == 2  # the two instruction prompts, one pass each
    for i in (0, 2):
        text = INSTRUCTION_PROMPTS[i]
        instruction = instruction_of(text)
        assert instruction is not None
        assert np.array_equal(heads[i], first.embed_with_instruction(text, instruction)[1])
    assert np.isnan(heads[1]).all()
    second, again = counted_onnx(monkeypatch)
    assert np.array_equal(instruction_vectors(INSTRUCTION_PROMPTS, second, cache_dir=cache_dir, progress=False),
                          heads, equal_nan=True)
    assert again == []


def test_evaluation_queries_of_instruction_prompts_run_no_forward_pass(
        cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """router_queries on an embedded data set classifies instruction prompts from the cached
    vectors (no forward pass; before, each ran the model again) exactly as decide() does."""
    from routeiq_core.evaluation.harness import router_queries

    embedding, first_passes = counted_onnx(monkeypatch)
    ds = embed_dataset(small_dataset(INSTRUCTION_PROMPTS), embedding, cache_dir=cache_dir, progress=False)
    assert len(first_passes) == 3  # one pass per prompt: an instruction prompt's gives both of its vectors
    assert ds.embeddings is not None
    for row, prompt in zip(ds.embeddings, INSTRUCTION_PROMPTS):
        assert np.array_equal(row, OnnxEmbedder(cache_size=0).embed(prompt))
    assert ds.instruction_embeddings is not None and ds.instruction_embedding(1) is None
    assert ds.subset([2, 0]).instruction_embedding(1) is not None  # carried by a split
    embedder, passes = counted_onnx(monkeypatch)
    candidates = routeiq_core.Router().candidates
    queries = router_queries(ds, candidates, embedder)
    assert passes == []
    decided = routeiq_core.Router(embedder=OnnxEmbedder(cache_size=0))
    for prompt, query in zip(INSTRUCTION_PROMPTS, queries):
        decision = decided.decide(prompt)
        assert query.classification is not None
        assert (query.classification.category, query.classification.confidence) == \
            (decision.category, decision.confidence)
