"""An experiment's registry entry and summary, derived from its folder (the source of truth)."""

from __future__ import annotations

from baes.clock import utc_now
from baes.experiment.load import Experiment, inspect_experiment
from baes.records.manifest import RunSummary
from baes.store.atomic import is_locked
from baes.store.manifest import Manifest
from baes.store.paths import ExperimentPaths
from baes.store.registry import RegistryEntry
from baes.store.run_progress import read_run_progress


def experiment_status(experiment: Experiment, runs: dict[str, RunSummary]) -> str:
    """created | running | interrupted | incomplete | stopped | completed; config-changed or broken
    when the design is off.

    `completed`: every framework reached runs.max or converged by the stopping rule;
    `stopped`: the last `baes run` gave a framework up or ran out of budget;
    `interrupted`: a run is still marked running but no `baes run` holds the experiment.
    """
    config = experiment.config
    if config is None or experiment.hash_error is not None:
        return "broken"
    if not experiment.config_ok:
        return "config-changed"
    if not runs:
        return "created"
    if any(run.status == "running" for run in runs.values()):
        return "running" if is_locked(experiment.paths.run_lock) else "interrupted"
    completed = sum(1 for run in runs.values() if run.status == "completed")
    if completed >= config.runs_target:
        return "completed"
    progress = read_run_progress(experiment.paths.run_progress)
    if progress is not None:
        frameworks = progress.frameworks
        if progress.budget_exhausted or any(f.gave_up for f in frameworks.values()):
            return "stopped"
        done = [frameworks.get(name) for name in config.frameworks]
        if all(f is not None and f.stopped and f.completed >= config.runs.min for f in done):
            return "completed"
    return "incomplete"


def describe(paths: ExperimentPaths) -> RegistryEntry:
    """The registry entry of one experiment folder."""
    experiment = inspect_experiment(paths.root, paths.name)
    manifest = Manifest(paths).read()
    runs = manifest.runs
    config = experiment.config
    return RegistryEntry(
        name=paths.name,
        path=paths.name,
        status=experiment_status(experiment, runs),
        model=config.model if config else None,
        frameworks=list(config.frameworks) if config else [],
        runs_completed=manifest.completed(),
        runs_verified=sum(
            1
            for run in runs.values()
            if run.status == "completed" and run.verification == "verified"
        ),
        runs_target=config.runs_target if config else None,
        created_at=experiment.created_at,
        updated_at=utc_now(),
        config_hash=experiment.stored_hash,
        problem=experiment.config_error or experiment.hash_error,
    )
