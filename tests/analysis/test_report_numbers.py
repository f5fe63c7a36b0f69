"""How report.md writes effect sizes near 0 (checked against hand-written expectations)."""

import numpy as np

from baes.analysis.effect_size import cliffs_delta, cliffs_delta_interval
from baes.analysis.report.formatting import format_delta, format_interval


def test_a_delta_bound_just_below_zero_is_not_written_as_minus_zero():
    # 3 vs 3, complete separation: Newcombe's interval ends at −0.0020, just short of 0.
    delta = cliffs_delta(np.array([2.0, 2.0, 2.0]), np.array([4.0, 4.0, 4.0]))
    interval = cliffs_delta_interval(delta)
    assert -0.003 < interval.high < -0.001
    assert format_interval([interval.low, interval.high]) == "[−1.00, −0.002]"
    assert format_delta(interval.high, minus="-") == "-0.002"


def test_ordinary_deltas_keep_two_decimals_and_zero_stays_zero():
    assert format_delta(0.0) == "0.00"
    assert format_delta(-0.625) == "−0.62"  # round half to even, as Python formats it
    assert format_delta(0.005) == "0.01" and format_delta(-1.0) == "−1.00"
