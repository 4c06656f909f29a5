"""The decision logic shared by the LiteLLM strategy and the proxy routing plugin.

For one pick: the group's deployments -> drop blocked, cooling-down and unhealthy ones ->
avoid deployments that already failed this request -> RouteIQ decides among the rest ->
the chosen deployment dict, with the decision stamped into the request metadata.

An internal failure (a strategy bug, a broken model file, a bad candidate hint) never fails
the user's request: a healthy deployment of the group serves it and a warning is logged. An
unknown profile name in a header or metadata is dropped with a warning in the decision. Only
two errors reach the caller, both on purpose: an unknown model group, and a group with no
healthy deployment left (LiteLLM then runs its fallbacks).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Collection, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from routeiq_core import Candidate, Decision, Router
from routeiq_core._request import ROLES
from routeiq_core._strategy import AsyncStrategy
from routeiq_core.errors import PolicyError, describe_error

from ._compat import deployment_id, is_blocked
from .candidates import ModelInfoLookup, deployment_candidates, group_key
from .errors import NoHealthyDeploymentError, UnknownModelGroupError
from .settings import AdapterSettings

__all__ = ["Pick", "RoutingEngine", "metadata_of", "previous_deployment_ids"]

log = logging.getLogger("routeiq.litellm")
#: One structured INFO line per decision (no prompt text): ``logging.getLogger("routeiq.decisions")``.
decision_log = logging.getLogger("routeiq.decisions")
_LOG_FIELDS = ("id", "model_group", "deployment", "model", "tier", "category", "profile", "confidence",
               "complexity", "strategy", "fallback", "experiment", "arm", "session_tier", "latency_ms", "attempt")

Deployment = Mapping[str, Any]
MAX_CACHED_GROUPS = 256
_METADATA_STR_KEYS = (
    "user_api_key_user_id",
    "user_api_key_team_id",
    "user_api_key_team_alias",
    "user_api_key_alias",
    "user",
    "team",
    "team_id",
    "key_alias",
    "session_id",
    "litellm_session_id",
    "routeiq_profile",
)


@dataclass(slots=True)
class Pick:
    """The outcome of one pick: the deployment, and the decision (None when the fallback chose)."""

    deployment: Deployment
    decision: Decision | None
    excluded: dict[str, str]
    fallback_reason: str | None = None
    warnings: list[str] = field(default_factory=list)
    elapsed_ms: float = 0.0

    @property
    def deployment_id(self) -> str:
        return deployment_id(self.deployment)


def metadata_of(request_kwargs: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The request's metadata dict as LiteLLM names it (``litellm_metadata`` on some endpoints)."""
    if not request_kwargs:
        return None
    key = "litellm_metadata" if "litellm_metadata" in request_kwargs else "metadata"
    md = request_kwargs.get(key)
    return md if isinstance(md, dict) else None


def stamped_record(holder: Mapping[str, Any] | None, key: str = "routeiq") -> Mapping[str, Any] | None:
    """The decision record :meth:`RoutingEngine.stamp` put into ``holder``'s metadata (``metadata`` or
    ``litellm_metadata``), or, on the routing-plugin route, into its ``routing_plugin_signals``."""
    for name in ("metadata", "litellm_metadata"):
        md = (holder or {}).get(name)
        if not isinstance(md, Mapping):
            continue
        signals = md.get("routing_plugin_signals")
        for place in (md, signals if isinstance(signals, Mapping) else {}):
            record = place.get(key)
            if isinstance(record, Mapping):
                return record
    return None


def previous_deployment_ids(metadata: Mapping[str, Any] | None) -> set[str]:
    """Deployments that already failed this request (LiteLLM's ``previous_models``)."""
    out: set[str] = set()
    for item in (metadata or {}).get("previous_models") or ():
        if isinstance(item, Mapping) and item.get("deployment_id") is not None:
            out.add(str(item["deployment_id"]))
    return out


def _routing_metadata(md: Mapping[str, Any] | None) -> dict[str, Any]:
    """The metadata RouteIQ routes on (user, team, key, session, tags, profile), type-checked."""
    out: dict[str, Any] = {}
    if not md:
        return out
    for key in _METADATA_STR_KEYS:
        value = md.get(key)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and value != "":
            out[key] = value
    # The identity LiteLLM authenticated wins over what the client wrote into its metadata: a client
    # must not choose its own team or key for profiles, policies and budgets.
    for authenticated, claimed in (("user_api_key_alias", "key_alias"), ("user_api_key_team_id", "team"),
                                   ("user_api_key_team_id", "team_id"), ("user_api_key_user_id", "user")):
        if authenticated in out:
            out.pop(claimed, None)
    tags = md.get("tags")
    if isinstance(tags, (list, tuple)) and all(isinstance(t, str) for t in tags):
        out["tags"] = list(tags)
    return out


def _header(md: Mapping[str, Any] | None, name: str) -> str | None:
    headers = (md or {}).get("headers")
    if not isinstance(headers, Mapping):
        return None
    wanted = name.lower()
    for key, value in headers.items():
        if (
            isinstance(key, str)
            and key.lower() == wanted
            and isinstance(value, str)
            and value.strip()
        ):
            return value.strip()
    return None


def _responses_input_messages(items: Sequence[Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """Responses-API ``input`` items -> chat messages (+ plain strings, e.g. embedding inputs)."""
    messages: list[dict[str, Any]] = []
    texts: list[str] = []
    for item in items:
        if isinstance(item, str):
            texts.append(item)
        elif isinstance(item, Mapping) and item.get("role") in ROLES:
            messages.append({"role": item["role"], "content": item.get("content")})
    return messages, texts


@contextlib.contextmanager
def _current_span(span: Any) -> Iterator[None]:
    """Make LiteLLM's request span the current one, so RouteIQ's ``routeiq.decide`` nests under it."""
    if span is None:
        yield
        return
    try:
        from opentelemetry import context, trace
    except ImportError:
        yield
        return
    token = context.attach(trace.set_span_in_context(span))
    try:
        yield
    finally:
        context.detach(token)


def _decides_inline(router: Router) -> bool:
    """Whether a decision costs less on the event loop than handed to a thread: a loaded inline
    embedder (the static table, ``Featurizer.inline``), a synchronous strategy, and extensions that
    each say they do no I/O on the request path (``inline = True``: the decision log's queue,
    Prometheus counters, exploration); sessions, policies, experiments and user hooks may call
    Redis, SQL or a model, so they keep the thread."""
    return (router.featurizer.inline and not isinstance(router.strategy, AsyncStrategy)
            and all(getattr(ext, "inline", False) is True for ext in router.extensions.extensions))


class RoutingEngine:
    """RouteIQ routers per LiteLLM model group, and the pick rules around them.

    Args:
        settings: strategy, profiles and candidate hints (:class:`AdapterSettings`).
        routeiq: an existing :class:`routeiq_core.Router` whose strategy, embedder and profiles
            are reused for every group; its candidates act as hints keyed by name (a
            deployment id, group name or model string).
        lookup: model -> LiteLLM cost-map entry (default: ``litellm.get_model_info``).
    """

    def __init__(
        self,
        settings: AdapterSettings | None = None,
        *,
        routeiq: Router | None = None,
        lookup: ModelInfoLookup | None = None,
    ) -> None:
        self.settings = settings or AdapterSettings()
        self._template: Router | None = routeiq
        self._lookup = lookup
        self._routers: OrderedDict[tuple[tuple[str, str], ...], Router] = OrderedDict()
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        overrides = {k: dict(v) for k, v in self.settings.candidate_hints.items()}
        if routeiq is not None:
            for cand in routeiq.candidates:
                hint = cand.model_dump(exclude={"name", "model", "metadata"})
                overrides.setdefault(cand.name, hint)
        self._overrides = overrides

    # ------------------------------------------------------------------ routers per group
    def _new_router(self, candidates: Sequence[Candidate]) -> Router:
        """The first group's router is built from the settings; later groups share its strategy,
        embedder, centroids and profiles (``Router.with_candidates``)."""
        if self._template is not None:
            return self._template.with_candidates(candidates)
        router = Router.from_config(self.settings, candidates=candidates)
        self._template = router
        return router

    def router_for(self, deployments: Sequence[Deployment]) -> Router:
        """The RouteIQ router for a group, built once per distinct set of deployments."""
        key = group_key(deployments)
        with self._lock:
            router = self._routers.get(key)
            if router is not None:
                self._routers.move_to_end(key)
                return router
            candidates = deployment_candidates(
                deployments, overrides=self._overrides, lookup=self._lookup
            )
            router = self._new_router(candidates)
            self._routers[key] = router
            while len(self._routers) > MAX_CACHED_GROUPS:
                self._routers.popitem(last=False)
            return router

    def warm_up(self, deployments: Sequence[Deployment]) -> None:
        """Build the group's router and load the embedding model now, not on the first request."""
        router = self.router_for(deployments)
        router.load()  # not a decide(): a warm-up must not become a row of the decision log

    def feedback(self, decision_id: str, **outcome: Any) -> Any:
        """An outcome for a decision of this engine: into the log, and into a learning strategy."""
        if self._template is None:
            return None
        return self._template.feedback(decision_id, **outcome)

    @property
    def template(self) -> Router | None:
        """The router every group's router is derived from (None until the first group is built)."""
        return self._template

    @property
    def decision_log(self) -> Any:
        """The :class:`~routeiq_core.decisionlog.DecisionLogger` every group's router shares, or None."""
        return self._template.log if self._template is not None else None

    # ------------------------------------------------------------------ pick rules
    @staticmethod
    def unknown_group(model: str, known: Collection[str]) -> UnknownModelGroupError:
        shown = sorted(known)
        more = f" and {len(shown) - 20} more" if len(shown) > 20 else ""
        return UnknownModelGroupError(
            f"routeiq: unknown model group {model!r}; this LiteLLM router serves "
            f"{shown[:20]}{more}; pass one of these as model=",
            field="model",
        )

    @staticmethod
    def pool(
        deployments: Sequence[Deployment],
        *,
        cooling: Mapping[str, float],
        unhealthy: Collection[str] = (),
        previous: Collection[str] = (),
        model: str = "",
    ) -> tuple[list[Deployment], dict[str, str]]:
        """The deployments RouteIQ may choose from, and why each other one may not."""
        excluded: dict[str, str] = {}
        healthy: list[Deployment] = []
        for dep in deployments:
            dep_id = deployment_id(dep)
            if is_blocked(dep):
                excluded[dep_id] = "blocked by an admin"
            elif dep_id in cooling:
                excluded[dep_id] = f"cooling down ({cooling[dep_id]:.0f}s after failures)"
            else:
                healthy.append(dep)
        checked = [d for d in healthy if deployment_id(d) not in unhealthy]
        if checked and len(checked) < len(
            healthy
        ):  # like LiteLLM: never let health checks empty the group
            for dep in healthy:
                if dep not in checked:
                    excluded[deployment_id(dep)] = "unhealthy per background health checks"
            healthy = checked
        if not healthy:
            wait = min((cooling[i] for i in excluded if i in cooling), default=0.0)
            raise NoHealthyDeploymentError(
                f"routeiq: no healthy deployment in model group {model!r}: "
                + "; ".join(f"{k}: {v}" for k, v in excluded.items())
                + (f"; retry in ~{wait:.0f}s" if wait else ""),
                cooldown_seconds=wait,
            )
        untried = [d for d in healthy if deployment_id(d) not in previous]
        if untried and len(untried) < len(healthy):
            for dep in healthy:
                if dep not in untried:
                    excluded[deployment_id(dep)] = "already failed for this request"
            healthy = untried
        return healthy, excluded

    def inputs(
        self, messages: Any, input: Any, request_kwargs: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """Keyword arguments for ``Router.decide`` from what LiteLLM hands a strategy."""
        kw = request_kwargs or {}
        md = metadata_of(kw)
        if messages is None:
            messages = kw.get("messages")
        if messages is None and input is None:
            input = kw.get("input")
        out: dict[str, Any] = {}
        if messages is not None:
            out["messages"] = messages
        elif isinstance(input, str):
            out["prompt"] = input
        elif isinstance(input, (list, tuple)):
            msgs, texts = _responses_input_messages(input)
            if msgs:
                out["messages"] = msgs
            elif texts:
                out["prompt"] = "\n".join(texts)
        tools = kw.get("tools")
        if isinstance(tools, (list, tuple)) and tools:
            out["tools"] = tools
        out["metadata"] = _routing_metadata(md)
        deadline = self.deadline_ms(kw)
        if deadline is not None:
            out["deadline_ms"] = deadline
        header_profile = _header(md, self.settings.profile_header)
        if header_profile:
            out["profile"] = header_profile
        parent = (md or {}).get("litellm_parent_otel_span")
        if parent is not None:
            out["_otel_parent"] = parent  # LiteLLM passes its request span explicitly, not as the current one
        return out

    def deadline_ms(self, request_kwargs: Mapping[str, Any]) -> float | None:
        """The decision's deadline: the setting, lowered to a quarter of the request's own timeout
        (``timeout`` / ``request_timeout``, seconds) so that routing never uses up the request."""
        deadline = self.settings.deadline_ms
        for key in ("timeout", "request_timeout"):
            value = request_kwargs.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
                quarter = float(value) * 1000.0 / 4
                deadline = quarter if deadline is None else min(deadline, quarter)
        return deadline

    def _fallback(
        self, pool: Sequence[Deployment], excluded: dict[str, str], exc: BaseException, group: str
    ) -> Pick:
        reason = describe_error(exc)
        chosen = pool[0]
        log.warning(
            "routeiq: decision failed for model group %r (%s); serving deployment %s instead",
            group,
            reason,
            deployment_id(chosen),
        )
        return Pick(chosen, None, excluded, fallback_reason=reason)

    def _to_pick(
        self,
        decision: Decision,
        pool: Sequence[Deployment],
        excluded: dict[str, str],
        warnings: list[str],
    ) -> Pick:
        by_id = {deployment_id(d): d for d in pool}
        return Pick(by_id[decision.name], decision, excluded, warnings=warnings)

    @staticmethod
    def _exclude(all_deployments: Sequence[Deployment], pool: Sequence[Deployment]) -> set[str]:
        allowed = {deployment_id(d) for d in pool}
        return {deployment_id(d) for d in all_deployments if deployment_id(d) not in allowed}

    @staticmethod
    def _known_profile(router: Any, inputs: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """Drop a profile name (header or metadata) the router does not know, with a warning.

        Team and key profiles are checked when the router is built; a per-request name is
        user input and must not fail the request.
        """
        out = {k: v for k, v in inputs.items() if not k.startswith("_")}  # "_otel_parent" is the engine's
        md = dict(out.get("metadata") or {})
        warnings = []
        for where, holder, key in (("header", out, "profile"), ("metadata", md, "routeiq_profile")):
            name = holder.get(key)
            if name is not None and name not in router.profiles:
                del holder[key]
                warnings.append(
                    f"unknown profile {name!r} in the request {where}; used the default "
                    f"(known: {sorted(router.profiles)})"
                )
        out["metadata"] = md
        return out, warnings

    def decide(
        self,
        deployments: Sequence[Deployment],
        pool: Sequence[Deployment],
        excluded: dict[str, str],
        inputs: Mapping[str, Any],
        *,
        group: str = "",
    ) -> Pick:
        """Let RouteIQ choose among ``pool`` (sync); ``pool[0]`` on any internal failure."""
        t0 = time.perf_counter()
        try:
            router = self.router_for(deployments)
            checked, warnings = self._known_profile(router, inputs)
            with _current_span(inputs.get("_otel_parent")):
                decision = router.decide(**checked, exclude=self._exclude(deployments, pool))
            pick = self._to_pick(decision, pool, excluded, warnings)
        except PolicyError:
            raise  # a policy's rejection is the request's answer (403), not a RouteIQ failure
        except Exception as exc:
            pick = self._fallback(pool, excluded, exc, group)
        pick.elapsed_ms = (time.perf_counter() - t0) * 1e3
        return pick

    async def adecide(
        self,
        deployments: Sequence[Deployment],
        pool: Sequence[Deployment],
        excluded: dict[str, str],
        inputs: Mapping[str, Any],
        *,
        group: str = "",
    ) -> Pick:
        """Async :meth:`decide` that never runs model inference on the event loop.

        The whole sync decision runs in the engine's small thread pool (one hop; the ONNX
        embedding releases the GIL). A strategy with an async ``apredict`` (LLM-calling
        strategies) is awaited through ``Router.adecide`` instead. With the static embedder and
        extensions that do no I/O (:func:`_decides_inline`) it runs on the event loop: a few
        hundred microseconds holding the GIL, where the hop to a thread and back cost a millisecond.
        """
        t0 = time.perf_counter()
        try:
            router = self.router_for(deployments)
            if _decides_inline(router):
                pick = self.decide(deployments, pool, excluded, inputs, group=group)
            elif not isinstance(router.strategy, AsyncStrategy):
                call = functools.partial(
                    self.decide, deployments, pool, excluded, inputs, group=group
                )
                # the caller's context (its OpenTelemetry span) goes along into the thread
                context = contextvars.copy_context()
                pick = await asyncio.get_running_loop().run_in_executor(self._pool(), context.run, call)
            else:
                checked, warnings = self._known_profile(router, inputs)
                with _current_span(inputs.get("_otel_parent")):
                    decision = await router.adecide(**checked, exclude=self._exclude(deployments, pool))
                pick = self._to_pick(decision, pool, excluded, warnings)
        except PolicyError:
            raise
        except Exception as exc:
            pick = self._fallback(pool, excluded, exc, group)
        pick.elapsed_ms = (time.perf_counter() - t0) * 1e3
        return pick

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            with self._lock:
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(
                        max_workers=self.settings.threads, thread_name_prefix="routeiq-decide"
                    )
        return self._executor

    # ------------------------------------------------------------------ stamping
    def summary(self, pick: Pick, *, group: str, attempt: int = 1) -> dict[str, Any]:
        """The JSON-safe record stamped into request metadata (no prompt text)."""
        d = pick.decision
        params = pick.deployment.get("litellm_params") or {}
        out: dict[str, Any] = {
            "deployment": pick.deployment_id,
            "model": str(params.get("model", "")),
            "model_group": group,
            "attempt": attempt,
            "fallback": d is None or d.fallback,
            "excluded": dict(pick.excluded),
            "latency_ms": round(pick.elapsed_ms, 3),
        }
        if d is not None:
            session = d.details.get("session") if isinstance(d.details.get("session"), dict) else None
            out.update(
                id=d.id,
                tier=d.candidate.tier,
                experiment=d.details.get("experiment"),
                arm=d.details.get("arm"),
                session_tier=max(d.candidate.tier, session.get("pinned_tier") or 0) if session else None,
                profile=d.profile,
                category=d.category,
                confidence=round(d.confidence, 4),
                complexity=d.complexity,
                strategy=d.strategy,
                reason=d.reason,
                ranking=[a.name for a in d.ranking],
                warnings=[*pick.warnings, *d.warnings],
            )
        else:
            out.update(
                id=None,
                tier=None,
                experiment=None,
                arm=None,
                session_tier=None,
                profile=None,
                category=None,
                confidence=None,
                complexity=None,
                strategy=None,
                reason=f"RouteIQ failed ({pick.fallback_reason}); first healthy deployment served",
                ranking=[],
                warnings=list(pick.warnings),
            )
        if decision_log.isEnabledFor(logging.INFO):  # one line a pick; the JSON only when someone reads it
            decision_log.info("routeiq decision %s", json.dumps({k: out.get(k) for k in _LOG_FIELDS}))
        return out

    def stamp(self, metadata: dict[str, Any] | None, record: Mapping[str, Any]) -> None:
        """Put the decision where LiteLLM's callbacks, spend logs and OTel spans see it."""
        if metadata is None:
            return
        metadata[self.settings.metadata_key] = dict(record)
        spend = metadata.get("spend_logs_metadata")
        merged = dict(spend) if isinstance(spend, Mapping) else {}
        merged.update(
            {
                "routeiq_decision_id": record.get("id"),
                "routeiq_arm": record.get("arm"),
                "routeiq_deployment": record["deployment"],
                "routeiq_model": record["model"],
                "routeiq_category": record["category"],
                "routeiq_profile": record["profile"],
                "routeiq_confidence": record["confidence"],
                "routeiq_fallback": record["fallback"],
            }
        )
        metadata["spend_logs_metadata"] = merged
