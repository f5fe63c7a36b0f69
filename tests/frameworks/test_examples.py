"""The example designs in examples/ are valid, complete designs that `baes new` accepts."""

from __future__ import annotations

from pathlib import Path

import pytest

from baes.config.models import CommandFrameworkConfig
from baes.config.presets import framework_document
from baes.config.yaml_io import load_design, to_plain
from baes.frameworks import adapter_for
from baes.frameworks.command import CommandAdapter

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))


def test_there_is_an_example_for_each_framework_of_the_original_study():
    assert {p.stem for p in EXAMPLES} >= {"chatdev", "metagpt", "spec-kit", "baes"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_an_example_is_a_valid_design_whose_framework_has_a_command_adapter(path):
    config = load_design(path)
    framework = config.frameworks[path.stem]
    assert isinstance(framework, CommandFrameworkConfig)
    assert framework.setup, "an example installs its framework at a pinned version"
    assert isinstance(adapter_for(path.stem, framework), CommandAdapter)
    preset = CommandFrameworkConfig.model_validate(to_plain(framework_document(path.stem)))
    assert framework == preset, "the example's framework is the preset of the same name"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_baes_new_accepts_an_example_with_the_full_scenario(cli, root, path):
    result = cli("new", "--config", path, "--scenario", "academic-crud", "--yes")
    assert result.exit_code == 0, result.output
    design = load_design(root / load_design(path).name / "config.yaml")
    assert len(design.scenario.steps) == 6


def test_spec_kit_fills_the_argument_placeholder_its_pinned_templates_use(tmp_path):
    """The pinned spec-kit templates take the feature description as `{ARGS}` (see the comment
    in the spec-kit preset); the step's substitution must fill exactly that."""
    import re
    import subprocess
    import sys

    step = load_design(EXAMPLES[0].parent / "spec-kit.yaml").frameworks["spec-kit"].step
    rendered = step.replace("{{", "\0").replace("}}", "\1")
    rendered = re.sub(r"\{\w+\}", "X", rendered).replace("\0", "{").replace("\1", "}")
    [program] = re.findall(r"-c '([^']*)'", rendered)
    template = tmp_path / "specify.md"
    template.write_text('Run `create-new-feature.sh --json "{ARGS}"`; context: {ARGS}\n')
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("Build a student API")
    out = tmp_path / "out.md"
    subprocess.run([sys.executable, "-c", program, template, prompt, out], check=True)
    assert out.read_text() == (
        'Run `create-new-feature.sh --json "Build a student API"`; context: Build a student API\n'
    )
