"""SVM strategy: per-model linear (numpy) or SVC (sklearn) on tie-aware labels, Platt-calibrated."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from routeiq_core import ConfigError, MissingDependencyError
from routeiq_strategies.svm import SVMStrategy


def test_each_cluster_gets_its_winner(clustered, best_of) -> None:
    """The linear SVMs separate the clusters; calibrated quality tracks the true success rates."""
    svm = SVMStrategy().fit(clustered.dataset)
    assert best_of(svm, clustered.query(0), clustered.candidates) == "a"
    assert best_of(svm, clustered.query(1), clustered.candidates) == "b"
    quality = svm.predict(clustered.query(0), clustered.candidates).quality
    assert quality["a"] > 0.7 and quality["b"] < 0.2 and 0.1 < quality["c"] < 0.6


def test_all_zero_rows_do_not_teach_labels(make_toy, best_of) -> None:
    """Prompts where every model failed are dropped from the labels, so they cannot favour any column."""
    data = make_toy(all_zero_share=0.6, seed=1)
    svm = SVMStrategy().fit(data.dataset)
    assert best_of(svm, data.query(0), data.candidates) == "a"
    assert best_of(svm, data.query(1), data.candidates) == "b"


def test_candidate_sets(clustered, checks) -> None:
    """Subset and superset candidates; unknown models get the explicit prior."""
    checks.candidate_sets(SVMStrategy().fit(clustered.dataset), clustered)


def test_roundtrip_and_purity(clustered, checks, tmp_path) -> None:
    """save/load, batch == single, predict leaves fitted arrays alone."""
    checks.roundtrip(SVMStrategy(class_weight=None).fit(clustered.dataset), clustered, tmp_path)


def test_tiny_data(clustered, checks) -> None:
    """Fewer than 2 informative prompts is a DatasetError."""
    checks.tiny_data(SVMStrategy(), clustered, needs_differences=True)


def test_sklearn_rbf_backend(clustered, best_of, checks, tmp_path) -> None:
    """The sklearn SVC (rbf) backend stores support vectors as arrays; prediction is numpy."""
    pytest.importorskip("sklearn")
    svm = SVMStrategy(backend="sklearn", kernel="rbf").fit(clustered.dataset)
    assert svm.support_.shape[1] == clustered.dataset.embeddings.shape[1]
    assert best_of(svm, clustered.query(0), clustered.candidates) == "a"
    assert best_of(svm, clustered.query(1), clustered.candidates) == "b"
    checks.roundtrip(svm, clustered, tmp_path)


def test_sklearn_rbf_decision_matches_sklearn(clustered) -> None:
    """The numpy RBF decision function reproduces sklearn's SVC.decision_function."""
    sklearn_svm = pytest.importorskip("sklearn.svm")
    data = clustered.dataset
    svm = SVMStrategy(backend="sklearn", kernel="rbf", class_weight=None).fit(data)
    x = data.embeddings.astype(np.float64)
    labels = np.where(data.scores[:, 1] >= data.scores.max(axis=1), 1.0, -1.0)
    keep = data.scores.max(axis=1) > 0
    ref = sklearn_svm.SVC(kernel="rbf", C=1.0, gamma=svm.gamma_).fit(x[keep], labels[keep])
    assert svm._decision(x[:20])[:, 1] == pytest.approx(ref.decision_function(x[:20]), abs=1e-4)


def test_sklearn_backend_without_sklearn(clustered, monkeypatch) -> None:
    """Without scikit-learn the sklearn backend says which extra to install."""
    monkeypatch.setitem(sys.modules, "sklearn.svm", None)
    with pytest.raises(MissingDependencyError, match=r"routeiq\[sklearn\]"):
        SVMStrategy(backend="sklearn").fit(clustered.dataset)


@pytest.mark.parametrize("bad", [{"kernel": "rbf"}, {"c": 0}, {"max_iter": 0}, {"class_weight": "auto"}])
def test_bad_params(bad: dict) -> None:
    """rbf without the sklearn backend, non-positive C and unknown options are ConfigErrors."""
    with pytest.raises(ConfigError):
        SVMStrategy(**bad)


@pytest.mark.slow
def test_llmrouter_svm(llmrouter) -> None:
    """Linear SVM on LLMRouter: well above random choice (0.40), about the best single model's quality for less."""
    result = llmrouter.evaluate(SVMStrategy().fit(llmrouter.train))
    assert result["margin"] > -0.02, result
