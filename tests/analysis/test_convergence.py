"""The stopping-rule verdict for one group: relative and absolute half-widths, and refusals."""

import pytest
from statsmodels.stats.proportion import proportion_confint

from baes.analysis.convergence import MIN_VALUES_TO_CONVERGE, ci_convergence

RULE = {"max_half_width_pct": 10.0, "max_half_width_abs": 0.05}


def relative(n, mean, low, high, **rule):
    return ci_convergence(n, mean, low, high, bounded_fraction=False, **{**RULE, **rule})


def absolute(n, mean, low, high, **rule):
    return ci_convergence(n, mean, low, high, bounded_fraction=True, **{**RULE, **rule})


def test_half_width_is_a_percentage_of_the_absolute_mean():
    result = relative(8, -20.0, -22.0, -18.0)
    assert result.half_width_pct == pytest.approx(10.0)
    assert result.converged is True
    assert result.to_json() == {"half_width_pct": pytest.approx(10.0), "converged": True}


def test_wider_than_the_limit_has_not_converged():
    result = relative(8, 10.0, 8.0, 12.0)
    assert result.half_width_pct == pytest.approx(20.0) and result.converged is False


@pytest.mark.parametrize("value", [0.0, 4.5])
def test_constant_group_with_enough_values_has_converged(value):
    result = relative(MIN_VALUES_TO_CONVERGE, value, value, value)
    assert (result.half_width_pct, result.converged) == (0.0, True)


@pytest.mark.parametrize("n", [2, 3, 4])
def test_never_converges_on_fewer_than_five_values_even_when_narrow(n):
    # Two equal runs give a zero-width interval; the rule still refuses and says why.
    result = relative(n, 7.0, 7.0, 7.0)
    assert result.converged is False and "at least 5 values" in result.reason
    narrow = relative(n, 100.0, 99.9, 100.1)
    assert narrow.converged is False and narrow.half_width_pct == pytest.approx(0.1)


def test_interval_reaching_zero_cannot_decide_and_says_why_instead_of_dividing():
    for mean, low, high in [(0.0, -1.0, 1.0), (1e-300, -1.0, 1.0), (0.2, 0.0, 0.4)]:
        result = relative(10, mean, low, high)
        assert result.converged is False and result.half_width_pct is None
        assert "includes 0" in result.reason
        assert result.to_json()["half_width_pct"] is None


def test_no_interval_has_not_converged_and_says_why():
    result = relative(1, 3.0, None, None)
    assert result.converged is False and result.reason == "no confidence interval of the mean"


def test_fractions_use_the_absolute_half_width():
    result = absolute(400, 0.9, 0.87, 0.93)
    assert result.half_width_abs == pytest.approx(0.03) and result.converged is True
    assert set(result.to_json()) == {"half_width_abs", "converged"}
    assert absolute(400, 0.9, 0.87, 0.93, max_half_width_abs=0.02).converged is False


@pytest.mark.parametrize("n", [5, 20, 30])
def test_all_pass_runs_do_not_converge_on_their_wilson_interval(n):
    # Independent route: statsmodels' Wilson interval for n passes out of n.
    low, high = proportion_confint(n, n, alpha=0.05, method="wilson")
    result = absolute(n, 1.0, low, high)
    assert result.converged is False
    assert result.half_width_abs == pytest.approx((high - low) / 2)


def test_many_all_pass_runs_do_converge():
    low, high = proportion_confint(40, 40, alpha=0.05, method="wilson")  # half-width 0.044
    assert absolute(40, 1.0, low, high).converged is True
