"""The decision pipeline: stages as functions, extensions, the trained-model check, and the
structure rules (no import cycle, every environment variable in the settings model)."""

from __future__ import annotations

import ast
import dataclasses
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

import routeiq_core
from routeiq_core import (
    Candidate,
    ConfigError,
    Decision,
    DecisionContext,
    ExtensionWarning,
    OnnxEmbedder,
    Router,
    RouterExtension,
    parse_request,
)
from routeiq_core._candidates import PoolCache
from routeiq_core._choice import choose
from routeiq_core._eligibility import eligible_candidates
from routeiq_core._profiles import BUILTIN_PROFILES
from routeiq_core._types import Estimate

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("routeiq_core", "routeiq_strategies", "routeiq_litellm")

CANDIDATES = [
    Candidate(name="small", model="openai/gpt-4o-mini", input_cost_per_mtok=0.15, output_cost_per_mtok=0.6,
              capabilities={"tools"}),
    Candidate(name="strong", model="anthropic/claude-sonnet-4", input_cost_per_mtok=3.0, output_cost_per_mtok=15.0,
              capabilities={"tools", "reasoning", "code"}),
    Candidate(name="local", model="ollama/llama3.2", free=True),
]


@pytest.fixture(scope="module")
def router(embedder: OnnxEmbedder) -> Router:
    return Router(CANDIDATES, embedder=embedder)


# ---------------------------------------------------------------------- stages as pure functions
def test_stages_compose_to_the_same_decision(router: Router) -> None:
    """featurize -> eligibility -> strategy -> choice by hand gives decide()'s ranking."""
    request = parse_request("Prove that there are infinitely many primes")
    query = router.featurizer.featurize(request)
    assert query.classification is not None and query.output_tokens > 0 and query.signals
    eligibility = eligible_candidates(router.candidates, query, BUILTIN_PROFILES["auto"])
    estimate = router.strategy.predict(query, eligibility.candidates)
    quality = [estimate.quality[c.name] for c in eligibility.candidates]
    choice = choose(eligibility.candidates, quality, estimate, query, BUILTIN_PROFILES["auto"])
    assert [a.name for a in choice.ranking] == [a.name for a in router.decide(request.prompt).ranking]


def test_eligibility_is_pure_and_explains_each_exclusion(router: Router) -> None:
    query = router.make_query("hello")
    result = eligible_candidates(router.candidates, query, BUILTIN_PROFILES["free"])
    assert [c.name for c in result.candidates] == ["local"]
    assert set(result.excluded) == {"small", "strong"} and all(result.excluded.values())
    assert eligible_candidates(router.candidates, query, BUILTIN_PROFILES["free"]) == result


def test_pin_moves_an_eligible_candidate_first() -> None:
    query = routeiq_core.Query(text="x", input_tokens=10, output_tokens=10)
    est = Estimate(quality={"small": 0.5, "strong": 0.9, "local": 0.1})
    plain = choose(CANDIDATES, [0.5, 0.9, 0.1], est, query, BUILTIN_PROFILES["premium"])
    pinned = choose(CANDIDATES, [0.5, 0.9, 0.1], est, query, BUILTIN_PROFILES["premium"], pin="local")
    assert pinned.ranking[0].name == "local" and pinned.pinned
    assert [a.name for a in pinned.ranking[1:]] == [a.name for a in plain.ranking if a.name != "local"]


def test_choice_costs_are_each_candidates_expected_cost_and_follow_a_changed_pool() -> None:
    """The choice stage keeps a pool's prices as lists (built once per candidate tuple): the costs
    are still ``Candidate.expected_cost``'s, a strategy's predicted cost still wins, and a list
    pool changed between calls is priced as it is now."""
    query = routeiq_core.Query(text="x", input_tokens=1234, output_tokens=567)
    pool = tuple(CANDIDATES)
    est = Estimate(quality={"small": 0.5, "strong": 0.9, "local": 0.1})
    for _ in range(2):  # the second call reads the kept table
        choice = choose(pool, [0.5, 0.9, 0.1], est, query, BUILTIN_PROFILES["auto"])
        assert choice.costs == [c.expected_cost(1234, 567) for c in pool]
    predicted = Estimate(quality=est.quality, cost={"strong": 0.5})
    costs = choose(pool, [0.5, 0.9, 0.1], predicted, query, BUILTIN_PROFILES["auto"]).costs
    assert costs == [pool[0].expected_cost(1234, 567), 0.5, 0.0]
    listed = list(CANDIDATES)
    choose(listed, [0.5, 0.9, 0.1], est, query, BUILTIN_PROFILES["auto"])
    listed[0] = Candidate(name="small", model="openai/gpt-4o-mini", input_cost_per_mtok=1.0, output_cost_per_mtok=2.0)
    assert choose(listed, [0.5, 0.9, 0.1], est, query, BUILTIN_PROFILES["auto"]).costs[0] == (1234 + 2 * 567) / 1e6



def test_pool_cache_keeps_tuples_builds_lists_afresh_and_stays_bounded() -> None:
    """One build per candidate tuple; a list is rebuilt on every call unless ``keep_mutable``
    (the centroid strategy's table); the cache forgets everything when it is full."""
    builds: list[int] = []
    cache = PoolCache(lambda pool: builds.append(len(pool)) or len(pool), size=2)
    pools = [tuple(CANDIDATES), tuple(CANDIDATES[:2]), tuple(CANDIDATES[:1])]
    assert [cache(pools[0]), cache(pools[0]), cache(pools[1]), cache(pools[0])] == [3, 3, 2, 3]
    assert builds == [3, 2]
    cache(pools[2])  # a third pool: the cache was full, so it starts over
    cache(pools[0])
    assert builds == [3, 2, 1, 3]
    listed = list(CANDIDATES)
    cache(listed), cache(listed)
    assert builds[-2:] == [3, 3]
    keeping = PoolCache(lambda pool: builds.append(-len(pool)) or len(pool), keep_mutable=True)
    keeping(listed), keeping(listed)
    assert builds[-1] == -3 and builds.count(-3) == 1


# ---------------------------------------------------------------------- extensions
class _Narrow(RouterExtension):
    name = "narrow"

    def before_decide(self, ctx: DecisionContext) -> None:
        ctx.narrow(["small", "local"], "not allowed for this team")
        ctx.add_note("team policy")


class _Pin(RouterExtension):
    name = "pin"

    def before_decide(self, ctx: DecisionContext) -> None:
        ctx.pin_candidate("strong", "conversation pinned to strong")


class _Premium(RouterExtension):
    def before_decide(self, ctx: DecisionContext) -> None:
        ctx.use_profile("premium", "switched to premium")


class _Broken(RouterExtension):
    name = "broken"

    def before_decide(self, ctx: DecisionContext) -> None:
        ctx.narrow(["local"], "half done")
        raise RuntimeError("secret prompt text must not leak")

    def after_decide(self, decision: Decision, ctx: DecisionContext) -> Decision | None:
        raise ValueError("boom")


class _Recorder:
    """A duck-typed after-only extension."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def after_decide(self, decision: Decision, ctx: DecisionContext) -> Decision | None:
        self.seen.append(decision.name)
        return dataclasses.replace(decision, warnings=(*decision.warnings, "recorded"))


def test_extension_narrows_candidates_with_reasons(embedder: OnnxEmbedder) -> None:
    decision = Router(CANDIDATES, embedder=embedder, extensions=[_Narrow()]).decide("Write a Rust lock-free queue")
    assert decision.name in {"small", "local"}
    assert decision.excluded["strong"] == "not allowed for this team"
    assert "team policy" in decision.reason


def test_extension_pins_and_switches_profile(embedder: OnnxEmbedder) -> None:
    pinned = Router(CANDIDATES, embedder=embedder, extensions=[_Pin()]).decide("hi", profile="eco")
    assert pinned.name == "strong" and "conversation pinned to strong" in pinned.reason
    # a pin that the profile makes ineligible does not override the profile
    free = Router(CANDIDATES, embedder=embedder, extensions=[_Pin()]).decide("hi", profile="free")
    assert free.name == "local" and "strong is not eligible" in free.reason
    assert Router(CANDIDATES, embedder=embedder, extensions=[_Premium()]).decide("hi").profile == "premium"


def test_failing_extension_is_skipped_with_warning_and_counter(embedder: OnnxEmbedder) -> None:
    router = Router(CANDIDATES, embedder=embedder, extensions=[_Broken()])
    with pytest.warns(ExtensionWarning) as caught:
        decision = router.decide("Write a Rust lock-free queue")
    assert [str(w.message).split(" (")[0] for w in caught] == ["extension 'broken' failed in before_decide",
                                                               "extension 'broken' failed in after_decide"]
    assert "excluded" not in str(decision.excluded.get("small", ""))  # the half-done narrowing was undone
    assert set(decision.excluded) == set()
    assert any("broken" in w and "RuntimeError" in w for w in decision.warnings)
    assert any("after_decide" in w and "ValueError" in w for w in decision.warnings)
    assert not any("secret prompt" in w for w in decision.warnings)
    assert router.counters.get("extension_failures") == 2


def test_after_extension_sees_every_path(embedder: OnnxEmbedder) -> None:
    recorder = _Recorder()
    router = Router(CANDIDATES, embedder=embedder, extensions=[recorder])
    one = router.decide("hi")
    batch = router.decide_batch(["hi", "Prove Fermat's little theorem"])
    assert recorder.seen == [one.name, *(d.name for d in batch)]
    assert all(d.warnings[-1] == "recorded" for d in [one, *batch])


@pytest.mark.asyncio
async def test_after_extension_runs_on_the_async_path(embedder: OnnxEmbedder) -> None:
    recorder = _Recorder()
    decision = await Router(CANDIDATES, embedder=embedder, extensions=[recorder]).adecide("hi")
    assert recorder.seen == [decision.name]


def test_extension_without_hooks_is_refused(embedder: OnnxEmbedder) -> None:
    with pytest.raises(ConfigError, match="neither before_decide"):
        Router(CANDIDATES, embedder=embedder, extensions=[object()])


def test_embedder_argument_is_checked() -> None:
    with pytest.raises(ConfigError, match="embedder: expected"):
        Router(CANDIDATES, embedder="static")  # type: ignore[arg-type]


# ---------------------------------------------------------------------- trained strategy vs candidates
@pytest.fixture(scope="module")
def knn_artifact(tmp_path_factory: pytest.TempPathFactory, embedder: OnnxEmbedder) -> Path:
    from routeiq_core import RoutingDataset
    from routeiq_strategies.knn import KNNStrategy

    prompts = [f"question number {i} about {topic}" for i, topic in enumerate(["math", "code", "chat", "law"] * 5)]
    rng = np.random.default_rng(0)
    dataset = RoutingDataset(ids=tuple(str(i) for i in range(len(prompts))), prompts=tuple(prompts),
                             models=("model-a", "model-b"), scores=rng.random((len(prompts), 2)),
                             embeddings=embedder.embed_many(prompts), embedding_model=embedder.model_id)
    out = tmp_path_factory.mktemp("knn")
    KNNStrategy(k=3).fit(dataset).save(out)
    return out


def test_from_artifact_refuses_candidates_it_never_saw(knn_artifact: Path, embedder: OnnxEmbedder) -> None:
    with pytest.raises(ConfigError, match=r"trained models: model-a, model-b.*pass candidates"):
        Router.from_artifact(knn_artifact, embedder=embedder)


def test_cli_decide_with_artifact_and_builtin_catalog_is_one_line(knn_artifact: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from routeiq_core.cli import main

    assert main(["decide", "--artifact", str(knn_artifact), "hello"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "model-a" in err


def test_decision_warns_when_no_candidate_is_known(knn_artifact: Path, embedder: OnnxEmbedder) -> None:
    from routeiq_strategies.knn import KNNStrategy

    strategy = KNNStrategy.load(knn_artifact)
    unknown = Router(CANDIDATES, strategy=strategy, embedder=embedder).decide("hello")
    assert any("none of the eligible candidates" in w for w in unknown.warnings)
    known = [Candidate(name="a", model="model-a", input_cost_per_mtok=1, output_cost_per_mtok=1),
             Candidate(name="b", model="model-b", input_cost_per_mtok=2, output_cost_per_mtok=2)]
    assert not Router(known, strategy=strategy, embedder=embedder).decide("hello").warnings
    assert Router.from_artifact(knn_artifact, known, embedder=embedder).decide("hello").name in {"a", "b"}


def test_from_artifact_honours_a_custom_registry(knn_artifact: Path, embedder: OnnxEmbedder) -> None:
    """A strategy registered only on a private registry loads through from_artifact(registry=)."""
    from routeiq_core import StrategyRegistry
    from routeiq_strategies.knn import KNNStrategy

    class PrivateKNN(KNNStrategy):
        name = "knn"

    registry = StrategyRegistry(load_entry_points=False)
    registry.register(PrivateKNN, replace=True)
    known = [Candidate(name="a", model="model-a", input_cost_per_mtok=1, output_cost_per_mtok=1)]
    router = Router.from_artifact(knn_artifact, known, embedder=embedder, registry=registry)
    assert type(router.strategy) is PrivateKNN


# ---------------------------------------------------------------------- structure rules
def _modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Modules of the packages that ``name`` imports at run time (not under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    found = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):
                found.add(target)
    return found


def test_no_import_cycle_in_the_packages() -> None:
    """No module imports itself back through others (lazy imports inside functions count too)."""
    modules = _modules()
    graph = {name: _imports(name, path, set(modules)) for name, path in modules.items()}
    # a package's __init__ re-exporting its modules is not a cycle of its modules
    graph = {n: {t for t in ts if not (modules[t].name == "__init__.py" and n.startswith(t + "."))}
             for n, ts in graph.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt):], nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)


def test_the_cycle_checker_finds_a_cycle(tmp_path: Path) -> None:
    """The checker is not vacuous: it sees a relative import as an edge."""
    path = tmp_path / "x.py"
    path.write_text("from ._types import Query\nfrom .errors import ConfigError\n")
    assert _imports("routeiq_core._router", path, {"routeiq_core._types", "routeiq_core.errors"}) == {
        "routeiq_core._types", "routeiq_core.errors"}


def test_every_environment_variable_is_a_setting() -> None:
    """Only _settings.py reads os.environ/getenv, and every ROUTEIQ_* name in code is a setting."""
    from routeiq_core._settings import env_names

    allowed = env_names()
    for name, path in _modules().items():
        text = path.read_text(encoding="utf-8")
        if name != "routeiq_core._settings":
            reads = re.findall(r"os\.environ\.get\(|os\.environ\[|os\.getenv\(|environ\.setdefault\(", text)
            assert not reads, f"{path}: reads the environment; add a field to RouteIQSettings instead"
        for var in re.findall(r"\bROUTEIQ_[A-Z0-9_]+\b", text):
            if var != "ROUTEIQ_":
                assert var in allowed, f"{path}: {var} is not a RouteIQSettings field"


def test_settings_docs_page_is_generated_from_the_model() -> None:
    from routeiq_core._settings import settings_markdown

    page = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    assert settings_markdown() in page, "regenerate the table with: routeiq config docs"


def test_precedence_arguments_env_file_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from routeiq_core._settings import RouteIQSettings, effective_config

    config = tmp_path / "router.json"
    config.write_text('{"routeiq": {"profile": "premium", "strategy": "centroid", "key_profiles": {"k": "eco"}}}')
    monkeypatch.setenv("ROUTEIQ_CONFIG", str(config))
    cfg, sources = effective_config()
    assert cfg.profile == "premium" and sources["profile"] == f"file {config}"
    assert sources["team_profiles"] == "default"
    monkeypatch.setenv("ROUTEIQ_PROFILE", "eco")
    cfg, sources = effective_config()
    assert cfg.profile == "eco" and sources["profile"] == "env ROUTEIQ_PROFILE"
    cfg, sources = effective_config(explicit={"profile": "free"})
    assert cfg.profile == "free" and sources["profile"] == "argument"
    monkeypatch.setenv("ROUTEIQ_STRICT_PLUGINS", "maybe")
    with pytest.raises(ConfigError, match="strict_plugins"):
        RouteIQSettings.from_env()


def test_config_show_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                          capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from routeiq_core.cli import main

    monkeypatch.setenv("ROUTEIQ_PROFILE", "eco")
    assert main(["config", "show", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["settings"]["profile"] == {"variable": "ROUTEIQ_PROFILE", "value": "eco",
                                           "source": "env ROUTEIQ_PROFILE"}
    assert data["router"]["profile"]["source"] == "env ROUTEIQ_PROFILE"
    assert data["router"]["strategy"] == {"value": "centroid", "source": "default"}


def test_public_names_are_exported() -> None:
    """Each package's __all__ lists the public names of its modules (exceptions, protocols, twins)."""
    import routeiq_litellm
    from routeiq_core import _decision, _extensions, _strategy, _types, errors
    from routeiq_litellm import clients, settings

    for module in (errors, _strategy, _types, _extensions, _decision):
        missing = set(module.__all__) - set(routeiq_core.__all__) - {"ExtensionRunner"}
        assert not missing, f"{module.__name__}: {sorted(missing)} not in routeiq_core.__all__"
    for module in (clients, settings):
        missing = set(module.__all__) - set(routeiq_litellm.__all__)
        assert not missing, f"{module.__name__}: {sorted(missing)} not in routeiq_litellm.__all__"
    for package in (routeiq_core, routeiq_litellm):
        assert list(package.__all__) == sorted(package.__all__)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name in package.__all__:
                assert getattr(package, name) is not None
