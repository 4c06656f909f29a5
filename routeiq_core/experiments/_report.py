"""The experiment report: per arm, what it served and how it went; a verdict against the control.

Per served arm: decisions, share, mean outcome (score, else success as 1/0) and success rate
with 95% intervals, mean real cost, mean latency. The verdict compares each arm with the
control (``--control``, default the arm with the most decisions) by the difference of mean
outcomes and its 95% interval (Welch's normal approximation). When the interval contains 0
the verdict is *not enough data yet*, with the sample size per arm that would detect the
observed difference with 80% power at the 5% level::

    n = (1.96 + 0.84)^2 * (var_a + var_b) / difference^2

Shadow arms never served, so their outcome is unknown: they are compared on the same
requests (paired, by ``shadow_of``): how often they agree with the served choice, and the
model-based difference of quality (mean outcome per category and candidate, from the
served decisions) between the shadow's choice and the served one.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..decisionlog._records import LoggedDecision

__all__ = ["Comparison", "compare", "experiment_report"]

Z = 1.959963984540054  # two-sided 95%
Z_POWER = 0.8416212335729143  # 80% power


@dataclass(frozen=True)
class Comparison:
    difference: float
    low: float
    high: float
    significant: bool
    needed_per_arm: int | None  # for the observed difference, when not significant

    def to_dict(self) -> dict[str, Any]:
        return {"difference": round(self.difference, 6), "low": round(self.low, 6), "high": round(self.high, 6),
                "significant": self.significant, "needed_per_arm": self.needed_per_arm}


def compare(treatment: Sequence[float] | np.ndarray, control: Sequence[float] | np.ndarray) -> Comparison:
    """Difference of means (treatment - control) with a 95% interval, and the n it needs when unclear."""
    a, b = np.asarray(treatment, dtype=float), np.asarray(control, dtype=float)
    if len(a) < 2 or len(b) < 2:
        return Comparison(math.nan, -math.inf, math.inf, False, None)
    diff = float(a.mean() - b.mean())
    va, vb = float(a.var(ddof=1)), float(b.var(ddof=1))
    half = Z * math.sqrt(va / len(a) + vb / len(b))
    significant = half > 0 and abs(diff) > half
    needed: int | None = None
    if not significant and diff != 0:
        n = (Z + Z_POWER) ** 2 * (va + vb) / diff**2
        needed = int(math.ceil(n)) if math.isfinite(n) else None
    return Comparison(diff, diff - half, diff + half, significant, needed)


def _mean_ci(values: Sequence[float]) -> dict[str, Any] | None:
    if not values:
        return None
    x = np.asarray(values, dtype=float)
    half = Z * float(x.std(ddof=1)) / math.sqrt(len(x)) if len(x) > 1 else math.inf
    return {"mean": round(float(x.mean()), 6), "low": round(float(x.mean()) - half, 6),
            "high": round(float(x.mean()) + half, 6), "n": len(x)}


def experiment_report(rows: Iterable[LoggedDecision], control: str | None = None) -> dict[str, Any]:
    """Every experiment found in ``rows`` (decision-log rows), arm by arm (see the module docstring)."""
    served: dict[str, dict[str, list[LoggedDecision]]] = defaultdict(lambda: defaultdict(list))
    shadows: dict[str, dict[str, list[LoggedDecision]]] = defaultdict(lambda: defaultdict(list))
    by_id: dict[str, LoggedDecision] = {}
    for row in rows:
        r = row.record
        if r.experiment is None or r.arm is None:
            continue
        (served if r.served else shadows)[r.experiment][r.arm].append(row)
        if r.served:
            by_id[r.id] = row
    out: dict[str, Any] = {}
    for name in sorted(set(served) | set(shadows)):
        arms = served.get(name, {})
        total = sum(len(v) for v in arms.values())
        report: dict[str, Any] = {"decisions": total, "arms": {}}
        outcomes: dict[str, list[float]] = {}
        for arm, arm_rows in sorted(arms.items()):
            quality = [row.outcome.quality for row in arm_rows if row.outcome and row.outcome.quality is not None]
            success = [float(row.outcome.success) for row in arm_rows if row.outcome and row.outcome.success is not None]
            cost = [row.outcome.cost_usd for row in arm_rows if row.outcome and row.outcome.cost_usd is not None]
            latency = [row.outcome.latency_ms for row in arm_rows if row.outcome and row.outcome.latency_ms is not None]
            outcomes[arm] = [float(q) for q in quality]
            report["arms"][arm] = {
                "decisions": len(arm_rows), "share": round(len(arm_rows) / total, 4) if total else 0.0,
                "outcome": _mean_ci(outcomes[arm]), "success_rate": _mean_ci(success),
                "mean_cost_usd": round(float(np.mean(cost)), 8) if cost else None,
                "mean_latency_ms": round(float(np.mean(latency)), 3) if latency else None,
            }
        reference = control if control in arms else (max(arms, key=lambda a: len(arms[a])) if arms else None)
        report["control"] = reference
        for arm in report["arms"]:
            if arm == reference or reference is None:
                continue
            cmp = compare(outcomes[arm], outcomes[reference])
            verdict = cmp.to_dict()
            if math.isnan(cmp.difference):
                verdict["verdict"] = "not enough data yet: fewer than 2 outcomes in an arm"
            elif cmp.significant:
                verdict["verdict"] = f"{arm} is {'better' if cmp.difference > 0 else 'worse'} than {reference} by " \
                                     f"{abs(cmp.difference):.3f} (95% {cmp.low:+.3f} .. {cmp.high:+.3f})"
            else:
                need = ("more than any traffic can give (no difference observed)" if cmp.needed_per_arm is None
                        else f"about {cmp.needed_per_arm} outcomes per arm")
                verdict["verdict"] = f"not enough data yet: the observed difference {cmp.difference:+.3f} needs {need}"
            report["arms"][arm]["versus_control"] = verdict
        report["shadows"] = _shadow_report(shadows.get(name, {}), by_id, list(by_id.values()))
        out[name] = report
    return out


def _shadow_report(shadows: dict[str, list[LoggedDecision]], by_id: dict[str, LoggedDecision],
                   served_rows: list[LoggedDecision]) -> dict[str, Any]:
    if not shadows:
        return {}
    means: dict[tuple[str | None, str], list[float]] = defaultdict(list)
    for row in served_rows:
        if row.outcome is not None and row.outcome.quality is not None:
            means[(row.record.category, row.record.candidate)].append(float(row.outcome.quality))
    overall = float(np.mean([v for vs in means.values() for v in vs])) if means else math.nan

    def q(category: str | None, candidate: str) -> float:
        values = means.get((category, candidate))
        return float(np.mean(values)) if values else overall

    out = {}
    for arm, rows in sorted(shadows.items()):
        pairs = [(row, by_id[row.record.shadow_of]) for row in rows if row.record.shadow_of in by_id]
        agree = sum(s.record.candidate == p.record.candidate for s, p in pairs)
        diffs = [q(s.record.category, s.record.candidate) - q(p.record.category, p.record.candidate)
                 for s, p in pairs]
        out[arm] = {"paired_requests": len(pairs), "agreement": round(agree / len(pairs), 4) if pairs else None,
                    "model_based_quality_difference": _mean_ci(diffs),
                    "note": "never served: its quality is estimated from the served arms' outcomes per category and "
                            "candidate"}
    return out
