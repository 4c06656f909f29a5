"""The dashboard with bad logs and bad input: every page answers, with a clear status, and in bounded memory.

The app runs in process (Starlette's TestClient: the whole ASGI stack, templates and real databases).
"""

from __future__ import annotations

import sqlite3
import tracemalloc
import warnings
from pathlib import Path
from typing import Any

import pytest

from routeiq_core.decisionlog import open_log
from routeiq_core.errors import DecisionLogError

TOKEN = "fault-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PAGES = ("/", "/?since=24h", "/decisions", "/decisions?team=team-3&outcome=none", "/experiments", "/config")


def _client(log: Any) -> Any:
    from starlette.testclient import TestClient

    from routeiq_core.dashboard import create_app

    return TestClient(create_app(log, token=TOKEN), headers=AUTH)


def test_an_empty_log_renders_every_page(tmp_path: Path) -> None:
    client = _client(f"sqlite:///{tmp_path / 'empty.db'}")
    for path in PAGES:
        r = client.get(path)
        assert r.status_code == 200, (path, r.text[:300])
    assert 'id="total">0<' in client.get("/").text
    assert "No decision matches." in client.get("/decisions").text
    assert "No experiment decisions" in client.get("/experiments").text


def test_a_log_that_cannot_be_opened_or_is_newer_is_a_clear_error(tmp_path: Path) -> None:
    from routeiq_core.dashboard import create_app

    with pytest.raises(DecisionLogError, match="cannot open it"):
        create_app(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'd.db'}", token=TOKEN)
    with pytest.raises(DecisionLogError, match="not a decision log URL|give a file|expected"):
        create_app("nosuchscheme://x", token=TOKEN)
    newer = tmp_path / "newer.db"
    open_log(f"sqlite:///{newer}").close()
    with sqlite3.connect(newer) as conn:
        conn.execute("UPDATE routeiq_schema SET version = 99")
    with pytest.raises(DecisionLogError, match="schema version 99, written by a newer RouteIQ"):
        create_app(f"sqlite:///{newer}", token=TOKEN)


def test_malformed_query_parameters_are_400_never_500(tmp_path: Path) -> None:
    client = _client(f"sqlite:///{tmp_path / 'd.db'}")
    for path in ("/?since=yesterday", "/?until=soon", "/decisions?outcome=maybe", "/decisions?before=nope",
                 "/decisions/not-an-id", "/?team=" + "x" * 1000, "/experiments?since=%00", "/decisions?since=1e400"):
        r = client.get(path)
        assert r.status_code == 400, (path, r.status_code, r.text[:200])
        assert "Bad request" in r.text


def test_the_database_going_away_while_the_page_is_open(postgres: Any) -> None:
    """PostgreSQL stopped under an open dashboard: 503 naming the log (within the connect timeout,
    no hang, no password), then the same pages again once it is back."""
    from routeiq_core import Router, default_embedder

    router = Router(embedder=default_embedder(), log=postgres.url)
    for i in range(5):
        router.decide(f"question {i}", metadata={"team": "red"})
    router.close()
    client = _client(postgres.url)
    assert 'id="total">5<' in client.get("/").text
    postgres.stop()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for path in ("/", "/decisions", "/experiments"):
                r = client.get(path)
                assert r.status_code == 503, (path, r.status_code)
                assert "The decision log is unavailable" in r.text and "postgresql" in r.text
                assert "password" not in r.text.lower() or "***" in r.text
    finally:
        postgres.start()
    assert 'id="total">5<' in client.get("/").text
    assert client.get("/decisions").status_code == 200


@pytest.mark.slow
def test_a_million_rows_pages_are_bounded(tmp_path: Path) -> None:
    """A log of 1,000,000 decisions: every page answers, the explorer pages through it 50 rows at a
    time, and no page loads the table into memory (the peak of Python allocations stays small)."""
    import shutil

    free = shutil.disk_usage(tmp_path).free
    if free < 3 * 2**30:  # the file takes about 650 MB with its indexes, plus SQLite's temporary space
        pytest.skip(f"needs about 1.5 GB of free disk for a million-row log, {free / 2**30:.1f} GB free")
    path = tmp_path / "million.db"
    open_log(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as conn:  # rows written by SQL: a million through the writer takes minutes
        conn.execute("""
            WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 999999)
            INSERT INTO routeiq_decisions (id, ts, fingerprint, profile, strategy, candidate, model, category,
                confidence, complexity, propensity, fallback, team, user_id, session_id, details, decide_ms,
                est_cost, max_cost)
            SELECT printf('%08x-0000-7000-8000-%012x', 1700000000 + i / 1000, i), 1700000000.0 + i * 0.0864,
                'f', 'auto', 'centroid', CASE i % 3 WHEN 0 THEN 'mini' WHEN 1 THEN 'big' ELSE 'mid' END,
                CASE i % 3 WHEN 0 THEN 'openai/gpt-4o-mini' WHEN 1 THEN 'openai/o3' ELSE 'openai/gpt-4o' END,
                'chat', 0.8, 2, 1.0, 0, printf('team-%d', i % 7), printf('user-%d', i % 1000),
                printf('s-%d', i / 4), '{"reason": "r", "ranking": [], "signals": []}', 3.5 + (i % 100) / 50.0,
                0.001, 0.01
            FROM n""")
        conn.execute("""
            INSERT INTO routeiq_rollup (hour, model, category, profile, team, tag, decisions)
            SELECT CAST(ts / 3600 AS INTEGER) * 3600, model, category, profile, team, '', count(*)
            FROM routeiq_decisions GROUP BY 1, 2, 3, 4, 5""")
    client = _client(f"sqlite:///{path}")
    tracemalloc.start()
    try:
        assert 'id="total">1000000<' in client.get("/").text
        assert 'id="total">142857<' in client.get("/?team=team-3").text
        seen: set[str] = set()
        url = "/decisions?team=team-3"
        for _ in range(3):  # newest first, 50 a page, each page older than the last
            page = client.get(url)
            assert page.status_code == 200
            ids = [line.split("/decisions/")[1].split('"')[0] for line in page.text.split("\n")
                   if 'class="decision"' in line]
            assert len(ids) == 50 and not seen & set(ids) and ids == sorted(ids, reverse=True)
            seen |= set(ids)
            url = page.text.split('id="older" href="')[1].split('"')[0].replace("&amp;", "&")
        assert client.get(f"/decisions/{min(seen)}").status_code == 200
        assert client.get("/sessions/s-1234").text.count('class="decision"') == 4
        assert client.get("/?user=user-7").status_code == 200  # not in the roll-up: from the rows, bounded
        assert client.get("/experiments").status_code == 200
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        client.close()
        client.app.state.log.close()  # type: ignore[attr-defined]  # let go of the file before removing it
        for leftover in tmp_path.glob("million.db*"):  # free the disk now, not when pytest prunes old runs
            leftover.unlink()
    assert peak < 64 * 2**20, f"peak Python allocations {peak / 2**20:.0f} MiB"
