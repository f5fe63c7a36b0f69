"""Descriptives and the outlier rule, checked against numpy and hand computation."""

import math

import numpy as np
import pytest

from baes.analysis.descriptives import describe, find_outliers, sample_mean, sample_std
from baes.analysis.samples import InvalidSampleError, as_sample


def test_describe_matches_numpy_on_skewed_data_with_ties():
    values = np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0, 5.0])
    summary = describe(values)
    assert summary.n == 11
    assert summary.mean == pytest.approx(np.mean(values), rel=1e-15)
    assert summary.median == np.median(values)
    assert summary.std == pytest.approx(np.std(values, ddof=1), rel=1e-14)
    assert summary.q1 == np.percentile(values, 25, method="linear")
    assert summary.q3 == np.percentile(values, 75, method="linear")
    assert (summary.min, summary.max) == (1.0, 9.0)
    assert summary.std_reason is None and summary.reason is None


def test_quartiles_interpolate_linearly_between_values():
    # n = 4: q1 sits at position 0.75 between 10 and 20 -> 17.5; q3 at 2.25 -> 32.5.
    summary = describe(np.array([10.0, 20.0, 30.0, 40.0]))
    assert (summary.q1, summary.median, summary.q3) == (17.5, 25.0, 32.5)


def test_constant_group_has_exactly_zero_std_and_exact_mean():
    # np.std of ten 0.1s is ~1e-17 because the rounded mean differs from 0.1.
    summary = describe(np.full(10, 0.1))
    assert summary.std == 0.0
    assert summary.mean == 0.1


def test_single_value_has_no_std_and_says_why():
    summary = describe(np.array([7.0]))
    assert summary.n == 1
    assert (summary.mean, summary.median, summary.q1, summary.q3) == (7.0, 7.0, 7.0, 7.0)
    assert summary.std is None
    assert "at least 2" in summary.std_reason


def test_empty_group_is_all_none_with_a_reason():
    summary = describe(np.array([]))
    assert summary.n == 0
    assert summary.mean is None and summary.median is None and summary.max is None
    assert summary.reason == "the group has no values"


def test_mean_does_not_depend_on_value_order():
    values = np.random.default_rng(3).normal(1e6, 1e-3, 1001)
    assert sample_mean(values) == sample_mean(values[::-1]) == sample_mean(np.sort(values))


def test_outlier_is_measured_from_the_median_in_units_of_sd():
    values = np.array([10.0] * 20 + [100.0])
    # By hand: mean = 310/21, sd = sqrt(Σ(x-mean)²/20) ≈ 19.64, 3·sd ≈ 58.9 < |100 − 10| = 90.
    sd = math.sqrt(sum((v - 310 / 21) ** 2 for v in values) / 20)
    assert 3 * sd < 90
    assert find_outliers(values) == [100.0]


def test_outliers_match_an_independent_numpy_rule_and_keep_input_order():
    rng = np.random.default_rng(11)
    values = np.concatenate([rng.normal(0, 1, 300), [9.0, -8.5, 12.0]])
    rng.shuffle(values)
    expected = values[np.abs(values - np.median(values)) > 3 * np.std(values, ddof=1)]
    assert find_outliers(values) == expected.tolist()
    assert len(expected) >= 3


def test_no_outliers_when_sd_is_zero_or_n_below_two():
    assert find_outliers(np.array([5.0, 5.0, 5.0])) == []
    assert find_outliers(np.array([5.0])) == []
    assert find_outliers(np.array([])) == []


def test_sample_std_is_none_below_two_values():
    assert sample_std(np.array([1.0])) is None
    assert sample_std(np.array([1.0, 3.0])) == pytest.approx(math.sqrt(2.0))


@pytest.mark.parametrize("bad", [[1.0, float("nan")], [float("inf")], [[1.0, 2.0]], ["x"]])
def test_as_sample_rejects_non_finite_or_non_flat_input(bad):
    with pytest.raises(InvalidSampleError):
        as_sample(bad, name="g")


@pytest.mark.parametrize(
    "values",
    [[1e308, 1.5e308, 1e308], [-1e308, 1e308, 2.0], [1.7e308, 1.7e308, -1.7e308, 5.0]],
)
def test_values_near_the_float_limit_do_not_overflow(values):
    # Independent route: the statistics module computes mean and stdev with exact fractions.
    import statistics

    sample = np.array(values)
    assert sample_mean(sample) == statistics.mean(values)
    exact_std = statistics.stdev(values)
    std = sample_std(sample)
    if math.isfinite(exact_std):
        assert std == pytest.approx(exact_std, rel=1e-14)
    else:  # a true sd above 1.8e308 cannot be represented: None, and describe says why
        assert std is None
        assert "largest representable" in describe(sample).std_reason
    assert find_outliers(sample) == []
