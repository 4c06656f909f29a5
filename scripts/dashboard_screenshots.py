"""Regenerate the dashboard screenshots in docs/operations/ from a log of real decisions.

    python scripts/dashboard_screenshots.py

Builds a SQLite log with the shipped model (60 decisions with feedback, an A/B experiment), serves
the dashboard on loopback and photographs each page with Playwright driving Debian's Chromium.
With the shared data beside the repository it also photographs ``routeiq eval``'s report.html
(RouterBench ARC) into docs/evaluation/.
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "operations"
TOKEN = "screenshot-token-0123456789"


def main() -> None:
    import uvicorn
    from playwright.sync_api import sync_playwright

    from routeiq_core import Router
    from routeiq_core.dashboard import create_app

    url = f"sqlite:///{tempfile.mkdtemp()}/shots.db"
    experiment = {"name": "centroid-vs-largest", "unit": "user",
                  "arms": [{"name": "control"}, {"name": "largest", "strategy": "largest_llm", "weight": 0.3}]}
    router = Router.from_config({"experiments": [experiment]}, log=url)
    prompts = ["hi there", "Prove that there are infinitely many primes.", "Write a Python CSV parser.",
               "Summarise the meeting notes in three bullets.", "What is the capital of France?"]
    ids = []
    for i in range(60):
        d = router.decide(prompts[i % 5], metadata={"team": ("search", "ads", "infra")[i % 3], "user": f"user-{i % 7}",
                                                    "session_id": "conv-42" if i < 5 else None})
        router.feedback(d, success=i % 6 != 0, cost_usd=d.ranking[0].cost * 1.1)
        ids.append(d.id)
    router.close()
    app = create_app(url, token=TOKEN, router=Router())
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=8497, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto(f"http://127.0.0.1:8497/?token={TOKEN}")
        for name, path in (("dashboard", "/"), ("explorer", "/decisions"), ("decision", f"/decisions/{ids[1]}"),
                           ("session", "/sessions/conv-42"), ("experiments", "/experiments"), ("config", "/config")):
            page.goto(f"http://127.0.0.1:8497{path}")
            if name == "config":
                page.fill("textarea[name=prompt]", "Write a Rust lock-free queue with tests")
                page.click("#try button[type=submit]")
            page.screenshot(path=str(OUT / f"dashboard-{name}.png"), full_page=True)
            print(f"wrote {OUT / f'dashboard-{name}.png'}")
        report = eval_report()
        if report is not None:
            page.goto(report.as_uri())
            page.screenshot(path=str(REPO / "docs" / "evaluation" / "report-html.png"))
            print(f"wrote {REPO / 'docs' / 'evaluation' / 'report-html.png'}")
        browser.close()
    server.should_exit = True


def eval_report() -> Path | None:
    """routeiq eval on RouterBench ARC (shared data), or None without the data."""
    from routeiq_core.cli import main as cli

    data = REPO.parent / "shared" / "data" / "routerbench" / "arc_challenge_test.csv"
    if not data.exists():
        print(f"no {data}: skipped the report.html screenshot")
        return None
    out = Path(tempfile.mkdtemp()) / "eval"
    cli(["eval", "--data", str(data), "--strategies", "centroid,knn,mlp", "--out", str(out), "--no-progress"])
    return out / "report.html"


if __name__ == "__main__":
    main()
