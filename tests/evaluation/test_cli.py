"""`routeiq eval` end to end: small files written here, and slices of the real shared data sets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from routeiq_core.cli import main

TOPICS = ["tax law", "sorting algorithms", "baking", "poetry", "orbital mechanics", "SQL", "gardening",
          "chess", "probability", "French grammar"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli-cache")


def canonical_file(path: Path, n: int = 30, bad: bool = True) -> Path:
    rows = []
    for i in range(n):
        rows.append(json.dumps({
            "id": f"q{i}", "prompt": f"Explain {TOPICS[i % len(TOPICS)]} to a beginner, part {i}.",
            "task": "easy" if i % 2 else "hard",
            "scores": {"small": float(i % 2), "large": float(i % 5 != 0)},
            "costs": {"small": 0.0002, "large": 0.003},
        }))
    if bad:
        rows.insert(4, '{"id": "broken", "prompt": "x", "scores": {"small": 7}}')
    path.write_text("\n".join(rows) + "\n")
    return path


def test_eval_zero_config_centroid_writes_every_report(tmp_path: Path, cache: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """--strategies centroid runs without training; the bad row is named by file:line; all outputs exist."""
    data = canonical_file(tmp_path / "d.jsonl")
    out = tmp_path / "out"
    rc = main(["eval", "--data", str(data), "--split", "0.5", "--seed", "1", "--strategies", "centroid",
               "--out", str(out), "--cache-dir", str(cache), "--no-progress"])
    captured = capsys.readouterr()
    assert rc == 0
    assert f"skipped {data}:5: scores['small']: score 7.0 is outside [0, 1]" in captured.err
    assert "centroid" in captured.out and "hull lift" in captured.out
    assert {p.name for p in out.iterdir()} == {"report.md", "results.json", "cost_quality.png", "reliability.png",
                                               "report.html"}
    result = json.loads((out / "results.json").read_text())
    assert result["n_train"] + result["n_test"] == 30
    centroid = result["strategies"][0]
    assert centroid["name"] == "centroid" and centroid["trained"] is False
    assert result["strong_model"] == "large" and centroid["routellm"]["apgr"] is not None
    assert set(result["tasks"]) == {"easy", "hard"}


def test_eval_errors_exit_2_with_one_line(tmp_path: Path, cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A bad row with --on-error raise, or an unknown strategy, is one error line and exit status 2."""
    data = canonical_file(tmp_path / "d.jsonl")
    rc = main(["eval", "--data", str(data), "--on-error", "raise", "--out", str(tmp_path / "o"),
               "--cache-dir", str(cache), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and f"routeiq: error: {data}:5:" in err
    rc = main(["eval", "--data", str(canonical_file(tmp_path / "ok.jsonl", bad=False)), "--strategies", "nope",
               "--out", str(tmp_path / "o"), "--cache-dir", str(cache), "--no-progress"])
    assert rc == 2 and "routeiq: error:" in capsys.readouterr().err


def _registered(*names: str) -> None:
    from routeiq_core._registry import default_registry

    missing = [n for n in names if n not in default_registry()]
    if missing:
        pytest.skip(f"strategies not registered yet: {missing}")


@pytest.mark.slow
def test_eval_real_llmrouter_slice(data_dir: Path, tmp_path: Path, cache: Path) -> None:
    """A slice of the shared LLMRouter split: knn trains and is measured against all 9 models."""
    _registered("knn")
    out = tmp_path / "llmrouter"
    rc = main(["eval", "--data", str(data_dir / "llmrouter" / "train.json"),
               "--test", str(data_dir / "llmrouter" / "test.json"), "--limit-train", "150", "--limit-test", "60",
               "--strategies", "knn,centroid", "--out", str(out), "--cache-dir", str(cache), "--no-progress"])
    assert rc == 0
    result = json.loads((out / "results.json").read_text())
    assert (result["n_train"], result["n_test"], len(result["models"])) == (150, 60, 9)
    knn = next(s for s in result["strategies"] if s["name"] == "knn")
    assert knn["error"] is None and knn["trained"] is True
    assert abs(sum(knn["distribution"].values()) - 1) < 1e-9
    assert result["cost_unit"] == "USD per prompt, price x token estimate"
    assert len(result["tasks"]) > 3 and set(knn["per_task"]) == set(result["tasks"])
    assert result["strong_model"] is None


@pytest.mark.slow
def test_eval_real_gsm8k_slice_reports_apgr(data_dir: Path, tmp_path: Path, cache: Path) -> None:
    """A slice of RouteLLM GSM8K: the two-model metrics are computed for trained strategies."""
    _registered("knn", "mlp")
    out = tmp_path / "gsm8k"
    rc = main(["eval", "--data", str(data_dir / "routellm" / "gsm8k" / "gsm8k_responses.csv"),
               "--limit-train", "200", "--limit-test", "100", "--strategies", "knn,mlp", "--out", str(out),
               "--cache-dir", str(cache), "--no-progress", "--no-plot"])
    assert rc == 0
    result = json.loads((out / "results.json").read_text())
    assert result["strong_model"] == "gpt-4-1106-preview"
    assert result["cost_unit"] == "share of strong-model calls"
    for s in result["strategies"]:
        assert 0 <= s["routellm"]["cpt50"] <= 100 and s["routellm"]["apgr"] is not None
    assert not (out / "cost_quality.png").exists()
