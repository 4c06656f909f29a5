"""The dashboard: a small server-rendered web UI over the decision log (Starlette + Jinja2).

``create_app(log, token=...)`` returns an ASGI application: run it with ``routeiq dashboard``
or mount it in an existing server. No JavaScript; the CSS is vendored (nothing from a CDN).
Every page and every request needs the access token (``Authorization: Bearer TOKEN``, or
``?token=TOKEN`` once, which sets an HttpOnly cookie): a wrong or missing token gets a bare 401.
Everything from the log is escaped (Jinja2 autoescape); no prompt text is shown unless it was
logged. Queries are bounded: the dashboard reads SQL aggregates, the explorer pages 50 rows.
"""

from __future__ import annotations

import hmac
import itertools
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from ..errors import ConfigError, DecisionLogError, MissingDependencyError

__all__ = ["create_app"]

HERE = Path(__file__).resolve().parent
NAV = (("/", "Dashboard"), ("/decisions", "Explorer"), ("/experiments", "Experiments"), ("/config", "Routing config"))
#: query parameter -> LogFilter field; every page takes these, and ``since`` / ``until``
FILTERS = {"team": "team", "key": "key_alias", "user": "user", "tag": "tag", "model": "model",
           "category": "category", "profile": "profile", "session_id": "session_id", "experiment": "experiment",
           "arm": "arm"}
RANGES = ("1h", "24h", "7d", "30d")
PAGE = 50
#: The experiments page reports on the newest this many decisions of each experiment (bounded
#: time at any log size); ``routeiq experiments report`` reads them all.
EXPERIMENT_ROWS = 2000
MAX_FILTER = 256
COOKIE = "routeiq_dashboard"


def _deps() -> tuple[Any, Any]:
    try:
        import jinja2
        import starlette
    except ImportError:
        raise MissingDependencyError("the dashboard needs Starlette and Jinja2: pip install 'routeiq[ui]'") from None
    return jinja2, starlette


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


class BadQuery(ValueError):
    """A malformed query parameter: answered with 400."""


def _filters(params: Any, *, whole_hours: bool = False) -> tuple[dict[str, str], Any]:
    """The page's filter from its query parameters (400 for a malformed one).

    ``whole_hours`` widens the time window to whole hours, which the log's hourly roll-up
    answers at any size (the dashboard page); the explorer keeps the exact window.
    """
    import math

    from ..cli.log import parse_since
    from ..decisionlog import LogFilter
    from ..decisionlog._backend import OUTCOMES

    values: dict[str, str] = {}
    for name in (*FILTERS, "since", "until", "outcome"):
        raw = params.get(name)
        if raw is None or raw == "":
            continue
        if len(raw) > MAX_FILTER:
            raise BadQuery(f"{name}: at most {MAX_FILTER} characters")
        values[name] = raw
    if values.get("outcome") not in OUTCOMES:
        raise BadQuery(f"outcome: expected one of {', '.join(str(o) for o in OUTCOMES[1:])}")
    try:
        since, until = parse_since(values.get("since")), parse_since(values.get("until"))
    except ConfigError as exc:
        raise BadQuery(str(exc).replace("--since", "since/until")) from None
    if whole_hours:
        since = None if since is None else math.floor(since / 3600) * 3600.0
        until = None if until is None else math.ceil(until / 3600) * 3600.0
    fields: dict[str, Any] = {field: values.get(name) for name, field in FILTERS.items()}
    where = LogFilter(since=since, until=until, outcome=values.get("outcome"), **fields)
    return values, where


#: Bar colours for the models in the over-time chart (the rest share the last one, "other").
PALETTE = ("#4a6cf7", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#06b6d4", "#ec4899", "#9ca3af")


def _chart(agg: dict[str, Any], width: int = 900, height: int = 160) -> dict[str, Any] | None:
    """Decisions over time, one stacked bar per bucket, a colour per chosen model (an SVG's numbers)."""
    over = agg.get("over_time")
    if not over or not over["series"]:
        return None
    ranked = sorted(over["series"], key=lambda m: -sum(over["series"][m]))
    shown = ranked[:len(PALETTE) - 1]
    series = {m: over["series"][m] for m in shown}
    rest = [sum(col) for col in zip(*(over["series"][m] for m in ranked[len(shown):]))]
    if rest:
        series["other"] = rest
    totals = [sum(col) for col in zip(*series.values())]
    top = max(totals) or 1
    w = width / len(totals)
    bars = []
    for i, total in enumerate(totals):
        start = over["start"] + i * over["width_s"]
        y = float(height)
        for k, (model, counts) in enumerate(series.items()):
            if not counts[i]:
                continue
            h = height * counts[i] / top
            y -= h
            bars.append({"x": round(i * w, 1), "y": round(y, 1), "w": round(max(1.0, w - 2), 1), "h": round(h, 1),
                         "color": PALETTE[min(k, len(PALETTE) - 1)],
                         "label": f"{_when(start)}: {counts[i]} of {total} to {model}"})
    legend = [(model, PALETTE[min(k, len(PALETTE) - 1)]) for k, model in enumerate(series)]
    return {"width": width, "height": height, "bars": bars, "legend": legend}


def _aggregate(log: Any, where: Any) -> dict[str, Any]:
    aggregate = getattr(log, "aggregate", None)
    if callable(aggregate):
        return dict(aggregate(where))
    from ..decisionlog import iter_log  # memory and JSON-lines logs: small by nature
    from ..decisionlog._stats import log_stats

    stats = log_stats(iter_log(log, where)).to_dict()
    return {"decisions": stats["decisions"], "models": stats["models"], "categories": stats["categories"],
            "profiles": stats["profiles"], "fallbacks": stats["fallbacks"], "explored": stats["explored"],
            "decide_ms": stats["decide_ms"] or {}, "success": [], "over_time": None, "source": "rows",
            "spend": {**stats["savings"], "cost_reports": stats["savings"]["decisions_with_real_cost"]}}


def create_app(log: Any, *, token: str | Callable[[], str | None], root_path: str = "", router: Any = None) -> Any:
    """The dashboard as an ASGI app over ``log`` (a URL or a DecisionLog); ``token`` guards every request.

    ``token`` may be a function read at every request (the LiteLLM proxy's master key, which the
    proxy sets after start-up); while it returns nothing, every request is refused.
    ``router`` (a :class:`~routeiq_core.Router`, or a function returning one or None) feeds the
    routing-config page and its "try a prompt" form, which decides with :meth:`Router.preview`:
    the prompt is shown, never stored, and no extension sees it.
    """
    jinja2, _ = _deps()
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    from ..decisionlog import LogFilter, open_log

    if not callable(token) and (not isinstance(token, str) or len(token) < 16):
        raise ConfigError("the dashboard token must be a string of at least 16 characters (e.g. secrets.token_urlsafe())")
    token_of: Callable[[], str | None] = token if callable(token) else (lambda: token)
    router_of: Callable[[], Any] = router if callable(router) and not hasattr(router, "decide") else (lambda: router)

    def derived(purpose: bytes) -> str:
        """A value derived from the token (the cookie and the CSRF token never carry the token itself)."""
        return hmac.new((token_of() or "").encode(), purpose, "sha256").hexdigest()
    decision_log = open_log(log)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE / "templates")),
                             autoescape=jinja2.select_autoescape(default=True, default_for_string=True))

    def render(request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        params = {k: v for k, v in request.query_params.items() if k not in ("since", "before", "token")}
        ranges = [(r, "?" + urlencode({**params, "since": r}), request.query_params.get("since") == r) for r in RANGES]
        ranges.append(("all", "?" + urlencode(params), not request.query_params.get("since")))
        base = {"root": root_path, "nav": NAV, "log_url": decision_log.url, "filter_fields": FILTERS, "ranges": ranges,
                "here": request.url.path.removeprefix(root_path) or "/"}
        return HTMLResponse(env.get_template(name).render(**base, **ctx), status_code=status)

    def authorised(request: Request) -> bool:
        secret = token_of()
        if not secret:
            return False
        given = request.headers.get("authorization", "")
        offered = [given[7:] if given.lower().startswith("bearer ") else "", request.query_params.get("token", "")]
        cookie = request.cookies.get(COOKIE, "")
        return any(c and hmac.compare_digest(c.encode(), secret.encode()) for c in offered) or \
            (bool(cookie) and hmac.compare_digest(cookie.encode(), derived(b"routeiq-dashboard-session").encode()))

    def guarded(handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            if not authorised(request):
                return PlainTextResponse("unauthorized", status_code=401)
            if "token" in request.query_params:  # move the token into a cookie and out of the address bar
                rest = {k: v for k, v in request.query_params.items() if k != "token"}
                response: Response = RedirectResponse(f"{request.url.path}?{urlencode(rest)}" if rest
                                                      else request.url.path, status_code=303)
                response.set_cookie(COOKIE, derived(b"routeiq-dashboard-session"), httponly=True, samesite="strict",
                                    path=root_path or "/")
                return response
            try:
                page: Response = await handler(request)
                return page
            except BadQuery as exc:
                return render(request, "error.html", 400, title="Bad request", message=str(exc))
            except DecisionLogError as exc:
                return render(request, "error.html", 503, title="The decision log is unavailable", message=str(exc))
        return endpoint

    async def dashboard(request: Request) -> Response:
        values, where = _filters(request.query_params, whole_hours=True)
        agg = _aggregate(decision_log, where)
        spend = agg["spend"]
        saved = spend["baseline_usd"] - spend["spend_usd"]
        savings = f"${saved:.4f} ({saved / spend['baseline_usd']:.0%})" if spend["baseline_usd"] > 0 else "-"
        failures = sum(round(s["reports"] * (1 - s["success_rate"])) for s in agg["success"])
        return render(request, "dashboard.html", title="Dashboard", agg=agg, filters=values, savings=savings,
                      failures=failures,
                      chart=_chart(agg))

    async def decisions(request: Request) -> Response:
        from ..decisionlog._records import clean_text

        values, where = _filters(request.query_params)
        before = request.query_params.get("before")
        if before is not None:
            from .._ids import is_decision_id

            if not is_decision_id(before):
                raise BadQuery("before: expected a decision id")
        page = decision_log.query(LogFilter(**{**where.__dict__, "after_id": before, "newest_first": True}),
                                  limit=PAGE)
        rows = []
        for row in page:
            o = row.outcome
            outcome = "-" if o is None else ", ".join(x for x in (
                None if o.success is None else ("ok" if o.success else f"failed {o.error or ''}".strip()),
                None if o.score is None else f"score {o.score:.2f}",
                None if o.cost_usd is None else f"${o.cost_usd:.6f}") if x)
            rows.append({"r": row.record, "when": _when(row.record.ts), "outcome": clean_text(outcome or "reported")})
        next_page = None
        if len(page) == PAGE:
            next_page = f"{root_path}/decisions?{urlencode({**values, 'before': page[-1].record.id})}"
        return render(request, "decisions.html", title="Explorer", rows=rows, filters=values, next_page=next_page)

    async def decision(request: Request) -> Response:
        from .._ids import is_decision_id

        decision_id = request.path_params["decision_id"]
        if not is_decision_id(decision_id):
            raise BadQuery("expected a decision id")
        row = decision_log.get(decision_id)
        if row is None:
            return render(request, "error.html", 404, title="Not found", message=f"no decision {decision_id}")
        outcome = None if row.outcome is None else {k: v for k, v in row.outcome.to_dict().items() if v is not None}
        return render(request, "decision.html", title="Decision", r=row.record, when=_when(row.record.ts),
                      outcome=outcome)

    async def session(request: Request) -> Response:
        session_id = request.path_params["session_id"]
        if len(session_id) > MAX_FILTER:
            raise BadQuery("session id too long")
        page = decision_log.query(LogFilter(session_id=session_id), limit=500)
        rows = [{"r": row.record, "when": _when(row.record.ts), "outcome": "-" if row.outcome is None else
                 ("ok" if row.outcome.success else "reported")} for row in page]
        return render(request, "decisions.html", title=f"Session {session_id}", rows=rows, filters={},
                      next_page=None)

    def csrf_token() -> str:
        return derived(b"routeiq-dashboard-csrf")

    def config_page(request: Request, status: int = 200, **extra: Any) -> HTMLResponse:
        from ..policies import Policies

        router = router_of()
        exts = [] if router is None else list(router.extensions.extensions)
        policies = next((e.policies for e in exts if isinstance(e, Policies)), None)
        experiments = next((e.experiments for e in exts if type(e).__name__ == "Experiments"), None)
        return render(request, "config.html", status, title="Routing config", router=router, csrf=csrf_token(),
                      artifact=getattr(getattr(router, "strategy", None), "artifact_id", None),
                      extensions=[getattr(e, "name", "") or type(e).__name__ for e in exts], policies=policies,
                      experiments=experiments, **extra)

    async def config(request: Request) -> Response:
        return config_page(request)

    async def try_prompt(request: Request) -> Response:
        from ..errors import RouteIQError

        form = await request.form()
        if not hmac.compare_digest(str(form.get("csrf", "")).encode(), csrf_token().encode()):
            return PlainTextResponse("forbidden: missing or wrong CSRF token", status_code=403)
        router = router_of()
        if router is None:
            raise BadQuery("no router configuration: start the dashboard with --config FILE")
        prompt = str(form.get("prompt", ""))[:20_000]
        profile = str(form.get("profile", "")) or None
        try:
            decision = router.preview().decide(prompt, profile=profile)  # no log, no extension: nothing is stored
        except RouteIQError as exc:
            return config_page(request, 400, prompt=prompt, profile=profile, error=str(exc))
        return config_page(request, prompt=prompt, profile=profile, decision=decision)

    async def experiments(request: Request) -> Response:
        from ..decisionlog import iter_log
        from ..experiments._report import experiment_report

        values, where = _filters(request.query_params)
        names_of = getattr(decision_log, "experiment_names", None)
        names = names_of(where) if callable(names_of) else sorted({
            row.record.experiment for row in iter_log(decision_log, where) if row.record.experiment})
        rows: list[Any] = []
        truncated = []
        for name in ([where.experiment] if where.experiment else names):
            newest = LogFilter(**{**where.__dict__, "experiment": name, "newest_first": True})
            got = list(itertools.islice(iter_log(decision_log, newest, page=500), EXPERIMENT_ROWS + 1))
            if len(got) > EXPERIMENT_ROWS:
                truncated.append(name)
            rows.extend(got[:EXPERIMENT_ROWS])
        report = experiment_report(rows)
        return render(request, "experiments.html", title="Experiments", report=report, since=values.get("since"),
                      truncated=truncated, limit=EXPERIMENT_ROWS, filters=values)

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    routes = [
        Route("/", guarded(dashboard)), Route("/decisions", guarded(decisions)),
        Route("/decisions/{decision_id}", guarded(decision)), Route("/sessions/{session_id:path}", guarded(session)),
        Route("/experiments", guarded(experiments)), Route("/config", guarded(config)),
        Route("/config/try", guarded(try_prompt), methods=["POST"]),
        Route("/health", health), Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(routes=routes)
    app.state.log = decision_log
    app.state.started = time.time()
    return app
