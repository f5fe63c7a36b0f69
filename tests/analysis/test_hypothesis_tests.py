"""Omnibus tests and Dunn's test, checked against scipy, scikit-posthocs and a hand computation."""

import itertools
import math

import numpy as np
import pytest
import scikit_posthocs
from scipy import stats

from baes.analysis.hypothesis_tests import (
    doubled_ranks,
    dunn_test,
    exact_is_feasible,
    exact_rank_sum_p,
    mann_whitney,
    omnibus_test,
)
from baes.analysis.p_adjust import adjust_p_values


def arrays(*groups):
    return [np.asarray(g, dtype=float) for g in groups]


# Five groups with many ties (integer scores), unequal sizes.
_rng = np.random.default_rng(2024)
FIVE_TIED = [
    np.round(_rng.normal(loc, 2.0, size)).astype(float)
    for loc, size in [(10, 12), (11, 15), (10, 9), (13, 20), (12, 7)]
]


def test_kruskal_with_ties_matches_scipy():
    result = omnibus_test(FIVE_TIED)
    expected = stats.kruskal(*FIVE_TIED)
    assert result.test == "kruskal" and result.skipped is None
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert result.p == pytest.approx(expected.pvalue, rel=1e-12)


def permutation_p(a, b):
    """Independent route: scipy enumerates every arrangement (n_resamples=inf), ties included."""
    return stats.mannwhitneyu(
        a, b, alternative="two-sided", method=stats.PermutationMethod(n_resamples=np.inf)
    ).pvalue


def test_two_constant_groups_of_three_get_the_exact_p_not_the_asymptotic_one():
    # The case: the asymptotic p is 0.047 ("significant"); 3 vs 3 cannot go below 0.1.
    a, b = arrays([2, 2, 2], [4, 4, 4])
    result = omnibus_test([a, b])
    assert (result.test, result.method, result.statistic) == ("mannwhitney", "exact", 0.0)
    assert result.p == pytest.approx(0.1, abs=1e-15)
    assert result.p == pytest.approx(permutation_p(a, b), rel=1e-12)
    assert stats.mannwhitneyu(a, b).pvalue < 0.05  # what was reported before


@pytest.mark.parametrize(
    ("size_a", "size_b", "levels"),
    [(1, 5, 4), (2, 2, 3), (3, 3, 2), (3, 7, 4), (5, 5, 3), (4, 9, 20), (6, 6, 1000), (2, 12, 2)],
)
def test_exact_mann_whitney_matches_full_permutation_with_ties(size_a, size_b, levels):
    rng = np.random.default_rng(size_a * 100 + size_b + levels)
    for _ in range(3):
        a = rng.integers(0, levels, size_a).astype(float)
        b = rng.integers(0, levels, size_b).astype(float) + 0.5 * rng.integers(0, 2)
        if np.all(np.concatenate([a, b]) == a[0]):
            continue
        u, p, method = mann_whitney(a, b)
        assert method == "exact"
        assert u == stats.mannwhitneyu(a, b).statistic
        if min(size_a, size_b) >= 2:
            assert p == pytest.approx(permutation_p(a, b), rel=1e-9)
        else:  # scipy's permutation test needs 2 values per group; count by hand
            ranks = stats.rankdata(np.concatenate([a, b]))
            arrangements = ranks - 1.0  # U of a one-value group placed on each item in turn
            low = np.mean(arrangements <= u + 1e-9)
            high = np.mean(arrangements >= u - 1e-9)
            assert p == pytest.approx(min(1.0, 2 * min(low, high)), rel=1e-12)


def test_exact_mann_whitney_without_ties_matches_scipy_exact():
    rng = np.random.default_rng(5)
    a, b = rng.normal(0, 1, 15), rng.normal(1, 1, 20)
    _, p, method = mann_whitney(a, b)
    assert method == "exact"
    assert p == pytest.approx(stats.mannwhitneyu(a, b, method="exact").pvalue, rel=1e-10)


def test_large_samples_use_the_asymptotic_p_and_it_is_close_to_exact_at_the_threshold():
    assert not exact_is_feasible(21, 21) and exact_is_feasible(20, 21)
    rng = np.random.default_rng(6)
    near_alpha = 0
    for _ in range(40):
        a, b = np.round(rng.normal(10, 2, 21)), np.round(rng.normal(11.2, 2, 21))
        u, p, method = mann_whitney(a, b)
        assert method == "asymptotic"
        assert p == stats.mannwhitneyu(a, b, method="asymptotic").pvalue
        exact = exact_rank_sum_p(doubled_ranks(np.concatenate([a, b])), 21)
        if 0.005 <= exact <= 0.2:
            # Justifies the threshold: just above it, the normal approximation (ties,
            # continuity correction) is within a few thousandths of the exact p near α.
            assert abs(p - exact) < 0.004
            near_alpha += 1
    assert near_alpha >= 10


def test_small_group_against_a_large_one_stays_exact():
    rng = np.random.default_rng(8)
    a, b = rng.normal(0, 1, 3), rng.normal(1, 1, 150)
    _, p, method = mann_whitney(a, b)
    assert method == "exact"
    assert p == pytest.approx(stats.mannwhitneyu(a, b, method="exact").pvalue, rel=1e-9)


def test_kruskal_records_its_asymptotic_method():
    assert omnibus_test(FIVE_TIED).method == "asymptotic"
    assert omnibus_test(arrays([1, 1], [1, 1])).method is None


def test_three_values_per_group_are_enough():
    groups = arrays([1, 2, 3], [4, 5, 6], [7, 8, 9])
    result = omnibus_test(groups)
    assert result.p == pytest.approx(stats.kruskal(*groups).pvalue)


@pytest.mark.parametrize("k", [2, 3])
def test_all_identical_values_skip_the_omnibus_with_a_reason(k):
    result = omnibus_test(arrays(*([[4, 4, 4]] * k)))
    assert result.statistic is None and result.p is None
    assert "identical" in result.skipped
    assert result.test == ("mannwhitney" if k == 2 else "kruskal")


def test_a_group_with_one_value_skips_the_omnibus_and_names_the_group():
    result = omnibus_test(arrays([1, 2, 3], [4], [5, 6]), names=["x", "tiny", "z"])
    assert result.p is None
    assert "'tiny' (n=1)" in result.skipped


@pytest.mark.parametrize("groups", [[], [[1.0, 2.0, 3.0]]])
def test_fewer_than_two_groups_skip_the_omnibus(groups):
    result = omnibus_test(arrays(*groups))
    assert result.test is None and result.p is None
    assert "at least 2 groups" in result.skipped


def test_constant_groups_that_differ_are_still_tested():
    groups = arrays([1, 1, 1], [2, 2, 2], [3, 3, 3])
    result = omnibus_test(groups)
    assert result.p == pytest.approx(stats.kruskal(*groups).pvalue)


def test_dunn_matches_a_hand_computation_with_ties():
    # Pooled 1,2,2,3,4,4 -> average ranks 1, 2.5, 2.5, 4, 5.5, 5.5 (N = 6).
    # Mean ranks: A = (1 + 2.5)/2 = 1.75, B = (2.5 + 4)/2 = 3.25, C = 5.5.
    # Ties: two pairs, Σ(t³ − t) = 6 + 6 = 12; variance term = 6·7/12 − 12/(12·5) = 3.5 − 0.2 = 3.3.
    # σ = sqrt(3.3 · (1/2 + 1/2)); z = Δ(mean rank)/σ; p = erfc(|z|/√2).
    result = dunn_test(arrays([1, 2], [2, 3], [4, 4]))
    sigma = math.sqrt(3.3)
    expected_z = {(0, 1): -1.5 / sigma, (0, 2): -3.75 / sigma, (1, 2): -2.25 / sigma}
    assert result.skipped is None
    for c in result.comparisons:
        assert c.z == pytest.approx(expected_z[(c.a, c.b)], rel=1e-12)
        assert c.p == pytest.approx(math.erfc(abs(c.z) / math.sqrt(2)), rel=1e-12)


def posthoc_p(groups, p_adjust):
    table = scikit_posthocs.posthoc_dunn([list(g) for g in groups], p_adjust=p_adjust)
    return [float(table.iloc[a, b]) for a, b in itertools.combinations(range(len(groups)), 2)]


@pytest.mark.parametrize("method", ["holm", "sidak", "bonferroni"])
def test_dunn_matches_scikit_posthocs_with_ties(method):
    result = dunn_test(FIVE_TIED)
    raw = [c.p for c in result.comparisons]
    assert [(c.a, c.b) for c in result.comparisons] == list(itertools.combinations(range(5), 2))
    assert raw == pytest.approx(posthoc_p(FIVE_TIED, None), rel=1e-10)
    assert adjust_p_values(raw, method) == pytest.approx(posthoc_p(FIVE_TIED, method), rel=1e-10)


def test_dunn_matches_scikit_posthocs_with_a_constant_group_and_n_three():
    groups = arrays([5, 5, 5], [1, 2, 3], [4, 6, 9], [5, 7, 7])
    raw = [c.p for c in dunn_test(groups).comparisons]
    assert raw == pytest.approx(posthoc_p(groups, None), rel=1e-10)


def test_dunn_z_is_positive_when_the_first_group_ranks_higher():
    result = dunn_test(arrays([7, 8, 9], [1, 2, 3], [4, 5, 6]))
    assert result.comparisons[0].z > 0


def test_dunn_on_identical_values_is_skipped_not_divided_by_zero():
    result = dunn_test(arrays([2, 2], [2, 2, 2], [2, 2]))
    assert result.comparisons == ()
    assert "identical" in result.skipped


def test_dunn_needs_three_groups():
    assert "3 or more groups" in dunn_test(arrays([1, 2], [3, 4])).skipped


def test_three_against_three_hundred_is_exact_and_the_bound_is_on_the_work():
    rng = np.random.default_rng(11)
    a, b = rng.normal(0, 1, 3), rng.normal(1, 1, 300)
    _, p, method = mann_whitney(a, b)
    assert method == "exact"
    assert p == pytest.approx(stats.mannwhitneyu(a, b, method="exact").pvalue, rel=1e-9)
    assert exact_is_feasible(20, 180) and exact_is_feasible(5, 1000)
    assert not exact_is_feasible(20, 500)
