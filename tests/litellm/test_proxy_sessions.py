"""Sessions and experiments in a real 2-worker LiteLLM proxy sharing a real Redis (config only).

Both routes (routing plugin and binder). A conversation whose turns land on both workers keeps
every turn at or above its first turn's tier; users keep their arm on every worker; shadow
decisions reach the shared PostgreSQL log, never the user.
"""

from __future__ import annotations

import collections
import time
from pathlib import Path
from typing import Any

import pytest

from .test_proxy import EXAMPLE, Proxy

pytestmark = [pytest.mark.proxy, pytest.mark.slow]

PROOF = "Prove rigorously that there are infinitely many primes, then show the same for primes of the form 4k+3."
# unit session: with the master key every request has LiteLLM's one authenticated user, which wins
# over a user id the client writes into its metadata
EXPERIMENT = {"name": "eco-trial", "unit": "session", "arms": [
    {"name": "control", "weight": 1},
    {"name": "eco", "weight": 1, "profile": "eco"},
    {"name": "premium-shadow", "shadow": True, "profile": "premium"},
]}


def _config(tmp_path: Path, route: str) -> Path:
    import yaml

    config = yaml.safe_load(EXAMPLE.read_text())
    if route == "binder":
        config["router_settings"].pop("plugins")
        config["litellm_settings"]["callbacks"] = ["routeiq_litellm.proxy.binder"]
    config["routeiq"]["experiments"] = [EXPERIMENT]
    config["routeiq"]["session_policy"] = "upgrade-only"
    path = tmp_path / f"config-{route}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _post(client: Any, proxy: Proxy, content: str, metadata: dict[str, Any]) -> dict[str, str]:
    r = client.post("/v1/chat/completions", headers={"Authorization": f"Bearer {proxy.key}"},
                    json={"model": "smart", "messages": [{"role": "user", "content": content}], "metadata": metadata})
    assert r.status_code == 200, r.text
    return {k: v for k, v in r.headers.items() if k.startswith("x-routeiq-")}


@pytest.mark.parametrize("route", ["plugin", "binder"])
def test_sessions_and_experiments_across_two_workers(route: str, tmp_path: Path, litellm: Any, postgres: Any,
                                                      redis: Any, capsys: pytest.CaptureFixture[str]) -> None:
    import httpx

    from routeiq_core.decisionlog import iter_log, open_log

    proxy = Proxy(_config(tmp_path, route), tmp_path / f"proxy-{route}.log",
                  {"ROUTEIQ_LOG": postgres.url, "ROUTEIQ_STATE": redis.url})
    try:
        boot = proxy.wait_ready()
        turns = []
        with httpx.Client(base_url=proxy.base_url, timeout=60, limits=httpx.Limits(max_keepalive_connections=0)) \
                as client:
            for i in range(40):  # bounded: a new connection per turn lands on either worker
                turns.append(_post(client, proxy, PROOF if i == 0 else "ok, continue",
                                   {"session_id": f"conv-{route}", "user": "alice"}))
                if i >= 7 and len({t["x-routeiq-worker-pid"] for t in turns}) == 2:
                    break
            arms: dict[str, set[str]] = collections.defaultdict(set)
            workers_per_user: dict[str, set[str]] = collections.defaultdict(set)
            for rnd in range(3):
                for u in range(12):
                    h = _post(client, proxy, f"hello number {rnd}", {"session_id": f"user-{u}"})
                    arms[f"user-{u}"].add(h["x-routeiq-arm"])
                    workers_per_user[f"user-{u}"].add(h["x-routeiq-worker-pid"])
        first_tier = int(turns[0]["x-routeiq-tier"])
        tiers = [int(t["x-routeiq-tier"]) for t in turns]
        per_worker = collections.Counter(t["x-routeiq-worker-pid"] for t in turns)
        with capsys.disabled():
            print(f"\n[{route}] proxy ready after {boot:.0f}s; conversation of {len(turns)} turns, turns per worker "
                  f"{dict(per_worker)}, tiers {tiers}")
            print(f"[{route}] arms per user (3 requests each, on {sum(len(w) > 1 for w in workers_per_user.values())}"
                  f" users both workers): {dict(collections.Counter(next(iter(a)) for a in arms.values()))}")
        assert len(per_worker) == 2, "the conversation's turns should land on both workers"
        assert all(t >= first_tier for t in tiers) and first_tier >= 3
        assert all(int(t["x-routeiq-session-tier"]) >= first_tier for t in turns[1:])
        assert all(len(a) == 1 for a in arms.values())  # sticky per user, whichever worker served
        assert {next(iter(a)) for a in arms.values()} == {"control", "eco"}
        log = open_log(postgres.url)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            rows = list(iter_log(log))
            if sum(not r.record.served for r in rows) >= 36:
                break
            time.sleep(0.5)
        shadows = [r for r in rows if not r.record.served]
        assert len(shadows) >= 36 and {r.record.arm for r in shadows} == {"premium-shadow"}
        with capsys.disabled():
            print(f"[{route}] decision log: {len(rows) - len(shadows)} served decisions, {len(shadows)} shadow "
                  "decisions (never served)")
    finally:
        proxy.stop()
