"""The stopping-rule test on a group's CI half-width."""

import pytest

from baes.analysis.convergence import ci_convergence


def test_half_width_is_a_percentage_of_the_absolute_mean():
    # (12 − 8)/2 = 2 → 2/|−20| · 100 = 10 %.
    result = ci_convergence(-20.0, 8.0, 12.0, max_half_width_pct=10.0)
    assert result.half_width_pct == pytest.approx(10.0)
    assert result.converged is True


def test_wider_than_the_limit_has_not_converged():
    result = ci_convergence(10.0, 8.0, 12.0, max_half_width_pct=10.0)
    assert result.half_width_pct == pytest.approx(20.0)
    assert result.converged is False and result.reason is None


@pytest.mark.parametrize("value", [0.0, 4.5])
def test_constant_group_has_zero_half_width_and_has_converged(value):
    result = ci_convergence(value, value, value, max_half_width_pct=5.0)
    assert (result.half_width_pct, result.converged) == (0.0, True)


def test_zero_mean_with_a_nonzero_width_has_not_converged_and_says_why():
    result = ci_convergence(0.0, -1.0, 1.0, max_half_width_pct=5.0)
    assert result.half_width_pct is None and result.converged is False
    assert "mean is 0" in result.reason


def test_no_interval_has_not_converged_and_says_why():
    result = ci_convergence(3.0, None, None, max_half_width_pct=5.0)
    assert result.converged is False and "no confidence interval" in result.reason
