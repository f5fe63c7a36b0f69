"""`baes --help`, `baes list` and completion never import the heavy stacks (docs/architecture.md, principle 6)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

HEAVY = [
    "numpy",
    "scipy",
    "matplotlib",
    "starlette",
    "uvicorn",
    "pandas",
    "httpx",
    "aiohttp",
]

PROBE = """
import json, sys
sys.argv = {argv!r}
from baes.cli.app import main
try:
    main()
except SystemExit:
    pass
heavy = sorted(m for m in {heavy!r} if m in sys.modules)
sys.stderr.write("HEAVY=" + json.dumps(heavy) + "\\n")
"""


def _heavy_modules_after(argv: list[str], env: dict[str, str]) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(argv=argv, heavy=HEAVY)],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    line = [ln for ln in result.stderr.splitlines() if ln.startswith("HEAVY=")]
    assert line, result.stderr
    return json.loads(line[-1][len("HEAVY=") :])


@pytest.fixture
def populated_root(tmp_path, cli, monkeypatch):
    root = tmp_path / "experiments"
    monkeypatch.setenv("BAES_ROOT", str(root))
    assert (
        cli(
            "new",
            "alpha",
            "--model",
            "sim-small",
            "--frameworks",
            "reference",
            "--scenario",
            "hello",
        ).exit_code
        == 0
    )
    return root


@pytest.mark.parametrize(
    ("argv", "extra_env"),
    [
        (["baes", "--help"], {}),
        (["baes", "list"], {}),
        (["baes", "list", "--json"], {}),
        (["baes", "new", "--help"], {}),
        (
            ["baes"],
            {"_BAES_COMPLETE": "complete_bash", "COMP_WORDS": "baes show al", "COMP_CWORD": "2"},
        ),
        (
            ["baes"],
            {
                "_BAES_COMPLETE": "complete_bash",
                "COMP_WORDS": "baes new x --scenario ",
                "COMP_CWORD": "4",
            },
        ),
        (
            ["baes"],
            {
                "_BAES_COMPLETE": "complete_zsh",
                "_TYPER_COMPLETE_ARGS": "baes new x --frameworks ref",
            },
        ),
    ],
)
def test_fast_paths_import_no_heavy_module(populated_root, argv, extra_env):
    assert _heavy_modules_after(argv, {"BAES_ROOT": str(populated_root), **extra_env}) == []


def test_completion_offers_experiments_and_presets(populated_root):
    def complete(words: str, cword: int) -> list[str]:
        env = {
            **os.environ,
            "BAES_ROOT": str(populated_root),
            "_BAES_COMPLETE": "complete_bash",
            "COMP_WORDS": words,
            "COMP_CWORD": str(cword),
        }
        result = subprocess.run(
            [sys.executable, "-m", "baes"], capture_output=True, text=True, env=env, timeout=60
        )
        return result.stdout.split()

    assert complete("baes show al", 2) == ["alpha"]
    assert complete("baes new x --scenario ", 4) == ["academic-crud", "hello"]
    assert "reference-plan" in complete("baes new x --frameworks reference-", 4)
    assert complete("baes new x --frameworks aider,gpt", 4) == ["aider,gpt-engineer"]
