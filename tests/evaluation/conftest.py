"""Shared fixtures of the evaluation tests: where the shared data sets live."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def data_dir(shared_data: Path) -> Path:
    if not shared_data.is_dir():
        pytest.skip(f"shared data sets not found at {shared_data} (set ROUTEIQ_SHARED_DATA)")
    return shared_data


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"
