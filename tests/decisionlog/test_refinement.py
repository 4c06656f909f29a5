"""Progressive refinement: the zero-config centroid learns from feedback, visibly and persistently."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from routeiq_core import Router
from routeiq_core._centroid_strategy import MAX_CANDIDATES, MAX_CATEGORIES, CentroidStrategy

from .conftest import CANDIDATES

CODE = "Write a Python function that parses a CSV file and returns the mean of every numeric column."


def test_feedback_moves_the_choice_and_shows_in_the_reason(embedder: Any) -> None:
    """The static choice for a code prompt fails and the others succeed: the router moves off it,
    stays off it, and says why in the reason."""
    router = Router(CANDIDATES, embedder=embedder)
    first = router.decide(CODE)
    served = []
    for _ in range(40):
        d = router.decide(CODE)
        served.append(d.name)
        router.feedback(d, score=0.0 if d.name == first.name else 1.0)
    assert served[0] == first.name and set(served[-10:]) == {served[-1]} != {first.name}
    after = router.decide(CODE)
    assert "refined by feedback" in after.reason
    refined = after.details["refined"]
    assert refined[first.name]["observed"] == 0.0 and refined[after.name]["observed"] == 1.0


def test_evidence_is_persisted_in_the_log_database(tmp_path: Path, embedder: Any) -> None:
    """Evidence survives a restart: kept in the SQLite log's state table, loaded by the next router."""
    url = f"sqlite:///{tmp_path}/refine.db"
    router = Router(CANDIDATES, embedder=embedder, log=url)
    decisions = [router.decide(CODE) for _ in range(30)]
    for d in decisions:
        router.feedback(d.id, success=False)  # by id, as LiteLLM and the HTTP endpoint report
    state = router.strategy.refinement_state()
    assert state[decisions[0].category][decisions[0].name] == [0.0, 30.0]
    router.close()
    again = Router(CANDIDATES, embedder=embedder, log=url)
    assert again.strategy.refinement_state() == state
    again.close()


def test_evidence_is_bounded_and_validated() -> None:
    s = CentroidStrategy(max_evidence=10)
    for _ in range(100):
        s.observe("code", "a", 1.0)
    assert sum(s.refinement_state()["code"]["a"]) == pytest.approx(10.0)
    for i in range(MAX_CATEGORIES + 10):
        s.observe(f"cat{i}", "a", 0.5)
    for i in range(MAX_CANDIDATES + 10):
        s.observe("code", f"cand{i}", 0.5)
    state = s.refinement_state()
    assert len(state) == MAX_CATEGORIES and len(state["code"]) == MAX_CANDIDATES
    s.load_refinement({"code": {"a": [1, 2], "b": [float("nan"), 1], "c": [-1, 1], "d": "x"}, 7: {}})
    assert s.refinement_state() == {"code": {"a": [1.0, 2.0]}}
    s.load_refinement("not a mapping")
    assert s.refinement_state() == {}
    off = CentroidStrategy(prior_strength=0)
    off.observe("code", "a", 1.0)
    assert off.refinement_state() == {}
