"""Experiments: assign each request's unit to an arm, route it with that arm, shadow the others.

Assignment is deterministic and sticky: the arm of a unit (a user, team, key, session) is
picked from the served arms' weights by ``sha256(experiment + ":" + unit)``, identical in
every process and on every machine, with no state. A request whose unit is missing (no user
id with ``unit: user``) is assigned on its own, at random, and the decision says so.

An arm applies before the strategy, through the pipeline's extension point: its profile,
its candidate subset, its centroids (the request is featurized again with them) and its
strategy or artifact (``DecisionContext.use_strategy``). The decision carries
``details["experiment"]``, ``details["arm"]`` and ``details["served"]``.

Shadow arms decide on the same request after the served decision, on one background
thread (bounded queue of 256; a full queue drops the shadow decision and counts it in
``shadow_dropped``): the request never waits for them. Their decisions go to the decision
log with ``served: false`` and ``shadow_of`` (the served decision's id) for the paired
comparison in ``routeiq experiments report``. Without a log they are not computed.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, describe_error
from ._config import ArmConfig, ExperimentConfig, check_overlaps

if TYPE_CHECKING:
    from .._decision import Decision
    from .._extensions import DecisionContext
    from .._router import Router

__all__ = ["Experiments", "assign"]

SHADOW_QUEUE = 256


def assign(experiment: str, unit: str, arms: Sequence[ArmConfig]) -> ArmConfig:
    """The served arm of ``unit``: a point in [0, 1) from sha256(experiment:unit), split by weight."""
    digest = hashlib.sha256(f"{experiment}:{unit}".encode("utf-8", "surrogatepass")).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64
    served = [a for a in arms if not a.shadow and a.weight > 0]
    total = sum(a.weight for a in served)
    edge = 0.0
    for arm in served:
        edge += arm.weight / total
        if point < edge:
            return arm
    return served[-1]


@dataclass
class _Arm:
    config: ArmConfig
    stage: Any = None  # a StrategyStage, when the arm changes the strategy
    featurizer: Any = None  # a Featurizer, when the arm changes the centroids


class Experiments:
    """The experiments extension (see the module docstring)."""

    name = "experiments"

    def __init__(self, experiments: Sequence[ExperimentConfig | dict[str, Any]]) -> None:
        from .._config import validate_config

        self.experiments = [e if isinstance(e, ExperimentConfig) else validate_config(ExperimentConfig, e, "experiment")
                            for e in experiments]
        check_overlaps(self.experiments)
        self._windows = [(exp, *exp._bounds()) for exp in self.experiments]  # computed once: checked per request
        self._arms: dict[tuple[str, str], _Arm] = {}
        self._router: Router | None = None
        self._shadow_queue: queue.Queue[tuple[Any, ...]] = queue.Queue(maxsize=SHADOW_QUEUE)
        self._shadow_thread: threading.Thread | None = None
        self._in_flight = 0
        self._flight_lock = threading.Lock()

    # ------------------------------------------------------------------ building the arms
    def bind_router(self, router: Router) -> None:
        """Build every arm against the first router bound (``Router`` calls this): a missing artifact,
        strategy, profile or candidate is a ConfigError naming the arm, at start. Routers derived
        with ``with_candidates`` (LiteLLM's model groups) share the built arms."""
        from .._estimation import StrategyStage
        from .._featurize import Featurizer
        from .._persist import load_strategy
        from .._registry import default_registry, resolve_strategy

        if self._router is not None:
            return
        self._router = router
        names = {c.name for c in router.candidates}
        for exp in self.experiments:
            for arm in exp.arms:
                where = f"experiment {exp.name!r}, arm {arm.name!r}"
                try:
                    built = _Arm(arm)
                    if arm.profile is not None and arm.profile not in router.profiles:
                        raise ConfigError(f"unknown profile {arm.profile!r} (known: {sorted(router.profiles)})")
                    missing = sorted(set(arm.candidates or ()) - names)
                    if missing:
                        raise ConfigError(f"candidates {missing} are not among the router's ({sorted(names)[:10]})")
                    if arm.artifact is not None:
                        strategy = load_strategy(arm.artifact, registry=default_registry(),
                                                 embedding_model=router.embedder.model_id)
                        built.stage = StrategyStage(strategy, counters=router.counters)
                    elif arm.strategy is not None:
                        built.stage = StrategyStage(resolve_strategy(arm.strategy, arm.strategy_params),
                                                    counters=router.counters)
                    if arm.centroids is not None:
                        built.featurizer = Featurizer(router.embedder, arm.centroids)
                        built.featurizer.load()
                except ConfigError as exc:
                    raise ConfigError(f"{where}: {exc}") from None
                except Exception as exc:
                    raise ConfigError(f"{where}: {describe_error(exc)}") from None
                self._arms[(exp.name, arm.name)] = built

    # ------------------------------------------------------------------ per request
    @staticmethod
    def _unit(exp: ExperimentConfig, ctx: DecisionContext) -> str | None:
        md = ctx.request.metadata
        return {"user": md.user, "team": md.team, "key": md.key_alias, "session": md.session_id,
                "request": None}[exp.unit]

    def _apply(self, arm: _Arm, ctx: DecisionContext) -> None:
        if arm.featurizer is not None and ctx.query.embedding is not None:
            ctx.use_query(arm.featurizer.featurize(ctx.request, embedding=ctx.query.embedding))
        if arm.config.profile is not None:
            ctx.use_profile(arm.config.profile)
        if arm.config.candidates:
            ctx.narrow(arm.config.candidates, f"not in arm {arm.config.name!r}")
        if arm.stage is not None:
            ctx.use_strategy(arm.stage)

    def before_decide(self, ctx: DecisionContext) -> None:
        now = time.time()
        for exp, start, stop in self._windows:
            if not start <= now < stop:
                continue
            unit = self._unit(exp, ctx)
            note = None
            if unit is None:
                if exp.unit != "request":
                    note = f"experiment {exp.name}: no {exp.unit} in the request, assigned per request"
                unit = os.urandom(8).hex()
            arm = self._arms.get((exp.name, assign(exp.name, f"{exp.unit}:{unit}", exp.arms).name))
            if arm is None:  # not attached (an Experiments object used without a Router)
                return
            self._apply(arm, ctx)
            ctx.add_note(f"experiment {exp.name}: arm {arm.config.name}")
            if note:
                ctx.warn(note)
            ctx.scratch["experiment"] = (exp, arm.config.name, ctx.candidates)
            return  # windows do not overlap: one experiment at most

    def after_decide(self, decision: Decision, ctx: DecisionContext) -> Decision | None:
        import dataclasses

        found = ctx.scratch.get("experiment")
        if not isinstance(found, tuple):
            return None
        exp, arm_name, _ = found
        decision = dataclasses.replace(decision, details={**decision.details, "experiment": exp.name,
                                                          "arm": arm_name, "served": True})
        router = ctx.router
        if router is not None and router.log is not None:
            for arm in exp.arms:
                if arm.shadow:
                    self._shadow(exp, self._arms[(exp.name, arm.name)], decision, ctx)
        return decision

    # ------------------------------------------------------------------ shadow arms
    def _shadow(self, exp: ExperimentConfig, arm: _Arm, served: Decision, ctx: DecisionContext) -> None:
        if self._shadow_thread is None:
            self._shadow_thread = threading.Thread(target=self._shadow_loop, name="routeiq-shadow", daemon=True)
            self._shadow_thread.start()
        try:
            with self._flight_lock:
                self._shadow_queue.put_nowait((exp, arm, served, ctx))
                self._in_flight += 1
        except queue.Full:
            ctx.router.counters.inc("shadow_dropped")

    def _shadow_loop(self) -> None:
        while True:
            exp, arm, served, ctx = self._shadow_queue.get()
            try:
                self._shadow_decide(exp, arm, served, ctx)
            except Exception:
                ctx.router.counters.inc("shadow_failures")
            finally:
                with self._flight_lock:
                    self._in_flight -= 1

    def _shadow_decide(self, exp: ExperimentConfig, arm: _Arm, served: Decision, ctx: DecisionContext) -> None:
        import dataclasses

        from .._extensions import DecisionContext as Context

        router = ctx.router
        assert router is not None and router.log is not None
        shadow = Context(ctx.request, served.query or ctx.query, router.rules.for_request(ctx.request, None),
                         router.candidates, router.strategy, router.profiles, router=router)
        self._apply(arm, shadow)
        decision = router._decide_context(shadow)
        decision = dataclasses.replace(decision, details={**decision.details, "experiment": exp.name,
                                                          "arm": arm.config.name, "served": False,
                                                          "shadow_of": served.id})
        router.log.after_decide(decision, shadow)
        router.counters.inc("shadow_decisions")

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until the queued shadow decisions are made and handed to the log (tests, shutdown)."""
        end = time.monotonic() + timeout
        while self._in_flight and time.monotonic() < end:
            time.sleep(0.005)
        return self._in_flight == 0

    def close(self) -> None:
        """Finish the queued shadow decisions (``Router.close`` calls it before closing the log)."""
        self.flush()
