"""The SQL decision log: one schema on SQLite (embedded default) and PostgreSQL (shared).

Built on SQLAlchemy Core (no ORM). SQLite runs in WAL mode with a busy timeout, so several
processes on one machine can write one file; PostgreSQL (``postgresql://`` through psycopg 3)
is for workers and pods that share a log. Inserts are idempotent (``ON CONFLICT DO NOTHING``
on the decision and feedback ids), so a batch retried after an ambiguous commit is stored once.

The schema is versioned in ``routeiq_schema``; :data:`MIGRATIONS` upgrades an older one in
place, and a log written by a newer RouteIQ is refused with both versions named.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from typing import Any

from ..errors import DecisionLogError, DecisionLogWarning, MissingDependencyError
from . import _rollup
from ._backend import LogFilter
from ._records import DecisionRecord, Feedback, LoggedDecision, Outcome

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "SqlLog"]

log = logging.getLogger("routeiq.decisionlog")

#: The schema this RouteIQ writes. Bump it and add a step to MIGRATIONS for every change.
SCHEMA_VERSION = 2
#: Columns version 2 added: what the dashboard aggregates in SQL (no JSON parsing per row).
V2_COLUMNS = (("decide_ms", "FLOAT"), ("est_cost", "FLOAT"), ("max_cost", "FLOAT"), ("tags", "TEXT"))


def _migrate_to_2(conn: Any, log: SqlLog) -> None:
    """Version 1 -> 2: the aggregate columns and the hourly roll-up, filled from the rows already
    there (old rows keep NULL in the new columns: counted, not costed or timed)."""
    import sqlalchemy as sa

    for name, kind in V2_COLUMNS:
        conn.execute(sa.text(f"ALTER TABLE routeiq_decisions ADD COLUMN {name} {kind}"))
    log._md.create_all(conn, checkfirst=True)
    log._backfill_rollup(conn)


#: version -> a function(connection) that upgrades a schema of version - 1 to it.
MIGRATIONS: dict[int, Callable[[Any, SqlLog], None]] = {2: _migrate_to_2}
#: Up to this many decisions in a filter, :meth:`SqlLog.aggregate` reads the rows (exact, and
#: about 0.06 s at this size); above it, the hourly roll-up.
EXACT_UP_TO = 5_000
#: The PostgreSQL advisory-lock key that serialises schema changes ("RouteIQ" in ASCII).
_SCHEMA_LOCK_KEY = 0x526F7574_65495100 >> 8



def _sqlalchemy() -> Any:
    try:
        import sqlalchemy
    except ImportError:  # pragma: no cover - a core dependency; only a broken install lacks it
        raise MissingDependencyError("the SQL decision log needs SQLAlchemy: pip install 'routeiq'") from None
    return sqlalchemy


#: What the covering indexes hold: every column a dashboard filter or aggregate reads.
_FACTS = ("model", "category", "profile", "team", "user_id", "key_alias", "candidate", "session_id", "experiment",
          "arm", "tags", "fallback", "propensity", "decide_ms", "est_cost", "max_cost")


def _tables(sa: Any) -> tuple[Any, ...]:
    md = sa.MetaData()
    schema = sa.Table("routeiq_schema", md, sa.Column("version", sa.Integer, nullable=False))
    s = sa.String
    decisions = sa.Table(
        "routeiq_decisions", md,
        sa.Column("id", s(36), primary_key=True),
        sa.Column("ts", sa.Float, nullable=False, index=True),
        sa.Column("fingerprint", s(64), nullable=False, index=True),
        sa.Column("profile", s(64)), sa.Column("strategy", s(128)),
        sa.Column("candidate", s(256), index=True), sa.Column("model", s(256), index=True),
        sa.Column("category", s(64), index=True), sa.Column("confidence", sa.Float),
        sa.Column("complexity", sa.Integer), sa.Column("propensity", sa.Float), sa.Column("fallback", sa.Boolean),
        sa.Column("user_id", s(256), index=True), sa.Column("team", s(256), index=True),
        sa.Column("key_alias", s(256)), sa.Column("session_id", s(256), index=True),
        sa.Column("artifact", s(256)), sa.Column("experiment", s(256)), sa.Column("arm", s(256)),
        sa.Column("details", sa.Text),  # JSON: tags, reason, ranking, signals, timings, warnings, tokens
        sa.Column("embedding", sa.LargeBinary), sa.Column("prompt", sa.Text),
        # version 2: for aggregates in SQL
        sa.Column("decide_ms", sa.Float), sa.Column("est_cost", sa.Float), sa.Column("max_cost", sa.Float),
        sa.Column("tags", sa.Text),  # |a|b|: a tag filter matches it with LIKE (the JSON in details has them too)
        # covering indexes: the dashboard's grouped queries read them, never the wide rows (about 7 kB
        # each with the embedding and the ranking); one in time order, one by id for the feedback join
        sa.Index("ix_routeiq_decisions_facts", "ts", *_FACTS),
        sa.Index("ix_routeiq_decisions_facts_by_id", "id", "ts", *_FACTS),
    )
    feedback = sa.Table(
        "routeiq_feedback", md,
        sa.Column("id", s(36), primary_key=True),
        sa.Column("decision_id", s(36), nullable=False, index=True),
        sa.Column("ts", sa.Float, nullable=False),
        sa.Column("success", sa.Boolean), sa.Column("score", sa.Float), sa.Column("cost_usd", sa.Float),
        sa.Column("latency_ms", sa.Float), sa.Column("served_by", s(256)), sa.Column("error", s(512)),
        sa.Column("source", s(64)),
    )
    state = sa.Table("routeiq_state", md, sa.Column("key", s(256), primary_key=True),
                     sa.Column("value", sa.Text, nullable=False), sa.Column("updated", sa.Float))
    return (md, schema, decisions, feedback, state, *_rollup.tables(sa, md))


_COLUMNS = ("id", "ts", "fingerprint", "profile", "strategy", "candidate", "model", "category", "confidence",
            "complexity", "propensity", "fallback", "team", "key_alias", "session_id", "artifact", "experiment",
            "arm", "prompt")


def _decision_row(r: DecisionRecord) -> dict[str, Any]:
    """One row; built field by field (``dataclasses.asdict`` deep-copies and is 5x slower)."""
    row = {name: getattr(r, name) for name in _COLUMNS}
    row["user_id"] = r.user
    details = {
        "tags": list(r.tags), "reason": r.reason,
        "ranking": [{"name": n, "model": m, "quality": q, "cost_usd": c, "score": sc} for n, m, q, c, sc in r.ranking],
        "signals": [{"name": n, "value": v, "weight": w} for n, v, w in r.signals],
        "timings_ms": dict(r.timings_ms), "warnings": list(r.warnings), "input_tokens": r.input_tokens,
        "output_tokens": r.output_tokens, "embedding_model": r.embedding_model, "served": r.served,
        "shadow_of": r.shadow_of,
    }
    row["details"] = json.dumps(details, ensure_ascii=False, allow_nan=False)
    row["embedding"] = r.embedding
    row["decide_ms"] = r.timings_ms.get("total")
    costs = {name: cost for name, _m, _q, cost, _s in r.ranking}
    row["est_cost"] = costs.get(r.candidate)
    row["max_cost"] = max(costs.values()) if costs else None
    row["tags"] = tags_column(r.tags)
    return row


def tags_column(tags: Sequence[str]) -> str | None:
    """Tags as one column a filter can match exactly with LIKE: ``|a|b|`` (a ``|`` in a tag reads ``/``)."""
    return "|" + "|".join(t.replace("|", "/") for t in tags) + "|" if tags else None


def _record_of(row: Any) -> DecisionRecord:
    m = dict(row._mapping)
    for name, _ in V2_COLUMNS:
        m.pop(name, None)
    details = json.loads(m.pop("details") or "{}")
    embedding = m.pop("embedding")
    m["user"] = m.pop("user_id")
    return DecisionRecord.from_dict({**m, **details}, bytes(embedding) if embedding else None)


class SqlLog:
    """A decision log in SQLite or PostgreSQL (see the module docstring)."""

    def __init__(self, url: str, *, connect_timeout: float = 3.0) -> None:
        sa = self._sa = _sqlalchemy()
        try:
            parsed = sa.engine.make_url(url)
        except Exception:
            raise DecisionLogError(_url_help(url)) from None
        backend = parsed.get_backend_name()
        if backend == "postgresql":
            if parsed.drivername == "postgresql":
                parsed = parsed.set(drivername="postgresql+psycopg")
            try:
                import psycopg  # noqa: F401
            except ImportError:
                raise MissingDependencyError("a PostgreSQL decision log needs psycopg 3: pip install "
                                             "'routeiq[postgres]'") from None
        elif backend != "sqlite":
            raise DecisionLogError(_url_help(url))
        self.url = parsed.render_as_string(hide_password=True)
        self.dialect = backend
        kwargs: dict[str, Any] = {"pool_pre_ping": True, "future": True}
        if backend == "sqlite":
            database = parsed.database or ""
            if database in ("", ":memory:"):
                raise DecisionLogError(f"decision log {self.url}: give a file, e.g. sqlite:///decisions.db "
                                       "(for an in-memory log use memory://)")
            kwargs["connect_args"] = {"timeout": 10.0, "check_same_thread": False}
        else:
            kwargs["connect_args"] = {"connect_timeout": max(1, round(connect_timeout))}
            kwargs.update(pool_size=2, max_overflow=2, pool_timeout=connect_timeout)
        self._engine = sa.create_engine(parsed, **kwargs)
        if backend == "sqlite":
            sa.event.listen(self._engine, "connect", _sqlite_pragmas)
        (self._md, self._schema, self._decisions, self._feedback, self._state,
         self._rollup, self._rollup_latency) = _tables(sa)
        self._ready = False
        self._lock = threading.Lock()
        try:
            self.ensure_schema()
        except DecisionLogError:
            raise
        except Exception as exc:
            if backend == "sqlite":  # a local file that cannot be opened is the caller's to fix now
                raise DecisionLogError(f"decision log {self.url}: cannot open it ({type(exc).__name__}: "
                                       f"{_first_line(exc)}); check the path and its permissions") from None
            warnings.warn(f"decision log {self.url} is not reachable ({type(exc).__name__}); decisions go on "
                          "and are written once it is", DecisionLogWarning, stacklevel=3)

    # ------------------------------------------------------------------ schema
    def ensure_schema(self) -> None:
        """Create or upgrade the schema; refuse one from a newer RouteIQ."""
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            sa = self._sa
            with self._engine.begin() as conn:
                self._lock_schema(conn)
                if not sa.inspect(conn).has_table("routeiq_schema"):
                    self._md.create_all(conn, checkfirst=True)
                    conn.execute(self._schema.insert().values(version=SCHEMA_VERSION))
                    self._ready = True
                    return
                version = conn.execute(sa.select(sa.func.max(self._schema.c.version))).scalar() or 0
                if version == 0:  # an empty version table: a creation that never finished; start it afresh
                    self._md.create_all(conn, checkfirst=True)
                    conn.execute(self._schema.insert().values(version=SCHEMA_VERSION))
                    self._ready = True
                    return
                if version > SCHEMA_VERSION:
                    raise DecisionLogError(
                        f"decision log {self.url} has schema version {version}, written by a newer RouteIQ; "
                        f"this one reads up to version {SCHEMA_VERSION}: upgrade routeiq, or use another log")
                for step in range(version + 1, SCHEMA_VERSION + 1):
                    MIGRATIONS[step](conn, self)
                    conn.execute(self._schema.update().values(version=step))
                self._md.create_all(conn, checkfirst=True)
                for index in self._decisions.indexes:  # indexes a migration's version added to old tables
                    index.create(conn, checkfirst=True)
            self._ready = True

    def _lock_schema(self, conn: Any) -> None:
        """Serialise schema creation and upgrades between processes opening one log at once.

        Without it a second process can see the version table after the first created it but before
        the first wrote the version row. SQLite takes its write lock up front (``BEGIN IMMEDIATE``; the
        busy timeout waits for it); PostgreSQL takes a transaction-scoped advisory lock.
        """
        if self.dialect == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.execute(self._sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK_KEY})

    def schema_version(self) -> int:
        with self._engine.connect() as conn:
            return int(conn.execute(self._sa.select(self._sa.func.max(self._schema.c.version))).scalar() or 0)

    # ------------------------------------------------------------------ writing
    def _dialect_insert(self, table: Any) -> Any:
        """The dialect's INSERT, which has ON CONFLICT (both SQLite and PostgreSQL spell it the same)."""
        from sqlalchemy.dialects import postgresql, sqlite

        return (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(table)

    def _insert(self, table: Any) -> Any:
        return self._dialect_insert(table).on_conflict_do_nothing()

    def write(self, decisions: Sequence[DecisionRecord], feedback: Sequence[Feedback]) -> None:
        """Insert a batch, and add what it really inserted to the roll-up, in one transaction."""
        self.ensure_schema()
        sa, t, fb = self._sa, self._decisions, self._feedback
        rollup = _rollup.Rollup()
        with self._engine.begin() as conn:
            if decisions:
                stored = self._existing(conn, t, [r.id for r in decisions])
                conn.execute(self._insert(t), [_decision_row(r) for r in decisions])
                for r in decisions:
                    if r.id not in stored:
                        rollup.add_decision(r)
            if feedback:
                stored = self._existing(conn, fb, [f.id for f in feedback])
                conn.execute(self._insert(fb), [asdict(f) for f in feedback])
                new = [f for f in feedback if f.id not in stored]
                wanted = sorted({f.decision_id for f in new})
                facts = {row[0]: row[1:] for row in conn.execute(sa.select(
                    t.c.id, t.c.ts, t.c.model, t.c.category, t.c.profile, t.c.team, t.c.tags, t.c.est_cost,
                    t.c.max_cost)
                    .where(t.c.id.in_(wanted)))} if wanted else {}
                for f in new:
                    if f.decision_id in facts:  # feedback for a decision not in this log counts nowhere
                        rollup.add_feedback(f, facts[f.decision_id])
            rollup.save(conn, self._dialect_insert, self._rollup, self._rollup_latency)

    def _existing(self, conn: Any, table: Any, ids: Sequence[str]) -> set[str]:
        return {row[0] for row in conn.execute(self._sa.select(table.c.id).where(table.c.id.in_(list(ids))))}

    def _backfill_rollup(self, conn: Any) -> None:
        """Fill the roll-up from the rows (a migration; streamed in chunks, never all in memory)."""
        sa, t, fb = self._sa, self._decisions, self._feedback
        rollup = _rollup.Rollup()
        for ts, model, category, profile, team, tags, *rest in conn.execute(sa.select(
                t.c.ts, t.c.model, t.c.category, t.c.profile, t.c.team, t.c.tags, t.c.fallback, t.c.propensity,
                t.c.decide_ms)).yield_per(5000):
            rollup.add_decision_row(ts, model, category, profile, team, _rollup.tags_of(tags), *rest)
        joined = fb.join(t, fb.c.decision_id == t.c.id)
        for row in conn.execute(sa.select(fb.c.cost_usd, fb.c.success, t.c.ts, t.c.model, t.c.category, t.c.profile,
                                          t.c.team, t.c.tags, t.c.est_cost, t.c.max_cost)
                                .select_from(joined)).yield_per(5000):
            rollup.add_feedback(Feedback("", 0.0, success=row[1], cost_usd=row[0]), row[2:])
        rollup.save(conn, self._dialect_insert, self._rollup, self._rollup_latency)

    def save_state(self, key: str, value: str, updated: float) -> None:
        """Keep a small JSON document (e.g. the refinement posteriors) under ``key``."""
        self.ensure_schema()
        stmt = self._dialect_insert(self._state).values(key=key, value=value, updated=updated)
        stmt = stmt.on_conflict_do_update(index_elements=["key"], set_={"value": value, "updated": updated})
        with self._engine.begin() as conn:
            conn.execute(stmt)

    def load_state(self, key: str) -> str | None:
        with self._reading() as conn:
            value = conn.execute(self._sa.select(self._state.c.value).where(self._state.c.key == key)).scalar()
        return None if value is None else str(value)

    # ------------------------------------------------------------------ reading
    @contextlib.contextmanager
    def _reading(self) -> Iterator[Any]:
        """A connection for a read; a database error becomes a DecisionLogError naming the log."""
        try:
            self.ensure_schema()
            with self._engine.connect() as conn:
                yield conn
        except DecisionLogError:
            raise
        except self._sa.exc.SQLAlchemyError as exc:
            raise DecisionLogError(f"cannot read the decision log {self.url} ({type(exc).__name__}: "
                                   f"{_first_line(exc)})") from None

    def _outcomes(self, conn: Any, ids: Sequence[str]) -> dict[str, Outcome | None]:
        rows: dict[str, list[Feedback]] = {i: [] for i in ids}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            for row in conn.execute(self._sa.select(self._feedback).where(self._feedback.c.decision_id.in_(chunk))):
                rows[row.decision_id].append(Feedback(**dict(row._mapping)))
        return {i: Outcome.merge(fb) for i, fb in rows.items()}

    def get(self, decision_id: str) -> LoggedDecision | None:
        with self._reading() as conn:
            row = conn.execute(self._sa.select(self._decisions).where(self._decisions.c.id == decision_id)).first()
            if row is None:
                return None
            return LoggedDecision(_record_of(row), self._outcomes(conn, [decision_id])[decision_id])

    def query(self, where: LogFilter, limit: int = 100) -> list[LoggedDecision]:
        """A page of decisions in id (= time) order: the ids are found in the narrow id-ordered index,
        then only that page's wide rows are read (SQLite's planner would otherwise sort every
        matching wide row, 140 ms for one team's page at 100,000 decisions)."""
        sa, t = self._sa, self._decisions
        conditions = self._conditions(where)
        if where.after_id is not None:
            conditions.append(t.c.id < where.after_id if where.newest_first else t.c.id > where.after_id)
        order = t.c.id.desc() if where.newest_first else t.c.id
        ids = sa.select(t.c.id).where(*conditions).order_by(order).limit(max(0, int(limit)))
        if not (where.with_feedback or where.outcome):  # the index holds every column but the feedback's
            ids = ids.with_hint(t, "INDEXED BY ix_routeiq_decisions_facts_by_id", "sqlite")
        with self._reading() as conn:
            page = [row[0] for row in conn.execute(ids)]
            rows = {row.id: row for row in conn.execute(sa.select(t).where(t.c.id.in_(page)))} if page else {}
            records = [_record_of(rows[i]) for i in page if i in rows]
            outcomes = self._outcomes(conn, [r.id for r in records])
        return [LoggedDecision(r, outcomes[r.id]) for r in records]

    def _conditions(self, where: LogFilter) -> list[Any]:
        """The SQL of a filter's time window, equality fields, tag and outcome (paging is the caller's)."""
        t, conditions = self._decisions, []
        if where.since is not None:
            conditions.append(t.c.ts >= where.since)
        if where.until is not None:
            conditions.append(t.c.ts < where.until)
        for name, column in (("model", "model"), ("candidate", "candidate"), ("category", "category"),
                             ("profile", "profile"), ("user", "user_id"), ("team", "team"),
                             ("key_alias", "key_alias"), ("session_id", "session_id"), ("experiment", "experiment"),
                             ("arm", "arm")):
            value = getattr(where, name)
            if value is not None:
                conditions.append(t.c[column] == value)
        f = self._feedback
        if where.with_feedback or where.outcome == "reported":
            conditions.append(self._sa.exists().where(f.c.decision_id == t.c.id))
        elif where.outcome == "none":
            conditions.append(~self._sa.exists().where(f.c.decision_id == t.c.id))
        elif where.outcome in ("success", "failure"):
            conditions.append(self._sa.exists().where(f.c.decision_id == t.c.id,
                                                      f.c.success.is_(where.outcome == "success")))
        if where.tag is not None:
            pattern = str(tags_column([where.tag])).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            conditions.append(t.c.tags.like(f"%{pattern}%", escape="\\"))
        return conditions

    def aggregate(self, where: LogFilter, *, buckets: int = 24, exact: bool | None = None) -> dict[str, Any]:
        """The dashboard's numbers, computed in the database (no row is loaded into Python): totals,
        mixes, decisions over time by model, decide() p50/p99, real spend against what always the
        priciest candidate would have cost, and success rate by model and category.

        Read from the hourly roll-up (:mod:`._rollup`) when it can answer ``where`` and holds more
        than :data:`EXACT_UP_TO` decisions for it; from the rows otherwise, or with ``exact=True``
        (``exact=False`` forces the roll-up; ``ValueError`` if it cannot answer). The result's
        ``source`` says which.
        """
        if exact is False and not _rollup.answerable(where):
            raise ValueError("the roll-up answers filters on model, category, profile and team over whole hours")
        if exact is not True and _rollup.answerable(where):
            with self._reading() as conn:
                result = _rollup.read(conn, self._sa, self._rollup, self._rollup_latency, where, buckets)
            if exact is False or result["decisions"] > EXACT_UP_TO:
                return result
        return self._aggregate_rows(where, buckets)

    def _aggregate_rows(self, where: LogFilter, buckets: int) -> dict[str, Any]:
        """:meth:`aggregate` from the rows: four grouped queries that read the covering indexes."""
        sa, t, f = self._sa, self._decisions, self._feedback
        cond = self._conditions(where)
        facts, by_id = "ix_routeiq_decisions_facts", "ix_routeiq_decisions_facts_by_id"

        def covered(stmt: Any, index: str) -> Any:  # SQLite's planner otherwise reads the wide rows
            return stmt.with_hint(t, f"INDEXED BY {index}", "sqlite")

        out: dict[str, Any] = {"models": {}, "categories": {}, "profiles": {}, "over_time": None, "decide_ms": {},
                               "source": "rows"}
        with self._reading() as conn:
            total, first, last = conn.execute(covered(sa.select(sa.func.count(), sa.func.min(t.c.ts),
                                                                sa.func.max(t.c.ts)).where(*cond), facts)).one()
            total = int(total or 0)
            out.update(decisions=total, first_ts=first, last_ts=last, fallbacks=0, explored=0)
            if total:
                start, end = float(first), float(last)
                width = max(60.0, (end - start) / buckets) if end > start else 60.0
                bucket = sa.cast((t.c.ts - start) / width, sa.Integer)
                rows = conn.execute(covered(sa.select(
                    t.c.model, t.c.category, t.c.profile, bucket, sa.func.count(),
                    sa.func.sum(sa.case((t.c.fallback.is_(True), 1), else_=0)),
                    sa.func.sum(sa.case((t.c.propensity < 1.0, 1), else_=0)),
                ).where(*cond).group_by(t.c.model, t.c.category, t.c.profile, bucket), facts)).all()
                series: dict[str, list[int]] = {}
                for model, category, profile, b, n, fell_back, explored in rows:
                    n = int(n)
                    for key, value in (("models", model), ("categories", category), ("profiles", profile)):
                        name = "-" if value is None else str(value)
                        out[key][name] = out[key].get(name, 0) + n
                    series.setdefault(str(model), [0] * (buckets + 1))[min(int(b), buckets)] += n
                    out["fallbacks"] += int(fell_back or 0)
                    out["explored"] += int(explored or 0)
                for key in ("models", "categories", "profiles"):
                    out[key] = dict(sorted(out[key].items(), key=lambda kv: -kv[1])[:50])
                out["over_time"] = {"start": start, "width_s": width, "series": series}
                centi_ms = sa.func.round(t.c.decide_ms * 100)  # a histogram at 0.01 ms
                histogram = conn.execute(covered(sa.select(centi_ms, sa.func.count()).where(
                    *cond, t.c.decide_ms.is_not(None)).group_by(centi_ms).order_by(centi_ms), facts)).all()
                out["decide_ms"] = _rollup.percentiles([(float(v) / 100, int(n)) for v, n in histogram])
            joined = t.join(f, f.c.decision_id == t.c.id)
            costed = f.c.cost_usd.is_not(None)
            baseline = sa.case((t.c.est_cost > 0, f.c.cost_usd * t.c.max_cost / t.c.est_cost), else_=t.c.max_cost)
            rows = conn.execute(covered(sa.select(
                t.c.model, t.c.category, sa.func.sum(f.c.cost_usd), sa.func.sum(sa.case((costed, baseline))),
                sa.func.count(f.c.cost_usd),
                sa.func.count(f.c.success), sa.func.sum(sa.cast(f.c.success, sa.Integer)),
            ).select_from(joined).where(*cond).group_by(t.c.model, t.c.category), by_id)).all()
            out["spend"] = {"spend_usd": sum(float(r[2] or 0.0) for r in rows),
                            "baseline_usd": sum(float(r[3] or 0.0) for r in rows),
                            "cost_reports": sum(int(r[4] or 0) for r in rows), "baseline": "strongest"}
            out["success"] = [{"model": m, "category": c, "reports": int(n), "success_rate": float(k or 0) / int(n)}
                              for m, c, _s, _b, _d, n, k in rows if n]
        return out

    def experiment_names(self, where: LogFilter) -> list[str]:
        """The experiments that have decisions matching ``where`` (from the narrow index)."""
        t = self._decisions
        stmt = (self._sa.select(t.c.experiment).distinct().where(*self._conditions(where), t.c.experiment.is_not(None))
                .with_hint(t, "INDEXED BY ix_routeiq_decisions_facts", "sqlite"))
        with self._reading() as conn:
            return sorted(str(row[0]) for row in conn.execute(stmt))

    def count(self) -> int:
        with self._reading() as conn:
            return int(conn.execute(self._sa.select(self._sa.func.count()).select_from(self._decisions)).scalar())

    def reset_connections(self) -> None:
        """Drop pooled connections (after a database outage the next use reconnects)."""
        self._engine.dispose()

    def close(self) -> None:
        self._engine.dispose()

    def __repr__(self) -> str:
        return f"<SqlLog {self.url}>"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
    finally:
        cursor.close()


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.splitlines()[0][:200] if text else ""


def redact_url(url: object) -> str:
    """``url`` with any password replaced by ``***`` (safe for messages)."""
    import re

    from .._validation import short_repr

    text = url if isinstance(url, str) else short_repr(url)
    return re.sub(r"(://[^/@]*?:)[^@/]*@", r"\1***@", text)[:300]


def _url_help(url: object) -> str:
    return (f"decision log URL {redact_url(url)!r} is not one RouteIQ can open; expected sqlite:///PATH "
            "(a file), postgresql://USER:PASSWORD@HOST:PORT/DATABASE, jsonl:///PATH, memory://, or a "
            "scheme registered by a plugin")

