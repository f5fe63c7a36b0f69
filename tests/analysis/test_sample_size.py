"""Sample-size planning: the simulated procedure against the real analysis, scipy and hand values;
the labelled formula value against statsmodels' TTestIndPower."""

import itertools
import math
import warnings

import numpy as np
import pytest
import scikit_posthocs
from scipy import stats
from statsmodels.stats.power import TTestIndPower

from baes.analysis.sample_size import (
    CANDIDATE_N,
    MAX_N_PER_GROUP,
    SIMULATION_REPS,
    Procedure,
    RankedDraws,
    _PowerSearch,
    cohens_d,
    formula_n_per_group,
    plan_sample_sizes,
    smallest_reachable_n,
    t_test_n_per_group,
    t_test_power,
)
from baes.analysis.stats import analyze_metric

BASE = np.array([0.0, 1.0, 2.0, 3.0, 4.0])  # sd (ddof 1) = sqrt(2.5)


def all_pairs(k):
    return tuple(itertools.combinations(range(k), 2))


def statsmodels_n(d, alpha, power=0.8):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return TTestIndPower().solve_power(
            effect_size=d, alpha=alpha, power=power, ratio=1, alternative="two-sided"
        )


def test_exact_two_sided_mann_whitney_needs_four_per_group():
    # By hand: complete separation is the most extreme outcome; its exact two-sided p is
    # 2/C(2n, n): 0.1 at n = 3, 0.0286 at n = 4.
    assert smallest_reachable_n(Procedure(2, ((0, 1),), 0.05, "holm")) == 4
    assert 2 / math.comb(6, 3) > 0.05 > 2 / math.comb(8, 4)
    # At α = 0.01: 2/C(10, 5) = 0.0079 at n = 5 (2/C(8, 4) = 0.029 is not enough).
    assert smallest_reachable_n(Procedure(2, ((0, 1),), 0.01, "holm")) == 5


@pytest.mark.parametrize(
    ("k", "adjust"), [(3, "holm"), (3, "none"), (4, "bonferroni"), (5, "sidak")]
)
def test_smallest_reachable_n_for_kruskal_dunn_matches_scipy_and_scikit_posthocs(k, adjust):
    n = smallest_reachable_n(Procedure(k, all_pairs(k), 0.05, adjust))

    def reaches(size):
        # The pair (0, 1) at the two ends of the ranking, every group distinct or constant.
        best = False
        for constant in (False, True):
            order = [0, *range(2, k), 1]
            groups = [None] * k
            for rank, g in enumerate(order):
                groups[g] = (
                    [float(rank)] * size if constant else [rank * size + i for i in range(size)]
                )
            kruskal = stats.kruskal(*groups).pvalue
            dunn = scikit_posthocs.posthoc_dunn(
                groups, p_adjust=None if adjust == "none" else adjust
            )
            best |= bool(kruskal <= 0.05 and dunn.iloc[0, 1] <= 0.05)
        return best

    assert reaches(n) and not reaches(n - 1)


def draws_of(groups):
    data = np.concatenate(groups)[None, :]
    return RankedDraws.from_values(data, len(groups), len(groups[0]), with_pools=True)


@pytest.mark.parametrize(
    ("k", "n", "adjust"),
    [
        (2, 3, "holm"),
        (2, 7, "none"),
        (2, 25, "holm"),
        (3, 3, "holm"),
        (3, 6, "sidak"),
        (4, 9, "none"),
    ],
)
def test_simulated_procedure_decides_exactly_like_the_analysis(k, n, adjust):
    rng = np.random.default_rng(k * 1000 + n)
    procedure = Procedure(k, all_pairs(k), 0.05, adjust)
    for _ in range(4):
        groups = [np.round(rng.normal(g * 0.8, 1.0, n), 0) for g in range(k)]
        block = analyze_metric(
            {f"g{g}": groups[g] for g in range(k)}, p_adjust=adjust, bootstrap_samples=100
        )
        expected = [p["significant"] for p in block["pairwise"]]
        draws = RankedDraws.from_values(
            np.concatenate(groups)[None, :], k, n, procedure.needs_pools(n)
        )
        assert procedure.significant(draws)[0].tolist() == expected


def test_rank_summaries_match_scipy_rankdata_row_by_row():
    rng = np.random.default_rng(4)
    values = rng.integers(0, 6, size=(50, 21)).astype(float)  # 3 groups of 7, many ties
    draws = RankedDraws.from_values(values, 3, 7, with_pools=True)
    for row, sums, ties, pool in zip(
        values, draws.rank_sums, draws.tie_sum, draws.pools, strict=True
    ):
        ranks = stats.rankdata(row)
        assert sums.tolist() == [2 * ranks[g * 7 : (g + 1) * 7].sum() for g in range(3)]
        _, sizes = np.unique(row, return_counts=True)
        assert ties == (sizes**3 - sizes).sum()
        assert pool.tolist() == sorted((2 * ranks).astype(int).tolist())


def test_counting_and_sorting_give_the_same_rank_summaries():
    rng = np.random.default_rng(9)
    draws = rng.integers(0, 8, size=(40, 3, 6))  # positions among 8 distinct values
    counts = [
        np.stack([(draws[:, g] == v).sum(axis=1) for v in range(8)], axis=1) for g in range(3)
    ]
    by_counts = RankedDraws.from_counts(counts, [np.arange(8)] * 3, 8, with_pools=True)
    by_sorting = RankedDraws.from_values(draws.reshape(40, 18), 3, 6, with_pools=True)
    assert np.array_equal(by_counts.rank_sums, by_sorting.rank_sums)
    assert np.array_equal(by_counts.tie_sum, by_sorting.tie_sum)
    for a, b in zip(by_counts.pools, by_sorting.pools, strict=True):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("n", [5, 30])
def test_simulated_power_agrees_with_an_independent_scipy_simulation(n):
    rng = np.random.default_rng(12)
    a, b = rng.normal(0.0, 1.0, 12), rng.normal(1.2, 1.0, 12)
    search = _PowerSearch(Procedure(2, ((0, 1),), 0.05, "holm"), [a, b], seed=0, reps=1000)
    independent = np.random.default_rng(99)
    reps = 300
    x, y = a[independent.integers(0, 12, (reps, n))], b[independent.integers(0, 12, (reps, n))]
    if n == 5:  # exact: scipy counts all 252 arrangements of each draw
        exact = stats.PermutationMethod(n_resamples=np.inf)
        p = np.array([stats.mannwhitneyu(x[i], y[i], method=exact).pvalue for i in range(reps)])
    else:
        p = stats.mannwhitneyu(x, y, axis=1, method="asymptotic").pvalue
    # Monte Carlo error of the two estimates together: sd ≤ 0.032.
    assert search.power(n, 0) == pytest.approx(np.mean(p <= 0.05), abs=0.1)


def test_planned_n_is_the_smallest_candidate_shown_to_reach_eighty_percent():
    rng = np.random.default_rng(3)
    a, b = rng.normal(0.0, 1.0, 10), rng.normal(1.0, 1.0, 10)
    [plan] = plan_sample_sizes([a, b], [(0, 1)], alpha=0.05, p_adjust="holm", seed=5)
    search = _PowerSearch(
        Procedure(2, ((0, 1),), 0.05, "holm"), [a, b], seed=5, reps=SIMULATION_REPS
    )
    assert plan.n_per_group is not None and 4 <= plan.n_per_group < 40
    assert search.reaches(plan.n_per_group, 0)
    below = CANDIDATE_N[CANDIDATE_N.index(plan.n_per_group) - 1]
    assert not search.reaches(below, 0)
    assert plan.reason is None
    again = plan_sample_sizes([a, b], [(0, 1)], alpha=0.05, p_adjust="holm", seed=5)
    assert again == [plan]


def scipy_mann_whitney_power(a, b, n, draws=6000):
    """Power at n per group by resampling a and b and running scipy's asymptotic Mann–Whitney
    (the analysis's method above 20 per group): an independent route to what the plan claims."""
    rng = np.random.default_rng(2024)
    x = a[rng.integers(0, a.size, (draws, n))]
    y = b[rng.integers(0, b.size, (draws, n))]
    p = stats.mannwhitneyu(x, y, axis=1, alternative="two-sided", method="asymptotic").pvalue
    return float(np.mean(p <= 0.05)), math.sqrt(0.8 * 0.2 / draws)


# Two normal groups of 60 (their quantiles, so the shift is exact) and the plan's seed. Taking the
# smallest candidate whose 500-draw estimate crossed 80 % reported n = 53, 35 and 25 here, where
# scipy finds power 0.778, 0.768 and 0.776 (6000 draws, 2·SE = 0.010): the promise did not hold.
@pytest.mark.parametrize(("shift", "seed"), [(0.55, 0), (0.675, 1), (0.8, 1)])
def test_power_at_the_planned_n_is_eighty_percent_by_an_independent_simulation(shift, seed):
    a = stats.norm.ppf((np.arange(60) + 0.5) / 60)
    b = a + shift
    [plan] = plan_sample_sizes([a, b], [(0, 1)], alpha=0.05, p_adjust="holm", seed=seed)
    assert plan.n_per_group is not None and plan.n_per_group > 20  # asymptotic, like scipy here
    power, standard_error = scipy_mann_whitney_power(a, b, plan.n_per_group)
    assert power >= 0.8 - 2 * standard_error
    # Not needlessly large: the candidate passed over has less than 83 % power (the rule accepts
    # one with 83 % 79 % of the time, with 84 % 95 %; here 0.815, 0.809 and 0.776).
    below = CANDIDATE_N[CANDIDATE_N.index(plan.n_per_group) - 1]
    power_below, _ = scipy_mann_whitney_power(a, b, below)
    assert power_below < 0.83


def test_never_below_the_smallest_n_the_test_can_reach():
    # A huge effect: the formula says 2, the exact test cannot reach α below 4 per group.
    a, b = np.array([0.0, 0.1, 0.2]), np.array([50.0, 50.1, 50.2])
    [plan] = plan_sample_sizes([a, b], [(0, 1)], alpha=0.05, p_adjust="holm")
    assert plan.n_per_group == 4
    assert plan.n_formula == 4  # 2 from the formula, raised to what the test can reach
    holm3 = plan_sample_sizes(
        [a, b + 100, b + 200], list(all_pairs(3)), alpha=0.05, p_adjust="holm"
    )
    # Dunn on 3 fully separated groups of n (N = 3n): adjacent groups' mean ranks differ by n,
    # z = n/√((3n + 1)/2). Holm's second step doubles p: n = 7 gives 2·0.035 > α, n = 8 gives
    # 2·0.024 = 0.048. The outer pair (twice as far apart) reaches α at 3.
    assert [p.n_per_group for p in holm3] == [8, 3, 8]


def test_near_equal_means_are_not_practically_detectable():
    # The case: the formula said 1,703,311,790 runs per group.
    rng = np.random.default_rng(1)
    a = rng.normal(100.0, 5.0, 10)
    b = a[::-1] + 1e-6
    [plan] = plan_sample_sizes([a, b], [(0, 1)], alpha=0.05, p_adjust="holm")
    assert plan.n_per_group is None
    assert plan.reason.startswith("not practically detectable")
    assert f"{MAX_N_PER_GROUP} per group" in plan.reason
    assert plan.n_formula is None


def test_a_cap_estimate_above_eighty_percent_but_not_shown_says_so():
    # Shifted 0.18 sd: at 500 per group 81.6 % of 1000 draws are significant, short of the 82.1 %
    # the rule needs; the reason must not read as if the power there were below 80 %.
    a = stats.norm.ppf((np.arange(60) + 0.5) / 60)
    [plan] = plan_sample_sizes([a, a + 0.18], [(0, 1)], alpha=0.05, p_adjust="holm")
    assert plan.n_per_group is None
    assert plan.reason == (
        "not practically detectable: simulated power at 500 per group is 82%, not shown above 80%"
    )


def test_identical_constant_groups_and_tiny_groups_give_a_reason():
    [same] = plan_sample_sizes(
        [np.array([3.0, 3.0, 3.0]), np.array([3.0, 3.0])], [(0, 1)], alpha=0.05, p_adjust="holm"
    )
    assert same.n_per_group is None and "same single value" in same.reason
    [tiny] = plan_sample_sizes(
        [np.array([1.0]), np.array([2.0, 3.0])], [(0, 1)], alpha=0.05, p_adjust="holm"
    )
    assert tiny.n_per_group is None and "at least 2 values" in tiny.reason


@pytest.mark.parametrize("alpha", [0.05, 0.01])
@pytest.mark.parametrize("d", [0.2, 0.5, 0.8, 1.2, 2.0, 3.0])
def test_real_valued_n_matches_statsmodels(d, alpha):
    assert t_test_n_per_group(d, alpha, 0.8) == pytest.approx(statsmodels_n(d, alpha), rel=1e-6)


@pytest.mark.parametrize("d", [0.3, 0.5, 0.8, 1.5])
def test_formula_n_is_statsmodels_n_over_are_rounded_up(d):
    a, b = BASE, BASE + d * math.sqrt(2.5)
    assert cohens_d(a, b) == pytest.approx(-d, rel=1e-12)
    assert formula_n_per_group(a, b) == math.ceil(statsmodels_n(d, 0.05) / 0.864)


def test_power_function_matches_statsmodels():
    for n in (3.0, 7.5, 40.0):
        expected = TTestIndPower().power(effect_size=0.7, nobs1=n, alpha=0.05, ratio=1)
        assert t_test_power(n, 0.7, 0.05) == pytest.approx(expected, rel=1e-9)


def test_cohens_d_uses_the_pooled_sd_with_unequal_sizes():
    a, b = np.array([2.0, 4.0, 9.0]), np.array([1.0, 1.5, 2.0, 0.5, 3.0, 2.5])
    pooled = math.sqrt((2 * np.var(a, ddof=1) + 5 * np.var(b, ddof=1)) / 7)
    assert cohens_d(a, b) == pytest.approx((a.mean() - b.mean()) / pooled, rel=1e-12)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ([3.0, 3.0, 3.0], [3.0, 3.0]),  # both constant and equal
        ([0.1, 0.2, 0.7], [0.7, 0.1, 0.2]),  # same values, other order: d must be exactly 0
        ([1.0, 1.0], [2.0, 2.0]),  # infinite d: no formula value
    ],
)
def test_formula_gives_no_value_where_d_is_zero_or_infinite(a, b):
    assert formula_n_per_group(np.array(a), np.array(b)) is None


def test_tiny_effect_gives_a_large_finite_real_valued_n():
    n = t_test_n_per_group(1e-4, 0.05, 0.8)
    assert n == pytest.approx(statsmodels_n(1e-4, 0.05), rel=1e-9)
