"""Shared fixtures of the strategy tests: a clustered toy data set and the real LLMRouter split.

``llmrouter`` loads ``../shared/data/llmrouter/{train,test}.json`` once per session and
embeds them through the on-disk cache (warm on the development machines; a cold
cache embeds ~6k prompts once). ``llmrouter.evaluate(strategy)`` scores a fitted
strategy on the test split at several cost weights with the router's one choice
rule (``select_many``), costing each model at its train-set mean cost.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from routeiq_core import BaseStrategy, Candidate, Query, RoutingDataset, parse_request
from routeiq_core._profiles import select_many

#: Cost weights of the evaluation sweep (0 = quality only).
COST_WEIGHTS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5)


# --------------------------------------------------------------------------- toy data
@dataclass
class Clustered:
    """Two clusters of prompts: model "a" answers cluster 0, "b" cluster 1, "c" 30% of anything.

    Prices: a and b cost 1 $/1M tokens, c 0.1 (cheap and weak).
    """

    dataset: RoutingDataset
    centers: np.ndarray
    candidates: tuple[Candidate, ...]

    def query(self, cluster: int, user: str | None = None, noise: float = 0.0, seed: int = 0) -> Query:
        vec = self.centers[cluster] + noise * np.random.default_rng(seed).normal(size=self.centers.shape[1])
        vec = (vec / np.linalg.norm(vec)).astype(np.float32)
        request = parse_request("toy prompt", metadata={"user": user} if user else None)
        return Query(text="toy prompt", embedding=vec, request=request)

    def candidate(self, *names: str) -> list[Candidate]:
        by_name = {c.name: c for c in self.candidates}
        return [by_name[n] if n in by_name else Candidate(name=n, input_cost_per_mtok=1.0,
                                                         output_cost_per_mtok=1.0) for n in names]


def make_clustered(n: int = 200, dim: int = 16, seed: int = 0, all_zero_share: float = 0.0) -> Clustered:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(2, dim))
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    cluster = rng.integers(0, 2, n)
    x = centers[cluster] + 0.3 * rng.normal(size=(n, dim)) / np.sqrt(dim)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    scores = np.zeros((n, 3))
    scores[:, 0] = (cluster == 0) & (rng.random(n) < 0.9)
    scores[:, 1] = (cluster == 1) & (rng.random(n) < 0.9)
    scores[:, 2] = rng.random(n) < 0.3
    if all_zero_share:
        scores[rng.random(n) < all_zero_share] = 0.0
    tasks = tuple(f"task-{c}" for c in cluster)
    dataset = RoutingDataset(
        ids=tuple(f"q{i}" for i in range(n)),
        prompts=tuple(f"prompt {i}" for i in range(n)),
        models=("a", "b", "c"),
        scores=scores,
        tasks=tasks,
        embeddings=x.astype(np.float32),
        embedding_model="toy",
        name="clustered",
    )
    candidates = (
        Candidate(name="a", input_cost_per_mtok=1.0, output_cost_per_mtok=1.0, size_b=70),
        Candidate(name="b", input_cost_per_mtok=1.0, output_cost_per_mtok=1.0, size_b=70),
        Candidate(name="c", input_cost_per_mtok=0.1, output_cost_per_mtok=0.1, size_b=7),
    )
    return Clustered(dataset, centers, candidates)


@pytest.fixture
def clustered() -> Clustered:
    return make_clustered()


@pytest.fixture
def make_toy():
    """The toy-data factory, for tests that need other sizes or seeds."""
    return make_clustered


def predicted_best(strategy: BaseStrategy, query: Query, candidates: Sequence[Candidate]) -> str:
    quality = strategy.predict(query, candidates).quality
    return max(quality, key=lambda name: (quality[name], name))


@pytest.fixture
def best_of():
    return predicted_best


# --------------------------------------------------------------------------- real data
@dataclass
class LLMRouterSplit:
    """The LLMRouter train/test split with embeddings, candidates and an evaluation helper."""

    train: RoutingDataset
    test: RoutingDataset
    candidates: tuple[Candidate, ...]
    model_cost: np.ndarray  # (m,) train-set mean USD per prompt, in train.models order
    results: dict[str, Any] = field(default_factory=dict)

    @property
    def best_single(self) -> tuple[float, float]:
        """(test quality, cost) of the model with the best train mean."""
        j = int(np.nanmean(self.train.scores, axis=0).argmax())
        return float(self.test.scores[:, j].mean()), float(self.model_cost[j])

    @property
    def oracle(self) -> float:
        return float(self.test.scores.max(axis=1).mean())

    def queries(self, with_users: bool = False) -> list[Query]:
        users = self.test.users if with_users else None
        out = []
        for i, (text, emb) in enumerate(zip(self.test.prompts, self.test.embeddings)):
            meta = {"user": users[i]} if users is not None and users[i] is not None else None
            out.append(Query(text=text, embedding=emb, request=parse_request(text, metadata=meta)))
        return out

    def quality_matrix(self, strategy: BaseStrategy, with_users: bool = False) -> np.ndarray:
        estimates = strategy.predict_batch(self.queries(with_users), self.candidates)
        return np.array([[e.quality[c.name] for c in self.candidates] for e in estimates])

    def evaluate(self, strategy: BaseStrategy, label: str | None = None, with_users: bool = False) -> dict[str, Any]:
        """Test quality and mean cost of the choice at each cost weight (also kept in ``results``)."""
        quality = self.quality_matrix(strategy, with_users)
        cost = np.broadcast_to(self.model_cost, quality.shape)
        rows = np.arange(len(self.test))
        points = []
        for w in COST_WEIGHTS:
            choice = select_many(quality, cost, w)
            points.append({
                "cost_weight": w,
                "quality": float(self.test.scores[rows, choice].mean()),
                "cost": float(self.model_cost[choice].mean()),
            })
        best_q, best_c = self.best_single
        cheaper = [p["quality"] - best_q for p in points if p["cost"] < best_c]
        result = {
            "points": points,
            # Largest quality gain over the best single model among points that cost less than it.
            "margin": max(cheaper) if cheaper else -1.0,
            "beats_best_single_cheaper": bool(cheaper) and max(cheaper) > 0,
            "max_quality": max(p["quality"] for p in points),
        }
        self.results[label or strategy.name] = result
        return result


def _candidates_for(train: RoutingDataset, llm_file: Path) -> tuple[Candidate, ...]:
    import json

    sizes: dict[str, float] = {}
    if llm_file.is_file():
        for name, info in json.loads(llm_file.read_text()).items():
            size = str(info.get("size", "")).strip().upper()
            if size.endswith("B"):
                sizes[name] = float(size[:-1])
    out = []
    for model in train.models:
        price = train.prices[model]
        out.append(Candidate(name=model, input_cost_per_mtok=price.input_cost_per_mtok,
                             output_cost_per_mtok=price.output_cost_per_mtok, size_b=sizes.get(model)))
    return tuple(out)


@pytest.fixture(scope="session", autouse=True)
def _one_blas_thread():
    """Training runs on one BLAS thread: on 2 shared cores, multi-threaded BLAS oversubscribes
    and slows the numpy trainers several-fold."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(scope="session")
def llmrouter(shared_data: Path) -> LLMRouterSplit:
    root = shared_data / "llmrouter"
    if not (root / "train.json").is_file() or not (root / "test.json").is_file():
        pytest.skip(f"LLMRouter data not found at {root} (set ROUTEIQ_SHARED_DATA)")
    return load_llmrouter(root)


def load_llmrouter(root: Path) -> LLMRouterSplit:
    """Train/test with embeddings (via the cache), test columns in train order, tasks as pseudo-users."""
    from routeiq_core._embedding_cache import embed_dataset
    from routeiq_core.datasets import load_dataset

    train = embed_dataset(load_dataset(root / "train.json"), progress=False)
    test = embed_dataset(load_dataset(root / "test.json"), progress=False)
    if test.models != train.models:
        test = test.select_models(train.models)
    # The data has no user ids: for the personalised strategy, tasks stand in as pseudo-users.
    train = dataclasses.replace(train, users=train.tasks)
    test = dataclasses.replace(test, users=test.tasks)
    model_cost = train.cost_matrix().mean(axis=0)
    return LLMRouterSplit(train, test, _candidates_for(train, root / "default_llm.json"), model_cost)


# --------------------------------------------------------------------------- common checks
class Checks:
    """Behaviour every per-model strategy of this package shares, on the clustered toy data."""

    @staticmethod
    def fitted_arrays(strategy: BaseStrategy) -> dict[str, np.ndarray]:
        return {k: v.copy() for k, v in strategy.fitted_attributes().items() if isinstance(v, np.ndarray)}

    def candidate_sets(self, strategy: BaseStrategy, data: Clustered) -> None:
        """Subset: only the given candidates are scored; superset: an unknown model gets a finite prior."""
        query = data.query(1)
        subset = strategy.predict(query, data.candidate("b", "c"))
        assert set(subset.quality) == {"b", "c"}
        assert subset.quality["b"] > subset.quality["c"]
        superset = strategy.predict(query, data.candidate("a", "b", "c", "brand-new"))
        assert set(superset.quality) == {"a", "b", "c", "brand-new"}
        assert all(0.0 <= v <= 1.0 and np.isfinite(v) for v in superset.quality.values())
        assert superset.details.get("unknown_models") == ["brand-new"]
        explicit = strategy.clone(unknown_quality=0.123).fit(data.dataset)
        assert explicit.predict(query, data.candidate("a", "brand-new")).quality["brand-new"] == 0.123

    def roundtrip(self, strategy: BaseStrategy, data: Clustered, path: Path) -> None:
        """save/load gives the same predictions, and predicting never changes fitted arrays."""
        before = self.fitted_arrays(strategy)
        queries = [data.query(0), data.query(1), data.query(0, noise=0.5, seed=3)]
        expected = [strategy.predict(q, data.candidates).quality for q in queries]
        batch = [e.quality for e in strategy.predict_batch(queries, data.candidates)]
        for got, want in zip(batch, expected):
            assert got == pytest.approx(want)
        after = self.fitted_arrays(strategy)
        assert before.keys() == after.keys()
        assert all(np.array_equal(before[k], after[k], equal_nan=True) for k in before)
        strategy.save(path)
        loaded = type(strategy).load(path)
        for q, want in zip(queries, expected):
            assert loaded.predict(q, data.candidates).quality == pytest.approx(want)

    def tiny_data(self, strategy: BaseStrategy, data: Clustered, *, needs_differences: bool) -> None:
        """Too little training data is a DatasetError, not a crash.

        With ``needs_differences`` (label- or pair-based training), data where every
        model scored 0 everywhere is too: it says nothing about which model is better.
        """
        from routeiq_core import DatasetError

        with pytest.raises(DatasetError):
            strategy.clone().fit(data.dataset.subset([0]))
        zeros = dataclasses.replace(data.dataset, scores=np.zeros_like(data.dataset.scores))
        if needs_differences:
            with pytest.raises(DatasetError):
                strategy.clone().fit(zeros)
        else:
            quality = strategy.clone().fit(zeros).predict(data.query(0), data.candidates).quality
            assert max(quality.values()) < 0.2


@pytest.fixture
def checks() -> Checks:
    return Checks()
