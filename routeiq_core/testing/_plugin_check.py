"""check_plugin: load a plugin in a fresh interpreter and check what it registers and imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from types import ModuleType

__all__ = ["HEAVY_MODULES", "PluginReport", "check_plugin"]

#: Top-level modules a plugin must not import when it is loaded (import them inside methods).
HEAVY_MODULES = ("litellm", "sklearn", "torch")


@dataclass(frozen=True)
class PluginReport:
    """What :func:`check_plugin` found."""

    target: str
    distribution: str
    strategies: tuple[str, ...]
    embedders: tuple[str, ...]
    heavy_imports: tuple[str, ...]
    import_ms: float


# Runs in a fresh interpreter: argv = [target, heavy modules as JSON].
_PROBE = r"""
import importlib, json, re, sys, time, warnings
target, heavy = sys.argv[1], set(json.loads(sys.argv[2]))
import routeiq_core
from routeiq_core._registry import StrategyRegistry
from importlib.metadata import entry_points, packages_distributions

def canon(name):
    return re.sub(r"[-_.]+", "-", name).lower()

out = {"target": target, "errors": [], "strategies": [], "embedders": [], "collisions": [], "warnings": []}
before = set(sys.modules)
probe = StrategyRegistry(load_entry_points=False, core=False)
eps = [ep for ep in entry_points(group="routeiq")
       if ep.dist is not None and canon(ep.dist.metadata["Name"]) == canon(target)]
start = time.perf_counter()
try:
    if eps:
        out["distribution"] = eps[0].dist.metadata["Name"]
        for ep in eps:
            info = probe.register_plugin(ep.load(), name=ep.name, distribution=ep.dist.metadata["Name"],
                                         version=ep.dist.version)
    else:
        module = importlib.import_module(target)
        dists = packages_distributions().get(target.split(".")[0], [])
        out["distribution"] = dists[0] if dists else "(local)"
        info = probe.register_plugin(module, name=target, distribution=out["distribution"])
except Exception as exc:
    out["errors"].append(f"{type(exc).__name__}: {exc}")
out["import_ms"] = (time.perf_counter() - start) * 1000
out["heavy"] = sorted({m.split(".")[0] for m in set(sys.modules) - before} & heavy)
out["strategies"] = probe.names() if not out["errors"] else []
out["embedders"] = probe.embedder_names() if not out["errors"] else []
# Collisions: everything else installed, loaded the normal way.
full = StrategyRegistry()
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    full.load()
for name in out["strategies"]:
    if name in full and full.get(name) is not probe.get(name):
        out["collisions"].append(f"{name!r} is also registered by {full.info(name).distribution}")
dist = canon(out.get("distribution", target))
for w in caught:
    text = str(w.message)
    if canon(target) in canon(text) or dist in canon(text):
        out["warnings"].append(text)
print("ROUTEIQ-PROBE " + json.dumps(out))
"""


def check_plugin(
    target: str | ModuleType,
    *,
    heavy_modules: tuple[str, ...] = HEAVY_MODULES,
    timeout: float = 300.0,
) -> PluginReport:
    """Load a plugin in a subprocess and check it; raise AssertionError listing every problem.

    ``target`` is an installed distribution name (its ``routeiq`` entry points are
    loaded) or an importable module (its ``@hookimpl`` functions are registered).
    Checked: it loads and registers at least one strategy, its names collide with
    nothing else installed, loading it next to the others raises no warning that
    names it, and it imports none of ``heavy_modules``.
    """
    name = target.__name__ if isinstance(target, ModuleType) else str(target)
    env = dict(os.environ)
    env.pop("ROUTEIQ_LOAD_PLUGINS", None)
    env.pop("ROUTEIQ_STRICT_PLUGINS", None)
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, name, json.dumps(list(heavy_modules))],
        capture_output=True, text=True, timeout=timeout, env=env, check=False,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("ROUTEIQ-PROBE ")]
    if proc.returncode != 0 or not lines:
        raise AssertionError(
            f"check_plugin({name!r}): the probe process failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}"
        )
    out = json.loads(lines[-1][len("ROUTEIQ-PROBE "):])
    problems = list(out["errors"])
    if not out["errors"] and not out["strategies"]:
        problems.append("it registered no strategy (implement routeiq_register_strategies and call register(cls))")
    problems += [f"name collision: {c}" for c in out["collisions"]]
    problems += [f"warning while loading with the other plugins: {w}" for w in out["warnings"]]
    if out["heavy"]:
        problems.append(f"loading it imported {out['heavy']}; import them inside the strategy's methods")
    if problems:
        raise AssertionError(f"check_plugin({name!r}) found problems:\n- " + "\n- ".join(problems))
    return PluginReport(name, out.get("distribution", ""), tuple(out["strategies"]), tuple(out["embedders"]),
                        tuple(out["heavy"]), round(float(out["import_ms"]), 1))
