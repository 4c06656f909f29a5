"""``routeiq catalog``: list the candidates the router chooses from."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "catalog",
        help="list the built-in catalog (or a candidates file)",
        description="Print the candidates with prices (USD per 1M tokens), tier and capabilities.",
    )
    parser.add_argument("--candidates", metavar="FILE", help="JSON or YAML candidates file instead")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .._candidates import TIER_NAMES, Catalog

    catalog = Catalog.from_file(args.candidates) if args.candidates else Catalog.builtin()
    if args.json:
        print(json.dumps(catalog.model_dump(mode="json"), indent=2))
        return 0
    print(f"catalog {catalog.name!r}: {len(catalog.candidates)} candidates"
          + (f", prices as of {catalog.prices_as_of}" if catalog.prices_as_of else ""))
    print(f"{'name':<36} {'tier':<9} {'in $/1M':>8} {'out $/1M':>9} {'context':>9}  capabilities")
    for c in sorted(catalog.candidates, key=lambda c: (c.tier, c.blended_cost_per_mtok, c.name)):
        ctx = f"{c.context_window:,}" if c.context_window else "-"
        print(f"{c.name:<36} {c.tier} {TIER_NAMES[c.tier]:<7} {c.input_cost_per_mtok:>8.2f} "
              f"{c.output_cost_per_mtok:>9.2f} {ctx:>9}  {','.join(sorted(c.capabilities)) or '-'}"
              + ("  (free)" if c.free else ""))
    if catalog.source:
        print(f"\nsource: {catalog.source}")
    return 0
