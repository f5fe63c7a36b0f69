"""What `baes show` reports about one experiment, as plain data."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from baes.experiment.describe import experiment_status
from baes.experiment.load import ConfigChangedError, inspect_experiment
from baes.records.manifest import RunSummary
from baes.records.statuses import RUN_STATUSES
from baes.store.errors import InvalidNameError, RunRecordError
from baes.store.manifest import Manifest
from baes.store.paths import RUN_RECORD_FILE, ExperimentPaths
from baes.store.run_folders import load_run_record, scan_run_folders


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
        # Every status for every framework, zeros included: a script reads `runs.X.failed`
        # without guarding against a missing key, and a 0 is a count, not an absence.
        "runs": {
            fw: {status: counts.get(fw, Counter())[status] for status in RUN_STATUSES}
            for fw in frameworks
        },
        "runs_completed": manifest.completed(),
        "checks": check_counts(paths, manifest.runs, frameworks),
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


def check_counts(
    paths: ExperimentPaths, runs: Mapping[str, RunSummary], frameworks: list[str]
) -> dict[str, dict[str, Any]]:
    """Per framework, its runs' checks by status (passed, failed, error) and the errors' reasons.

    An `error` is a check the harness could not run: no verdict on the framework. Records that
    cannot be read are skipped here (`baes analyze` reports them).
    """
    result: dict[str, dict[str, Any]] = {
        fw: {"passed": 0, "failed": 0, "error": 0, "error_reasons": {}} for fw in frameworks
    }
    for run_id, summary in runs.items():
        counts = result.get(summary.framework)
        if counts is None:
            continue
        try:
            record = load_run_record(paths.run_dir(summary.framework, run_id) / RUN_RECORD_FILE)
        except (RunRecordError, InvalidNameError):
            continue
        for step in record.steps:
            if step.check is None:
                continue
            counts[step.check.status] += 1
            if step.check.status == "error":
                reason = step.check.error_reason or "no reason recorded"
                counts["error_reasons"][reason] = counts["error_reasons"].get(reason, 0) + 1
    return result
