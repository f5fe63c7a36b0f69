"""Tab completion of models, an experiment's frameworks, metrics, providers and statuses.

Each completion is checked through the shell's path (typer's completion environment variables
in a subprocess, as bash calls it) and stays off the heavy imports.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from baes.config.pricing import shipped_price_table
from tests.cli.test_startup import _heavy_modules_after


@pytest.fixture
def two_experiments(tmp_path, cli, monkeypatch):
    root = tmp_path / "experiments"
    monkeypatch.setenv("BAES_ROOT", str(root))
    for name, frameworks in (("alpha", "reference,reference-plan"), ("beta", "aider")):
        created = cli("new", name, "--model", "sim-small", "--frameworks", frameworks)
        assert created.exit_code == 0, created.stderr
    return root


def _complete(root, words: str) -> list[str]:
    env = {
        **os.environ,
        "BAES_ROOT": str(root),
        "_BAES_COMPLETE": "complete_bash",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split(" ")) - 1),
    }
    result = subprocess.run(
        [sys.executable, "-m", "baes"], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_models_are_the_priced_ones(two_experiments):
    priced = [m for block in shipped_price_table() for m in block.models]
    assert _complete(two_experiments, "baes new x --model ") == priced
    assert _complete(two_experiments, "baes new x --model sim-") == ["sim-small", "sim-large"]
    assert _complete(two_experiments, "baes proxy serve --model sim-l") == ["sim-large"]


def test_framework_options_offer_the_named_experiments_frameworks(two_experiments):
    root = two_experiments
    assert _complete(root, "baes run alpha -f ") == ["reference", "reference-plan"]
    assert _complete(root, "baes run alpha --framework reference-") == ["reference-plan"]
    assert _complete(root, "baes run alpha -f reference -f ") == ["reference-plan"]
    assert _complete(root, "baes reconcile beta -f ") == ["aider"]
    assert _complete(root, "baes compare alpha beta -f ") == [
        "reference",
        "reference-plan",
        "aider",
    ]
    # Without the registry (deleted, say) the experiments' config.yaml still answer.
    (root / ".registry.json").unlink()
    assert _complete(root, "baes run beta -f ") == ["aider"]
    assert _complete(root, "baes run nosuch -f ") == []


def test_metrics_providers_and_statuses(two_experiments):
    root = two_experiments
    assert "COST_USD" in _complete(root, "baes analyze alpha --metric ")
    assert _complete(root, "baes analyze alpha -m COST") == ["COST_USD"]
    assert _complete(root, "baes compare alpha beta --metric TOK_") == ["TOK_IN", "TOK_OUT"]
    assert _complete(root, "baes new x --provider ") == [
        "sim",
        "openai",
        "http://127.0.0.1:",
        "https://",
    ]
    assert _complete(root, "baes list --status c") == ["created", "completed", "config-changed"]


@pytest.mark.parametrize(
    "words",
    [
        "baes new x --model sim",
        "baes run alpha -f ",
        "baes list --status ",
        "baes new x --provider ",
    ],
)
def test_the_new_completions_import_no_heavy_module(two_experiments, words):
    env = {
        "BAES_ROOT": str(two_experiments),
        "_BAES_COMPLETE": "complete_bash",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split(" ")) - 1),
    }
    assert _heavy_modules_after(["baes"], env) == []


def test_the_completion_functions_directly():
    from baes.cli.completion import (
        complete_metrics,
        complete_models,
        complete_providers,
        complete_statuses,
    )

    assert complete_models("sim-s") == ["sim-small"] and complete_models("nope") == []
    assert complete_providers("h") == ["http://127.0.0.1:", "https://"]
    assert complete_metrics("CHECK") == ["CHECK_PASS_RATE"]
    assert complete_statuses("bro") == ["broken"]


def test_new_offers_every_framework_preset_the_seed_study_ones_included(two_experiments):
    offered = _complete(two_experiments, "baes new x --frameworks ")
    assert {"baes", "chatdev", "metagpt", "spec-kit", "aider", "reference"} <= set(offered)
    assert _complete(two_experiments, "baes new x --frameworks reference,ch") == [
        "reference,chatdev"
    ]
