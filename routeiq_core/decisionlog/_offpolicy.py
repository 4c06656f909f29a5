"""Off-policy evaluation: what another strategy or profile would have achieved on logged traffic.

Each logged decision i has the served candidate a_i, the probability p_i with which the
logging router selected it (``Decision.propensity``; below 1 only where
:class:`~routeiq_core.Exploration` was on), and an outcome r_i (quality in [0, 1], or
the real cost). The *target* router is replayed on the logged query (the stored embedding,
the category it implies, the logged signals and token counts) and picks t_i. Then

* **IPS**   V = mean_i  1[t_i = a_i] r_i / p_i
* **SNIPS** the same, divided by mean_i 1[t_i = a_i] / p_i (less variance, slightly biased)
* **DR**    V = mean_i  q(x_i, t_i) + 1[t_i = a_i] (r_i - q(x_i, a_i)) / p_i

with a reward model q: for quality, the mean outcome per (category, candidate) shrunk to the
candidate's mean and that to the overall mean; for cost, the decision's own estimate for the
candidate, corrected by real/estimated cost of the candidate that served. Intervals are 95%
normal intervals of the per-decision terms (the estimators are means of independent terms).

Only decisions with an outcome count; where feedback is missing not at random the estimate
is biased. Without exploration, IPS and DR see only decisions where the target agrees with
the logging router: the report says how many (``matched``) and the intervals show it.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .._request import Request, RequestMetadata
from .._stages import StageClock
from .._types import Query
from ..errors import ConfigError
from ._records import DecisionRecord, LoggedDecision

if TYPE_CHECKING:
    from .._router import Router

__all__ = ["PolicyEstimate", "evaluate_policy", "replay_query", "target_choices"]

SHRINK = 5.0  # pseudo-observations pulling a (category, candidate) mean to the candidate's mean


@dataclass(frozen=True)
class PolicyEstimate:
    value: float
    low: float
    high: float
    n: int

    def to_dict(self) -> dict[str, Any]:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def replay_query(record: DecisionRecord, router: Router) -> Query:
    """The strategy input of a logged decision, rebuilt from what the log keeps (no prompt text)."""
    embedding = record.embedding_array()
    if embedding is None:
        raise ConfigError(f"decision {record.id} has no stored embedding (log_embeddings was off): it cannot be "
                          "replayed for another strategy")
    norm = float(np.linalg.norm(embedding))
    embedding = embedding / norm if norm > 0 else embedding
    classification = router.featurizer.load().classify(embedding)
    signals = {name: value for name, value, _w in record.signals}
    features = {
        "agentic": signals.get("agentic", 0.0), "reasoning": signals.get("reasoning", 0.0),
        "difficulty": classification.difficulty, "complexity_score": signals.get("complexity", 0.0),
        "complexity": float(record.complexity or 3), "category_confidence": classification.confidence,
    }
    request = Request(messages=(), metadata=RequestMetadata(user=record.user, team=record.team,
                                                            key_alias=record.key_alias,
                                                            session_id=record.session_id, tags=record.tags))
    return Query(text="", embedding=embedding.astype(np.float32), request=request, features=features,
                 classification=classification, input_tokens=record.input_tokens,
                 output_tokens=record.output_tokens)


def target_choices(router: Router, rows: Sequence[LoggedDecision], profile: str | None = None) -> list[str]:
    """The candidate ``router`` would have chosen for each logged decision (replayed, not logged)."""
    out = []
    for row in rows:
        query = replay_query(row.record, router)
        assert query.request is not None
        chosen = router.rules.for_request(query.request, profile or row.record.profile)
        clock = StageClock()
        pending = router._before(query.request, chosen, frozenset(), query, clock)
        result = router._strategy.run(query, pending.eligibility.candidates, None)
        from .._choice import choose

        choice = choose(pending.eligibility.candidates, result.quality, result.estimate, query, pending.ctx.profile,
                        pending.ctx.pin)
        out.append(pending.eligibility.candidates[choice.first].name)
    return out


def _interval(terms: np.ndarray) -> PolicyEstimate:
    n = len(terms)
    mean = float(terms.mean()) if n else math.nan
    half = 1.96 * float(terms.std(ddof=1)) / math.sqrt(n) if n > 1 else math.inf
    return PolicyEstimate(mean, mean - half, mean + half, n)


def _quality_model(rows: Sequence[LoggedDecision], rewards: Sequence[float]) -> Callable[[str | None, str], float]:
    overall = float(np.mean(rewards)) if rewards else 0.5
    by_cand: dict[str, list[float]] = defaultdict(list)
    by_pair: dict[tuple[str | None, str], list[float]] = defaultdict(list)
    for row, r in zip(rows, rewards):
        by_cand[row.record.candidate].append(r)
        by_pair[(row.record.category, row.record.candidate)].append(r)
    cand_mean = {c: (sum(v) + SHRINK * overall) / (len(v) + SHRINK) for c, v in by_cand.items()}

    def q(category: str | None, candidate: str) -> float:
        prior = cand_mean.get(candidate, overall)
        values = by_pair.get((category, candidate), [])
        return (sum(values) + SHRINK * prior) / (len(values) + SHRINK)

    return q


def _cost_model(row: LoggedDecision, candidate: str) -> float:
    r, o = row.record, row.outcome
    estimates = {name: cost for name, _m, _q, cost, _s in r.ranking}
    served = estimates.get(r.candidate, 0.0)
    correction = (o.cost_usd / served) if (o is not None and o.cost_usd is not None and served > 0) else 1.0
    return float(estimates.get(candidate, served)) * correction


def _estimates(rows: Sequence[LoggedDecision], targets: Sequence[str], rewards: Sequence[float],
               model: Callable[[LoggedDecision, str], float]) -> dict[str, PolicyEstimate]:
    match = np.array([t == row.record.candidate for row, t in zip(rows, targets)], dtype=float)
    p = np.array([max(row.record.propensity, 1e-6) for row in rows])
    r = np.asarray(rewards, dtype=float)
    w = match / p
    ips = w * r
    q_target = np.array([model(row, t) for row, t in zip(rows, targets)])
    q_logged = np.array([model(row, row.record.candidate) for row in rows])
    dr = q_target + w * (r - q_logged)
    snips_value = float(ips.sum() / w.sum()) if w.sum() > 0 else math.nan
    # SNIPS interval: the delta method on the ratio of means
    if w.sum() > 0 and len(r) > 1:
        terms = w * (r - snips_value) / w.mean()
        half = 1.96 * float(terms.std(ddof=1)) / math.sqrt(len(r))
    else:
        half = math.inf
    return {"ips": _interval(ips), "snips": PolicyEstimate(snips_value, snips_value - half, snips_value + half,
                                                            len(r)),
            "dr": _interval(dr)}


#: Below this share of decisions where the target agrees with the served choice, say so.
LOW_OVERLAP = 0.10
#: A candidate the target picks this often (share) but that served fewer than MIN_SERVED times.
MIN_SERVED, OFTEN_PICKED = 30, 0.10


def overlap_warnings(rows: Sequence[LoggedDecision], targets: Sequence[str], matched: int) -> list[str]:
    """What makes the estimates rest on few decisions: little agreement with the served choices
    (``matched`` of them agree), or a candidate the target picks often that rarely served (its
    reward model is a guess)."""
    out = []
    n = len(rows)
    if n and matched / n < LOW_OVERLAP:
        out.append(f"the target agrees with the served choice on only {matched} of {n} decisions "
                   f"({matched / n:.0%}): IPS and DR rest on those and on the reward model; log with more "
                   "exploration (Exploration(epsilon, top_k=...)) before trusting the point estimates")
    served = Counter(row.record.candidate for row in rows)
    for name, picks in sorted(Counter(targets).items()):
        share = picks / n
        if share >= OFTEN_PICKED and served.get(name, 0) < MIN_SERVED:
            out.append(f"the target picks {name} on {share:.0%} of decisions, but it served only "
                       f"{served.get(name, 0)}: its predicted outcome is mostly the prior")
    return out


def evaluate_policy(router: Router, rows: Iterable[LoggedDecision], *, profile: str | None = None) -> dict[str, Any]:
    """Estimated quality and cost of ``router`` (a strategy, profile or artifact) on logged decisions."""
    with_outcome = [row for row in rows if row.outcome is not None]
    rated = [row for row in with_outcome if row.outcome is not None and row.outcome.quality is not None]
    costed = [row for row in with_outcome if row.outcome is not None and row.outcome.cost_usd is not None]
    if not rated and not costed:
        raise ConfigError("no logged decision has an outcome (score, success or cost_usd) yet: send feedback first")
    out: dict[str, Any] = {"decisions_with_outcome": len(with_outcome)}
    if rated:
        targets = target_choices(router, rated, profile)
        quality = [float(row.outcome.quality) for row in rated]  # type: ignore[union-attr,arg-type]
        qmodel = _quality_model(rated, quality)
        out["quality"] = {k: v.to_dict() for k, v in _estimates(
            rated, targets, quality, lambda row, c: qmodel(row.record.category, c)).items()}
        out["quality"]["logged"] = _interval(np.asarray(quality)).to_dict()
        out["matched"] = int(sum(t == row.record.candidate for row, t in zip(rated, targets)))
        out["explored"] = int(sum(row.record.propensity < 1.0 for row in rated))
        out["target_share"] = {name: round(targets.count(name) / len(targets), 4) for name in sorted(set(targets))}
        out["warnings"] = overlap_warnings(rated, targets, out["matched"])
    if costed:
        targets = target_choices(router, costed, profile)
        cost = [float(row.outcome.cost_usd) for row in costed]  # type: ignore[union-attr,arg-type]
        out["cost"] = {k: v.to_dict() for k, v in _estimates(costed, targets, cost, _cost_model).items()}
        out["cost"]["logged"] = _interval(np.asarray(cost)).to_dict()
    return out
