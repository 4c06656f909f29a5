"""`routeiq train --tune`: a budgeted, cross-validated search recorded in the artifact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from routeiq_core import Candidate, Router
from routeiq_core.cli import main
from routeiq_core.datasets import load_dataset
from routeiq_core.errors import ConfigError
from routeiq_core.evaluation.tuning import tune

from .test_cli import canonical_file

CANDIDATES = [Candidate(name="small", model="small", input_cost_per_mtok=0.2, output_cost_per_mtok=0.2),
              Candidate(name="large", model="large", input_cost_per_mtok=3.0, output_cost_per_mtok=3.0)]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return canonical_file(tmp_path_factory.mktemp("tune") / "d.jsonl", n=120, bad=False)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tune-cache")


def test_tune_records_every_trial_and_trains_the_best(data: Path, cache: Path, tmp_path: Path) -> None:
    out = tmp_path / "knn"
    assert main(["train", "--strategy", "knn", "--data", str(data), "--out", str(out), "--tune", "--budget", "4",
                 "--cache-dir", str(cache), "--no-progress", "--json"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    tuning = manifest["tuning"]
    assert tuning["budget"] == 4 and len(tuning["trials"]) == 4 and tuning["folds"] == 3
    assert tuning["trials"][0]["params"] == {}  # the defaults are always tried first
    best = max(tuning["trials"], key=lambda t: t["hull_lift"])
    assert best["hull_lift"] == max(t["hull_lift"] for t in tuning["trials"])
    for key, value in tuning["best"].items():
        assert manifest["params"][key] == value  # the artifact is trained with the winner
    assert Router.from_artifact(out, CANDIDATES).decide("Explain prime numbers to a beginner.").strategy == "knn"


def test_the_search_is_seeded(data: Path, cache: Path) -> None:
    from routeiq_core._embedding_cache import embed_dataset

    dataset = embed_dataset(load_dataset(data), cache_dir=cache, progress=False)
    first = tune(dataset, "knn", budget=3, seed=1)
    again = tune(dataset, "knn", budget=3, seed=1)
    assert [t.params for t in first.trials] == [t.params for t in again.trials]
    assert [t.hull_lift for t in first.trials] == [t.hull_lift for t in again.trials]
    fixed = tune(dataset, "knn", budget=3, seed=1, params={"k": 7})
    assert all(t.params["k"] == 7 for t in fixed.trials[1:]) and fixed.trials[0].params == {"k": 7}


def test_a_stack_tunes_its_bases(data: Path, cache: Path, tmp_path: Path) -> None:
    out = tmp_path / "stack"
    assert main(["train", "--strategy", "stack", "--data", str(data), "--out", str(out), "--tune", "--budget", "2",
                 "--param", 'bases=["knn","svm"]', "--cache-dir", str(cache), "--no-progress", "--json"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["tuning"]["bases"]) == {"knn", "svm"}
    assert set(manifest["params"]["base_params"]) == {"knn", "svm"}
    router = Router.from_artifact(out, CANDIDATES)
    decision = router.decide("Explain prime numbers to a beginner.")
    assert decision.strategy == "stack" and 0.0 <= decision.ranking[0].quality <= 1.0


@pytest.mark.parametrize("budget", ["0", "-3", "1000"])
def test_a_bad_budget_is_a_clear_error(data: Path, cache: Path, tmp_path: Path, budget: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["train", "--strategy", "knn", "--data", str(data), "--out", str(tmp_path / "x"), "--tune",
               "--budget", budget, "--cache-dir", str(cache), "--no-progress"])
    err = capsys.readouterr().err
    assert rc != 0 and "--tune budget: expected a number of settings to try from 1 to 200" in err
    assert not (tmp_path / "x").exists()


def test_nothing_to_tune_and_log_training_are_refused(data: Path, cache: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from routeiq_core._embedding_cache import embed_dataset

    dataset = embed_dataset(load_dataset(data), cache_dir=cache, progress=False)
    with pytest.raises(ConfigError, match="no tuning space"):
        tune(dataset, "svm", budget=2, params={"c": 1.0})
    rc = main(["train", "--strategy", "knn", "--from-log", f"sqlite:///{tmp_path / 'log.db'}", "--out",
               str(tmp_path / "y"), "--tune"])
    assert rc != 0 and "--tune needs a full data set" in capsys.readouterr().err
