"""Bootstrap CI of the mean, checked against scipy.stats.bootstrap called directly."""

import numpy as np
import pytest
from scipy import stats

from baes.analysis.bootstrap_ci import bootstrap_mean_ci


def scipy_ci(values, method, seed, n_resamples=2000, confidence=0.95):
    result = stats.bootstrap(
        (np.asarray(values, dtype=float),),
        np.mean,
        n_resamples=n_resamples,
        confidence_level=confidence,
        method=method,
        rng=np.random.default_rng(seed),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


SKEWED = np.random.default_rng(5).lognormal(0.0, 1.0, 60)


def test_bca_interval_equals_scipy_bootstrap_with_the_same_seed():
    ci = bootstrap_mean_ci(SKEWED, method="bca", n_resamples=2000, seed=42)
    assert ci.method == "bca" and ci.reason is None
    assert (ci.low, ci.high) == pytest.approx(scipy_ci(SKEWED, "BCa", 42), rel=1e-12)


def test_percentile_interval_equals_scipy_bootstrap_and_differs_from_bca():
    ci = bootstrap_mean_ci(SKEWED, method="percentile", n_resamples=2000, seed=42)
    bca = bootstrap_mean_ci(SKEWED, method="bca", n_resamples=2000, seed=42)
    assert ci.method == "percentile"
    assert (ci.low, ci.high) == pytest.approx(scipy_ci(SKEWED, "percentile", 42), rel=1e-12)
    assert (ci.low, ci.high) != (bca.low, bca.high)


def test_confidence_level_is_passed_through():
    ci90 = bootstrap_mean_ci(SKEWED, confidence=0.90, n_resamples=2000, seed=1)
    ci99 = bootstrap_mean_ci(SKEWED, confidence=0.99, n_resamples=2000, seed=1)
    assert (ci90.low, ci90.high) == pytest.approx(scipy_ci(SKEWED, "BCa", 1, confidence=0.90))
    assert ci99.high - ci99.low > ci90.high - ci90.low


def test_memory_batching_does_not_change_the_interval():
    # n = 2500 forces several resampling batches internally; scipy unbatched must agree exactly.
    values = np.random.default_rng(8).gamma(2.0, 3.0, 2500)
    ci = bootstrap_mean_ci(values, n_resamples=1000, seed=9)
    assert (ci.low, ci.high) == scipy_ci(values, "BCa", 9, n_resamples=1000)


def test_same_seed_gives_identical_interval_and_other_seed_differs():
    first = bootstrap_mean_ci(SKEWED, n_resamples=500, seed=7)
    again = bootstrap_mean_ci(SKEWED, n_resamples=500, seed=7)
    other = bootstrap_mean_ci(SKEWED, n_resamples=500, seed=8)
    assert first == again
    assert (first.low, first.high) != (other.low, other.high)


def test_constant_group_gets_a_point_interval_without_resampling():
    ci = bootstrap_mean_ci(np.full(12, 3.25), method="bca")
    assert (ci.low, ci.high, ci.method, ci.reason) == (3.25, 3.25, "constant", None)


@pytest.mark.parametrize("values", [[], [4.0]])
def test_fewer_than_two_values_give_no_interval_with_a_reason(values):
    ci = bootstrap_mean_ci(np.array(values))
    assert ci.low is None and ci.high is None and ci.method is None
    assert "at least 2 values" in ci.reason


def test_two_values_give_a_finite_interval():
    ci = bootstrap_mean_ci(np.array([1.0, 2.0]), n_resamples=999, seed=0)
    assert ci.low is not None and 1.0 <= ci.low <= ci.high <= 2.0


# scipy's own standard-error estimate warns with a single resample (in the direct reference call).
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_undefined_bca_falls_back_to_percentile_and_says_so():
    # One resample: the observed mean is never inside the bootstrap distribution, so BCa's bias
    # correction is infinite and scipy returns NaN.
    values = np.array([1.0, 2.0, 3.0, 4.0, 10.0])
    ci = bootstrap_mean_ci(values, method="bca", n_resamples=1, seed=0)
    assert ci.method == "percentile"
    assert "percentile" in ci.reason and "BCa" in ci.reason
    assert (ci.low, ci.high) == scipy_ci(values, "percentile", 0, n_resamples=1)


@pytest.mark.parametrize(
    "kwargs", [{"method": "basic"}, {"confidence": 1.0}, {"confidence": 0.0}, {"n_resamples": 0}]
)
def test_invalid_parameters_are_rejected(kwargs):
    with pytest.raises(ValueError):
        bootstrap_mean_ci(SKEWED, **kwargs)
