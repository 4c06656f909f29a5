"""Experiments: deterministic sticky assignment, arms that change the decision, shadow arms, the report."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from routeiq_core import Candidate, ConfigError, OnnxEmbedder, Router, default_embedder
from routeiq_core.cli import main
from routeiq_core.decisionlog import iter_log
from routeiq_core.experiments import Experiments, assign
from routeiq_core.experiments._config import ArmConfig
from routeiq_core.experiments._report import compare

REPO = Path(__file__).resolve().parents[2]
CANDIDATES = [
    Candidate(name="mini", model="openai/gpt-4o-mini", input_cost_per_mtok=0.15, output_cost_per_mtok=0.6),
    Candidate(name="mid", model="openai/gpt-4.1", input_cost_per_mtok=2.0, output_cost_per_mtok=8.0),
    Candidate(name="big", model="openai/o3", input_cost_per_mtok=10.0, output_cost_per_mtok=40.0,
              capabilities=("reasoning", "tools", "code")),
]
EXPERIMENT = {"name": "largest-vs-centroid", "unit": "user", "arms": [
    {"name": "control", "weight": 1},
    {"name": "largest", "weight": 1, "strategy": "largest_llm"},
    {"name": "eco-shadow", "shadow": True, "profile": "eco"},
]}


@pytest.fixture(scope="module")
def embedder() -> OnnxEmbedder:
    emb = default_embedder()
    emb.load()
    return emb


def test_assignment_is_deterministic_sticky_and_weighted() -> None:
    arms = [ArmConfig(name="a", weight=9), ArmConfig(name="b", weight=1), ArmConfig(name="s", shadow=True)]
    picks = [assign("exp", f"user:{i}", arms).name for i in range(20_000)]
    assert picks == [assign("exp", f"user:{i}", arms).name for i in range(20_000)]  # sticky
    assert 0.085 < picks.count("b") / len(picks) < 0.115 and "s" not in picks  # weighted; shadows take none
    script = textwrap.dedent("""
        from routeiq_core.experiments import assign
        from routeiq_core.experiments._config import ArmConfig
        arms = [ArmConfig(name="a", weight=9), ArmConfig(name="b", weight=1), ArmConfig(name="s", shadow=True)]
        print(",".join(assign("exp", f"user:{i}", arms).name for i in range(200)))
    """)
    other = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert other.stdout.strip().split(",") == picks[:200]  # identical in another process


def test_arms_change_the_decision_and_the_decision_says_which(embedder: OnnxEmbedder) -> None:
    router = Router.from_config({"experiments": [EXPERIMENT]}, candidates=CANDIDATES, embedder=embedder,
                                log="memory://")
    by_arm: dict[str, set[str]] = {}
    for i in range(40):
        d = router.decide("hi there", metadata={"user": f"u{i}"})
        assert d.details["experiment"] == "largest-vs-centroid" and d.details["served"] is True
        by_arm.setdefault(d.details["arm"], set()).add(d.name)
        assert d.strategy == ("largest_llm" if d.details["arm"] == "largest" else "centroid")
    assert by_arm["largest"] == {"big"} and "big" not in by_arm["control"]
    again = router.decide("hi there", metadata={"user": "u7"})
    first = router.decide("hello", metadata={"user": "u7"})
    assert again.details["arm"] == first.details["arm"]  # a user stays in their arm
    missing = router.decide("hi there")  # no user: request-level assignment, said in the warnings
    assert any("no user in the request, assigned per request" in w for w in missing.warnings)


def test_shadow_arms_are_logged_never_served(embedder: OnnxEmbedder, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path}/exp.db"
    router = Router.from_config({"experiments": [EXPERIMENT]}, candidates=CANDIDATES, embedder=embedder, log=url)
    ext = next(e for e in router.extensions.extensions if isinstance(e, Experiments))
    prompts = ["Prove that there are infinitely many primes.", "hi", "Write a Python CSV parser."]
    for i in range(60):
        d = router.decide(prompts[i % 3], metadata={"user": f"u{i % 20}"})
        router.feedback(d, score=1.0 if d.name == "big" or i % 3 == 1 else 0.4, cost_usd=d.ranking[0].cost)
    assert ext.flush() and router.log is not None and router.log.flush()
    rows = list(iter_log(router.log.log))
    shadows = [r for r in rows if not r.record.served]
    assert len(shadows) == 60 and {r.record.arm for r in shadows} == {"eco-shadow"}
    assert all(r.record.shadow_of for r in shadows) and router.counters.get("shadow_decisions") == 60
    router.close()
    assert main(["experiments", "report", "--log", url, "--control", "control", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["largest-vs-centroid"]
    assert report["decisions"] == 60 and set(report["arms"]) == {"control", "largest"}
    assert "verdict" in report["arms"]["largest"]["versus_control"]
    shadow = report["shadows"]["eco-shadow"]
    assert shadow["paired_requests"] == 60 and 0 <= shadow["agreement"] <= 1
    assert main(["experiments", "report", "--log", url]) == 0
    assert "experiment largest-vs-centroid" in capsys.readouterr().out


@pytest.mark.parametrize("experiments, message", [
    ([{"name": "e", "arms": [{"name": "a", "weight": -1}]}], "greater than or equal to 0"),
    ([{"name": "e", "arms": [{"name": "a", "weight": 0}, {"name": "b", "weight": 0}]}], "weights sum to 0"),
    ([{"name": "e", "arms": [{"name": "a", "shadow": True}]}], "every arm is a shadow"),
    ([{"name": "e", "arms": [{"name": "a"}, {"name": "b", "artifact": "/nonexistent/artifact"}]}],
     "experiment 'e', arm 'b'"),
    ([{"name": "e", "arms": [{"name": "a"}, {"name": "b", "strategy": "no_such_strategy"}]}],
     "experiment 'e', arm 'b'"),
    ([{"name": "e", "arms": [{"name": "a", "candidates": ["nope"]}]}], "arm 'a': candidates \\['nope'\\]"),
    ([{"name": "e", "arms": [{"name": "a", "profile": "nope"}]}], "arm 'a': unknown profile 'nope'"),
    ([{"name": "e1", "arms": [{"name": "a"}]}, {"name": "e2", "arms": [{"name": "a"}]}],
     "experiments 'e1' and 'e2' overlap in time"),
    ([{"name": "e", "unit": "planet", "arms": [{"name": "a"}]}], "unit"),
])
def test_bad_experiments_are_clear_errors_at_start(experiments: list[Any], message: str,
                                                   embedder: OnnxEmbedder) -> None:
    with pytest.raises(ConfigError, match=message):
        Router.from_config({"experiments": experiments}, candidates=CANDIDATES, embedder=embedder)


def test_disjoint_windows_are_fine(embedder: OnnxEmbedder) -> None:
    exps = [{"name": "old", "stop": "2020-01-01T00:00:00Z", "arms": [{"name": "a", "strategy": "largest_llm"}]},
            {"name": "now", "start": "2020-01-01T00:00:00Z", "arms": [{"name": "b", "strategy": "smallest_llm"}]}]
    router = Router.from_config({"experiments": exps}, candidates=CANDIDATES, embedder=embedder)
    d = router.decide("hi", metadata={"user": "u"})
    assert d.details["experiment"] == "now" and d.name == "mini"


def _mmlu(shared_data: Path) -> tuple[np.ndarray, np.ndarray]:
    from routeiq_core.datasets import load_dataset

    folder = shared_data / "routellm" / "mmlu"
    if not folder.exists():
        pytest.skip(f"shared data not found at {folder}")
    data = load_dataset(folder)
    mix = data.models.index(next(m for m in data.models if "Mixtral" in m))
    gpt = data.models.index(next(m for m in data.models if "gpt-4" in m))
    keep = ~np.isnan(data.scores[:, mix]) & ~np.isnan(data.scores[:, gpt])
    return data.scores[keep, mix], data.scores[keep, gpt]


@pytest.mark.slow
def test_the_statistics_on_a_replay_of_mmlu(shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """MMLU's real per-prompt outcomes: control serves Mixtral; treatment serves GPT-4 on 24% of its
    requests (true difference: exactly 0.24 x the gap on this data, about 3 points). The report's
    sample size for that difference detects it in about 80% of runs; an A/A split almost never
    claims a difference."""
    mixtral, gpt4 = _mmlu(shared_data)
    p = 0.03 / float(gpt4.mean() - mixtral.mean())
    true_diff = p * float(gpt4.mean() - mixtral.mean())
    rng = np.random.default_rng(0)
    pilot = rng.integers(0, len(mixtral), 600)  # a first look at 600 per arm: "not enough data yet"
    control_pilot = mixtral[pilot]
    treat_pilot = np.where(rng.random(600) < p, gpt4[pilot], mixtral[pilot])
    n_needed = compare(treat_pilot, control_pilot).needed_per_arm
    var = float(control_pilot.var(ddof=1) + treat_pilot.var(ddof=1))
    n_true = int(np.ceil((1.959964 + 0.841621) ** 2 * var / true_diff**2))  # the report's formula at the true effect
    runs, detected, false_positive = 300, 0, 0
    for seed in range(runs):
        r = np.random.default_rng(seed + 1)
        a, b = r.integers(0, len(mixtral), n_true), r.integers(0, len(mixtral), n_true)
        treatment = np.where(r.random(n_true) < p, gpt4[a], mixtral[a])
        detected += compare(treatment, mixtral[b]).significant
        aa = r.integers(0, len(mixtral), n_true)
        false_positive += compare(mixtral[aa], mixtral[b]).significant
    power, fpr = detected / runs, false_positive / runs
    with capsys.disabled():
        print(f"\nMMLU replay: true difference {true_diff:.4f}; pilot says {n_needed} per arm for its observed "
              f"difference; at the true difference the formula says {n_true} per arm; detected in {power:.0%} of "
              f"{runs} runs; A/A false positives {fpr:.1%}")
    assert 0.7 <= power <= 0.92 and fpr <= 0.09


def test_artifact_and_centroid_arms(embedder: OnnxEmbedder, tmp_path: Path) -> None:
    """An arm can load a trained artifact (kNN trained here on real embeddings) or use its own
    centroid set; the decision of that arm is made with them."""
    from routeiq_core import RoutingDataset
    from routeiq_strategies.knn import KNNStrategy

    prompts = [f"Prove lemma {i} rigorously, step by step." for i in range(15)] + \
              [f"hello number {i}, how are you?" for i in range(15)]
    scores = np.array([[0.0, 0.0, 1.0]] * 15 + [[1.0, 1.0, 1.0]] * 15)
    data = RoutingDataset(ids=tuple(str(i) for i in range(30)), prompts=tuple(prompts),
                          models=("openai/gpt-4o-mini", "openai/gpt-4.1", "openai/o3"), scores=scores,
                          embeddings=embedder.embed_many(prompts), embedding_model=embedder.model_id)
    knn = KNNStrategy()
    knn.fit(data)
    knn.save(tmp_path / "knn")
    centroids = Path(__import__("routeiq_core").__file__).parent / "data" / "centroids"
    exp = {"name": "arms", "unit": "user", "arms": [{"name": "knn", "artifact": str(tmp_path / "knn")},
                                                    {"name": "own-centroids", "weight": 0.0001,
                                                     "centroids": str(centroids)}]}
    router = Router.from_config({"experiments": [exp]}, candidates=CANDIDATES, embedder=embedder)
    users = {assign("arms", f"user:u{i}", [ArmConfig(**a) for a in exp["arms"]]).name: f"u{i}" for i in range(30000)}
    knn_d = router.decide("Prove lemma 99 rigorously, step by step.", metadata={"user": users["knn"]})
    assert knn_d.details["arm"] == "knn" and knn_d.strategy == "knn" and knn_d.name == "big"
    own = router.decide("Prove lemma 99 rigorously, step by step.", metadata={"user": users["own-centroids"]})
    assert own.details["arm"] == "own-centroids" and own.strategy == "centroid" and own.category is not None
