"""`routeiq eval`'s report.html is a real HTML page: tables, the plot embedded, readable offline."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from routeiq_core.cli import main

from .test_cli import canonical_file


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("report")
    data = canonical_file(tmp / "<em>set&co.jsonl", bad=False)  # markup in the data set's name
    rc = main(["eval", "--data", str(data), "--split", "0.5", "--seed", "1", "--strategies", "centroid,knn",
               "--out", str(tmp / "out"), "--cache-dir", str(tmp / "cache"), "--no-progress"])
    assert rc == 0
    return tmp / "out"


def test_report_html_has_tables_not_markdown(report: Path) -> None:
    page = (report / "report.html").read_text()
    markdown = (report / "report.md").read_text()
    assert "<pre>" not in page and "**" not in page and "|---|" not in page
    assert page.count("<table>") == len(re.findall(r"^\|---\|", markdown, flags=re.M)) >= 4  # each table
    assert "<b>" + re.search(r"\*\*(.+?)\*\*", markdown).group(1) + "</b>" in page  # type: ignore[union-attr]
    assert "&lt;em&gt;set&amp;co" in page and "<em>set" not in page  # data is escaped
    assert re.search(r'<img class="plot" alt="cost-quality curves" src="data:image/png;base64,[A-Za-z0-9+/=]{1000,}"',
                     page)
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing from the network
    for row in re.findall(r"^\| (centroid|knn)", markdown, flags=re.M):
        assert f"<td>{row}" in page


def test_report_html_renders_offline_in_chromium(report: Path) -> None:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.fail("Debian's chromium is not installed: apt-get install chromium (.ci/run does it)")
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.on("request", lambda r: requests.append(r.url))
        page.goto((report / "report.html").as_uri())
        assert page.locator("table").count() >= 4
        assert page.evaluate("document.querySelector('img.plot').naturalWidth") > 500  # the plot decoded
        assert page.locator("h2", has_text="Strategies").count() == 1
        browser.close()
    assert all(u.startswith(("file:", "data:")) for u in requests), requests
