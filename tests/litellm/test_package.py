"""The routeiq_litellm package surface."""

from __future__ import annotations

from typing import Any

import routeiq_litellm


def test_all_is_sorted_and_every_name_resolves(litellm: Any) -> None:
    """__all__ is sorted, and each public name loads (importing its module on first use)."""
    assert routeiq_litellm.__all__ == sorted(routeiq_litellm.__all__)
    for name in routeiq_litellm.__all__:
        assert getattr(routeiq_litellm, name) is not None
    assert callable(routeiq_litellm.install), "install is the function, not a submodule"
