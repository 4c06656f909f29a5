"""``routeiq train --from-log``: logged embeddings and partial feedback -> a working artifact."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from routeiq_core import Exploration, Router
from routeiq_core.cli import main
from routeiq_core.decisionlog import iter_log, open_log
from routeiq_core.decisionlog._training import dataset_from_log

from .conftest import CANDIDATES

QUESTIONS = [f"Question {i}: what is {i} times {i + 3}, and why?" for i in range(30)] + \
            [f"Prove that {i} plus {i} is even, step by step, rigorously." for i in range(30)]


@pytest.fixture
def log_url(tmp_path: Path, embedder: Any) -> str:
    """120 decisions with exploration; the outcome: 'big' answers proofs, 'small' fails them."""
    url = f"sqlite:///{tmp_path}/train.db"
    router = Router(CANDIDATES, embedder=embedder, log=url, extensions=[Exploration(0.6, top_k=3,
                                                                                  max_cost_ratio=1e9, seed=3)])
    for prompt in QUESTIONS * 2:
        d = router.decide(prompt)
        proof = prompt.startswith("Prove")
        router.feedback(d, score=1.0 if (d.name == "big" or not proof) else 0.0)
    router.close()
    return url


def test_the_data_set_has_one_known_score_per_prompt(log_url: str) -> None:
    data = dataset_from_log(iter_log(open_log(log_url)))
    assert len(data) == 120 and set(data.models) <= {"small", "mid", "big"}
    assert (np.isfinite(data.scores).sum(axis=1) == 1).all()  # partial feedback: only the served one
    assert data.embeddings is not None and data.embeddings.shape == (120, 384)
    assert data.embedding_model is not None and len(data.embedding_model) == 64


def test_train_knn_from_the_log_and_route_with_it(log_url: str, tmp_path: Path, embedder: Any,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "knn"
    assert main(["train", "--strategy", "knn", "--from-log", log_url, "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["prompts"] == 120 and summary["strategy"] == "knn"
    router = Router.from_artifact(out, CANDIDATES, embedder=embedder)
    d = router.decide("Prove that 7 plus 7 is even, step by step, rigorously.")
    assert d.strategy == "knn" and d.name == "big"  # learned from the outcomes: only big answered proofs
    assert router.decide("Question 4: what is 4 times 7, and why?").name != "big"


@pytest.mark.parametrize("strategy, message", [
    ("elo", "cannot train on the decision log: it compares several models"),
    ("mf", "cannot train on the decision log"),
    ("centroid", "has nothing to train"),
    ("thompson", "learns online from Router.feedback"),
])
def test_strategies_that_cannot_learn_from_partial_feedback_are_refused(
        strategy: str, message: str, log_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--strategy", strategy, "--from-log", log_url, "--out", str(tmp_path / "x")]) == 2
    assert message in capsys.readouterr().err


def test_a_log_without_embeddings_or_outcomes(tmp_path: Path, embedder: Any,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from routeiq_core.decisionlog import DecisionLogger

    url = f"sqlite:///{tmp_path}/blind.db"
    router = Router(CANDIDATES, embedder=embedder, log=DecisionLogger(url, store_embeddings=False))
    router.feedback(router.decide("hello"), success=True)
    router.decide("no feedback for this one")
    router.close()
    assert main(["train", "--strategy", "knn", "--from-log", url, "--out", str(tmp_path / "x")]) == 2
    assert "no stored embedding: log_embeddings was off" in capsys.readouterr().err
    assert main(["train", "--strategy", "knn", "--out", str(tmp_path / "x")]) == 2
    assert "exactly one of --data FILE and --from-log URL" in capsys.readouterr().err
