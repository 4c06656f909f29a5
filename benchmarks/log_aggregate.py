"""How long the decision log's dashboard queries take on a large log, measured in one run.

Writes N decisions (default 100,000; real records of real decisions, copied with new ids, times,
models and outcomes) into a fresh SQLite log, then times ``aggregate()`` (every dashboard number
in grouped SQL) and one page of ``query()`` (50 rows, newest first, with a filter), 5 times each.

    python benchmarks/log_aggregate.py [--n 100000]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
import warnings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    from routeiq_core import Router
    from routeiq_core._ids import new_decision_id
    from routeiq_core.decisionlog import Feedback, LogFilter, open_log
    from routeiq_core.decisionlog._records import record_of

    router = Router()
    prompts = ["hi", "Prove that there are infinitely many primes.", "Write a Python CSV parser.",
               "Summarise the meeting notes.", "What is the capital of France?"]
    templates = [record_of(d, d.query.request) for d in (router.decide(p) for p in prompts)  # type: ignore[union-attr]
                 if d.query is not None and d.query.request is not None]
    url = f"sqlite:///{tempfile.mkdtemp(prefix='routeiq-agg-')}/big.db"
    log = open_log(url)
    t0 = time.perf_counter()
    now = time.time() - 86400
    for start in range(0, args.n, 2000):
        batch, feedback = [], []
        for i in range(start, min(args.n, start + 2000)):
            r = dataclasses.replace(templates[i % len(templates)], id=new_decision_id(), ts=now + i * 86400 / args.n,
                                    team=f"team-{i % 7}")
            batch.append(r)
            if i % 2:
                feedback.append(Feedback(r.id, r.ts, success=i % 5 != 0, cost_usd=0.0001 * (1 + i % 3)))
        log.write(batch, feedback)
    print(f"wrote {args.n:,} decisions (+{args.n // 2:,} feedback rows) in {time.perf_counter() - t0:.1f} s")
    for label, call in (("aggregate() (the whole dashboard)", lambda: log.aggregate(LogFilter())),  # type: ignore[attr-defined]
                        ("aggregate() for one team", lambda: log.aggregate(LogFilter(team="team-3"))),  # type: ignore[attr-defined]
                        ("query(): a page of 50, newest first, one team",
                         lambda: log.query(LogFilter(team="team-3", newest_first=True), limit=50))):
        times = []
        for _ in range(5):
            t1 = time.perf_counter()
            call()
            times.append((time.perf_counter() - t1) * 1e3)
        print(f"  {label:<48} median {statistics.median(times):7.1f} ms  (max {max(times):.1f})")


if __name__ == "__main__":
    main()
