"""``routeiq plugins``: the installed RouteIQ plugins (distributions) and their hooks."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .._registry import StrategyRegistry


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "plugins",
        help="list installed plugins, their hooks and what they registered",
        description="List the plugins found through the 'routeiq' entry-point group (the built-ins "
        "included): distribution, version, hooks implemented, strategies registered, and load errors.",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(func=_run)


def loaded_registry() -> StrategyRegistry:
    """The default registry, loaded; plugin warnings print as one line each on stderr."""
    from .._registry import default_registry
    from ..errors import PluginLoadWarning

    registry = default_registry()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PluginLoadWarning)
        registry.load()
    for w in caught:
        if issubclass(w.category, PluginLoadWarning):
            print(f"routeiq: warning: {w.message}", file=sys.stderr)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return registry


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Plain left-aligned columns (no third-party table library)."""
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    lines = ["  ".join(str(v).ljust(w) for v, w in zip(row, widths)).rstrip() for row in (header, *rows)]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> int:
    plugins = loaded_registry().plugins()
    if args.json:
        print(json.dumps([p.to_dict() for p in plugins], indent=2))
        return 0
    rows = [
        (p.name, p.distribution, p.version, p.status, ", ".join(p.hooks) or "-",
         ", ".join(sorted(p.strategies + p.embedders)) or "-")
        for p in plugins
    ]
    print(format_table(("PLUGIN", "DISTRIBUTION", "VERSION", "STATUS", "HOOKS", "REGISTERED"), rows))
    for p in plugins:
        if p.error:
            print(f"\n{p.name} ({p.distribution}) failed: {p.error}")
    return 0
