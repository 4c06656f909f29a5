"""The policy engine: rules and budgets applied before the strategy, through the extension point.

**Order and combination.** Rules are evaluated in file order; every rule whose conditions all
hold applies. Candidate actions accumulate (``allow_only``, ``deny``, ``require``, ``min_tier``,
``max_tier``, ``max_cost_usd`` each remove candidates, so their effect is the intersection);
the profile and the pin are set by the *last* matching rule that sets them (``raise_profile`` /
``lower_profile`` move whatever profile is current at that point); the first ``reject`` stops
the evaluation with a :class:`~routeiq_core.errors.PolicyError` carrying its message. Budgets
apply after the rules. If the rules would leave no candidate, the request is rejected with a
PolicyError naming the rules that removed them.

Every applied rule is named in the decision's reason (``policies: a, b``) and in
``details["policies"]``; exceeded budgets in ``details["budgets"]``.

**Budgets** count real spend (``cost_usd`` feedback: LiteLLM's ``response_cost``, or yours) per
team, key or user and period in the state store (``incr``: atomic across workers on Redis).
When a scope has spent its limit: ``downgrade`` switches the profile, ``deny_above`` removes
candidates above a price, ``reject`` refuses the request.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, PolicyError, RouteIQWarning
from ._model import Budget, PolicySet, Rule, Selector, Then, When, load_policies

if TYPE_CHECKING:
    from pathlib import Path

    from .._candidates import Candidate
    from .._decision import Decision
    from .._extensions import DecisionContext
    from .._router import Router
    from ..decisionlog import Feedback
    from ..state import StateStore

__all__ = ["Policies", "PolicyWarning"]

log = logging.getLogger("routeiq")
PROFILE_ORDER = ("free", "eco", "auto", "premium")
AGENTIC_THRESHOLD = 0.35  # the same threshold the centroid strategy uses for the flags
PERIOD_SECONDS = {"hour": 3600, "day": 86400, "week": 7 * 86400, "month": 31 * 86400}


class PolicyWarning(RouteIQWarning):
    """A policy that loads but can never have an effect (e.g. a rule that can never match)."""


def _selects(sel: Selector, c: Candidate) -> bool:
    return (c.name in sel.names or c.model in sel.models
            or any(c.model.startswith(p.rstrip("/") + "/") or c.model == p for p in sel.providers)
            or any(c.has(t) for t in sel.tags)
            or (sel.price_above_per_mtok is not None and c.blended_cost_per_mtok > sel.price_above_per_mtok)
            or (sel.tiers_above is not None and c.tier > sel.tiers_above))


def _period_start(period: str, now: float) -> str:
    t = datetime.fromtimestamp(now, tz=timezone.utc)
    if period == "hour":
        return t.strftime("%Y-%m-%dT%H")
    if period == "day":
        return t.strftime("%Y-%m-%d")
    if period == "week":
        return (t - timedelta(days=t.weekday())).strftime("%Y-W%m-%d")
    return t.strftime("%Y-%m")


class Policies:
    """The policy extension (see the module docstring)."""

    name = "policies"

    def __init__(self, policies: PolicySet | str | Path | dict[str, Any], *, store: StateStore | str | None = None,
                 clock: Any = time.time) -> None:
        from ..state import open_store

        self.policies = load_policies(policies)
        self.store = open_store(store)
        self.clock = clock
        self._patterns = {r.name: {k: re.compile(v) for k, v in (r.when.match or {}).items()}
                          for r in self.policies.rules}
        self._charges: OrderedDict[str, list[tuple[Budget, str]]] = OrderedDict()
        self._lock = threading.Lock()
        for problem in never_matching(self.policies):
            warnings.warn(problem, PolicyWarning, stacklevel=2)

    # ------------------------------------------------------------------ checks against the router
    def bind_router(self, router: Router) -> None:
        """Profiles and pins the policy names must exist (a ConfigError naming the rule, at start)."""
        for rule in self.policies.rules:
            t = rule.then
            if t.profile is not None and t.profile not in router.profiles:
                raise ConfigError(f"policy rule {rule.name!r}: unknown profile {t.profile!r} (known: "
                                  f"{sorted(router.profiles)})")
        for budget in self.policies.budgets:
            if budget.action == "downgrade" and budget.profile not in router.profiles:
                raise ConfigError(f"budget {budget.name!r}: unknown profile {budget.profile!r}")

    # ------------------------------------------------------------------ conditions
    def matches(self, rule: Rule, ctx: DecisionContext, now: float | None = None) -> bool:
        w: When = rule.when
        md, q, req = ctx.request.metadata, ctx.query, ctx.request
        if w.users is not None and md.user not in w.users:
            return False
        if w.teams is not None and md.team not in w.teams:
            return False
        if w.keys is not None and md.key_alias not in w.keys:
            return False
        if w.tags is not None and not set(w.tags) & set(md.tags):
            return False
        for field, pattern in self._patterns[rule.name].items():
            values = list(md.tags) if field == "tag" else [getattr(md, field)]
            if not any(v is not None and pattern.search(str(v)) for v in values):
                return False
        if w.categories is not None and q.category not in w.categories:
            return False
        if w.complexity is not None:
            level = q.complexity
            if (w.complexity.min is not None and level < w.complexity.min) or \
                    (w.complexity.max is not None and level > w.complexity.max):
                return False
        if w.agentic is not None and (q.features.get("agentic", 0.0) >= AGENTIC_THRESHOLD) != w.agentic:
            return False
        if w.reasoning is not None and (q.features.get("reasoning", 0.0) >= AGENTIC_THRESHOLD) != w.reasoning:
            return False
        if w.min_input_tokens is not None and q.input_tokens < w.min_input_tokens:
            return False
        if w.max_input_tokens is not None and q.input_tokens > w.max_input_tokens:
            return False
        if w.images is not None and req.has_images != w.images:
            return False
        if w.audio is not None and req.has_audio != w.audio:
            return False
        if w.tools is not None and bool(req.tools) != w.tools:
            return False
        if w.time is not None:
            t = datetime.fromtimestamp(self.clock() if now is None else now, tz=timezone.utc) + \
                timedelta(hours=w.time.utc_offset_hours)
            clock = t.time()
            inside = (w.time.start <= clock <= w.time.end) if w.time.start <= w.time.end else \
                (clock >= w.time.start or clock <= w.time.end)  # an overnight window
            if t.strftime("%a").lower() not in w.time.days or not inside:
                return False
        return True

    # ------------------------------------------------------------------ actions
    def _keep(self, ctx: DecisionContext, keep: Sequence[Candidate], rule: str, why: str,
              removed: dict[str, list[str]]) -> None:
        names = {c.name for c in keep}
        gone = [c.name for c in ctx.candidates if c.name not in names]
        if not gone:
            return
        removed.setdefault(rule, []).extend(gone)
        if not names:
            detail = "; ".join(f"{r} removed {', '.join(sorted(n))}" for r, n in removed.items())
            raise PolicyError(f"no candidate is left after the policies ({detail})", rule=rule)
        ctx.narrow(names, f"policy {rule}: {why}")

    def _apply(self, rule: Rule, ctx: DecisionContext, removed: dict[str, list[str]]) -> None:
        t: Then = rule.then
        if t.reject is not None:
            raise PolicyError(t.reject, rule=rule.name)
        pool = ctx.candidates
        if t.allow_only is not None:
            self._keep(ctx, [c for c in pool if _selects(t.allow_only, c)], rule.name, "not allowed", removed)
        if t.deny is not None:
            self._keep(ctx, [c for c in ctx.candidates if not _selects(t.deny, c)], rule.name, "denied", removed)
        if t.require:
            self._keep(ctx, [c for c in ctx.candidates if all(c.has(r) for r in t.require)], rule.name,
                       f"lacks {', '.join(t.require)}", removed)
        if t.min_tier is not None or t.max_tier is not None:
            low, high = t.min_tier or 1, t.max_tier or 5
            self._keep(ctx, [c for c in ctx.candidates if low <= c.tier <= high], rule.name,
                       f"tier outside {low}..{high}", removed)
        if t.max_cost_usd is not None:
            q = ctx.query
            self._keep(ctx, [c for c in ctx.candidates if c.expected_cost(q.input_tokens, q.output_tokens)
                             <= t.max_cost_usd], rule.name, f"estimated cost above ${t.max_cost_usd:g}", removed)
        if t.profile is not None:
            ctx.use_profile(t.profile)
        elif t.raise_profile or t.lower_profile:
            current = ctx.profile.name
            if current in PROFILE_ORDER:
                i = PROFILE_ORDER.index(current) + (1 if t.raise_profile else -1)
                target = PROFILE_ORDER[max(0, min(len(PROFILE_ORDER) - 1, i))]
                if target in ctx.profiles:
                    ctx.use_profile(target)
        if t.pin is not None and any(c.name == t.pin for c in ctx.candidates):
            ctx.pin_candidate(t.pin, f"policy {rule.name}: pinned {t.pin}")

    def _budgets(self, ctx: DecisionContext, removed: dict[str, list[str]]) -> list[dict[str, Any]]:
        md = ctx.request.metadata
        now = self.clock()
        out = []
        charges: list[tuple[Budget, str]] = []
        for b in self.policies.budgets:
            scope = {"team": md.team, "key": md.key_alias, "user": md.user}[b.scope]
            if scope is None:
                continue
            key = f"budget:{b.name}:{scope}:{_period_start(b.period, now)}"
            charges.append((b, key))
            raw = self.store.get(key)
            spent = float(raw) if raw else 0.0
            if spent < b.limit_usd:
                continue
            state = {"budget": b.name, "scope": f"{b.scope}={scope}", "spent_usd": round(spent, 6),
                     "limit_usd": b.limit_usd, "action": b.action}
            out.append(state)
            if b.action == "reject":
                raise PolicyError(f"budget {b.name} exceeded for {b.scope} {scope}: ${spent:.4f} of ${b.limit_usd:g} "
                                  f"this {b.period}", rule=b.name)
            if b.action == "downgrade":
                ctx.use_profile(b.profile)
            else:
                price = b.max_price_per_mtok or 0.0
                self._keep(ctx, [c for c in ctx.candidates if c.blended_cost_per_mtok <= price], b.name,
                           f"budget exceeded: price above ${price:g}/Mtok", removed)
            ctx.add_note(f"budget {b.name} exceeded (${spent:.4f} of ${b.limit_usd:g}): {b.action}")
        ctx.scratch["budget_charges"] = charges
        return out

    # ------------------------------------------------------------------ the hooks
    def before_decide(self, ctx: DecisionContext) -> None:
        applied: list[str] = []
        removed: dict[str, list[str]] = {}
        for rule in self.policies.rules:
            if self.matches(rule, ctx):
                self._apply(rule, ctx, removed)
                applied.append(rule.name)
        budgets = self._budgets(ctx, removed) if self.policies.budgets else []
        if applied:
            ctx.add_note("policies: " + ", ".join(applied))
        ctx.scratch["policies"] = (applied, budgets)

    def after_decide(self, decision: Decision, ctx: DecisionContext) -> Decision | None:
        import dataclasses

        found = ctx.scratch.get("policies")
        if not isinstance(found, tuple):
            return None
        applied, budgets = found
        charges = ctx.scratch.get("budget_charges")
        if charges:
            with self._lock:
                self._charges[decision.id] = charges  # type: ignore[assignment]
                while len(self._charges) > 100_000:
                    self._charges.popitem(last=False)
        if not applied and not budgets:
            return None
        return dataclasses.replace(decision, details={**decision.details, "policies": list(applied),
                                                      **({"budgets": budgets} if budgets else {})})

    def on_feedback(self, decision_id: str, report: Feedback) -> None:
        """Charge a real cost to the budgets the decision counted against (atomic on Redis)."""
        if report.cost_usd is None or report.cost_usd <= 0:
            return
        with self._lock:
            charges = self._charges.pop(decision_id, None)
        for budget, key in charges or ():
            self.store.incr(key, report.cost_usd, PERIOD_SECONDS[budget.period] + 3600)

    def spent(self, budget: str, scope: str) -> float:
        """What ``scope`` (a team, key or user) has spent against ``budget`` this period."""
        b = next(x for x in self.policies.budgets if x.name == budget)
        raw = self.store.get(f"budget:{b.name}:{scope}:{_period_start(b.period, self.clock())}")
        return float(raw) if raw else 0.0


def never_matching(policies: PolicySet) -> list[str]:
    """Rules whose conditions can never hold together (they load, with a warning)."""
    out = []
    for rule in policies.rules:
        w = rule.when
        why = None
        if any(v == [] for v in (w.users, w.teams, w.keys, w.tags, w.categories)):
            why = "an empty list matches nothing"
        elif w.min_input_tokens is not None and w.max_input_tokens is not None and \
                w.min_input_tokens > w.max_input_tokens:
            why = f"min_input_tokens {w.min_input_tokens} > max_input_tokens {w.max_input_tokens}"
        elif w.time is not None and not w.time.days:
            why = "time.days is empty"
        if why:
            out.append(f"policy rule {rule.name!r} can never match: {why}")
    return out
