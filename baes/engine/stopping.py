"""The stopping rule (docs/running.md, "How many runs"): how many more runs a framework needs.

Each framework first reaches `runs.min` completed runs. After that, with the rule enabled, it
stops once every stopping metric's bootstrap CI half-width is within `max_half_width_pct` % of
the mean, and in any case at `runs.max`.
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

    from baes.analysis.bootstrap_ci import bootstrap_mean_ci
    from baes.analysis.convergence import ci_convergence
    from baes.analysis.descriptives import sample_mean
    from baes.analysis.samples import as_sample

    open_metrics = []
    for key, values in metric_values(completed, design, rule.metrics).items():
        if len(values) < 2:
            open_metrics.append(f"{key} (only {len(values)} measured)")
            continue
        sample = as_sample(values, name=key)
        ci = bootstrap_mean_ci(
            sample,
            method=design.analysis.ci_method,
            confidence=rule.confidence,
            n_resamples=design.analysis.bootstrap_samples,
            seed=design.seed,
        )
        # The report's mean (math.fsum), so both agree on convergence at the threshold.
        convergence = ci_convergence(
            sample_mean(sample), ci.low, ci.high, max_half_width_pct=rule.max_half_width_pct
        )
        if not convergence.converged:
            shown = (
                "undefined"
                if convergence.half_width_pct is None
                else f"{convergence.half_width_pct:.1f} %"
            )
            open_metrics.append(f"{key} ±{shown}")
    if open_metrics:
        return StoppingDecision(True, "not converged: " + ", ".join(open_metrics))
    return StoppingDecision(
        False, f"converged after {n} runs (all within ±{rule.max_half_width_pct:g} %)"
    )
