"""The error contract: every public entry point answers bad input with a RouteIQError subclass
(what was expected, what arrived, what to do), never a TypeError, AttributeError or the like.

Model classes constructed directly (``Candidate(...)``, ``Profile(...)``) raise pydantic's
ValidationError, a ValueError, as pydantic models do; every loader and Router argument that
takes them converts that into a RouteIQError.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

import routeiq_litellm
from routeiq_core import (
    Catalog,
    CentroidSet,
    OnnxEmbedder,
    RouteIQError,
    Router,
    default_registry,
    load_candidates,
    load_config,
    parse_request,
)
from routeiq_core.datasets import load_dataset

R = Router()
D = R.decide("hi")

CASES: dict[str, Callable[[], Any]] = {
    "Router(candidates=123)": lambda: Router(candidates=123),  # type: ignore[arg-type]
    "Router(candidates=[1])": lambda: Router(candidates=[1]),  # type: ignore[list-item]
    "Router(strategy=5)": lambda: Router(strategy=5),  # type: ignore[arg-type]
    "Router(strategy='nope')": lambda: Router(strategy="nope"),
    "Router(profiles='x')": lambda: Router(profiles="x"),  # type: ignore[arg-type]
    "Router(profiles={'x': 5})": lambda: Router(profiles={"x": 5}),  # type: ignore[dict-item]
    "Router(profile=5)": lambda: Router(profile=5),  # type: ignore[arg-type]
    "Router(team_profiles=5)": lambda: Router(team_profiles=5),  # type: ignore[arg-type]
    "Router(strategy_params=5)": lambda: Router(strategy="knn", strategy_params=5),  # type: ignore[arg-type]
    "Router(extensions=5)": lambda: Router(extensions=5),  # type: ignore[arg-type]
    "Router(centroids=5)": lambda: Router(centroids=5),  # type: ignore[arg-type]
    "Router(deadline_ms='x')": lambda: Router(deadline_ms="x"),  # type: ignore[arg-type]
    "Router.from_artifact(None)": lambda: Router.from_artifact(None),  # type: ignore[arg-type]
    "Router.from_artifact(5)": lambda: Router.from_artifact(5),  # type: ignore[arg-type]
    "Router.from_artifact(missing)": lambda: Router.from_artifact("/nonexistent/artifact"),
    "Router.from_config(5)": lambda: Router.from_config(5),  # type: ignore[arg-type]
    "Router.from_config({'x': 1})": lambda: Router.from_config({"x": 1}),
    "Router.from_config(missing)": lambda: Router.from_config("/nonexistent.json"),
    "load_candidates(5)": lambda: load_candidates(5),  # type: ignore[arg-type]
    "load_config([1])": lambda: load_config([1]),  # type: ignore[arg-type]
    "feedback(None, 0.5)": lambda: R.feedback(None, 0.5),  # type: ignore[arg-type]
    "feedback(d, 'x')": lambda: R.feedback(D, "x"),  # type: ignore[arg-type]
    "feedback(d, nan)": lambda: R.feedback(D, math.nan),
    "decide(5)": lambda: R.decide(5),
    "decide(messages=5)": lambda: R.decide(messages=5),
    "decide(tools=5)": lambda: R.decide("hi", tools=5),
    "decide(profile=5)": lambda: R.decide("hi", profile=5),  # type: ignore[arg-type]
    "decide(exclude=5)": lambda: R.decide("hi", exclude=5),  # type: ignore[arg-type]
    "decide_batch(5)": lambda: R.decide_batch(5),  # type: ignore[arg-type]
    "decide_batch([5])": lambda: R.decide_batch([5]),
    "route(5)": lambda: R.route(5),
    "make_query(5)": lambda: R.make_query(5),  # type: ignore[arg-type]
    "with_candidates(5)": lambda: R.with_candidates(5),  # type: ignore[arg-type]
    "Catalog.from_file(5)": lambda: Catalog.from_file(5),  # type: ignore[arg-type]
    "CentroidSet.load(5)": lambda: CentroidSet.load(5),  # type: ignore[arg-type]
    "OnnxEmbedder(5)": lambda: OnnxEmbedder(5).load(),  # type: ignore[arg-type]
    "default_registry().get(5)": lambda: default_registry().get(5),  # type: ignore[arg-type]
    "parse_request(5)": lambda: parse_request(5),
    "load_dataset(5)": lambda: load_dataset(5),  # type: ignore[arg-type]
    "load_dataset(missing)": lambda: load_dataset("/nonexistent.jsonl"),
    "routeiq_litellm.install(5)": lambda: routeiq_litellm.install(5),
    "routeiq_litellm.load_settings(5)": lambda: routeiq_litellm.load_settings(5),  # type: ignore[arg-type]
    "routeiq_litellm.load_settings({'x': 1})": lambda: routeiq_litellm.load_settings({"x": 1}),
    "routeiq_litellm.make_engine(5)": lambda: routeiq_litellm.make_engine(5),
    "routeiq_litellm.make_engine(bogus=1)": lambda: routeiq_litellm.make_engine(bogus=1),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_raises_a_routeiq_error(case: str) -> None:
    with pytest.raises(RouteIQError) as info:
        CASES[case]()
    message = str(info.value)
    assert message and "\n" not in message and len(message) < 2000
