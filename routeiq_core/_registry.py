"""StrategyRegistry: strategy (and embedder) names -> classes, filled by plugins.

Plugins are found through the ``routeiq`` entry-point group, the built-in
strategies included (their entry point lives in RouteIQ's own ``pyproject.toml``);
the core never imports ``routeiq_strategies`` by name. Loading is lazy: nothing
is scanned at import, the first ``get``/``names``/``create``/``info`` loads the
plugins, one entry point at a time:

* a plugin that fails to import or register becomes a :class:`PluginLoadWarning`
  naming its distribution and the error; the others keep working (strategies it
  registered before failing stay available);
* ``ROUTEIQ_STRICT_PLUGINS=1`` turns that warning into a :class:`PluginError`;
* ``ROUTEIQ_LOAD_PLUGINS=a,b`` loads only those plugins (entry-point or distribution
  names; empty = none). RouteIQ's own built-ins always load.

A name collision is an error unless the registration passes ``replace=True``;
strategies from other distributions must be namespaced (``vendor.name``).
The registry is for start-up: the Router resolves its strategy once, so nothing
here runs per request.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import re
import threading
import warnings
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._strategy import BaseStrategy, Strategy, validate_strategy
from .errors import (
    ConfigError,
    DecisionLogError,
    PluginError,
    PluginLoadWarning,
    StrategyNotFoundError,
)

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    import pluggy

    from ._embedding import Embedder

__all__ = [
    "CORE_DISTRIBUTION",
    "ENV_LOAD_PLUGINS",
    "ENV_STRICT_PLUGINS",
    "EmbedderInfo",
    "PluginInfo",
    "StrategyInfo",
    "StrategyRegistry",
    "default_registry",
    "resolve_strategy",
]

ENV_STRICT_PLUGINS = "ROUTEIQ_STRICT_PLUGINS"
ENV_LOAD_PLUGINS = "ROUTEIQ_LOAD_PLUGINS"
#: The distribution whose plugins (the built-ins) always load and need no namespace.
CORE_DISTRIBUTION = "routeiq"
#: Name of the pseudo-plugin for what the core registers itself.
CORE_PLUGIN = "core"
#: Registered by the registry itself, without an entry point: (name, "module:attribute").
CORE_STRATEGIES = (("centroid", "routeiq_core._centroid_strategy:CentroidStrategy"),)
CORE_EMBEDDERS = (("default", "routeiq_core._embedding:default_embedder"),)
#: Where a strategy registered directly by application code comes from.
LOCAL_DISTRIBUTION = "(local)"

_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*$")
_STRATEGY_HOOK = "routeiq_register_strategies"
_EMBEDDER_HOOK = "routeiq_register_embedders"
_LOG_HOOK = "routeiq_register_decision_logs"


BUILTIN_LOG_SCHEMES = frozenset({"sqlite", "postgresql", "postgres", "jsonl", "memory"})
_LOG_SCHEME = re.compile(r"[a-z][a-z0-9+.-]{0,31}")


def _canonical(name: str) -> str:
    """Distribution names compare like pip does: case- and -_. -insensitive."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class _Origin:
    plugin: str
    distribution: str
    version: str


@dataclass(frozen=True)
class StrategyInfo:
    """What the registry knows about one strategy (``routeiq strategies list``)."""

    name: str
    cls: type = field(repr=False)
    distribution: str
    version: str
    plugin: str

    @property
    def class_path(self) -> str:
        return f"{self.cls.__module__}:{self.cls.__qualname__}"

    @property
    def summary(self) -> str:
        doc = (self.cls.__doc__ or "").strip()
        return doc.splitlines()[0].strip() if doc else ""

    def to_dict(self) -> dict[str, Any]:
        tags = getattr(self.cls, "tags", None)
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "plugin": self.plugin,
            "class": self.class_path,
            "needs_training": bool(getattr(tags, "requires_fit", True)),
            "needs_embedding": bool(getattr(tags, "needs_embedding", True)),
            "calls_llm": bool(getattr(tags, "calls_llm", False)),
            "online": bool(getattr(tags, "online", False)),
            "deterministic": bool(getattr(tags, "deterministic", True)),
            "extras": list(getattr(tags, "extras", ())),
            "summary": self.summary,
        }


@dataclass(frozen=True)
class EmbedderInfo:
    """A registered embedder factory and where it comes from."""

    name: str
    factory: Callable[[], Any] = field(repr=False)
    distribution: str
    version: str
    plugin: str


@dataclass
class PluginInfo:
    """One plugin (entry point) and what became of it (``routeiq plugins``).

    ``status`` is ``loaded``, ``failed`` (``error`` says why) or ``disabled``
    (not in ``ROUTEIQ_LOAD_PLUGINS``).
    """

    name: str
    distribution: str
    version: str
    module: str
    status: str = "loaded"
    hooks: list[str] = field(default_factory=list)
    strategies: list[str] = field(default_factory=list)
    embedders: list[str] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "module": self.module,
            "status": self.status,
            "hooks": sorted(self.hooks),
            "strategies": sorted(self.strategies),
            "embedders": sorted(self.embedders),
            "error": self.error,
        }


class StrategyRegistry:
    """Strategy and embedder names, filled lazily from plugins.

    Args:
        load_entry_points: scan the ``routeiq`` entry-point group on first use.
            Tests use ``False`` for a registry with only what they register.
        core: register the core's own built-ins (the ``centroid`` strategy and the
            ``default`` embedder).
        strict: raise :class:`PluginError` instead of warning when a plugin fails;
            None reads ``ROUTEIQ_STRICT_PLUGINS`` at load time.
        allow: names of the plugins to load (entry-point or distribution names);
            None reads ``ROUTEIQ_LOAD_PLUGINS`` (unset = all). Built-ins always load.
        group: the entry-point group.
    """

    def __init__(
        self,
        *,
        load_entry_points: bool = True,
        core: bool = True,
        strict: bool | None = None,
        allow: Collection[str] | None = None,
        group: str = "routeiq",
    ) -> None:
        self._load_entry_points = load_entry_points
        self._core = core
        self._strict_arg = strict
        self._allow_arg = None if allow is None else frozenset(allow)
        self._group = group
        self._strategies: dict[str, StrategyInfo] = {}
        self._embedders: dict[str, EmbedderInfo] = {}
        self._log_backends: dict[str, tuple[Callable[..., Any], str]] = {}  # scheme -> (factory, distribution)
        self._plugins: list[PluginInfo] = []
        self._pm: pluggy.PluginManager | None = None
        self._lock = threading.RLock()
        self._state = "new"  # new -> loading -> loaded
        self._error: PluginError | None = None

    def __repr__(self) -> str:
        loaded = f"{len(self._strategies)} strategies" if self._state == "loaded" else "not loaded"
        return f"<StrategyRegistry {loaded}>"

    # ------------------------------------------------------------------ loading
    def load(self) -> None:
        """Load the plugins now (otherwise done on first use). Idempotent and thread-safe."""
        if self._state == "loaded" and self._error is None:
            return
        with self._lock:
            if self._error is not None:
                raise self._error
            if self._state != "new":  # loaded, or re-entered from a plugin's hook
                return
            self._state = "loading"
            try:
                self._strict = _env_strict() if self._strict_arg is None else self._strict_arg
                self._allow = _env_allow() if self._allow_arg is None else self._allow_arg
                if self._core:
                    self._load_core()
                if self._load_entry_points:
                    self._load_plugins_from_entry_points()
            except PluginError as exc:
                self._error = exc
                raise
            finally:
                self._state = "loaded"

    def _plugin_manager(self) -> pluggy.PluginManager:
        if self._pm is None:
            import pluggy

            from . import hookspecs

            self._pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
            self._pm.add_hookspecs(hookspecs)
        return self._pm

    def _load_core(self) -> None:
        info = PluginInfo(CORE_PLUGIN, CORE_DISTRIBUTION, _dist_version(CORE_DISTRIBUTION), "routeiq_core")
        self._plugins.append(info)
        origin = _Origin(CORE_PLUGIN, info.distribution, info.version)
        try:
            for name, target in CORE_STRATEGIES:
                self._add_strategy(_import_target(target), name=name, replace=False, origin=origin)
                info.strategies.append(name)
            for name, target in CORE_EMBEDDERS:
                self._add_embedder(_import_target(target), name=name, replace=False, origin=origin)
                info.embedders.append(name)
        except Exception as exc:  # a broken core built-in must not take the host down either
            self._fail(info, "register its built-ins", exc)

    def _entry_points(self) -> list[EntryPoint]:
        seen: set[tuple[str, str, str]] = set()
        unique = []
        for ep in discover_entry_points(self._group):
            key = (_canonical(_ep_distribution(ep)[0]), ep.name, ep.value)
            if key not in seen:  # editable installs can list a distribution twice
                seen.add(key)
                unique.append(ep)
        # Built-ins first, then alphabetical: collisions resolve the same way on every machine.
        return sorted(unique, key=lambda ep: (_canonical(_ep_distribution(ep)[0]) != CORE_DISTRIBUTION,
                                              _canonical(_ep_distribution(ep)[0]), ep.name))

    def _allowed(self, ep: EntryPoint, distribution: str) -> bool:
        if self._allow is None or _canonical(distribution) == CORE_DISTRIBUTION:
            return True
        wanted = {_canonical(a) for a in self._allow}
        return _canonical(ep.name) in wanted or _canonical(distribution) in wanted

    def _load_plugins_from_entry_points(self) -> None:
        for ep in self._entry_points():
            distribution, version = _ep_distribution(ep)
            info = PluginInfo(ep.name, distribution, version, ep.value)
            self._plugins.append(info)
            if not self._allowed(ep, distribution):
                info.status = "disabled"
                continue
            try:
                plugin = ep.load()
            except (Exception, SystemExit) as exc:
                self._fail(info, "import", exc)
                continue
            self._register_plugin_object(plugin, info)

    def _register_plugin_object(self, plugin: object, info: PluginInfo) -> None:
        """Register ``plugin``'s hook implementations and run its hooks; failures go to ``_fail``."""
        pm = self._plugin_manager()
        try:
            pm.register(plugin, name=f"{info.distribution}:{info.name}")
        except Exception as exc:
            self._fail(info, "register its hooks", exc)
            return
        try:
            pm.check_pending()  # a misspelled hook name fails loudly instead of silently never running
            info.hooks = sorted(caller.name for caller in pm.get_hookcallers(plugin) or ())
            others = [p for p in pm.get_plugins() if p is not plugin]
            origin = _Origin(info.name, info.distribution, info.version)

            def register_strategy(cls: type, *, name: str | None = None, replace: bool = False) -> None:
                info.strategies.append(self._add_strategy(cls, name=name, replace=replace, origin=origin))

            def register_embedder(factory: Callable[[], Any], *, name: str, replace: bool = False) -> None:
                info.embedders.append(self._add_embedder(factory, name=name, replace=replace, origin=origin))

            pm.subset_hook_caller(_STRATEGY_HOOK, others)(register=register_strategy)
            pm.subset_hook_caller(_EMBEDDER_HOOK, others)(register=register_embedder)

            def register_log(scheme: str, factory: Callable[..., Any], *, replace: bool = False) -> None:
                self._add_log_backend(scheme, factory, replace=replace, distribution=info.distribution)

            pm.subset_hook_caller(_LOG_HOOK, others)(register=register_log)
        except Exception as exc:
            pm.unregister(plugin)
            self._fail(info, "register", exc)

    def _fail(self, info: PluginInfo, stage: str, exc: BaseException) -> None:
        info.status = "failed"
        info.error = f"{type(exc).__name__}: {exc}"
        kept = (
            f"only the strategies it registered before the error are available ({', '.join(info.strategies)})"
            if info.strategies else "its strategies are unavailable"
        )
        message = (
            f"RouteIQ plugin {info.name!r} from distribution {info.distribution} {info.version} "
            f"failed to {stage}: {info.error}; {kept}; the other plugins "
            f"still work. Fix or uninstall it, leave it out of {ENV_LOAD_PLUGINS}, or set "
            f"{ENV_STRICT_PLUGINS}=1 to make this an error"
        )
        if self._strict:
            raise PluginError(message) from exc
        warnings.warn(message, PluginLoadWarning, stacklevel=2)

    # ------------------------------------------------------------------ registering
    def register(self, cls: type, *, name: str | None = None, replace: bool = False) -> None:
        """Register a strategy class from application code (no namespace required).

        Raises:
            ConfigError: not a strategy class, a bad name, or the name is taken and
                ``replace`` is False.
        """
        self.load()
        with self._lock:
            self._add_strategy(cls, name=name, replace=replace, origin=_Origin("", LOCAL_DISTRIBUTION, ""))

    def register_embedder(self, factory: Callable[[], Embedder], *, name: str, replace: bool = False) -> None:
        """Register an embedder factory from application code."""
        self.load()
        with self._lock:
            self._add_embedder(factory, name=name, replace=replace, origin=_Origin("", LOCAL_DISTRIBUTION, ""))

    def register_plugin(
        self,
        plugin: object,
        *,
        name: str | None = None,
        distribution: str = LOCAL_DISTRIBUTION,
        version: str = "",
    ) -> PluginInfo:
        """Register an in-process plugin (a module or object with ``@hookimpl`` functions).

        Behaves like an entry point of ``distribution`` (namespacing applies unless it is
        the local default) except that a failure raises :class:`PluginError`.
        """
        self.load()
        label = name or getattr(plugin, "__name__", None) or type(plugin).__name__
        info = PluginInfo(label, distribution, version, getattr(plugin, "__name__", type(plugin).__qualname__))
        with self._lock:
            self._plugins.append(info)
            strict, self._strict = self._strict, True
            try:
                self._register_plugin_object(plugin, info)
            finally:
                self._strict = strict
        return info

    def _add_strategy(self, cls: type, *, name: str | None, replace: bool, origin: _Origin) -> str:
        final = _validate_strategy_class(cls, name)
        third_party = origin.distribution != LOCAL_DISTRIBUTION and _canonical(origin.distribution) != CORE_DISTRIBUTION
        if third_party and "." not in final:
            raise ConfigError(
                f"strategy name {final!r} from distribution {origin.distribution} is not namespaced; "
                f"third-party strategies use 'namespace.name' (e.g. '{_suggest_namespace(origin.distribution)}.{final}') "
                "so they cannot collide with built-ins"
            )
        existing = self._strategies.get(final)
        if existing is not None and existing.cls is not cls and not replace:
            raise ConfigError(
                f"strategy name {final!r} is already registered by {existing.distribution} "
                f"({existing.class_path}); register it with replace=True to replace it, or choose "
                "another (namespaced) name"
            )
        self._strategies[final] = StrategyInfo(final, cls, origin.distribution, origin.version, origin.plugin)
        return final

    def _add_embedder(self, factory: Callable[[], Any], *, name: str, replace: bool, origin: _Origin) -> str:
        if not callable(factory):
            raise ConfigError(f"embedder {name!r}: expected a callable factory, got {type(factory).__name__}")
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise ConfigError(f"embedder name {name!r} is invalid; use lower-case letters, digits, '_', '-' and '.'")
        existing = self._embedders.get(name)
        if existing is not None and existing.factory is not factory and not replace:
            raise ConfigError(
                f"embedder name {name!r} is already registered by {existing.distribution}; "
                "register it with replace=True to replace it, or choose another name"
            )
        self._embedders[name] = EmbedderInfo(name, factory, origin.distribution, origin.version, origin.plugin)
        return name

    # ------------------------------------------------------------------ looking up
    def names(self) -> list[str]:
        """Registered strategy names, sorted."""
        self.load()
        return sorted(self._strategies)

    def __contains__(self, name: object) -> bool:
        self.load()
        return name in self._strategies

    def __len__(self) -> int:
        self.load()
        return len(self._strategies)

    def get(self, name: str) -> type[BaseStrategy]:
        """The strategy class registered as ``name``.

        Raises:
            StrategyNotFoundError: unknown name; the message suggests close names.
        """
        return self.info(name).cls

    def info(self, name: str) -> StrategyInfo:
        self.load()
        try:
            return self._strategies[name]
        except (KeyError, TypeError):
            raise StrategyNotFoundError(self._not_found("strategy", name, self._strategies)) from None

    def infos(self) -> list[StrategyInfo]:
        self.load()
        return [self._strategies[n] for n in sorted(self._strategies)]

    def create(self, name: str, params: Mapping[str, Any] | None = None, /, **overrides: Any) -> BaseStrategy:
        """A new, unfitted instance of strategy ``name`` (params validated by its ``Params``)."""
        return self.get(name)(params, **overrides)

    def plugins(self) -> list[PluginInfo]:
        """Every plugin seen, loaded or not, in load order."""
        self.load()
        return list(self._plugins)

    def _add_log_backend(self, scheme: str, factory: Callable[..., Any], *, replace: bool,
                         distribution: str) -> None:
        if not callable(factory):
            raise DecisionLogError(f"decision log {scheme!r}: expected a callable factory, got {type(factory).__name__}")
        if not isinstance(scheme, str) or not _LOG_SCHEME.fullmatch(scheme):
            raise DecisionLogError(f"decision log scheme {scheme!r} is invalid; use lower-case letters, digits, "
                              "'+', '-' and '.'")
        if scheme in BUILTIN_LOG_SCHEMES:
            raise DecisionLogError(f"decision log scheme {scheme!r} is built in and cannot be replaced; "
                                   "register your backend under a scheme of its own")
        existing = self._log_backends.get(scheme)
        if existing is not None and not replace:
            raise DecisionLogError(f"decision log scheme {scheme!r} is already registered by {existing[1]}; "
                              "pass replace=True to override it")
        self._log_backends[scheme] = (factory, distribution)

    def register_decision_log(self, scheme: str, factory: Callable[..., Any], *, replace: bool = False) -> None:
        """Register a decision-log backend for URLs ``scheme://...`` from application code.

        ``factory(url, **options)`` returns a :class:`~routeiq_core.decisionlog.DecisionLog`.
        """
        self.load()
        with self._lock:
            self._add_log_backend(scheme, factory, replace=replace, distribution=LOCAL_DISTRIBUTION)

    def decision_log_factory(self, scheme: str) -> Callable[..., Any] | None:
        """The plugin factory for decision-log URLs ``scheme://...``, or None."""
        self.load()
        found = self._log_backends.get(scheme)
        return None if found is None else found[0]

    def embedder_names(self) -> list[str]:
        self.load()
        return sorted(self._embedders)

    def embedder_info(self, name: str) -> EmbedderInfo:
        self.load()
        try:
            return self._embedders[name]
        except (KeyError, TypeError):
            raise StrategyNotFoundError(self._not_found("embedder", name, self._embedders)) from None

    def create_embedder(self, name: str = "default") -> Embedder:
        """Call the factory registered as embedder ``name``."""
        info = self.embedder_info(name)
        embedder = info.factory()
        missing = [a for a in ("model_id", "dim", "embed", "embed_many") if not hasattr(embedder, a)]
        if missing:
            raise ConfigError(
                f"embedder {name!r} from {info.distribution} returned {type(embedder).__name__}, "
                f"which lacks {missing}; an embedder needs model_id, dim, embed and embed_many"
            )
        return embedder  # type: ignore[no-any-return]

    def _not_found(self, kind: str, name: object, known: Mapping[str, object]) -> str:
        text = str(name)
        hints = difflib.get_close_matches(text.lower(), list(known), n=3, cutoff=0.6)
        hints += [k for k in known if k.rsplit(".", 1)[-1] == text.lower() and k not in hints]
        head = f"unknown {kind} {text!r}"
        parts = [f"{head}; did you mean {' or '.join(repr(h) for h in hints)}?" if hints else f"{head}."]
        parts.append(f"Installed: {', '.join(sorted(known)) or 'none'}.")
        failed = [p for p in self._plugins if p.status == "failed"]
        if failed:
            listed = "; ".join(f"{p.name} ({p.distribution}): {p.error}" for p in failed)
            parts.append(f"Plugins that failed to load: {listed}.")
        disabled = [p.name for p in self._plugins if p.status == "disabled"]
        if disabled:
            parts.append(f"Not loaded because of {ENV_LOAD_PLUGINS}: {', '.join(disabled)}.")
        parts.append("See 'routeiq strategies list'.")
        return " ".join(parts)


def discover_entry_points(group: str) -> list[EntryPoint]:
    """The installed entry points of ``group`` (the one place that scans; tests replace it)."""
    from importlib.metadata import entry_points

    return list(entry_points(group=group))


def _validate_strategy_class(cls: object, name: str | None) -> str:
    if not isinstance(cls, type):
        raise ConfigError(f"register() expects a strategy class, got {type(cls).__name__} {cls!r:.60}")
    label = f"{cls.__module__}:{cls.__qualname__}"
    declared = getattr(cls, "name", None)
    final = name if name is not None else declared
    if not isinstance(final, str) or not final:
        raise ConfigError(f"{label}: set a class attribute name = '...' (or pass name=) to register it")
    if declared and final != declared:
        raise ConfigError(
            f"{label}: registered as {final!r} but its name attribute is {declared!r}; they must match "
            "because saved artifacts record the class's name"
        )
    if not _NAME_RE.match(final):
        raise ConfigError(
            f"{label}: invalid strategy name {final!r}; use lower-case letters, digits, '_' and '-', "
            "with '.' separating a namespace (e.g. 'acme.my_router')"
        )
    validate_strategy(cls)
    return final


def _suggest_namespace(distribution: str) -> str:
    return _canonical(distribution).split("-")[-1]


def _import_target(target: str) -> Any:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def _ep_distribution(ep: EntryPoint) -> tuple[str, str]:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return "(unknown)", ""
    return str(dist.metadata["Name"] or dist.name), str(dist.version)


def _dist_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "0+unknown"


def _env_strict() -> bool:
    from ._settings import RouteIQSettings

    return RouteIQSettings.from_env().strict_plugins


def _env_allow() -> frozenset[str] | None:
    from ._settings import RouteIQSettings

    return RouteIQSettings.from_env().allowed_plugins


def resolve_strategy(
    spec: str | Strategy, params: Mapping[str, Any] | None = None, registry: StrategyRegistry | None = None
) -> Strategy:
    """A strategy instance from a registered name (with ``params``) or an instance, validated.

    ``"centroid"`` never loads plugins: the zero-config router needs no entry-point scan.
    """
    if params is not None and not isinstance(params, Mapping):
        raise ConfigError(f"strategy_params: expected a mapping of parameter -> value, got {type(params).__name__}")
    if isinstance(spec, str):
        if spec == "centroid" and registry is None:
            from ._centroid_strategy import CentroidStrategy

            return CentroidStrategy(dict(params or {}))
        instance: Strategy = (registry or default_registry()).get(spec)(dict(params or {}))
    elif params:
        raise ConfigError("strategy_params only apply to a strategy given by name")
    else:
        if isinstance(spec, type) or not (hasattr(spec, "predict") and hasattr(spec, "tags")):
            raise ConfigError(
                f"strategy must be a registered name or an object with predict() and tags, got {type(spec).__name__}"
            )
        instance = spec
    validate_strategy(instance)
    return instance


@functools.cache
def default_registry() -> StrategyRegistry:
    """The process-wide registry (plugins load on its first use).

    ``default_registry.cache_clear()`` drops it, e.g. after installing a plugin
    or changing ``ROUTEIQ_LOAD_PLUGINS`` in a long-running process.
    """
    return StrategyRegistry()
