"""The stopping rule's guarantees hold for every allowed design, not only the default confidence."""

import numpy as np
import pytest

from baes.analysis.convergence import ci_convergence
from baes.analysis.mean_interval import mean_interval


def verdict(values, confidence, limit=0.2):
    sample = np.asarray(values, dtype=float)
    ci = mean_interval(sample, bounded_fraction=True, confidence=confidence)
    return ci_convergence(
        sample.size,
        float(sample.mean()),
        ci.low,
        ci.high,
        bounded_fraction=True,
        max_half_width_pct=10.0,
        max_half_width_abs=limit,
    )


@pytest.mark.parametrize("confidence", [0.95, 0.9, 0.8, 0.5])
@pytest.mark.parametrize("outcome", [1.0, 0.0])
def test_five_runs_that_all_pass_or_all_fail_never_converge(confidence, outcome):
    # Hand-derived: Wilson's half-width at p̂ = 1 is z²/(2(n + z²)); at 90 % and n = 5 that is
    # 0.176, inside the widest allowed limit 0.2, so the interval alone would stop here.
    result = verdict([outcome] * 5, confidence)
    assert not result.converged
    if confidence < 0.95:  # narrow enough by the interval: the run count decides
        assert "at least 6" in result.reason


def test_six_all_pass_runs_converge_at_the_widest_limit():
    assert verdict([1.0] * 6, 0.95).converged  # [0.61, 1]: half-width 0.195 (documented)


def test_mixed_runs_follow_the_interval_alone():
    assert verdict([1.0, 1.0, 1.0, 1.0, 0.5], 0.5).converged
