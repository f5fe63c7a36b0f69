"""The stopping-rule test for one group: is the CI of the mean narrow enough, relative to it?"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Convergence:
    """CI half-width as % of |mean| (None when undefined) and whether it meets the limit."""

    half_width_pct: float | None
    converged: bool
    reason: str | None = None


def ci_convergence(
    mean: float | None,
    ci_low: float | None,
    ci_high: float | None,
    *,
    max_half_width_pct: float,
) -> Convergence:
    """Converged when (ci_high − ci_low)/2 / |mean| · 100 ≤ max_half_width_pct."""
    if mean is None or ci_low is None or ci_high is None:
        return Convergence(None, False, reason="no confidence interval of the mean")
    half_width = (ci_high - ci_low) / 2.0
    if half_width == 0.0:
        # A constant group: more runs cannot narrow it, whatever its mean (even 0).
        return Convergence(0.0, True)
    if mean == 0.0:
        return Convergence(
            None, False, reason="the mean is 0, so a relative CI half-width is undefined"
        )
    pct = half_width / abs(mean) * 100.0
    if not math.isfinite(pct):
        return Convergence(
            None, False, reason="the mean is too close to 0 for a relative CI half-width"
        )
    return Convergence(pct, pct <= max_half_width_pct)
