"""Metrics on hand-computed examples: hull, lift, cost to match, chord, RouteLLM's CPT/AUC/APGR."""

from __future__ import annotations

import numpy as np
import pytest

from routeiq_core.evaluation import (
    chord_quality,
    cost_to_reach,
    frontier,
    hull_lift,
    quality_at_cost,
    routellm_curve,
    routellm_metrics,
    upper_hull,
)

SINGLE_C = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
SINGLE_Q = np.array([0.5, 0.55, 0.8, 0.7, 0.9])


def test_upper_hull_drops_dominated_and_concave_points() -> None:
    """(2, .55) lies under the segment (1,.5)-(3,.8) and (4, .7) is dominated: the hull is 3 vertices."""
    c, q = upper_hull(SINGLE_C, SINGLE_Q)
    np.testing.assert_allclose(c, [1, 3, 5])
    np.testing.assert_allclose(q, [0.5, 0.8, 0.9])


def test_upper_hull_is_non_decreasing() -> None:
    """A pricier but worse model never extends the hull; equal costs keep the better model."""
    c, q = upper_hull([1, 2, 3, 2], [0.4, 0.9, 0.6, 0.7])
    np.testing.assert_allclose(c, [1, 2])
    np.testing.assert_allclose(q, [0.4, 0.9])


def test_hull_lift_at_equal_cost() -> None:
    """Lift is measured against the hull at the same cost: flat past the end, the cheapest model before the start."""
    lift, at = hull_lift([2.0], [0.75], SINGLE_C, SINGLE_Q)  # hull(2) = 0.65
    assert lift == pytest.approx(0.10) and at == 2.0
    lift, at = hull_lift([2.0, 6.0, 0.5], [0.6, 0.97, 0.52], SINGLE_C, SINGLE_Q)  # gaps -0.05, 0.07, 0.02
    assert lift == pytest.approx(0.07) and at == 6.0
    lift, _ = hull_lift([4.0], [0.8], SINGLE_C, SINGLE_Q)  # hull(4) = 0.85
    assert lift == pytest.approx(-0.05)


def test_frontier_cost_to_reach_and_quality_at_cost() -> None:
    """Frontier points are interpolated: mixing two operating points reaches anything between them."""
    cost = [0.0, 1.0, 2.0, 1.5, 3.0]
    quality = [0.5, 0.7, 0.8, 0.6, 0.8]
    fc, fq = frontier(cost, quality)
    np.testing.assert_allclose(fc, [0, 1, 2])
    np.testing.assert_allclose(fq, [0.5, 0.7, 0.8])
    assert cost_to_reach(cost, quality, 0.75) == pytest.approx(1.5)
    assert cost_to_reach(cost, quality, 0.4) == 0.0
    assert cost_to_reach(cost, quality, 0.81) is None
    assert quality_at_cost(cost, quality, 1.5) == pytest.approx(0.75)
    assert quality_at_cost(cost, quality, 10) == pytest.approx(0.8)
    assert quality_at_cost([1.0], [0.9], 0.5) is None


def test_chord_quality() -> None:
    """The straight line from the cheapest to the priciest model, clamped at its ends."""
    assert chord_quality(2.0, (1.0, 0.5), (5.0, 0.9)) == pytest.approx(0.6)
    assert chord_quality(9.0, (1.0, 0.5), (5.0, 0.9)) == pytest.approx(0.9)


def test_routellm_metrics_hand_computed() -> None:
    """A perfect router on 10 prompts (weak right on 5, strong on all): AUC .875, APGR .75, CPT(50%) 25%.

    Score quantile edges are [0,0,0,0,0,.5,1,1,1,1,1]: 100% strong calls at the 0 thresholds,
    50% at .5 and 1, and 0% for the last (strict) threshold. Sorted by call share the curve is
    (0, .5), (50, 1), (100, 1): area .375 + .5 = .875; weak area .5, strong area 1.
    """
    weak = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 0], dtype=float)
    strong = np.ones(10)
    score = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1], dtype=float)
    pct, acc = routellm_curve(score, strong, weak)
    np.testing.assert_allclose(pct, [100, 100, 100, 100, 100, 50, 50, 50, 50, 50, 0])
    np.testing.assert_allclose(acc, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0.5])
    r = routellm_metrics(pct, acc, strong_quality=1.0, weak_quality=0.5)
    assert r.auc == pytest.approx(0.875)
    assert r.apgr == pytest.approx(0.75)
    assert r.cpt50 == pytest.approx(25.0)
    assert r.cpt80 == pytest.approx(40.0)
    assert r.cpt20 == pytest.approx(10.0)


def test_routellm_random_router_is_about_half_and_inverted_is_below() -> None:
    """Random scores give APGR close to 0.5 (RouteLLM's random baseline); an inverted router scores below."""
    rng = np.random.default_rng(7)
    n = 20000
    weak = (rng.random(n) < 0.6).astype(float)
    strong = np.maximum(weak, (rng.random(n) < 0.7).astype(float))
    r = routellm_metrics(*routellm_curve(rng.random(n), strong, weak), strong.mean(), weak.mean())
    assert r.apgr == pytest.approx(0.5, abs=0.03)
    assert r.cpt50 == pytest.approx(50.0, abs=3.0)
    good = strong - weak + 0.01 * rng.random(n)
    r_good = routellm_metrics(*routellm_curve(good, strong, weak), strong.mean(), weak.mean())
    r_bad = routellm_metrics(*routellm_curve(-good, strong, weak), strong.mean(), weak.mean())
    assert r_good.apgr > 0.8 and r_bad.apgr < 0.2
