"""The plugin and strategy docs are complete and their Python examples run as written."""

from __future__ import annotations

import inspect
import re
import warnings
from pathlib import Path

import pytest

from routeiq_core import hookspecs

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGES = ["strategies/index.md", "strategies/training.md", "plugins/writing-a-plugin.md", "plugins/hooks.md",
         "plugins/conformance.md"]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _text(page: str) -> str:
    return (DOCS / page).read_text(encoding="utf-8")


@pytest.mark.parametrize("page", PAGES)
def test_python_examples_run(page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ```python block of the page runs, in order, in one namespace (```py blocks are excerpts)."""
    blocks = BLOCK.findall(_text(page))
    assert blocks, f"{page} has no runnable Python example"
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": f"docs_{page.replace('/', '_')}"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, block in enumerate(blocks):
            exec(compile(block, f"{page}[block {i}]", "exec"), namespace)


def test_every_hook_is_documented_with_its_signature() -> None:
    """docs/plugins/hooks.md has a section and the exact signature of every hookspec."""
    text = _text("plugins/hooks.md")
    specs = [name for name in dir(hookspecs) if name.startswith("routeiq_")]
    assert specs == ["routeiq_on_decision", "routeiq_on_decision_async", "routeiq_register_decision_logs",
                     "routeiq_register_embedders", "routeiq_register_strategies"]
    for name in specs:
        signature = str(inspect.signature(getattr(hookspecs, name))).replace("'", "")
        assert f"## {name}" in text and f"{name}{signature}" in text, f"{name}{signature} not documented"


def test_strategy_table_lists_every_builtin() -> None:
    """The table in docs/strategies/index.md is `routeiq strategies list --markdown` for the built-ins."""
    from routeiq_core import default_registry
    from routeiq_core.cli.strategies import markdown_table

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        infos = [i.to_dict() for i in default_registry().infos() if i.distribution == "routeiq"]
    text = _text("strategies/index.md")
    table = text.split("<!-- strategies-table:start -->\n", 1)[1].split("\n<!-- strategies-table:end -->", 1)[0]
    assert table == markdown_table(infos), "regenerate with: routeiq strategies list --markdown (built-ins only)"


def test_train_options_and_plugin_env_vars_are_documented() -> None:
    """docs/strategies/training.md names every `routeiq train` option; hooks.md both plugin env vars."""
    from routeiq_core.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices
    text = _text("strategies/training.md")
    for action in sub["train"]._actions:
        for flag in action.option_strings:
            if flag.startswith("--") and flag != "--help":
                assert f"`{flag}" in text, f"routeiq train {flag} is not documented"
    hooks = _text("plugins/hooks.md")
    assert "ROUTEIQ_STRICT_PLUGINS" in hooks and "ROUTEIQ_LOAD_PLUGINS" in hooks
