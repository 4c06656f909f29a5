"""The installed example plugin (plugins_example/) is listed and usable by name like a built-in."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

pytest.importorskip(
    "routeiq_example", reason="the example plugin is not installed: pip install -e ./plugins_example"
)

import numpy as np

from routeiq_core import (
    Candidate,
    ConfigError,
    Router,
    RoutingDataset,
    StrategyNotFoundError,
    default_registry,
)
from routeiq_core._embedding_cache import embed_dataset
from routeiq_core.cli import main
from routeiq_core.testing import make_toy_dataset, toy_candidates, toy_queries


def test_listed_with_its_distribution(capsys: pytest.CaptureFixture[str]) -> None:
    """`routeiq strategies list --json` shows example.cluster and example.ridge from routeiq-example."""
    assert main(["strategies", "list", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    for name in ("example.cluster", "example.ridge"):
        assert rows[name]["distribution"] == "routeiq-example" and rows[name]["plugin"] == "example"
        assert rows[name]["needs_training"] is True
    assert main(["plugins", "--json"]) == 0
    plugin = next(p for p in json.loads(capsys.readouterr().out) if p["name"] == "example")
    assert plugin["hooks"] == ["routeiq_register_strategies"] and plugin["status"] == "loaded"


def test_usable_by_name_through_registry_and_router(tmp_path: Path) -> None:
    """A strategy created by its registered name trains, predicts and routes real prompts through a Router."""
    data = make_toy_dataset(n_prompts=90, seed=5)
    strategy = default_registry().create("example.cluster", n_clusters=3).fit(data)
    estimate = strategy.predict(toy_queries(data, [0])[0], toy_candidates(data))
    assert estimate.details["cluster_size"] == 30 and estimate.details["cluster_task"].startswith("topic")
    assert estimate.confidence == pytest.approx(30 / 35)  # size / (size + shrinkage 5)
    # A Router takes it once it is trained on prompts embedded with the router's own model.
    prompts = ["hi", "thanks!", "good morning", "hello there", "Prove that sqrt(2) is irrational.",
               "Derive the quadratic formula.", "Prove there are infinitely many primes.", "Show that e is irrational."]
    real = RoutingDataset(ids=tuple(map(str, range(8))), prompts=tuple(prompts), models=("small", "large"),
                          scores=np.array([[1.0, 1.0]] * 4 + [[0.0, 1.0]] * 4))
    trained = default_registry().create("example.cluster", n_clusters=2, shrinkage=0.0)
    trained.fit(embed_dataset(real, cache_dir=tmp_path, progress=False))
    router = Router([Candidate(name="small", input_cost_per_mtok=0.1, output_cost_per_mtok=0.4),
                     Candidate(name="large", input_cost_per_mtok=3.0, output_cost_per_mtok=15.0)], strategy=trained)
    decision = router.decide("Prove that the cube root of 2 is irrational.")
    assert decision.strategy == "example.cluster" and not decision.fallback
    assert decision.model == "large" and router.decide("hey, good evening").model == "small"
    # By name, the Router looks it up in the registry and asks for training first.
    with pytest.raises(ConfigError, match="'example.cluster' needs training"):
        Router(toy_candidates(data), strategy="example.cluster")
    with pytest.raises(StrategyNotFoundError, match="did you mean 'example.cluster'"):
        Router(toy_candidates(data), strategy="example.clustr")


def test_train_cli_and_from_artifact_by_name(tmp_path: Path, shared_data: Path) -> None:
    """`routeiq train --strategy example.ridge` writes an artifact that Router.from_artifact loads by name."""
    data = shared_data / "routerbench" / "mbpp_train.csv"
    if not data.is_file():
        pytest.skip(f"shared RouterBench data not found at {shared_data}; set ROUTEIQ_SHARED_DATA")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["train", "--strategy", "example.ridge", "--data", str(data), "--out", str(tmp_path / "ridge"),
                     "--limit", "40", "--cache-dir", str(tmp_path / "cache"), "--no-progress", "--json"])
    assert code == 0
    summary = json.loads(out.getvalue())
    router = Router.from_artifact(tmp_path / "ridge", candidates=[{"name": m} for m in summary["models"]])
    assert router.strategy.name == "example.ridge"
    assert router.decide("def add(a, b): return a + b  # write tests for this").model in summary["models"]
