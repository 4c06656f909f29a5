"""Calibration to a target: the operating point rule, its bad inputs, and the artifact round trip."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from routeiq_core import Candidate, Router
from routeiq_core._profiles import select_many
from routeiq_core.cli import main
from routeiq_core.errors import ConfigError, RouteIQWarning
from routeiq_core.evaluation.calibration import (
    WEIGHTS,
    Calibration,
    CalibrationError,
    calibrate,
    operating_point,
)

from .test_cli import canonical_file
from .test_harness import synthetic


def _truth(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three models: the dearer, the better on average, each prompt's scores noisy."""
    rng = np.random.default_rng(seed)
    quality = (rng.random((n, 3)) < np.array([0.55, 0.7, 0.85])).astype(float)
    cost = np.tile([0.001, 0.004, 0.02], (n, 1))
    return quality, cost


def _realised(qhat: np.ndarray, chat: np.ndarray, quality: np.ndarray, cost: np.ndarray, w: float) -> tuple[float, float]:
    choice = select_many(qhat, chat, w)
    rows = np.arange(len(choice))
    return float(quality[rows, choice].mean()), float(cost[rows, choice].mean())


@pytest.mark.parametrize("share", [0.8, 0.9, 0.95, 1.0])
def test_the_cheapest_point_that_meets_a_quality_target(share: float) -> None:
    """A perfect predictor; with confidence 0 the pick meets the target and no weight is cheaper that does."""
    quality, cost = _truth()
    qhat, chat = quality + 0.0, cost.copy()
    cal = operating_point(qhat, chat, quality, cost, ["a", "b", "c"], "quality", share, confidence=0.0)
    best_q = quality.mean(axis=0).max()
    assert cal.share_of_best >= share - 1e-12 and cal.met
    assert cal.best_model == "c" and cal.quality == pytest.approx(cal.share_of_best * best_q)
    q, c = _realised(qhat, chat, quality, cost, cal.cost_weight)
    assert (q, c) == pytest.approx((cal.quality, cal.cost))
    for w in WEIGHTS:  # brute force: nothing cheaper meets it
        qw, cw = _realised(qhat, chat, quality, cost, float(w))
        if qw / best_q >= share - 1e-12:
            assert cw >= cal.cost - 1e-12
    low, high = cal.share_of_best_ci
    assert low <= cal.share_of_best <= high


def test_confidence_asks_for_a_margin() -> None:
    """With 90% confidence the pick's lower bound meets the target: it costs at least the point estimate's."""
    rng = np.random.default_rng(1)
    quality, cost = _truth(300, seed=1)
    qhat = quality * 0.6 + rng.random(quality.shape) * 0.4  # informative, not perfect
    point = operating_point(qhat, cost, quality, cost, ["a", "b", "c"], "quality", 0.9, confidence=0.0)
    sure = operating_point(qhat, cost, quality, cost, ["a", "b", "c"], "quality", 0.9, confidence=0.9)
    assert sure.cost >= point.cost and sure.share_of_best >= point.share_of_best
    assert sure.confidence == 0.9 and point.confidence == 0.0


def test_max_cost_and_strong_share_targets() -> None:
    quality, cost = _truth()
    cal = operating_point(quality, cost, quality, cost, ["a", "b", "c"], "max_cost", 0.005)
    assert cal.cost <= 0.005 and cal.cost_ci[1] <= 0.005 + 1e-12  # 90% sure: the upper bound too
    two_q, two_c = quality[:, [0, 2]], cost[:, [0, 2]]
    cal = operating_point(two_q, two_c, two_q, two_c, ["weak", "strong"], "strong_share", 0.3, strong=1,
                          confidence=0.0)
    assert cal.strong_share is not None and cal.strong_share <= 0.3


def test_an_unreachable_target_names_the_closest_point() -> None:
    quality, cost = _truth()
    always_cheap = np.tile([1.0, 0.0, 0.0], (len(quality), 1))
    with pytest.raises(CalibrationError, match=r"no operating point reaches 99\.0% .*with 90% confidence; the closest is \d+\.\d%"):
        operating_point(always_cheap, cost, quality, cost, ["a", "b", "c"], "quality", 0.99)
    with pytest.raises(CalibrationError, match=r"no operating point costs at most 0\.0001 .*the cheapest costs 0\.001"):
        operating_point(quality, cost, quality, cost, ["a", "b", "c"], "max_cost", 0.0001)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({}, "exactly one target"),
    ({"quality": 0.9, "max_cost": 1.0}, "exactly one target"),
    ({"quality": 1.5}, r"share in \[0, 1\]"),
    ({"quality": float("nan")}, "must be a number"),
    ({"max_cost": -1.0}, ">= 0 USD"),
    ({"max_cost": 1.0, "per": 0}, "number of requests >= 1"),
    ({"quality": 0.9, "folds": 1}, "folds"),
    ({"quality": 0.9, "confidence": 1.0}, "confidence"),
])
def test_bad_targets_are_clear_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        calibrate(synthetic(), "knn", **kwargs)


def test_data_that_cannot_calibrate() -> None:
    ds = synthetic()
    with pytest.raises(CalibrationError, match="at least two models"):
        calibrate(ds.select_models(["dear"]), "knn", quality=0.9)
    from dataclasses import replace

    with pytest.raises(CalibrationError, match="no costs and no price table"):
        calibrate(replace(ds, costs=None), "knn", quality=0.9)
    with pytest.raises(CalibrationError, match="two-model data set"):
        calibrate(ds, "knn", strong_share=0.5)


def test_a_stored_calibration_is_checked() -> None:
    quality, cost = _truth()
    good = operating_point(quality, cost, quality, cost, ["a", "b", "c"], "quality", 0.9).to_dict()
    assert Calibration.from_dict(json.loads(json.dumps(good))).to_dict() == good
    for bad in ({**good, "cost_weight": -1.0}, {**good, "target": "speed"}, {k: v for k, v in good.items() if k != "n"},
                {**good, "quality_ci": [0.5]}):
        with pytest.raises(ConfigError, match="calibration"):
            Calibration.from_dict(bad)


def test_calibrate_stores_the_weight_and_the_router_uses_it(tmp_path: Path, cache_dir: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """train -> calibrate -> Router.from_artifact: the auto profile routes at the calibrated weight;
    other candidates get a warning naming the differences; a tampered calibration is refused."""
    data = canonical_file(tmp_path / "d.jsonl", n=80, bad=False)
    art = tmp_path / "knn"
    assert main(["train", "--strategy", "knn", "--data", str(data), "--out", str(art), "--cache-dir",
                 str(cache_dir), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["calibrate", "--artifact", str(art), "--data", str(data), "--quality", "0.9", "--folds", "4",
                 "--cache-dir", str(cache_dir), "--no-progress", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["artifact"] == str(art) and printed["target"] == "quality"
    manifest = json.loads((art / "manifest.json").read_text())
    cal = manifest["calibration"]
    assert cal["target"] == "quality" and cal["value"] == 0.9 and cal["folds"] == 4 and cal["n"] == 80
    assert cal["share_of_best"] >= 0.9 and cal["confidence"] == 0.9
    candidates = [Candidate(name="small", model="small", input_cost_per_mtok=0.2, output_cost_per_mtok=0.2),
                  Candidate(name="large", model="large", input_cost_per_mtok=3.0, output_cost_per_mtok=3.0)]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RouteIQWarning)
        router = Router.from_artifact(art, candidates)
    auto = router.profiles["auto"]
    assert auto.cost_weight == pytest.approx(cal["cost_weight"]) and auto.description.startswith("calibrated:")
    assert router.decide("Explain prime numbers to a beginner.").profile == "auto"
    assert router.profiles["eco"].cost_weight == 0.5  # the other profiles are untouched
    # the caller's own definition of the profile wins
    own = Router.from_artifact(art, candidates, profiles={"auto": {"cost_weight": 0.3}})
    assert own.profiles["auto"].cost_weight == 0.3
    # other candidates than the calibrated models: a warning naming them
    other = [*candidates, Candidate(name="extra", model="x/other", input_cost_per_mtok=1.0, output_cost_per_mtok=1.0)]
    with pytest.warns(RouteIQWarning, match=r"calibrated on other candidates .*not calibrated: \['extra'\]"):
        Router.from_artifact(art, other)
    # a tampered calibration is refused, not used
    manifest["calibration"]["cost_weight"] = -2
    (art / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ConfigError, match="calibration"):
        Router.from_artifact(art, candidates)


def test_calibrate_cli_unreachable_target_exits_with_the_closest(tmp_path: Path, cache_dir: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    data = canonical_file(tmp_path / "d.jsonl", n=40, bad=False)
    art = tmp_path / "knn"
    assert main(["train", "--strategy", "knn", "--data", str(data), "--out", str(art), "--cache-dir",
                 str(cache_dir), "--no-progress"]) == 0
    capsys.readouterr()
    rc = main(["calibrate", "--artifact", str(art), "--data", str(data), "--max-cost", "0.00001", "--folds", "2",
               "--cache-dir", str(cache_dir), "--no-progress"])
    err = capsys.readouterr().err
    assert rc != 0 and "no operating point costs at most 1e-05" in err and "the cheapest costs 0.0002" in err
    assert "calibration" not in json.loads((art / "manifest.json").read_text())  # nothing written
