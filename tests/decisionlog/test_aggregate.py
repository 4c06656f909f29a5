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


def test_aggregates_match_the_rows(url: str, embedder: Any) -> None:
    router = Router(CANDIDATES, embedder=embedder, log=url)
    for i in range(120):
        d = router.decide(f"{PROMPTS[i % len(PROMPTS)]} ({i})", metadata={"team": f"t{i % 2}"},
                          profile="eco" if i % 5 == 0 else None)
        if i % 3:
            router.feedback(d, success=i % 4 != 0, cost_usd=1.2 * d.ranking[0].cost)
    router.close()
    log = open_log(url)
    for where in (LogFilter(), LogFilter(team="t1")):
        agg = log.aggregate(where)  # type: ignore[attr-defined]
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
        assert agg["decide_ms"]["p50"] is not None and agg["decide_ms"]["p99"] >= agg["decide_ms"]["p50"]
    empty = LogFilter(team="nobody")
    assert log.aggregate(empty)["decisions"] == 0  # type: ignore[attr-defined]
