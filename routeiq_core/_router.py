"""Router: parse -> signals -> embed -> classify -> predict quality -> apply profile -> Decision.

The Router owns the pipeline; strategies only predict quality per candidate,
and one rule (``_profiles.py``) turns quality and cost into a choice. A strategy
that raises degrades to the zero-config centroid prediction with a
:class:`FallbackWarning`; the request is never lost.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import os
import time
import warnings
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._candidates import TIER_NAMES, Candidate, Catalog, make_candidates
from ._centroid_strategy import CentroidStrategy
from ._config import RouterConfig, load_config
from ._centroids import CentroidSet, Classification
from ._decision import COMPLEXITY_LABELS, Decision, Ranking, Signal
from ._embedding import Embedder, default_embedder
from ._profiles import Profile, make_profiles, rank_indices, resolve_profile
from ._request import Request, parse_request
from ._signals import TextSignals, analyse, complexity_level, complexity_score
from ._strategy import Estimate, Query, Strategy
from .errors import (
    ArtifactError,
    CentroidError,
    ConfigError,
    FallbackWarning,
    NoCandidatesError,
    RequestError,
    UnknownProfileError,
)

__all__ = ["Router"]

log = logging.getLogger("routeiq")

CandidatesLike = Sequence[Candidate | Mapping[str, Any]] | Catalog | str | os.PathLike[str]


@dataclass(frozen=True, slots=True)
class _Prepared:
    """Everything known about a request before the strategy runs."""

    request: Request
    profile: Profile
    text: TextSignals
    query: Query
    eligible: tuple[Candidate, ...]
    excluded: dict[str, str]
    warnings: tuple[str, ...]
    output_tokens: int
    timings: dict[str, float]
    complexity_parts: tuple[Signal, ...] = ()


class Router:
    """Decide which candidate (deployment) should serve each request.

    Args:
        candidates: the deployments to choose from: Candidate objects or dicts, a
            :class:`Catalog`, or a JSON/YAML file path. Default: the built-in catalog.
        strategy: ``"centroid"`` (zero-config, default), a registered strategy name,
            or a strategy instance (fitted if it needs training).
        strategy_params: parameters for a strategy given by name.
        profile: the default profile (``auto``, ``eco``, ``premium``, ``free``, ``reasoning``
            or one of ``profiles``).
        profiles: extra or overriding profiles, name -> :class:`Profile` or dict.
        team_profiles / key_profiles: default profile per team id / API key alias
            (from request metadata).
        embedder: any :class:`Embedder`; default: the shipped all-MiniLM-L6-v2 ONNX model.
        centroids: a centroid directory built with ``routeiq centroids build``.
        registry: where strategy names are looked up (default: the plugin registry).
    """

    def __init__(
        self,
        candidates: CandidatesLike | None = None,
        *,
        strategy: str | Strategy = "centroid",
        strategy_params: Mapping[str, Any] | None = None,
        profile: str = "auto",
        profiles: Mapping[str, Profile | Mapping[str, Any]] | None = None,
        team_profiles: Mapping[str, str] | None = None,
        key_profiles: Mapping[str, str] | None = None,
        embedder: Embedder | None = None,
        centroids: str | os.PathLike[str] | CentroidSet | None = None,
        registry: Any = None,
    ) -> None:
        if candidates is None:
            self.catalog = Catalog.builtin()
        elif isinstance(candidates, Catalog):
            self.catalog = candidates
        elif isinstance(candidates, (str, os.PathLike)):
            self.catalog = Catalog.from_file(candidates)
        else:
            self.catalog = Catalog(name="custom", candidates=make_candidates(candidates))
        if not self.catalog.candidates:
            raise NoCandidatesError("no candidates: pass at least one Candidate (or use the built-in catalog)")
        self._load_pending = True
        self._min_context = min((c.context_window or 1 << 62) for c in self.catalog.candidates)
        self.profiles = make_profiles(profiles)
        self.default_profile = resolve_profile(profile, self.profiles).name
        self.team_profiles = self._check_profile_map(team_profiles, "team_profiles")
        self.key_profiles = self._check_profile_map(key_profiles, "key_profiles")
        self.embedder: Embedder = embedder if embedder is not None else default_embedder()
        if centroids is not None and not isinstance(centroids, (str, os.PathLike, CentroidSet)):
            raise ConfigError(
                f"centroids: expected a directory (routeiq centroids build --out DIR) or a CentroidSet, "
                f"got {type(centroids).__name__}"
            )
        self._centroid_source = centroids
        self._centroids: CentroidSet | None = None  # loaded (or taken from centroids) and checked on first use
        self.strategy: Strategy = self._resolve_strategy(strategy, strategy_params, registry)
        self._fallback = CentroidStrategy(
            centroids=str(centroids) if isinstance(centroids, (str, os.PathLike)) else None
        )

    # ------------------------------------------------------------------ construction helpers
    def _check_profile_map(self, mapping: Mapping[str, str] | None, what: str) -> dict[str, str]:
        out = dict(mapping or {})
        for key, name in out.items():
            if name not in self.profiles:
                raise ConfigError(f"{what}[{key!r}] = {name!r} is not a profile; expected one of {sorted(self.profiles)}")
        return out

    def _resolve_strategy(self, strategy: str | Strategy, params: Mapping[str, Any] | None, registry: Any) -> Strategy:
        if isinstance(strategy, str):
            if strategy == CentroidStrategy.name:
                instance: Strategy = CentroidStrategy(dict(params or {}))
            else:
                if registry is None:
                    from ._registry import default_registry

                    registry = default_registry()
                instance = registry.get(strategy)(dict(params or {}))
        elif params:
            raise ConfigError("strategy_params only apply to a strategy given by name")
        else:
            instance = strategy
        if not hasattr(instance, "predict") or not hasattr(instance, "tags"):
            raise ConfigError(
                f"strategy must be a registered name or an object with predict() and tags, got {type(instance).__name__}"
            )
        if not instance.is_fitted():
            raise ConfigError(
                f"strategy {instance.name!r} needs training: fit it (strategy.fit(dataset)), "
                "load one (Router.from_artifact(dir)) or train with 'routeiq train'"
            )
        trained_with = getattr(instance, "embedding_model_", None)
        if trained_with is not None and trained_with != self.embedder.model_id:
            raise ArtifactError(
                f"strategy {instance.name!r} was trained with embedding model {str(trained_with)[:12]}…, "
                f"but the router embeds with {self.embedder.model_id[:12]}…; retrain it with this model "
                "or pass Router(embedder=...) with the model it was trained with"
            )
        return instance

    @classmethod
    def from_artifact(cls, path: str | os.PathLike[str], candidates: CandidatesLike | None = None, **kwargs: Any) -> Router:
        """A router whose strategy is loaded from a directory written by ``save`` / ``routeiq train``.

        The artifact must have been trained with the same embedding model.
        """
        from ._persist import load_strategy

        embedder = kwargs.get("embedder") or default_embedder()
        kwargs["embedder"] = embedder
        strategy = load_strategy(path, embedding_model=embedder.model_id)
        return cls(candidates, strategy=strategy, **kwargs)

    @classmethod
    def from_config(cls, config: str | os.PathLike[str] | Mapping[str, Any] | RouterConfig, **overrides: Any) -> Router:
        """A router from a :class:`RouterConfig`, a dict, or a JSON/YAML file (see ``_config.py``)."""
        cfg = load_config(config)
        kwargs: dict[str, Any] = {
            "profile": cfg.profile, "profiles": cfg.profiles, "team_profiles": cfg.team_profiles,
            "key_profiles": cfg.key_profiles, "centroids": cfg.centroids,
        }
        kwargs.update(overrides)
        if cfg.artifact is not None:
            return cls.from_artifact(cfg.artifact, cfg.candidates, **kwargs)
        return cls(cfg.candidates, strategy=cfg.strategy, strategy_params=cfg.strategy_params or None, **kwargs)

    @property
    def candidates(self) -> tuple[Candidate, ...]:
        return self.catalog.candidates

    @property
    def centroids(self) -> CentroidSet:
        """The centroid classifier (loaded on first use and checked against the embedder)."""
        if self._centroids is None:
            source = self._centroid_source
            cset = source if isinstance(source, CentroidSet) else CentroidSet.load(source)
            if cset.embedding_model != self.embedder.model_id:
                raise CentroidError(
                    f"the centroids were built with embedding model {cset.embedding_model[:12]}…, "
                    f"but the router embeds with {self.embedder.model_id[:12]}…; rebuild them for this model "
                    "with 'routeiq centroids build --out DIR' and pass Router(centroids=DIR)"
                )
            self._centroids = cset
            for strat in (self.strategy, self._fallback):
                if isinstance(strat, CentroidStrategy):
                    strat.use_centroids(cset)
        return self._centroids

    # ------------------------------------------------------------------ the pipeline
    def _profile_for(self, request: Request, explicit: str | None) -> Profile:
        if explicit is not None and not isinstance(explicit, str):
            raise UnknownProfileError(
                f"profile: expected a profile name such as 'auto', got {type(explicit).__name__}"
            )
        meta = request.metadata
        name = explicit or meta.profile
        if name is None and meta.key_alias is not None:
            name = self.key_profiles.get(meta.key_alias)
        if name is None and meta.team is not None:
            name = self.team_profiles.get(meta.team)
        return resolve_profile(name or self.default_profile, self.profiles)

    def make_query(self, request: Request | str, embedding: np.ndarray | None = None) -> Query:
        """The strategy input for a request: embedding, category and signal features."""
        if isinstance(request, str):
            request = parse_request(request)
        text = analyse(request)
        return self._query(request, text, embedding)

    def _query(self, request: Request, text: TextSignals, embedding: np.ndarray | None = None) -> Query:
        return self._query_and_parts(request, text, embedding)[0]

    def _query_and_parts(
        self, request: Request, text: TextSignals, embedding: np.ndarray | None = None
    ) -> tuple[Query, list[Signal]]:
        """The query, and the weighted parts of its complexity score (for the decision's signals)."""
        routed = request.prompt or request.system_text or "(no text)"
        if embedding is None:
            embedding = self.embedder.embed(routed)
        classification = self.centroids.classify(embedding)
        score, parts = complexity_score(text, classification.difficulty)
        features = {
            "agentic": text.agentic,
            "reasoning": text.reasoning,
            "difficulty": classification.difficulty,
            "complexity_score": score,
            "complexity": float(complexity_level(score)),
            "category_confidence": classification.confidence,
        }
        query = Query(text=routed, embedding=embedding, request=request, features=features,
                      classification=classification)
        return query, parts

    def _eligible(
        self, request: Request, profile: Profile, text: TextSignals, output_tokens: int, exclude: Collection[str]
    ) -> tuple[tuple[Candidate, ...], dict[str, str], list[str]]:
        needed = text.input_tokens + output_tokens
        if (not exclude and not profile.free_only and not profile.require and not profile.min_tier
                and not request.tools and not request.has_images and not request.has_audio
                and needed <= self._min_context):
            return self.candidates, {}, []  # nothing to filter: the common case, kept cheap
        excluded: dict[str, str] = {}
        notes: list[str] = []
        pool = []
        for cand in self.candidates:
            if cand.name in exclude:
                excluded[cand.name] = "excluded by the caller (e.g. cooldown or a failed attempt)"
            else:
                pool.append(cand)
        if not pool:
            raise NoCandidatesError(
                f"every candidate was excluded by the caller ({sorted(exclude)}); nothing is left to route to"
            )
        admitted = []
        for cand in pool:
            why = profile.admits(cand)
            if why is None:
                admitted.append(cand)
            else:
                excluded[cand.name] = why
        if not admitted:
            if profile.free_only:
                raise NoCandidatesError(
                    f"profile {profile.name!r} admits only free candidates, and none of "
                    f"{[c.name for c in pool]} is free; add a candidate with free=True (e.g. a local model) "
                    "or choose another profile"
                )
            raise NoCandidatesError(
                f"profile {profile.name!r} admits none of {[c.name for c in pool]} "
                f"({next(iter(excluded.values()))}); add a suitable candidate or choose another profile"
            )
        # Soft requirements: enforced only when some candidate declares the capability,
        # and relaxed (with a note) rather than failing the request.
        needs = []
        if request.tools:
            needs.append("tools")
        if request.has_images:
            needs.append("vision")
        if request.has_audio:
            needs.append("audio")
        for capability in needs:
            capable = [c for c in admitted if c.has(capability)]
            if capable and len(capable) < len(admitted):
                for c in admitted:
                    if not c.has(capability):
                        excluded[c.name] = f"the request needs {capability}"
                admitted = capable
            elif not capable and any(c.capabilities for c in admitted):
                notes.append(f"no eligible candidate declares '{capability}', which the request needs")
        fits = [c for c in admitted if c.context_window is None or c.context_window >= needed]
        if fits and len(fits) < len(admitted):
            for c in admitted:
                if c not in fits:
                    excluded[c.name] = f"context window {c.context_window} < ~{needed} tokens needed"
            admitted = fits
        elif not fits:
            largest = max(admitted, key=lambda c: c.context_window or 0)
            notes.append(f"no candidate's context window fits ~{needed} tokens; using the largest")
            for c in admitted:
                if c is not largest:
                    excluded[c.name] = f"context window {c.context_window} < ~{needed} tokens needed"
            admitted = [largest]
        return tuple(admitted), excluded, notes

    def _prepare(
        self, prompt: Any, messages: Any, tools: Any, functions: Any, metadata: Any,
        profile: str | None, exclude: Collection[str],
    ) -> _Prepared:
        t0 = time.perf_counter()
        exclude = _exclude_names(exclude)
        request = parse_request(prompt, messages=messages, tools=tools, functions=functions, metadata=metadata)
        chosen_profile = self._profile_for(request, profile)
        t1 = time.perf_counter()
        text = analyse(request)
        t2 = time.perf_counter()
        if self._load_pending:  # the first decision loads model and centroids: timed apart
            self._load()
        t_loaded = time.perf_counter()
        routed = request.prompt or request.system_text or "(no text)"
        embedding = self.embedder.embed(routed)
        t3 = time.perf_counter()
        query, complexity_parts = self._query_and_parts(request, text, embedding)
        category = query.classification.category if query.classification else "chat"
        level = int(query.features["complexity"])
        output_tokens = int(self.centroids.info(category).output_tokens * (0.5 + 0.25 * level))
        eligible, excluded, notes = self._eligible(request, chosen_profile, text, output_tokens, exclude)
        t4 = time.perf_counter()
        timings = {"parse": (t1 - t0) * 1e3, "signals": (t2 - t1) * 1e3, "load": (t_loaded - t2) * 1e3,
                   "embed": (t3 - t_loaded) * 1e3,
                   "classify": (t4 - t3) * 1e3}
        return _Prepared(request, chosen_profile, text, query, eligible, excluded, tuple(notes),
                         output_tokens, timings, tuple(complexity_parts))

    def _load(self) -> None:
        load = getattr(self.embedder, "load", None)
        if load is not None:
            load()
        _ = self.centroids
        self._load_pending = False

    def _fallback_estimate(self, prep: _Prepared, exc: BaseException) -> tuple[Estimate, list[float], str]:
        name = getattr(self.strategy, "name", type(self.strategy).__name__)
        message = f"strategy {name!r} failed ({type(exc).__name__}: {str(exc)[:200]}); used the centroid fallback"
        warnings.warn(message, FallbackWarning, stacklevel=4)
        log.warning("routeiq: %s", message)
        try:
            estimate = self._fallback.predict(prep.query, prep.eligible)
            return estimate, _check_estimate(estimate, prep.eligible), message
        except Exception as inner:  # the last resort never fails: general strength per candidate
            message += f"; fallback failed too ({type(inner).__name__}), used candidate strength"
            quality = [c.strength() for c in prep.eligible]
            return Estimate(quality=dict(zip((c.name for c in prep.eligible), quality))), quality, message

    def _predict(self, prep: _Prepared) -> tuple[Estimate, list[float], str | None]:
        try:
            estimate = self.strategy.predict(prep.query, prep.eligible)
            return estimate, _check_estimate(estimate, prep.eligible), None
        except (NoCandidatesError, ConfigError):
            raise
        except Exception as exc:
            return self._fallback_estimate(prep, exc)

    async def _apredict(self, prep: _Prepared) -> tuple[Estimate, list[float], str | None]:
        apredict = getattr(self.strategy, "apredict", None)
        if apredict is None:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(None, self._predict, prep)
        try:
            estimate = await apredict(prep.query, prep.eligible)
            return estimate, _check_estimate(estimate, prep.eligible), None
        except (NoCandidatesError, ConfigError):
            raise
        except Exception as exc:
            return self._fallback_estimate(prep, exc)

    def _finish(
        self, prep: _Prepared, estimate: Estimate, quality: list[float], failure: str | None, t_start: float
    ) -> Decision:
        t0 = time.perf_counter()
        cands = prep.eligible
        input_tokens = prep.text.input_tokens
        costs = [
            float(estimate.cost[c.name]) if estimate.cost and c.name in estimate.cost
            else c.expected_cost(input_tokens, prep.output_tokens)
            for c in cands
        ]
        order, utils = rank_indices(quality, costs, prep.profile.cost_weight, [c.name for c in cands])
        ranking = Ranking((
            [cands[i].name for i in order], [cands[i].model for i in order], [float(utils[i]) for i in order],
            [quality[i] for i in order], [costs[i] for i in order], [cands[i].tier for i in order],
        ))
        chosen = cands[order[0]]
        query = prep.query
        classification = query.classification
        category = estimate.category or (classification.category if classification else None)
        confidence = estimate.confidence if estimate.confidence is not None else (
            classification.confidence if classification else 1.0)
        level = int(query.features["complexity"])
        signals = _decision_signals(prep.text, classification, query.features, prep.complexity_parts)
        warn = prep.warnings + ((failure,) if failure else ())
        t1 = time.perf_counter()
        timings = dict(prep.timings)
        timings["strategy"] = (t0 - t_start) * 1e3
        timings["select"] = (t1 - t0) * 1e3
        timings["total"] = sum(timings.values())
        return Decision(
            candidate=chosen,
            ranking=ranking,
            profile=prep.profile.name,
            strategy=getattr(self.strategy, "name", type(self.strategy).__name__),
            category=category,
            confidence=float(confidence),
            complexity=level,
            signals=signals,
            reason=_reason([(cands[i].name, quality[i], costs[i]) for i in order[:2]], chosen, category,
                           confidence, level, prep, failure is not None),
            excluded=prep.excluded,
            timings_ms=timings,
            fallback=failure is not None,
            warnings=warn,
            details=dict(estimate.details),
            query=query,
        )

    # ------------------------------------------------------------------ public API
    def decide(
        self,
        prompt: Any = None,
        *,
        messages: Any = None,
        tools: Any = None,
        functions: Any = None,
        metadata: Any = None,
        profile: str | None = None,
        exclude: Collection[str] = (),
    ) -> Decision:
        """Choose a candidate for a prompt string or OpenAI-style ``messages``.

        Raises a :class:`RouteIQError` subclass for malformed input, an unknown
        profile, or when no candidate is eligible (e.g. ``free`` with no free one).
        """
        prep = self._prepare(prompt, messages, tools, functions, metadata, profile, exclude)
        t = time.perf_counter()
        estimate, quality, failure = self._predict(prep)
        return self._finish(prep, estimate, quality, failure, t)

    async def adecide(
        self,
        prompt: Any = None,
        *,
        messages: Any = None,
        tools: Any = None,
        functions: Any = None,
        metadata: Any = None,
        profile: str | None = None,
        exclude: Collection[str] = (),
    ) -> Decision:
        """Async :meth:`decide`: the embedding runs in the default executor, never on the event loop."""
        loop = asyncio.get_running_loop()
        prep = await loop.run_in_executor(
            None, functools.partial(self._prepare, prompt, messages, tools, functions, metadata, profile, exclude)
        )
        t = time.perf_counter()
        estimate, quality, failure = await self._apredict(prep)
        return self._finish(prep, estimate, quality, failure, t)

    def decide_batch(self, requests: Sequence[Any], *, profile: str | None = None) -> list[Decision]:
        """Decide many requests; equal to calling :meth:`decide` on each.

        Each item is a prompt string, a list of messages, a :class:`Request`, or a dict
        of :meth:`decide` keyword arguments (``{"messages": [...], "metadata": {...}}``).
        """
        if isinstance(requests, (str, bytes, Mapping)):
            raise ConfigError("decide_batch expects a list of requests; use decide() for one")
        return [self._decide_item(item, profile) for item in requests]

    async def adecide_batch(self, requests: Sequence[Any], *, profile: str | None = None) -> list[Decision]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, functools.partial(self.decide_batch, requests, profile=profile))

    def _decide_item(self, item: Any, profile: str | None) -> Decision:
        if isinstance(item, Mapping):
            kwargs = dict(item)
            kwargs.setdefault("profile", profile)
            unknown = set(kwargs) - {"prompt", "messages", "tools", "functions", "metadata", "profile", "exclude"}
            if unknown:
                raise ConfigError(f"decide_batch item has unknown keys {sorted(unknown)}")
            return self.decide(**kwargs)
        return self.decide(item, profile=profile)

    def route(self, prompt_or_messages: Any, **kwargs: Any) -> str:
        """The chosen model string only: for clients of any shape."""
        return self.decide(prompt_or_messages, **kwargs).model

    def feedback(self, decision: Decision, quality: float) -> None:
        """Report the observed quality (0..1) of a decision to an online strategy (e.g. ``thompson``)."""
        update = getattr(self.strategy, "update", None)
        if update is None or not getattr(self.strategy.tags, "online", False):
            raise ConfigError(
                f"strategy {self.strategy.name!r} does not learn online; feedback needs an online strategy "
                "such as 'thompson'"
            )
        if not 0.0 <= quality <= 1.0:
            raise ConfigError(f"quality must be in [0, 1], got {quality}")
        if decision.query is None:
            raise ConfigError("this decision carries no query (it was not made by a Router)")
        update(decision.query, decision.candidate, float(quality))


def _exclude_names(exclude: Any) -> frozenset[str]:
    """``exclude`` as a set of names; a bare string is one name (not its characters or substrings)."""
    if exclude is None:
        return frozenset()
    if isinstance(exclude, str):
        return frozenset((exclude,))
    if isinstance(exclude, (bytes, Mapping)) or not isinstance(exclude, Collection):
        raise RequestError(
            f"exclude: expected a list of candidate names, got {type(exclude).__name__}", field="exclude"
        )
    names = list(exclude)
    if not all(isinstance(n, str) for n in names):
        raise RequestError("exclude: expected candidate names (strings)", field="exclude")
    return frozenset(names)


def _check_estimate(estimate: Estimate, candidates: Sequence[Candidate]) -> list[float]:
    """The estimate's quality per candidate, in candidate order; raises if one is missing or not finite."""
    if not isinstance(estimate, Estimate):
        raise TypeError(f"predict() returned {type(estimate).__name__}, expected an Estimate")
    quality = estimate.quality
    try:
        # numpy scalars count: a strategy often builds its dict from a float32 array.
        values = [float(quality[c.name]) for c in candidates]
    except (KeyError, TypeError, ValueError):
        values = []
    if len(values) == len(candidates) and all(map(math.isfinite, values)):
        return values
    bad = next(c.name for c in candidates if not _finite_number(quality.get(c.name)))
    raise ValueError(f"predict() gave no finite quality for candidate {bad!r} (got {quality.get(bad)!r})")


def _finite_number(value: object) -> bool:
    return isinstance(value, (float, int, np.floating, np.integer)) and math.isfinite(value)


def _decision_signals(
    text: TextSignals, classification: Classification | None, features: Mapping[str, float],
    complexity_parts: Sequence[Signal],
) -> tuple[Signal, ...]:
    parts = [
        Signal("agentic", text.agentic, 1.0, "agentic request" if text.is_agentic else ""),
        Signal("reasoning", text.reasoning, 1.0, "reasoning request" if text.is_reasoning else ""),
    ]
    if classification is not None:
        parts.append(Signal("category", classification.confidence, 1.0,
                            f"{classification.category} (runner-up {classification.runner_up}, "
                            f"margin {classification.margin:.3f})"))
    parts.append(Signal("complexity", features.get("complexity_score", 0.0), 1.0,
                        f"level {int(features.get('complexity', 0))}"))
    return (*parts, *text.parts, *complexity_parts)


def _reason(
    top: Sequence[tuple[str, float, float]], chosen: Candidate, category: str | None, confidence: float,
    level: int, prep: _Prepared, fallback: bool,
) -> str:
    """One line: what the request looks like, what was chosen, and what came next. ``top`` holds
    (name, quality, cost) of the first two ranked candidates."""
    flags = []
    if prep.text.is_agentic:
        flags.append("agentic")
    if prep.text.is_reasoning:
        flags.append("reasoning")
    head = f"{category or 'uncategorised'} ({confidence:.0%})" if category else "no category"
    head += f", complexity {level}/5 {COMPLEXITY_LABELS.get(level, '')}"
    if flags:
        head += ", " + ", ".join(flags)
    _, quality, cost = top[0]
    text = (f"{head} -> {chosen.name} (tier {TIER_NAMES.get(chosen.tier, chosen.tier)}, "
            f"predicted quality {quality:.2f}, est ${cost:.6f}) under profile '{prep.profile.name}'")
    if len(top) > 1:
        next_name, next_quality, next_cost = top[1]
        if cost > 0:
            ratio = next_cost / cost
            cost_txt = f"{ratio:.1f}x the cost" if ratio >= 1 else f"{ratio:.2g}x the cost"
        else:
            cost_txt = "also free" if next_cost == 0 else "paid vs free"
        text += f"; next {next_name} ({next_quality - quality:+.2f} quality, {cost_txt})"
    if fallback:
        text += "; strategy failed, centroid fallback used"
    return text
