"""What `baes show` reports about one experiment, as plain data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from baes.experiment.describe import experiment_status
from baes.experiment.load import ConfigChangedError, inspect_experiment
from baes.store.manifest import Manifest
from baes.store.run_folders import scan_run_folders


def experiment_summary(root: Path, name: str) -> dict[str, Any]:
    """The design summary, the hash check, run counts per framework and status, and the paths."""
    experiment = inspect_experiment(root, name)
    manifest = Manifest(experiment.paths).read()
    counts = manifest.counts()
    config = experiment.config
    problem = None
    if not experiment.config_ok:
        try:
            experiment.require_unchanged()
        except ConfigChangedError as exc:
            problem = exc.message
        except Exception as exc:  # noqa: BLE001 - any unreadable config is reported, not raised
            problem = getattr(exc, "message", str(exc))
    frameworks = list(config.frameworks) if config else sorted(counts)
    paths = experiment.paths
    return {
        "name": name,
        "description": config.description if config else None,
        "status": experiment_status(experiment, manifest.runs),
        "config_ok": experiment.config_ok,
        "config_hash": experiment.stored_hash,
        "current_hash": experiment.current_hash,
        "config_problem": problem,
        "created_at": experiment.created_at,
        "design": None
        if config is None
        else {
            "model": config.model,
            "provider": config.provider.kind,
            "base_url": config.provider.base_url,
            "frameworks": list(config.frameworks),
            "scenario": config.scenario.name,
            "steps": len(config.scenario.steps),
            "runs_min": config.runs.min,
            "runs_max": config.runs.max,
            "runs_target": config.runs_target,
            "stopping_rule": config.stopping_rule.enabled,
            "max_cost_usd": config.limits.max_cost_usd,
            "seed": config.seed,
        },
        "runs": {fw: dict(counts.get(fw, {})) for fw in frameworks},
        "runs_completed": manifest.completed(),
        # The run folders are read too: a damaged record or a leftover is named here even when
        # the manifest (a cache) still counts it, so `baes show` is where a user finds them.
        "problems": list(
            dict.fromkeys(manifest.problems + scan_run_folders(experiment.paths.runs_dir).problems)
        ),
        "paths": {
            "folder": str(paths.dir.resolve()),
            "config": str(paths.config.resolve()),
            "runs": str(paths.runs_dir.resolve()),
            "analysis": str(paths.analysis_dir.resolve()),
        },
    }
