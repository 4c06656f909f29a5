"""The Python examples in the core documentation pages run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from routeiq_core import OnnxEmbedder

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGES = ["getting-started.md", "concepts/request.md", "concepts/candidates.md", "concepts/decision.md",
         "concepts/profiles.md", "concepts/categories.md", "concepts/embedding.md", "errors.md"]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def python_blocks(page: str) -> list[str]:
    return BLOCK.findall((DOCS / page).read_text(encoding="utf-8"))


@pytest.mark.parametrize("page", PAGES)
def test_page_examples_run(page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                           embedder: OnnxEmbedder) -> None:
    """Every ```python block of the page runs, in order, in one namespace (files go to a temp dir)."""
    blocks = python_blocks(page)
    assert blocks, f"{page} has no Python examples"
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": f"docs_{page.replace('/', '_')}"}
    for i, block in enumerate(blocks):
        exec(compile(block, f"{page}[block {i}]", "exec"), namespace)


def test_cli_page_documents_every_decide_option() -> None:
    """docs/cli.md mentions every option of 'routeiq decide', 'catalog' and 'centroids build'."""
    from routeiq_core.cli import build_parser

    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices
    for command in ("decide", "catalog"):
        for action in sub[command]._actions:
            for flag in action.option_strings:
                if flag.startswith("--") and flag != "--help":
                    assert flag in text, f"{command} {flag} is not documented"
    assert "--seeds" in text and "--out" in text and "--check" in text
