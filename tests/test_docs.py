"""The user docs keep up with the code."""

from __future__ import annotations

import typing
from pathlib import Path

from pydantic import BaseModel

from baes.config.models import BuiltinFrameworkConfig, CommandFrameworkConfig, ExperimentConfig

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _field_paths(model: type[BaseModel], prefix: str) -> list[str]:
    paths = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            paths += _field_paths(annotation, path + ".")  # a block is documented by its fields
            continue
        paths.append(path)
        if typing.get_origin(annotation) is list:
            (item,) = typing.get_args(annotation)
            if isinstance(item, type) and issubclass(item, BaseModel):
                paths += _field_paths(item, path + "[].")
    return paths


def test_configuration_doc_covers_every_config_field():
    text = (DOCS / "configuration.md").read_text()
    expected = _field_paths(ExperimentConfig, "")
    expected += _field_paths(BuiltinFrameworkConfig, "frameworks.<name>.")
    expected += _field_paths(CommandFrameworkConfig, "frameworks.<name>.")
    expected += ["pricing.<model>.input", "pricing.<model>.cached_input", "pricing.<model>.output"]
    missing = sorted({path for path in expected if f"`{path}`" not in text})
    assert not missing, f"docs/configuration.md does not document: {', '.join(missing)}"


# --- the README's commands ----------------------------------------------------------------

README = DOCS.parent / "README.md"

# Commands of the README not run here, each with the reason; every entry must still match a
# command of the README (a stale entry fails the test), so the list cannot hide new commands.
NOT_RUN_OFFLINE = {
    "python3 -m venv": "installs baes: tests/test_quickstart.py runs the quick start",
    ". .venv/bin/activate": "installs and tests baes: tests/test_quickstart.py",
    "python -m pip install": "installs the development tools",
    "nox ": "the development workflow (runs the whole suite)",
    "python -m pytest": "the development workflow (runs the whole suite)",
    "python benchmarks/": "benchmarks take minutes",
    "baes new\n": "interactive: tests/cli/test_new_interactive.py drives it on a terminal",
    "baes run crud-4o-mini --dry-run": "preflight checks the OpenAI key and endpoint (network)",
    "baes run crud-4o-mini --jobs 4": "calls OpenAI (a key, network and money)",
    "baes analyze crud-4o-mini": "needs completed runs of an OpenAI experiment",
    "baes compare crud-4o-mini crud-large": "needs completed runs of OpenAI experiments",
    "baes reconcile crud-4o-mini": "reads OpenAI's usage API (an admin key)",
    "baes sim serve": "a server that runs until stopped: tests/llm/test_simulator_cli.py",
    "baes proxy serve": "forwards to OpenAI (a key, network)",
    "baes --install-completion": "edits the user's shell start-up files",
}

# Files the README's commands refer to, as a reader would have them.
README_FILES = {
    "my-design.yaml": "model: sim-small\nframeworks:\n  reference: {adapter: builtin}\n"
    "scenario: hello\n",
    "results.csv": "group,metric,value\n"
    + "".join(f"a,COST_USD,{0.1 + i / 100}\nb,COST_USD,{0.2 + i / 100}\n" for i in range(6)),
}


def _readme_commands() -> list[str]:
    """The commands of the README's sh blocks: continuation lines joined, comments dropped."""
    import re

    commands = []
    for block in re.findall(r"```sh\n(.*?)```", README.read_text(), flags=re.DOTALL):
        text = block.replace("\\\n", " ")
        for line in text.splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if line and not line.startswith("#"):
                commands.append(re.sub(r"\s+", " ", line))
    return commands


def _reason_not_run(command: str) -> str | None:
    for prefix, reason in NOT_RUN_OFFLINE.items():
        if (command + "\n").startswith(prefix):
            return reason
    return None


def test_the_readme_commands_that_can_run_offline_do(tmp_path):
    import os
    import shutil
    import subprocess
    import sys

    commands = _readme_commands()
    unused = [p for p in NOT_RUN_OFFLINE if not any((c + "\n").startswith(p) for c in commands)]
    assert not unused, f"not-run entries matching no README command: {unused}"
    for name, text in README_FILES.items():
        (tmp_path / name).write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BAES_", "OPENAI_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    ran = []
    for command in commands:
        if _reason_not_run(command):
            continue
        if "| jq" in command and shutil.which("jq") is None:
            continue  # the pipe is the reader's own tool
        result = subprocess.run(
            ["bash", "-o", "pipefail", "-c", command],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
        assert result.returncode == 0, f"README command failed: {command}\n{result.stderr}"
        ran.append(command)
    assert any(c.startswith("baes new crud-4o-mini") for c in ran) and len(ran) >= 6, ran
