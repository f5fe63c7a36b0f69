"""`baes new` on a terminal asks for what is missing, shows a summary and asks for confirmation."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
    """A child process on a pseudo-terminal that we read and type into, like a user."""

    def __init__(self, args: list[str], env: dict[str, str]):
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(
            args, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True
        )
        os.close(slave)
        self.screen = ""

    def expect(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text not in ANSI.sub("", self.screen):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"never saw {text!r}; screen:\n{ANSI.sub('', self.screen)}")
            ready, _, _ = select.select([self.master], [], [], remaining)
            if ready:
                try:
                    self.screen += os.read(self.master, 4096).decode(errors="replace")
                except OSError:  # the child closed the terminal
                    break
        if text not in ANSI.sub("", self.screen):
            raise AssertionError(f"never saw {text!r}; screen:\n{ANSI.sub('', self.screen)}")

    def type(self, line: str) -> None:
        os.write(self.master, (line + "\r").encode())

    def wait(self) -> int:
        code = self.process.wait(timeout=30)
        os.close(self.master)
        return code


def _terminal(root: Path, *args: str) -> Terminal:
    env = {**os.environ, "BAES_ROOT": str(root), "COLUMNS": "100", "TERM": "dumb"}
    return Terminal([sys.executable, "-m", "baes", "new", *args], env)


def test_asks_for_missing_values_then_confirms(tmp_path):
    root = tmp_path / "experiments"
    term = _terminal(root)
    term.expect("Experiment name")
    term.type("Bad/Name")
    term.expect("invalid experiment name")
    term.type("asked")
    term.expect("Model")
    term.type("sim-large")
    term.expect("Frameworks (comma-separated)")
    term.type("reference,reference-plan")
    term.expect("Scenario")
    term.type("hello")
    term.expect("Create it?")
    assert "frameworks  reference, reference-plan" in ANSI.sub("", term.screen)
    term.type("y")
    term.expect("created experiment")
    assert term.wait() == 0
    assert (root / "asked/config.yaml").is_file()


def test_declining_the_confirmation_writes_nothing(tmp_path):
    root = tmp_path / "experiments"
    term = _terminal(root, "declined", "--model", "sim-small", "--frameworks", "reference")
    term.expect("Scenario")
    term.type("")  # accept the default
    term.expect("Create it?")
    term.type("n")
    term.expect("nothing written")
    assert term.wait() == 1
    assert not (root / "declined").exists()
