"""Fixtures of the adversarial tests: the real embedder and a small trained artifact to damage."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from routeiq_core import Candidate, OnnxEmbedder, RoutingDataset, default_embedder

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network: LiteLLM's bundled price map

CANDIDATES = [
    Candidate(name="a", model="model-a", input_cost_per_mtok=0.1, output_cost_per_mtok=0.4),
    Candidate(name="b", model="model-b", input_cost_per_mtok=3.0, output_cost_per_mtok=15.0),
]
#: A string that must never appear in any warning, log, decision or metadata.
CANARY = "CANARY-7f3a9c-do-not-leak"


@pytest.fixture(scope="session")
def embedder() -> OnnxEmbedder:
    emb = default_embedder()
    emb.load()
    return emb


@pytest.fixture(scope="session")
def dataset(embedder: OnnxEmbedder) -> RoutingDataset:
    prompts = [f"question {i} about {t}" for i, t in enumerate(["math", "code", "chat", "law", "poetry"] * 8)]
    rng = np.random.default_rng(0)
    return RoutingDataset(ids=tuple(map(str, range(len(prompts)))), prompts=tuple(prompts),
                          models=("model-a", "model-b"), scores=rng.random((len(prompts), 2)),
                          embeddings=embedder.embed_many(prompts), embedding_model=embedder.model_id)


@pytest.fixture
def knn_artifact(tmp_path: Path, dataset: RoutingDataset) -> Path:
    from routeiq_strategies.knn import KNNStrategy

    out = tmp_path / "knn"
    KNNStrategy(k=3).fit(dataset).save(out)
    return out


def litellm_model_list() -> list[dict[str, Any]]:
    """Two mocked deployments of one group (no network: mock responses)."""
    return [
        {"model_name": "chat", "litellm_params": {"model": f"openai/{model}", "api_key": "sk-x",
                                                   "mock_response": dep_id}, "model_info": {"id": dep_id}}
        for dep_id, model in (("mini", "gpt-4o-mini"), ("4o", "gpt-4o"))
    ]


def finishes_within(seconds: float, fn: Callable[[], Any]) -> tuple[bool, Any]:
    """Run ``fn`` on a thread: (finished in time, its result or exception). A hang fails, not stalls, a test."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # reported to the test
            box["value"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    return not thread.is_alive(), box.get("value")
