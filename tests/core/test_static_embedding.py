"""The static embedder (distilled from the pinned ONNX model) and the cascade to the full model."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from routeiq_core import CascadeEmbedder, Router, StaticEmbedder
from routeiq_core._embedding import DEFAULT_MODEL_SHA256, TOKENIZER_PATH
from routeiq_core._static_embedding import DEFAULT_STATIC
from routeiq_core.errors import ConfigError, EmbeddingError

from .test_signals import HELDOUT

REPO = Path(__file__).resolve().parents[2]
ITEMS = [(c, p) for c, ps in HELDOUT.items() for p in ps]


@pytest.fixture(scope="module")
def static() -> StaticEmbedder:
    return StaticEmbedder()


def test_the_shipped_table_names_its_source_and_recipe(static: StaticEmbedder) -> None:
    static.load()
    assert static.manifest["source_model"] == DEFAULT_MODEL_SHA256
    assert static.manifest["recipe"]["dims"] == 256 and static.manifest["recipe"]["sif_a"] == 1e-4
    assert static.dim == 256 and static.model_id == static.manifest["arrays_digest"]
    assert static.model_id != DEFAULT_MODEL_SHA256  # its own space: artifacts and centroids name it
    vec = static.embed("What is the capital of France?")
    assert vec.shape == (256,) and vec.dtype == np.float32 and abs(float(np.linalg.norm(vec)) - 1) < 1e-5
    assert np.array_equal(vec, static.embed("What is the capital of France?"))
    assert np.array_equal(static.embed_many(["a b", "c"])[1], static.embed("c"))


def test_unknown_tokens_and_empty_text_are_defined(static: StaticEmbedder) -> None:
    assert static.token_ids("\U0001F9FF\U0001FAE0 \u2603") == [100, 100]  # all [UNK]
    for text in ("", "   ", "\U0001F9FF", "\x00\x01", "x" * 50_000):
        vec = static.embed(text)
        assert np.all(np.isfinite(vec)) and abs(float(np.linalg.norm(vec)) - 1) < 1e-5


def test_held_out_categories_static_and_cascade() -> None:
    """Measured here: full 50/52, static 50/52, cascade 49/52 (at the default margin, about one
    prompt in six escalated); on the 400 of test_categories_holdout the cascade gains 12 over static."""
    static_router = Router(embedder=StaticEmbedder())
    cascade = CascadeEmbedder()
    cascade_router = Router(embedder=cascade)
    static_right = sum(static_router.decide(p).category == c for c, p in ITEMS)
    cascade_decisions = [cascade_router.decide(p) for _, p in ITEMS]
    cascade_right = sum(d.category == c for d, (c, _) in zip(cascade_decisions, ITEMS))
    escalated = cascade_router.counters.get("escalations")
    assert static_right >= 0.8 * len(ITEMS)
    assert cascade_right >= 0.9 * len(ITEMS)
    assert 0.05 * len(ITEMS) <= escalated <= 0.35 * len(ITEMS)
    shown = [next(s for s in d.signals if s.name == "embedder") for d in cascade_decisions]
    assert sum(s.value == 1.0 for s in shown) == escalated  # each decision says which embedder decided
    assert all(s.detail.startswith(("static (", "full model (")) for s in shown)


def test_named_embedders_in_configs_and_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from routeiq_core._settings import effective_config

    assert isinstance(Router.from_config({"embedder": "static"}).embedder, StaticEmbedder)
    cascade = Router.from_config({"embedder": "cascade", "cascade_margin": 0.05}).embedder
    assert isinstance(cascade, CascadeEmbedder) and cascade.margin == 0.05
    monkeypatch.setenv("ROUTEIQ_EMBEDDER", "cascade")
    assert effective_config()[0].embedder == "cascade"
    with pytest.raises(ConfigError, match="embedder"):
        Router.from_config({"embedder": "tiny"})
    for margin in (-0.1, 1.5, float("nan"), "0.1", True):
        with pytest.raises(ConfigError, match=r"cascade margin: expected a number in \[0, 1\]"):
            CascadeEmbedder(margin=margin)  # type: ignore[arg-type]


def test_an_artifact_trained_on_static_vectors(tmp_path: Path, static: StaticEmbedder) -> None:
    """A static-trained artifact works with the static and the cascade embedder; the full model is refused."""
    from routeiq_core import Candidate
    from routeiq_core._dataset import RoutingDataset
    from routeiq_strategies.knn import KNNStrategy

    prompts = [p for _, p in ITEMS]
    rng = np.random.default_rng(0)
    scores = rng.random((len(prompts), 2)).round()
    data = RoutingDataset(ids=tuple(f"q{i}" for i in range(len(prompts))), prompts=tuple(prompts),
                          models=("small", "large"), scores=scores, embeddings=static.embed_many(prompts),
                          embedding_model=static.model_id, name="heldout")
    KNNStrategy(k=5).fit(data).save(tmp_path / "knn")
    candidates = [Candidate(name="small", input_cost_per_mtok=0.1, output_cost_per_mtok=0.4),
                  Candidate(name="large", input_cost_per_mtok=5, output_cost_per_mtok=15)]
    for embedder in (static, CascadeEmbedder(static)):
        assert Router.from_artifact(tmp_path / "knn", candidates, embedder=embedder).decide("hi").name
    from routeiq_core.errors import ArtifactError

    with pytest.raises(ArtifactError, match="trained on the static embedder: use embedder: static or cascade"):
        Router.from_artifact(tmp_path / "knn", candidates)


def _copy_shipped(tmp_path: Path) -> Path:
    out = tmp_path / "static"
    shutil.copytree(DEFAULT_STATIC, out)
    return out


def test_a_table_from_another_source_model_is_refused(tmp_path: Path) -> None:
    root = _copy_shipped(tmp_path)
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["source_model"] = "0" * 64
    (root / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(EmbeddingError, match="was distilled from model 000000000000…, not 8199be6f699a"):
        StaticEmbedder(root).load()
    assert StaticEmbedder(root, source_model=None).dim == 256  # the check can be waived explicitly


@pytest.mark.parametrize("damage", ["tampered", "truncated"])
def test_a_damaged_table_is_refused(tmp_path: Path, damage: str) -> None:
    root = _copy_shipped(tmp_path)
    data = bytearray((root / "arrays.npz").read_bytes())
    if damage == "tampered":
        data[len(data) // 2] ^= 0xFF
    else:
        data = data[: len(data) // 3]
    (root / "arrays.npz").write_bytes(bytes(data))
    with pytest.raises(EmbeddingError, match="static embedder"):
        StaticEmbedder(root).load()


def _model2vec(root: Path, rows: int, dims: int = 8, tokenizer: Path = TOKENIZER_PATH) -> Path:
    root.mkdir()
    table = np.random.default_rng(1).normal(size=(rows, dims)).astype("<f4")
    header = json.dumps({"embeddings": {"dtype": "F32", "shape": [rows, dims],
                                        "data_offsets": [0, table.nbytes]}}).encode()
    (root / "model.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + table.tobytes())
    shutil.copy(tokenizer, root / "tokenizer.json")
    (root / "config.json").write_text('{"normalize": true}')
    return root


def test_a_model2vec_directory_with_its_own_tokenizer(tmp_path: Path) -> None:
    from tokenizers import Tokenizer

    vocab = Tokenizer.from_file(str(TOKENIZER_PATH)).get_vocab_size()
    m2v = StaticEmbedder(_model2vec(tmp_path / "m2v", vocab))
    vec = m2v.embed("hello world")
    assert m2v.dim == 8 and abs(float(np.linalg.norm(vec)) - 1) < 1e-5 and m2v.manifest["kind"] == "model2vec"
    with pytest.raises(EmbeddingError, match="the table has 1000 rows but its tokenizer has 30522 pieces"):
        StaticEmbedder(_model2vec(tmp_path / "other", 1000)).load()
    broken = _model2vec(tmp_path / "broken", vocab)
    (broken / "model.safetensors").write_bytes((broken / "model.safetensors").read_bytes()[:100])
    with pytest.raises(EmbeddingError, match="model.safetensors"):
        StaticEmbedder(broken).load()


@pytest.mark.slow
def test_distill_check_reproduces_the_shipped_table() -> None:
    """``routeiq embedder distill --check`` rebuilds the table from the pinned model and matches it."""
    done = subprocess.run([sys.executable, "-m", "routeiq_core", "embedder", "distill", "--check"],
                          capture_output=True, text=True, timeout=600, cwd=REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("equivalent:")


def test_routing_with_the_static_embedder_needs_no_forward_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """A router on the static table decides without ever running the ONNX session."""
    from routeiq_core import OnnxEmbedder

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the ONNX model ran")

    monkeypatch.setattr(OnnxEmbedder, "forward", forbidden)
    monkeypatch.setattr(OnnxEmbedder, "_forward_padded", forbidden)
    router = Router(embedder=StaticEmbedder())
    assert router.decide("Write a Rust function that reverses a linked list").category


def test_cascade_decisions_in_spans_and_prometheus() -> None:
    """Which embedder decided shows as a span attribute and a Prometheus counter."""
    from routeiq_core.telemetry._otel import decision_attributes
    from routeiq_core.telemetry._prometheus import PrometheusMetrics

    router = Router(embedder=CascadeEmbedder(margin=1.0))  # always escalates
    metrics = PrometheusMetrics()
    before = metrics.metrics["cascade"].labels("full")._value.get()
    decision = router.decide("Summarise this article.")
    assert decision_attributes(decision)["routeiq.embedder"] == "full"
    metrics.after_decide(decision, None)  # type: ignore[arg-type]
    assert metrics.metrics["cascade"].labels("full")._value.get() == before + 1
    assert "routeiq.embedder" not in decision_attributes(Router().decide("hi"))


def test_a_failing_full_model_leaves_the_static_decision(tmp_path: Path) -> None:
    """The cascade's full model is broken (a missing ONNX file): uncertain prompts keep their static
    category, with one warning and a failure count; no decision fails."""
    import warnings

    from routeiq_core import OnnxEmbedder
    from routeiq_core.errors import RouteIQWarning

    cascade = CascadeEmbedder(full=OnnxEmbedder(tmp_path / "missing.onnx"), margin=1.0)  # always escalates
    router = Router(embedder=cascade)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        decisions = [router.decide(p) for p in ("hi", "Summarise this article.", "Prove it.")]
    assert all(d.name for d in decisions) and cascade.failures == 3
    assert [w for w in seen if issubclass(w.category, RouteIQWarning) and "cascade" in str(w.message)]
    assert all(next(s for s in d.signals if s.name == "embedder").detail.startswith("static (the full model failed")
               for d in decisions)
    assert router.counters.get("escalations") == 0


def test_the_static_table_runs_on_the_callers_thread_and_the_onnx_model_on_the_pool() -> None:
    """A loaded static table embeds on the caller's thread in adecide() and under a deadline (a
    millisecond at most, nothing native that can hang); the ONNX model goes to the embedding pool,
    and so does the static table's first, loading, call."""
    import asyncio
    import threading

    from routeiq_core import OnnxEmbedder

    def threads(embedder: Any) -> tuple[bool, list[bool]]:
        seen: list[int] = []
        embed = embedder.embed

        def recording(text: str) -> np.ndarray:
            seen.append(threading.get_ident())
            return embed(text)

        embedder.embed = recording
        router = Router(embedder=embedder, deadline_ms=5000)
        cold = router.featurizer.inline
        router.decide("warm up")

        async def main() -> int:
            await router.adecide("What is the capital of Australia?")
            return threading.get_ident()

        loop = asyncio.run(main())
        router.decide("Summarise the plot of Hamlet.")
        here = threading.get_ident()
        return cold, [seen[0] == here, seen[1] == loop, seen[2] == here]

    assert threads(StaticEmbedder()) == (False, [False, True, True])  # the first call loads on the pool
    assert threads(OnnxEmbedder(cache_size=0)) == (False, [False, False, False])
