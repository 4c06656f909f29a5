"""Policies, budgets, telemetry and visible decisions in a real 2-worker LiteLLM proxy (both routes).

One proxy per route, with Redis (budgets), PostgreSQL (the log), Prometheus in multiprocess mode,
LiteLLM's own OpenTelemetry callback printing spans (console exporter), and a spy callback that
records what LiteLLM puts into its spend logs.
"""

from __future__ import annotations

import collections
import json
import re
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from .test_proxy import EXAMPLE, Proxy

pytestmark = [pytest.mark.proxy, pytest.mark.slow]
CANARY = "CANARY-proxy-ops-3c1f-never-exported"
LIMIT = 0.0001  # USD: a mocked gpt-4o-mini answer costs about $0.0000135

SPY = textwrap.dedent('''
    import json, os
    from litellm.integrations.custom_logger import CustomLogger

    class Spy(CustomLogger):
        async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
            md = (kwargs.get("litellm_params") or {}).get("metadata") or {}
            with open(os.environ["SPEND_SPY_FILE"], "a") as fh:
                fh.write(json.dumps(md.get("spend_logs_metadata"), default=str) + "\\n")

    spy = Spy()
''')


def _config(tmp_path: Path, route: str) -> Path:
    import yaml

    config = yaml.safe_load(EXAMPLE.read_text())
    ours = "routeiq_litellm.proxy.headers"
    if route == "binder":
        config["router_settings"].pop("plugins")
        ours = "routeiq_litellm.proxy.binder"
    config["litellm_settings"]["callbacks"] = [ours, "spendspy.spy", "otel"]
    config["routeiq"].update(prometheus=True, policies={
        "rules": [{"name": "blocked-tag", "when": {"tags": ["blocked"]}, "then": {"reject": "this tag is blocked"}}],
        "budgets": [{"name": "team-cap", "scope": "team", "period": "day", "limit_usd": LIMIT, "action": "reject"}],
    })
    path = tmp_path / f"config-{route}.yaml"
    path.write_text(yaml.safe_dump(config))
    (tmp_path / "spendspy.py").write_text(SPY)
    return path


def _chat(client: Any, proxy: Proxy, content: str, *, metadata: dict[str, Any] | None = None,
          stream: bool = False) -> Any:
    return client.post("/v1/chat/completions", headers={"Authorization": f"Bearer {proxy.key}"},
                       json={"model": "smart", "messages": [{"role": "user", "content": content}],
                             "metadata": metadata or {}, "stream": stream})


@pytest.mark.parametrize("route", ["plugin", "binder"])
def test_policies_budgets_and_telemetry_in_the_proxy(route: str, tmp_path: Path, litellm: Any, postgres: Any,
                                                      redis: Any, capsys: pytest.CaptureFixture[str]) -> None:
    import httpx

    prom = tmp_path / "prom"
    prom.mkdir()
    env = {"ROUTEIQ_LOG": postgres.url, "ROUTEIQ_STATE": redis.url, "PROMETHEUS_MULTIPROC_DIR": str(prom),
           "SPEND_SPY_FILE": str(tmp_path / "spend.jsonl"), "PYTHONPATH": str(tmp_path), "OTEL_EXPORTER": "console"}
    proxy = Proxy(_config(tmp_path, route), tmp_path / f"proxy-{route}.log", env)
    out: list[str] = []
    try:
        proxy.wait_ready()
        with httpx.Client(base_url=proxy.base_url, timeout=60, limits=httpx.Limits(max_keepalive_connections=0)) \
                as client:
            # 1. the decision is visible in the body, in stream chunks and in headers
            r = _chat(client, proxy, f"Prove that {CANARY} has infinitely many primes, step by step.")
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["model"] == r.headers["x-routeiq-model"] and body["routeiq"]["id"] == r.headers["x-routeiq-id"]
            assert body["routeiq"]["deployment"] == r.headers["x-litellm-model-id"]
            chunks = [json.loads(line[6:]) for line in _chat(client, proxy, "hi there", stream=True).text.splitlines()
                      if line.startswith("data: {")]
            assert chunks and all(c["model"].startswith("openai/") for c in chunks)  # the served model, not "smart"
            out.append(f"body model {body['model']!r}, routeiq {body['routeiq']}; {len(chunks)} stream chunks "
                       f"with model {chunks[0]['model']!r}")
            # 2. a policy rejection is a 403 with the rule's message
            rejected = _chat(client, proxy, "hello", metadata={"tags": ["blocked"]})
            assert rejected.status_code == 403 and "this tag is blocked" in rejected.text, rejected.text
            # 3. a budget shared by both workers through Redis
            served, workers, codes = 0, collections.Counter(), []
            for _ in range(30):
                resp = _chat(client, proxy, "What is the capital of France?", metadata={"team": "t-budget"})
                codes.append(resp.status_code)
                if resp.status_code == 200:
                    served += 1
                    workers[resp.headers["x-routeiq-worker-pid"]] += 1
                time.sleep(0.15)  # let LiteLLM's success callback charge the real cost
            spent = float(redis_get(redis, f"routeiq:budget:team-cap:t-budget:{time.strftime('%Y-%m-%d', time.gmtime())}"))
            assert 403 in codes and served <= 14, (served, codes)
            assert spent >= LIMIT
            out.append(f"budget team-cap: limit ${LIMIT}, {served} requests served (workers {dict(workers)}) before "
                       f"403; spent ${spent:.7f} in Redis; then every request rejected")
            # 4. Prometheus: one scrape counts every worker's decisions (multiprocess mode)
            totals = []
            for _ in range(3):
                text = client.get("/routeiq/metrics", headers={"Authorization": f"Bearer {proxy.key}"}).text
                totals.append(sum(float(v) for v in re.findall(r'^routeiq_decisions_total\{[^}]*\} ([0-9.e+]+)$',
                                                                text, re.M)))
            assert client.get("/routeiq/metrics").status_code == 401
            assert len(set(totals)) == 1 and totals[0] == 2 + served, (totals, served)
            assert CANARY not in text
            excerpt = [line for line in text.splitlines() if line.startswith("routeiq_decisions_total")][:3]
            out.append("prometheus: " + " | ".join(excerpt))
        # 5. spend logs carry the decision on both routes; one INFO line per decision; no canary
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            spend = [json.loads(x) for x in (tmp_path / "spend.jsonl").read_text().splitlines()] \
                if (tmp_path / "spend.jsonl").exists() else []
            if len(spend) >= 2 + served:
                break
            time.sleep(0.5)
        assert spend and all(s and s.get("routeiq_decision_id") for s in spend), spend[:3]
        log_text = proxy.log.read_text(errors="replace")
        lines = [ln for ln in log_text.splitlines() if "routeiq decision {" in ln]
        assert len(lines) >= 2 + served
        # 6. the span tree: LiteLLM's request span -> routeiq.decide (console exporter in the proxy log)
        spans = _spans(log_text)
        decide = [s for s in spans if s["name"] == "routeiq.decide"]
        by_id = {s["context"]["span_id"]: s for s in spans}
        nested = [s for s in decide if s.get("parent_id") in by_id]
        assert decide and nested, f"{len(decide)} routeiq.decide spans, {len(nested)} with a LiteLLM parent"
        parent = by_id[nested[0]["parent_id"]]
        out.append(f"span tree: {parent['name']!r} -> 'routeiq.decide' ({len(nested)} of {len(decide)} nested)")
        assert CANARY not in json.dumps(decide) and CANARY not in "\n".join(lines)
        out.append(f"{len(lines)} INFO decision lines, e.g. {lines[0].split('routeiq decision ', 1)[1][:160]}")
    finally:
        proxy.stop()
        with capsys.disabled():
            print(f"\n[{route}] " + f"\n[{route}] ".join(out))


def redis_get(redis: Any, key: str) -> str:
    import redis as redis_py

    value = redis_py.Redis.from_url(redis.url, decode_responses=True).get(key)
    return value or "0"


def _spans(text: str) -> list[dict[str, Any]]:
    """The JSON spans the console exporter printed (multi-line objects) in the proxy log."""
    spans, depth, buf = [], 0, []
    for line in text.splitlines():
        if depth == 0 and line.startswith("{"):
            buf, depth = [], 0
        if depth or line.startswith("{"):
            buf.append(line)
            depth += line.count("{") - line.count("}")
            if depth == 0:
                try:
                    item = json.loads("\n".join(buf))
                except ValueError:
                    continue
                if isinstance(item, dict) and "context" in item and "name" in item:
                    spans.append(item)
    return spans
