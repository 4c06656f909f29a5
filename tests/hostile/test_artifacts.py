"""Hostile artifacts, centroid files, cache shards and model files (defects 2, 3, 5, 6 and 9)."""

from __future__ import annotations

import io
import json
import os
import shutil
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from routeiq_core import ArtifactError, CentroidError, OnnxEmbedder, Router, RoutingDataset
from routeiq_core._artifacts import read_artifact
from routeiq_core._centroids import DEFAULT_CENTROIDS
from routeiq_core._embedding_cache import EmbeddingCache, embed_texts
from routeiq_core.errors import DatasetError, EmbeddingError, RouteIQWarning
from routeiq_strategies.knn import KNNStrategy

from .conftest import finishes_within


def _rewrite_npz(path: Path, arrays: dict[str, np.ndarray], extra: dict[str, bytes] | None = None) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    with zipfile.ZipFile(buffer, "a") as archive:
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    path.write_bytes(buffer.getvalue())


def _arrays(root: Path) -> dict[str, np.ndarray]:
    with np.load(root / "arrays.npz", allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def _manifest(root: Path) -> dict:
    return json.loads((root / "manifest.json").read_text())


def _npy_header_only(shape: tuple[int, ...], dtype: str = "<f4") -> bytes:
    """A .npy member that declares ``shape`` but carries almost no data (a size bomb)."""
    header = f"{{'descr': '{dtype}', 'fortran_order': False, 'shape': {shape}, }}".encode("latin1")
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + b"\x00" * 64


# --------------------------------------------------------------------- 2. unbounded .npz reading
def test_an_unlisted_member_is_refused_without_being_read(knn_artifact: Path) -> None:
    """Defect 2: an extra member the manifest does not list (here 64 MB of zeros) is an error."""
    _rewrite_npz(knn_artifact / "arrays.npz", _arrays(knn_artifact), {"bomb.npy": b"\x00" * (64 << 20)})
    with pytest.raises(ArtifactError, match=r"members the manifest does not list: \['bomb.npy'\]"):
        KNNStrategy.load(knn_artifact)


def test_a_listed_member_declaring_a_huge_shape_is_refused_before_reading(knn_artifact: Path) -> None:
    """A member whose header declares 40 GB is refused from its header, within the size cap."""
    arrays = _arrays(knn_artifact)
    buffer = io.BytesIO()
    np.savez(buffer, **{k: v for k, v in arrays.items() if k != "scores_"})
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr("scores_.npy", _npy_header_only((100_000, 100_000)))
    (knn_artifact / "arrays.npz").write_bytes(buffer.getvalue())
    manifest = _manifest(knn_artifact)
    del manifest["array_specs"], manifest["arrays_digest"]  # an old-style manifest: the cap still holds
    (knn_artifact / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="'scores_' needs .* over the artifact size limit"):
        KNNStrategy.load(knn_artifact)


# --------------------------------------------------------------------- 3. silent wrong routing from bad numbers
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_arrays_are_refused_at_load(knn_artifact: Path, bad: float) -> None:
    """Defect 3: NaN/inf in the embeddings of a trained strategy fail the load, naming the array."""
    arrays = _arrays(knn_artifact)
    arrays["embeddings_"][0, 0] = bad
    _rewrite_npz(knn_artifact / "arrays.npz", arrays)
    manifest = _manifest(knn_artifact)
    del manifest["arrays_digest"]
    (knn_artifact / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="array 'embeddings_' holds non-finite values"):
        KNNStrategy.load(knn_artifact)


def test_arrays_changed_after_saving_fail_the_digest(knn_artifact: Path) -> None:
    arrays = _arrays(knn_artifact)
    arrays["embeddings_"][0, 0] += 0.25
    _rewrite_npz(knn_artifact / "arrays.npz", arrays)
    with pytest.raises(ArtifactError, match="do not match the digest"):
        KNNStrategy.load(knn_artifact)


@pytest.mark.parametrize("change", ["shape", "dtype"])
def test_wrong_shape_or_dtype_fails_at_load_not_at_decide(knn_artifact: Path, change: str) -> None:
    arrays = _arrays(knn_artifact)
    arrays["embeddings_"] = (arrays["embeddings_"][:, :100] if change == "shape"
                             else arrays["embeddings_"].astype(np.float64))
    _rewrite_npz(knn_artifact / "arrays.npz", arrays)
    with pytest.raises(ArtifactError, match="array 'embeddings_' is .* but the manifest declares"):
        KNNStrategy.load(knn_artifact)


def test_centroids_that_no_longer_match_their_recorded_hash(tmp_path: Path, embedder: OnnxEmbedder) -> None:
    """Defect 3: a centroid file whose rows changed (still unit-norm) is refused."""
    root = tmp_path / "centroids"
    shutil.copytree(DEFAULT_CENTROIDS, root)
    arrays = _arrays(root)
    arrays["centroids"] = arrays["centroids"][[1, 0, *range(2, len(arrays["centroids"]))]]  # two rows swapped
    _rewrite_npz(root / "arrays.npz", arrays)
    with pytest.raises(CentroidError, match="do not match the digest recorded in manifest.json"):
        Router(centroids=root, embedder=embedder).decide("hello")
    # with the artifact's own digest forged as well, the centroid set's arrays_sha256 still catches it
    from routeiq_core._artifacts import arrays_digest

    manifest_path = root / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["arrays_digest"] = arrays_digest(arrays)
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(CentroidError, match="do not match the arrays_sha256"):
        Router(centroids=root, embedder=embedder).decide("hello")


def _shard(cache: EmbeddingCache, keys: list[str], vectors: np.ndarray, model: str) -> Path:
    cache.directory.mkdir(parents=True, exist_ok=True)
    path = cache.directory / f"shard-planted-{model[:6]}.npz"
    np.savez(path, keys=np.asarray(keys, dtype="<U64"), vectors=vectors.astype(np.float32), model=np.asarray(model))
    return path


@pytest.mark.parametrize("kind", ["nan vectors", "another model", "corrupt deflate", "no model field"])
def test_bad_cache_shards_are_skipped_with_one_warning(tmp_path: Path, embedder: OnnxEmbedder, kind: str) -> None:
    """Defect 3: NaN vectors, another model's vectors, a corrupt deflate stream or an old shard are
    skipped (one warning); the texts are embedded again and training sees only finite vectors."""
    from routeiq_core._embedding import text_key

    texts = ["first planted prompt", "second planted prompt"]
    cache = EmbeddingCache(tmp_path, embedder.model_id, embedder.dim)
    keys = [text_key(t) for t in texts]
    if kind == "nan vectors":
        _shard(cache, keys, np.full((2, embedder.dim), np.nan), embedder.model_id)
    elif kind == "another model":
        _shard(cache, keys, np.ones((2, embedder.dim)) / np.sqrt(embedder.dim), "f" * 64)
    elif kind == "no model field":
        cache.directory.mkdir(parents=True, exist_ok=True)
        np.savez(cache.directory / "shard-old.npz", keys=np.asarray(keys, dtype="<U64"),
                 vectors=np.zeros((2, embedder.dim), dtype=np.float32))
    else:
        path = _shard(cache, keys, np.ones((2, embedder.dim)), embedder.model_id)
        buffer = io.BytesIO()
        with zipfile.ZipFile(path) as src, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                dst.writestr(info.filename, src.read(info))
        raw = bytearray(buffer.getvalue())
        raw[60:90] = b"\xff" * 30  # inside the first member's deflate stream
        path.write_bytes(bytes(raw))
    with pytest.warns(RouteIQWarning, match=r"skipped 1 shard\(s\)"):
        vectors, _ = embed_texts(texts, embedder, tmp_path, progress=False)
    assert np.isfinite(vectors).all()
    assert np.allclose(vectors, embedder.embed_many(texts))


def test_training_refuses_non_finite_embeddings(dataset: RoutingDataset) -> None:
    bad = dataset.embeddings.copy()
    bad[3, :] = np.nan
    with pytest.raises(DatasetError, match=r"1 prompt embedding\(s\) hold NaN or inf \(rows \[3\]\)"):
        KNNStrategy(k=3).fit(dataset.with_embeddings(bad, dataset.embedding_model))


# --------------------------------------------------------------------- 5. manifests outside the contract
def test_a_manifest_that_is_not_utf8(knn_artifact: Path) -> None:
    (knn_artifact / "manifest.json").write_bytes(b'{"format": "\xff\xfe"}')
    with pytest.raises(ArtifactError, match="not UTF-8"):
        KNNStrategy.load(knn_artifact)


@pytest.mark.parametrize(("key", "value"), [("state", [1, 2]), ("params", "k=3")])
def test_a_manifest_whose_state_or_params_is_not_an_object(knn_artifact: Path, key: str, value: object) -> None:
    manifest = _manifest(knn_artifact)
    manifest[key] = value
    (knn_artifact / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=f"manifest '{key}' must be an object"):
        KNNStrategy.load(knn_artifact)


def test_a_manifest_nested_too_deeply(knn_artifact: Path) -> None:
    (knn_artifact / "manifest.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ArtifactError, match="nested too deeply"):
        KNNStrategy.load(knn_artifact)


# --------------------------------------------------------------------- 6. files
def test_train_out_does_not_write_through_a_planted_symlink(tmp_path: Path, knn_artifact: Path,
                                                            dataset: RoutingDataset) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").symlink_to(victim)
    with pytest.raises(ArtifactError, match="symbolic link"):
        KNNStrategy(k=3).fit(dataset).save(out)
    assert victim.read_text() == "precious"


@pytest.mark.parametrize("member", ["manifest.json", "arrays.npz"])
def test_a_fifo_in_place_of_an_artifact_file_does_not_hang(knn_artifact: Path, member: str) -> None:
    (knn_artifact / member).unlink()
    os.mkfifo(knn_artifact / member)
    done, result = finishes_within(10, lambda: KNNStrategy.load(knn_artifact))
    assert done, "loading an artifact with a FIFO hung"
    assert isinstance(result, ArtifactError) and "not a regular file" in str(result)


def test_a_fifo_centroid_file_and_cache_shard_do_not_hang(tmp_path: Path, embedder: OnnxEmbedder) -> None:
    root = tmp_path / "centroids"
    shutil.copytree(DEFAULT_CENTROIDS, root)
    (root / "arrays.npz").unlink()
    os.mkfifo(root / "arrays.npz")
    done, result = finishes_within(10, lambda: Router(centroids=root, embedder=embedder).decide("hi"))
    assert done and isinstance(result, CentroidError), result
    cache = EmbeddingCache(tmp_path / "cache", embedder.model_id, embedder.dim)
    cache.directory.mkdir(parents=True)
    os.mkfifo(cache.directory / "shard-fifo.npz")
    with pytest.warns(RouteIQWarning, match="unreadable"):
        done, _ = finishes_within(10, cache.refresh)
    assert done


def test_a_link_out_of_the_artifact_directory_is_refused(tmp_path: Path, knn_artifact: Path) -> None:
    outside = tmp_path / "elsewhere.npz"
    shutil.move(knn_artifact / "arrays.npz", outside)
    (knn_artifact / "arrays.npz").symlink_to(outside)
    with pytest.raises(ArtifactError, match="outside"):
        KNNStrategy.load(knn_artifact)


# --------------------------------------------------------------------- 9. model file race
def test_the_model_is_hashed_and_loaded_from_the_same_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            embedder: OnnxEmbedder) -> None:
    """Defect 9: the model file is read once; what is hashed is what is loaded. Here the file on
    disk is garbage after that one read: loading still works and model_id is the bytes' hash."""
    import routeiq_core._embedding as emb_module

    real = embedder.model_path.read_bytes()
    path = tmp_path / "model.onnx"
    path.write_bytes(real)
    reads = []

    def read_then_swap(*args: object, **kwargs: object) -> bytes:
        data = emb_module.read_regular_bytes.__wrapped__(*args, **kwargs)  # type: ignore[attr-defined]
        reads.append(len(data))
        path.write_bytes(b"swapped after hashing")
        return data

    original = emb_module.read_regular_bytes
    read_then_swap.__wrapped__ = original  # type: ignore[attr-defined]
    monkeypatch.setattr(emb_module, "read_regular_bytes", read_then_swap)
    swapped = OnnxEmbedder(path, cache_size=0)
    swapped.load()
    assert reads == [len(real)]
    assert swapped.model_id == embedder.model_id
    assert np.allclose(swapped.embed("hello"), embedder.embed("hello"))


def test_an_embedding_model_that_is_a_fifo_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "model.onnx")
    done, result = finishes_within(10, lambda: OnnxEmbedder(tmp_path / "model.onnx").load())
    assert done and isinstance(result, EmbeddingError), result


def test_read_artifact_is_bounded_by_its_cap(knn_artifact: Path) -> None:
    with pytest.raises(ArtifactError, match="over the artifact size limit"):
        read_artifact(knn_artifact, max_bytes=1024)
    _, arrays = read_artifact(knn_artifact)
    assert set(arrays) >= {"embeddings_", "scores_"}
