"""``routeiq dashboard``: serve the web UI over the decision log on loopback."""

from __future__ import annotations

import argparse
import secrets
import sys


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("dashboard", help="serve the dashboard web UI over the decision log",
                            description="Serve the dashboard (decisions, savings, the explorer) over the decision "
                            "log. Binds 127.0.0.1 by default; every page needs the access token.")
    parser.add_argument("--log", metavar="URL", help="the decision log (default $ROUTEIQ_LOG)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8484, help="port (default 8484)")
    parser.add_argument("--token", help="the access token (default $ROUTEIQ_DASHBOARD_TOKEN, else a new one)")
    parser.add_argument("--config", metavar="FILE", help="a router config: shown on the routing-config page, and "
                        "used by its 'try a prompt' form (default $ROUTEIQ_CONFIG)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .._settings import RouteIQSettings
    from ..dashboard import create_app
    from ..errors import MissingDependencyError
    from .log import open_from_args

    settings = RouteIQSettings.from_env()
    token = args.token or (settings.dashboard_token.get_secret_value() if settings.dashboard_token else None) \
        or secrets.token_urlsafe(24)
    router = None
    if args.config or settings.config:
        from .._config import RouterConfig
        from .._router import Router
        from .._settings import effective_config, settings_with_config

        config: RouterConfig
        config, _ = effective_config(settings=settings_with_config(args.config))
        router = Router.from_config(config.model_copy(update={"log": None, "exploration": None}))
    app = create_app(open_from_args(args), token=token, router=router)
    try:
        import uvicorn
    except ImportError:
        raise MissingDependencyError("routeiq dashboard needs uvicorn: pip install 'routeiq[ui]'") from None
    print(f"RouteIQ dashboard on http://{args.host}:{args.port}/?token={token}", file=sys.stderr, flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
