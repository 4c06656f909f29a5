"""Fixtures for plugin tests: fake distributions and entry points, small strategy classes."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from routeiq_core import BaseStrategy, Candidate, Estimate, Query, StrategyTags, _registry, hookimpl


def strategy_class(name: str, *, quality: float = 0.5) -> type[BaseStrategy]:
    """A small strategy class that needs no training (quality = a constant)."""

    class Constant(BaseStrategy):
        tags = StrategyTags(requires_fit=False, needs_embedding=False)

        def _predict(self, query: Query, candidates: Sequence[Candidate]) -> Estimate:
            return Estimate(quality={c.name: quality for c in candidates})

    Constant.name = name
    Constant.__qualname__ = f"Constant[{name}]"
    return Constant


class StrategyPlugin:
    """A test plugin that registers the given classes (optionally with replace, then optionally fails)."""

    def __init__(self, *classes: type, replace: bool = False, fail: Exception | None = None) -> None:
        self.classes = classes
        self.replace = replace
        self.fail = fail

    @hookimpl
    def routeiq_register_strategies(self, register: Callable[..., None]) -> None:
        for cls in self.classes:
            register(cls, replace=self.replace)
        if self.fail is not None:
            raise self.fail


@dataclass
class FakeDist:
    name: str
    version: str = "1.0"

    @property
    def metadata(self) -> dict[str, str]:
        return {"Name": self.name}


@dataclass
class FakeEntryPoint:
    """Quacks like importlib.metadata.EntryPoint: name, value, dist and load()."""

    name: str
    target: Any  # the plugin object, or an exception raised by load()
    dist: FakeDist | None = None
    value: str = field(default="")
    loads: int = 0

    def __post_init__(self) -> None:
        self.value = self.value or f"fake_{self.name}"

    def load(self) -> Any:
        self.loads += 1
        if isinstance(self.target, BaseException):
            raise self.target
        return self.target


def fake_ep(dist: str, name: str, target: Any, version: str = "1.0") -> FakeEntryPoint:
    return FakeEntryPoint(name, target, FakeDist(dist, version))


@pytest.fixture(autouse=True)
def _clean_plugin_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(_registry.ENV_LOAD_PLUGINS, raising=False)
    monkeypatch.delenv(_registry.ENV_STRICT_PLUGINS, raising=False)
    _registry.default_registry.cache_clear()
    yield
    _registry.default_registry.cache_clear()


@pytest.fixture
def entry_points(monkeypatch: pytest.MonkeyPatch) -> Callable[..., list[FakeEntryPoint]]:
    """Replace discovery: ``entry_points(ep, ..., real=False)`` makes the registry see these entry points."""

    def install(*eps: FakeEntryPoint, real: bool = False) -> list[FakeEntryPoint]:
        original = _registry.discover_entry_points
        extra = list(eps)

        def discover(group: str) -> list[Any]:
            return (original(group) if real else []) + extra

        monkeypatch.setattr(_registry, "discover_entry_points", discover)
        return extra

    return install
