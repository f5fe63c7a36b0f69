"""`baes new`: validates everything before writing, writes atomically, refuses bad input with exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from baes.experiment.load import ConfigChangedError, load_experiment
from tests.conftest import run_baes

FLAGS = [
    "--model",
    "sim-small",
    "--frameworks",
    "reference,reference-repair",
    "--scenario",
    "hello",
]


def _written(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_new_writes_the_frozen_design_and_registers_it(cli, root):
    result = cli("new", "exp-1", *FLAGS, "--runs", "4", "--description", "first")
    assert result.exit_code == 0, result.output
    folder = root / "exp-1"
    config_text = (folder / "config.yaml").read_text()
    assert "# Repetitions per framework" in config_text  # commented for a reader
    assert "max: 4" in config_text
    stored = (folder / ".meta/config.hash").read_text().strip()
    experiment, config = load_experiment(root, "exp-1")
    assert experiment.config_ok and experiment.current_hash == stored
    assert list(config.frameworks) == ["reference", "reference-repair"]
    assert config.frameworks["reference-repair"].mode == "repair"
    readme = (folder / "README.md").read_text()
    assert stored in readme and "baes run exp-1" in readme and "baes analyze exp-1" in readme
    assert json.loads((folder / "runs/manifest.json").read_text())["runs"] == {}
    registry = json.loads((root / ".registry.json").read_text())
    assert registry["experiments"]["exp-1"]["config_hash"] == stored
    assert not [p for p in root.iterdir() if p.name.startswith(".new-")], (
        "staging folder left behind"
    )


@pytest.mark.parametrize(
    "name", ["../x", "a/b", ".hidden", "UPPER", "", "x" * 65, "..", "a b", "née"]
)
def test_bad_names_exit_2_and_write_nothing(cli, root, name):
    result = cli("new", name, *FLAGS)
    assert result.exit_code == 2
    assert "invalid experiment name" in result.stderr
    assert _written(root) == []


def test_name_of_64_characters_is_fine(cli, root):
    assert cli("new", "x" * 64, *FLAGS).exit_code == 0


def test_malformed_yaml_exits_2_with_file_and_line(cli, root, tmp_path):
    design = tmp_path / "design.yaml"
    design.write_text("model: sim-small\nscenario:\n  name: [oops\n")
    result = cli("new", "exp", "--config", design)
    assert result.exit_code == 2
    assert f"{design}:" in result.stderr and "malformed YAML" in result.stderr
    assert _written(root) == []


def test_unknown_key_exits_2_naming_it(cli, root, tmp_path):
    design = tmp_path / "design.yaml"
    design.write_text("model: sim-small\nrepetitions: 10\n")
    result = cli(
        "new", "exp", "--config", design, "--frameworks", "reference", "--scenario", "hello"
    )
    assert result.exit_code == 2
    assert "unknown key 'repetitions'" in result.stderr
    assert _written(root) == []


def test_unknown_presets_exit_2_listing_the_valid_ones(cli, root):
    result = cli(
        "new",
        "exp",
        "--model",
        "sim-small",
        "--frameworks",
        "reference,chat-dev",
        "--scenario",
        "hello",
    )
    assert result.exit_code == 2
    assert (
        "unknown framework preset 'chat-dev'" in result.stderr and "gpt-engineer" in result.stderr
    )
    result = cli(
        "new", "exp", "--model", "sim-small", "--frameworks", "reference", "--scenario", "crud"
    )
    assert result.exit_code == 2 and "valid: academic-crud, hello" in result.stderr
    assert _written(root) == []


def test_model_without_price_exits_2_before_writing(cli, root):
    result = cli(
        "new", "exp", "--model", "llama-70b", "--frameworks", "reference", "--scenario", "hello"
    )
    assert result.exit_code == 2
    assert "no price known for model 'llama-70b'" in result.stderr and "sim-small" in result.stderr
    assert _written(root) == []


def test_existing_name_is_refused_with_a_hint_to_use_from(cli, root):
    assert cli("new", "exp", *FLAGS).exit_code == 0
    before = (root / "exp/config.yaml").read_text()
    result = cli("new", "exp", *FLAGS, "--runs", "9")
    assert result.exit_code == 2
    assert "already exists" in result.stderr and "--from exp" in result.stderr
    assert (root / "exp/config.yaml").read_text() == before


def test_missing_values_without_a_terminal_exit_2_listing_them(root):
    result = run_baes("new", "exp", "--model", "sim-small")
    assert result.returncode == 2
    assert "missing required values: --frameworks, --scenario" in result.stderr
    assert _written(root) == []
    result = run_baes(
        "new", "--model", "sim-small", "--frameworks", "reference", "--scenario", "hello"
    )
    assert result.returncode == 2 and "NAME" in result.stderr


def test_from_copies_a_design_and_flags_override_it(cli, root):
    assert cli("new", "base", *FLAGS, "--runs", "7", "--description", "the base").exit_code == 0
    assert cli("new", "copy", "--from", "base").exit_code == 0
    base = load_experiment(root, "base")[1]
    copy = load_experiment(root, "copy")[1]
    assert copy.model_dump(exclude={"name"}) == base.model_dump(exclude={"name"})
    assert (root / "copy/.meta/config.hash").read_text() == (
        root / "base/.meta/config.hash"
    ).read_text()
    assert (
        cli("new", "bigger", "--from", "base", "--model", "sim-large", "--runs", "9").exit_code == 0
    )
    bigger = load_experiment(root, "bigger")[1]
    assert bigger.model == "sim-large" and bigger.runs.max == 9 and "sim-large" in bigger.pricing
    assert bigger.scenario == base.scenario and bigger.frameworks == base.frameworks


def test_config_file_with_flags_overriding(cli, root, tmp_path):
    design = tmp_path / "design.yaml"
    design.write_text(
        "name: from-file\nmodel: sim-small\nframeworks:\n  mine: {adapter: builtin, mode: plan}\n"
        "scenario:\n  name: one\n  steps:\n    - {id: s1, prompt: Write a.py, check: test -f a.py}\n"
        "analysis: {p_adjust: bonferroni}\n"
    )
    assert cli("new", "--config", design).exit_code == 0  # name taken from the file
    config = load_experiment(root, "from-file")[1]
    assert config.frameworks["mine"].mode == "plan" and config.analysis.p_adjust == "bonferroni"
    assert (
        cli(
            "new",
            "over",
            "--config",
            design,
            "--frameworks",
            "mine,reference",
            "--provider",
            "http://127.0.0.1:9/v1",
        ).exit_code
        == 0
    )
    over = load_experiment(root, "over")[1]
    assert list(over.frameworks) == ["mine", "reference"]
    assert over.provider.kind == "openai" and over.provider.base_url == "http://127.0.0.1:9/v1"


def test_scenario_from_a_path(cli, root, tmp_path):
    scenario = tmp_path / "my-scenario.yaml"
    scenario.write_text("name: mine\nsteps:\n  - {id: only, prompt: Write x.py}\n")
    assert (
        cli(
            "new",
            "exp",
            "--model",
            "sim-small",
            "--frameworks",
            "reference",
            "--scenario",
            scenario,
        ).exit_code
        == 0
    )
    assert load_experiment(root, "exp")[1].scenario.name == "mine"


def test_edited_config_is_reported_by_show_and_refused_by_the_loader(cli, root):
    assert cli("new", "exp", *FLAGS).exit_code == 0
    config = root / "exp/config.yaml"
    config.write_text(config.read_text().replace("Hello, <name>!", "Hi, <name>!"))
    result = cli("show", "exp", "--json")
    assert result.exit_code == 0
    shown = json.loads(result.stdout)
    assert shown["config_ok"] is False and shown["status"] == "config-changed"
    assert shown["config_hash"] != shown["current_hash"]
    assert "changed after the experiment was created" in shown["config_problem"]
    with pytest.raises(ConfigChangedError) as caught:
        load_experiment(root, "exp")
    assert caught.value.exit_code == 2 and "--from exp" in caught.value.hint
    # whitespace and comments alone are not a change of design
    config.write_text("# my note\n" + config.read_text().replace("Hi, <name>!", "Hello, <name>!"))
    assert load_experiment(root, "exp")[0].config_ok


def test_eight_concurrent_new_processes_all_register(root):
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "baes", "new", f"exp-{i}", *FLAGS, "--yes"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        for i in range(8)
    ]
    for process in processes:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
    registry = json.loads((root / ".registry.json").read_text())  # valid JSON
    assert sorted(registry["experiments"]) == [f"exp-{i}" for i in range(8)]
