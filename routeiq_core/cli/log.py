"""``routeiq log``: read the decision log (tail, show, stats with savings, export)."""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import ConfigError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "log",
        help="read the decision log: tail, show, stats, export",
        description="Read the decision log written by Router(log=...) or the LiteLLM adapter "
        "(--log URL, default $ROUTEIQ_LOG). No prompt text is shown unless it was logged.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--log", metavar="URL", help="the log (sqlite:///..., postgresql://..., jsonl:///...); "
                       "default $ROUTEIQ_LOG")
        p.add_argument("--json", action="store_true", help="print JSON")

    tail = actions.add_parser("tail", help="the newest decisions")
    common(tail)
    tail.add_argument("-n", "--lines", type=int, default=20, help="how many (default 20)")
    tail.add_argument("--since", help="only newer than this: 30m, 2h, 7d, an ISO date or a Unix time")
    tail.set_defaults(func=run_tail)

    show = actions.add_parser("show", help="one decision in full, with its feedback")
    common(show)
    show.add_argument("id", help="the decision id (Decision.id, the x-routeiq-id header)")
    show.set_defaults(func=run_show)

    stats = actions.add_parser("stats", help="traffic mix, outcomes, latency, spend and savings")
    common(stats)
    stats.add_argument("--since", help="30m, 2h, 7d, an ISO date or a Unix time (default: everything)")
    stats.add_argument("--baseline", default="strongest",
                       help="what savings are measured against: 'strongest' (the priciest eligible candidate) "
                            "or a candidate name or model (default strongest)")
    stats.set_defaults(func=run_stats)

    export = actions.add_parser("export", help="write decisions with feedback as canonical JSON Lines")
    common(export)
    export.add_argument("--out", required=True, type=Path, help="the .jsonl file to write")
    export.add_argument("--since", help="30m, 2h, 7d, an ISO date or a Unix time")
    export.set_defaults(func=run_export)


def parse_since(value: str | None, now: float | None = None) -> float | None:
    """``30m`` / ``2h`` / ``7d`` / ``45s`` ago, an ISO 8601 date, or a Unix time, as a Unix time."""
    if value is None:
        return None
    now = time.time() if now is None else now
    text = value.strip()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smhdw])", text)
    if m:
        seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[m.group(2)]
        return now - float(m.group(1)) * seconds
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if math.isfinite(number):
            return number
        raise ConfigError(f"--since {value!r}: expected a finite Unix time")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"--since {value!r}: expected 30m, 2h, 7d, an ISO date (2026-12-01T09:00) or a Unix "
                          "time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def open_from_args(args: argparse.Namespace) -> Any:
    from ..decisionlog import open_log

    url = args.log
    if url is None:
        from .._settings import RouteIQSettings

        secret = RouteIQSettings.from_env().log
        url = secret.get_secret_value() if secret is not None else None
    if not url:
        raise ConfigError("no decision log: pass --log URL (e.g. --log sqlite:///decisions.db) or set ROUTEIQ_LOG")
    return open_log(url)


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _line(row: Any) -> str:
    r, o = row.record, row.outcome
    outcome = "-"
    if o is not None:
        parts = []
        if o.success is not None:
            parts.append("ok" if o.success else (f"failed ({o.error})" if o.error else "failed"))
        if o.score is not None:
            parts.append(f"score {o.score:.2f}")
        if o.cost_usd is not None:
            parts.append(f"${o.cost_usd:.6f}")
        outcome = ", ".join(parts) or "reported"
    who = r.user or r.team or r.key_alias or "-"
    return (f"{_when(r.ts)}  {r.id}  {r.candidate:<18} {r.category or '-':<11} {r.profile:<8} "
            f"conf {r.confidence:.2f}  {who:<12} {outcome}")


def run_tail(args: argparse.Namespace) -> int:
    from ..decisionlog import LogFilter

    if args.lines < 1:
        raise ConfigError(f"--lines must be at least 1, got {args.lines}")
    log = open_from_args(args)
    rows = log.query(LogFilter(since=parse_since(args.since), newest_first=True), limit=args.lines)[::-1]
    if args.json:
        for row in rows:
            print(json.dumps(row.to_dict(), ensure_ascii=False))
        return 0
    if not rows:
        print(f"no decisions in {log.url}")
    for row in rows:
        print(_line(row))
    return 0


def run_show(args: argparse.Namespace) -> int:
    from .._ids import is_decision_id

    if not is_decision_id(args.id):
        raise ConfigError(f"{args.id!r} is not a decision id (a UUID such as 01a2c3d4-...)")
    log = open_from_args(args)
    row = log.get(args.id)
    if row is None:
        raise ConfigError(f"no decision {args.id} in {log.url}")
    data = row.to_dict()
    if args.json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    r = row.record
    print(f"decision {r.id} at {_when(r.ts)} UTC")
    print(f"  chose     {r.candidate} ({r.model}) with propensity {r.propensity:g}")
    print(f"  profile   {r.profile}   strategy {r.strategy}" + (f" ({r.artifact})" if r.artifact else ""))
    print(f"  category  {r.category}   confidence {r.confidence:.3f}   complexity {r.complexity}")
    print(f"  reason    {r.reason}")
    print(f"  who       user={r.user} team={r.team} key={r.key_alias} session={r.session_id} tags={list(r.tags)}")
    print(f"  prompt    sha256 {r.fingerprint}" + ("" if r.prompt is None else f"\n            {r.prompt[:500]!r}"))
    print("  ranking   (name, predicted quality, estimated cost)")
    for name, model, quality, cost, _score in r.ranking[:10]:
        print(f"            {name:<20} {quality:.3f}  ${cost:.6f}  {model}")
    if r.signals:
        print("  signals   " + ", ".join(f"{n}={v:.2f} (w {w:.2f})" for n, v, w in r.signals))
    print("  timings   " + ", ".join(f"{k} {v:.2f} ms" for k, v in r.timings_ms.items()))
    for w in r.warnings:
        print(f"  warning   {w}")
    print(f"  outcome   {json.dumps(data['outcome'])}")
    return 0


def run_stats(args: argparse.Namespace) -> int:
    from ..decisionlog import LogFilter, iter_log
    from ..decisionlog._stats import log_stats

    log = open_from_args(args)
    stats = log_stats(iter_log(log, LogFilter(since=parse_since(args.since))), baseline=args.baseline).to_dict()
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    n = stats["decisions"]
    print(f"{n} decisions in {log.url}" + (f" from {_when(stats['first_ts'])} to {_when(stats['last_ts'])} UTC"
                                           if n else ""))
    if not n:
        return 0
    for title, key in (("models", "models"), ("categories", "categories"), ("profiles", "profiles")):
        print(f"  {title:<11}" + ", ".join(f"{k} {v / n:.0%}" for k, v in stats[key].items()))
    print(f"  fallbacks  {stats['fallbacks']}   explored {stats['explored']}   with feedback "
          f"{stats['with_feedback']} ({stats['with_feedback'] / n:.0%})")
    for model, s in stats["success_rate"].items():
        print(f"  success    {model}: {s['success_rate']:.1%} of {s['reports']}")
    if stats["decide_ms"]:
        print(f"  decide()   p50 {stats['decide_ms']['p50']:.2f} ms, p99 {stats['decide_ms']['p99']:.2f} ms")
    s = stats["savings"]
    if s["decisions_with_real_cost"]:
        share = f" ({s['saved_share']:.0%})" if s["saved_share"] is not None else ""
        print(f"  spend      ${s['spend_usd']:.4f} on {s['decisions_with_real_cost']} decisions with a real cost; "
              f"always {s['baseline']}: ${s['baseline_usd']:.4f}; saved ${s['saved_usd']:.4f}{share}")
    else:
        print("  spend      no decision has a real cost yet (feedback with cost_usd, e.g. from LiteLLM)")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from ..decisionlog import LogFilter, iter_log

    log = open_from_args(args)
    written = no_prompt = no_outcome = 0
    with open(args.out, "w", encoding="utf-8") as fh:
        for row in iter_log(log, LogFilter(since=parse_since(args.since), with_feedback=True)):
            r, o = row.record, row.outcome
            quality = o.quality if o is not None else None
            if quality is None:
                no_outcome += 1
                continue
            if r.prompt is None:
                no_prompt += 1
                continue
            served = o.served_by or r.candidate if o is not None else r.candidate
            model = next((m for n, m, *_ in r.ranking if n == served), r.model)
            out: dict[str, Any] = {"id": r.id, "prompt": r.prompt, "scores": {model: quality}, "task": r.category}
            if o is not None and o.cost_usd is not None:
                out["costs"] = {model: o.cost_usd}
            if r.user:
                out["user"] = r.user
            fh.write(json.dumps(out, ensure_ascii=False) + "\n")
            written += 1
    print(f"wrote {written} rows to {args.out}", file=sys.stderr)
    if no_prompt:
        print(f"skipped {no_prompt} decisions without prompt text (log_prompts was off); train on their "
              "embeddings with: routeiq train --from-log URL", file=sys.stderr)
    if no_outcome:
        print(f"skipped {no_outcome} decisions whose feedback has no score or success", file=sys.stderr)
    return 0
