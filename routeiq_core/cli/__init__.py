"""The ``routeiq`` command line.

Each sub-command lives in its own module of this package and exposes
``register(subparsers)``, which adds its parser and sets ``func`` (a callable
taking the parsed args and returning an exit code). Heavy imports happen inside
``func``, so ``routeiq --help`` stays fast.

Errors that RouteIQ raises on purpose print one line (``routeiq: error: ...``)
and exit with status 2; no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ..errors import RouteIQError

__all__ = ["build_parser", "main"]

#: Sub-command modules, in the order ``--help`` lists them.
COMMAND_MODULES = ("decide", "catalog", "centroids", "embedder", "strategies", "plugins", "train", "calibrate", "eval",
                   "log", "experiments", "policy", "dashboard", "config")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("routeiq")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0+unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="routeiq",
        description="Decide which LLM deployment should serve a request, and say why.",
        epilog="Run 'routeiq COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"routeiq {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module_name = f"{__name__}.{name}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue  # a command whose module is not written yet
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except RouteIQError as exc:
        print(f"routeiq: error: {' '.join(str(exc).split())}", file=sys.stderr)  # always one line
        return 2
    except KeyboardInterrupt:
        print("routeiq: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
