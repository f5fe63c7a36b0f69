"""The run manifest is an index of run.json files and can always be rebuilt from them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from baes.store.manifest import Manifest
from baes.store.paths import ExperimentPaths


def _write_run(paths: ExperimentPaths, framework: str, run_id: str, status: str) -> dict:
    record = {
        "schema_version": 2,
        "run_id": run_id,
        "experiment": paths.name,
        "framework": framework,
        "config_hash": "0" * 64,
        "model": "sim-small",
        "status": status,
        "error": None,
        "started_at": "2026-01-01T00:00:00Z",
        "ended_at": None,
        "steps": [],
        "totals": {
            "input_tokens": 0,
            "output_tokens": 0,
            "cached_tokens": 0,
            "calls": 0,
            "llm_seconds": 0.0,
            "wall_seconds": None,
            "checks_passed": 0,
            "checks_total": 0,
            "checks_errored": 0,
        },
        "verification": {"state": "unverified", "changed_at": None, "summary": None},
        "archive": None,
        "environment": {},
        "seed": None,
        "executor": {"kind": "local", "worker": None},
    }
    folder = paths.run_dir(framework, run_id)
    folder.mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps(record))
    return record


def test_record_and_rebuild_agree(tmp_path: Path):
    paths = ExperimentPaths(tmp_path, "exp")
    manifest = Manifest(paths)
    for i, (fw, status) in enumerate([("a", "completed"), ("a", "failed"), ("b", "completed")]):
        manifest.record(_write_run(paths, fw, f"run-{i}", status))
    recorded = manifest.read().runs
    paths.manifest.write_text("{ corrupt")
    view = manifest.read()
    assert view.problems and "corrupt" in view.problems[0]
    assert view.runs == recorded
    assert {fw: dict(c) for fw, c in view.counts().items()} == {
        "a": {"completed": 1, "failed": 1},
        "b": {"completed": 1},
    }
    assert view.completed() == 2


def test_unknown_status_is_refused(tmp_path: Path):
    with pytest.raises(ValueError, match="run status must be one of"):
        Manifest(ExperimentPaths(tmp_path, "exp")).record({"run_id": "r", "status": "done"})


def test_run_dir_refuses_path_tricks(tmp_path: Path):
    paths = ExperimentPaths(tmp_path, "exp")
    with pytest.raises(Exception, match="invalid framework name"):
        paths.run_dir("../x", "r1")
