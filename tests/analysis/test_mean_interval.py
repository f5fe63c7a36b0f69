"""The reported interval of a mean: method by n and metric kind, independent routes, coverage."""

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from baes.analysis.mean_interval import (
    SMALL_SAMPLE_LIMIT,
    is_bounded_fraction,
    mean_interval,
    wilson_interval,
)


def interval(values, **kwargs):
    return mean_interval(np.asarray(values, dtype=float), **{"bounded_fraction": False, **kwargs})


@pytest.mark.parametrize(
    ("n", "method"),
    [
        (2, "t"),
        (4, "t"),
        (5, "bootstrap-t"),
        (SMALL_SAMPLE_LIMIT, "bootstrap-t"),
        (100, "bootstrap-t"),
    ],
)
def test_method_follows_the_sample_size(n, method):
    values = np.random.default_rng(n).lognormal(0.0, 0.5, n)
    result = interval(values, n_resamples=999)
    assert result.method == method and result.low < values.mean() < result.high


def test_bca_replaces_an_unbounded_bootstrap_t_from_the_limit():
    # 12.6 % of resamples of 28 zeros, a 1 and a 3 are all zeros: a t* quantile is infinite.
    values = np.array([0.0] * (SMALL_SAMPLE_LIMIT - 2) + [1.0, 3.0])
    result = interval(values, n_resamples=999, lower_bound=0.0)  # the default, bootstrap-t
    expected = stats.bootstrap(
        (values,), np.mean, n_resamples=999, method="BCa", rng=np.random.default_rng(0)
    ).confidence_interval
    assert result.method == "bootstrap-bca" and "bootstrap-t interval is unbounded" in (
        result.reason
    )
    assert (result.low, result.high) == (pytest.approx(expected.low), pytest.approx(expected.high))


def test_t_interval_matches_scipy():
    values = [3.0, 4.5, 9.0]
    result = interval(values)
    low, high = stats.t.interval(0.95, 2, loc=np.mean(values), scale=stats.sem(values))
    assert (result.low, result.high) == (
        pytest.approx(low, rel=1e-12),
        pytest.approx(high, rel=1e-12),
    )


def test_one_value_and_no_values_have_no_interval_with_a_reason():
    for values in ([], [4.0]):
        result = interval(values)
        assert (result.low, result.high, result.method) == (None, None, None) and result.reason


def test_constant_group_is_a_point_named_constant():
    result = interval([7.0] * 6)
    assert (result.low, result.high, result.method) == (7.0, 7.0, "constant")


@pytest.mark.parametrize("n", [1, 2, 5, 20])
def test_all_pass_fraction_never_collapses_and_matches_statsmodels_wilson(n):
    result = interval([1.0] * n, bounded_fraction=True)
    low, high = proportion_confint(n, n, alpha=0.05, method="wilson")
    assert result.method == "wilson"
    assert (result.low, result.high) == (pytest.approx(low, rel=1e-12), pytest.approx(high))
    assert result.low < 1.0 and result.high == 1.0
    nothing = interval([0.0] * n, bounded_fraction=True)
    assert nothing.low == 0.0 and nothing.high > 0.0


def test_five_of_five_is_not_the_point_one():
    result = interval([1.0] * 5, bounded_fraction=True)
    assert result.low == pytest.approx(0.5655, abs=1e-4)


def test_fractional_pass_rates_use_the_binomial_variance_bound():
    values = [0.75, 1.0, 1.0, 0.5, 1.0]
    result = interval(values, bounded_fraction=True)
    assert result.method == "wilson-bound"
    assert (result.low, result.high) == wilson_interval(np.mean(values), 5, 0.95)
    # Hand formula: Wilson with p̂ = 0.85, n = 5.
    z, p, n = 1.959963984540054, 0.85, 5
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    spread = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert (result.low, result.high) == (
        pytest.approx(centre - spread),
        pytest.approx(centre + spread),
    )


def test_a_fraction_outside_zero_one_has_no_interval():
    result = interval([0.5, 1.5], bounded_fraction=True)
    assert result.low is None and "[0, 1]" in result.reason


def test_the_catalog_decides_which_metrics_are_fractions():
    assert is_bounded_fraction("CHECK_PASS_RATE")
    assert not is_bounded_fraction("TOK_IN") and not is_bounded_fraction("accuracy")
    assert not is_bounded_fraction(None)


@pytest.mark.parametrize("n", [5, 10])
@pytest.mark.parametrize(
    ("draw", "truth"),
    [
        (lambda rng, size: rng.normal(10.0, 2.0, size), 10.0),
        (lambda rng, size: rng.lognormal(0.0, 0.5, size), float(np.exp(0.125))),
    ],
    ids=["normal", "lognormal"],
)
def test_small_sample_coverage_is_near_nominal(n, draw, truth):
    # The full table per n and method: benchmarks/ci_coverage.py. BCa covers 0.82–0.90 here.
    rng = np.random.default_rng(n)
    samples = draw(rng, (1000, n))
    hits = 0
    for seed, sample in enumerate(samples):
        result = mean_interval(sample, bounded_fraction=False, n_resamples=499, seed=seed)
        hits += result.low <= truth <= result.high
    assert hits / 1000 >= 0.92


@pytest.mark.parametrize("n", [5, 10, 20])
def test_pass_rate_coverage_averaged_over_the_rate_is_near_nominal(n):
    # Exact coverage of Wilson for n runs of 0/1, averaged over p (its oscillation in p is known).
    rates = np.linspace(0.05, 0.95, 91)
    covered = []
    for p in rates:
        total = 0.0
        for passes in range(n + 1):
            result = interval([1.0] * passes + [0.0] * (n - passes), bounded_fraction=True)
            if result.low <= p <= result.high:
                total += stats.binom.pmf(passes, n, p)
        covered.append(total)
    assert np.mean(covered) >= 0.93 and min(covered) >= 0.8


def test_all_pass_runs_reach_the_default_absolute_limit_at_35_runs():
    # Documented in docs/analysis.md and docs/configuration.md: half-width z²/(2(n + z²)).
    from baes.analysis.convergence import ci_convergence

    def converged(n):
        result = interval([1.0] * n, bounded_fraction=True)
        verdict = ci_convergence(
            n,
            1.0,
            result.low,
            result.high,
            bounded_fraction=True,
            max_half_width_pct=10.0,
            max_half_width_abs=0.05,
        )
        return verdict.converged

    assert not converged(34) and converged(35)


def test_mostly_one_value_falls_back_to_t_and_says_why():
    # 9 % of resamples of (0, 0, 3, 0, 1, 0) are all zeros: a t* quantile is infinite.
    values = [0.0, 0.0, 3.0, 0.0, 1.0, 0.0]
    result = interval(values, n_resamples=999)
    low, high = stats.t.interval(0.95, 5, loc=np.mean(values), scale=stats.sem(values))
    assert result.method == "t" and "unbounded" in result.reason
    assert (result.low, result.high) == (pytest.approx(low), pytest.approx(high))


@pytest.mark.parametrize(
    ("n", "draw", "truth"),
    [
        (30, lambda rng, size: rng.gamma(0.5, 1.0, size), 0.5),
        (50, lambda rng, size: rng.exponential(1.0, size), 1.0),
    ],
    ids=["gamma(0.5), n=30", "exponential, n=50"],
)
def test_skewed_coverage_from_30_runs_is_at_least_93_percent(n, draw, truth):
    # The truth is the simulated distribution's known mean. Measured at 2000 samples (Monte Carlo
    # SE 0.005): BCa covers 0.92 and 0.93 here, bootstrap-t 0.95 (benchmarks/ci_coverage.py).
    rng = np.random.default_rng(n)
    samples = draw(rng, (2000, n))
    hits = 0
    for seed, sample in enumerate(samples):
        result = mean_interval(
            sample, bounded_fraction=False, lower_bound=0.0, n_resamples=499, seed=seed
        )
        hits += result.low <= truth <= result.high
    assert hits / 2000 >= 0.935


def _studentized_bootstrap(sample, resamples, seed):
    # By hand: t* = (mean* − mean)/se* over the same seeded draws, ⌈q·B⌉-th order statistics.
    n, mean = sample.size, sample.mean()
    se = sample.std(ddof=1) / np.sqrt(n)
    draws = sample[np.random.default_rng(seed).integers(0, n, size=(resamples, n))]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (draws.mean(axis=1) - mean) / (draws.std(axis=1, ddof=1) / np.sqrt(n))
    ordered = np.sort(t)
    low_t = ordered[int(np.ceil(0.025 * resamples)) - 1]
    high_t = ordered[int(np.ceil(0.975 * resamples)) - 1]
    return mean - high_t * se, mean - low_t * se


def test_bootstrap_t_is_clipped_not_replaced_where_the_t_interval_also_reaches_below_zero():
    # Skewed costs near 0: Student's t reaches below 0 as well ([−0.17, 0.87]), so bootstrap-t
    # doing so is the skew, not erratic resamples; replacing it by t lost coverage (gamma(0.5),
    # n = 5: 0.86 against 0.89).
    values = np.array([0.01, 0.92, 0.01, 0.67, 0.15])
    low, high = _studentized_bootstrap(values, 999, seed=0)
    assert low < 0.0 < high
    result = interval(values, lower_bound=0.0, n_resamples=999)
    assert result.method == "bootstrap-t" and "clipped at 0" in result.reason
    assert (result.low, result.high) == (0.0, pytest.approx(high, rel=1e-9))


def test_clustered_counts_keep_the_t_interval_where_bootstrap_t_alone_reaches_below_zero():
    values = [83.0, 86.0, 114.0, 117.0, 118.0]
    low, high = stats.t.interval(0.95, 4, loc=np.mean(values), scale=stats.sem(values))
    result = interval(values, lower_bound=0.0, n_resamples=999)
    assert result.method == "t" and (result.low, result.high) == (
        pytest.approx(low),
        pytest.approx(high),
    )


def test_five_runs_of_skewed_costs_near_zero_cover_more_than_before():
    # Gamma(shape 0.5), mean 0.5 (skewness 2.8), 5 runs, 2000 samples (Monte Carlo SE 0.007):
    # 0.86 when t replaced every bootstrap-t reaching below 0, 0.89 with it clipped.
    samples = np.random.default_rng(105).gamma(0.5, 1.0, (2000, 5))
    hits = 0
    for seed, sample in enumerate(samples):
        result = mean_interval(
            sample, bounded_fraction=False, lower_bound=0.0, n_resamples=499, seed=seed
        )
        hits += result.low <= 0.5 <= result.high
    assert hits / 2000 >= 0.875


def test_a_design_that_chose_bca_or_percentile_gets_it_from_30_values_on():
    # Designs made before bootstrap-t was the default pre-registered `ci_method: bca`: a
    # well-behaved group of 30 gets scipy's BCa (or percentile) interval as they asked, while the
    # default gets bootstrap-t.
    from scipy import stats as scipy_stats

    from baes.analysis.mean_interval import mean_interval

    sample = np.random.default_rng(7).lognormal(0.0, 0.5, 30)
    default = mean_interval(sample, bounded_fraction=False, n_resamples=2000, seed=3)
    assert default.method == "bootstrap-t"
    for chosen, scipy_name in (("bca", "BCa"), ("percentile", "percentile")):
        interval = mean_interval(
            sample, bounded_fraction=False, bootstrap_method=chosen, n_resamples=2000, seed=3
        )
        expected = scipy_stats.bootstrap(
            (sample,),
            np.mean,
            confidence_level=0.95,
            n_resamples=2000,
            method=scipy_name,
            rng=np.random.default_rng(3),
        ).confidence_interval
        assert interval.method == f"bootstrap-{chosen}"
        assert (interval.low, interval.high) == pytest.approx((expected.low, expected.high))
