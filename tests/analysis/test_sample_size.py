"""Sample-size planning, checked against statsmodels' TTestIndPower."""

import math
import warnings

import numpy as np
import pytest
from statsmodels.stats.power import TTestIndPower

from baes.analysis.sample_size import cohens_d, plan_sample_size, t_test_n_per_group, t_test_power

BASE = np.array([0.0, 1.0, 2.0, 3.0, 4.0])  # sd (ddof 1) = sqrt(2.5)


def statsmodels_n(d, alpha, power=0.8):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return TTestIndPower().solve_power(
            effect_size=d, alpha=alpha, power=power, ratio=1, alternative="two-sided"
        )


@pytest.mark.parametrize("alpha", [0.05, 0.01])
@pytest.mark.parametrize("d", [0.2, 0.5, 0.8, 1.2, 2.0, 3.0])
def test_real_valued_n_matches_statsmodels(d, alpha):
    assert t_test_n_per_group(d, alpha, 0.8) == pytest.approx(statsmodels_n(d, alpha), rel=1e-6)


@pytest.mark.parametrize("d", [0.3, 0.5, 0.8, 1.5])
def test_planned_n_is_statsmodels_n_over_are_rounded_up(d):
    a, b = BASE, BASE + d * math.sqrt(2.5)
    plan = plan_sample_size(a, b, alpha=0.05, power=0.8)
    assert plan.cohens_d == pytest.approx(-d, rel=1e-12)
    assert plan.n_per_group == max(2, math.ceil(statsmodels_n(d, 0.05) / 0.864))
    assert plan.reason is None


def test_power_function_matches_statsmodels():
    for n in (3.0, 7.5, 40.0):
        expected = TTestIndPower().power(effect_size=0.7, nobs1=n, alpha=0.05, ratio=1)
        assert t_test_power(n, 0.7, 0.05) == pytest.approx(expected, rel=1e-9)


def test_cohens_d_uses_the_pooled_sd_with_unequal_sizes():
    a, b = np.array([2.0, 4.0, 9.0]), np.array([1.0, 1.5, 2.0, 0.5, 3.0, 2.5])
    pooled = math.sqrt((2 * np.var(a, ddof=1) + 5 * np.var(b, ddof=1)) / 7)
    assert cohens_d(a, b) == pytest.approx((a.mean() - b.mean()) / pooled, rel=1e-12)


def test_huge_effect_needs_the_minimum_of_two():
    plan = plan_sample_size(np.array([0.0, 0.1, 0.2]), np.array([50.0, 50.1, 50.2]))
    assert plan.n_per_group == 2


def test_zero_variance_separation_returns_two_with_a_reason():
    plan = plan_sample_size(np.array([1.0, 1.0, 1.0]), np.array([2.0, 2.0]))
    assert plan.n_per_group == 2
    assert "complete separation with zero variance" in plan.reason


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ([3.0, 3.0, 3.0], [3.0, 3.0]),  # both constant and equal
        ([0.1, 0.2, 0.7], [0.7, 0.1, 0.2]),  # same values, other order: d must be exactly 0
    ],
)
def test_equal_means_give_no_sample_size_with_a_reason(a, b):
    plan = plan_sample_size(np.array(a), np.array(b))
    assert plan.n_per_group is None
    assert "Cohen's d = 0" in plan.reason


def test_fewer_than_two_values_give_no_sample_size():
    plan = plan_sample_size(np.array([1.0]), np.array([2.0, 3.0]))
    assert plan.n_per_group is None and "at least 2 values" in plan.reason


def test_tiny_effect_gives_a_large_finite_n():
    n = t_test_n_per_group(1e-4, 0.05, 0.8)
    assert n == pytest.approx(statsmodels_n(1e-4, 0.05), rel=1e-9)
