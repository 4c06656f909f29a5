"""``routeiq policy check FILE`` and ``routeiq policy test FILE "prompt" --metadata k=v``."""

from __future__ import annotations

import argparse
import json
import warnings
from typing import Any

from ..errors import ConfigError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("policy", help="check a policy file, or show what it does to a prompt",
                            description="Validate policy rules and budgets (errors name the line), or route a "
                            "prompt through them and show which rules matched and the resulting decision.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = actions.add_parser("check", help="validate a policy file")
    check.add_argument("file", help="a YAML or JSON policy file")
    check.set_defaults(func=run_check)
    test = actions.add_parser("test", help="route a prompt through the policy and show the decision")
    test.add_argument("file", help="a YAML or JSON policy file")
    test.add_argument("prompt", help="the prompt")
    test.add_argument("--metadata", action="append", default=[], metavar="KEY=VALUE",
                      help="request metadata (user, team, key_alias, session_id, tags=a,b); repeatable")
    test.add_argument("--candidates", metavar="FILE", help="JSON or YAML candidates (default: the built-in catalog)")
    test.add_argument("--profile", help="the request's profile")
    test.add_argument("--json", action="store_true", help="print JSON")
    test.set_defaults(func=run_test)


def run_check(args: argparse.Namespace) -> int:
    from ..policies import PolicyWarning, load_policies
    from ..policies._engine import never_matching

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PolicyWarning)
        policies = load_policies(args.file)
    print(f"{args.file}: {len(policies.rules)} rules, {len(policies.budgets)} budgets: valid")
    for problem in never_matching(policies):
        print(f"warning: {problem}")
    return 0


def _metadata(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--metadata {item!r}: expected KEY=VALUE, e.g. --metadata team=research")
        out[key.strip()] = [t for t in value.split(",") if t] if key.strip() == "tags" else value
    return out


def run_test(args: argparse.Namespace) -> int:
    from .._router import Router
    from ..errors import PolicyError
    from ..policies import Policies

    policies = Policies(args.file)
    router = Router(args.candidates, extensions=[policies])
    metadata = _metadata(args.metadata)
    try:
        decision = router.decide(args.prompt, metadata=metadata, profile=args.profile)
    except PolicyError as exc:
        if args.json:
            print(json.dumps({"rejected": True, "rule": exc.rule, "message": str(exc)}))
        else:
            print(f"rejected by {exc.rule}: {exc}")
        return 0
    matched = decision.details.get("policies", [])
    if args.json:
        print(json.dumps({"rejected": False, "policies": matched, "budgets": decision.details.get("budgets", []),
                          "decision": decision.to_dict(timings=False)}, indent=2))
        return 0
    print(f"rules matched: {', '.join(matched) if matched else '(none)'}")
    print(f"decision: {decision.name} ({decision.model}) under profile {decision.profile}")
    print(f"  why: {decision.reason}")
    removed = {k: v for k, v in decision.excluded.items() if v.startswith("policy ")}
    for name, why in list(removed.items())[:20]:
        print(f"  excluded {name}: {why}")
    return 0
