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
from ._backend import LogFilter
from ._records import DecisionRecord, Feedback, LoggedDecision, Outcome

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "SqlLog"]

log = logging.getLogger("routeiq.decisionlog")

#: The schema this RouteIQ writes. Bump it and add a step to MIGRATIONS for every change.
SCHEMA_VERSION = 2
#: Columns version 2 added: what the dashboard aggregates in SQL (no JSON parsing per row).
V2_COLUMNS = (("decide_ms", "FLOAT"), ("est_cost", "FLOAT"), ("max_cost", "FLOAT"))


def _migrate_to_2(conn: Any) -> None:
    """Version 1 -> 2: the aggregate columns; old rows keep NULL there (counted, not costed)."""
    import sqlalchemy as sa

    for name, kind in V2_COLUMNS:
        conn.execute(sa.text(f"ALTER TABLE routeiq_decisions ADD COLUMN {name} {kind}"))


#: version -> a function(connection) that upgrades a schema of version - 1 to it.
MIGRATIONS: dict[int, Callable[[Any], None]] = {2: _migrate_to_2}
#: The PostgreSQL advisory-lock key that serialises schema changes ("RouteIQ" in ASCII).
_SCHEMA_LOCK_KEY = 0x526F7574_65495100 >> 8



def _sqlalchemy() -> Any:
    try:
        import sqlalchemy
    except ImportError:  # pragma: no cover - a core dependency; only a broken install lacks it
        raise MissingDependencyError("the SQL decision log needs SQLAlchemy: pip install 'routeiq'") from None
    return sqlalchemy


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
        # covering indexes: the dashboard's grouped queries read them, not the wide rows
        sa.Index("ix_routeiq_decisions_stats", "ts", "model", "category", "profile", "team", "fallback", "propensity"),
        sa.Index("ix_routeiq_decisions_decide_ms", "decide_ms"),
        sa.Index("ix_routeiq_decisions_costs", "id", "model", "category", "est_cost", "max_cost"),
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
    return md, schema, decisions, feedback, state


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
    return row


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
        self._md, self._schema, self._decisions, self._feedback, self._state = _tables(sa)
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
                    MIGRATIONS[step](conn)
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
        self.ensure_schema()
        with self._engine.begin() as conn:
            if decisions:
                conn.execute(self._insert(self._decisions), [_decision_row(r) for r in decisions])
            if feedback:
                conn.execute(self._insert(self._feedback), [asdict(f) for f in feedback])

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
        sa, t = self._sa, self._decisions
        stmt = sa.select(t)
        conditions = self._conditions(where)
        if where.after_id is not None:
            conditions.append(t.c.id < where.after_id if where.newest_first else t.c.id > where.after_id)
        if where.with_feedback:
            conditions.append(sa.exists().where(self._feedback.c.decision_id == t.c.id))
        order = t.c.id.desc() if where.newest_first else t.c.id
        stmt = stmt.where(*conditions).order_by(order).limit(max(0, int(limit)))
        with self._reading() as conn:
            records = [_record_of(row) for row in conn.execute(stmt)]
            outcomes = self._outcomes(conn, [r.id for r in records])
        return [LoggedDecision(r, outcomes[r.id]) for r in records]

    def _conditions(self, where: LogFilter) -> list[Any]:
        """The SQL of a filter's time window and equality fields (paging and feedback are the caller's)."""
        t, conditions = self._decisions, []
        if where.since is not None:
            conditions.append(t.c.ts >= where.since)
        if where.until is not None:
            conditions.append(t.c.ts < where.until)
        for name, column in (("model", "model"), ("candidate", "candidate"), ("category", "category"),
                             ("profile", "profile"), ("user", "user_id"), ("team", "team"),
                             ("session_id", "session_id")):
            value = getattr(where, name)
            if value is not None:
                conditions.append(t.c[column] == value)
        return conditions

    def aggregate(self, where: LogFilter, *, buckets: int = 24) -> dict[str, Any]:
        """The dashboard's numbers, computed in the database (bounded: a few grouped queries, no row
        is loaded into Python): totals, mixes, decisions over time by model, decide() p50/p99, real
        spend and what always the priciest candidate would have cost, success rate by model and category.
        """
        sa, t, f = self._sa, self._decisions, self._feedback
        cond = self._conditions(where)
        out: dict[str, Any] = {}
        with self._reading() as conn:
            row = conn.execute(sa.select(sa.func.count(), sa.func.min(t.c.ts), sa.func.max(t.c.ts),
                                         sa.func.sum(sa.case((t.c.fallback.is_(True), 1), else_=0)),
                                         sa.func.sum(sa.case((t.c.propensity < 1.0, 1), else_=0))).where(*cond)).one()
            total = int(row[0] or 0)
            out.update(decisions=total, first_ts=row[1], last_ts=row[2], fallbacks=int(row[3] or 0),
                       explored=int(row[4] or 0))
            for name in ("model", "category", "profile"):
                col = t.c[name]
                rows = conn.execute(sa.select(col, sa.func.count()).where(*cond).group_by(col)
                                    .order_by(sa.func.count().desc()).limit(50)).all()
                out[{"model": "models", "category": "categories", "profile": "profiles"}[name]] = {
                    str(k) if k is not None else "-": int(v) for k, v in rows}
            if total and row[1] is not None:
                start, end = float(row[1]), float(row[2])
                width = max(60.0, (end - start) / buckets) if end > start else 60.0
                bucket = sa.cast((t.c.ts - start) / width, sa.Integer)
                rows = conn.execute(sa.select(bucket, t.c.model, sa.func.count()).where(*cond)
                                    .group_by(bucket, t.c.model)).all()
                series: dict[str, list[int]] = {}
                for b, model, n in rows:
                    series.setdefault(str(model), [0] * (buckets + 1))[min(int(b), buckets)] += int(n)
                out["over_time"] = {"start": start, "width_s": width, "series": series}
                timed = [*cond, t.c.decide_ms.is_not(None)]
                n_timed = int(conn.execute(sa.select(sa.func.count()).where(*timed)).scalar() or 0)
                out["decide_ms"] = {}
                for q in (0.5, 0.99):
                    if n_timed:
                        offset = min(n_timed - 1, int(q * n_timed))
                        value = conn.execute(sa.select(t.c.decide_ms).where(*timed).order_by(t.c.decide_ms)
                                             .offset(offset).limit(1)).scalar()
                        out["decide_ms"][f"p{round(q * 100)}"] = None if value is None else round(float(value), 3)
            joined = t.join(f, f.c.decision_id == t.c.id)
            spend = conn.execute(sa.select(
                sa.func.sum(f.c.cost_usd),
                sa.func.sum(sa.case((t.c.est_cost > 0, f.c.cost_usd * t.c.max_cost / t.c.est_cost),
                                    else_=t.c.max_cost)),
                sa.func.count(sa.distinct(t.c.id))).select_from(joined).where(*cond, f.c.cost_usd.is_not(None))).one()
            out["spend"] = {"spend_usd": float(spend[0] or 0.0), "baseline_usd": float(spend[1] or 0.0),
                            "decisions_with_real_cost": int(spend[2] or 0), "baseline": "strongest"}
            success = sa.cast(f.c.success, sa.Integer)
            rows = conn.execute(sa.select(t.c.model, t.c.category, sa.func.count(), sa.func.sum(success))
                                .select_from(joined).where(*cond, f.c.success.is_not(None))
                                .group_by(t.c.model, t.c.category)).all()
            out["success"] = [{"model": m, "category": c, "reports": int(n), "success_rate": float(k or 0) / int(n)}
                              for m, c, n, k in rows if n]
        return out

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

