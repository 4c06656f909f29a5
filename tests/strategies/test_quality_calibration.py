"""Calibrated quality: per-model isotonic / Platt maps fitted out of fold, stored and checked in the artifact."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from routeiq_core.errors import ArtifactError, ConfigError
from routeiq_core.evaluation.metrics import calibration_error
from routeiq_strategies._calibrated import GRID, apply_maps, isotonic_map, platt_map
from routeiq_strategies._per_model import MIN_CALIBRATION_PROMPTS
from routeiq_strategies.knn import KNNStrategy
from routeiq_strategies.svm import SVMStrategy


def test_isotonic_map_recovers_a_monotone_truth() -> None:
    rng = np.random.default_rng(0)
    score = rng.random(20_000)
    quality = (rng.random(20_000) < score**2).astype(float)
    fitted = isotonic_map(score, quality)
    assert fitted.shape == GRID.shape and np.all(np.diff(fitted) >= 0) and fitted.min() >= 0 and fitted.max() <= 1
    assert np.abs(fitted - GRID**2)[5:-5].max() < 0.06


def test_platt_map_recovers_a_logistic_truth_and_stays_finite() -> None:
    rng = np.random.default_rng(1)
    score = rng.uniform(0.02, 0.98, 20_000)
    truth = 1 / (1 + np.exp(-(2.0 * np.log(score / (1 - score)) - 0.5)))
    quality = (rng.random(20_000) < truth).astype(float)
    fitted = platt_map(score, quality)
    expected = 1 / (1 + np.exp(-(2.0 * np.log(np.clip(GRID, 1e-4, 1 - 1e-4) / (1 - np.clip(GRID, 1e-4, 1 - 1e-4)))
                                   - 0.5)))
    assert np.all(np.diff(fitted) >= 0) and np.abs(fitted - expected)[2:-2].max() < 0.03
    # separable: a score of 0.6 and above always right, below never: finite, monotone, no warning
    with np.errstate(all="raise"):
        step = platt_map(np.linspace(0, 1, 500), (np.linspace(0, 1, 500) >= 0.6).astype(float))
    assert np.all(np.isfinite(step)) and np.all(np.diff(step) >= 0) and step[-1] > 0.9 and step[0] < 0.1


def test_a_map_never_reorders_one_models_prompts() -> None:
    rng = np.random.default_rng(2)
    raw = rng.random((50, 3))
    maps = np.stack([platt_map(rng.random(300), rng.random(300) < 0.5) for _ in range(3)], axis=1)
    out = apply_maps(raw, GRID, maps)
    for j in range(3):
        order = np.argsort(raw[:, j])
        assert np.all(np.diff(out[order, j]) >= -1e-12)


def test_fitting_stores_the_maps_and_they_round_trip(make_toy, tmp_path: Path) -> None:
    data = make_toy(n=600)
    knn = KNNStrategy(k=10).fit(data.dataset)
    assert knn.quality_calibration_ == "platt"  # auto: Platt below 10,000 prompts
    assert knn.quality_map_.shape == (len(GRID), 3) and np.all(np.diff(knn.quality_map_, axis=0) >= -1e-12)
    iso = KNNStrategy(k=10, quality_calibration="isotonic").fit(data.dataset)
    assert iso.quality_calibration_ == "isotonic"
    raw = KNNStrategy(k=10, quality_calibration="none").fit(data.dataset)
    assert not hasattr(raw, "quality_map_")
    small = KNNStrategy(k=10).fit(make_toy(n=MIN_CALIBRATION_PROMPTS - 1).dataset)
    assert not hasattr(small, "quality_map_")  # too few held-out points: the raw scores
    query = data.query(0)
    assert knn.predict(query, data.candidates).quality != raw.predict(query, data.candidates).quality
    knn.save(tmp_path / "knn")
    loaded = KNNStrategy.load(tmp_path / "knn")
    assert loaded.predict(query, data.candidates).quality == knn.predict(query, data.candidates).quality


@pytest.mark.parametrize("tamper", ["non_monotone", "above_one", "shape"])
def test_a_tampered_map_is_refused(make_toy, tmp_path: Path, tamper: str) -> None:
    knn = KNNStrategy(k=10).fit(make_toy(n=600).dataset)
    if tamper == "non_monotone":
        knn.quality_map_ = knn.quality_map_[::-1].copy()
        knn.quality_map_[0, 0] = 1.0
    elif tamper == "above_one":
        knn.quality_map_ = knn.quality_map_ + 0.5
    else:
        knn.quality_map_ = knn.quality_map_[:, :2].copy()
    knn.save(tmp_path / "knn")
    with pytest.raises(ArtifactError, match="quality|models"):
        KNNStrategy.load(tmp_path / "knn")


def test_bad_calibration_parameters() -> None:
    with pytest.raises(ConfigError, match="quality_calibration"):
        KNNStrategy(quality_calibration="beta")
    with pytest.raises(ConfigError, match="calibration_folds"):
        KNNStrategy(calibration_folds=1)


@pytest.mark.parametrize("cls", [KNNStrategy, SVMStrategy])
def test_calibration_lowers_the_error_on_held_out_real_data(llmrouter, cls: type) -> None:
    """On LLMRouter's own test file, the calibrated strategy's expected calibration error is lower
    (docs/evaluation/results.md has every strategy on every shared set, including where it is not)."""
    from routeiq_core import Query

    test = llmrouter.test
    queries = [Query(text=p, embedding=test.embeddings[i]) for i, p in enumerate(test.prompts)]
    candidates = llmrouter.candidates
    errors = {}
    for method in ("none", "auto"):
        strategy = cls(quality_calibration=method).fit(llmrouter.train)
        est = strategy.predict_batch(queries, candidates)
        predicted = np.array([[e.quality[c.name] for c in candidates] for e in est])
        observed = test.scores[:, [list(test.models).index(c.model) for c in candidates]]
        errors[method] = calibration_error(predicted, observed)[0]
    assert errors["auto"] < errors["none"], json.dumps(errors)
