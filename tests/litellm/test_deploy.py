"""The self-hosting files in ``deploy/``, tested as far as this machine allows.

No container engine runs here. So the compose files and the Dockerfile are parsed and checked
against what the docs name, and the command the container runs (``deploy/start.sh``) is run as
a local process with the compose file's environment, the image's config (``deploy/litellm.yaml``,
with mock responses instead of provider keys) and real services on loopback in place of the
compose services: SQLite for tier 1, PostgreSQL and Redis for tier 2. The proxy must answer and
route, the decisions must be in the log, and the dashboard at ``/routeiq/ui/`` must show them
behind the master key.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from .test_proxy import REPO, Proxy

DEPLOY = REPO / "deploy"
DOCS = REPO / "docs" / "operations" / "self-hosting.md"
PROMPTS = ["hi!", "Prove rigorously that there are infinitely many primes.",
           "Write a Python function that merges two sorted lists, with tests.", "What is the capital of Japan?"]


def _compose(tier: int) -> dict[str, Any]:
    import yaml

    return dict(yaml.safe_load((DEPLOY / f"compose.tier{tier}.yaml").read_text()))


def test_compose_files_have_what_the_docs_name() -> None:
    docs = DOCS.read_text()
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    one, two = _compose(1), _compose(2)
    assert set(one["services"]) == {"routeiq"} and set(two["services"]) == {"routeiq", "postgres", "redis"}
    for compose in (one, two):
        app = compose["services"]["routeiq"]
        assert app["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
        assert app["ports"] == ["4000:4000"]
        for name in app["environment"]:
            assert f"`{name}`" in docs, f"{name} is set in a compose file but not documented"
        assert app["environment"]["ROUTEIQ_DASHBOARD"] == "true"
    assert one["services"]["routeiq"]["volumes"] == ["routeiq-data:/data"] and "routeiq-data" in one["volumes"]
    assert one["services"]["routeiq"]["environment"]["ROUTEIQ_LOG"] == "sqlite:////data/decisions.db"
    env2 = two["services"]["routeiq"]["environment"]
    assert env2["ROUTEIQ_LOG"].startswith("postgresql://") and "@postgres:5432/" in env2["ROUTEIQ_LOG"]
    assert env2["ROUTEIQ_STATE"] == "redis://redis:6379/0" and int(env2["WORKERS"]) >= 2
    assert set(two["services"]["routeiq"]["depends_on"]) == {"postgres", "redis"}
    assert "routeiq-pg:/var/lib/postgresql/data" in two["services"]["postgres"]["volumes"]
    # the image runs start.sh with the shipped config; every variable start.sh reads is documented
    assert 'CMD ["routeiq-start"]' in dockerfile and "cp deploy/start.sh /usr/local/bin/routeiq-start" in dockerfile
    assert "cp deploy/litellm.yaml /etc/routeiq/litellm.yaml" in dockerfile
    for name in set(re.findall(r"\$\{([A-Z_]+)", (DEPLOY / "start.sh").read_text())):
        assert f"`{name}`" in docs, f"start.sh reads {name}, which the docs do not name"
    for name in ("LITELLM_MASTER_KEY", "OPENAI_API_KEY", "POSTGRES_PASSWORD"):
        assert f"`{name}`" in docs


def _image_config(tmp_path: Path) -> Path:
    """deploy/litellm.yaml as the image ships it, with a mock response for each deployment."""
    import yaml

    config = yaml.safe_load((DEPLOY / "litellm.yaml").read_text())
    for deployment in config["model_list"]:
        deployment["litellm_params"]["mock_response"] = f"served by {deployment['model_info']['id']}"
    path = tmp_path / "litellm.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _environment(tier: int, **services: str) -> dict[str, str]:
    """The compose file's environment for the app, with loopback services for its hosts."""
    env = {k: str(v) for k, v in _compose(tier)["services"]["routeiq"]["environment"].items()
           if k != "LITELLM_MASTER_KEY"}  # the harness sets its own
    env["OPENAI_API_KEY"] = "sk-not-used"  # mock responses: nothing leaves the machine
    env.update(services)
    return env


def _run_tier(tier: int, tmp_path: Path, env: dict[str, str], workers: int = 1) -> tuple[Proxy, list[Any], list[str]]:
    """Start the tier and send 24 chat requests, and more (up to 96 in all) until ``workers``
    different worker processes have answered (the kernel spreads connections unevenly)."""
    import httpx

    proxy = Proxy(_image_config(tmp_path), tmp_path / f"tier{tier}.log", env, command=["sh", str(DEPLOY / "start.sh")])
    proxy.wait_ready()
    responses: list[Any] = []
    pids: list[str] = []
    with httpx.Client(base_url=proxy.base_url, timeout=60, limits=httpx.Limits(max_keepalive_connections=0)) as c:
        for i in range(96):
            if i >= 24 and len(set(pids)) >= workers:
                break
            r = c.post("/v1/chat/completions", headers={"Authorization": f"Bearer {proxy.key}"},
                       json={"model": "smart", "messages": [{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}],
                             "metadata": {"session_id": f"conv-{i % 3}"}})
            assert r.status_code == 200, r.text
            responses.append(r)
            pids.append(r.headers.get("x-routeiq-worker-pid", ""))
    return proxy, responses, pids


def _dashboard_shows(proxy: Proxy, decisions: int) -> None:
    import httpx

    base = f"{proxy.base_url}/routeiq/ui"
    assert httpx.get(f"{base}/").status_code == 401  # no key
    assert httpx.get(f"{base}/", headers={"Authorization": "Bearer sk-wrong-key-0123456789"}).status_code == 401
    auth = {"Authorization": f"Bearer {proxy.key}"}
    page = httpx.get(f"{base}/", headers=auth)
    assert page.status_code == 200, page.text[:300]
    assert re.search(rf'id="total">{decisions}<', page.text), page.text[:2000]
    explorer = httpx.get(f"{base}/decisions", headers=auth)
    assert explorer.status_code == 200 and explorer.text.count('class="decision"') == min(decisions, 50)
    assert 'href="/routeiq/ui/decisions/' in explorer.text  # links carry the mount path
    assert httpx.get(f"{base}/config", headers=auth).status_code == 200


def _wait_rows(count: Any, n: int) -> int:
    import time

    deadline = time.monotonic() + 30
    got = count()
    while got < n and time.monotonic() < deadline:
        time.sleep(0.5)
        got = count()
    return int(got)


@pytest.mark.proxy
@pytest.mark.slow
def test_tier1_one_container_with_sqlite_and_the_dashboard(tmp_path: Path, litellm: Any) -> None:
    db = tmp_path / "data" / "decisions.db"
    db.parent.mkdir()
    env = _environment(1, ROUTEIQ_LOG=f"sqlite:///{db}")
    proxy, responses, _ = _run_tier(1, tmp_path, env)
    try:
        from routeiq_core.decisionlog import open_log

        served = {r.headers["x-routeiq-deployment"] for r in responses}
        assert served <= {"smart-mini", "smart-4o", "smart-o3"} and len(served) >= 2  # it routes
        assert all(r.json()["choices"][0]["message"]["content"] == f"served by {r.headers['x-routeiq-deployment']}"
                   for r in responses)
        log = open_log(f"sqlite:///{db}")
        assert _wait_rows(log.count, 24) == 24  # type: ignore[attr-defined]
        _dashboard_shows(proxy, 24)
    finally:
        proxy.stop()


@pytest.mark.proxy
@pytest.mark.slow
def test_tier2_workers_redis_postgres_and_the_dashboard(tmp_path: Path, litellm: Any, postgres: Any,
                                                         redis: Any) -> None:
    env = _environment(2, ROUTEIQ_LOG=postgres.url, ROUTEIQ_STATE=redis.url)
    proxy, responses, pids = _run_tier(2, tmp_path, env, workers=2)
    n = len(responses)
    try:
        assert len(set(pids)) == 2, f"both workers should have served: {pids}"
        assert _wait_rows(lambda: int(postgres.psql("SELECT count(*) FROM routeiq_decisions")), n) == n
        # the workers share their session pins through Redis
        import redis as redis_py

        keys = redis_py.Redis.from_url(redis.url).keys("*")
        assert any(k.startswith(b"routeiq:") for k in keys), keys
        _dashboard_shows(proxy, n)
    finally:
        proxy.stop()
