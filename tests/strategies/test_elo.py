"""Elo strategy: Bradley-Terry ratings from pairwise battles, global or per group."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from routeiq_core import Candidate, ConfigError, DatasetError, Query
from routeiq_strategies._numeric import bradley_terry
from routeiq_strategies.elo import EloStrategy, battle_counts


def test_battles_skip_or_halve_ties() -> None:
    """A tie is no battle by default and half a win each with ties='half'; NaN never battles."""
    scores = np.array([[1.0, 0.0, np.nan], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    skip = battle_counts(scores)
    assert skip.tolist() == [[0, 1, 1], [0, 0, 1], [0, 0, 0]]
    half = battle_counts(scores, "half")
    assert half[0, 1] == 2.0 and half[1, 0] == 1.0 and half[0, 2] == 1.5 and half[2, 1] == 0.5


def test_bradley_terry_recovers_known_strengths() -> None:
    """With many battles drawn from known strengths the fit recovers their differences."""
    true = np.array([0.0, 1.0, -0.5])
    total = 20000.0
    p = 1.0 / (1.0 + np.exp(-(true[:, None] - true[None, :])))
    wins = total * p
    np.fill_diagonal(wins, 0.0)
    theta = bradley_terry(wins)
    assert theta - theta[0] == pytest.approx(true - true[0], abs=1e-3)


def test_ranks_by_wins_not_by_column_order() -> None:
    """The strongest model is the one that wins battles, whatever its column; ties teach nothing."""
    rng = np.random.default_rng(0)
    n = 300
    strong = (rng.random(n) < 0.7).astype(float)
    weak = (rng.random(n) < 0.4).astype(float)
    scores = np.stack([weak, strong, np.zeros(n)], axis=1)
    scores[:100] = 0.0  # many all-zero prompts: first-max labels would favour column 0
    data = _dataset(scores)
    elo = EloStrategy().fit(data)
    quality = elo.predict(Query(text="x"), [Candidate(name=m) for m in data.models]).quality
    assert quality["strong"] > quality["weak"] > quality["never"]
    assert elo.elo_[1] > 1000 > elo.elo_[2]


def _dataset(scores: np.ndarray):
    from routeiq_core import RoutingDataset

    n = len(scores)
    return RoutingDataset(ids=tuple(map(str, range(n))), prompts=tuple(f"p{i}" for i in range(n)),
                          models=("weak", "strong", "never"), scores=scores)


def test_global_elo_is_query_independent_and_needs_no_embedding(clustered) -> None:
    """Global Elo trains without embeddings and gives every query the same estimate."""
    data = dataclasses.replace(clustered.dataset, embeddings=None)
    elo = EloStrategy().fit(data)
    assert not elo.tags.needs_embedding
    one = elo.predict(Query(text="x"), clustered.candidates).quality
    two = elo.predict(clustered.query(1), clustered.candidates).quality
    assert one == two


@pytest.mark.parametrize("groups", ["cluster", "task"])
def test_grouped_ratings_follow_the_query(clustered, best_of, groups: str) -> None:
    """Per-cluster or per-task ratings pick a in cluster 0 and b in cluster 1."""
    elo = EloStrategy(groups=groups, n_clusters=2).fit(clustered.dataset)
    assert elo.tags.needs_embedding and elo.strength_.shape == (3, 3)
    assert best_of(elo, clustered.query(0), clustered.candidates) == "a"
    assert best_of(elo, clustered.query(1), clustered.candidates) == "b"


def test_task_groups_need_tasks(clustered) -> None:
    """groups='task' on data without task labels is a DatasetError."""
    with pytest.raises(DatasetError, match="task"):
        EloStrategy(groups="task").fit(dataclasses.replace(clustered.dataset, tasks=None))


def test_candidate_sets(clustered, checks) -> None:
    """Subset and superset candidates; unknown models get the explicit prior."""
    checks.candidate_sets(EloStrategy(groups="cluster", n_clusters=2).fit(clustered.dataset), clustered)


def test_roundtrip_and_purity(clustered, checks, tmp_path) -> None:
    """save/load (incl. group names and centroids), batch == single, predict is pure."""
    checks.roundtrip(EloStrategy(groups="task").fit(clustered.dataset), clustered, tmp_path)


def test_tiny_data(clustered, checks) -> None:
    """One prompt, or no battle at all, is a DatasetError."""
    checks.tiny_data(EloStrategy(), clustered, needs_differences=True)


@pytest.mark.parametrize("bad", [{"groups": "user"}, {"l2": 0}, {"n_clusters": 0}, {"ties": "draw"}])
def test_bad_params(bad: dict) -> None:
    """Unknown modes and non-positive settings are ConfigErrors."""
    with pytest.raises(ConfigError):
        EloStrategy(**bad)


@pytest.mark.slow
def test_llmrouter_elo(llmrouter) -> None:
    """Tie-aware Elo on LLMRouter rates nemotron-51b (the best mean model) first, not qwen2.5-7b."""
    elo = EloStrategy().fit(llmrouter.train)
    assert llmrouter.train.models[int(np.argmax(elo.elo_))] == "llama-3.1-nemotron-51b-instruct"
    llmrouter.evaluate(elo)
    llmrouter.evaluate(EloStrategy(groups="task").fit(llmrouter.train), label="elo[task]")
    result = llmrouter.evaluate(EloStrategy(groups="cluster").fit(llmrouter.train), label="elo[cluster]")
    assert result["max_quality"] > 0.5, result
