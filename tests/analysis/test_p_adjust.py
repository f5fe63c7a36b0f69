"""p-value adjustment, checked against statsmodels' multipletests."""

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from baes.analysis.p_adjust import adjust_p_values

# Unsorted, with ties, a p of exactly 1 and a tiny p.
P_VALUES = [0.04, 0.001, 0.2, 0.04, 1.0, 3e-9, 0.012, 0.5, 0.0301, 0.75]


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # statsmodels, p = 1
@pytest.mark.parametrize("method", ["holm", "sidak", "bonferroni"])
def test_adjustment_matches_statsmodels(method):
    expected = multipletests(P_VALUES, method=method)[1]
    assert adjust_p_values(P_VALUES, method) == pytest.approx(list(expected), rel=1e-12, abs=0)


def test_none_returns_the_raw_p_values():
    assert adjust_p_values(P_VALUES, "none") == P_VALUES


def test_holm_by_hand_is_step_down_and_monotone():
    # Sorted 0.01, 0.03, 0.04 -> 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04;
    # monotone: 0.03, 0.06, max(0.06, 0.04) = 0.06; back in input order: 0.06, 0.03, 0.06.
    assert adjust_p_values([0.04, 0.01, 0.03], "holm") == pytest.approx([0.06, 0.03, 0.06])


def test_sidak_keeps_precision_for_tiny_p_values():
    # 1 − (1 − 1e-20)^3 is 0 in floating point; the exact value is 3e-20 to first order.
    assert adjust_p_values([1e-20, 0.5, 0.5], "sidak")[0] == pytest.approx(3e-20, rel=1e-12)


@pytest.mark.parametrize("method", ["holm", "sidak", "bonferroni"])
def test_adjusted_p_values_are_capped_at_one(method):
    adjusted = adjust_p_values([0.6, 0.7, 1.0, 0.9], method)
    assert max(adjusted) <= 1.0
    assert all(np.isfinite(adjusted))


def test_single_comparison_is_unchanged_by_every_method():
    for method in ("holm", "sidak", "bonferroni", "none"):
        assert adjust_p_values([0.0371], method) == pytest.approx([0.0371], rel=1e-15)


def test_empty_and_unknown_method():
    assert adjust_p_values([], "holm") == []
    with pytest.raises(ValueError, match="fdr_bh"):
        adjust_p_values([0.1], "fdr_bh")
