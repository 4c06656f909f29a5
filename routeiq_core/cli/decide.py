"""``routeiq decide``: one routing decision, human-readable or JSON."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

#: Longest prompt read from standard input.
MAX_STDIN_CHARS = 16 * 1024 * 1024


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "decide",
        help="decide which candidate should serve a prompt",
        description="Route a prompt (argument, or standard input when omitted or '-') and print the "
        "decision. Uses the built-in catalog unless --candidates is given.",
    )
    parser.add_argument("prompt", nargs="?", help="the prompt; omit or '-' to read standard input")
    parser.add_argument("--messages", metavar="FILE",
                        help="a JSON file with OpenAI chat messages (a list, or an object with "
                             "'messages' and optional 'tools' and 'metadata') instead of a prompt")
    parser.add_argument("--profile", help="auto, eco, premium, free, reasoning (default: auto)")
    parser.add_argument("--candidates", metavar="FILE", help="JSON or YAML file of candidates")
    parser.add_argument("--config", metavar="FILE",
                        help="a router config (JSON/YAML: candidates, strategy or artifact, profiles, "
                             "team/key profiles; default $ROUTEIQ_CONFIG); ROUTEIQ_* variables and the "
                             "other options override it")
    parser.add_argument("--strategy", help="strategy name (default: centroid)")
    parser.add_argument("--artifact", metavar="DIR", help="a trained strategy directory (routeiq train)")
    parser.add_argument("--json", action="store_true", help="print the decision as JSON")
    parser.add_argument("--top", type=int, default=5, help="alternatives to show (text output)")
    parser.set_defaults(func=run)


def _read_input(args: argparse.Namespace) -> dict[str, Any]:
    from ..errors import RequestError

    if args.messages:
        from .._files import read_structured_file

        data = read_structured_file(args.messages, f"--messages {args.messages}", RequestError)
        if isinstance(data, list):
            return {"messages": data}
        if isinstance(data, dict) and "messages" in data:
            return {k: data[k] for k in ("messages", "tools", "functions", "metadata") if k in data}
        raise RequestError(
            f"--messages {args.messages}: expected a list of messages or an object with 'messages'",
            field="messages",
        )
    prompt = args.prompt
    if prompt is None or prompt == "-":
        if sys.stdin is None or sys.stdin.isatty():
            raise RequestError("no prompt: pass it as an argument or pipe it on standard input", field="prompt")
        try:
            prompt = sys.stdin.read(MAX_STDIN_CHARS + 1)
        except (OSError, UnicodeDecodeError) as exc:
            raise RequestError(f"cannot read the prompt from standard input ({type(exc).__name__})",
                               field="prompt") from None
        if len(prompt) > MAX_STDIN_CHARS:
            raise RequestError(f"the prompt on standard input is longer than {MAX_STDIN_CHARS} characters",
                               field="prompt")
    return {"prompt": prompt}


def run(args: argparse.Namespace) -> int:
    from .._config import RouterConfig
    from .._router import Router
    from .._settings import effective_config, settings_with_config

    request = _read_input(args)
    explicit = {"candidates": args.candidates, "artifact": args.artifact, "strategy": args.strategy}
    config: RouterConfig
    config, _ = effective_config(settings=settings_with_config(args.config), explicit=explicit)
    router = Router.from_config(config)
    decision = router.decide(**request, profile=args.profile)
    if args.json:
        print(json.dumps(decision.to_dict(), indent=2, ensure_ascii=False))
        return 0
    cand = decision.candidate
    print(f"{cand.name}  (profile {decision.profile}, strategy {decision.strategy})")
    print(f"  why: {decision.reason}")
    print(f"  category: {decision.category} (confidence {decision.confidence:.2f}), "
          f"complexity {decision.complexity}/5 {decision.complexity_label}")
    active = [s for s in decision.signals if s.value > 0 and "." in s.name and s.name.split(".")[0] != "complexity"]
    if active:
        print("  signals: " + ", ".join(f"{s.name}={s.value:.2f}x{s.weight:.2f}" for s in active))
    print("  ranking:")
    top = max(1, args.top)
    for alt in decision.ranking[:top]:
        print(f"    {alt.rank:>2}. {alt.name:<36} quality {alt.quality:.3f}  est ${alt.cost:.6f}  score {alt.score:+.3f}")
    if len(decision.ranking) > top:
        print(f"    ... {len(decision.ranking) - top} more (use --json for all)")
    if decision.excluded:
        print(f"  excluded: {len(decision.excluded)} candidate(s), e.g. "
              + "; ".join(f"{k}: {v}" for k, v in list(decision.excluded.items())[:2]))
    for warning in decision.warnings:
        print(f"  warning: {warning}")
    t = decision.timings_ms
    load = f", model load {t['load']:.0f} ms" if t.get("load", 0) >= 1 else ""
    print(f"  time: {t.get('total', 0):.1f} ms (embed {t.get('embed', 0):.1f} ms{load})")
    return 0
