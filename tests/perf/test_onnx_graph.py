"""Load-time graph rewrite that keeps the int8 word-embedding table int8 (memory)."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from google.protobuf.message import DecodeError

from routeiq_core._embedding import default_model_path
from routeiq_core._onnx_graph import gather_before_dequantize


@pytest.fixture(scope="module")
def model_bytes() -> bytes:
    return default_model_path().read_bytes()


def test_rewrite_applies_to_the_pinned_model_once(model_bytes: bytes) -> None:
    """The pinned model's dequantised lookup is rewritten; nothing is left to rewrite after that."""
    rewritten = gather_before_dequantize(model_bytes)
    assert rewritten is not None
    assert gather_before_dequantize(rewritten) is None


def test_rewritten_model_gives_bitwise_identical_outputs(model_bytes: bytes) -> None:
    """Hidden states of the rewritten graph equal the original's exactly, for 4 and 256 tokens."""
    rewritten = gather_before_dequantize(model_bytes)
    assert rewritten is not None
    original = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    changed = ort.InferenceSession(rewritten, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(7)
    for length in (4, 256):
        body = rng.integers(1000, 30522, length - 2)
        ids = np.concatenate([[101], body, [102]])[None].astype(np.int64)
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids),
                "token_type_ids": np.zeros_like(ids)}
        assert np.array_equal(original.run(None, feed)[0], changed.run(None, feed)[0])


def test_non_model_bytes_raise_for_the_caller_to_fall_back() -> None:
    """Bytes that are not a protobuf model raise; OnnxEmbedder then lets onnxruntime report it."""
    with pytest.raises(DecodeError):
        gather_before_dequantize(b"\xff\xff\xff not a model")
