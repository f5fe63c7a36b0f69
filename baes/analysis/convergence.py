"""The stopping-rule test for one group: is the interval of the mean narrow enough?

Two rules, chosen by the metric: a bounded fraction (catalog unit "fraction") converges when the
interval's absolute half-width is at most `max_half_width_abs` (a relative width means little
near 0 or 1); any other metric when the half-width is at most `max_half_width_pct` % of |mean|.
Neither converges on fewer than MIN_VALUES_TO_CONVERGE values, a fraction whose runs all pass
(or all fail) not on fewer than MIN_UNIFORM_FRACTION_RUNS whatever the confidence, and a relative
rule whose interval reaches 0 says it cannot decide instead of dividing by a mean that may be 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# With fewer values the sd behind the interval is itself too uncertain for a narrow interval to
# mean precision (from 4 values the 95 % interval of σ spans 0.57–3.7 times the sample sd), and
# two equal values would otherwise "converge" at once.
MIN_VALUES_TO_CONVERGE = 5
# Runs that all pass (or all fail) show no spread at all. At 95 % confidence and the widest limit
# allowed (0.2), Wilson's interval first converges at 6 such runs (5/5: half-width 0.217); a lower
# confidence narrows it (90 %: 5/5 gives 0.176), so the count is fixed here, not left to it.
MIN_UNIFORM_FRACTION_RUNS = 6


@dataclass(frozen=True)
class Convergence:
    """The half-width used (relative in % or absolute; None when undefined) and the verdict."""

    converged: bool
    half_width_pct: float | None = None
    half_width_abs: float | None = None
    relative: bool = True
    reason: str | None = None

    def to_json(self) -> dict[str, object]:
        """The stats.json `stopping.<group>` entry: exactly one of the two half-widths."""
        key = "half_width_pct" if self.relative else "half_width_abs"
        entry: dict[str, object] = {
            key: self.half_width_pct if self.relative else self.half_width_abs,
            "converged": self.converged,
        }
        if self.reason is not None:
            entry["reason"] = self.reason
        return entry

    def shown(self) -> str:
        """The half-width as a short text for progress lines ("±4.2 %", "±0.031", "undefined")."""
        if self.relative:
            return "undefined" if self.half_width_pct is None else f"±{self.half_width_pct:.1f} %"
        return "undefined" if self.half_width_abs is None else f"±{self.half_width_abs:.3f}"


def ci_convergence(
    n: int,
    mean: float | None,
    ci_low: float | None,
    ci_high: float | None,
    *,
    bounded_fraction: bool,
    max_half_width_pct: float,
    max_half_width_abs: float,
) -> Convergence:
    """The stopping verdict for one group of `n` values with this interval of the mean."""
    relative = not bounded_fraction
    if mean is None or ci_low is None or ci_high is None:
        return Convergence(False, relative=relative, reason="no confidence interval of the mean")
    half_width = (ci_high - ci_low) / 2.0
    if not math.isfinite(half_width):
        return Convergence(False, relative=relative, reason="the interval is not finite")
    if bounded_fraction:
        verdict = Convergence(half_width <= max_half_width_abs, None, half_width, relative=False)
    elif half_width == 0.0:
        # A constant group: more runs cannot narrow it, whatever its mean (even 0).
        verdict = Convergence(True, 0.0)
    elif ci_low <= 0.0 <= ci_high:
        return Convergence(
            False,
            reason=f"the interval [{ci_low:.4g}, {ci_high:.4g}] includes 0, so its half-width "
            "relative to the mean is undefined; more runs are needed before the rule can decide",
        )
    else:
        pct = half_width / abs(mean) * 100.0
        if not math.isfinite(pct):
            return Convergence(
                False, reason="the mean is too close to 0 for a relative CI half-width"
            )
        verdict = Convergence(pct <= max_half_width_pct, pct)
    if (
        verdict.converged
        and bounded_fraction
        and mean in (0.0, 1.0)
        and n < MIN_UNIFORM_FRACTION_RUNS
    ):
        return Convergence(
            False,
            None,
            verdict.half_width_abs,
            relative=False,
            reason=f"{n} runs that all {'pass' if mean == 1.0 else 'fail'} cannot settle a rate; "
            f"the stopping rule needs at least {MIN_UNIFORM_FRACTION_RUNS} of them",
        )
    if verdict.converged and n < MIN_VALUES_TO_CONVERGE:
        return Convergence(
            False,
            verdict.half_width_pct,
            verdict.half_width_abs,
            relative=relative,
            reason=f"the stopping rule needs at least {MIN_VALUES_TO_CONVERGE} values, got {n}",
        )
    return verdict
