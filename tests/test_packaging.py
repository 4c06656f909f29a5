"""Packaging: exports, the console script and the command modules."""

from __future__ import annotations

import importlib
import subprocess
import sys
from importlib.metadata import entry_points, version

import routeiq_core
from routeiq_core.cli import COMMAND_MODULES


def test_all_is_sorted_and_complete() -> None:
    """routeiq_core.__all__ is sorted (case-sensitive) and every name in it exists."""
    names = list(routeiq_core.__all__)
    assert names == sorted(names)
    for name in names:
        assert hasattr(routeiq_core, name), name


def test_every_command_module_exists() -> None:
    """Each sub-command listed in the CLI is an importable module with register()."""
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"routeiq_core.cli.{name}")
        assert callable(module.register), name


def test_console_script_version() -> None:
    """`routeiq --version` prints the installed distribution's version."""
    out = subprocess.run([sys.executable, "-m", "routeiq_core", "--version"], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == f"routeiq {version('routeiq')}"
    assert routeiq_core.__version__ == version("routeiq")


def test_builtin_strategies_entry_point_is_declared() -> None:
    """The built-in strategies are found through the same entry-point group as third-party plugins."""
    eps = {ep.name: ep.value for ep in entry_points(group="routeiq")}
    assert eps.get("builtin") == "routeiq_strategies._plugin"


def test_shipped_data_files_present() -> None:
    """The tokenizer, catalog, seed prompts and centroids ship inside the package."""
    from pathlib import Path

    data = Path(routeiq_core.__file__).parent / "data"
    for rel in ("tokenizer.json", "catalog.json", "seed_prompts.json", "centroids/manifest.json",
                "centroids/arrays.npz"):
        assert (data / rel).is_file(), rel
