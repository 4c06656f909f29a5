"""Exploration with logged propensities, and off-policy estimates checked against the truth.

The replay uses the LLMRouter test set (500 real prompts x 9 models, every score known): the
logging router (zero-config centroid, profile auto, 30% exploration among its top 4) serves
each prompt and gets the true score and cost of what it served as feedback, through a real
SQLite log. ``routeiq eval --from-log`` then estimates other profiles from the log alone;
the truth is what those profiles choose on the same prompts, scored with the full table.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from routeiq_core import Candidate, ConfigError, Exploration, Router
from routeiq_core.cli import main
from routeiq_core.decisionlog import LogFilter, iter_log, open_log
from routeiq_core.decisionlog._offpolicy import evaluate_policy, target_choices

from .conftest import CANDIDATES, PROMPTS


def test_exploration_logs_propensities_under_a_cost_cap(embedder: Any) -> None:
    exploration = Exploration(0.5, top_k=3, max_cost_ratio=float("inf"), seed=1)
    router = Router(CANDIDATES, embedder=embedder, extensions=[exploration], log="memory://")
    decisions = [router.decide(p) for p in PROMPTS * 40]
    explored = [d for d in decisions if d.details.get("explored")]
    assert 0.2 < len(explored) / len(decisions) < 0.5  # epsilon 0.5 x (2 of 3 members are not the choice)
    for d in decisions:
        assert d.ranking[0].name == d.name  # the served candidate heads the fallback order
        if d.details.get("explored"):
            assert d.propensity == pytest.approx(0.5 / 3) and d.details["greedy"] != d.name
            assert "explored: served" in d.reason
        else:
            assert d.propensity == pytest.approx(1 - 0.5 + 0.5 / 3)
    assert router.log is not None and router.log.flush()
    logged = sorted({round(r.record.propensity, 9) for r in iter_log(router.log.log)})
    assert logged == [round(0.5 / 3, 9), round(1 - 0.5 + 0.5 / 3, 9)]
    capped = Exploration(1.0, top_k=3, max_cost_ratio=1.0, seed=0)
    free = [Candidate(name="f1", model="x/f1", free=True), Candidate(name="f2", model="x/f2", free=True),
            Candidate(name="paid", model="x/p", input_cost_per_mtok=5, output_cost_per_mtok=20)]
    router = Router(free, embedder=embedder, extensions=[capped], profile="eco")
    for d in (router.decide(p) for p in PROMPTS * 4):  # never explores to something pricier than the choice
        greedy = next(a for a in d.ranking if a.name == d.details.get("greedy", d.name))
        assert d.ranking[0].cost <= greedy.cost
        if greedy.cost == 0:
            assert d.name in ("f1", "f2")


@pytest.mark.parametrize("kwargs, message", [
    ({"epsilon": 1.5}, "epsilon must be a number in \\[0, 1\\]"),
    ({"epsilon": float("nan")}, "epsilon must be a number"),
    ({"top_k": 1}, "top_k must be an integer >= 2"),
    ({"max_cost_ratio": 0.5}, "max_cost_ratio must be >= 1"),
])
def test_bad_exploration_settings(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Exploration(**kwargs)


def test_exploration_from_config(embedder: Any) -> None:
    router = Router.from_config({"exploration": {"epsilon": 1.0, "top_k": 2, "max_cost_ratio": 100}},
                                candidates=CANDIDATES, embedder=embedder)
    assert all(d.propensity == 0.5 for d in (router.decide(p) for p in PROMPTS))
    with pytest.raises(ConfigError, match="exploration"):
        Router.from_config({"exploration": {"epsilon": -1}}, candidates=CANDIDATES, embedder=embedder)


def test_off_policy_needs_outcomes_and_embeddings(embedder: Any) -> None:
    router = Router(CANDIDATES, embedder=embedder, log="memory://")
    router.decide("hello")
    assert router.log is not None and router.log.flush()
    with pytest.raises(ConfigError, match="no logged decision has an outcome"):
        evaluate_policy(router, list(iter_log(router.log.log)))
    from routeiq_core.decisionlog import DecisionLogger

    blind = Router(CANDIDATES, embedder=embedder, log=DecisionLogger("memory://", store_embeddings=False))
    blind.feedback(blind.decide("hello"), score=1.0)
    assert blind.log is not None and blind.log.flush()
    with pytest.raises(ConfigError, match="no stored embedding"):
        evaluate_policy(blind, list(iter_log(blind.log.log)))


@pytest.mark.slow
def test_off_policy_estimates_match_the_truth_on_a_replay(tmp_path: Path, embedder: Any, shared_data: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    from routeiq_core.datasets import load_dataset
    from routeiq_core.evaluation.harness import candidates_for

    data_file = shared_data / "llmrouter" / "test.json"
    if not data_file.exists():
        pytest.skip(f"shared data not found at {data_file}")
    data = load_dataset(data_file)
    candidates = candidates_for(data)
    column = {c.name: data.models.index(c.model) for c in candidates}
    costs = data.cost_matrix()
    url = f"sqlite:///{tmp_path}/replay.db"
    logging_router = Router(candidates, embedder=embedder, log=url,
                            extensions=[Exploration(0.3, top_k=len(candidates), max_cost_ratio=math.inf, seed=0)])
    served = logging_router.decide_batch(list(data.prompts))
    for i, d in enumerate(served):
        logging_router.feedback(d, score=float(data.scores[i, column[d.name]]),
                                cost_usd=float(costs[i, column[d.name]]), served_by=d.name)
    logging_router.close()
    rows = list(iter_log(open_log(url), LogFilter(with_feedback=True)))
    assert len(rows) == len(data) == 500

    target = Router(candidates, embedder=embedder)
    # the replay rebuilds each logged query faithfully: the same router picks its logged greedy choice
    replayed = target_choices(target, rows)
    assert replayed == [d.details.get("greedy", d.name) for d in served]

    cand_file = tmp_path / "candidates.json"
    cand_file.write_text(json.dumps({"candidates": [c.model_dump(mode="json", exclude_none=True) for c in candidates]}))
    lines = []
    for profile in ("premium", "eco", "auto"):
        assert main(["eval", "--from-log", url, "--candidates", str(cand_file), "--profile", profile,
                     "--json"]) == 0
        est = json.loads(capsys.readouterr().out)
        truth = target.decide_batch(list(data.prompts), profile=profile)
        q_true = float(np.mean([data.scores[i, column[d.name]] for i, d in enumerate(truth)]))
        c_true = float(np.mean([costs[i, column[d.name]] for i, d in enumerate(truth)]))
        dr, snips, ips = est["quality"]["dr"], est["quality"]["snips"], est["quality"]["ips"]
        lines.append(f"{profile:<8} quality truth {q_true:.3f} | DR {dr['value']:.3f} [{dr['low']:.3f}, "
                     f"{dr['high']:.3f}] | SNIPS {snips['value']:.3f} | IPS {ips['value']:.3f} || cost truth "
                     f"${c_true * 1000:.4f}/1k | DR ${est['cost']['dr']['value'] * 1000:.4f}/1k "
                     f"(matched {est['matched']}/500)")
        assert dr["low"] <= q_true <= dr["high"], lines[-1]
        if est["matched"] >= 100:  # with enough overlap the point estimate is close as well
            assert abs(dr["value"] - q_true) < 0.05, lines[-1]
            assert est["warnings"] == [], lines[-1]
        else:  # with little, the interval and the warnings say so
            assert dr["high"] - dr["low"] >= 0.2, lines[-1]
            assert any("agrees with the served choice on only" in w for w in est["warnings"]), est["warnings"]
        assert abs(est["cost"]["dr"]["value"] - c_true) <= 0.15 * c_true, lines[-1]
    with capsys.disabled():
        print("\noff-policy replay (LLMRouter test, 500 prompts, logging: centroid/auto with 30% exploration "
              "over every candidate):")
        for line in lines:
            print("  " + line)


def test_overlap_warnings_name_the_thin_evidence() -> None:
    from types import SimpleNamespace

    from routeiq_core.decisionlog._offpolicy import overlap_warnings

    rows = [SimpleNamespace(record=SimpleNamespace(candidate="cheap")) for _ in range(95)] + \
        [SimpleNamespace(record=SimpleNamespace(candidate="strong")) for _ in range(5)]
    # the target picks "strong" everywhere: 5 of 100 agree, and "strong" served only 5 times
    warnings = overlap_warnings(rows, ["strong"] * 100, 5)  # type: ignore[arg-type]
    assert any("only 5 of 100 decisions (5%)" in w for w in warnings)
    assert any("picks strong on 100% of decisions, but it served only 5" in w for w in warnings)
    assert overlap_warnings(rows, ["cheap"] * 95 + ["strong"] * 5, 100) == []  # type: ignore[arg-type]
