"""Shared fixtures of the core tests: real components only.

``router`` is a default :class:`Router` (built-in catalog, shipped centroids, the
real int8 MiniLM ONNX model) shared by the session: loading the model takes about
a second, deciding a few milliseconds. ``small`` is a hand-written candidate set
whose tiers, prices and capabilities the profile tests can reason about.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from routeiq_core import Candidate, OnnxEmbedder, Router, default_embedder

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def embedder() -> OnnxEmbedder:
    emb = default_embedder()
    emb.load()
    return emb


@pytest.fixture(scope="session")
def router(embedder: OnnxEmbedder) -> Router:
    return Router(embedder=embedder)


SMALL = (
    Candidate(name="local", model="ollama/llama3.2", free=True, tier=1, capabilities={"tools"}),
    Candidate(name="nano", model="vendor/nano", input_cost_per_mtok=0.05, output_cost_per_mtok=0.2, tier=1,
              capabilities={"tools"}),
    Candidate(name="mid", model="vendor/mid", input_cost_per_mtok=0.4, output_cost_per_mtok=1.6, tier=3,
              capabilities={"tools", "code"}),
    Candidate(name="thinker", model="vendor/thinker", input_cost_per_mtok=1.1, output_cost_per_mtok=4.4, tier=4,
              capabilities={"tools", "reasoning", "code"}),
    Candidate(name="frontier", model="vendor/frontier", input_cost_per_mtok=5.0, output_cost_per_mtok=25.0, tier=5,
              capabilities={"tools", "reasoning", "code", "vision"}),
)


@pytest.fixture(scope="session")
def small() -> tuple[Candidate, ...]:
    return SMALL


@pytest.fixture(scope="session")
def small_router(embedder: OnnxEmbedder) -> Router:
    return Router(SMALL, embedder=embedder)
