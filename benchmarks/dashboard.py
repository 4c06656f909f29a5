"""How long the dashboard's pages take to render on a large decision log, measured in one run.

Writes N decisions (default 100,000; real records of real decisions, copied with new ids, times
spread over a day, teams, keys, tags, sessions, and feedback on every second one) into a fresh
SQLite log, then renders every page through the ASGI app in process (templates, queries,
escaping: all but the network), 5 times each, and prints the median and the first (cold) render.
It also times ``aggregate()`` from the rows and from the hourly roll-up, for comparison.

    python benchmarks/dashboard.py [--n 100000] [--log sqlite:///path.db]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
import warnings


def fill(url: str, n: int) -> list[str]:
    from routeiq_core import Router
    from routeiq_core._ids import new_decision_id
    from routeiq_core.decisionlog import Feedback, open_log
    from routeiq_core.decisionlog._records import record_of

    router = Router()
    prompts = ["hi", "Prove that there are infinitely many primes.", "Write a Python CSV parser.",
               "Summarise the meeting notes.", "What is the capital of France?"]
    templates = [record_of(d, d.query.request) for d in (router.decide(p) for p in prompts)  # type: ignore[union-attr]
                 if d.query is not None and d.query.request is not None]
    log = open_log(url)
    t0 = time.perf_counter()
    start_ts = time.time() - 86400
    ids = []
    for start in range(0, n, 2000):
        batch, feedback = [], []
        for i in range(start, min(n, start + 2000)):
            r = dataclasses.replace(templates[i % len(templates)], id=new_decision_id(), ts=start_ts + i * 86400 / n,
                                    team=f"team-{i % 7}", key_alias=f"key-{i % 13}", user=f"user-{i % 997}",
                                    session_id=f"s-{i // 4}", tags=("batch",) if i % 10 == 0 else ("chat",))
            batch.append(r)
            if i % 2:
                feedback.append(Feedback(r.id, r.ts, success=i % 5 != 0, cost_usd=0.0001 * (1 + i % 3)))
        log.write(batch, feedback)
        ids.append(batch[-1].id)
    print(f"wrote {n:,} decisions (+{n // 2:,} feedback rows) in {time.perf_counter() - t0:.1f} s "
          f"({n / (time.perf_counter() - t0):,.0f} decisions/s, roll-up included)")
    return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--log", help="an existing log to time instead of a fresh one")
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    from starlette.testclient import TestClient

    from routeiq_core import Router
    from routeiq_core.dashboard import create_app
    from routeiq_core.decisionlog import LogFilter, open_log

    url = args.log or f"sqlite:///{tempfile.mkdtemp(prefix='routeiq-dash-')}/big.db"
    ids = [] if args.log else fill(url, args.n)
    log = open_log(url)
    some_id = ids[len(ids) // 2] if ids else log.query(LogFilter(newest_first=True), limit=1)[0].record.id
    token = "benchmark-token-0123456789"
    client = TestClient(create_app(url, token=token, router=Router()), headers={"Authorization": f"Bearer {token}"})
    pages = [("dashboard, everything", "/"), ("dashboard, last 24h", "/?since=24h"),
             ("dashboard, one team", "/?team=team-3"), ("dashboard, one tag", "/?tag=batch"),
             ("dashboard, one user (from the rows)", "/?user=user-5"),
             ("explorer, newest 50", "/decisions"), ("explorer, one team", "/decisions?team=team-3"),
             ("explorer, failures of one key", "/decisions?key=key-4&outcome=failure"),
             ("one decision", f"/decisions/{some_id}"), ("one conversation", "/sessions/s-100"),
             ("experiments", "/experiments"), ("routing config", "/config")]
    print(f"{'page':<40} {'first':>9} {'median':>9} {'max':>9}")
    for label, path in pages:
        times = []
        for _ in range(6):
            t1 = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - t1) * 1e3)
            assert response.status_code == 200, (path, response.status_code, response.text[:200])
        print(f"{label:<40} {times[0]:7.1f}ms {statistics.median(times[1:]):7.1f}ms {max(times[1:]):7.1f}ms")
    for label, call in (("aggregate() from the rows", lambda: log.aggregate(LogFilter(), exact=True)),  # type: ignore[attr-defined]
                        ("aggregate() from the roll-up", lambda: log.aggregate(LogFilter(), exact=False))):  # type: ignore[attr-defined]
        times = []
        for _ in range(5):
            t1 = time.perf_counter()
            call()
            times.append((time.perf_counter() - t1) * 1e3)
        print(f"{label:<40} {'':>9} {statistics.median(times):7.1f}ms {max(times):7.1f}ms")


if __name__ == "__main__":
    main()
