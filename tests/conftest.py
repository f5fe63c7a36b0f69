"""Shared fixtures: a fresh experiments root and the real CLI."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def built_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], dict[str, Any]]
) -> tuple[Path, dict[str, Any]]:
    """A read-only folder `build(folder)` fills, and what it returned (JSON), made once per test
    session even under pytest-xdist.

    Each xdist worker is a process with its own session fixtures, so a costly one would be built
    once per worker. Under xdist the first worker to need it builds it, under a lock, in a folder
    shared by the workers of this session (beside their own temporary folders); the others wait
    for it and reuse it. Without xdist it is an ordinary temporary folder.
    """
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        folder = tmp_path_factory.mktemp(name)
        return folder, build(folder)
    from baes.store.atomic import file_lock

    folder = tmp_path_factory.getbasetemp().parent / name
    result_file = folder.parent / f"{name}.json"
    with file_lock(folder, timeout_s=600):
        if result_file.is_file():
            return folder, json.loads(result_file.read_text())
        if folder.exists():  # an earlier worker's build failed part-way: start again
            shutil.rmtree(folder)
        folder.mkdir()
        result = build(folder)
        result_file.write_text(json.dumps(result))
        return folder, result


@pytest.fixture(scope="session")
def readme_demo(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """The README's first quick-start command run as written (its venv and install parts are what
    the test environment already is), once per session: the folder it ran in and its result.

    It is `baes demo` (~15 s), so it is shared: tests/test_quickstart.py checks what it did, and
    the view tests read the experiments it made (`demo_root`). Read-only: copy it to change it.
    """
    segments = [s.strip() for s in quickstart_commands()[0].split("&&")]
    assert any("pip install" in s for s in segments)
    runnable = " && ".join(s for s in segments if "venv" not in s and "pip install" not in s)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("BAES_ROOT", None)

    def run(folder: Path) -> dict[str, Any]:
        done = subprocess.run(
            ["bash", "-c", runnable],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
            stdin=subprocess.DEVNULL,
        )
        return {"returncode": done.returncode, "stdout": done.stdout, "stderr": done.stderr}

    folder, result = built_once(tmp_path_factory, "readme-demo", run)
    return folder, subprocess.CompletedProcess(runnable, **result)
