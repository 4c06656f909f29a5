"""Fixtures of the decision-log tests: the real embedder and candidates of three price tiers."""

from __future__ import annotations

import pytest

from routeiq_core import Candidate, OnnxEmbedder, default_embedder

CANDIDATES = [
    Candidate(name="small", model="openai/gpt-4o-mini", input_cost_per_mtok=0.15, output_cost_per_mtok=0.6),
    Candidate(name="mid", model="openai/gpt-4.1", input_cost_per_mtok=2.0, output_cost_per_mtok=8.0),
    Candidate(name="big", model="openai/o3", input_cost_per_mtok=10.0, output_cost_per_mtok=40.0,
              capabilities=("reasoning", "tools", "code")),
]
PROMPTS = [
    "hi there, how are you?",
    "Prove rigorously that there are infinitely many primes, then generalise to primes of the form 4k+3.",
    "Write a Python function that parses a CSV file and returns the mean of every numeric column.",
    "What is the capital of France?",
    "Summarise the following meeting notes in three bullet points: budget approved, launch moved to May.",
]
#: Must never reach the log, a warning or an error unless prompt storage is on.
CANARY = "CANARY-log-5b1e77-never-stored"


@pytest.fixture(scope="session")
def embedder() -> OnnxEmbedder:
    emb = default_embedder()
    emb.load()
    return emb
