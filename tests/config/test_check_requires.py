"""`scenario.steps[].check_requires`: validated, declared by the shipped scenarios, and outside the
design hash (existing experiments keep their hash, and may add it without being 'changed')."""

from __future__ import annotations

import json

import pytest

from baes.config.canonical import design_hash
from baes.config.presets import scenario_document
from baes.config.yaml_io import load_yaml_text, to_plain, validate_design
from tests.config.test_canonical_hash import DESIGN

# DESIGN's hash computed by baes before check_requires existed (commit 86c6e7a): a field added
# with a default must not change the hash of any existing experiment.
DESIGN_HASH_BEFORE_CHECK_REQUIRES = (
    "f5a571e9e8006bbd42b3a8071e4f31e1876d9b41785c3981bdc9d4784dd82e63"
)


def _load(text: str):
    return validate_design(load_yaml_text(text, "d.yaml"), "d.yaml")


def test_existing_designs_keep_their_hash():
    assert design_hash(_load(DESIGN)) == DESIGN_HASH_BEFORE_CHECK_REQUIRES


def test_declaring_check_requires_leaves_the_hash_unchanged():
    declared = DESIGN.replace(
        "      check: python hello.py\n",
        '      check: python hello.py\n      check_requires: ["fastapi>=0.110", httpx]\n',
    )
    assert declared != DESIGN
    assert _load(declared).scenario.steps[0].check_requires == ["fastapi>=0.110", "httpx"]
    assert design_hash(_load(declared)) == DESIGN_HASH_BEFORE_CHECK_REQUIRES


def test_the_academic_crud_checks_declare_what_they_import():
    steps = to_plain(scenario_document("academic-crud"))["steps"]
    for step in steps:
        assert "fastapi" in step["check"]
        assert step["check_requires"] == ["fastapi>=0.110", "httpx>=0.27"], step["id"]
    # hello's checks need nothing beyond Python.
    assert all("check_requires" not in s for s in to_plain(scenario_document("hello"))["steps"])


@pytest.mark.parametrize(
    ("requires", "message"),
    [
        ('["fastapi >>> 1"]', "is not a pip requirement"),
        ("[[]]", "check_requires"),
    ],
)
def test_a_malformed_requirement_is_refused_with_exit_2(cli, root, tmp_path, requires, message):
    path = tmp_path / "bad.yaml"
    path.write_text(
        DESIGN.replace(
            "      check: python hello.py\n",
            f"      check: python hello.py\n      check_requires: {requires}\n",
        )
    )
    result = cli("new", "--config", path)
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_check_requires_without_a_check_is_refused(cli, root, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        DESIGN.replace("      check: python hello.py\n", "      check_requires: [httpx]\n")
    )
    result = cli("new", "--config", path)
    assert result.exit_code == 2
    assert "check_requires is set but the step has no check" in result.stderr


def test_an_existing_experiment_may_declare_check_requires_without_being_changed(cli, root):
    # An experiment created before its scenario declared requirements (as every academic-crud
    # experiment made before check_requires existed) can add them and still run.
    created = cli(
        "new",
        "old",
        "--model",
        "sim-small",
        "--provider",
        "sim",
        "--scenario",
        "hello",
        "--frameworks",
        "reference",
    )
    assert created.exit_code == 0, created.stderr
    config = root / "old/config.yaml"
    text = config.read_text()
    assert text.count("check_requires: []") == 2
    config.write_text(text.replace("check_requires: []", "check_requires: [httpx]"))
    shown = cli("show", "old", "--json")
    assert json.loads(shown.stdout)["config_ok"] is True
