"""``routeiq log tail|show|stats|export`` on a real SQLite log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from routeiq_core import Router
from routeiq_core.cli import main
from routeiq_core.cli.log import parse_since
from routeiq_core.decisionlog import DecisionLogger

from .conftest import CANARY, CANDIDATES, PROMPTS


@pytest.fixture
def logged(tmp_path: Path, embedder: Any) -> tuple[str, list[Any]]:
    url = f"sqlite:///{tmp_path}/cli.db"
    router = Router(CANDIDATES, embedder=embedder, log=DecisionLogger(url, store_prompts=True))
    decisions = []
    for i, prompt in enumerate(PROMPTS * 2):
        d = router.decide(f"{prompt} {CANARY if i == 0 else ''}", metadata={"user": f"u{i % 2}"})
        decisions.append(d)
        if i % 3:  # two thirds get feedback: real cost 1.5x the estimate, one failure in three
            router.feedback(d, success=i % 2 == 0, cost_usd=1.5 * d.ranking[0].cost, served_by=d.name)
    router.close()
    return url, decisions


def test_tail_show_and_stats(logged: tuple[str, list[Any]], capsys: pytest.CaptureFixture[str]) -> None:
    url, decisions = logged
    assert main(["log", "tail", "--log", url, "-n", "3", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["id"] for r in rows] == [d.id for d in decisions[-3:]]
    assert main(["log", "show", decisions[1].id, "--log", url]) == 0
    out = capsys.readouterr().out
    assert decisions[1].id in out and decisions[1].candidate.name in out and "ranking" in out
    assert main(["log", "stats", "--log", url, "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["decisions"] == 10 and stats["with_feedback"] == 6
    assert sum(stats["models"].values()) == 10
    s = stats["savings"]
    # baseline = the priciest eligible candidate's estimate x (real / estimated cost of the served one) = x 1.5
    fed = [d for i, d in enumerate(decisions) if i % 3]
    expected_base = sum(1.5 * max(a.cost for a in d.ranking) for d in fed)
    expected_spend = sum(1.5 * d.ranking[0].cost for d in fed)
    assert s["decisions_with_real_cost"] == 6
    assert s["baseline_usd"] == pytest.approx(expected_base, rel=1e-4)
    assert s["spend_usd"] == pytest.approx(expected_spend, rel=1e-4)
    assert main(["log", "stats", "--log", url, "--baseline", "mid"]) == 0
    assert "always mid" in capsys.readouterr().out


def test_export_writes_canonical_rows(logged: tuple[str, list[Any]], tmp_path: Path) -> None:
    """With prompts logged, decisions with feedback export as canonical JSON Lines that load back."""
    from routeiq_core.datasets import load_dataset

    url, _ = logged
    out = tmp_path / "export.jsonl"
    assert main(["log", "export", "--log", url, "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 6 and all(len(r["scores"]) == 1 for r in rows)
    data = load_dataset(out)
    assert len(data) == 6


def test_privacy_of_the_cli_without_prompt_logging(tmp_path: Path, embedder: Any,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path}/private.db"
    router = Router(CANDIDATES, embedder=embedder, log=url)
    d = router.decide(f"my secret {CANARY}")
    router.close()
    for argv in (["log", "tail"], ["log", "show", d.id], ["log", "stats"], ["log", "tail", "--json"]):
        assert main([*argv, "--log", url]) == 0
    out = capsys.readouterr()
    assert CANARY not in out.out + out.err


@pytest.mark.parametrize("argv, message", [
    (["log", "tail"], "no decision log: pass --log URL"),
    (["log", "tail", "--log", "nosuch://x"], "not one RouteIQ can open"),
    (["log", "show", "nope", "--log", "memory://"], "not a decision id"),
    (["log", "show", "0190b7a0-0000-7000-8000-000000000000", "--log", "memory://"], "no decision"),
    (["log", "stats", "--since", "yesterday", "--log", "memory://"], "expected 30m, 2h, 7d"),
    (["log", "tail", "-n", "0", "--log", "memory://"], "at least 1"),
])
def test_bad_arguments_are_one_line_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ROUTEIQ_LOG", raising=False)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_since_forms() -> None:
    now = 1_800_000_000.0
    assert parse_since("30m", now) == now - 1800
    assert parse_since("2h", now) == now - 7200
    assert parse_since("1.5d", now) == now - 1.5 * 86400
    assert parse_since("1700000000", now) == 1_700_000_000.0
    assert parse_since("2026-12-01T00:00:00+00:00", now) == 1_796_083_200.0
    assert parse_since("2026-12-01T00:00:00", now) == 1_796_083_200.0  # naive = UTC
