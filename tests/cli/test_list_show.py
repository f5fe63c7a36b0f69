"""`baes list` and `baes show`: the registry at a glance and one experiment in full."""

from __future__ import annotations

import json

from tests.conftest import run_baes

FLAGS = [
    "--model",
    "sim-small",
    "--frameworks",
    "reference,aider",
    "--scenario",
    "hello",
    "--runs",
    "3",
]


def test_list_shows_every_experiment_as_table_and_json(cli, root):
    assert cli("list").stdout.startswith("no experiments")
    for name in ("beta", "alpha"):
        assert cli("new", name, *FLAGS).exit_code == 0
    table = cli("list")
    assert table.exit_code == 0
    assert "alpha" in table.stdout and "beta" in table.stdout and "0/6" in table.stdout
    listed = json.loads(cli("list", "--json").stdout)
    assert [e["name"] for e in listed] == ["alpha", "beta"]
    assert set(listed[0]) == {
        "name",
        "status",
        "model",
        "frameworks",
        "runs_completed",
        "runs_target",
        "runs_verified",
        "created_at",
        "config_hash",
        "tags",
    }
    assert listed[0]["frameworks"] == ["reference", "aider"] and listed[0]["runs_target"] == 6
    assert listed[0]["config_hash"] == (root / "alpha/.meta/config.hash").read_text().strip()


def test_list_filters_by_status(cli, root):
    assert cli("new", "alpha", *FLAGS).exit_code == 0
    assert json.loads(cli("list", "--status", "created", "--json").stdout)[0]["name"] == "alpha"
    assert json.loads(cli("list", "--status", "completed", "--json").stdout) == []


def test_list_warns_and_rebuilds_a_garbage_registry(cli, root):
    for name in ("alpha", "beta", "gamma"):
        assert cli("new", name, *FLAGS).exit_code == 0
    (root / ".registry.json").write_text('{"experiments": {"alp')  # truncated
    result = run_baes("list", "--json")
    assert result.returncode == 0
    assert "warning:" in result.stderr and "corrupt" in result.stderr and "rebuilt" in result.stderr
    assert [e["name"] for e in json.loads(result.stdout)] == ["alpha", "beta", "gamma"]
    assert json.loads((root / ".registry.json").read_text())["experiments"].keys() == {
        "alpha",
        "beta",
        "gamma",
    }


def test_list_respects_root_option_over_environment(cli, root, tmp_path):
    other = tmp_path / "other-root"
    assert cli("new", "elsewhere", *FLAGS, "--root", other).exit_code == 0
    assert json.loads(cli("list", "--json").stdout) == []
    assert json.loads(cli("list", "--json", "--root", other).stdout)[0]["name"] == "elsewhere"


def test_show_reports_design_hash_check_runs_and_paths(cli, root):
    assert cli("new", "alpha", *FLAGS, "--description", "why we do this").exit_code == 0
    text = cli("show", "alpha")
    assert text.exit_code == 0
    assert "config matches its hash" in text.stdout and "why we do this" in text.stdout
    shown = json.loads(cli("show", "alpha", "--json").stdout)
    assert shown["config_ok"] is True
    assert shown["config_hash"] == (root / "alpha/.meta/config.hash").read_text().strip()
    assert shown["design"]["model"] == "sim-small" and shown["design"]["runs_target"] == 6
    assert shown["runs"] == {"reference": {}, "aider": {}}
    assert shown["paths"]["config"].endswith("alpha/config.yaml")


def test_show_counts_runs_from_the_manifest(cli, root):
    from baes.store.manifest import Manifest
    from baes.store.paths import ExperimentPaths

    assert cli("new", "alpha", *FLAGS).exit_code == 0
    manifest = Manifest(ExperimentPaths(root, "alpha"))
    for i, status in enumerate(["completed", "completed", "failed"]):
        manifest.record(
            {
                "run_id": f"r{i}",
                "framework": "reference",
                "status": status,
                "started_at": None,
                "ended_at": None,
            }
        )
    shown = json.loads(cli("show", "alpha", "--json").stdout)
    assert shown["runs"]["reference"] == {"completed": 2, "failed": 1}
    assert shown["runs_completed"] == 2 and shown["status"] == "incomplete"


def test_show_unknown_experiment_exits_2(cli, root):
    result = cli("show", "nope")
    assert result.exit_code == 2 and "no experiment 'nope'" in result.stderr
    result = cli("show", "../etc")
    assert result.exit_code == 2 and "invalid experiment name" in result.stderr


def test_error_messages_show_brackets_in_names_and_paths_as_typed(cli, tmp_path):
    lab_root = tmp_path / "[lab]" / "exp"
    result = cli("show", "nope", "--root", lab_root)
    assert result.exit_code == 2
    assert f"no experiment 'nope' under {lab_root}" in result.stderr
    result = cli("show", "a[lab]", "--root", lab_root)
    assert result.exit_code == 2 and "invalid experiment name 'a[lab]'" in result.stderr


def test_schema_prints_a_json_schema(cli):
    result = cli("schema")
    schema = json.loads(result.stdout)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert "scenario" in schema["required"] and "model" in schema["required"]
