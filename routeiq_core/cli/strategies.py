"""``routeiq strategies list|show``: the registered strategies and their parameters."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from .plugins import format_table, loaded_registry

if TYPE_CHECKING:
    from .._strategy import BaseStrategy


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("strategies", help="list the registered strategies or show one")
    actions = parser.add_subparsers(dest="strategies_command", metavar="ACTION")
    listing = actions.add_parser(
        "list",
        help="name, distribution, version, needs-training, extras of every strategy",
        description="List every registered strategy (built-ins and plugins).",
    )
    fmt = listing.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print JSON instead of a table")
    fmt.add_argument("--markdown", action="store_true", help="print a Markdown table (for docs)")
    listing.set_defaults(func=_list)
    show = actions.add_parser("show", help="one strategy's description and hyper-parameters")
    show.add_argument("name", help="a registered strategy name")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(func=_show)
    parser.set_defaults(func=_list, json=False, markdown=False)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _list(args: argparse.Namespace) -> int:
    infos = [i.to_dict() for i in loaded_registry().infos()]
    if args.json:
        print(json.dumps(infos, indent=2))
        return 0
    if args.markdown:
        print(markdown_table(infos))
        return 0
    rows = [
        (d["name"], d["distribution"], d["version"], _yes(d["needs_training"]), _yes(d["calls_llm"]),
         ",".join(d["extras"]) or "-", _shorten(d["summary"], 60))
        for d in infos
    ]
    print(format_table(("NAME", "DISTRIBUTION", "VERSION", "TRAINING", "LLM", "EXTRAS", "DESCRIPTION"), rows))
    return 0


def markdown_table(infos: list[dict[str, Any]]) -> str:
    """The strategies as a Markdown table (name, distribution, training, LLM, extras, description)."""
    lines = ["| Name | Distribution | Needs training | Calls an LLM | Extras | Description |",
             "|---|---|---|---|---|---|"]
    for d in infos:
        extras = ", ".join(f"`{e}`" for e in d["extras"]) or "-"
        summary = d["summary"].replace("|", "\\|")
        lines.append(f"| `{d['name']}` | {d['distribution']} | {_yes(d['needs_training'])} | "
                     f"{_yes(d['calls_llm'])} | {extras} | {summary} |")
    return "\n".join(lines)


def _params(cls: type[BaseStrategy[Any]]) -> list[dict[str, Any]]:
    out = []
    for field_name, field in cls.Params.model_fields.items():
        out.append({
            "name": field_name,
            "type": getattr(field.annotation, "__name__", str(field.annotation)).replace("typing.", ""),
            "default": None if field.is_required() else field.get_default(call_default_factory=True),
            "required": field.is_required(),
            "description": field.description or "",
        })
    return out


def _show(args: argparse.Namespace) -> int:
    info = loaded_registry().info(args.name)
    body = info.to_dict()
    body["params"] = _params(info.cls)
    body["doc"] = (info.cls.__doc__ or "").strip()
    if args.json:
        print(json.dumps(body, indent=2, default=repr))
        return 0
    print(f"{info.name}  ({info.distribution} {info.version}, {info.class_path})\n")
    if body["doc"]:
        print(body["doc"] + "\n")
    flags = ", ".join(f"{k.replace('_', '-')}: {_yes(body[k])}"
                      for k in ("needs_training", "needs_embedding", "calls_llm", "online", "deterministic"))
    print(flags + (f"; extras: {', '.join(body['extras'])}" if body["extras"] else ""))
    if body["params"]:
        print()
        rows = [(p["name"], p["type"], "(required)" if p["required"] else repr(p["default"]),
                 _shorten(p["description"], 60)) for p in body["params"]]
        print(format_table(("PARAMETER", "TYPE", "DEFAULT", "DESCRIPTION"), rows))
    return 0


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
