"""Shared fixtures of the evaluation tests: where the shared data sets live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def shared_data() -> Path:
    env = os.environ.get("ROUTEIQ_SHARED_DATA")
    return Path(env) if env else (REPO / ".." / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def data_dir() -> Path:
    root = shared_data()
    if not root.is_dir():
        pytest.skip(f"shared data sets not found at {root} (set ROUTEIQ_SHARED_DATA)")
    return root


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"
