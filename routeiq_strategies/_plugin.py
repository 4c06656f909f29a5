"""The built-in strategies' plugin: the only module RouteIQ's ``routeiq`` entry point names.

The built-ins register exactly like a third-party plugin. Each strategy module is
imported inside the hook, one at a time, so one broken module does not hide the
others: the working ones register, then the failure is raised and the registry
reports it (a warning, or an error in strict mode).
"""

from __future__ import annotations

import importlib

from routeiq_core.hookspecs import RegisterStrategy, hookimpl

__all__ = ["BUILTIN_STRATEGIES", "routeiq_register_strategies"]

#: (module in routeiq_strategies, class name) of every built-in strategy.
BUILTIN_STRATEGIES: tuple[tuple[str, str], ...] = (
    ("baselines", "SmallestLLMStrategy"),
    ("baselines", "LargestLLMStrategy"),
    ("knn", "KNNStrategy"),
    ("svm", "SVMStrategy"),
    ("mlp", "MLPStrategy"),
    ("matrix_factorization", "MatrixFactorizationStrategy"),
    ("elo", "EloStrategy"),
    ("hybrid_llm", "HybridLLMStrategy"),
    ("thompson", "ThompsonStrategy"),
    ("personalized", "PersonalizedStrategy"),
    ("routerdc", "RouterDCStrategy"),
    ("graph", "GraphRouterStrategy"),
    ("gmt", "GMTStrategy"),
    ("multiround", "KNNMultiRoundStrategy"),
    ("multiround", "LLMMultiRoundStrategy"),
    ("automix", "AutoMixStrategy"),
    ("causal_llm", "CausalLLMStrategy"),
    ("router_r1", "RouterR1Strategy"),
    ("stack", "StackStrategy"),
)


@hookimpl
def routeiq_register_strategies(register: RegisterStrategy) -> None:
    failures: list[str] = []
    for module_name, class_name in BUILTIN_STRATEGIES:
        try:
            module = importlib.import_module(f"{__package__}.{module_name}")
            cls = getattr(module, class_name)
        except Exception as exc:  # collected: the other built-ins still register
            failures.append(f"{module_name}.{class_name} ({type(exc).__name__}: {exc})")
            continue
        register(cls)
    if failures:
        raise ImportError(f"{len(failures)} built-in strategies could not be imported: {'; '.join(failures)}")
