"""One demo root (two experiments run on the simulator, analysed and compared) per session."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

DEMO = ("demo-sim-small", "demo-sim-large")


@pytest.fixture(scope="session")
def demo_root(readme_demo: tuple[Path, subprocess.CompletedProcess[str]]) -> Path:
    """The experiments `baes demo` made, built once per session for the README's quick-start test
    too (tests/conftest.py); read-only for the tests: copy it (`demo_copy`) to change it."""
    folder, done = readme_demo
    assert done.returncode == 0, done.stderr
    return folder / "experiments"


@pytest.fixture
def demo_copy(demo_root: Path, tmp_path: Path) -> Path:
    """A copy of the demo root this test may change."""
    copy = tmp_path / "experiments"
    shutil.copytree(demo_root, copy, symlinks=True)
    return copy


def start_view(*args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], str]:
    """`baes view ARGS` as a user starts it; its URL is the first line it prints."""
    process = subprocess.Popen(
        [sys.executable, "-m", "baes", "view", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    url = process.stdout.readline().strip()
    return process, url


def stop(process: subprocess.Popen[str]) -> str:
    """Ctrl-C, as a user stops it; what it printed on stderr."""
    process.send_signal(signal.SIGINT)
    try:
        _, err = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
    return err
