"""The decision log on every backend: what a row holds, feedback, bad input, privacy."""

from __future__ import annotations

import json
import math
import sqlite3
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from routeiq_core import DecisionLogError, FeedbackError, Router, StrategyRegistry
from routeiq_core.decisionlog import DecisionLogger, LogFilter, MemoryLog, iter_log, open_log

from .conftest import CANARY, CANDIDATES, PROMPTS


def _url(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if kind == "memory":
        return "memory://"
    if kind == "jsonl":
        return f"jsonl://{tmp_path}/decisions.jsonl"
    if kind == "sqlite":
        return f"sqlite:///{tmp_path}/decisions.db"
    return str(request.getfixturevalue("postgres").url)


@pytest.fixture(params=["memory", "jsonl", "sqlite", "postgresql"])
def log_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return _url(request.param, tmp_path, request)


def _router(embedder: Any, log: Any, **kwargs: Any) -> Router:
    return Router(CANDIDATES, embedder=embedder, log=log, **kwargs)


def test_every_decision_is_a_row_with_its_explanation(log_url: str, embedder: Any) -> None:
    """One row per decision: id, fingerprint, identity, ranking with quality and cost, signals,
    timings, propensity and the float16 embedding; read back equal on every backend."""
    router = _router(embedder, log_url)
    decisions = [router.decide(p, metadata={"user": "ana", "team": "search", "key_alias": "k1",
                                            "session_id": f"s{i % 2}", "tags": ["beta", "eu"]})
                 for i, p in enumerate(PROMPTS)]
    assert router.log is not None and router.log.flush()
    rows = router.log.log.query(LogFilter(), limit=100)
    assert [r.record.id for r in rows] == sorted(d.id for d in decisions)  # time-ordered ids
    for d in decisions:
        got = router.log.log.get(d.id)
        assert got is not None and got.outcome is None
        r = got.record
        assert (r.candidate, r.model, r.profile, r.strategy) == (d.candidate.name, d.model, d.profile, d.strategy)
        assert (r.user, r.team, r.key_alias, r.tags) == ("ana", "search", "k1", ("beta", "eu"))
        assert r.category == d.category and r.complexity == d.complexity and r.propensity == 1.0
        assert math.isclose(r.confidence, d.confidence)
        assert [x[0] for x in r.ranking] == [a.name for a in d.ranking]
        assert all(math.isclose(x[2], a.quality) and math.isclose(x[3], a.cost) for x, a in zip(r.ranking, d.ranking))
        assert {s[0] for s in r.signals} == {s.name for s in d.signals}
        assert "total" in r.timings_ms and len(r.fingerprint) == 64 and r.prompt is None
        emb = r.embedding_array()
        assert emb is not None and emb.shape == (384,)
        assert d.query is not None and d.query.embedding is not None
        assert float(np.dot(emb, d.query.embedding)) > 0.999
    assert [r.record.id for r in router.log.log.query(LogFilter(session_id="s1"))] == \
        [d.id for d in decisions if d is decisions[1] or d is decisions[3]]
    router.close()


def test_feedback_is_validated_and_merged(log_url: str, embedder: Any) -> None:
    """Feedback on a logged id is stored; twice for one id keeps both reports and merges them
    field by field (the later wins); bad ids and values are FeedbackErrors."""
    router = _router(embedder, log_url)
    d = router.decide(PROMPTS[2])
    router.feedback(d, success=True, cost_usd=0.0021, latency_ms=812.0, served_by="small", source="litellm")
    router.feedback(d.id, score=0.4, source="user")
    router.feedback(d.id, quality=0.7)
    bad: list[tuple[Any, dict[str, Any], str]] = [
        ("not-an-id", {"score": 1.0}, "expected a decision id"),
        ("0190b7a0-0000-7000-8000-000000000000", {"score": 1.0}, "no decision with id"),
        (d.id, {"score": float("nan")}, "finite number in \\[0, 1\\]"),
        (d.id, {"score": 1.5}, "finite number in \\[0, 1\\]"),
        (d.id, {"score": True}, "must be a number"),
        (d.id, {"cost_usd": -1.0}, "cost_usd must be a finite number"),
        (d.id, {"success": "yes"}, "success must be True, False or None"),
        (d.id, {}, "nothing to record"),
    ]
    for decision_id, outcome, message in bad:
        with pytest.raises(FeedbackError, match=message):
            router.feedback(decision_id, **outcome)
    assert router.log is not None and router.log.flush()
    got = router.log.log.get(d.id)
    assert got is not None and got.outcome is not None
    o = got.outcome
    assert (o.success, o.score, o.cost_usd, o.latency_ms, o.served_by) == (True, 0.7, 0.0021, 812.0, "small")
    assert o.reports == 3 and set(o.sources) == {"litellm", "user"} and o.quality == 0.7
    assert [r.record.id for r in router.log.log.query(LogFilter(with_feedback=True))] == [d.id]
    router.close()


def test_prompts_are_never_stored_unless_enabled(tmp_path: Path, embedder: Any, recwarn: Any) -> None:
    """The canary prompt is nowhere in the SQLite file or the JSON-lines file; with store_prompts on it is."""
    prompt = f"Please review {CANARY} carefully and prove the lemma step by step."
    for url, path in ((f"sqlite:///{tmp_path}/a.db", tmp_path / "a.db"),
                      (f"jsonl://{tmp_path}/a.jsonl", tmp_path / "a.jsonl")):
        router = _router(embedder, url)
        d = router.decide(prompt, metadata={"user": "u"})
        router.feedback(d, success=False, error="provider said: 500")
        router.close()
        blob = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith(path.name))
        assert CANARY.encode() not in blob
    assert not any(CANARY in str(w.message) for w in recwarn)
    router = _router(embedder, DecisionLogger(f"sqlite:///{tmp_path}/b.db", store_prompts=True,
                                              store_embeddings=False))
    d = router.decide(prompt)
    assert router.log is not None and router.log.flush()
    got = router.log.log.get(d.id)
    assert got is not None and got.record.prompt == prompt and got.record.embedding is None
    router.close()


def test_metadata_is_bounded_and_cleaned(tmp_path: Path, embedder: Any) -> None:
    """A 5 MB metadata value and text that is not UTF-8 neither fail a decision nor bloat the row."""
    router = _router(embedder, f"sqlite:///{tmp_path}/m.db")
    huge = "x" * 5_000_000
    d = router.decide("hello", metadata={"user": "bad\udcffuser", "tags": [huge, b"\xff\xfe raw".decode("latin-1")],
                                         "note": huge})
    assert router.log is not None and router.log.flush()
    got = router.log.log.get(d.id)
    assert got is not None
    assert got.record.user == "bad?user"  # a lone surrogate cannot be stored as UTF-8
    assert len(got.record.tags[0]) == 256 and got.record.tags[0].endswith("…")
    assert (tmp_path / "m.db").stat().st_size < 1_000_000
    router.close()


@pytest.mark.parametrize("url, message", [
    ("nosuch://x", "not one RouteIQ can open; expected sqlite:///PATH"),
    ("decisions.db", "not one RouteIQ can open"),
    ("sqlite://", "give a file"),
    ("sqlite:////nonexistent-dir-xyz/d.db", "cannot open it"),
    ("sqlite:////proc/routeiq-decisions.db", "cannot open it"),
    ("jsonl:///nonexistent-dir-xyz/d.jsonl", "does not exist"),
    ("mysql://u:secret@h/db", "not one RouteIQ can open"),
    (42, "not one RouteIQ can open"),
])
def test_bad_urls_are_clear_errors(url: Any, message: str) -> None:
    """An unknown scheme or a path that cannot be opened is a DecisionLogError naming the URL forms;
    a password in the URL is never repeated."""
    with pytest.raises(DecisionLogError, match=message) as info:
        open_log(url)
    assert "secret" not in str(info.value)


def test_a_log_from_a_newer_routeiq_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    open_log(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE routeiq_schema SET version = 99")
    with pytest.raises(DecisionLogError, match="schema version 99, written by a newer RouteIQ; this one reads up "
                                                "to version 2"):
        open_log(f"sqlite:///{path}")


def _downgrade_to_v1(run_sql: Any) -> None:
    for index in ("ix_routeiq_decisions_facts", "ix_routeiq_decisions_facts_by_id"):
        run_sql(f"DROP INDEX IF EXISTS {index}")
    for column in ("decide_ms", "est_cost", "max_cost", "tags"):
        run_sql(f"ALTER TABLE routeiq_decisions DROP COLUMN {column}")
    run_sql("DROP TABLE routeiq_rollup")
    run_sql("DROP TABLE routeiq_rollup_latency")
    run_sql("UPDATE routeiq_schema SET version = 1")


def test_an_older_schema_is_migrated_forward(tmp_path: Path, postgres: Any, embedder: Any) -> None:
    """A version-1 log (no aggregate columns) is upgraded in place on SQLite and PostgreSQL; its old
    rows stay readable and new rows fill the new columns."""
    path = tmp_path / "old.db"
    for url, run_sql in ((f"sqlite:///{path}", lambda q: sqlite3.connect(path).execute(q).connection.commit()),
                         (postgres.url, postgres.psql)):
        router = _router(embedder, url)
        old = router.decide("hello")
        router.close()
        _downgrade_to_v1(run_sql)
        log = open_log(url)
        assert log.schema_version() == 2  # type: ignore[attr-defined]
        assert log.aggregate(LogFilter())["decisions"] == 1  # type: ignore[attr-defined]  # the new columns exist
        assert log.aggregate(LogFilter(), exact=False)["decisions"] == 1  # type: ignore[attr-defined]  # rolled up
        assert log.get(old.id) is not None
        router = _router(embedder, url)
        new = router.decide("hello again")
        router.close()
        got = open_log(url).get(new.id)
        assert got is not None and got.record.candidate == new.name


def test_a_newer_schema_is_refused_on_postgresql(postgres: Any) -> None:
    open_log(postgres.url).close()
    postgres.psql("UPDATE routeiq_schema SET version = 7")
    with pytest.raises(DecisionLogError, match="schema version 7"):
        open_log(postgres.url)


def test_memory_log_is_a_bounded_ring(embedder: Any) -> None:
    log = MemoryLog(capacity=3)
    router = _router(embedder, log)
    ids = [router.decide(p).id for p in PROMPTS]
    assert router.log is not None and router.log.flush()
    assert [r.record.id for r in log.query(LogFilter())] == ids[-3:]
    assert [r.record.id for r in iter_log(log, page=2)] == ids[-3:]


def test_a_plugin_backend_is_found_by_its_scheme(embedder: Any) -> None:
    """A backend registered for ``acme://`` is opened by Router(log='acme://...')."""
    registry = StrategyRegistry(load_entry_points=False)
    opened: list[str] = []

    def factory(url: str) -> MemoryLog:
        opened.append(url)
        return MemoryLog(url)

    registry.register_decision_log("acme", factory)
    router = Router(CANDIDATES, embedder=embedder, registry=registry, log="acme://bucket/decisions")
    d = router.decide("hello")
    assert router.log is not None and router.log.flush()
    assert opened == ["acme://bucket/decisions"] and router.log.log.get(d.id) is not None
    with pytest.raises(DecisionLogError, match="already registered"):
        registry.register_decision_log("acme", factory)


def test_log_from_settings_and_config(tmp_path: Path, embedder: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """``log`` in a config file (and ROUTEIQ_LOG through effective_config) builds the logger."""
    from routeiq_core._settings import effective_config

    monkeypatch.setenv("ROUTEIQ_LOG", f"sqlite:///{tmp_path}/env.db")
    monkeypatch.setenv("ROUTEIQ_LOG_PROMPTS", "1")
    cfg, sources = effective_config()
    assert cfg.log == f"sqlite:///{tmp_path}/env.db" and cfg.log_prompts is True
    assert sources["log"] == "env ROUTEIQ_LOG"
    router = Router.from_config(cfg, candidates=CANDIDATES, embedder=embedder)
    d = router.decide("hello")
    assert router.log is not None and router.log.store_prompts and router.log.get(d.id) is not None
    router.close()
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"log": f"jsonl://{tmp_path}/c.jsonl", "log_embeddings": False}))
    router = Router.from_config(config, candidates=CANDIDATES, embedder=embedder)
    assert router.log is not None and not router.log.store_embeddings
    router.close()


@pytest.mark.filterwarnings("ignore:decision log .* write failed:routeiq_core.errors.DecisionLogWarning")  # the writer's, by design
def test_feedback_without_the_log_reachable_is_queued(postgres: Any, embedder: Any) -> None:
    """When the log cannot be read to check an id, the report is queued and counted as unverified."""
    router = _router(embedder, postgres.url)
    d = router.decide("hello")
    assert router.log is not None and router.log.flush()
    postgres.stop()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            router.feedback("0190b7a0-0000-7000-8000-000000000001", success=True)
            router.feedback(d.id, success=True)
        assert router.counters.get("feedback_unverified") == 1
    finally:
        postgres.start()
    assert router.log.flush(30)
    got = router.log.log.get(d.id)
    assert got is not None and got.outcome is not None and got.outcome.success is True
    router.close()
