"""What the log says about routing: traffic mix, outcomes, decide() latency, spend and savings.

Read in pages (:func:`iter_log`), so memory stays bounded on a large log.

**Savings** compare the real spend (the ``cost_usd`` LiteLLM or the caller reported) with what
a baseline would have cost on the same requests: ``strongest`` (the priciest eligible
candidate of each decision) or a candidate the user names. The baseline's cost is the
decision's own estimate for it, corrected by how far the estimate was off for the candidate
that served (real cost / estimated cost of the served one: same prompt, same length, so the
token-count error carries over). Decisions without a real cost are left out and counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._records import LoggedDecision

__all__ = ["LogStats", "log_stats"]


@dataclass
class LogStats:
    decisions: int = 0
    first_ts: float | None = None
    last_ts: float | None = None
    models: Counter[str] = field(default_factory=Counter)
    categories: Counter[str] = field(default_factory=Counter)
    profiles: Counter[str] = field(default_factory=Counter)
    fallbacks: int = 0
    explored: int = 0
    with_feedback: int = 0
    outcomes: dict[str, list[int]] = field(default_factory=dict)  # model -> [reports with success, successes]
    decide_ms: list[float] = field(default_factory=list)
    spend: float = 0.0
    baseline_spend: float = 0.0
    costed: int = 0  # decisions with a real cost and a baseline estimate
    uncosted: int = 0
    baseline: str = "strongest"

    def add(self, row: LoggedDecision) -> None:
        r, o = row.record, row.outcome
        self.decisions += 1
        self.first_ts = r.ts if self.first_ts is None else min(self.first_ts, r.ts)
        self.last_ts = r.ts if self.last_ts is None else max(self.last_ts, r.ts)
        self.models[r.model] += 1
        self.categories[r.category or "-"] += 1
        self.profiles[r.profile] += 1
        self.fallbacks += r.fallback
        self.explored += r.propensity < 1.0
        if "total" in r.timings_ms:
            self.decide_ms.append(float(r.timings_ms["total"]))
        if o is None:
            self.uncosted += 1
            return
        self.with_feedback += 1
        if o.success is not None:
            counts = self.outcomes.setdefault(r.model, [0, 0])
            counts[0] += 1
            counts[1] += bool(o.success)
        baseline = _baseline_cost(row, self.baseline)
        if o.cost_usd is None or baseline is None:
            self.uncosted += 1
            return
        self.costed += 1
        self.spend += o.cost_usd
        self.baseline_spend += baseline

    def to_dict(self) -> dict[str, Any]:
        ms = np.asarray(self.decide_ms) if self.decide_ms else None
        saved = self.baseline_spend - self.spend
        return {
            "decisions": self.decisions,
            "first_ts": self.first_ts,
            "last_ts": self.last_ts,
            "models": dict(self.models.most_common()),
            "categories": dict(self.categories.most_common()),
            "profiles": dict(self.profiles.most_common()),
            "fallbacks": self.fallbacks,
            "explored": self.explored,
            "with_feedback": self.with_feedback,
            "success_rate": {m: {"reports": n, "success_rate": round(s / n, 4)} for m, (n, s) in
                             sorted(self.outcomes.items()) if n},
            "decide_ms": None if ms is None else {"p50": round(float(np.percentile(ms, 50)), 3),
                                                  "p99": round(float(np.percentile(ms, 99)), 3)},
            "savings": {
                "baseline": self.baseline,
                "decisions_with_real_cost": self.costed,
                "decisions_without": self.uncosted,
                "spend_usd": round(self.spend, 6),
                "baseline_usd": round(self.baseline_spend, 6),
                "saved_usd": round(saved, 6),
                "saved_share": round(saved / self.baseline_spend, 4) if self.baseline_spend > 0 else None,
            },
        }


def _baseline_cost(row: LoggedDecision, baseline: str) -> float | None:
    r, o = row.record, row.outcome
    if not r.ranking or o is None or o.cost_usd is None:
        return None
    by_name = {name: (model, cost) for name, model, _q, cost, _s in r.ranking}
    if baseline == "strongest":
        reference = max(r.ranking, key=lambda a: a[3])[3]
    elif baseline in by_name:
        reference = by_name[baseline][1]
    else:
        match = [cost for _n, model, _q, cost, _s in r.ranking if model == baseline]
        if not match:
            return None
        reference = match[0]
    served = by_name.get(o.served_by or r.candidate) or by_name.get(r.candidate)
    estimate = served[1] if served else 0.0
    correction = o.cost_usd / estimate if estimate > 0 else 1.0
    return float(reference) * correction


def log_stats(rows: Iterable[LoggedDecision], *, baseline: str = "strongest") -> LogStats:
    """Aggregate ``rows`` (e.g. ``iter_log(log, LogFilter(since=...))``)."""
    stats = LogStats(baseline=baseline)
    for row in rows:
        stats.add(row)
    return stats
