"""GraphRouter on numpy: exact gradients, the bilinear inference reduction, learning, persistence, real data."""

from __future__ import annotations

import numpy as np
import pytest

from routeiq_core import ConfigError
from routeiq_strategies._nn import sigmoid
from routeiq_strategies.graph import (
    GraphRouterStrategy,
    graph_loss,
    init_graph_params,
    model_states,
)

FAST = {"steps": 200}


def _numeric_grad(f, arr: np.ndarray) -> np.ndarray:
    out = np.zeros_like(arr)
    for idx in np.ndindex(arr.shape):
        old = arr[idx]
        arr[idx] = old + 1e-6
        up = f()
        arr[idx] = old - 1e-6
        down = f()
        arr[idx] = old
        out[idx] = (up - down) / 2e-6
    return out


def test_gradients_match_finite_differences() -> None:
    """Every parameter's gradient (and the query-offset gradient GMT uses) equals finite differences."""
    rng = np.random.default_rng(1)
    x, perf = rng.normal(size=(10, 5)), rng.random((10, 4))
    perf[0, 0] = np.nan
    known = ~np.isnan(perf)
    hide = rng.random((10, 4)) < 0.4
    params = init_graph_params(5, 4, 6, rng)
    params["bq"] = rng.normal(size=6) * 0.3
    params["bh"] = rng.normal(size=6) * 0.3
    offset = rng.normal(size=(10, 6))

    def loss() -> float:
        return graph_loss(params, x, perf, known & ~hide, perf, known & hide, offset)[0]

    _, grads, fwd = graph_loss(params, x, perf, known & ~hide, perf, known & hide, offset)
    for name, arr in params.items():
        np.testing.assert_allclose(grads[name], _numeric_grad(loss, arr), atol=1e-7, err_msg=name)
    np.testing.assert_allclose(fwd.grad_query, _numeric_grad(loss, offset), atol=1e-7)


def test_only_visible_edges_carry_messages() -> None:
    """A model state depends on the performance of visible edges only."""
    rng = np.random.default_rng(2)
    params = init_graph_params(4, 2, 5, rng)
    x = rng.normal(size=(6, 4))
    perf = rng.random((6, 2))
    visible = np.ones((6, 2), dtype=bool)
    visible[0, 0] = False
    changed = perf.copy()
    changed[0, 0] = 1.0 - perf[0, 0]
    assert np.array_equal(model_states(params, x, perf, visible), model_states(params, x, changed, visible))
    visible[0, 0] = True
    assert not np.array_equal(model_states(params, x, perf, visible), model_states(params, x, changed, visible))


def test_learns_which_model_serves_which_cluster(clustered, best_of) -> None:
    """Trained on the toy graph, the right model wins each cluster and qualities are probabilities."""
    strategy = GraphRouterStrategy(**FAST).fit(clustered.dataset)
    assert best_of(strategy, clustered.query(0), clustered.candidates) == "a"
    assert best_of(strategy, clustered.query(1), clustered.candidates) == "b"
    quality = strategy.predict(clustered.query(0), clustered.candidates).quality
    assert quality["a"] > 0.6 > quality["b"]


def test_inference_is_bilinear_in_the_exported_model_vectors(clustered) -> None:
    """A new query has no edges: its quality is sigmoid((x Wq + bq) . h_m / hidden + b_m) with fixed h_m."""
    strategy = GraphRouterStrategy(**FAST).fit(clustered.dataset)
    x = clustered.dataset.embeddings[:5].astype(np.float64)
    q0 = x @ strategy.query_weight_ + strategy.query_bias_
    manual = sigmoid(q0 @ strategy.model_vectors_.T / strategy.model_vectors_.shape[1] + strategy.model_bias_)
    np.testing.assert_allclose(strategy.model_quality(x), manual, rtol=1e-5)


def test_best_target_marks_every_tied_best_model() -> None:
    """target="best": all tied-best models are positives; a row where everyone scored 0 has none."""
    strategy = GraphRouterStrategy(target="best")
    scores = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.2, np.nan, 0.7]])
    targets = strategy._targets(scores)
    assert targets[0].tolist() == [1.0, 1.0, 0.0]
    assert targets[1].tolist() == [0.0, 0.0, 0.0]
    assert targets[2, 0] == 0.0 and np.isnan(targets[2, 1]) and targets[2, 2] == 1.0


def test_best_target_also_learns(clustered, best_of) -> None:
    """The one-hot-best objective (tie-aware) separates the clusters too."""
    strategy = GraphRouterStrategy(target="best", **FAST).fit(clustered.dataset)
    assert best_of(strategy, clustered.query(1), clustered.candidates) == "b"


def test_candidates_roundtrip_and_tiny_data(clustered, checks, tmp_path) -> None:
    """Subset/superset candidates, save/load without pickle, pure predict, and too little data."""
    strategy = GraphRouterStrategy(**FAST).fit(clustered.dataset)
    checks.candidate_sets(strategy, clustered)
    checks.roundtrip(strategy, clustered, tmp_path)
    checks.tiny_data(strategy, clustered, needs_differences=False)


@pytest.mark.parametrize("bad", [{"hidden_dim": 1}, {"edge_mask_ratio": 1.0}, {"target": "first"},
                                 {"batch_size": 1}, {"hiden_dim": 8}])
def test_bad_params_are_config_errors(bad: dict) -> None:
    """Out-of-range, unknown-choice or misspelled parameters raise ConfigError naming the field."""
    with pytest.raises(ConfigError, match=next(iter(bad))):
        GraphRouterStrategy(**bad)


def test_llmrouter_graph(llmrouter) -> None:
    """GraphRouter on LLMRouter: within a point of the best single model's quality (0.563) at a lower cost."""
    result = llmrouter.evaluate(GraphRouterStrategy().fit(llmrouter.train))
    assert result["max_quality"] < llmrouter.oracle
    assert result["margin"] > -0.01, result


def test_unknown_scores_are_missing_edges(clustered, best_of) -> None:
    """NaN scores (a model never ran on a prompt) are absent edges, not zeros: training still separates the clusters."""
    import dataclasses

    rng = np.random.default_rng(4)
    scores = clustered.dataset.scores.copy()
    scores[rng.random(scores.shape) < 0.3] = np.nan
    strategy = GraphRouterStrategy(**FAST).fit(dataclasses.replace(clustered.dataset, scores=scores))
    assert best_of(strategy, clustered.query(0), clustered.candidates) == "a"
    assert best_of(strategy, clustered.query(1), clustered.candidates) == "b"
