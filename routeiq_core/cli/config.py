"""``routeiq config show``: the effective settings and where each value came from."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "config",
        help="show the effective settings",
        description="Print the effective settings: the ROUTEIQ_* environment variables and the router "
        "config after precedence (arguments > environment > config file > defaults), each with its source. "
        "Secrets are masked.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="print the effective settings and their sources")
    show.add_argument("--config", metavar="FILE", help="a router config file (default: $ROUTEIQ_CONFIG)")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(func=run_show)
    docs = actions.add_parser("docs", help="print the settings reference table (docs/settings.md)")
    docs.set_defaults(func=run_docs)


def effective(config: str | None) -> dict[str, Any]:
    """``{"settings": {...}, "router": {...}}``: each entry ``{"value": ..., "source": ...}``."""
    from .._config import RouterConfig
    from .._settings import (
        RouteIQSettings,
        effective_config,
        env_name,
        masked,
        settings_with_config,
    )

    settings = settings_with_config(config)
    router: RouterConfig
    router, sources = effective_config(settings=settings)
    process = {}
    for name in RouteIQSettings.model_fields:
        source = settings.source_of(name) if not (name == "config" and config) else "argument --config"
        process[name] = {"variable": env_name(name), "value": masked(getattr(settings, name)), "source": source}
    fields = {name: {"value": masked(getattr(router, name)), "source": sources[name]} for name in sources}
    from ..decisionlog._sql import redact_url

    for secret_url in ("log", "state"):
        if fields.get(secret_url, {}).get("value"):
            fields[secret_url]["value"] = redact_url(fields[secret_url]["value"])
    return {"settings": process, "router": fields}


def run_show(args: argparse.Namespace) -> int:
    data = effective(args.config)
    if args.json:
        print(json.dumps(data, indent=2, sort_keys=True))
        return 0
    print("settings (environment):")
    for item in data["settings"].values():
        print(f"  {item['variable']:<26} = {json.dumps(item['value']):<24} ({item['source']})")
    print("router config:")
    for name, item in data["router"].items():
        print(f"  {name:<26} = {json.dumps(item['value']):<24} ({item['source']})")
    return 0


def run_docs(args: argparse.Namespace) -> int:
    from .._settings import settings_markdown

    print(settings_markdown(), end="")
    return 0
