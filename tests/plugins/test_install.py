"""Real installs: a plugin wheel installed with pip appears in `routeiq strategies list`, and goes on uninstall;
a plugin that raises on import is a warning in a fresh process, or an error in strict mode.

The wheels are built here (a wheel is a zip with a dist-info folder), so no build backend or network is needed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

WORKING = textwrap.dedent(
    '''
    from routeiq_core import BaseStrategy, Estimate, StrategyTags, hookimpl

    class PriorStrategy(BaseStrategy):
        """Quality = the candidate's general strength (tier or quality prior)."""
        name = "tiny.prior"
        tags = StrategyTags(requires_fit=False, needs_embedding=False)

        def _predict(self, query, candidates):
            return Estimate(quality={c.name: c.strength() for c in candidates})

    @hookimpl
    def routeiq_register_strategies(register):
        register(PriorStrategy)
    '''
)
BROKEN = 'raise RuntimeError("tiny plugin is broken on purpose")\n'


def build_wheel(directory: Path, dist: str, module: str, source: str, version: str = "0.1") -> Path:
    """A pure-Python wheel with one module and a `routeiq` entry point naming it."""
    stem = dist.replace("-", "_")
    info = f"{stem}-{version}.dist-info"
    files = {
        f"{module}.py": source,
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\nRequires-Dist: routeiq\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: routeiq-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{info}/entry_points.txt": f"[routeiq]\n{module} = {module}\n",
    }
    record = []
    for path, text in files.items():
        data = text.encode()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    files[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    wheel = directory / f"{stem}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)
    return wheel


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUTEIQ_") or k == "ROUTEIQ_CACHE_DIR"}
    env.update(extra)
    return env


def _pip(python: str | Path, *args: str) -> None:
    subprocess.run([str(python), "-m", "pip", "--disable-pip-version-check", "-q", *args],
                   check=True, capture_output=True, text=True, timeout=300)


def _list(python: str | Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(python), "-m", "routeiq_core", "strategies", "list", "--json"],
                          capture_output=True, text=True, env=env, timeout=300)


def test_pip_install_then_uninstall_adds_and_removes_the_strategy(tmp_path: Path) -> None:
    """pip install of a plugin wheel into an environment lists its strategy; pip uninstall removes it."""
    wheel = build_wheel(tmp_path, "routeiq-tiny-demo", "routeiq_tiny_demo", WORKING)
    venv = tmp_path / "venv"
    # A venv that sees the installed routeiq (system site-packages) but installs into itself.
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    env = _env()

    before = {r["name"] for r in json.loads(_list(python, env).stdout)}
    assert "tiny.prior" not in before and "knn" in before

    _pip(python, "install", "--no-deps", "--no-index", str(wheel))
    after = _list(python, env)
    assert after.returncode == 0, after.stderr
    rows = {r["name"]: r for r in json.loads(after.stdout)}
    assert rows["tiny.prior"]["distribution"] == "routeiq-tiny-demo" and rows["tiny.prior"]["version"] == "0.1"
    assert set(rows) == before | {"tiny.prior"}

    _pip(python, "uninstall", "-y", "routeiq-tiny-demo")
    gone = {r["name"] for r in json.loads(_list(python, env).stdout)}
    assert gone == before


def test_plugin_that_raises_on_import_is_a_warning_in_a_fresh_process(tmp_path: Path) -> None:
    """A broken plugin installed with pip --target is one warning line; strict mode exits 2 naming it."""
    wheel = build_wheel(tmp_path, "routeiq-broken-demo", "routeiq_broken_demo", BROKEN)
    target = tmp_path / "site"
    _pip(sys.executable, "install", "--no-deps", "--no-index", "--target", str(target), str(wheel))
    path = os.pathsep.join([str(target), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)

    result = _list(sys.executable, _env(PYTHONPATH=path))
    assert result.returncode == 0, result.stderr
    names = {r["name"] for r in json.loads(result.stdout)}
    assert {"centroid", "knn", "svm"} <= names
    warning = [line for line in result.stderr.splitlines() if "routeiq-broken-demo" in line]
    assert len(warning) == 1 and warning[0].startswith("routeiq: warning: RouteIQ plugin 'routeiq_broken_demo'")
    assert "RuntimeError: tiny plugin is broken on purpose" in warning[0]

    strict = _list(sys.executable, _env(PYTHONPATH=path, ROUTEIQ_STRICT_PLUGINS="1"))
    assert strict.returncode == 2 and strict.stdout == ""
    assert strict.stderr.startswith("routeiq: error: RouteIQ plugin 'routeiq_broken_demo' from distribution "
                                    "routeiq-broken-demo 0.1 failed to import")

    skipped = _list(sys.executable, _env(PYTHONPATH=path, ROUTEIQ_LOAD_PLUGINS="routeiq-example"))
    assert skipped.returncode == 0 and "routeiq-broken-demo" not in skipped.stderr


def test_check_plugin_passes_builtins_and_flags_broken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """check_plugin accepts the built-in distribution and reports a plugin that cannot be imported."""
    from routeiq_core.testing import check_plugin

    report = check_plugin("routeiq")
    assert len(report.strategies) == 19 and report.heavy_imports == ()

    (tmp_path / "routeiq_heavy_demo.py").write_text(
        "import sqlite3  # stands in for a heavy library\n" + WORKING.replace("tiny.prior", "heavy.prior")
    )
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])))
    report = check_plugin("routeiq_heavy_demo")
    assert report.strategies == ("heavy.prior",)
    with pytest.raises(AssertionError, match=r"imported \['sqlite3'\]"):
        check_plugin("routeiq_heavy_demo", heavy_modules=("sqlite3",))
    with pytest.raises(AssertionError, match="ModuleNotFoundError"):
        check_plugin("routeiq_no_such_plugin_demo")
