"""The README.md written into every experiment folder: what it is and the exact commands to use it."""

from __future__ import annotations

import shlex

from baes.config.models import ExperimentConfig
from baes.store.paths import DEFAULT_ROOT, ExperimentPaths


def experiment_readme(
    config: ExperimentConfig, config_hash: str, paths: ExperimentPaths, created_at: str
) -> str:
    """Markdown: the design summary, its hash and the commands to run and analyse it."""
    # Paths relative to the root's parent, never absolute: a study moved or shared (rsync, an
    # archive) keeps a README whose commands work where it now lives.
    root_name = paths.root.resolve().name
    root_flag = "" if root_name == DEFAULT_ROOT.name else f" --root {shlex.quote(root_name)}"
    name = config.name
    frameworks = "\n".join(
        f"| `{fw}` | {spec.adapter} | {getattr(spec, 'mode', '') or 'command'} |"
        for fw, spec in config.frameworks.items()
    )
    steps = "\n".join(
        f"{i}. **{step.id}**{' (checked)' if step.check else ''}: {' '.join(step.prompt.split())}"
        for i, step in enumerate(config.scenario.steps, start=1)
    )
    price = config.pricing[config.model]
    budget = (
        f"${config.limits.max_cost_usd:g}" if config.limits.max_cost_usd is not None else "none"
    )
    provider = config.provider.kind + (
        f" ({config.provider.base_url})" if config.provider.base_url else ""
    )
    stopping = (
        f"stop a framework after {config.runs.min} runs once the {config.stopping_rule.confidence:.0%} CI "
        f"half-width of {', '.join(config.stopping_rule.metrics)} is within "
        f"{config.stopping_rule.max_half_width_pct:g} % of the mean"
        if config.stopping_rule.enabled
        else "disabled: every framework gets runs.max runs"
    )
    return f"""# Experiment `{name}`

{config.description or "_No description._"}

Created {created_at} by `baes new`. The design is frozen: `config.yaml` hashes to

    {config_hash}

(stored in `.meta/config.hash`). `baes run` and `baes analyze` refuse the experiment if the
design is edited; to change it, create a new experiment with `baes new NEW_NAME --from {name}`.

## Design

- Model: `{config.model}` on provider {provider}; price ${price.input:g} / ${price.output:g} per 1M
  input / output tokens
- Scenario: `{config.scenario.name}`, {len(config.scenario.steps)} steps
- Runs per framework: {config.runs.min} to {config.runs.max}; stopping rule: {stopping}
- Limits: step timeout {config.limits.step_timeout_s:g} s, run timeout {config.limits.run_timeout_s:g} s,
  budget {budget}
- Seed: {config.seed}; analysis: α = {config.analysis.alpha:g}, p-adjustment {config.analysis.p_adjust},
  {config.analysis.bootstrap_samples} bootstrap resamples ({config.analysis.ci_method})

| framework | adapter | mode |
|---|---|---|
{frameworks}

### Scenario steps

{steps}

## Commands

From the folder that holds the experiments root `{root_name}/` (from anywhere else, give
`--root` the path of `{root_name}/`):

```sh
baes show {name}{root_flag}        # the design, whether it still matches its hash, the runs
baes run {name}{root_flag}         # execute the runs (resumable)
baes analyze {name}{root_flag}     # statistics, report and figures into analysis/
```

## Layout

- `config.yaml`: the frozen design; `.meta/`: its hash and creation facts
- `runs/<framework>/<run_id>/run.json`: one record per run (the source of truth)
- `analysis/`: `report.md`, `stats.json`, `figures/`
"""
