"""`routeiq eval --bootstrap N`: 95% intervals for hull lift, cost to match and quality."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from routeiq_core.cli import main

from .test_cli import canonical_file


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("boot-cache")


def _run(tmp_path: Path, cache: Path, *extra: str) -> dict:
    tmp_path.mkdir(parents=True, exist_ok=True)
    data = canonical_file(tmp_path / "d.jsonl", n=60, bad=False)
    out = tmp_path / "out"
    rc = main(["eval", "--data", str(data), "--split", "0.5", "--seed", "3", "--strategies", "centroid,knn",
               "--out", str(out), "--cache-dir", str(cache), "--no-progress", "--no-plot", *extra])
    assert rc == 0
    return json.loads((out / "results.json").read_text()) | {"_md": (out / "report.md").read_text()}


def test_intervals_are_reported_and_reproducible(tmp_path: Path, cache: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    first = _run(tmp_path / "a", cache, "--bootstrap", "100")
    printed = capsys.readouterr().out
    again = _run(tmp_path / "b", cache, "--bootstrap", "100")
    for s, t in zip(first["strategies"], again["strategies"]):
        assert s["hull_lift_ci"] == t["hull_lift_ci"] and s["quality_ci"] == t["quality_ci"]  # seeded
        low, high = s["quality_ci"]
        assert low <= s["quality"] <= high  # a mean's percentile interval holds it
        assert s["hull_lift_ci"][0] <= s["hull_lift_ci"][1]
        assert 0.0 <= s["reaches_best_share"] <= 1.0
        if s["reaches_best_share"] == 1.0:
            assert s["cost_to_match_best_pct_ci"][0] <= s["cost_to_match_best_pct_ci"][1]
        else:
            assert s["cost_to_match_best_pct_ci"] is None
    assert first["bootstrap"] == 100
    assert "95% bootstrap intervals over 100 resamples" in first["_md"]
    assert "hull lift +" in printed and " [" in printed


def test_no_bootstrap_no_intervals(tmp_path: Path, cache: Path) -> None:
    plain = _run(tmp_path, cache)
    assert all(s["hull_lift_ci"] is None and s["reaches_best_share"] is None for s in plain["strategies"])
    assert "bootstrap intervals" not in plain["_md"]


@pytest.mark.parametrize("bad", [-1, True, 10**6, 2.5])
def test_a_bad_resample_count_is_a_clear_error(bad: object) -> None:
    from routeiq_core.errors import ConfigError
    from routeiq_core.evaluation import evaluate

    with pytest.raises(ConfigError, match="bootstrap: expected a whole number of resamples from 0 to 10000"):
        evaluate(None, None, ["centroid"], bootstrap=bad)  # type: ignore[arg-type]
