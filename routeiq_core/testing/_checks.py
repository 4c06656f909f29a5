"""The strategy conformance checks (in the spirit of scikit-learn's ``check_estimator``).

Every check is a function ``check_*(strategy)`` that takes a configured, unfitted
strategy, works on a clone of it, and raises ``AssertionError`` with a message
saying what was expected and what happened. The strategy's tags decide which
checks apply (see :func:`strategy_checks`).
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import inspect
import json
import math
import tempfile
import typing
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._candidates import Candidate
from .._dataset import RoutingDataset
from .._profiles import rank_indices
from .._strategy import BaseStrategy, Estimate, Query
from ..errors import ConfigError, DatasetError, NoCandidatesError, NotFittedError
from ._toy import make_toy_dataset, toy_candidates, toy_queries

__all__ = [
    "ALL_CHECKS",
    "check_strategy",
    "conformance_instances",
    "parametrize_with_checks",
    "strategy_checks",
]

Check = Callable[[Any], None]
ExpectedFailures = Mapping[str, str] | Callable[[Any], Mapping[str, str]] | None

_N_TRAIN = 48
_N_QUERIES = 6
_RTOL = 1e-6
_ATOL = 1e-9


# --------------------------------------------------------------------------- fixtures
@dataclasses.dataclass(frozen=True)
class _Problem:
    train: RoutingDataset
    queries: list[Query]
    candidates: list[Candidate]


def _problem() -> _Problem:
    data = make_toy_dataset(n_prompts=_N_TRAIN + _N_QUERIES, seed=0)
    train = data.subset(range(_N_TRAIN), name="toy[train]")
    return _Problem(train, toy_queries(data, range(_N_TRAIN, _N_TRAIN + _N_QUERIES)), toy_candidates(data))


def _name(strategy: Any) -> str:
    return getattr(strategy, "name", "") or type(strategy).__name__


def _fresh(strategy: Any) -> Any:
    return strategy.clone()


# Fitted copies by the strategy instance handed to the checks: fit once, deep-copy per check.
_FITTED: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _fitted(strategy: Any, problem: _Problem | None = None) -> Any:
    """A fitted copy of ``strategy`` on the toy problem (the fit is cached per instance)."""
    try:
        cached = _FITTED.get(strategy)
    except TypeError:  # unhashable or not weak-referenceable: no cache
        cached = None
    if cached is None or cached.params != strategy.params:
        cached = _fresh(strategy).fit((problem or _problem()).train)
        try:
            _FITTED[strategy] = cached
        except TypeError:
            pass
    # Fitted state lives only in ``*_`` attributes (the contract save/load relies on too).
    out = _fresh(strategy)
    for key, value in copy.deepcopy(cached.fitted_attributes()).items():
        setattr(out, key, value)
    return out


def _tags(strategy: Any) -> Any:
    return type(strategy).tags


def _quality(est: Estimate, names: Sequence[str]) -> np.ndarray:
    return np.array([est.quality[n] for n in names], dtype=np.float64)


def _same(a: Estimate, b: Estimate, names: Sequence[str]) -> bool:
    if not np.allclose(_quality(a, names), _quality(b, names), rtol=_RTOL, atol=_ATOL):
        return False
    if (a.cost is None) != (b.cost is None):
        return False
    if a.cost is not None and b.cost is not None:
        return bool(np.allclose([a.cost[n] for n in names], [b.cost[n] for n in names], rtol=_RTOL, atol=_ATOL))
    return True


def _describe(est: Estimate, names: Sequence[str]) -> str:
    return "{" + ", ".join(f"{n}: {est.quality[n]:.6g}" for n in names) + "}"


def _snapshot(strategy: Any) -> dict[str, Any]:
    return copy.deepcopy(strategy.fitted_attributes())


def _equal_state(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape and bool(
            np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
        )
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal_state(a[k], b[k]) for k in a)
    if isinstance(a, BaseStrategy) and isinstance(b, BaseStrategy):  # a strategy inside one (a stack's bases)
        return type(a) is type(b) and a.params == b.params and _equal_state(a.fitted_attributes(),
                                                                             b.fitted_attributes())
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_equal_state(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    try:
        return bool(a == b)
    except Exception:  # objects without a usable ==
        return a is b


def _bind_like(loaded: Any, original: Any) -> Any:
    """Strategies whose callables are not saved (LLM callers) expose ``bind_llm``: bind the original's."""
    llm = getattr(original, "llm", None)
    if llm and callable(getattr(loaded, "bind_llm", None)):
        loaded.bind_llm(llm)
    return loaded


# --------------------------------------------------------------------------- checks: construction
def check_params_roundtrip(strategy: Any) -> None:
    """The parameters survive ``clone()`` and a JSON round trip of ``model_dump``."""
    params = strategy.params
    clone = _fresh(strategy)
    assert clone.params == params, f"{_name(strategy)}: clone() changed params {params!r} -> {clone.params!r}"
    dumped = json.loads(json.dumps(params.model_dump(mode="json")))
    rebuilt = type(params).model_validate(dumped)
    assert rebuilt == params, f"{_name(strategy)}: params do not survive JSON: {params!r} -> {rebuilt!r}"


def check_unknown_param_rejected(strategy: Any) -> None:
    """A misspelled hyper-parameter raises ConfigError (never silently ignored)."""
    try:
        strategy.clone(routeiq_no_such_param=1)
    except ConfigError:
        return
    raise AssertionError(f"{_name(strategy)}: clone(routeiq_no_such_param=1) did not raise ConfigError")


def check_bad_param_values_rejected(strategy: Any) -> None:
    """A value of the wrong type for any typed hyper-parameter raises ConfigError."""
    sentinel = object()
    for field_name, info in type(strategy.params).model_fields.items():
        if info.annotation in (Any, object) or typing.get_origin(info.annotation) is typing.Annotated:
            continue
        try:
            strategy.clone(**{field_name: sentinel})
        except ConfigError:
            continue
        raise AssertionError(
            f"{_name(strategy)}: parameter {field_name!r} accepted an arbitrary object; "
            "expected ConfigError from pydantic validation"
        )


def check_no_fitted_attrs_before_fit(strategy: Any) -> None:
    """A new (or cloned) strategy has no fitted ``*_`` attributes."""
    found = sorted(_fresh(strategy).fitted_attributes())
    assert not found, f"{_name(strategy)}: fitted attributes {found} exist before fit(); set them only in _fit"


def check_clone_is_unfitted(strategy: Any) -> None:
    """``clone()`` of a fitted strategy is unfitted and has the same parameters."""
    fitted = _fitted(strategy)
    clone = fitted.clone()
    assert clone.params == fitted.params, f"{_name(strategy)}: clone() changed params"
    assert not clone.fitted_attributes(), (
        f"{_name(strategy)}: clone() of a fitted strategy kept fitted attributes {sorted(clone.fitted_attributes())}"
    )


# --------------------------------------------------------------------------- checks: fitting
def check_unfitted_predict_raises(strategy: Any) -> None:
    """predict before fit raises NotFittedError (strategies that need training)."""
    problem = _problem()
    try:
        _fresh(strategy).predict(problem.queries[0], problem.candidates)
    except NotFittedError:
        return
    raise AssertionError(f"{_name(strategy)}: predict() before fit() did not raise NotFittedError")


def check_unfitted_save_raises(strategy: Any) -> None:
    """save before fit raises NotFittedError (strategies that need training)."""
    with tempfile.TemporaryDirectory() as tmp:
        try:
            _fresh(strategy).save(Path(tmp) / "artifact")
        except NotFittedError:
            return
    raise AssertionError(f"{_name(strategy)}: save() before fit() did not raise NotFittedError")


def check_fit_returns_self(strategy: Any) -> None:
    """fit(dataset) returns the strategy itself and leaves it fitted."""
    s = _fresh(strategy)
    out = s.fit(_problem().train)
    assert out is s, f"{_name(strategy)}: fit() returned {type(out).__name__}, expected self"
    assert s.is_fitted(), f"{_name(strategy)}: is_fitted() is False after fit()"


def check_fit_requires_embeddings(strategy: Any) -> None:
    """Fitting a strategy that needs embeddings on data without them raises DatasetError."""
    data = _problem().train
    bare = dataclasses.replace(data, embeddings=None, embedding_model=None)
    try:
        _fresh(strategy).fit(bare)
    except DatasetError:
        return
    raise AssertionError(f"{_name(strategy)}: fit() on a data set without embeddings did not raise DatasetError")


def check_fit_idempotent(strategy: Any) -> None:
    """Fitting twice on the same data gives the same predictions (deterministic strategies)."""
    problem = _problem()
    s = _fitted(strategy, problem)
    first = s.predict_batch(problem.queries, problem.candidates)
    s.fit(problem.train)
    second = s.predict_batch(problem.queries, problem.candidates)
    names = [c.name for c in problem.candidates]
    for i, (a, b) in enumerate(zip(first, second)):
        assert _same(a, b, names), (
            f"{_name(strategy)}: query {i} changed after refitting: {_describe(a, names)} -> {_describe(b, names)}"
        )


# --------------------------------------------------------------------------- checks: predicting
def _check_estimate(strategy: Any, est: Any, candidates: Sequence[Candidate], where: str) -> None:
    label = f"{_name(strategy)} ({where})"
    assert isinstance(est, Estimate), f"{label}: predict() returned {type(est).__name__}, expected Estimate"
    names = [c.name for c in candidates]
    assert set(est.quality) == set(names), (
        f"{label}: quality keys {sorted(est.quality)} differ from the candidate names {sorted(names)}"
    )
    for n in names:
        q = est.quality[n]
        assert isinstance(q, (int, float, np.floating)) and math.isfinite(q) and -_ATOL <= q <= 1 + _ATOL, (
            f"{label}: quality of {n!r} is {q!r}; expected a finite number in [0, 1]"
        )
    if est.cost is not None:
        assert set(est.cost) == set(names), f"{label}: cost keys {sorted(est.cost)} differ from {sorted(names)}"
        bad = {n: v for n, v in est.cost.items() if not (math.isfinite(v) and v >= 0)}
        assert not bad, f"{label}: costs must be finite and >= 0, got {bad}"
    if est.confidence is not None:
        assert 0.0 <= est.confidence <= 1.0, f"{label}: confidence {est.confidence!r} is outside [0, 1]"
    # The choice the router would make from this estimate is one of the candidates.
    cost = [est.cost[n] if est.cost else c.expected_cost(500, 300) for n, c in zip(names, candidates)]
    order, _ = rank_indices(_quality(est, names), cost, 0.25, names)
    assert sorted(order) == list(range(len(names))), f"{label}: ranking does not cover the candidates"


def check_estimate_covers_candidates(strategy: Any) -> None:
    """predict gives a finite quality in [0, 1] for exactly the candidates given (cost, confidence valid)."""
    problem = _problem()
    s = _fitted(strategy, problem)
    for i, q in enumerate(problem.queries):
        _check_estimate(s, s.predict(q, problem.candidates), problem.candidates, f"query {i}")


def check_candidate_subset(strategy: Any) -> None:
    """Trained on a, b, c and asked about b and c only, it scores exactly b and c."""
    problem = _problem()
    s = _fitted(strategy, problem)
    subset = problem.candidates[1:]
    for i, q in enumerate(problem.queries[:3]):
        _check_estimate(s, s.predict(q, subset), subset, f"subset {[c.name for c in subset]}, query {i}")
    single = problem.candidates[:1]
    _check_estimate(s, s.predict(problem.queries[0], single), single, "a single candidate")


def check_candidate_superset(strategy: Any) -> None:
    """A candidate whose model was never trained on gets a finite prior, not an error."""
    problem = _problem()
    s = _fitted(strategy, problem)
    extra = Candidate(name="unseen-deployment", model="vendor/never-seen-model", input_cost_per_mtok=1.0,
                      output_cost_per_mtok=2.0, size_b=30.0)
    cands = [*problem.candidates, extra]
    for i, q in enumerate(problem.queries[:3]):
        _check_estimate(s, s.predict(q, cands), cands, f"with an unseen model, query {i}")


def check_candidate_order_invariance(strategy: Any) -> None:
    """Shuffling the candidates does not change any candidate's estimate (deterministic strategies)."""
    problem = _problem()
    s = _fitted(strategy, problem)
    names = [c.name for c in problem.candidates]
    shuffled = list(reversed(problem.candidates))
    for i, q in enumerate(problem.queries):
        a, b = s.predict(q, problem.candidates), s.predict(q, shuffled)
        assert _same(a, b, names), (
            f"{_name(strategy)}: query {i}: estimates depend on candidate order: "
            f"{_describe(a, names)} vs reversed {_describe(b, names)}"
        )


def check_deterministic_repeat(strategy: Any) -> None:
    """Predicting the same query twice gives the same estimate (deterministic strategies)."""
    problem = _problem()
    s = _fitted(strategy, problem)
    names = [c.name for c in problem.candidates]
    for i, q in enumerate(problem.queries):
        a, b = s.predict(q, problem.candidates), s.predict(q, problem.candidates)
        assert _same(a, b, names), f"{_name(strategy)}: query {i} gave {_describe(a, names)} then {_describe(b, names)}"


def check_predict_does_not_mutate(strategy: Any) -> None:
    """predict and predict_batch change neither the fitted state nor the inputs."""
    problem = _problem()
    s = _fitted(strategy, problem)
    before = _snapshot(s)
    cands = list(problem.candidates)
    emb = [None if q.embedding is None else q.embedding.copy() for q in problem.queries]
    s.predict(problem.queries[0], cands)
    s.predict_batch(problem.queries, cands)
    after = _snapshot(s)
    changed = sorted(k for k in set(before) | set(after) if not _equal_state(before.get(k), after.get(k)))
    assert not changed, f"{_name(strategy)}: predict() changed fitted attributes {changed}; use update() for learning"
    assert cands == problem.candidates, f"{_name(strategy)}: predict() mutated the candidate list"
    for q, e in zip(problem.queries, emb):
        if e is not None:
            assert q.embedding is not None and np.array_equal(q.embedding, e), f"{_name(strategy)}: predict() mutated a query embedding in place"


def check_empty_candidates_raises(strategy: Any) -> None:
    """predict with no candidates raises NoCandidatesError."""
    problem = _problem()
    s = _fitted(strategy, problem)
    try:
        s.predict(problem.queries[0], [])
    except NoCandidatesError:
        return
    raise AssertionError(f"{_name(strategy)}: predict(query, []) did not raise NoCandidatesError")


def check_missing_embedding_raises(strategy: Any) -> None:
    """A query without an embedding raises DatasetError (strategies that need one)."""
    problem = _problem()
    s = _fitted(strategy, problem)
    q = dataclasses.replace(problem.queries[0], embedding=None)
    try:
        s.predict(q, problem.candidates)
    except DatasetError:
        return
    raise AssertionError(f"{_name(strategy)}: a query without an embedding did not raise DatasetError")


def check_dim_mismatch_raises(strategy: Any) -> None:
    """A query embedding of another dimension than the training data raises DatasetError."""
    problem = _problem()
    s = _fitted(strategy, problem)
    wrong = np.zeros(problem.train.require_embeddings().shape[1] + 5, dtype=np.float32)
    wrong[0] = 1.0
    q = dataclasses.replace(problem.queries[0], embedding=wrong)
    try:
        s.predict(q, problem.candidates)
    except DatasetError:
        return
    trained = problem.train.require_embeddings().shape[1]
    raise AssertionError(
        f"{_name(strategy)}: a {wrong.shape[0]}-d query on a {trained}-d model did not raise "
        "DatasetError (set embedding_dim_ in _fit; BaseStrategy checks it)"
    )


def check_batch_matches_single(strategy: Any) -> None:
    """predict_batch equals a loop of predict (deterministic strategies)."""
    problem = _problem()
    s = _fitted(strategy, problem)
    names = [c.name for c in problem.candidates]
    batch = s.predict_batch(problem.queries, problem.candidates)
    assert len(batch) == len(problem.queries), f"{_name(strategy)}: predict_batch returned {len(batch)} estimates"
    for i, (q, b) in enumerate(zip(problem.queries, batch)):
        one = s.predict(q, problem.candidates)
        assert _same(one, b, names), (
            f"{_name(strategy)}: query {i}: predict {_describe(one, names)} != predict_batch {_describe(b, names)}"
        )


def check_estimate_json_serializable(strategy: Any) -> None:
    """Everything in an Estimate (quality, cost, details, confidence, category) is plain JSON."""
    problem = _problem()
    s = _fitted(strategy, problem)
    est = s.predict(problem.queries[0], problem.candidates)
    body = {"quality": dict(est.quality), "cost": None if est.cost is None else dict(est.cost),
            "details": dict(est.details), "confidence": est.confidence, "category": est.category}
    try:
        text = json.dumps(body, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise AssertionError(
            f"{_name(strategy)}: the estimate is not JSON-serialisable ({exc}); convert numpy scalars "
            "with float()/int() and keep details to str/int/float/bool/list/dict"
        ) from None
    assert json.loads(text)["quality"].keys() == est.quality.keys()


def check_save_load_roundtrip(strategy: Any) -> None:
    """save then load (JSON manifest + .npz, no pickle) gives the same parameters and predictions."""
    problem = _problem()
    s = _fitted(strategy, problem)
    names = [c.name for c in problem.candidates]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "artifact"
        s.save(path)
        manifest = json.loads((path / "manifest.json").read_text())
        assert isinstance(manifest.get("format_version"), int), f"{_name(strategy)}: manifest has no format_version"
        if (path / "arrays.npz").exists():
            with np.load(path / "arrays.npz", allow_pickle=False) as npz:
                for key in npz.files:
                    npz[key]  # raises if an array needs pickle
        loaded = _bind_like(type(s).load(path), s)
    assert type(loaded) is type(s), f"{_name(strategy)}: load() returned {type(loaded).__name__}"
    assert loaded.params == s.params, f"{_name(strategy)}: params changed on load: {s.params!r} -> {loaded.params!r}"
    assert loaded.is_fitted(), f"{_name(strategy)}: the loaded strategy is not fitted"
    missing = sorted(set(s.fitted_attributes()) - set(loaded.fitted_attributes()))
    assert not missing, f"{_name(strategy)}: fitted attributes lost on save/load: {missing}"
    for i, q in enumerate(problem.queries):
        a, b = s.predict(q, problem.candidates), loaded.predict(q, problem.candidates)
        if _tags(s).deterministic:
            assert _same(a, b, names), (
                f"{_name(strategy)}: query {i}: {_describe(a, names)} before save, {_describe(b, names)} after load"
            )
        else:
            _check_estimate(loaded, b, problem.candidates, f"after load, query {i}")


def check_online_update(strategy: Any) -> None:
    """update(query, candidate, quality) learns without breaking predict (online strategies)."""
    problem = _problem()
    s = _fitted(strategy, problem)
    for q, cand, quality in zip(problem.queries, problem.candidates * 2, (1.0, 0.0, 1.0, 0.5, 0.0, 1.0)):
        s.update(q, cand, quality)
    _check_estimate(s, s.predict(problem.queries[0], problem.candidates), problem.candidates, "after update()")


def check_async_predict(strategy: Any) -> None:
    """``await apredict`` (when defined) gives a valid estimate, equal to predict for deterministic strategies."""
    problem = _problem()
    s = _fitted(strategy, problem)
    q = problem.queries[0]
    est = asyncio.run(s.apredict(q, problem.candidates))
    _check_estimate(s, est, problem.candidates, "apredict")
    if _tags(s).deterministic:
        names = [c.name for c in problem.candidates]
        one = s.predict(q, problem.candidates)
        assert _same(one, est, names), (
            f"{_name(strategy)}: apredict {_describe(est, names)} != predict {_describe(one, names)}"
        )


# --------------------------------------------------------------------------- selection and runners
#: Every check with the tag condition under which it runs.
ALL_CHECKS: tuple[tuple[Check, Callable[[Any], bool]], ...] = (
    (check_params_roundtrip, lambda t: True),
    (check_unknown_param_rejected, lambda t: True),
    (check_bad_param_values_rejected, lambda t: True),
    (check_no_fitted_attrs_before_fit, lambda t: True),
    (check_clone_is_unfitted, lambda t: True),
    (check_unfitted_predict_raises, lambda t: t.requires_fit),
    (check_unfitted_save_raises, lambda t: t.requires_fit),
    (check_fit_returns_self, lambda t: True),
    (check_fit_requires_embeddings, lambda t: t.requires_fit and t.needs_embedding),
    (check_fit_idempotent, lambda t: t.requires_fit and t.deterministic),
    (check_estimate_covers_candidates, lambda t: True),
    (check_candidate_subset, lambda t: True),
    (check_candidate_superset, lambda t: True),
    (check_candidate_order_invariance, lambda t: t.deterministic),
    (check_deterministic_repeat, lambda t: t.deterministic),
    (check_predict_does_not_mutate, lambda t: True),
    (check_empty_candidates_raises, lambda t: True),
    (check_missing_embedding_raises, lambda t: t.needs_embedding),
    (check_dim_mismatch_raises, lambda t: t.needs_embedding and t.requires_fit),
    (check_batch_matches_single, lambda t: t.deterministic),
    (check_estimate_json_serializable, lambda t: True),
    (check_save_load_roundtrip, lambda t: True),
    (check_online_update, lambda t: t.online),
)


def strategy_checks(strategy: Any) -> Iterator[tuple[Any, Check]]:
    """``(strategy, check)`` pairs of every check that applies to ``strategy``'s tags (no pytest needed)."""
    tags = _tags(strategy)
    for check, applies in ALL_CHECKS:
        if applies(tags):
            yield strategy, check
    if inspect.iscoroutinefunction(getattr(strategy, "apredict", None)):
        yield strategy, check_async_predict


def check_strategy(strategy: Any, *, expected_failed_checks: Mapping[str, str] | None = None) -> None:
    """Run every applicable check; raise AssertionError at the first unexpected failure.

    ``expected_failed_checks`` maps check names to the reason they fail; those must
    fail (a check listed there that passes is an error too, so the list stays honest).
    """
    expected = dict(expected_failed_checks or {})
    for s, check in strategy_checks(strategy):
        reason = expected.pop(check.__name__, None)
        if reason is None:
            check(s)
            continue
        try:
            check(s)
        except AssertionError:
            continue
        raise AssertionError(f"{_name(strategy)}: {check.__name__} was expected to fail ({reason}) but passed")
    if expected:
        raise AssertionError(f"{_name(strategy)}: unknown or inapplicable expected failures {sorted(expected)}")


def conformance_instances(cls: type) -> list[Any]:
    """Configured instances of a strategy class for the kit.

    A class may define ``conformance_instances()`` (a classmethod returning
    instances, e.g. bound to a fake LLM or with non-default parameters);
    otherwise the default-constructed instance is used.
    """
    factory = getattr(cls, "conformance_instances", None)
    if callable(factory):
        instances = list(factory())
        if not instances:
            raise ValueError(f"{cls.__qualname__}.conformance_instances() returned no instances")
        return instances
    return [cls()]


def _strategy_id(strategy: Any) -> str:
    text = repr(strategy)
    cls_name = type(strategy).__name__
    if text.startswith(cls_name + "("):
        text = _name(strategy) + text[len(cls_name):]
    return text.replace(" ", "")


def parametrize_with_checks(
    strategies: Sequence[Any],
    *,
    expected_failed_checks: ExpectedFailures = None,
) -> Any:
    """A ``pytest.mark.parametrize`` decorator over (strategy, check) for every applicable check.

    ``strategies`` are configured instances (or classes, expanded with
    :func:`conformance_instances`). ``expected_failed_checks`` is a mapping, or a
    callable taking a strategy and returning one, of check name -> reason; those
    checks are marked strict ``xfail``. Test ids look like ``knn(k=3)-check_candidate_subset``.
    """
    import pytest

    params = []
    for item in strategies:
        for strategy in conformance_instances(item) if isinstance(item, type) else [item]:
            if callable(expected_failed_checks):
                expected = expected_failed_checks(strategy)
            else:
                expected = expected_failed_checks or {}
            for s, check in strategy_checks(strategy):
                marks = []
                if check.__name__ in expected:
                    marks.append(pytest.mark.xfail(strict=True, raises=AssertionError, reason=expected[check.__name__]))
                params.append(pytest.param(s, check, id=f"{_strategy_id(s)}-{check.__name__}", marks=marks))
    return pytest.mark.parametrize("strategy, check", params)
