"""`baes list` follows what happened to an experiment's folder, whoever changed it (issue 10, 8)."""

from __future__ import annotations

import json
from pathlib import Path


def _design(tmp_path: Path) -> Path:
    # Two frameworks whose check always passes: with the loosest absolute half-width the
    # stopping rule converges after 6 all-pass runs (Wilson), below runs.max, so `completed`
    # comes from run-progress.json, not from the run count.
    path = tmp_path / "exp.yaml"
    path.write_text(
        "name: exp\nmodel: sim-small\nframeworks:\n"
        "  a: {adapter: command, step: 'touch out.txt'}\n"
        "  b: {adapter: command, step: 'touch out.txt'}\n"
        "scenario:\n  name: custom\n  steps:\n"
        "    - id: one\n      prompt: go\n      check: test -f out.txt\n"
        "runs: {min: 2, max: 10}\n"
        "stopping_rule: {metrics: [CHECK_PASS_RATE], max_half_width_abs: 0.2}\n"
        "analysis: {bootstrap_samples: 200}\n"
    )
    return path


def _listed_status(cli) -> str:
    result = cli("list", "--json")
    assert result.exit_code == 0, result.stderr
    [entry] = json.loads(result.stdout)
    return entry["status"]


def test_a_run_restricted_to_one_framework_keeps_the_others_progress(cli, root, tmp_path):
    assert cli("new", "--config", _design(tmp_path)).exit_code == 0
    assert cli("run", "exp", "-q").exit_code == 0
    assert _listed_status(cli) == "completed"
    # Nothing is left to do for `a`; this run must not forget what the last one decided for `b`.
    assert cli("run", "exp", "-f", "a", "-q").exit_code == 0
    progress = json.loads((root / "exp/.meta/run-progress.json").read_text())
    assert set(progress["frameworks"]) == {"a", "b"}
    assert progress["frameworks"]["b"]["stopped"] and progress["frameworks"]["b"]["completed"] == 6
    assert _listed_status(cli) == "completed"
    assert json.loads(cli("show", "exp", "--json").stdout)["status"] == "completed"


def test_list_notices_an_edited_config_without_deleting_the_registry(cli, root, tmp_path):
    assert cli("new", "--config", _design(tmp_path)).exit_code == 0
    assert _listed_status(cli) == "created"
    config = root / "exp/config.yaml"
    config.write_text(config.read_text().replace("seed: 0", "seed: 1"))
    assert _listed_status(cli) == "config-changed"
    config.write_text(config.read_text().replace("seed: 1", "seed: 0"))  # the edit undone
    assert _listed_status(cli) == "created"


def test_list_notices_runs_recorded_behind_its_back(cli, root, tmp_path):
    assert cli("new", "--config", _design(tmp_path)).exit_code == 0
    assert cli("list").exit_code == 0
    registry_before = (root / ".registry.json").read_text()
    # What another tool (or an older baes) does: add a run to the manifest, touch no registry.
    manifest_path = root / "exp/runs/manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["runs"]["r1"] = {
        "framework": "a",
        "status": "completed",
        "started_at": None,
        "ended_at": None,
        "verification": "unverified",
    }
    manifest_path.write_text(json.dumps(manifest))
    listed = json.loads(cli("list", "--json").stdout)
    assert listed[0]["runs_completed"] == 1 and listed[0]["status"] == "incomplete"
    assert (root / ".registry.json").read_text() != registry_before  # stored, not recomputed
    # A listing that finds nothing changed writes nothing.
    registry_after = (root / ".registry.json").stat().st_mtime_ns
    assert cli("list").exit_code == 0
    assert (root / ".registry.json").stat().st_mtime_ns == registry_after


def test_list_answers_from_the_folders_when_the_registry_cannot_be_written(cli, root, tmp_path):
    assert cli("new", "--config", _design(tmp_path)).exit_code == 0
    config = root / "exp/config.yaml"
    config.write_text(config.read_text().replace("seed: 0", "seed: 1"))
    # The registry's lock cannot be taken (as on a read-only share; tests run as root, so a
    # directory where the lock file belongs stands in for the missing permission).
    (root / ".registry.json.lock").unlink()
    (root / ".registry.json.lock").mkdir()
    before = (root / ".registry.json").read_bytes()
    result = cli("list", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)[0]["status"] == "config-changed"
    assert "cannot update the registry (cannot lock" in result.stderr
    assert (root / ".registry.json").read_bytes() == before
