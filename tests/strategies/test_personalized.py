"""Personalised strategy: ridge per-model scores plus shrunken per-user offsets."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from routeiq_core import ConfigError
from routeiq_core.errors import RouteIQWarning
from routeiq_strategies.personalized import PersonalizedStrategy


def _with_users(data, taste: float = 1.0):
    """Users "fan-of-c" and "other": c always succeeds for fan-of-c (the global model cannot see users)."""
    scores = data.dataset.scores.copy()
    users = tuple("fan-of-c" if i % 2 else "other" for i in range(len(scores)))
    fan = np.array([u == "fan-of-c" for u in users])
    scores[fan, 2] = taste
    scores[~fan, 2] = 0.0
    return dataclasses.replace(data.dataset, scores=scores, users=users)


def test_user_offsets_change_the_estimate(clustered) -> None:
    """A user for whom c always works gets a higher c estimate; an unknown user gets the global one."""
    model = PersonalizedStrategy(user_shrinkage=5).fit(_with_users(clustered))
    fan = model.predict(clustered.query(0, user="fan-of-c"), clustered.candidates)
    other = model.predict(clustered.query(0, user="other"), clustered.candidates)
    stranger = model.predict(clustered.query(0, user="someone-new"), clustered.candidates)
    anonymous = model.predict(clustered.query(0), clustered.candidates)
    assert fan.details["personalized"] and not stranger.details["personalized"]
    assert fan.quality["c"] > 0.8 and other.quality["c"] < 0.2
    assert other.quality["c"] < stranger.quality["c"] < fan.quality["c"]
    assert stranger.quality == anonymous.quality
    assert sorted(model.users_) == ["fan-of-c", "other"]


def test_shrinkage_limits_small_users(clustered) -> None:
    """A huge shrinkage keeps offsets near zero."""
    model = PersonalizedStrategy(user_shrinkage=1e9).fit(_with_users(clustered))
    assert np.abs(model.offsets_).max() < 1e-6


def test_without_users_it_is_the_global_model(clustered, best_of) -> None:
    """No user ids: a warning, no offsets, and the global ridge still routes by cluster."""
    with pytest.warns(RouteIQWarning, match="no user ids"):
        model = PersonalizedStrategy().fit(clustered.dataset)
    assert model.users_ == [] and model.offsets_.shape == (0, 3)
    assert best_of(model, clustered.query(0, user="x"), clustered.candidates) == "a"
    assert best_of(model, clustered.query(1), clustered.candidates) == "b"


@pytest.mark.filterwarnings("ignore:personalized. the data set has no user ids")
def test_candidate_sets(clustered, checks) -> None:
    """Subset and superset candidates; unknown models get the explicit prior."""
    checks.candidate_sets(PersonalizedStrategy().fit(_with_users(clustered, taste=0.3)), clustered)


def test_roundtrip_and_purity(clustered, checks, tmp_path) -> None:
    """save/load (user ids as JSON), batch == single, predict leaves fitted arrays alone."""
    checks.roundtrip(PersonalizedStrategy().fit(_with_users(clustered)), clustered, tmp_path)
    loaded = PersonalizedStrategy.load(tmp_path)
    query = clustered.query(0, user="fan-of-c")
    assert loaded.predict(query, clustered.candidates).details["personalized"]


@pytest.mark.filterwarnings("ignore:personalized. the data set has no user ids")
def test_tiny_data(clustered, checks) -> None:
    """One prompt is a DatasetError; all-zero data predicts ~0."""
    checks.tiny_data(PersonalizedStrategy(), clustered, needs_differences=False)


@pytest.mark.parametrize("bad", [{"alpha": 0}, {"user_shrinkage": -1}, {"offset_folds": 0}])
def test_bad_params(bad: dict) -> None:
    """Non-positive settings are ConfigErrors."""
    with pytest.raises(ConfigError):
        PersonalizedStrategy(**bad)


@pytest.mark.slow
def test_llmrouter_personalized(llmrouter) -> None:
    """With tasks as pseudo-users, offsets help: beats the best single model at lower cost."""
    model = PersonalizedStrategy().fit(llmrouter.train)
    result = llmrouter.evaluate(model, with_users=True)
    llmrouter.evaluate(model, label="personalized[no user]")
    assert result["margin"] > 0.01, result


@pytest.mark.slow
def test_router_passes_the_user(llmrouter) -> None:
    """Through a real Router, metadata.user selects the user's offsets (tasks as pseudo-users)."""
    from routeiq_core import Router

    model = PersonalizedStrategy().fit(llmrouter.train)
    router = Router(llmrouter.candidates, strategy=model, profile="premium")
    prompt = llmrouter.test.prompts[0]
    user = llmrouter.test.users[0]
    known = router.decide(prompt, metadata={"user": user})
    anonymous = router.decide(prompt)
    assert not known.fallback and not anonymous.fallback
    assert known.details["personalized"] and not anonymous.details["personalized"]
    assert [a.quality for a in known.ranking] != [a.quality for a in anonymous.ranking]
