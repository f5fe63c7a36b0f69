"""The stopping rule (docs/running.md, "How many runs"): how many more runs a framework needs.

Each framework first reaches `runs.min` completed runs. After that, with the rule enabled, it
stops once every stopping metric's interval of the mean (the one the report shows) is narrow
enough: a half-width within `max_half_width_pct` % of the mean, or, for bounded fractions such as
CHECK_PASS_RATE, within `max_half_width_abs` (baes/analysis/convergence.py; never on fewer than
5 values). It stops in any case at `runs.max`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from baes.config.models import ExperimentConfig


@dataclass(frozen=True)
class StoppingDecision:
    """Whether a framework needs another run, and why (for progress and the final summary)."""

    needs_more: bool
    reason: str


def metric_values(
    records: Sequence[Mapping[str, Any]], design: ExperimentConfig, keys: Sequence[str]
) -> dict[str, list[float]]:
    """The measured values of `keys` over completed run records (unmeasurable runs left out)."""
    from baes.analysis.metrics import MetricContext, measure_run

    context = MetricContext(prices=design.pricing)
    values: dict[str, list[float]] = {key: [] for key in keys}
    for record in records:
        measured = measure_run(record, context)
        for key in keys:
            value = measured[key].value
            if value is not None:
                values[key].append(value)
    return values


def decide(design: ExperimentConfig, completed: Sequence[Mapping[str, Any]]) -> StoppingDecision:
    """Apply the stopping rule to a framework's completed run records."""
    n = len(completed)
    runs = design.runs
    if n >= runs.max:
        return StoppingDecision(False, f"reached runs.max ({runs.max})")
    if n < runs.min:
        return StoppingDecision(True, f"{n} of runs.min {runs.min}")
    rule = design.stopping_rule
    if not rule.enabled:
        return StoppingDecision(True, f"stopping rule off: {n} of runs.max {runs.max}")

    from baes.analysis.convergence import ci_convergence
    from baes.analysis.descriptives import sample_mean
    from baes.analysis.mean_interval import (
        is_bounded_fraction,
        mean_interval,
        natural_lower_bound,
    )
    from baes.analysis.samples import as_sample

    open_metrics = []
    for key, values in metric_values(completed, design, rule.metrics).items():
        bounded = is_bounded_fraction(key)
        sample = as_sample(values, name=key)
        # The interval the report shows for this metric, so both agree on convergence.
        ci = mean_interval(
            sample,
            bounded_fraction=bounded,
            lower_bound=natural_lower_bound(key),
            bootstrap_method=design.analysis.ci_method,
            confidence=rule.confidence,
            n_resamples=design.analysis.bootstrap_samples,
            seed=design.seed,
        )
        convergence = ci_convergence(
            sample.size,
            sample_mean(sample) if sample.size else None,
            ci.low,
            ci.high,
            bounded_fraction=bounded,
            max_half_width_pct=rule.max_half_width_pct,
            max_half_width_abs=rule.max_half_width_abs,
        )
        if not convergence.converged:
            why = f": {convergence.reason}" if convergence.reason else ""
            open_metrics.append(f"{key} {convergence.shown()} ({len(values)} measured){why}")
    if open_metrics:
        return StoppingDecision(True, "not converged: " + "; ".join(open_metrics))
    limits = []
    if not all(is_bounded_fraction(key) for key in rule.metrics):
        limits.append(f"±{rule.max_half_width_pct:g} % of the mean")
    if any(is_bounded_fraction(key) for key in rule.metrics):
        limits.append(f"±{rule.max_half_width_abs:g} for fractions")
    return StoppingDecision(False, f"converged after {n} runs (all within {', '.join(limits)})")
