"""StrategyRegistry: lazy entry-point loading, failure isolation, strict mode, allow-list, collisions."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import warnings

import pytest

from routeiq_core import (
    ConfigError,
    PluginError,
    StrategyNotFoundError,
    StrategyRegistry,
    _registry,
    default_registry,
)
from routeiq_core.errors import PluginLoadWarning

from .conftest import StrategyPlugin, fake_ep, strategy_class

BUILTINS = {
    "centroid", "smallest_llm", "largest_llm", "knn", "svm", "mlp", "mf", "elo", "hybrid_llm", "thompson",
    "personalized", "routerdc", "graph", "gmt", "knn_multiround", "llm_multiround", "automix", "causal_llm",
    "router_r1", "stack",
}


def _load_quietly(registry: StrategyRegistry) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        registry.load()
    return [w for w in caught if issubclass(w.category, PluginLoadWarning)]


def test_import_scans_no_entry_points_and_first_use_does() -> None:
    """`import routeiq_core` (and the Router) scans no entry points and imports no plugin; first names() does."""
    code = """
import importlib.metadata as md, json, sys
calls = []
real = md.entry_points
def counting(*a, **k):
    calls.append(k.get("group"))
    return real(*a, **k)
md.entry_points = counting
import routeiq_core
from routeiq_core import Router, StrategyRegistry, default_registry
at_import = list(calls)
plugins_at_import = [m for m in ("routeiq_strategies._plugin", "routeiq_example", "pluggy") if m in sys.modules]
names = default_registry().names()
again = default_registry().names()
print(json.dumps({"at_import": at_import, "plugins_at_import": plugins_at_import, "after": calls,
                  "builtin_loaded": "routeiq_strategies._plugin" in sys.modules, "n": len(names)}))
"""
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["at_import"] == []
    assert [m for m in result["plugins_at_import"] if m != "pluggy"] == []
    assert result["after"] == ["routeiq"], "exactly one scan of the routeiq group, on first use"
    assert result["builtin_loaded"] and result["n"] >= len(BUILTINS)


def test_all_builtins_register_through_their_entry_point() -> None:
    """The 19 built-ins are registered, from distribution routeiq, all but centroid by the 'builtin' entry point."""
    registry = StrategyRegistry()
    assert _load_quietly(registry) == []
    assert BUILTINS <= set(registry.names())
    for name in BUILTINS:
        info = registry.info(name)
        assert info.distribution == "routeiq"
        assert info.plugin == ("core" if name == "centroid" else "builtin")
    builtin = next(p for p in registry.plugins() if p.name == "builtin")
    assert builtin.hooks == ["routeiq_register_strategies"] and builtin.status == "loaded"


def test_failing_import_is_a_warning_naming_distribution_and_error(entry_points) -> None:
    """A plugin that raises on import becomes a PluginLoadWarning; the other plugins still register."""
    entry_points(
        fake_ep("acme-broken", "broken", RuntimeError("boom at import")),
        fake_ep("acme-good", "good", StrategyPlugin(strategy_class("acme.good"))),
    )
    registry = StrategyRegistry()
    with pytest.warns(PluginLoadWarning, match=r"acme-broken 1\.0 failed to import: RuntimeError: boom at import"):
        names = registry.names()
    assert "acme.good" in names and "centroid" in names
    broken = next(p for p in registry.plugins() if p.distribution == "acme-broken")
    assert broken.status == "failed" and broken.error == "RuntimeError: boom at import"


def test_failing_hook_keeps_what_was_registered_before(entry_points) -> None:
    """A plugin whose hook raises half-way keeps the strategies it registered and is reported."""
    entry_points(fake_ep("acme", "acme", StrategyPlugin(strategy_class("acme.one"), fail=ValueError("half-way"))))
    registry = StrategyRegistry()
    with pytest.warns(PluginLoadWarning, match=r"failed to register: ValueError: half-way; only the strategies"):
        assert "acme.one" in registry.names()


def test_strict_mode_env_raises_plugin_error(entry_points, monkeypatch: pytest.MonkeyPatch) -> None:
    """ROUTEIQ_STRICT_PLUGINS=1 turns a plugin failure into PluginError, raised again on later use."""
    entry_points(fake_ep("acme-broken", "broken", ImportError("no module named acme_dep")))
    monkeypatch.setenv("ROUTEIQ_STRICT_PLUGINS", "1")
    registry = StrategyRegistry()
    with pytest.raises(PluginError, match=r"acme-broken.*ImportError: no module named acme_dep") as exc_info:
        registry.names()
    assert isinstance(exc_info.value.__cause__, ImportError)
    with pytest.raises(PluginError):
        registry.get("centroid")


def test_strict_argument_overrides_env(entry_points, monkeypatch: pytest.MonkeyPatch) -> None:
    """StrategyRegistry(strict=False) warns even when the env var asks for strict mode."""
    entry_points(fake_ep("acme-broken", "broken", RuntimeError("x")))
    monkeypatch.setenv("ROUTEIQ_STRICT_PLUGINS", "1")
    with pytest.warns(PluginLoadWarning):
        StrategyRegistry(strict=False).load()


def test_allow_list_env_chooses_plugins(entry_points, monkeypatch: pytest.MonkeyPatch) -> None:
    """ROUTEIQ_LOAD_PLUGINS loads only the named plugins (entry-point or distribution names); built-ins always load."""
    eps = entry_points(
        fake_ep("acme-one", "one", StrategyPlugin(strategy_class("acme.one"))),
        fake_ep("acme-two", "two", StrategyPlugin(strategy_class("acme.two"))),
        fake_ep("acme-broken", "broken", RuntimeError("never imported")),
        real=True,
    )
    monkeypatch.setenv("ROUTEIQ_LOAD_PLUGINS", "Acme_One, two")
    registry = StrategyRegistry()
    assert _load_quietly(registry) == []
    assert {"acme.one", "acme.two"} <= set(registry.names()) and BUILTINS <= set(registry.names())
    assert eps[2].loads == 0
    assert {p.name: p.status for p in registry.plugins()}["broken"] == "disabled"

    monkeypatch.setenv("ROUTEIQ_LOAD_PLUGINS", "")
    only_builtins = StrategyRegistry()
    assert _load_quietly(only_builtins) == []
    assert set(only_builtins.names()) == BUILTINS


def test_collision_between_plugins_is_reported_and_replace_wins(entry_points) -> None:
    """A second plugin registering a taken name fails (warning names both); with replace=True it replaces."""
    first = strategy_class("acme.router", quality=0.1)
    second = strategy_class("acme.router", quality=0.9)
    entry_points(fake_ep("acme-a", "a", StrategyPlugin(first)), fake_ep("acme-b", "b", StrategyPlugin(second)))
    registry = StrategyRegistry()
    with pytest.warns(PluginLoadWarning, match=r"acme-b.*'acme.router' is already registered by acme-a"):
        assert registry.get("acme.router") is first

    entry_points(fake_ep("acme-a", "a", StrategyPlugin(first)),
                 fake_ep("acme-b", "b", StrategyPlugin(second, replace=True)))
    replaced = StrategyRegistry()
    assert _load_quietly(replaced) == []
    assert replaced.get("acme.router") is second and replaced.info("acme.router").distribution == "acme-b"


def test_register_collision_is_config_error_unless_replace() -> None:
    """Registering a built-in's name from code raises ConfigError; replace=True replaces it."""
    registry = StrategyRegistry(load_entry_points=False)
    mine = strategy_class("centroid")
    with pytest.raises(ConfigError, match=r"'centroid' is already registered by routeiq.*replace=True"):
        registry.register(mine)
    registry.register(mine, replace=True)
    assert registry.get("centroid") is mine
    assert registry.info("centroid").distribution == "(local)"


def test_third_party_names_must_be_namespaced(entry_points) -> None:
    """A plugin distribution registering an un-namespaced name fails with a message suggesting one."""
    entry_points(fake_ep("acme-routers", "acme", StrategyPlugin(strategy_class("knn2"))))
    registry = StrategyRegistry()
    with pytest.warns(PluginLoadWarning, match=r"'knn2' from distribution acme-routers is not namespaced.*'routers.knn2'"):
        assert "knn2" not in registry.names()


@pytest.mark.parametrize(
    ("cls", "kwargs", "message"),
    [
        (strategy_class("ok")(), {}, "expects a strategy class"),
        (strategy_class("ok"), {"name": "other"}, "registered as 'other' but its name attribute is 'ok'"),
        (strategy_class("Bad Name"), {}, "invalid strategy name 'Bad Name'"),
        (strategy_class(""), {}, "set a class attribute name"),
        (type("NotAStrategy", (), {"name": "x"}), {}, "tags must be a StrategyTags"),
    ],
    ids=["instance", "name-mismatch", "bad-name", "no-name", "not-a-strategy"],
)
def test_register_validates_the_class(cls: object, kwargs: dict[str, str], message: str) -> None:
    """register() rejects what is not a usable strategy class, saying why."""
    registry = StrategyRegistry(load_entry_points=False, core=False)
    with pytest.raises(ConfigError, match=message):
        registry.register(cls, **kwargs)  # type: ignore[arg-type]


def test_unknown_name_suggests_close_names() -> None:
    """get() of a misspelled or un-namespaced name raises StrategyNotFoundError with did-you-mean."""
    registry = StrategyRegistry(load_entry_points=False)
    registry.register(strategy_class("knn"))
    registry.register(strategy_class("acme.cluster"))
    with pytest.raises(StrategyNotFoundError, match=r"unknown strategy 'knnn'; did you mean 'knn'\? Installed: "):
        registry.get("knnn")
    with pytest.raises(StrategyNotFoundError, match=r"did you mean 'acme.cluster'"):
        registry.get("cluster")
    with pytest.raises(StrategyNotFoundError, match=r"unknown strategy 'zzz'\. Installed: acme.cluster, centroid, knn"):
        registry.get("zzz")


def test_unknown_name_mentions_failed_plugins(entry_points) -> None:
    """When a plugin failed to load, the not-found message says so (it may be the one providing the name)."""
    entry_points(fake_ep("acme-broken", "broken", RuntimeError("boom")))
    registry = StrategyRegistry()
    with pytest.warns(PluginLoadWarning), pytest.raises(StrategyNotFoundError, match=r"failed to load: broken \(acme-broken\)"):
        registry.get("acme.thing")


def test_misspelled_hook_fails_loudly(entry_points) -> None:
    """A @hookimpl whose name matches no hookspec makes the plugin fail instead of silently doing nothing."""
    from routeiq_core import hookimpl

    class Typo:
        @hookimpl
        def routeiq_register_strategy(self, register):  # missing the final "s"
            register(strategy_class("acme.never"))

    entry_points(fake_ep("acme-typo", "typo", Typo()))
    registry = StrategyRegistry()
    with pytest.warns(PluginLoadWarning, match=r"acme-typo.*routeiq_register_strategy"):
        assert "acme.never" not in registry.names()


def test_embedder_hook_registers_factories(entry_points) -> None:
    """routeiq_register_embedders adds a named embedder; create_embedder calls its factory."""
    from routeiq_core import hookimpl

    class Tiny:
        model_id, dim = "tiny-embedder", 3

        def embed(self, text: str):
            import numpy as np

            return np.ones(3, dtype=np.float32) / np.sqrt(3)

        def embed_many(self, texts):
            import numpy as np

            return np.stack([self.embed(t) for t in texts])

    class EmbedderPlugin:
        @hookimpl
        def routeiq_register_embedders(self, register):
            register(Tiny, name="acme.tiny")

    entry_points(fake_ep("acme-embed", "embed", EmbedderPlugin()))
    registry = StrategyRegistry()
    assert registry.embedder_names() == ["acme.tiny", "default"]
    assert registry.create_embedder("acme.tiny").model_id == "tiny-embedder"
    plugin = next(p for p in registry.plugins() if p.name == "embed")
    assert plugin.hooks == ["routeiq_register_embedders"] and plugin.embedders == ["acme.tiny"]
    with pytest.raises(StrategyNotFoundError, match="did you mean 'acme.tiny'"):
        registry.create_embedder("tiny")


def test_concurrent_first_use_loads_once(entry_points) -> None:
    """Threads racing on a new registry load each plugin exactly once."""
    eps = entry_points(fake_ep("acme", "acme", StrategyPlugin(strategy_class("acme.one"))))
    registry = StrategyRegistry()
    results: list[list[str]] = []
    threads = [threading.Thread(target=lambda: results.append(registry.names())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert eps[0].loads == 1
    assert all(r == results[0] for r in results) and "acme.one" in results[0]


def test_register_plugin_in_process() -> None:
    """register_plugin() adds an in-process plugin object; a failure there raises PluginError."""
    registry = StrategyRegistry(load_entry_points=False)
    info = registry.register_plugin(StrategyPlugin(strategy_class("app.router")), name="app")
    assert info.strategies == ["app.router"] and registry.create("app.router").name == "app.router"
    with pytest.raises(PluginError, match="already registered"):
        registry.register_plugin(StrategyPlugin(strategy_class("app.router")), name="again")


def test_create_validates_params() -> None:
    """create(name, **params) builds an unfitted instance; a bad parameter is a ConfigError."""
    registry = default_registry()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PluginLoadWarning)
        knn = registry.create("knn", k=3)
    assert knn.params.k == 3 and not knn.is_fitted()
    with pytest.raises(ConfigError, match="k"):
        registry.create("knn", k=0)


def test_default_registry_is_cached_and_resettable() -> None:
    """default_registry() is one object until cache_clear()."""
    first = default_registry()
    assert default_registry() is first
    _registry.default_registry.cache_clear()
    assert default_registry() is not first
