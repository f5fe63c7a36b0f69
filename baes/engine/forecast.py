"""`baes run --dry-run`: the runs still to do per framework and what they will likely cost."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from baes.config.models import ExperimentConfig
from baes.config.pricing import cost_usd
from baes.engine.coordinator import experiment_progress, run_cost_usd, select_frameworks
from baes.experiment.load import load_experiment

# Without completed runs the only basis is the scenario's size. These assumptions are printed
# with the estimate: a coding answer of about this many tokens per call, and a workspace that is
# sent back with each later step, growing by about one answer per step.
ASSUMED_OUTPUT_TOKENS_PER_CALL = 700
ASSUMED_SYSTEM_TOKENS = 300


@dataclass(frozen=True)
class FrameworkPlan:
    """Runs done and to do for one framework, and the forecast cost of the rest (USD)."""

    framework: str
    completed: int
    failed: int
    remaining_min: int
    remaining_max: int
    stopped: str | None
    cost_per_run: float | None
    cost_low: float | None
    cost_high: float | None
    basis: str


def _calls_per_step(design: ExperimentConfig, framework: str) -> float:
    spec = design.frameworks[framework]
    if spec.adapter != "builtin":
        return 1.0  # unknown for an external tool: one call per step is a floor, said in `basis`
    return {"single": 1.0, "plan": 2.0, "repair": 1.0 + spec.repair_rounds / 2}[spec.mode]


def _scenario_cost(design: ExperimentConfig, framework: str) -> float:
    from baes.llm.simulator import count_tokens

    price = design.pricing[design.model]
    calls = _calls_per_step(design, framework)
    total = 0.0
    for index, step in enumerate(design.scenario.steps):
        input_tokens = (
            ASSUMED_SYSTEM_TOKENS
            + count_tokens(step.prompt)
            + index * ASSUMED_OUTPUT_TOKENS_PER_CALL
        )
        total += calls * cost_usd(price, input_tokens, 0, ASSUMED_OUTPUT_TOKENS_PER_CALL)
    return total


def plan_remaining(
    root: Path, name: str, frameworks: list[str] | None = None
) -> list[FrameworkPlan]:
    """Per framework: what is done, how many runs remain (min..max), and their forecast cost."""
    from baes.analysis.bootstrap_ci import bootstrap_mean_ci
    from baes.analysis.samples import as_sample

    experiment, design = load_experiment(root, name)
    selected = select_frameworks(design, frameworks)
    progress = experiment_progress(experiment.paths, design, selected)
    plans = []
    for framework, state in progress.items():
        done = len(state.completed)
        if not state.decision.needs_more:
            remaining_min = remaining_max = 0
        else:
            remaining_min = (
                max(0, design.runs.min - done)
                if design.stopping_rule.enabled
                else design.runs.max - done
            )
            remaining_max = max(0, design.runs.max - done)
        costs = [
            run_cost_usd(experiment.paths.run_dir(framework, r["run_id"]), design)
            for r in state.completed
        ]
        if costs:
            sample = as_sample(costs, name=f"{framework} cost")
            per_run = float(sample.mean())
            if len(costs) >= 2:
                ci = bootstrap_mean_ci(
                    sample, method="percentile", confidence=0.95, n_resamples=2000, seed=design.seed
                )
                low, high = ci.low, ci.high
            else:
                low = high = per_run
            basis = f"mean of {len(costs)} completed run(s), 95 % bootstrap interval"
        else:
            per_run = low = high = _scenario_cost(design, framework)
            basis = (
                f"rough estimate from the scenario's size (no completed runs yet): "
                f"~{ASSUMED_OUTPUT_TOKENS_PER_CALL} output tokens per call, "
                f"{_calls_per_step(design, framework):g} call(s) per step"
            )
        plans.append(
            FrameworkPlan(
                framework=framework,
                completed=done,
                failed=state.failed,
                remaining_min=remaining_min,
                remaining_max=remaining_max,
                stopped=state.decision.reason if remaining_max == 0 else None,
                cost_per_run=per_run,
                cost_low=None if low is None else low * remaining_min,
                cost_high=None if high is None else high * remaining_max,
                basis=basis,
            )
        )
    return plans
