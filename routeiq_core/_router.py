"""Router: orchestration of the decision stages, nothing else.

    parse -> featurize -> extensions (before) -> eligibility -> strategy -> choice
          -> explanation -> Decision -> extensions (after)

Each stage is a function or object in its own module (``_request``/``_profiles``,
``_featurize``, ``_extensions``, ``_eligibility``, ``_estimation``, ``_choice``,
``_explain``); :class:`~routeiq_core._stages.StageClock` times them. The sync, async
and batch paths share every stage.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from ._building import decision_logger, router_from_artifact, router_from_config
from ._candidates import Candidate, CandidatesLike, Catalog, as_catalog
from ._centroids import CentroidSet
from ._choice import choose
from ._config import RouterConfig
from ._counters import Counters
from ._deadline import FeaturizeStage, check_deadline
from ._decision import Decision
from ._eligibility import Eligibility, eligible_candidates, exclude_names
from ._embedding import Embedder, default_embedder
from ._estimation import StrategyResult, StrategyStage
from ._explain import explain
from ._extensions import DecisionContext, ExtensionRunner
from ._featurize import CentroidsLike, Featurizer
from ._feedback import close_router, record_feedback
from ._model_coverage import TrainedModelsCheck, check_trained
from ._profiles import Profile, ProfileRules
from ._registry import StrategyRegistry, resolve_strategy
from ._request import Request, batch_arguments, parse_request
from ._stages import StageClock
from ._strategy import Strategy, validate_strategy
from ._types import Query
from .errors import ConfigError

if TYPE_CHECKING:
    from .decisionlog import Feedback

__all__ = ["Router"]


class _Pending(NamedTuple):
    """A request up to the strategy: the extensions' context and the eligible candidates."""

    ctx: DecisionContext
    eligibility: Eligibility
    missed: str | None = None  # why the query has no embedding (the deadline passed)


class Router:
    """Decide which candidate (deployment) should serve each request.

    Args:
        candidates: Candidate objects or dicts, a :class:`Catalog`, or a JSON/YAML file path.
            Default: the built-in catalog.
        strategy: ``"centroid"`` (zero-config, default), a registered strategy name,
            or a strategy instance (fitted if it needs training).
        strategy_params: parameters for a strategy given by name.
        profile / profiles / team_profiles / key_profiles: the default profile, extra or
            overriding profiles, and default profiles per team id / API key alias.
        embedder: any :class:`Embedder`; default: the shipped all-MiniLM-L6-v2 ONNX model.
        centroids: a centroid directory built with ``routeiq centroids build``, or a CentroidSet.
        registry: where strategy names are looked up (default: the plugin registry).
        extensions: objects with ``before_decide(ctx)`` and/or ``after_decide(decision, ctx)``
            hooks (see :class:`~routeiq_core.RouterExtension`), run in order.
        deadline_ms: the longest a decision waits for its embedding (default: no limit); past it,
            the decision is made on the request's signals and the profile only.
        log: record every decision: a URL (``sqlite:///decisions.db``, ``postgresql://...``,
            ``jsonl:///path``, ``memory://``), a :class:`~routeiq_core.decisionlog.DecisionLog`, or a
            configured :class:`~routeiq_core.decisionlog.DecisionLogger`. Written in the background.
    """

    def __init__(
        self, candidates: CandidatesLike | None = None, *, strategy: str | Strategy = "centroid",
        strategy_params: Mapping[str, Any] | None = None, profile: str = "auto",
        profiles: Mapping[str, Profile | Mapping[str, Any]] | None = None,
        team_profiles: Mapping[str, str] | None = None, key_profiles: Mapping[str, str] | None = None,
        embedder: Embedder | None = None, centroids: CentroidsLike = None,
        registry: StrategyRegistry | None = None, extensions: Sequence[object] = (),
        deadline_ms: float | None = None, log: Any = None,
    ) -> None:
        catalog = as_catalog(candidates)
        rules = ProfileRules.build(profiles, profile, team_profiles, key_profiles)
        featurizer = Featurizer(embedder if embedder is not None else default_embedder(), centroids)
        self.deadline_ms = None if deadline_ms is None else check_deadline(deadline_ms)
        if isinstance(extensions, (str, bytes)) or not isinstance(extensions, Sequence):
            raise ConfigError(f"extensions: expected a list of extension objects, got {type(extensions).__name__}")
        self.log = decision_logger(log, registry)  # binds itself to this router: counters, embedder, evidence
        self.observations = 0  # feedback reports a refining strategy learned from
        tail = (self.log,) if self.log is not None else ()
        self._assemble(catalog, rules, featurizer, resolve_strategy(strategy, strategy_params, registry),
                       (*extensions, *tail))

    def _assemble(self, catalog: Catalog, rules: ProfileRules, featurizer: Featurizer, strategy: Strategy,
                  extensions: tuple[object, ...]) -> None:
        abilities = validate_strategy(strategy)
        trained_models = check_trained(strategy, featurizer.embedder)
        self.catalog, self.rules, self.featurizer, self._extensions = catalog, rules, featurizer, extensions
        #: What it routes with (read them; build another Router to change them).
        self.candidates: tuple[Candidate, ...] = catalog.candidates
        self.strategy, self.embedder = strategy, featurizer.embedder
        self.profiles: Mapping[str, Profile] = rules.profiles
        self.default_profile = rules.default
        self.counters = Counters()
        self._featurize = FeaturizeStage(featurizer, self.counters)
        self._strategy = StrategyStage(strategy, counters=self.counters, abilities=abilities)
        self._min_context = min((c.context_window or 1 << 62) for c in catalog.candidates)
        builtin = [TrainedModelsCheck(strategy.name, catalog.candidates, trained_models)] if trained_models else []
        self.extensions = ExtensionRunner([*builtin, *extensions], self.counters)
        for ext in extensions:  # extensions that build against the router (experiment arms)
            bind = getattr(ext, "bind_router", None)
            if callable(bind):
                bind(self)

    def with_candidates(self, candidates: CandidatesLike) -> Router:
        """A router over other candidates sharing this one's strategy, embedder, centroids and profiles."""
        return self._derived(as_catalog(candidates), self.log, self._extensions)

    def preview(self) -> Router:
        """A router that decides like this one (candidates, strategy, embedder, profiles) but records
        nothing and runs no extension: for trying a prompt (the dashboard) without a trace of it."""
        return self._derived(self.catalog, None, ())

    def _derived(self, catalog: Catalog, log: Any, extensions: tuple[object, ...]) -> Router:
        router = Router.__new__(Router)
        router.deadline_ms, router.log, router.observations = self.deadline_ms, log, 0
        router._assemble(catalog, self.rules, self.featurizer, self.strategy, extensions)
        return router

    @classmethod
    def from_artifact(cls, path: str | os.PathLike[str], candidates: CandidatesLike | None = None, *,
                      registry: StrategyRegistry | None = None, **kwargs: Any) -> Router:
        """A router whose strategy is loaded from a directory written by ``save`` / ``routeiq train``.

        The artifact must have been trained with the same embedding model, and at least one
        candidate must be a model it was trained on (else :class:`ConfigError` lists them).
        """
        return router_from_artifact(cls, path, candidates, registry, kwargs)

    @classmethod
    def from_config(cls, config: str | os.PathLike[str] | Mapping[str, Any] | RouterConfig, **overrides: Any) -> Router:
        """The one builder: a router from a :class:`RouterConfig` (or subclass), a dict, or a JSON/YAML
        file; ``overrides`` are Router keyword arguments and win. With ``artifact`` set, the strategy
        is loaded from it (:meth:`from_artifact`)."""
        return router_from_config(cls, config, overrides)

    # ------------------------------------------------------------------ what it routes with
    @property
    def centroids(self) -> CentroidSet:
        """The centroid classifier (the embedding model and centroids load on first access)."""
        return self.featurizer.load()

    def load(self) -> None:
        """Load the embedding model and the centroids now instead of on the first decision."""
        self.featurizer.load()

    def make_query(self, request: Request | str, embedding: np.ndarray | None = None,
                   instruction_embedding: np.ndarray | None = None) -> Query:
        """The strategy input for a request: embedding, category and signal features (given
        vectors skip the model: see :meth:`Featurizer.featurize`)."""
        return self.featurizer.query(request if isinstance(request, Request) else parse_request(request), embedding,
                                     instruction_embedding)

    # ------------------------------------------------------------------ the stages
    def _parse(self, prompt: Any, messages: Any, tools: Any, functions: Any, metadata: Any, profile: Any,
               exclude: Any) -> tuple[Request, Profile, frozenset[str]]:
        names = exclude_names(exclude)
        request = parse_request(prompt, messages=messages, tools=tools, functions=functions, metadata=metadata)
        return request, self.rules.for_request(request, profile), names

    def _before(self, request: Request, profile: Profile, exclude: frozenset[str], query: Query,
                clock: StageClock, missed: str | None = None) -> _Pending:
        ctx = DecisionContext(request, query, profile, self.candidates, self.strategy, self.profiles, router=self)
        if self.extensions:
            clock.run("before", self.extensions.before, ctx)
        pool = ctx.candidates
        eligibility = clock.run("eligibility", eligible_candidates, pool, ctx.query, ctx.profile, exclude,
                                min_context=self._min_context if pool is self.candidates else None)
        return _Pending(ctx, eligibility, missed)

    def _prepare(self, args: tuple[Any, ...], clock: StageClock, deadline_ms: float | None) -> _Pending:
        request, profile, exclude = clock.run("parse", self._parse, *args)
        query, missed = self._featurize.run(request, clock, self._deadline(deadline_ms))
        return self._before(request, profile, exclude, query, clock, missed)

    def _complete(self, pending: _Pending, clock: StageClock, *, after: bool = True) -> Decision:
        """The sync strategy stage (the router's, or the one an extension chose), then the rest."""
        stage = pending.ctx.stage or self._strategy
        return self._finish(pending, clock.run("strategy", stage.run, pending.ctx.query,
                                               pending.eligibility.candidates, pending.missed), clock, after=after)

    def _decide_context(self, ctx: DecisionContext) -> Decision:
        """Eligibility, strategy, choice and explanation for a context an extension prepared, with no
        extensions run (an experiment's shadow arm decides this way)."""
        eligibility = eligible_candidates(ctx.candidates, ctx.query, ctx.profile, frozenset())
        return self._complete(_Pending(ctx, eligibility), StageClock(), after=False)

    def _finish(self, pending: _Pending, result: StrategyResult, clock: StageClock, *, after: bool = True) -> Decision:
        ctx, eligibility, _ = pending
        choice = clock.run("choice", choose, eligibility.candidates, result.quality, result.estimate, ctx.query,
                           ctx.profile, ctx.pin)
        why = clock.run("explain", explain, ctx, eligibility, choice, result)
        decision = Decision(
            candidate=eligibility.candidates[choice.first], ranking=choice.ranking, profile=ctx.profile.name,
            strategy=(ctx.stage or self._strategy).name, category=why.category, confidence=why.confidence,
            complexity=ctx.query.complexity, signals=ctx.query.signals, reason=why.reason, excluded=why.excluded,
            timings_ms=clock.finish(), fallback=result.failure is not None, details=dict(result.estimate.details),
            warnings=why.warnings, query=ctx.query,
        )
        return self.extensions.after(decision, ctx) if self.extensions and after else decision

    # ------------------------------------------------------------------ public API
    def decide(self, prompt: Any = None, *, messages: Any = None, tools: Any = None, functions: Any = None,
               metadata: Any = None, profile: str | None = None, exclude: Collection[str] = (),
               deadline_ms: float | None = None) -> Decision:
        """Choose a candidate for a prompt string or OpenAI-style ``messages``.

        ``deadline_ms`` (default: the router's) bounds the embedding; past it the decision is
        made on the request's signals and the profile only, with a warning. Raises a
        :class:`RouteIQError` subclass for malformed input, an unknown profile, or when no
        candidate is eligible (e.g. ``free`` with no free one).
        """
        clock = StageClock()
        args = (prompt, messages, tools, functions, metadata, profile, exclude)
        return self._complete(self._prepare(args, clock, deadline_ms), clock)

    async def adecide(self, prompt: Any = None, *, messages: Any = None, tools: Any = None, functions: Any = None,
                      metadata: Any = None, profile: str | None = None, exclude: Collection[str] = (),
                      deadline_ms: float | None = None) -> Decision:
        """Async :meth:`decide`: the embedding runs on the embedding pool, never on the event loop."""
        clock = StageClock()
        request, chosen, names = clock.run("parse", self._parse, prompt, messages, tools, functions, metadata,
                                           profile, exclude)
        query, missed = await self._featurize.arun(request, clock, self._deadline(deadline_ms))
        pending = self._before(request, chosen, names, query, clock, missed)
        clock.start()
        result = await (pending.ctx.stage or self._strategy).arun(pending.ctx.query, pending.eligibility.candidates,
                                                                  missed)
        clock.lap("strategy")
        return self._finish(pending, result, clock)

    def decide_batch(self, requests: Sequence[Any], *, profile: str | None = None,
                     deadline_ms: float | None = None) -> list[Decision]:
        """Decide many requests; equal to calling :meth:`decide` on each (the embedding runs batched,
        with ``deadline_ms`` per request for the whole batch).

        Each item is a prompt string, a list of messages, a :class:`Request`, or a dict
        of :meth:`decide` keyword arguments (``{"messages": [...], "metadata": {...}}``).
        """
        parsed = [self._parse(*args) for args in batch_arguments(requests, profile)]
        queries = self._featurize.run_many([request for request, _, _ in parsed], self._deadline(deadline_ms))
        clocks = [StageClock() for _ in parsed]
        return [self._complete(self._before(request, chosen, exclude, query, clock, missed), clock)
                for (request, chosen, exclude), (query, missed), clock in zip(parsed, queries, clocks)]

    async def adecide_batch(self, requests: Sequence[Any], *, profile: str | None = None,
                            deadline_ms: float | None = None) -> list[Decision]:
        """Async :meth:`decide_batch` (runs in the default executor)."""
        return await asyncio.get_running_loop().run_in_executor(
            None, lambda: self.decide_batch(requests, profile=profile, deadline_ms=deadline_ms))

    def _deadline(self, deadline_ms: float | None) -> float | None:
        return self.deadline_ms if deadline_ms is None else check_deadline(deadline_ms)

    def route(self, prompt_or_messages: Any, **kwargs: Any) -> str:
        """The chosen model string only: for clients of any shape."""
        return self.decide(prompt_or_messages, **kwargs).model

    def feedback(self, decision: Decision | str, quality: float | None = None, *, success: bool | None = None,
                 score: float | None = None, cost_usd: float | None = None, latency_ms: float | None = None,
                 served_by: str | None = None, error: str | None = None, source: str = "user") -> Feedback | None:
        """Report how a decision turned out (``quality`` is an alias of ``score``, in [0, 1]).

        With a decision log, the report is validated (an unknown id or a value out of range
        is a :class:`~routeiq_core.errors.FeedbackError`) and recorded; with an online strategy
        (e.g. ``thompson``) and a :class:`Decision`, its quality also trains the strategy.
        """
        return record_feedback(self, decision, quality, success=success, score=score, cost_usd=cost_usd,
                               latency_ms=latency_ms, served_by=served_by, error=error, source=source)

    async def afeedback(self, decision: Decision | str, quality: float | None = None, **outcome: Any) -> Feedback | None:
        """Async :meth:`feedback` (the id check may read the log: it runs in a worker thread)."""
        return await asyncio.to_thread(self.feedback, decision, quality, **outcome)

    def close(self) -> None:
        """Let the extensions finish (shadow decisions), then write what the decision log has queued (and
        the refinement evidence) and close it."""
        close_router(self)
