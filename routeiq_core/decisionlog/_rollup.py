"""Hourly roll-ups of the SQL decision log: what a dashboard reads when the log is large.

Grouping 100,000 wide decision rows in SQLite costs about half a second (a temporary B-tree per
GROUP BY, and an index lookup per feedback row for spend and success), and it grows with the log.
So the writer also keeps counters per (hour, model, category, profile, team, tag): decisions,
fallbacks, explored, spend and its always-the-strongest baseline, success reports, and a
decide() latency histogram. They are updated in the same transaction as the rows they count, and
only for rows that transaction really inserted (a retried batch is not counted twice), so they
are exactly as durable as the log. A dashboard query then reads a few hundred counter rows
instead of every decision, at any log size.

A decision is counted once under the tag ``""`` (all decisions) and once under each of its tags,
so a filter on one tag is answered too, and nothing is counted twice.

What a roll-up cannot answer (a filter on user, key, session, candidate or outcome, or a time
window that does not start and end on whole hours) is answered from the rows themselves.
Latency percentiles from the roll-up are read from bins 5% wide (:func:`latency_bin`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from ._backend import LogFilter
from ._records import DecisionRecord, Feedback

__all__ = ["HOUR", "Rollup", "answerable", "latency_bin", "latency_of_bin", "percentiles"]

HOUR = 3600
#: The roll-up's dimensions besides the hour; a filter on anything else reads the rows.
DIMENSIONS = ("model", "category", "profile", "team", "tag")
ALL = ""  # the tag under which every decision is counted
_RATIO = 1.05  # each latency bin is 5% wider than the one before
_FLOOR_MS = 0.001


def latency_bin(ms: float) -> int:
    """The histogram bin of a decide() time: bin k holds [0.001 * 1.05**k, 0.001 * 1.05**(k+1)) ms."""
    return max(0, int(math.log(max(ms, _FLOOR_MS) / _FLOOR_MS) / math.log(_RATIO)))


def latency_of_bin(k: int) -> float:
    """The value a bin stands for: its geometric middle (within 2.5% of every time in it)."""
    return float(_FLOOR_MS * _RATIO ** (k + 0.5))


def answerable(where: LogFilter) -> bool:
    """Whether the roll-up answers ``where`` exactly: only its dimensions, and whole hours."""
    if any(getattr(where, name) is not None for name in ("candidate", "user", "key_alias", "session_id", "experiment",
                                                          "arm", "after_id")):
        return False
    if where.with_feedback or where.outcome is not None:
        return False
    return all(bound is None or bound % HOUR == 0 for bound in (where.since, where.until))


def tables(sa: Any, md: Any) -> tuple[Any, Any]:
    s = sa.String
    keys = [sa.Column("hour", sa.BigInteger, primary_key=True),
            *(sa.Column(name, s(256), primary_key=True) for name in DIMENSIONS)]  # '' stands for none
    counters = sa.Table(
        "routeiq_rollup", md, *keys,
        *(sa.Column(name, sa.BigInteger, nullable=False, server_default="0")
          for name in ("decisions", "fallbacks", "explored", "cost_reports", "success_reports", "successes")),
        *(sa.Column(name, sa.Float, nullable=False, server_default="0") for name in ("spend_usd", "baseline_usd")),
    )
    latency = sa.Table(
        "routeiq_rollup_latency", md,
        *[sa.Column(c.name, c.type, primary_key=True) for c in keys],
        sa.Column("bin", sa.Integer, primary_key=True), sa.Column("n", sa.BigInteger, nullable=False),
    )
    return counters, latency


def _keys(ts: float, dims: Sequence[Any], tags: Iterable[str]) -> list[tuple[Any, ...]]:
    """The roll-up rows one decision counts in: under every tag, and under :data:`ALL`."""
    base = (int(ts // HOUR * HOUR), *("" if v is None else str(v)[:256] for v in dims))
    return [(*base, tag) for tag in dict.fromkeys((ALL, *(str(t)[:256] for t in tags if t)))]


def tags_of(column: str | None) -> tuple[str, ...]:
    """The tags of a decision row's ``tags`` column (``|a|b|``)."""
    return tuple(t for t in (column or "").split("|") if t)


class Rollup:
    """The counters of one write, summed in Python, then added to the tables in one statement each."""

    def __init__(self) -> None:
        self.counters: dict[tuple[Any, ...], dict[str, float]] = {}
        self.latency: dict[tuple[Any, ...], int] = {}

    def _row(self, key: tuple[Any, ...]) -> dict[str, float]:
        return self.counters.setdefault(key, {})

    def add_decision(self, r: DecisionRecord) -> None:
        self.add_decision_row(r.ts, r.model, r.category, r.profile, r.team, r.tags, r.fallback, r.propensity,
                              r.timings_ms.get("total"))

    def add_decision_row(self, ts: float, model: Any, category: Any, profile: Any, team: Any, tags: Iterable[str],
                         fallback: Any, propensity: Any, decide_ms: Any) -> None:
        for key in _keys(ts, (model, category, profile, team), tags):
            row = self._row(key)
            row["decisions"] = row.get("decisions", 0) + 1
            row["fallbacks"] = row.get("fallbacks", 0) + int(bool(fallback))
            row["explored"] = row.get("explored", 0) + int(propensity is not None and propensity < 1.0)
            if decide_ms is not None:
                lkey = (*key, latency_bin(float(decide_ms)))
                self.latency[lkey] = self.latency.get(lkey, 0) + 1

    def add_feedback(self, f: Feedback, decision: Sequence[Any]) -> None:
        """``decision`` is (ts, model, category, profile, team, tags column, est_cost, max_cost)."""
        ts, model, category, profile, team, tags, est_cost, max_cost = decision
        for key in _keys(ts, (model, category, profile, team), tags_of(tags)):
            self._add_outcome(self._row(key), f, est_cost, max_cost)

    @staticmethod
    def _add_outcome(row: dict[str, float], f: Feedback, est_cost: Any, max_cost: Any) -> None:
        if f.cost_usd is not None:
            row["cost_reports"] = row.get("cost_reports", 0) + 1
            row["spend_usd"] = row.get("spend_usd", 0.0) + f.cost_usd
            baseline = f.cost_usd * max_cost / est_cost if est_cost and est_cost > 0 and max_cost is not None \
                else (max_cost or 0.0)
            row["baseline_usd"] = row.get("baseline_usd", 0.0) + baseline
        if f.success is not None:
            row["success_reports"] = row.get("success_reports", 0) + 1
            row["successes"] = row.get("successes", 0) + int(f.success)

    def save(self, conn: Any, insert: Any, counters: Any, latency: Any) -> None:
        """Add the counters (``insert`` is the dialect's INSERT: both spell ON CONFLICT alike)."""
        names = ("hour", *DIMENSIONS)
        for table, rows, index in (
            (counters, [{**dict(zip(names, key)), **values} for key, values in self.counters.items() if values],
             names),
            (latency, [{**dict(zip(names, key[:-1])), "bin": key[-1], "n": n} for key, n in self.latency.items()],
             (*names, "bin")),
        ):
            for columns, group in _by_columns(rows).items():  # one statement per set of columns it adds
                stmt = insert(table)
                stmt = stmt.on_conflict_do_update(index_elements=list(index), set_={
                    c: table.c[c] + stmt.excluded[c] for c in columns if c not in index})
                conn.execute(stmt, group)


def _by_columns(rows: Iterable[dict[str, Any]]) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    return groups


def read(conn: Any, sa: Any, counters: Any, latency: Any, where: LogFilter, buckets: int) -> dict[str, Any]:
    """The dashboard's numbers from the roll-up (see :meth:`SqlLog.aggregate` for their meaning)."""
    c, lt = counters, latency

    def conditions(table: Any) -> list[Any]:
        out = []
        if where.since is not None:
            out.append(table.c.hour >= int(where.since))
        if where.until is not None:
            out.append(table.c.hour < int(where.until))
        for name in DIMENSIONS[:-1]:
            value = getattr(where, name)
            if value is not None:
                out.append(table.c[name] == str(value))
        out.append(table.c.tag == (ALL if where.tag is None else str(where.tag)))
        return out

    cond = conditions(c)
    total, fallbacks, explored, first, last = conn.execute(sa.select(
        sa.func.sum(c.c.decisions), sa.func.sum(c.c.fallbacks), sa.func.sum(c.c.explored),
        sa.func.min(c.c.hour), sa.func.max(c.c.hour)).where(*cond, c.c.decisions > 0)).one()
    out: dict[str, Any] = {"decisions": int(total or 0), "fallbacks": int(fallbacks or 0),
                           "explored": int(explored or 0), "first_ts": first, "last_ts": last,
                           "over_time": None, "decide_ms": {}, "source": "rollup"}
    for name, key in (("model", "models"), ("category", "categories"), ("profile", "profiles")):
        n = sa.func.sum(c.c.decisions)
        rows = conn.execute(sa.select(c.c[name], n).where(*cond).group_by(c.c[name]).having(n > 0)
                            .order_by(n.desc()).limit(50)).all()
        out[key] = {(str(k) or "-"): int(v) for k, v in rows}
    if total:
        hours = (int(last) - int(first)) // HOUR + 1
        width = HOUR * max(1, math.ceil(hours / buckets))
        bucket = sa.cast((c.c.hour - int(first)) / width, sa.Integer)
        series: dict[str, list[int]] = {}
        size = (int(last) - int(first)) // width + 1
        for b, model, n in conn.execute(sa.select(bucket, c.c.model, sa.func.sum(c.c.decisions))
                                        .where(*cond).group_by(bucket, c.c.model)).all():
            if n:
                series.setdefault(str(model) or "-", [0] * size)[min(int(b), size - 1)] += int(n)
        out["over_time"] = {"start": float(first), "width_s": float(width), "series": series}
        histogram = conn.execute(sa.select(lt.c.bin, sa.func.sum(lt.c.n)).where(*conditions(lt))
                                 .group_by(lt.c.bin).order_by(lt.c.bin)).all()
        out["decide_ms"] = percentiles([(latency_of_bin(int(k)), int(n)) for k, n in histogram])
    spend, baseline, reports = conn.execute(sa.select(
        sa.func.sum(c.c.spend_usd), sa.func.sum(c.c.baseline_usd), sa.func.sum(c.c.cost_reports)).where(*cond)).one()
    out["spend"] = {"spend_usd": float(spend or 0.0), "baseline_usd": float(baseline or 0.0),
                    "cost_reports": int(reports or 0), "baseline": "strongest"}
    rows = conn.execute(sa.select(c.c.model, c.c.category, sa.func.sum(c.c.success_reports), sa.func.sum(c.c.successes))
                        .where(*cond).group_by(c.c.model, c.c.category)).all()
    out["success"] = [{"model": str(m) or "-", "category": str(k) or "-", "reports": int(n),
                       "success_rate": float(s or 0) / int(n)} for m, k, n, s in rows if n]
    return out


def percentiles(histogram: Sequence[tuple[float, int]]) -> dict[str, float]:
    """p50 and p99 (nearest rank, as the row-reading path) from sorted (value, count) pairs."""
    total = sum(n for _, n in histogram)
    out: dict[str, float] = {}
    for q in (0.5, 0.99):
        if not total:
            break
        rank, seen = min(total - 1, int(q * total)), 0
        for value, n in histogram:
            seen += n
            if seen > rank:
                out[f"p{round(q * 100)}"] = round(value, 3)
                break
    return out
