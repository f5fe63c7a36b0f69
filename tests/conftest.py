"""Shared fixtures: a fresh experiments root and the real CLI."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from baes.cli.app import app

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty experiments root, also set as BAES_ROOT so commands need no --root."""
    folder = tmp_path / "experiments"
    monkeypatch.setenv("BAES_ROOT", str(folder))
    return folder


class Cli:
    """Runs `baes` in-process through typer's CliRunner (stdout and stderr kept apart)."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None):
        return self.runner.invoke(app, [str(a) for a in args], input=input, catch_exceptions=False)


@pytest.fixture
def cli() -> Cli:
    return Cli()


def run_baes(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Runs `python -m baes` in a subprocess, as a user's shell would."""
    return subprocess.run(
        [sys.executable, "-m", "baes", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )


def quickstart_commands() -> list[str]:
    """The shell blocks of the README's quick start."""
    block = README.read_text().split("<!-- quickstart -->")[1].split("<!-- /quickstart -->")[0]
    return re.findall(r"```sh\n(.*?)\n```", block, flags=re.S)


@pytest.fixture(scope="session")
def readme_demo(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """The README's first quick-start command run as written (its venv and install parts are what
    the test environment already is), once per session: the folder it ran in and its result.

    It is `baes demo` (~15 s), so it is shared: tests/test_quickstart.py checks what it did, and
    the view tests read the experiments it made (`demo_root`). Read-only: copy it to change it.
    """
    folder = tmp_path_factory.mktemp("readme-demo")
    segments = [s.strip() for s in quickstart_commands()[0].split("&&")]
    assert any("pip install" in s for s in segments)
    runnable = " && ".join(s for s in segments if "venv" not in s and "pip install" not in s)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("BAES_ROOT", None)
    result = subprocess.run(
        ["bash", "-c", runnable],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        stdin=subprocess.DEVNULL,
    )
    return folder, result
