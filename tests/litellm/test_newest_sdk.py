"""The in-process adapter tests, re-run against the newest LiteLLM SDK in the allowed range.

The system environment carries ``litellm[proxy]==1.108.7`` (the newest proxy that installs);
the SDK's newest allowed release (1.110.x: register_plugin, Rust router core) runs from a venv
that layers it over the system packages. The venv comes from ``ROUTEIQ_LITELLM_NEWEST_PYTHON``
(CI can build it ahead), else it is built once under ``$ROUTEIQ_CACHE_DIR/venvs``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

NEWEST = "1.110.2"
REPO = Path(__file__).resolve().parents[2]


def _version(python: Path) -> str | None:
    try:
        out = subprocess.run(
            [str(python), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _newest_python() -> Path:
    given = os.environ.get("ROUTEIQ_LITELLM_NEWEST_PYTHON")
    if given:
        python = Path(given)
        if _version(python) != NEWEST:
            pytest.fail(f"ROUTEIQ_LITELLM_NEWEST_PYTHON={given} does not have litellm=={NEWEST}")
        return python
    cache = Path(os.environ.get("ROUTEIQ_CACHE_DIR") or Path.home() / ".cache" / "routeiq")
    venv = cache / "venvs" / f"litellm-{NEWEST}"
    python = venv / "bin" / "python"
    if _version(python) == NEWEST:
        return python
    steps = [
        [sys.executable, "-m", "venv", "--system-site-packages", "--clear", str(venv)],
        [str(python), "-m", "pip", "install", "--quiet", f"litellm=={NEWEST}"],
    ]
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, text=True, timeout=600)
        except subprocess.TimeoutExpired:
            pytest.skip(f"building the litellm {NEWEST} venv timed out: {' '.join(step)}")
        if done.returncode != 0:
            pytest.skip(
                f"cannot build the litellm {NEWEST} venv (no package index?): {done.stderr[-500:]}"
            )
    if _version(python) != NEWEST:
        pytest.fail(f"the venv at {venv} does not import litellm {NEWEST}")
    return python


def test_in_process_adapter_on_the_newest_sdk() -> None:
    """Every in-process adapter test passes on litellm 1.110.x (register_plugin path) too."""
    if os.environ.get("ROUTEIQ_NESTED_NEWEST_SDK"):
        pytest.skip("already inside the newest-SDK run")
    python = _newest_python()
    env = dict(os.environ, ROUTEIQ_NESTED_NEWEST_SDK="1", LITELLM_LOCAL_MODEL_COST_MAP="True")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    cmd = [
        str(python),
        "-m",
        "pytest",
        "tests/litellm",
        "-m",
        "not proxy",
        "-k",
        "not newest_sdk",
        "-q",
        "-p",
        "no:cacheprovider",
    ]
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=1200)
    tail = "\n".join(done.stdout.splitlines()[-15:])
    print(f"\nlitellm {NEWEST}: {tail.splitlines()[-1] if tail else done.stderr[-300:]}")
    assert done.returncode == 0, f"tests failed on litellm {NEWEST}:\n{tail}\n{done.stderr[-2000:]}"
    assert " passed" in tail and "failed" not in tail
