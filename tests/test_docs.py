"""The documentation builds strictly and every nav page exists."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _nav_pages(nav: list) -> list[str]:
    pages: list[str] = []
    for item in nav:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        if isinstance(value, list):
            pages.extend(_nav_pages(value))
        else:
            pages.append(value)
    return pages


def test_every_nav_page_exists() -> None:
    """Each page listed in mkdocs.yml's nav is a file under docs/."""
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    missing = [p for p in _nav_pages(config["nav"]) if not (ROOT / "docs" / p).is_file()]
    assert missing == []


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    """`mkdocs build --strict` succeeds (no broken links, no missing pages)."""
    if shutil.which("mkdocs") is None:
        pytest.skip("mkdocs is not installed (it comes with the 'test' extra)")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
