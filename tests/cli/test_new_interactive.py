"""`baes new` on a terminal asks for what is missing, shows a summary and asks for confirmation."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
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
        self.master, self.slave = pty.openpty()
        self.process = subprocess.Popen(
            args, stdin=self.slave, stdout=self.slave, stderr=self.slave, env=env, close_fds=True
        )
        # Our copy of the terminal's other end stays open until wait(): once every copy is
        # closed, Linux may drop what the child wrote last before we read it (EIO), which lost
        # a final "nothing written" on a loaded machine.
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
        os.close(self.slave)
        os.close(self.master)
        return code


def _terminal(root: Path, *args: str) -> Terminal:
    env = {**os.environ, "BAES_ROOT": str(root), "COLUMNS": "100", "TERM": "dumb"}
    return Terminal([sys.executable, "-m", "baes", "new", *args], env)


def test_asks_for_missing_values_checking_each_answer_then_confirms(tmp_path):
    root = tmp_path / "experiments"
    assert (
        subprocess.run(
            [sys.executable, "-m", "baes", "new", "taken", "--model", "sim-small"]
            + ["--frameworks", "reference", "--scenario", "hello", "--root", str(root)],
            capture_output=True,
        ).returncode
        == 0
    )
    term = _terminal(root)
    term.expect("Experiment name")
    term.type("Bad/Name")
    term.expect("invalid experiment name")
    term.type("taken")
    term.expect("experiment 'taken' already exists")
    term.type("asked")
    term.expect("Model")
    term.type("llama-70b")
    term.expect("no price known for model 'llama-70b'")
    term.type("sim-large")
    term.expect("Frameworks (comma-separated)")
    term.type("reference,chat-dev")
    term.expect("unknown framework preset 'chat-dev'")
    term.type("reference,reference-plan")
    term.expect("Scenario")
    term.type("nope")
    term.expect("unknown scenario preset 'nope'")
    term.type("hello")
    term.expect("Runs per framework (at most)")
    term.type("0")
    term.expect("runs must be at least 1")
    term.type("8")
    term.expect("before the stopping rule may stop it")
    term.type("9")
    term.expect("min-runs (9) must not exceed runs (8)")
    term.type("6")
    term.expect("Description")
    term.type("asked on a terminal")
    term.expect("Create it?")
    screen = ANSI.sub("", term.screen)
    assert "frameworks  reference, reference-plan" in screen and "runs        6..8" in screen
    assert "Usage:" not in screen
    term.type("y")
    term.expect("created experiment")
    assert term.wait() == 0
    config = (root / "asked/config.yaml").read_text()
    assert "description: asked on a terminal" in config and "model: sim-large" in config


def test_declining_the_confirmation_writes_nothing(tmp_path):
    root = tmp_path / "experiments"
    term = _terminal(root, "declined", "--model", "sim-small", "--runs", "3", "--min-runs", "2")
    term.expect("Frameworks")
    term.type("")  # accept the defaults
    term.expect("Scenario")
    term.type("")
    term.expect("Description")
    term.type("")
    term.expect("Create it?")
    assert "scenario    academic-crud" in ANSI.sub("", term.screen)
    term.type("n")
    term.expect("nothing written")
    assert term.wait() == 1
    assert not (root / "declined").exists()


@pytest.mark.parametrize(
    "prompt", ["Experiment name", "Model", "Frameworks", "Description", "Create it?"]
)
def test_ctrl_c_at_any_prompt_exits_130_writing_nothing(tmp_path, prompt):
    root = tmp_path / "experiments"
    term = _terminal(root)
    answers = {
        "Experiment name": "cancelled",
        "Model": "sim-small",
        "Frameworks": "reference",
        "Scenario": "hello",
        "Runs per framework (at most)": "3",
        "before the stopping rule": "2",
        "Description": "",
    }
    for question, answer in answers.items():
        term.expect(question)
        if question == prompt:
            break
        term.type(answer)
    else:
        term.expect(prompt)
    term.process.send_signal(signal.SIGINT)  # what Ctrl-C on the terminal sends
    term.expect("nothing written")
    assert term.wait() == 130
    assert not root.exists() or not any(root.iterdir())
