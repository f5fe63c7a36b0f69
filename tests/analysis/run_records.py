"""Synthesized experiments: real folders made by `create_experiment`, with run.json records
written exactly per docs/records.md (run.json) and indexed in the manifest.

Used by the analysis tests and by benchmarks/analysis_scale.py.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from baes.config.builder import DesignOverrides, build_design
from baes.config.canonical import design_hash
from baes.config.models import AnalysisConfig, ExperimentConfig
from baes.config.presets import framework_names
from baes.experiment.create import create_experiment
from baes.store.atomic import atomic_write_json
from baes.store.manifest import Manifest
from baes.store.paths import ExperimentPaths

FRAMEWORKS = ("reference", "reference-plan", "reference-repair")
START = datetime(2026, 6, 21, 10, 0, 0, tzinfo=UTC)


def make_design(
    name: str,
    *,
    frameworks: Sequence[str] = FRAMEWORKS,
    model: str = "sim-small",
    scenario: str = "hello",
    runs: int = 10,
    seed: int = 0,
    bootstrap_samples: int = 200,
    p_adjust: str = "holm",
) -> ExperimentConfig:
    """A valid design with a small bootstrap (fast tests; the plan allows ≥ 100).

    Framework names that are not presets become builtin reference agents under that name.
    """
    presets = set(framework_names())
    config = build_design(
        None,
        DesignOverrides(
            name=name,
            model=model,
            frameworks=[f for f in frameworks if f in presets] or ["reference"],
            scenario=scenario,
            runs=runs,
            seed=seed,
        ),
        "test",
    )
    document = config.model_dump()
    document["frameworks"] = {
        f: document["frameworks"][f] if f in presets else {"adapter": "builtin", "mode": "single"}
        for f in frameworks
    }
    document["analysis"] = AnalysisConfig(
        bootstrap_samples=bootstrap_samples, p_adjust=p_adjust
    ).model_dump()
    return ExperimentConfig.model_validate(document)


def make_experiment(
    root: Path, name: str, **design: Any
) -> tuple[ExperimentPaths, ExperimentConfig]:
    """Create the experiment folder (config.yaml, hash, manifest) as `baes new` would."""
    config = make_design(name, **design)
    return create_experiment(root, config), config


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _split(total: int | None, parts: int) -> list[int | None]:
    if total is None:
        return [None] * parts
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def run_record(
    config: ExperimentConfig,
    framework: str,
    index: int,
    *,
    input_tokens: int | None = 1000,
    output_tokens: int | None = 300,
    cached_tokens: int | None = 0,
    calls: int = 2,
    llm_seconds: float = 1.5,
    wall_seconds: float = 4.0,
    checks_passed: int | None = None,
    checks_total: int | None = None,
    status: str = "completed",
    error: dict[str, str] | None = None,
    verification: str | None = "unverified",
    model: str | None = None,
) -> dict[str, Any]:
    """One run.json (schema_version 1) whose steps sum exactly to its totals."""
    steps_config = config.scenario.steps
    n_steps = len(steps_config)
    if checks_total is None:
        checks_total = sum(1 for s in steps_config if s.check)
    if checks_passed is None:
        checks_passed = checks_total
    started = START + timedelta(minutes=index)
    ended = started + timedelta(seconds=wall_seconds)
    split_in, split_out = _split(input_tokens, n_steps), _split(output_tokens, n_steps)
    split_cached, split_calls = _split(cached_tokens, n_steps), _split(calls, n_steps)
    steps = []
    clock = started
    for i, step in enumerate(steps_config):
        duration = wall_seconds / n_steps
        check = None
        if step.check:
            passed = i < checks_passed
            check = {"passed": passed, "exit_code": 0 if passed else 1, "duration_s": 0.05}
        steps.append(
            {
                "index": i + 1,
                "id": step.id,
                "status": "ok" if status == "completed" else "failed",
                "started_at": _iso(clock),
                "ended_at": _iso(clock + timedelta(seconds=duration)),
                "duration_s": duration,
                "attempts": 1,
                "usage": {
                    "input_tokens": split_in[i],
                    "output_tokens": split_out[i],
                    "cached_tokens": split_cached[i],
                    "calls": split_calls[i],
                    "llm_seconds": llm_seconds / n_steps,
                },
                "check": check,
            }
        )
        clock += timedelta(seconds=duration)
    return {
        "schema_version": 1,
        "run_id": f"run-{index:05d}-{framework}",
        "experiment": config.name,
        "framework": framework,
        "config_hash": design_hash(config),
        "model": model or config.model,
        "status": status,
        "error": error,
        "started_at": _iso(started),
        "ended_at": _iso(ended),
        "steps": steps,
        "totals": {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cached_tokens": cached_tokens,
            "calls": calls,
            "llm_seconds": llm_seconds,
            "wall_seconds": wall_seconds,
            "checks_passed": checks_passed,
            "checks_total": checks_total,
        },
        "verification": None if verification is None else {"state": verification},
        "archive": {
            "path": "workspace.tar.gz",
            "sha256": "0" * 64,
            "bytes": 1024,
            "files": 3,
            "kept_workspace": False,
        },
        "environment": {"baes": "0.1.0", "python": "3.11", "platform": "linux"},
    }


def write_run(paths: ExperimentPaths, record: dict[str, Any], *, manifest: bool = True) -> Path:
    """Write run.json atomically and index it in the manifest, as `baes run` does."""
    run_dir = paths.run_dir(record["framework"], record["run_id"])
    atomic_write_json(run_dir / "run.json", record)
    if manifest:
        Manifest(paths).record(record)
    return run_dir / "run.json"


def write_run_fast(paths: ExperimentPaths, record: dict[str, Any]) -> None:
    """Write run.json without fsync or manifest (bulk synthesis; rebuild the manifest after)."""
    run_dir = paths.run_dir(record["framework"], record["run_id"])
    os.makedirs(run_dir, exist_ok=True)
    with open(run_dir / "run.json", "w", encoding="utf-8") as handle:
        json.dump(record, handle)
