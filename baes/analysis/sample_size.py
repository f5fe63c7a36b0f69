"""Sample-size planning for a pair of groups: Cohen's d → n per group for a rank test.

n is solved for the two-sided, equal-n two-sample t-test with the noncentral t distribution,
then inflated by the Mann–Whitney asymptotic relative efficiency lower bound (0.864) because the
analysis uses rank tests, rounded up, and never below 2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats

from baes.analysis.descriptives import sample_mean, sample_std

MANN_WHITNEY_ARE_LOWER_BOUND = 0.864
MIN_N_PER_GROUP = 2
# Below n = 1.5 (df = 1) the noncentral t is numerically unreliable; a solution there rounds to 2.
_SMALLEST_SOLVED_N = 1.5


@dataclass(frozen=True)
class SampleSizePlan:
    """n per group (None when no n can reach the power, see `reason`) and the d it came from."""

    n_per_group: int | None
    cohens_d: float | None
    reason: str | None = None


def cohens_d(a: np.ndarray, b: np.ndarray) -> float | None:
    """(mean a − mean b) / pooled sd; inf or −inf for zero pooled sd, None when undefined."""
    if a.size < 2 or b.size < 2:
        return None
    difference = sample_mean(a) - sample_mean(b)
    sd_a, sd_b = sample_std(a), sample_std(b)
    assert sd_a is not None and sd_b is not None  # n ≥ 2 above
    pooled_var = ((a.size - 1) * sd_a**2 + (b.size - 1) * sd_b**2) / (a.size + b.size - 2)
    if pooled_var == 0.0:
        if difference == 0.0:
            return None
        return math.copysign(math.inf, difference)
    return difference / math.sqrt(pooled_var)


def t_test_power(n_per_group: float, d: float, alpha: float) -> float:
    """Power of the two-sided two-sample t-test with n per group (real-valued) at effect d."""
    df = 2.0 * n_per_group - 2.0
    noncentrality = abs(d) * math.sqrt(n_per_group / 2.0)
    critical = -float(special.stdtrit(df, alpha / 2.0))
    # scipy.special directly: the stats.nct wrappers cost ~30x more per call inside brentq.
    # P(T > c) for T ~ nct(df, nc) equals P(T' < −c) for T' ~ nct(df, −nc): both tails stay exact.
    upper = special.nctdtr(df, -noncentrality, -critical)
    lower = float(special.nctdtr(df, noncentrality, -critical))
    if not math.isfinite(lower):
        # Boost's series gives NaN only deep in the wrong-direction tail, which is bounded by
        # P(T < 0) = Φ(−nc); in every failure mapped over df ∈ [1, 1e14] that is below 3e-7, and
        # it never occurs near the root (nc ≈ 2.8 at 80 % power, α = 0.05).
        lower = 0.0
    return float(upper) + lower


def t_test_n_per_group(d: float, alpha: float, power: float) -> float:
    """Real-valued n per group giving `power` for finite d ≠ 0 (1.5 when df = 1 already does)."""
    if t_test_power(_SMALLEST_SOLVED_N, d, alpha) >= power:
        return _SMALLEST_SOLVED_N
    # The z-test solution is a lower bound for the t-test; start the bracket there.
    z_n = 2.0 * ((stats.norm.isf(alpha / 2.0) + stats.norm.ppf(power)) / abs(d)) ** 2
    low = max(_SMALLEST_SOLVED_N, z_n)
    if t_test_power(low, d, alpha) >= power:
        low = _SMALLEST_SOLVED_N
    high = max(low * 1.5, low + 10.0)
    while t_test_power(high, d, alpha) < power:
        low, high = high, high * 2.0

    def shortfall(n: float) -> float:
        return t_test_power(n, d, alpha) - power

    return float(optimize.brentq(shortfall, low, high, xtol=1e-9, rtol=1e-12))


def plan_sample_size(
    a: np.ndarray, b: np.ndarray, *, alpha: float = 0.05, power: float = 0.8
) -> SampleSizePlan:
    """n per group for `power` at `alpha` to detect the observed difference with a rank test."""
    if not 0.0 < alpha < 1.0 or not 0.0 < power < 1.0:
        raise ValueError(f"alpha and power must be in (0, 1), got alpha={alpha}, power={power}")
    if a.size < 2 or b.size < 2:
        return SampleSizePlan(
            None, None, reason=f"needs at least 2 values per group, got {a.size} and {b.size}"
        )
    d = cohens_d(a, b)
    if d is None or d == 0.0:
        return SampleSizePlan(
            None,
            d,
            reason="the group means are equal (Cohen's d = 0), "
            "so no sample size can detect a difference",
        )
    if math.isinf(d):
        return SampleSizePlan(
            MIN_N_PER_GROUP,
            None,
            reason="complete separation with zero variance (Cohen's d is infinite); "
            f"the minimum of {MIN_N_PER_GROUP} per group is reported",
        )
    n_t = t_test_n_per_group(d, alpha, power)
    n = max(MIN_N_PER_GROUP, math.ceil(n_t / MANN_WHITNEY_ARE_LOWER_BOUND))
    return SampleSizePlan(n, d)
