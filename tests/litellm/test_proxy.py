"""A real ``litellm`` proxy process with 2 workers on loopback, configured only by YAML.

Runs the shipped example (``examples/litellm_proxy_config.yaml``, routing-plugin route) and its
full-control variant (the binder callback). Every response must come from the deployment that
RouteIQ decides for the same prompt in this process, and both workers must have served.
"""

from __future__ import annotations

import asyncio
import collections
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.proxy, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "litellm_proxy_config.yaml"
PROMPTS = [
    "hi!",
    "What is the capital of Japan?",
    "Prove rigorously that there are infinitely many primes, then show the same for primes of the form 4k+3.",
    "Write a Python function that merges two sorted lists in linear time, with tests.",
    "Translate 'good morning, how did you sleep?' into French.",
    "Derive the closed form of the sum of the first n squares and prove it by induction.",
    "Write a haiku about autumn rain.",
    "Design a rate limiter for a distributed API gateway; discuss consistency trade-offs in depth.",
]
N_REQUESTS = 48
BOOT_TIMEOUT_S = 300


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _litellm_cli() -> list[str]:
    exe = Path(sys.executable).with_name("litellm")
    if not exe.exists():
        pytest.skip(
            "the litellm CLI is not installed next to this Python (pip install 'routeiq[proxy]')"
        )
    return [str(exe)]


class Proxy:
    """A litellm proxy subprocess in its own process group."""

    def __init__(self, config: Path, log: Path, env_extra: dict[str, str] | None = None,
                 command: list[str] | None = None) -> None:
        """``command`` replaces the ``litellm`` command line (deploy/start.sh, which reads HOST, PORT
        and WORKERS from the environment)."""
        self.port = _free_port()
        self.key = "sk-" + secrets.token_hex(32)
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = log
        env = {
            k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "LITELLM_MASTER_KEY")
        }
        env.update(
            LITELLM_MASTER_KEY=self.key,
            LITELLM_LOCAL_MODEL_COST_MAP="True",
            ROUTEIQ_LITELLM_CONFIG=str(config),
            NO_PROXY="127.0.0.1,localhost",
            HOST="127.0.0.1",
            PORT=str(self.port),
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            **(env_extra or {}),
        )
        cmd = command or [
            *_litellm_cli(),
            "--config",
            str(config),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--num_workers",
            "2",
            "--timeout_worker_healthcheck",
            "120",
        ]
        self.log_url = ""
        self._log_fh = log.open("wb")
        self.proc = subprocess.Popen(
            cmd,
            cwd=config.parent,
            env=env,
            stdout=self._log_fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self) -> float:
        import httpx

        started = time.monotonic()
        while time.monotonic() - started < BOOT_TIMEOUT_S:
            if self.proc.poll() is not None:
                pytest.fail(f"the proxy exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                if httpx.get(f"{self.base_url}/health/readiness", timeout=2).status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            time.sleep(1)
        pytest.fail(f"the proxy was not ready after {BOOT_TIMEOUT_S}s:\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
            if self.proc.poll() is not None:
                break
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue
        self._log_fh.close()


def _config(tmp_path: Path, route: str) -> Path:
    import yaml

    config = yaml.safe_load(EXAMPLE.read_text())
    if route == "binder":
        config["router_settings"].pop("plugins")
        config["litellm_settings"]["callbacks"] = ["routeiq_litellm.proxy.binder"]
    path = tmp_path / f"config-{route}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def proxy_factory(tmp_path: Path, litellm: Any, postgres: Any) -> Iterator[Any]:
    """Starts a 2-worker proxy whose decision log is the test's real PostgreSQL server."""
    started: list[Proxy] = []

    def start(route: str) -> tuple[Proxy, Path]:
        config = _config(tmp_path, route)
        proxy = Proxy(config, tmp_path / f"proxy-{route}.log", {"ROUTEIQ_LOG": postgres.url})
        proxy.log_url = postgres.url
        started.append(proxy)
        boot = proxy.wait_ready()
        print(f"\n[{route}] proxy ready on 127.0.0.1:{proxy.port} after {boot:.1f}s")
        return proxy, config

    yield start
    for proxy in started:
        proxy.stop()


def _expected(config: Path) -> Any:
    """RouteIQ, in this process, with the proxy's settings and deployments: the reference decisions."""
    import yaml

    from routeiq_litellm._engine import RoutingEngine
    from routeiq_litellm.settings import load_settings

    engine = RoutingEngine(load_settings(config))
    deployments = [
        d for d in yaml.safe_load(config.read_text())["model_list"] if d["model_name"] == "smart"
    ]
    router = engine.router_for(deployments)

    def decide(prompt: str, profile: str | None = None) -> str:
        return router.decide(messages=[{"role": "user", "content": prompt}], profile=profile).name

    return decide


async def _send(
    proxy: Proxy, prompts: list[str], headers: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    import httpx

    limits = httpx.Limits(max_connections=len(prompts), max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=proxy.base_url, timeout=120, limits=limits) as client:

        async def one(prompt: str) -> dict[str, Any]:
            r = await client.post(
                "/v1/chat/completions",
                headers={"Authorization": f"Bearer {proxy.key}", **(headers or {})},
                json={"model": "smart", "messages": [{"role": "user", "content": prompt}]},
            )
            assert r.status_code == 200, r.text
            return {
                "prompt": prompt,
                "content": r.json()["choices"][0]["message"]["content"],
                **{
                    k: v
                    for k, v in r.headers.items()
                    if k.startswith(("x-routeiq-", "x-litellm-model-id"))
                },
            }

        return list(await asyncio.gather(*(one(p) for p in prompts)))


def _run_route(proxy_factory: Any, route: str) -> None:
    proxy, config = proxy_factory(route)
    decide = _expected(config)
    results: list[dict[str, Any]] = []
    for _ in range(4):  # bounded: normally one round of concurrent requests reaches both workers
        batch = [PROMPTS[i % len(PROMPTS)] for i in range(N_REQUESTS)]
        results += asyncio.run(_send(proxy, batch))
        if len({r["x-routeiq-worker-pid"] for r in results}) >= 2:
            break
    premium = asyncio.run(_send(proxy, PROMPTS[:4], headers={"x-routeiq-profile": "premium"}))

    for r in results:
        served = r["x-litellm-model-id"]
        assert r["content"] == f"served by {served}"
        assert r["x-routeiq-deployment"] == served, r
        assert served == decide(r["prompt"]), (r["prompt"], served)
    for r in premium:
        assert r["x-routeiq-profile"] == "premium"
        assert r["x-litellm-model-id"] == decide(r["prompt"], "premium")
    workers = collections.Counter(r["x-routeiq-worker-pid"] for r in results)
    shares = collections.Counter(r["x-litellm-model-id"] for r in results)
    print(
        f"[{route}] {len(results)} concurrent requests (+{len(premium)} with x-routeiq-profile: premium), "
        f"all served by RouteIQ's choice"
    )
    print(f"[{route}] workers (pid: requests): {dict(workers)}")
    print(
        f"[{route}] routed share per deployment: "
        + ", ".join(f"{k} {v / len(results):.0%}" for k, v in sorted(shares.items()))
    )
    assert len(workers) == 2, f"both workers should serve, saw {dict(workers)}"
    assert len(shares) >= 2, "the prompts should not all go to one deployment"
    _check_decision_log(proxy, route, [*results, *premium])


def _check_decision_log(proxy: Proxy, route: str, responses: list[dict[str, Any]]) -> None:
    """Every response is one decision in the shared PostgreSQL log, with LiteLLM's outcome:
    the deployment that served it, the real response_cost and the latency. Then user feedback
    over HTTP: POST /routeiq/feedback with the proxy's key."""
    import httpx

    from routeiq_core.decisionlog import LogFilter, iter_log, open_log

    log = open_log(proxy.log_url)
    ids = {r["x-routeiq-id"] for r in responses}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        rows = {row.record.id: row for row in iter_log(log, LogFilter(with_feedback=True))}
        if ids <= set(rows):
            break
        time.sleep(0.5)
    everything = list(iter_log(log))
    assert len(ids) == len(responses) and ids <= set(rows), f"{len(ids - set(rows))} decisions without outcome"
    assert {row.record.id for row in everything} == ids  # one row per routed request, no warm-up rows
    for r in responses:
        o = rows[r["x-routeiq-id"]].outcome
        assert o is not None and o.success is True and o.served_by == r["x-litellm-model-id"]
        assert o.cost_usd is not None and o.cost_usd > 0 and o.latency_ms is not None
    print(f"[{route}] decision log: {len(responses)} requests -> {len(everything)} decisions in PostgreSQL, "
          f"{len(rows)} with LiteLLM's outcome (served deployment, response_cost, latency)")

    first = responses[0]["x-routeiq-id"]
    auth = {"Authorization": f"Bearer {proxy.key}"}
    with httpx.Client(base_url=proxy.base_url, timeout=30) as client:
        ok = client.post("/routeiq/feedback", headers=auth, json={"id": first, "score": 0.9})
        assert ok.status_code == 200 and ok.json()["recorded"] is True, ok.text
        assert client.post("/routeiq/feedback", json={"id": first, "score": 0.9}).status_code == 401
        assert client.post("/routeiq/feedback", headers={"Authorization": "Bearer sk-wrong"},
                           json={"id": first, "score": 0.9}).status_code == 401
        unknown = client.post("/routeiq/feedback", headers=auth,
                              json={"id": "0190b7a0-0000-7000-8000-000000000000", "score": 0.5})
        assert unknown.status_code == 404, unknown.text
        bad = client.post("/routeiq/feedback", headers=auth, json={"id": first, "score": 7})
        assert bad.status_code == 400 and "finite number in [0, 1]" in bad.json()["error"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        got = log.get(first)
        if got is not None and got.outcome is not None and got.outcome.reports >= 2:
            break
        time.sleep(0.3)
    assert got is not None and got.outcome is not None
    assert got.outcome.score == 0.9 and set(got.outcome.sources) == {"litellm", "http"}
    print(f"[{route}] POST /routeiq/feedback: 200 with the key, 401 without or with a wrong one, 404 for an "
          "unknown id, 400 for a score of 7")


def test_proxy_plugin_route_two_workers(
    proxy_factory: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """router_settings.plugins: 48 concurrent requests, each served by RouteIQ's choice, on both workers."""
    with capsys.disabled():
        _run_route(proxy_factory, "plugin")


def test_proxy_binder_route_two_workers(
    proxy_factory: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """litellm_settings.callbacks binder: the strategy is bound in each worker and picks every deployment."""
    with capsys.disabled():
        _run_route(proxy_factory, "binder")
