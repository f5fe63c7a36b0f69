"""Per-group descriptive statistics and the 3·sd outlier rule."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from baes.analysis.samples import is_constant

OUTLIER_SD_MULTIPLIER = 3.0


@dataclass(frozen=True)
class Descriptives:
    """Summary of one group; fields are None when undefined, with the reason alongside."""

    n: int
    mean: float | None
    median: float | None
    std: float | None
    q1: float | None
    q3: float | None
    min: float | None
    max: float | None
    std_reason: str | None = None
    reason: str | None = None


def sample_mean(sample: np.ndarray) -> float:
    """Exactly rounded mean (math.fsum), so the same multiset always gives the same mean."""
    # Order-independence matters: two groups holding the same values in another order must have
    # identical means, or Cohen's d would be a rounding error instead of exactly 0.
    try:
        return math.fsum(sample.tolist()) / sample.size
    except OverflowError:
        # Values near the float limit (1e308): their sum overflows, their mean does not. Scaling
        # by a power of two is exact, so the result is still the correctly rounded mean.
        scale = power_of_two_scale(sample)
        return math.fsum((sample / scale).tolist()) / sample.size * scale


def sample_std(sample: np.ndarray) -> float | None:
    """Sample standard deviation (ddof 1); exactly 0.0 for a constant sample; None when n < 2
    or when it exceeds the largest float (values near ±1.8e308)."""
    if sample.size < 2:
        return None
    if is_constant(sample):
        # np.std can return ~1e-17 for a constant sample because the mean is rounded.
        return 0.0
    scale = power_of_two_scale(sample)
    scaled = sample / scale
    mean = sample_mean(scaled)
    std = math.sqrt(math.fsum(((scaled - mean) ** 2).tolist()) / (sample.size - 1)) * scale
    return std if math.isfinite(std) else None


def power_of_two_scale(sample: np.ndarray) -> float:
    """2^e with |x| / 2^e < 2 for every x: dividing by it is exact and cannot overflow."""
    largest = float(np.max(np.abs(sample)))
    return math.ldexp(1.0, math.frexp(largest)[1] - 1) if largest > 0.0 else 1.0


def describe(sample: np.ndarray) -> Descriptives:
    """n, mean, median, std (ddof 1), q1/q3 (linear interpolation), min and max of one group."""
    n = int(sample.size)
    if n == 0:
        return Descriptives(
            n=0,
            mean=None,
            median=None,
            std=None,
            q1=None,
            q3=None,
            min=None,
            max=None,
            std_reason="the group has no values",
            reason="the group has no values",
        )
    q1, median, q3 = (float(v) for v in np.percentile(sample, [25, 50, 75], method="linear"))
    std = sample_std(sample)
    return Descriptives(
        n=n,
        mean=sample_mean(sample),
        median=median,
        std=std,
        q1=q1,
        q3=q3,
        min=float(sample.min()),
        max=float(sample.max()),
        std_reason=(
            None
            if std is not None
            else "std needs at least 2 values (ddof 1)"
            if n < 2
            else "std is larger than the largest representable number"
        ),
    )


def find_outliers(sample: np.ndarray) -> list[float]:
    """Values with |x − median| > 3·sd (ddof 1), in input order; none when sd is 0 or n < 2."""
    std = sample_std(sample)
    if std is None or std == 0.0:
        return []
    # In units of a power of two, so that x − median cannot overflow for values near 1e308.
    scale = power_of_two_scale(sample)
    scaled = sample / scale
    mask = np.abs(scaled - float(np.median(scaled))) > OUTLIER_SD_MULTIPLIER * (std / scale)
    return [float(v) for v in sample[mask]]
