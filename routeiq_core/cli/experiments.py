"""``routeiq experiments report``: each experiment's arms, outcomes and verdict, from the decision log."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("experiments", help="report on A/B and shadow experiments from the decision log",
                            description="Per experiment and arm: decisions, share, mean outcome and success rate "
                            "with 95%% intervals, cost, latency, and a verdict against the control arm.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    report = actions.add_parser("report", help="the report")
    report.add_argument("--log", metavar="URL", help="the decision log (default $ROUTEIQ_LOG)")
    report.add_argument("--control", help="the control arm (default: the arm with the most decisions)")
    report.add_argument("--since", help="30m, 2h, 7d, an ISO date or a Unix time")
    report.add_argument("--json", action="store_true", help="print JSON")
    report.set_defaults(func=run_report)


def _ci(item: dict[str, float] | None, digits: int = 3) -> str:
    if not item:
        return "-"
    return f"{item['mean']:.{digits}f} ({item['low']:.{digits}f} .. {item['high']:.{digits}f})"


def run_report(args: argparse.Namespace) -> int:
    from ..decisionlog import LogFilter, iter_log
    from ..experiments._report import experiment_report
    from .log import open_from_args, parse_since

    log = open_from_args(args)
    result = experiment_report(iter_log(log, LogFilter(since=parse_since(args.since))), control=args.control)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    if not result:
        print(f"no experiment decisions in {log.url}")
    for name, exp in result.items():
        print(f"experiment {name}: {exp['decisions']} served decisions; control {exp['control']}")
        for arm, a in exp["arms"].items():
            cost = "-" if a["mean_cost_usd"] is None else f"${a['mean_cost_usd']:.6f}"
            print(f"  {arm:<16} {a['decisions']:>7} ({a['share']:.0%})  outcome {_ci(a['outcome'])}  "
                  f"success {_ci(a['success_rate'])}  cost {cost}")
            if "versus_control" in a:
                print(f"  {'':<16} {a['versus_control']['verdict']}")
        for arm, s in exp["shadows"].items():
            diff = s["model_based_quality_difference"]
            print(f"  {arm:<16} shadow: {s['paired_requests']} paired requests, agrees {s['agreement']:.0%}, "
                  f"model-based quality difference {_ci(diff)}" if s["paired_requests"] else
                  f"  {arm:<16} shadow: no paired requests yet")
    return 0
