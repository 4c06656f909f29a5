"""The log's SQL aggregates (what a dashboard reads) agree with reading every row in Python."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from routeiq_core import Router
from routeiq_core.decisionlog import LogFilter, iter_log, open_log
from routeiq_core.decisionlog._stats import log_stats

from .conftest import CANDIDATES, PROMPTS


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/agg.db" if request.param == "sqlite" else request.getfixturevalue("postgres").url


@pytest.mark.parametrize("exact", [True, False], ids=["rows", "rollup"])
def test_aggregates_match_the_rows(url: str, exact: bool, embedder: Any) -> None:
    """Both ways of aggregating (grouped SQL over the rows, the hourly roll-up) agree with reading
    every row in Python; the roll-up's percentiles within its 5% bins."""
    router = Router(CANDIDATES, embedder=embedder, log=url)
    for i in range(120):
        d = router.decide(f"{PROMPTS[i % len(PROMPTS)]} ({i})", metadata={"team": f"t{i % 2}"},
                          profile="eco" if i % 5 == 0 else None)
        if i % 3:
            router.feedback(d, success=i % 4 != 0, cost_usd=1.2 * d.ranking[0].cost)
    router.close()
    log = open_log(url)
    for where in (LogFilter(), LogFilter(team="t1")):
        agg = log.aggregate(where, exact=exact)  # type: ignore[attr-defined]
        assert agg["source"] == ("rows" if exact else "rollup")
        rows = list(iter_log(log, where))
        py = log_stats(rows).to_dict()
        assert agg["decisions"] == py["decisions"] == len(rows)
        assert agg["models"] == py["models"] and agg["categories"] == py["categories"]
        assert agg["profiles"] == py["profiles"] and agg["fallbacks"] == py["fallbacks"]
        assert agg["spend"]["spend_usd"] == pytest.approx(py["savings"]["spend_usd"], rel=1e-6)
        assert agg["spend"]["baseline_usd"] == pytest.approx(py["savings"]["baseline_usd"], rel=1e-6)
        assert sum(sum(s) for s in agg["over_time"]["series"].values()) == len(rows)
        by_model: dict[str, list[int]] = {}
        for item in agg["success"]:
            counts = by_model.setdefault(item["model"], [0, 0])
            counts[0] += item["reports"]
            counts[1] += round(item["success_rate"] * item["reports"])
        assert {m: round(k / n, 4) for m, (n, k) in by_model.items()} == \
            {m: v["success_rate"] for m, v in py["success_rate"].items()}
        times = sorted(r.record.timings_ms["total"] for r in rows)
        for q in (50, 99):  # nearest rank, as both SQL paths compute it
            truth = times[min(len(times) - 1, int(q / 100 * len(times)))]
            assert agg["decide_ms"][f"p{q}"] == pytest.approx(truth, rel=0.026 if not exact else 0, abs=0.006)
    empty = LogFilter(team="nobody")
    assert log.aggregate(empty, exact=exact)["decisions"] == 0  # type: ignore[attr-defined]


def test_a_retried_batch_is_counted_once_and_an_old_log_is_rolled_up(url: str, embedder: Any) -> None:
    """A batch written twice (a retry after an ambiguous commit) adds nothing to the roll-up; a
    log whose roll-up is dropped and rebuilt by the migration gets the same numbers back."""
    from routeiq_core.decisionlog._records import Feedback, record_of

    router = Router(CANDIDATES, embedder=embedder)
    decisions = [router.decide(f"{PROMPTS[i % len(PROMPTS)]} #{i}", metadata={"team": "t"}) for i in range(20)]
    records = [record_of(d, d.query.request) for d in decisions]  # type: ignore[union-attr]
    feedback = [Feedback(r.id, r.ts, success=True, cost_usd=0.001) for r in records[:10]]
    log = open_log(url)
    log.write(records, feedback)
    before = log.aggregate(LogFilter(), exact=False)  # type: ignore[attr-defined]
    log.write(records, feedback)  # the same ids again
    assert log.aggregate(LogFilter(), exact=False) == before  # type: ignore[attr-defined]
    assert before["decisions"] == 20 and before["spend"]["cost_reports"] == 10
    with log._engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(log._rollup.delete())  # type: ignore[attr-defined]
        conn.execute(log._rollup_latency.delete())  # type: ignore[attr-defined]
        log._backfill_rollup(conn)  # type: ignore[attr-defined]
    assert log.aggregate(LogFilter(), exact=False) == before  # type: ignore[attr-defined]


def test_filters_on_key_and_tag(url: str, embedder: Any) -> None:
    from routeiq_core import RequestMetadata

    router = Router(CANDIDATES, embedder=embedder, log=url)
    for i in range(12):
        tags = ["batch", "50%_off"] if i % 3 == 0 else ["chat"]
        router.decide(f"question {i}", metadata=RequestMetadata(key_alias=f"k{i % 2}", tags=tuple(tags)))
    router.close()
    log = open_log(url)
    assert len(log.query(LogFilter(key_alias="k1"), limit=100)) == 6
    assert len(log.query(LogFilter(tag="batch"), limit=100)) == 4
    assert len(log.query(LogFilter(tag="50%_off"), limit=100)) == 4
    assert len(log.query(LogFilter(tag="50%"), limit=100)) == 0  # whole tags only; % and _ are literal
    assert len(log.query(LogFilter(tag="bat"), limit=100)) == 0
    for exact in (True, False):  # rows and roll-up; a decision with two tags counts once in the total
        assert log.aggregate(LogFilter(tag="chat"), exact=exact)["decisions"] == 8  # type: ignore[attr-defined]
        assert log.aggregate(LogFilter(tag="50%_off"), exact=exact)["decisions"] == 4  # type: ignore[attr-defined]
        assert log.aggregate(LogFilter(), exact=exact)["decisions"] == 12  # type: ignore[attr-defined]
