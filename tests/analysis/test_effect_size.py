"""Cliff's δ from integer counts and its magnitude thresholds, including exact threshold hits."""

import time
from fractions import Fraction

import numpy as np
import pytest

from baes.analysis.effect_size import cliffs_delta, cliffs_delta_interval, delta_magnitude


def brute_force_counts(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return int((a[:, None] > b[None, :]).sum()), int((a[:, None] < b[None, :]).sum())


def one_against_many(below: int, above: int, total: int):
    """a = [0]; b has `below` values under 0, `above` over 0, the rest tied.

    δ = (below − above) / total.
    """
    b = [-1.0] * below + [1.0] * above + [0.0] * (total - below - above)
    return np.array([0.0]), np.array(b)


def test_cliffs_delta_by_hand():
    # a = [1,2,3], b = [2,3,4]: a > b only for (3,2) -> 1; a < b for (1,2),(1,3),(1,4),(2,3),(2,4),
    # (3,4) -> 6; ties (2,2),(3,3). δ = (1 − 6)/9 = −5/9.
    delta = cliffs_delta(np.array([1.0, 2.0, 3.0]), np.array([2.0, 3.0, 4.0]))
    assert (delta.greater, delta.less) == (1, 6)
    assert delta.exact == Fraction(-5, 9)
    assert delta.delta == pytest.approx(-5 / 9, rel=1e-15)
    assert delta.magnitude == "large"


def test_cliffs_delta_is_positive_when_a_tends_to_be_larger():
    assert cliffs_delta(np.array([5.0, 6.0]), np.array([1.0, 2.0])).delta == 1.0
    assert cliffs_delta(np.array([1.0, 2.0]), np.array([5.0, 6.0])).delta == -1.0


def test_counts_match_brute_force_with_heavy_ties():
    rng = np.random.default_rng(4)
    a, b = rng.integers(0, 6, 137).astype(float), rng.integers(1, 7, 91).astype(float)
    delta = cliffs_delta(a, b)
    assert (delta.greater, delta.less) == brute_force_counts(a, b)


def test_identical_groups_give_zero():
    delta = cliffs_delta(np.full(4, 2.0), np.full(7, 2.0))
    assert (delta.greater, delta.less, delta.delta, delta.magnitude) == (0, 0, 0.0, "negligible")


def test_thousand_by_thousand_is_exact_and_fast():
    rng = np.random.default_rng(9)
    a, b = rng.normal(0.1, 1, 1000).round(2), rng.normal(0, 1, 1000).round(2)
    start = time.perf_counter()
    delta = cliffs_delta(a, b)
    elapsed = time.perf_counter() - start
    assert (delta.greater, delta.less) == brute_force_counts(a, b)
    assert elapsed < 0.5  # O(n log n); a Python double loop would take seconds


@pytest.mark.parametrize(
    ("below", "above", "total", "expected"),
    [
        (147, 0, 1000, "small"),  # δ = 0.147 exactly: not < 0.147
        (146, 0, 1000, "negligible"),
        (33, 0, 100, "medium"),  # δ = 0.33 exactly
        (329, 0, 1000, "small"),
        (474, 0, 1000, "large"),  # δ = 0.474 exactly
        (473, 0, 1000, "medium"),
        (0, 147, 1000, "small"),  # δ = −0.147: magnitude uses |δ|
        (0, 33, 100, "medium"),
        (500, 26, 1000, "large"),  # (500 − 26)/1000 = 0.474 with ties on both sides
    ],
)
def test_magnitude_exactly_on_a_threshold(below, above, total, expected):
    a, b = one_against_many(below, above, total)
    delta = cliffs_delta(a, b)
    assert delta.exact == Fraction(below - above, total)
    assert delta.magnitude == expected


def test_threshold_hit_with_two_real_samples():
    # b = 0..49 (50 values); a has 20 values (1000 pairs). Per a-value (greater, less):
    # 49 -> (49, 0), 49.5 -> (50, 0), 48.5 -> (49, 1), 24.5 ×17 -> (25, 25) each.
    # greater = 49 + 50 + 49 + 425 = 573, less = 0 + 0 + 1 + 425 = 426: δ = 147/1000.
    a = np.array([49.0, 49.5, 48.5] + [24.5] * 17)
    b = np.arange(50, dtype=float)
    delta = cliffs_delta(a, b)
    assert (delta.greater, delta.less) == (573, 426) == brute_force_counts(a, b)
    assert delta.delta == 0.147
    assert delta.magnitude == "small"


def test_delta_magnitude_on_exact_fractions():
    assert delta_magnitude(Fraction(147, 1000) - Fraction(1, 10**12)) == "negligible"
    assert delta_magnitude(Fraction(-474, 1000)) == "large"


def test_empty_group_is_rejected():
    with pytest.raises(ValueError):
        cliffs_delta(np.array([]), np.array([1.0]))


def _grid_interval(a, b, confidence=0.95):
    """Independent route: scan θ on a fine grid for |θ̂ − θ| ≤ z·√V(θ), V the Hanley–McNeil
    variance with both sizes replaced by their mean (Newcombe 2006, method 5)."""
    from scipy import stats

    m, n = len(a), len(b)
    diff = np.sign(np.subtract.outer(np.asarray(a, float), np.asarray(b, float)))
    theta_hat = (diff.mean() + 1) / 2
    z = stats.norm.isf((1 - confidence) / 2)
    star = (m + n) / 2
    theta = np.linspace(0, 1, 400_001)
    q1, q2 = theta / (2 - theta), 2 * theta**2 / (1 + theta)
    variance = (
        theta * (1 - theta) + (star - 1) * (q1 - theta**2) + (star - 1) * (q2 - theta**2)
    ) / (m * n)
    inside = theta[np.abs(theta_hat - theta) <= z * np.sqrt(np.maximum(variance, 0))]
    return 2 * inside.min() - 1, 2 * inside.max() - 1


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]),  # complete separation
        ([1, 2, 2, 3], [2, 3, 3, 4, 5, 5]),  # ties, unequal sizes
        ([5, 5, 5], [5, 5, 5]),  # all tied: δ = 0
        ([1, 4, 6, 8, 9, 12, 13], [2, 3, 5, 7]),
        ([3], [1, 2]),  # one value
    ],
)
def test_delta_interval_matches_an_independent_grid_solution(a, b):
    delta = cliffs_delta(np.array(a, float), np.array(b, float))
    interval = cliffs_delta_interval(delta)
    low, high = _grid_interval(a, b)
    assert interval.low == pytest.approx(low, abs=1e-5)
    assert interval.high == pytest.approx(high, abs=1e-5)
    assert interval.low <= delta.delta <= interval.high
    assert interval.method == "newcombe-score"


def test_complete_separation_does_not_collapse_to_a_point():
    # A percentile bootstrap gives [−1, −1] here: every resample is still separated.
    delta = cliffs_delta(np.arange(5.0), np.arange(5.0) + 10)
    interval = cliffs_delta_interval(delta)
    assert interval.low == -1.0 and -1.0 < interval.high < 0.0


@pytest.mark.parametrize("n", [5, 10])
def test_delta_interval_coverage_at_small_n(n):
    from scipy import stats

    shift = 0.8
    truth = 2 * stats.norm.cdf(shift / np.sqrt(2)) - 1  # δ of N(0, 1) vs N(−0.8, 1)
    rng = np.random.default_rng(n)
    hits = 0
    for _ in range(2000):
        a, b = rng.normal(0, 1, n), rng.normal(-shift, 1, n)
        interval = cliffs_delta_interval(cliffs_delta(a, b))
        hits += interval.low <= truth <= interval.high
    assert hits / 2000 >= 0.93
