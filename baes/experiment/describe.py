"""An experiment's registry entry and summary, derived from its folder (the source of truth)."""

from __future__ import annotations

from typing import Any

from baes.experiment.load import Experiment, inspect_experiment
from baes.store.manifest import Manifest
from baes.store.paths import ExperimentPaths
from baes.store.registry import RegistryEntry, utc_now


def experiment_status(experiment: Experiment, runs: dict[str, dict[str, Any]]) -> str:
    """created | running | incomplete | completed, or config-changed / broken when the design is off."""
    if experiment.config is None:
        return "broken"
    if not experiment.config_ok:
        return "config-changed"
    if not runs:
        return "created"
    if any(run["status"] == "running" for run in runs.values()):
        return "running"
    completed = sum(1 for run in runs.values() if run["status"] == "completed")
    return "completed" if completed >= experiment.config.runs_target else "incomplete"


def describe(paths: ExperimentPaths) -> RegistryEntry:
    """The registry entry of one experiment folder."""
    experiment = inspect_experiment(paths.root, paths.name)
    runs = Manifest(paths).read().runs
    config = experiment.config
    return RegistryEntry(
        name=paths.name,
        path=paths.name,
        status=experiment_status(experiment, runs),
        model=config.model if config else None,
        frameworks=list(config.frameworks) if config else [],
        runs_completed=sum(1 for run in runs.values() if run["status"] == "completed"),
        runs_verified=sum(
            1
            for run in runs.values()
            if run["status"] == "completed" and run.get("verification") == "verified"
        ),
        runs_target=config.runs_target if config else None,
        created_at=experiment.created_at,
        updated_at=utc_now(),
        config_hash=experiment.stored_hash,
        problem=experiment.config_error,
    )
