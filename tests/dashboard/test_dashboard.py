"""The dashboard in a real browser: Playwright driving Debian's Chromium against uvicorn on loopback.

The log holds real decisions (the shipped model) with feedback, and an XSS canary in metadata.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from routeiq_core import Candidate, Router, default_embedder

TOKEN = "test-token-0123456789abcdef"
XSS = "<script>window.__xss_fired = 1</script>"
CANDIDATES = [
    Candidate(name="mini", model="openai/gpt-4o-mini", input_cost_per_mtok=0.15, output_cost_per_mtok=0.6),
    Candidate(name="big", model="openai/o3", input_cost_per_mtok=10.0, output_cost_per_mtok=40.0,
              capabilities=("reasoning", "tools", "code")),
]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    import uvicorn

    from routeiq_core.dashboard import create_app

    url = f"sqlite:///{tmp_path_factory.mktemp('dash')}/d.db"
    embedder = default_embedder()
    experiment = {"name": "trial", "unit": "user", "arms": [{"name": "control"}, {"name": "largest",
                                                                                  "strategy": "largest_llm"}]}
    router = Router.from_config({"experiments": [experiment]}, candidates=CANDIDATES, embedder=embedder, log=url)
    ids = []
    prompts = ["hi", "Prove that there are infinitely many primes.", "Write a Python CSV parser."]
    for i in range(30):
        d = router.decide(prompts[i % 3], metadata={"team": "red" if i % 2 else "blue", "user": XSS if i == 0 else
                                                    f"u{i}", "session_id": "conv-1" if i < 4 else None})
        router.feedback(d, success=i % 4 != 0, cost_usd=d.ranking[0].cost)
        ids.append(d.id)
    router.close()
    from routeiq_core.decisionlog import DecisionLogger

    logging_prompts = Router(CANDIDATES, embedder=embedder, log=DecisionLogger(url, store_prompts=True))
    ids.append(logging_prompts.decide(f"Summarise this page: {XSS}", metadata={"team": "green"}).id)
    logging_prompts.close()
    port = _port()
    app = create_app(url, token=TOKEN, router=Router(CANDIDATES, embedder=embedder))
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield {"base": f"http://127.0.0.1:{port}", "ids": ids, "url": url}
    uv.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.fail("Debian's chromium is not installed: apt-get install chromium (.ci/run does it)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def test_the_token_is_enforced(server: dict[str, Any]) -> None:
    import httpx

    for path in ("/", "/decisions", f"/decisions/{server['ids'][0]}", "/sessions/conv-1"):
        r = httpx.get(server["base"] + path)
        assert r.status_code == 401 and r.text == "unauthorized"  # reveals nothing
        assert httpx.get(server["base"] + path, headers={"Authorization": "Bearer wrong-token-xxxxxxxxx"}) \
            .status_code == 401
    assert httpx.get(server["base"] + "/", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_malformed_parameters_are_400(server: dict[str, Any]) -> None:
    import httpx

    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert httpx.get(server["base"] + "/?since=yesterday", headers=auth).status_code == 400
    assert httpx.get(server["base"] + "/decisions?before=nope", headers=auth).status_code == 400
    assert httpx.get(server["base"] + "/decisions/not-an-id", headers=auth).status_code == 400
    assert httpx.get(server["base"] + "/decisions?team=" + "x" * 1000, headers=auth).status_code == 400
    assert httpx.get(server["base"] + "/decisions/0190b7a0-0000-7000-8000-000000000000", headers=auth) \
        .status_code == 404


def test_pages_in_a_real_browser(server: dict[str, Any], browser: Any, tmp_path: Path) -> None:
    page = browser.new_page()
    fired: list[str] = []
    page.on("dialog", lambda d: fired.append(d.message))
    page.goto(f"{server['base']}/?token={TOKEN}")  # sets the cookie, then drops the token from the URL
    assert "token" not in page.url
    assert page.inner_text("#total") == "31"
    assert page.inner_text("#failures") == "8"  # the 8 decisions reported as failed
    assert "openai/" in page.inner_text("#models")
    assert "openai/" in page.inner_text("#chart-legend") and page.locator("svg rect").count() >= 1  # by model
    page.fill("input[name=team]", "red")
    page.click("button[type=submit]")
    assert page.inner_text("#total") == "15"  # the filter applies
    page.click(".ranges a:text-is('24h')")  # a time range keeps the other filters
    assert "since=24h" in page.url and "team=red" in page.url and page.inner_text("#total") == "15"
    page.goto(f"{server['base']}/decisions")
    page.select_option("select[name=outcome]", "failure")
    page.click("button[type=submit]")
    assert page.locator("#decisions tr").count() == 1 + 8  # the 8 decisions reported as failed
    page.goto(f"{server['base']}/decisions")
    assert page.locator("#decisions tr").count() == 32  # a header and 31 rows
    assert XSS in page.inner_text("#decisions")  # shown as text ...
    assert page.evaluate("window.__xss_fired") is None and not fired  # ... never executed
    page.click("a.decision >> nth=1")
    assert page.inner_text("#chosen") and page.locator("#ranking tr").count() >= 2
    assert "not stored" in page.inner_text("main")  # no prompt text unless it was logged
    page.goto(f"{server['base']}/decisions/{server['ids'][-1]}")  # logged with prompt logging on
    assert XSS in page.inner_text("main")  # the stored prompt, shown as text ...
    assert page.evaluate("window.__xss_fired") is None and not fired  # ... never executed
    page.goto(f"{server['base']}/sessions/conv-1")
    assert page.locator("#decisions tr").count() == 5
    page.close()


def test_config_page_and_try_a_prompt(server: dict[str, Any], browser: Any) -> None:
    """The config page lists the candidates; "try a prompt" decides without storing anything; the
    form needs its CSRF token; a prompt with markup is shown as text."""
    import httpx

    from routeiq_core.decisionlog import iter_log, open_log

    before = len(list(iter_log(open_log(server["url"]))))
    page = browser.new_page()
    page.goto(f"{server['base']}/config?token={TOKEN}")
    assert "openai/gpt-4o-mini" in page.inner_text("#candidates")
    page.fill("textarea[name=prompt]", f"Prove it rigorously {XSS}")
    page.click("#try button[type=submit]")
    assert page.inner_text("#tried-choice") in ("mini", "big")
    assert page.evaluate("window.__xss_fired") is None
    assert XSS in page.input_value("textarea[name=prompt]")
    assert len(list(iter_log(open_log(server["url"])))) == before  # nothing stored
    forged = httpx.post(server["base"] + "/config/try", data={"prompt": "hi"},
                        headers={"Authorization": f"Bearer {TOKEN}"})
    assert forged.status_code == 403  # no CSRF token
    page.goto(f"{server['base']}/experiments")
    assert "trial" in page.inner_text("main") and page.locator("table.experiment tr").count() == 3
    page.close()
