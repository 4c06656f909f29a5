"""The evaluation harness: baselines, curves and metrics computed from the real choice rule."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from routeiq_core import BaseStrategy, Candidate, Estimate, Query, RoutingDataset, StrategyTags
from routeiq_core.errors import RouteIQWarning
from routeiq_core.evaluation import evaluate, write_report

TOPICS = ["capital cities", "prime numbers", "sorting in Python", "baking bread", "the French revolution",
          "black holes", "tax forms", "haiku about rain", "SQL joins", "photosynthesis", "chess openings",
          "the Pythagorean theorem"]


def synthetic(n: int = 24, seed: int = 3) -> RoutingDataset:
    """Three models: cheap is right on even prompts, mid on a third of them, dear on 3 in 4."""
    rng = np.random.default_rng(seed)
    prompts = tuple(f"Question {i}: explain {TOPICS[i % len(TOPICS)]} briefly." for i in range(n))
    i = np.arange(n)
    scores = np.stack([(i % 2 == 0), (i % 3 == 0), (i % 4 != 3)], axis=1).astype(float)
    costs = np.tile([0.001, 0.004, 0.02], (n, 1)) * (1 + 0.1 * rng.random((n, 1)))
    return RoutingDataset(ids=tuple(f"q{k}" for k in i), prompts=prompts, models=("cheap", "mid", "dear"),
                          scores=scores, costs=costs, tasks=tuple("even" if k % 2 == 0 else "odd" for k in i),
                          name="synthetic")


class Memorize(BaseStrategy):
    """Knows the training scores by prompt text: a perfect predictor when train == test."""

    name = "memorize"
    tags = StrategyTags(requires_fit=True, needs_embedding=True)

    def _fit(self, dataset: RoutingDataset) -> None:
        self.texts_ = list(dataset.prompts)
        self.scores_ = np.nan_to_num(dataset.scores)
        self.models_ = list(dataset.models)

    def _predict(self, query: Query, candidates: Sequence[Candidate]) -> Estimate:
        row = self.scores_[self.texts_.index(query.text)]
        return Estimate(quality={c.name: float(row[self.models_.index(c.model)]) for c in candidates})


class Constant(BaseStrategy):
    """Always predicts the same qualities (no training)."""

    name = "constant"
    tags = StrategyTags(requires_fit=False, needs_embedding=False)

    def _predict(self, query: Query, candidates: Sequence[Candidate]) -> Estimate:
        prior = {"cheap": 0.5, "mid": 0.1, "dear": 0.9}
        return Estimate(quality={c.name: prior[c.model] for c in candidates})


class Broken(Constant):
    name = "broken"

    def _predict(self, query: Query, candidates: Sequence[Candidate]) -> Estimate:
        raise RuntimeError("boom")


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("embedding-cache")


def test_perfect_predictor_reaches_the_oracle_and_lifts_the_hull(cache: Path) -> None:
    """With perfect predictions the premium operating point is the oracle; the curve lies above the hull."""
    ds = synthetic()
    res = evaluate(ds, ds, [Memorize, Constant], profile="premium", cache_dir=cache, progress=False)
    q, c = ds.scores, ds.costs
    assert [b.name for b in res.baselines] == ["cheap", "dear", "mid", "random", "oracle"]  # name order
    for j, model in enumerate(ds.models):
        assert res.baseline(model).quality == pytest.approx(q[:, j].mean())
        assert res.baseline(model).cost == pytest.approx(c[:, j].mean())
    assert res.best_model == "dear"
    mem, const = res.strategy("memorize"), res.strategy("constant")
    assert mem.quality == pytest.approx(res.baseline("oracle").quality)
    assert mem.quality == pytest.approx(q.max(axis=1).mean())
    assert mem.hull_lift > 0.1
    assert mem.cost_to_match_best_pct is not None and mem.cost_to_match_best_pct < 60
    assert mem.quality_at_best_cost == pytest.approx(q.max(axis=1).mean())
    # a constant ranking is a single model at every cost weight: never above the hull
    assert const.quality == pytest.approx(res.baseline("dear").quality)
    assert const.hull_lift == pytest.approx(0.0, abs=1e-12)
    assert set(np.round(const.curve_quality, 9)) <= {round(res.baseline(m).quality, 9) for m in ds.models}
    assert const.distribution == {"cheap": 0.0, "mid": 0.0, "dear": 1.0}
    assert not const.trained and mem.trained
    assert set(res.tasks) == {"even", "odd"}
    assert mem.per_task["even"]["quality"] == pytest.approx(1.0)
    assert res.strong_model is None  # three models: no RouteLLM metrics


def test_two_model_routellm_metrics_and_determinism(cache: Path) -> None:
    """On a strong/weak pair the RouteLLM metrics are reported; the same seed gives the same numbers."""
    ds = synthetic().select_models(["cheap", "dear"])
    train, test = ds.split(0.5, seed=1)
    a = evaluate(ds, ds, [Memorize], seed=5, cache_dir=cache, progress=False)
    b = evaluate(ds, ds, [Memorize], seed=5, cache_dir=cache, progress=False)
    assert a.strong_model == "dear" and a.weak_model == "cheap"
    mem = a.strategy("memorize")
    # perfect scores are +1 on the 6 prompts only the strong model gets right, 0 elsewhere: the curve is
    # (0%, .5), (25%, .75), (100%, .75) -> AUC .71875, APGR (.71875 - .5) / (.75 - .5) = .875
    assert mem.routellm is not None and mem.routellm.apgr == pytest.approx(0.875)
    assert mem.routellm.cpt50 == pytest.approx(12.5)
    assert "random" in a.routellm_baselines
    da, db = a.to_dict(), b.to_dict()
    da.pop("timings"), db.pop("timings")
    for s in da["strategies"] + db["strategies"]:
        s.pop("fit_seconds"), s.pop("predict_seconds")
    assert da == db
    # a real split runs too (train and test differ)
    assert evaluate(train, test, [Constant], cache_dir=cache, progress=False).n_test == len(test)


def test_a_failing_strategy_is_reported_and_the_others_still_run(cache: Path) -> None:
    """A strategy that raises gets an error entry and a warning; the rest of the evaluation completes."""
    ds = synthetic()
    with pytest.warns(RouteIQWarning, match="strategy 'broken' failed: RuntimeError: boom"):
        res = evaluate(ds, ds, [Broken, Constant], cache_dir=cache, progress=False)
    assert res.strategy("broken").error == "RuntimeError: boom"
    assert res.strategy("constant").error is None


def test_rows_with_unknown_scores_are_left_out_with_a_note(cache: Path) -> None:
    """Test prompts lacking some model's score are not measured, and the report says how many."""
    ds = synthetic()
    scores = ds.scores.copy()
    scores[:3, 1] = np.nan
    holes = RoutingDataset(ids=ds.ids, prompts=ds.prompts, models=ds.models, scores=scores, costs=ds.costs,
                           name="holes")
    res = evaluate(ds, holes, [Constant], cache_dir=cache, progress=False)
    assert res.n_test == len(ds) - 3
    assert any("3 of 24 test prompts" in n for n in res.notes)


def test_report_files(cache: Path, tmp_path: Path) -> None:
    """The report writes Markdown with the strategy table, JSON with every number, a PNG and an HTML page."""
    import json

    ds = synthetic()
    res = evaluate(ds, ds, [Memorize, Constant], cache_dir=cache, progress=False)
    paths = write_report(res, tmp_path / "out")
    md = paths["markdown"].read_text()
    assert "| memorize |" in md and "hull lift" in md and "Best single model: **dear**" in md
    data = json.loads(paths["json"].read_text())
    assert data["strategies"][0]["name"] == "memorize"
    assert data["strategies"][0]["hull_lift"] == pytest.approx(res.strategy("memorize").hull_lift)
    assert len(data["strategies"][0]["curve_cost"]) == len(data["strategies"][0]["curve_weight"]) > 50
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "data:image/png;base64," in paths["html"].read_text()


def test_candidates_are_priced_from_the_data() -> None:
    """Price-table models keep their prices; others get one derived from mean cost, so tiers follow price."""
    from routeiq_core import ModelPrice
    from routeiq_core.evaluation import candidates_for

    ds = synthetic().select_models(["cheap", "dear"])
    cands = {c.name: c for c in candidates_for(ds)}
    tokens = np.mean([len(p) / 4 for p in ds.prompts]) + 256
    assert cands["dear"].input_cost_per_mtok == pytest.approx(ds.costs[:, 1].mean() / tokens * 1e6)
    assert cands["dear"].tier > cands["cheap"].tier
    priced = RoutingDataset(ids=ds.ids, prompts=ds.prompts, models=ds.models, scores=ds.scores,
                            prices={"cheap": ModelPrice(0.1, 0.4), "dear": ModelPrice(10.0, 30.0)})
    cands = {c.name: c for c in candidates_for(priced)}
    assert (cands["cheap"].input_cost_per_mtok, cands["cheap"].output_cost_per_mtok) == (0.1, 0.4)
    assert cands["dear"].tier == 5 and cands["cheap"].tier == 1
    strong_calls = RoutingDataset(ids=ds.ids, prompts=ds.prompts, models=ds.models, scores=ds.scores,
                                  costs=np.tile([0.0, 1.0], (len(ds), 1)))
    cands = {c.name: c for c in candidates_for(strong_calls)}
    assert cands["cheap"].is_free and cands["dear"].tier == 5
